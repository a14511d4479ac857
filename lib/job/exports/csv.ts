/**
 * CSV exports like IDPS's (option `csv`; README "CSV exports"), read back from the written
 * outputs of one input k and streamed through a ByteSink (never one string for the file):
 *
 * - `neural_events.kkk.csv`: header `Time (s), Cell Name, Value`, then one row per packet of
 *   `neural_events.kkk.isxd` in the file's order (cell by cell, times ascending), Value = the
 *   packet's float32 amplitude.
 * - `cellset_denoised.kkk.csv`: IDPS's two header rows ` , NAME₀, NAME₁, …` and
 *   `Time(s)/Cell Status, STATUS₀, …`, then one row per frame: its time, then each cell's value
 *   of `cellset_denoised.kkk.isxd` (`nan` where the trace is NaN: dropped/cropped/blank frames,
 *   skipped and failed cells).
 *
 * Separator ", " (comma and space) as IDPS writes it; a name holding a comma, quote or line
 * break is quoted (RFC 4180). Times are seconds since the start of the series' first file
 * (IDPS's export of a series is relative to its first file): t = (start_k − start_first) + i·p_k
 * for frame i, (start_k − start_first) + µs/10⁶ for an event, each formed as an exact rational
 * and rounded once to a double, printed as JavaScript prints it (shortest round-trip). Values
 * are printed as the shortest decimal that reads back as the same float32 (at most 9
 * significant digits; {@link writeFloat32}).
 *
 * The traces CSV is frame-major while the cell set is cell-major: frames are taken in blocks of
 * at most {@link BLOCK_VALUES} values (cells × frames), each cell's slice of a block one ranged
 * read, at most {@link READS_AT_ONCE} in flight.
 */
import { type ByteSink, type ByteSource, readIntoBuffer } from '../../bytes.js';
import { InternalError } from '../../errors.js';
import {
  eventPacketWords,
  gcd,
  openCellSet,
  openEventSet,
  PACKET_WORD,
  packetChannel,
  packetOffset,
  type Ratio,
  subtractRatios,
} from '../../isxd/index.js';
import type { FileOutputs } from '../assemble.js';
import { forEachEventBlock } from '../eventBlocks.js';
import { csvNames } from '../outputs.js';
import { type JobPlan, seriesStart } from '../plan.js';
import { hashingSink } from '../publish.js';
import { type JobStore, type StoredObject, WORK } from '../store.js';

/** Values (cells × frames) of one block of the traces CSV in memory: 32 MiB of float32. */
const BLOCK_VALUES = 8 * 1024 * 1024;
/** Ranged reads of one block in flight at once. */
const READS_AT_ONCE = 32;
/** Bytes handed to the sink at a time. */
const OUT_BYTES = 1 << 20;
/** Longest text of a value (a sign and 21 digits: "-340282350000000000000", or "-1.23456789e-38"), and of a time (a double, 24 + margin). */
const VALUE_CHARS = 24;
const TIME_CHARS = 32;

const SEPARATOR = ', ';
const encoder = new TextEncoder();

/** Tuning of the block and buffer sizes (tests use small ones to cross every boundary). */
interface CsvTuning {
  blockValues?: number;
  outBytes?: number;
  eventReadBytes?: number;
}

// ---------------------------------------------------------------- numbers as text

/** 10^i for i in [0, 22]: exact doubles. */
const EXACT_POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** 10^e for e in [−60, 60], correctly rounded, to find a value's decimal exponent. */
const POW10_FROM = -60;
const POW10 = Array.from({ length: 121 }, (_, i) => Number(`1e${i + POW10_FROM}`));

const CH = { minus: 45, dot: 46, zero: 48, e: 101, plus: 43 } as const;

/** Writes an ASCII string; returns the next position. */
function writeAscii(text: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}

/** Writes the n decimal digits of the integer m at `to`. */
function writeDigits(m: number, n: number, out: Uint8Array, to: number): void {
  let rest = m;
  for (let i = n - 1; i >= 0; i--) {
    out[to + i] = CH.zero + (rest % 10);
    rest = Math.floor(rest / 10);
  }
}

/**
 * Writes m·10^(−q) (m > 0 an integer, no trailing zeros) as JavaScript's Number → String would
 * print that decimal: plain notation for 10⁻⁶ ≤ x < 10²¹, else d.ddde±x.
 */
