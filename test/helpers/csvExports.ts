/**
 * Checks a job's CSV exports (lib/job/exports/csv.ts) against its written .isxd outputs, read
 * with lib/isxd's readers: every value, NaN included, and every time. Parsing is the test's own
 * (split on ", ", RFC 4180 quotes), independent of the writer.
 */
import { expect } from 'vitest';
import { memorySource } from '../../lib/bytes.js';
import { openCellSet, openEventSet, ratioToNumber } from '../../lib/isxd/index.js';

/** One CSV line's fields: ", "-separated, a field in double quotes may hold ", " and "". */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let text = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          text += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else text += line[i++];
      }
      fields.push(text);
      i += 2; // ", "
    } else {
      const end = line.indexOf(', ', i);
      fields.push(line.slice(i, end < 0 ? line.length : end));
      i = end < 0 ? line.length + 1 : end + 2;
    }
  }
  return fields;
}

/** A number as JavaScript prints one (what the CSV writer emits). */
const NUMBER = /^-?\d+(\.\d+)?(e[+-]\d+)?$/;

/** A CSV value: `nan` → NaN, else the number read back as float32. */
function csvValue(text: string): number {
  if (text === 'nan') return Number.NaN;
  if (!NUMBER.test(text))
    throw new Error(`not a number as the CSV writes one: ${JSON.stringify(text)}`);
  return Math.fround(Number(text));
}

interface TracesCsv {
  names: string[];
  statuses: string[];
  times: number[];
  /** Per cell, its column. */
  columns: Float32Array[];
}

function parseTracesCsv(text: string): TracesCsv {
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  const head = csvFields(lines[0]);
  const status = csvFields(lines[1]);
  expect(head[0]).toBe(' ');
  expect(status[0]).toBe('Time(s)/Cell Status');
  const names = head.slice(1);
  const rows = lines.slice(2).map(csvFields);
  const columns = names.map(() => new Float32Array(rows.length));
  const times: number[] = [];
  rows.forEach((row, t) => {
    if (row.length !== names.length + 1) {
      throw new Error(`row ${t}: ${row.length} fields, expected ${names.length + 1}`);
    }
    times.push(Number(row[0]));
    for (let c = 0; c < names.length; c++) columns[c][t] = csvValue(row[c + 1]);
  });
  return { names, statuses: status.slice(1), times, columns };
}

interface EventRow {
  time: number;
  name: string;
  value: number;
}

function parseEventsCsv(text: string): EventRow[] {
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  expect(lines[0]).toBe('Time (s), Cell Name, Value');
  return lines.slice(1).map((line) => {
    const f = csvFields(line);
    expect(f).toHaveLength(3);
    return { time: Number(f[0]), name: f[1], value: csvValue(f[2]) };
  });
}

/** Same float32 value, NaN equal to NaN (and 0 to −0: the CSV writes both as 0). */
function sameValue(a: number, b: number): boolean {
  return (Number.isNaN(a) && Number.isNaN(b)) || a === b;
}

/**
 * Asserts that the two CSVs of a file hold exactly the written cell set's traces (names,
 * statuses, one row per frame at offset + i·period) and the event set's events (one row per
 * event, cell by cell, at offset + µs/10⁶, amplitude as written).
 * @param offsetSeconds - start of the file minus start of the series' first file
 * @returns counts, for the caller's own assertions (NaN values, events)
 */
async function expectCsvMatchesOutputs(args: {
  tracesCsv: string;
  eventsCsv: string;
  cellSet: Uint8Array;
  eventSet: Uint8Array;
  offsetSeconds: number;
}): Promise<{ frames: number; nanValues: number; events: number }> {
  const cells = await openCellSet(memorySource('cellset', args.cellSet));
  const events = await openEventSet(memorySource('eventset', args.eventSet));
  const traces = parseTracesCsv(args.tracesCsv);
  expect(traces.names).toEqual(cells.header.names);
  expect(traces.statuses).toEqual(cells.header.statuses);
  expect(traces.times).toHaveLength(cells.numTimes);
  const period = ratioToNumber(cells.header.timing.period);
  traces.times.forEach((t, i) => {
    expect(Math.abs(t - (args.offsetSeconds + i * period))).toBeLessThan(1e-9);
  });
  let nanValues = 0;
  for (let c = 0; c < cells.numCells; c++) {
    const trace = await cells.readTrace(c);
    const column = traces.columns[c];
    for (let t = 0; t < trace.length; t++) {
      if (!sameValue(column[t], trace[t])) {
        throw new Error(`cell ${c} frame ${t}: CSV ${column[t]} vs cell set ${trace[t]}`);
      }
      if (Number.isNaN(trace[t])) nanValues++;
    }
  }
  const rows = parseEventsCsv(args.eventsCsv);
  const expected = (await events.readAll()).flatMap((cell) =>
    Array.from(cell.amplitudes, (value, k) => ({
      time: args.offsetSeconds + cell.offsetsMicros[k] / 1e6,
      name: cell.name,
      value,
    })),
  );
  expect(rows).toHaveLength(expected.length);
  rows.forEach((row, k) => {
    expect(row.name).toBe(expected[k].name);
    expect(row.value).toBe(expected[k].value);
    expect(Math.abs(row.time - expected[k].time)).toBeLessThan(1e-9);
  });
  return { frames: cells.numTimes, nanValues, events: rows.length };
}

export type { EventRow, TracesCsv };
export { csvFields, expectCsvMatchesOutputs, parseEventsCsv, parseTracesCsv };
