/**
 * CSV exports (issue 13, part 4): the number format, the two files of lib/job/exports/csv.ts
 * against the cell set and event set they are read from (every value, NaN frames, a 2-file
 * series' times), streaming, and `caiman-spikes run --csv` end to end (manifest, --overwrite).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../bin/cli.js';
import { type ByteSink, type ByteSource, memorySink, memorySource } from '../../../lib/bytes.js';
import { createCellSetWriter, createEventSetWriter, type Ratio } from '../../../lib/isxd/index.js';
import {
  type CsvTuning,
  float32Text,
  writeEventsCsv,
  writeTracesCsv,
} from '../../../lib/job/exports/csv.js';
import { allOutputNames, csvNames } from '../../../lib/job/outputs.js';
import { mulberry32 } from '../../../lib/job/synthetic.js';
import { captureOutput } from '../../helpers/captureOutput.js';
import { expectCsvMatchesOutputs, parseTracesCsv } from '../../helpers/csvExports.js';
import { describeShared, sharedPath } from '../../helpers/shared.js';
import { fixtureCellSet } from './fixtures.js';

const decoder = new TextDecoder();
const ZERO: Ratio = { num: 0n, den: 1n };

/** The shortest of toPrecision(1…9) that reads back as the float32 v: the reference. */
function shortestReference(v: number): string {
  for (let k = 1; k <= 9; k++) {
    const d = Number(v.toPrecision(k));
    if (Math.fround(d) === v) return String(d);
  }
  throw new Error(`no round trip for ${v}`);
}

describe('float32 values as text', () => {
  it.each([
    [0, '0'],
    [1.5, '1.5'],
    [-2.25, '-2.25'],
    [0.1, '0.1'],
    [123456.7, '123456.7'],
    [16777216, '16777216'],
    [1e-7, '1e-7'],
    [0.000001, '0.000001'],
    [3e21, '3e+21'],
    [1e21, '1e+21'],
    [123456789012, '123456790000'],
    [3.4028234663852886e38, '3.4028235e+38'],
    [1.401298464324817e-45, '1e-45'],
    [Number.NaN, 'nan'],
    [Number.POSITIVE_INFINITY, 'inf'],
  ])('%d → %s', (value, text) => {
    expect(float32Text(Math.fround(value))).toBe(text);
  });

  it('is the shortest decimal that reads back as the same float32, for 200 000 values', () => {
    // Prepare: seeded values over 30 decades, and raw bit patterns (every exponent)
    const rand = mulberry32(11);
    const values = new Float32Array(200_000);
    const bits = new Uint32Array(values.buffer);
    for (let i = 0; i < values.length; i++) {
      if (i % 4 === 0) bits[i] = Math.floor(rand() * 2 ** 32);
      else values[i] = (rand() - 0.3) * 10 ** Math.floor(rand() * 30 - 15);
    }
    // Act
    const bad: string[] = [];
    for (const v of values) {
      if (!Number.isFinite(v)) continue;
      const text = float32Text(v);
      if (Math.fround(Number(text)) !== v || text !== shortestReference(v)) {
        bad.push(`${v}: ${text} vs ${shortestReference(v)}`);
      }
    }
    // Assess
    expect(bad.slice(0, 5)).toEqual([]);
  });
});

interface Written {
  cellSet: ByteSource;
  eventSet: ByteSource;
  traces: Float32Array[];
}

/** A cell set with NaN frames and a cell named with a comma and a quote, and its event set. */
async function writtenPair(o: {
  numCells: number;
  numTimes: number;
  start: { num: number; den: number };
  period: { num: number; den: number };
  seed: number;
}): Promise<Written> {
  const rand = mulberry32(o.seed);
  const names = Array.from({ length: o.numCells }, (_, i) => (i === 1 ? 'C, "1"' : `C${i}`));
  const timing = { numTimes: o.numTimes, period: o.period, start: { secsSinceEpoch: o.start } };
  const cs = memorySink();
  const writer = createCellSetWriter(cs, {
    timing,
    spacing: { numPixels: { x: 3, y: 2 } },
    names,
    statuses: names.map((_, i) => (['accepted', 'undecided', 'rejected'] as const)[i % 3]),
  });
  const traces: Float32Array[] = [];
  const es = memorySink();
  const events = createEventSetWriter(es, { names, timing });
  for (let c = 0; c < o.numCells; c++) {
    const trace = Float32Array.from(
      { length: o.numTimes },
      () => (rand() - 0.2) * 10 ** (rand() * 8 - 4),
    );
    trace[3 % o.numTimes] = Number.NaN;
    if (c === 2) trace.fill(Number.NaN);
    traces.push(trace);
    await writer.addCell(new Float32Array(6).fill(1), trace);
    const offsets: number[] = [];
    const amplitudes: number[] = [];
    for (let t = 0; t < o.numTimes; t++) {
      if (rand() < 0.1) {
        offsets.push(Math.round((t * o.period.num * 1e6) / o.period.den));
        amplitudes.push(rand() * 3);
      }
    }
    await events.addCell(offsets, amplitudes);
  }
  await writer.finish();
  await events.finish();
  return {
    cellSet: memorySource('cellset', cs.bytes()),
    eventSet: memorySource('eventset', es.bytes()),
    traces,
  };
}