function writeDecimal(m: number, q: number, out: Uint8Array, at: number): number {
  let n = 1;
  while (n < 17 && EXACT_POW10[n] <= m) n++;
  // x = 0.d₁…dₙ × 10^point
  const point = n - q;
  if (n <= point && point <= 21) {
    writeDigits(m, n, out, at);
    at += n;
    for (let i = n; i < point; i++) out[at++] = CH.zero;
    return at;
  }
  if (0 < point && point <= 21) {
    // digits with the point after the first `point` of them
    writeDigits(m, n, out, at + 1);
    for (let i = 0; i < point; i++) out[at + i] = out[at + i + 1];
    out[at + point] = CH.dot;
    return at + n + 1;
  }
  if (-6 < point && point <= 0) {
    out[at++] = CH.zero;
    out[at++] = CH.dot;
    for (let i = point; i < 0; i++) out[at++] = CH.zero;
    writeDigits(m, n, out, at);
    return at + n;
  }
  // d[.ddd]e±x
  writeDigits(m, n, out, at + 1);
  out[at] = out[at + 1];
  if (n > 1) {
    out[at + 1] = CH.dot;
    at += n + 1;
  } else {
    at += 1;
  }
  const exponent = point - 1;
  out[at++] = CH.e;
  out[at++] = exponent < 0 ? CH.minus : CH.plus;
  return writeAscii(String(Math.abs(exponent)), out, at);
}

/** The shortest text of toPrecision(k) that reads back as the float32 `v` (the slow path). */
function float32TextSlow(v: number): string {
  for (let k = 1; k < 9; k++) {
    const d = Number(v.toPrecision(k));
    if (Math.fround(d) === v) return String(d);
  }
  return String(Number(v.toPrecision(9)));
}

/**
 * Writes the float32 value `v` as the shortest decimal (k = 1…9 significant digits, each the
 * nearest k-digit decimal) that reads back as the same float32 through a double
 * (Math.fround(Number(text)) === v), in JavaScript's notation; NaN as `nan` (IDPS, pandas and
 * numpy read it), ±Infinity as `inf` / `-inf`. Returns the next position; writes at most
 * {@link VALUE_CHARS} bytes.
 *
 * For the nearest k-digit decimal m·10^(−q) (q = k − 1 − e, 10^e ≤ |v| < 10^(e+1)) the double
 * m / 10^q (or m · 10^(−q)) is rounded once, as parsing the text rounds it, when |q| ≤ 22
 * (10^|q| exact) and m < 10⁹; other magnitudes take toPrecision.
 */
function writeFloat32(v: number, out: Uint8Array, at: number): number {
  if (Number.isNaN(v)) return writeAscii('nan', out, at);
  if (v === 0) {
    out[at] = CH.zero;
    return at + 1;
  }
  if (v === Number.POSITIVE_INFINITY) return writeAscii('inf', out, at);
  if (v === Number.NEGATIVE_INFINITY) return writeAscii('-inf', out, at);
  let a = v;
  if (v < 0) {
    out[at++] = CH.minus;
    a = -v;
  }
  let e = Math.floor(Math.log10(a));
  // |q| = |k − 1 − e| ≤ 22 for every k in 1…9
  if (e < -13 || e > 22) return writeAscii(float32TextSlow(a), out, at);
  if (POW10[e - POW10_FROM] > a) e--;
  else if (POW10[e + 1 - POW10_FROM] <= a) e++;
  // Reading back is monotone in k (the k-digit decimals are among the (k+1)-digit ones): start
  // at 6 digits, then down while shorter ones still read back, or up to 9.
  let k = 6;
  let m = digitsFor(a, k, e);
  if (m > 0) {
    for (let j = k - 1; j >= 1; j--) {
      const shorter = digitsFor(a, j, e);
      if (shorter < 0) break;
      m = shorter;
      k = j;
    }
  } else {
    while (m < 0 && k < 9) m = digitsFor(a, ++k, e);
    if (m < 0) return writeAscii(float32TextSlow(a), out, at);
  }
  let q = k - 1 - e;
  while (m % 10 === 0) {
    m /= 10;
    q--;
  }
  return writeDecimal(m, q, out, at);
}

/**
 * m of the nearest k-digit decimal m·10^(−q) to a (q = k − 1 − e, |q| ≤ 22) when it reads back
 * as the float32 a, else −1.
 */
function digitsFor(a: number, k: number, e: number): number {
  const q = k - 1 - e;
  const m = q >= 0 ? Math.round(a * EXACT_POW10[q]) : Math.round(a / EXACT_POW10[-q]);
  const d = q >= 0 ? m / EXACT_POW10[q] : m * EXACT_POW10[-q];
  return m > 0 && Math.fround(d) === a ? m : -1;
}

/** The text {@link writeFloat32} writes (for tests and small uses). */
function float32Text(v: number): string {
  const out = new Uint8Array(VALUE_CHARS);
  return new TextDecoder().decode(out.subarray(0, writeFloat32(v, out, 0)));
}