async function exportBoth(w: Written, seriesStart: Ratio, tuning?: CsvTuning) {
  const traces = memorySink();
  const events = memorySink();
  await writeTracesCsv(w.cellSet, seriesStart, traces, tuning);
  await writeEventsCsv(w.eventSet, seriesStart, events, tuning);
  expect(traces.closed && events.closed).toBe(true);
  return { traces: decoder.decode(traces.bytes()), events: decoder.decode(events.bytes()) };
}

const bytesOf = async (s: ByteSource) => s.read(0, await s.size());

describe('writeTracesCsv / writeEventsCsv', () => {
  it('hold the cell set and the event set value for value, NaN as nan, names quoted when needed', async () => {
    // Prepare
    const w = await writtenPair({
      numCells: 7,
      numTimes: 500,
      start: { num: 0, den: 1 },
      period: { num: 1, den: 20 },
      seed: 1,
    });
    // Act
    const csv = await exportBoth(w, ZERO);
    // Assess
    const counts = await expectCsvMatchesOutputs({
      tracesCsv: csv.traces,
      eventsCsv: csv.events,
      cellSet: await bytesOf(w.cellSet),
      eventSet: await bytesOf(w.eventSet),
      offsetSeconds: 0,
    });
    expect(counts.nanValues).toBe(500 + 6); // cell 2 whole, frame 3 of the six others
    expect(counts.events).toBeGreaterThan(300);
    const lines = csv.traces.split('\n');
    expect(lines[0]).toBe(' , C0, "C, ""1""", C2, C3, C4, C5, C6');
    expect(lines[1]).toBe(
      'Time(s)/Cell Status, accepted, undecided, rejected, accepted, undecided, rejected, accepted',
    );
    expect(lines[2].startsWith('0, ')).toBe(true);
    expect(lines[5]).toMatch(/^0\.15, nan, nan, nan, nan, nan, nan, nan$/);
    expect(csv.events.split('\n')[0]).toBe('Time (s), Cell Name, Value');
  });

  it('writes the same bytes whatever the block and buffer sizes (blocks of 1 and 7 frames, 64-byte buffers)', async () => {
    // Prepare
    const w = await writtenPair({
      numCells: 5,
      numTimes: 101,
      start: { num: 5, den: 1 },
      period: { num: 1, den: 10 },
      seed: 2,
    });
    const reference = await exportBoth(w, ZERO);
    // Act
    const small = await exportBoth(w, ZERO, {
      blockValues: 5 * 7,
      outBytes: 64,
      eventReadBytes: 40,
    });
    const single = await exportBoth(w, ZERO, { blockValues: 1, outBytes: 1 });
    // Assess
    expect(small).toEqual(reference);
    expect(single).toEqual(reference);
  });

  it('times are seconds since the series start, exact: the second file of a series starts at its offset', async () => {
    // Prepare: the series started at 1 700 000 000.250 s; this file 30.1 s later, at 10 Hz
    const w = await writtenPair({
      numCells: 2,
      numTimes: 50,
      start: { num: 1_700_000_030_350, den: 1000 },
      period: { num: 1, den: 10 },
      seed: 3,
    });
    // Act
    const csv = await exportBoth(w, { num: 1_700_000_000_250n, den: 1000n });
    // Assess
    const times = csv.traces
      .split('\n')
      .slice(2, -1)
      .map((l) => l.slice(0, l.indexOf(',')));
    expect(times.slice(0, 4)).toEqual(['30.1', '30.2', '30.3', '30.4']);
    // (301 + i)/10, one correctly rounded division: no 30.400000000000002
    expect(times).toEqual(Array.from({ length: 50 }, (_, i) => String((301 + i) / 10)));
    await expectCsvMatchesOutputs({
      tracesCsv: csv.traces,
      eventsCsv: csv.events,
      cellSet: await bytesOf(w.cellSet),
      eventSet: await bytesOf(w.eventSet),
      offsetSeconds: 30.1,
    });
    // events sit on frames: tenths of a second, printed as such
    const eventTimes = csv.events
      .split('\n')
      .slice(1, -1)
      .map((l) => l.slice(0, l.indexOf(',')));
    expect(eventTimes.length).toBeGreaterThan(5);
    for (const t of eventTimes) expect(t).toBe(String(Math.round(Number(t) * 10) / 10));
  });

  it('streams: the sink gets pieces of at most 1 MiB and the cell set is read in bounded ranges', async () => {
    // Prepare: 200 cells × 6 000 frames (≈ 10 MB of CSV)
    const w = await writtenPair({
      numCells: 200,
      numTimes: 6000,
      start: { num: 0, den: 1 },
      period: { num: 1, den: 20 },
      seed: 4,
    });
    const reads: number[] = [];
    const source: ByteSource = {
      name: w.cellSet.name,
      size: () => w.cellSet.size(),
      read: (offset, length) => {
        reads.push(length);
        return w.cellSet.read(offset, length);
      },
    };
    const pieces: number[] = [];
    const inner = memorySink();
    const sink: ByteSink = {
      write: async (chunk) => {
        pieces.push(chunk.byteLength);
        await inner.write(chunk);
      },
      close: () => inner.close(),
      abort: () => inner.abort(),
    };
    // Act: blocks of 1 000 frames
    await writeTracesCsv(source, ZERO, sink, { blockValues: 200 * 1000 });
    // Assess
    const total = pieces.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(8_000_000);
    expect(Math.max(...pieces)).toBeLessThanOrEqual(1 << 20);
    expect(pieces.length).toBeGreaterThan(8);
    const traceReads = reads.filter((n) => n === 4 * 1000);
    expect(traceReads).toHaveLength(200 * 6);
    expect(parseTracesCsv(decoder.decode(inner.bytes())).columns[7]).toEqual(w.traces[7]);
  });
});