/**
 * Seconds of `offset + k·step` (exact rationals, k ≥ 0 an integer) as one correctly rounded
 * double: (a·d + k·c·b) / (b·d) for offset = a/b, step = c/d, reduced by the parts' gcd; in
 * doubles while the numerator and denominator are exact there (the usual case: start times in
 * ms or µs), else through BigInt (one more rounding).
 */
function exactTimes(offset: Ratio, step: Ratio): (k: number) => number {
  let A = offset.num * step.den;
  let B = step.num * offset.den;
  let D = offset.den * step.den;
  const g = gcd(gcd(A, B), D) || 1n;
  A /= g;
  B /= g;
  D /= g;
  const max = Number.MAX_SAFE_INTEGER;
  const safe = (x: bigint) => x <= BigInt(max) && -x <= BigInt(max);
  const big = (k: number) => Number(A + BigInt(k) * B) / Number(D);
  if (!safe(A) || !safe(B) || !safe(D)) return big;
  const a = Number(A);
  const b = Number(B);
  const d = Number(D);
  return (k) => {
    const kb = k * b;
    const num = a + kb;
    return Math.abs(kb) <= max && Math.abs(num) <= max ? num / d : big(k);
  };
}

// ---------------------------------------------------------------- output buffer

/** Bytes collected in one buffer and handed to the sink when `room` would be exceeded. */
class CsvWriter {
  private readonly buffer: Uint8Array;
  at = 0;

  constructor(
    private readonly sink: ByteSink,
    size: number,
  ) {
    this.buffer = new Uint8Array(size);
  }

  get bytes(): Uint8Array {
    return this.buffer;
  }

  /** Makes room for `n` more bytes (flushing what is held). */
  async room(n: number): Promise<void> {
    if (this.at + n <= this.buffer.byteLength) return;
    await this.flush();
    if (n > this.buffer.byteLength) {
      throw new InternalError(`CSV row of ${n} bytes exceeds the buffer`, 'Invariant');
    }
  }

  /** Writes text of any length (headers), through the encoder. */
  async text(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    if (bytes.byteLength > this.buffer.byteLength) {
      await this.flush();
      await this.sink.write(bytes);
      return;
    }
    await this.room(bytes.byteLength);
    this.buffer.set(bytes, this.at);
    this.at += bytes.byteLength;
  }

  async flush(): Promise<void> {
    if (this.at === 0) return;
    // The sink copies what it keeps (ByteSink contract), so the buffer is reused at once.
    await this.sink.write(this.buffer.subarray(0, this.at));
    this.at = 0;
  }
}

/** A CSV field: as is, or quoted (RFC 4180) when it holds a comma, a quote or a line break. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

// ---------------------------------------------------------------- the two exports

/**
 * Writes the traces CSV of a written cell set to `sink` (closed at the end).
 * @param seriesStart - start of the series' first file: times are seconds since then
 */
async function writeTracesCsv(
  cellSet: ByteSource,
  seriesStart: Ratio,
  sink: ByteSink,
  tuning: CsvTuning = {},
): Promise<void> {
  const reader = await openCellSet(cellSet);
  const { numCells, numTimes, bytesPerCell } = reader;
  const { names, statuses, timing } = reader.header;
  const footprintBytes = 4 * reader.width * reader.height;
  const rowBytes = TIME_CHARS + numCells * (SEPARATOR.length + VALUE_CHARS) + 1;
  const out = new CsvWriter(sink, Math.max(tuning.outBytes ?? OUT_BYTES, rowBytes));
  await out.text(` ${names.map((n) => `${SEPARATOR}${csvField(n)}`).join('')}\n`);
  await out.text(`Time(s)/Cell Status${statuses.map((s) => `${SEPARATOR}${s}`).join('')}\n`);
  const timeOf = exactTimes(
    subtractRatios(timing.start.secsSinceEpoch, seriesStart),
    timing.period,
  );
  const blockFrames = Math.max(
    1,
    Math.min(numTimes, Math.floor((tuning.blockValues ?? BLOCK_VALUES) / Math.max(1, numCells))),
  );
  // One block: cell c's frames [f0, f0 + F) at c·F … (cell-major, one read per cell).
  const block = new Float32Array(numCells * blockFrames);
  const bytes = out.bytes;
  for (let f0 = 0; f0 < numTimes; f0 += blockFrames) {
    const F = Math.min(blockFrames, numTimes - f0);
    for (let c0 = 0; c0 < numCells; c0 += READS_AT_ONCE) {
      const reads: Promise<number>[] = [];
      for (let c = c0; c < Math.min(numCells, c0 + READS_AT_ONCE); c++) {
        const target = new Uint8Array(block.buffer, 4 * c * F, 4 * F);
        reads.push(
          readIntoBuffer(cellSet, c * bytesPerCell + footprintBytes + 4 * f0, target).then((n) => {
            if (n !== 4 * F) {
              throw new InternalError(
                `${cellSet.name}: cell ${c} frames ${f0}–${f0 + F - 1}: read ${n} bytes, expected ${4 * F}`,
                'ShortRead',
              );
            }
            return n;
          }),
        );
      }
      await Promise.all(reads);
    }
    for (let i = 0; i < F; i++) {
      await out.room(rowBytes);
      let at = writeAscii(String(timeOf(f0 + i)), bytes, out.at);
      for (let c = 0; c < numCells; c++) {
        bytes[at++] = 44; // ','
        bytes[at++] = 32; // ' '
        at = writeFloat32(block[c * F + i], bytes, at);
      }
      bytes[at++] = 10;
      out.at = at;
    }
  }
  await out.flush();
  await sink.close();
}