describe('output names', () => {
  it('the CSV names of input k are optional outputs every job knows (for --overwrite and the location check)', () => {
    expect(csvNames(0)).toEqual({
      events: 'neural_events.000.csv',
      traces: 'cellset_denoised.000.csv',
    });
    expect(csvNames(1234).traces).toBe('cellset_denoised.1234.csv');
    expect(allOutputNames(2)).toEqual(
      expect.arrayContaining([
        'neural_events.000.csv',
        'cellset_denoised.000.csv',
        'neural_events.001.csv',
        'cellset_denoised.001.csv',
      ]),
    );
  });
});

describe('caiman-spikes run --csv', () => {
  let dir: string;
  let stdout: string[];
  let stderr: string[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'caiman-csv-'));
    ({ stdout, stderr } = captureOutput());
  });

  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  async function save(source: ByteSource, name: string): Promise<string> {
    const path = join(dir, name);
    writeFileSync(path, await source.read(0, await source.size()));
    return path;
  }

  const run = (...args: string[]) => main(['run', '--quiet', ...args]);
  const read = (out: string, name: string) => readFileSync(join(out, name));

  /** Checks both CSVs of every output k against the written outputs. */
  async function checkAll(out: string, offsets: number[]) {
    const counts = [];
    for (const [k, offsetSeconds] of offsets.entries()) {
      const names = csvNames(k);
      counts.push(
        await expectCsvMatchesOutputs({
          tracesCsv: read(out, names.traces).toString('utf8'),
          eventsCsv: read(out, names.events).toString('utf8'),
          cellSet: read(out, `cellset_denoised.00${k}.isxd`),
          eventSet: read(out, `neural_events.00${k}.isxd`),
          offsetSeconds,
        }),
      );
    }
    return counts;
  }

  it('a 2-file series with dropped frames and skipped cells: both CSVs per file match the outputs, listed in the manifest', async () => {
    // Prepare: given in reverse order; part 1 starts at 0 s, part 2 at 20 s (20 Hz, 300 frames)
    const statuses = ['accepted', 'rejected', 'undecided', 'accepted'] as const;
    const names = ['a', 'b', 'c', 'd'];
    const p1 = await save(
      await fixtureCellSet('p1.isxd', { names, statuses: [...statuses], dropped: [3, 7] }),
      'p1.isxd',
    );
    const p2 = await save(
      await fixtureCellSet('p2.isxd', {
        names,
        statuses: [...statuses],
        dropped: [0, 299],
        start: { num: 20, den: 1 },
      }),
      'p2.isxd',
    );
    const out = join(dir, 'out');
    // Act
    const code = await run(p2, p1, '--out', out, '--csv', '--accepted-only', 'accepted+undecided');
    // Assess
    expect(code, stderr.join('')).toBe(0);
    // output 0 = p2 (20 s after the series start), output 1 = p1
    const counts = await checkAll(out, [20, 0]);
    // NaN: the rejected cell's whole column, and the dropped frames of the three others
    expect(counts.map((c) => c.nanValues)).toEqual([300 + 3 * 2, 300 + 3 * 2]);
    expect(counts.every((c) => c.events > 0)).toBe(true);
    const manifest = JSON.parse(read(out, 'manifest.json').toString('utf8')) as {
      outputs: { name: string; size: number }[];
    };
    for (const k of [0, 1]) {
      for (const name of Object.values(csvNames(k))) {
        const entry = manifest.outputs.find((o) => o.name === name);
        expect(entry?.size, name).toBe(read(out, name).byteLength);
      }
    }
    expect(manifest.outputs).toHaveLength(17); // 7 per file, metadata, report.html and usage
    const rows = read(out, 'cellset_denoised.000.csv').toString('utf8').split('\n');
    expect(rows[2]).toBe('20, nan, nan, nan, nan'); // dropped frame 0 of p2
    expect(rows[3].startsWith('20.05, ')).toBe(true);
  });

  it('without --csv writes none; --overwrite without --csv removes an earlier run’s CSVs; a stray CSV is a clash', async () => {
    // Prepare
    const input = await save(await fixtureCellSet('a.isxd'), 'a.isxd');
    const out = join(dir, 'out');
    expect(await run(input, '--out', out, '--csv')).toBe(0);
    expect(existsSync(join(out, 'neural_events.000.csv'))).toBe(true);
    // Act
    const replaced = await run(input, '--out', out, '--overwrite');
    const files = readdirSync(out);
    const stray = join(dir, 'stray');
    mkdirSync(stray);
    writeFileSync(join(stray, 'cellset_denoised.000.csv'), 'mine\n');
    const clash = await run(input, '--out', stray);
    // Assess
    expect(replaced).toBe(0);
    expect(files.filter((f) => f.endsWith('.csv'))).toEqual([]);
    expect(stdout.join('')).toContain(
      'Removed 2 file(s) of the previous result that this one does not have: cellset_denoised.000.csv, neural_events.000.csv.',
    );
    expect(clash).toBe(2);
    expect(stderr.join('')).toContain(
      `${stray} already holds cellset_denoised.000.csv; pass --overwrite`,
    );
    expect(readdirSync(stray)).toEqual(['cellset_denoised.000.csv']);
  });

  it('run --help lists --csv with its help line and default from the options table', async () => {
    // Act
    const code = await main(['run', '--help']);
    // Assess
    expect(code).toBe(0);
    expect(stdout.join('')).toMatch(/--csv\s+also write per input neural_events\.kkk\.csv/);
    expect(stdout.join('').replace(/\s+/g, ' ')).toContain('as IDPS exports them (default: false)');
  });
});