/**
 * Writes the events CSV of a written event set to `sink` (closed at the end): one row per
 * packet, in the file's order.
 * @param seriesStart - start of the series' first file: times are seconds since then
 */
async function writeEventsCsv(
  eventSet: ByteSource,
  seriesStart: Ratio,
  sink: ByteSink,
  tuning: CsvTuning = {},
): Promise<void> {
  const reader = await openEventSet(eventSet);
  const names = reader.header.names.map((n) =>
    encoder.encode(`${SEPARATOR}${csvField(n)}${SEPARATOR}`),
  );
  const longest = names.reduce((m, n) => Math.max(m, n.byteLength), 0);
  const rowBytes = TIME_CHARS + longest + VALUE_CHARS + 1;
  const out = new CsvWriter(sink, Math.max(tuning.outBytes ?? OUT_BYTES, rowBytes));
  await out.text('Time (s), Cell Name, Value\n');
  const timeOf = exactTimes(subtractRatios(reader.timing.start.secsSinceEpoch, seriesStart), {
    num: 1n,
    den: 1_000_000n,
  });
  const bytes = out.bytes;
  const writeBlock = async (packets: Uint8Array, firstPacket: number): Promise<void> => {
    const words = eventPacketWords(packets);
    const amplitudes = new Float32Array(words.buffer, words.byteOffset, words.length);
    for (let w = 0; w < words.length; w += 5) {
      const channel = packetChannel(words, w);
      const name = names[channel];
      if (name === undefined) {
        throw new InternalError(
          `${eventSet.name}: packet ${firstPacket + w / 5} names cell ${channel} of ${names.length}`,
          'BadPacket',
        );
      }
      await out.room(rowBytes);
      let at = writeAscii(String(timeOf(packetOffset(words, w))), bytes, out.at);
      bytes.set(name, at);
      at += name.byteLength;
      at = writeFloat32(amplitudes[w + PACKET_WORD.amplitude], bytes, at);
      bytes[at++] = 10;
      out.at = at;
    }
  };
  await forEachEventBlock(eventSet, reader.numPackets, writeBlock, tuning.eventReadBytes);
  await out.flush();
  await sink.close();
}

/**
 * Stages the two CSV exports of one assembled file from its staged outputs (the Assemble step,
 * after describeFile) and returns their manifest entries. A failed export leaves nothing.
 */
async function stageCsvExports(
  store: JobStore,
  plan: JobPlan,
  outputs: FileOutputs,
  tuning: CsvTuning = {},
): Promise<StoredObject[]> {
  const names = csvNames(outputs.file);
  const start = seriesStart(plan);
  const staged: StoredObject[] = [];
  const jobs: [string, (sink: ByteSink) => Promise<void>][] = [
    [
      names.events,
      async (sink) =>
        writeEventsCsv(
          await store.workSource(WORK.staged(outputs.eventSetName)),
          start,
          sink,
          tuning,
        ),
    ],
    [
      names.traces,
      async (sink) =>
        writeTracesCsv(
          await store.workSource(WORK.staged(outputs.cellSetName)),
          start,
          sink,
          tuning,
        ),
    ],
  ];
  for (const [name, write] of jobs) {
    const sink = hashingSink(name, store.workSink(WORK.staged(name)));
    try {
      await write(sink);
    } catch (error) {
      await sink.abort().catch(() => {});
      throw error;
    }
    staged.push(sink.stored());
  }
  return staged;
}

export type { CsvTuning };
export { float32Text, stageCsvExports, writeEventsCsv, writeFloat32, writeTracesCsv };