describeShared('run --csv on the real two-part series', () => {
  it('part 2 is 30.1 s after part 1: its rows start at 30.1, and every value matches the outputs', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'caiman-csv-real-'));
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const out = join(dir, 'out');
      const parts = [1, 2].map((k) => sharedPath('data', `cellset_series_part${k}.isxd`));
      // Act
      const code = await main(['run', '--quiet', ...parts, '--out', out, '--csv']);
      // Assess
      expect(code).toBe(0);
      const rows = readFileSync(join(out, 'cellset_denoised.001.csv'), 'utf8').split('\n');
      expect(rows[0]).toBe(' , C0, C1, C2, C3, C4, C5');
      expect(rows[2].startsWith('30.1, ')).toBe(true);
      for (const [k, offsetSeconds] of [0, 30.1].entries()) {
        const file = (n: string) => readFileSync(join(out, n));
        await expectCsvMatchesOutputs({
          tracesCsv: file(`cellset_denoised.00${k}.csv`).toString('utf8'),
          eventsCsv: file(`neural_events.00${k}.csv`).toString('utf8'),
          cellSet: file(`cellset_denoised.00${k}.isxd`),
          eventSet: file(`neural_events.00${k}.isxd`),
          offsetSeconds,
        });
      }
    } finally {
      vi.restoreAllMocks();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
