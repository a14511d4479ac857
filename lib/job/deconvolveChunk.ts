/**
 * Map step of the job: deconvolve cells [cellStart, cellEnd) of one file and emit the exact
 * bytes those cells occupy in the two outputs (isxd-format.md §5.1, §6.1):
 *
 *   cell-set part = for each cell: footprint bytes copied verbatim ‖ fl32(c_t) for t < T,
 *                   NaN at invalid (dropped / cropped / blank) frames;
 *   event part    = for each cell, for each frame t with an event: u64 offset ‖ u64 cell ‖ f32 s_t.
 *
 * c and s = sp come from `constrainedFoopsi` (deconvolution-algorithms.md §1) on the float32
 * trace with NaN at invalid frames. An event is a frame t that is valid and where
 *   fl32(s_t) > 0            (the original's rule, contract §4)
 *   s_t > 1e-5·max_t s_t     (drops float32 round-off residue, golden README "Spike positions")
 *   s_t ≥ K·sn               (only with --event-threshold-sn K).
 * Offsets are µs from the file start: round(t·period·1e6) (contract §4).
 */
import { BufferPool, type ByteSink, type ByteSource, readIntoBuffer } from '../bytes.js';
import { constrainedFoopsi } from '../deconvolution/constrainedFoopsi.js';
import { arRoots } from '../deconvolution/linalg.js';
import type { FoopsiOutput } from '../deconvolution/types.js';
import { DeconvolutionError, InternalError, InvalidParameterError } from '../errors.js';
import { EVENT_PACKET_BYTES, EventPacketWriter, frameOffsetMicros } from '../isxd/index.js';
import { toFoopsiParams } from './foopsiParams.js';
import {
  type CellSetInfo,
  type JobPlan,
  maskInvalidFrames,
  ratioSeconds,
  type WorkItem,
} from './plan.js';
import { binStart } from './previews/bins.js';
import { skewnessOf } from './previews/skewness.js';
import {
  binsFor,
  type CellDisplay,
  cellDisplay,
  displayTrace,
  envelope,
} from './report/fragment.js';

/** Per-cell facts reported in output_metadata.json. */
interface CellSummary {
  cell: number;
  name: string;
  status: string;
  /** True when --accepted-only skipped the cell (trace all NaN, no events). */
  skipped: boolean;
  /**
   * Why the cell could not be deconvolved (e.g. no valid frame, a constant trace at p = 2):
   * its denoised trace is NaN and it has no events; null for a deconvolved or skipped cell.
   */
  failure: string | null;
  /** AR coefficients as used (empty when skipped). */
  g: number[];
  /**
   * Decay time constant τ_d = −Δt/ln(d) (s) of the larger AR root d ({@link timeConstants});
   * null when skipped or failed, p = 0, or the root is not real in (0, 1).
   */
  tauDecaySeconds: number | null;
  /** Rise time constant (s) of the smaller root at p = 2; null at p = 1 and as tauDecaySeconds. */
  tauRiseSeconds: number | null;
  sn: number;
  bl: number;
  lam: number | null;
  numEvents: number;
  /** Events per second of valid recording. */
  eventRateHz: number;
  /** Skewness of the denoised trace over valid frames (ranks cells in the traces preview). */
  skewness: number;
}

/** What a chunk produced; the parts themselves went to the sinks. */
interface ChunkResult {
  file: number;
  chunk: number;
  cellStart: number;
  cellEnd: number;
  cells: CellSummary[];
  cellSetPartBytes: number;
  eventPartBytes: number;
  /** Events per cell of the chunk. */
  eventCounts: number[];
  /** Offset (µs, u64 as a decimal string) of each cell's first event; "0" when none. */
  firstOffsetsUs: string[];
  /**
   * Each cell's part of report.html (report/fragment.ts), drawn here from the values in memory
   * so Assemble only joins them; absent in records of older runs (Assemble then reads them back).
   */
  displays?: CellDisplay[];
}

/** Relative threshold below which a positive s_t is float32 round-off, not an event. */
const ROUND_OFF = 1e-5;
/** Input cells are read in batches of about this many bytes. */
const READ_BYTES = 8 * 1024 * 1024;

/** A cell with a denoised trace: neither skipped by --accepted-only nor failed. */
function isDeconvolved(c: CellSummary): boolean {
  return !c.skipped && c.failure === null;
}

/** Whether the --accepted-only option skips a cell with this status. */
function isSkipped(status: string, acceptedOnly: JobPlan['options']['acceptedOnly']): boolean {
  if (acceptedOnly === 'accepted') return status !== 'accepted';
  if (acceptedOnly === 'accepted+undecided') return status === 'rejected';
  return false;
}

/**
 * Time constants τ = −Δ/ln(z) of the AR roots z (decay first, then rise for p = 2); NaN for a
 * root that is not real and in (0, 1).
 */
function timeConstants(g: number[], periodSeconds: number): number[] {
  if (g.length === 0) return [];
  const { re, im } = arRoots(Float64Array.from(g));
  return Array.from(re)
    .map((z, i) => (im[i] === 0 && z > 0 && z < 1 ? z : Number.NaN))
    .sort((a, b) => (Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : b - a))
    .map((z) => -periodSeconds / Math.log(z));
}

/** {@link timeConstants} as the summary's named fields (NaN → null). */
function tauFields(taus: number[]): Pick<CellSummary, 'tauDecaySeconds' | 'tauRiseSeconds'> {
  const finite = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : null);
  return { tauDecaySeconds: finite(taus[0]), tauRiseSeconds: finite(taus[1]) };
}

/** µs offsets of frames 0…T−1 from the file start, round(t·period·10⁶) (contract §4). */
function frameOffsets(
  T: number,
  period: { num: number | string; den: number | string },
): Float64Array {
  const offsets = new Float64Array(T);
  for (let t = 0; t < T; t++) offsets[t] = frameOffsetMicros(t, period);
  return offsets;
}

/** Batch buffers by size, reused from chunk to chunk (touching fresh pages costs more than reading). */
const batchPools = new Map<number, BufferPool>();

function batchPool(size: number): BufferPool {
  let pool = batchPools.get(size);
  if (pool === undefined) {
    pool = new BufferPool(size);
    batchPools.set(size, pool);
  }
  return pool;
}

/** Per-file facts every chunk of the file needs: µs offsets and the invalid-frame mask. */
const fileFacts = new WeakMap<CellSetInfo, { offsets: Float64Array; invalid: Uint8Array }>();

/** {@link frameOffsets} and invalid[t] = 1 at dropped / cropped / blank frames, once per file. */
function frameFacts(info: CellSetInfo): { offsets: Float64Array; invalid: Uint8Array } {
  let facts = fileFacts.get(info);
  if (facts === undefined) {
    const invalid = new Uint8Array(info.numTimes);
    for (const t of info.invalidFrames) invalid[t] = 1;
    facts = { offsets: frameOffsets(info.numTimes, info.period), invalid };
    fileFacts.set(info, facts);
  }
  return facts;
}

/**
 * The input trace of the cell being deconvolved and the engine's outputs c and sp, reused from
 * cell to cell (each is used synchronously only, so one set per thread serves every chunk).
 */
let scratch = {
  trace: new Float32Array(0),
  out: { c: new Float64Array(0), sp: new Float64Array(0) },
};

/** {@link scratch}, grown to at least T frames; the trace is its first T entries. */
function cellScratch(T: number): { trace: Float32Array; out: FoopsiOutput } {
  if (scratch.trace.length < T) {
    scratch = {
      trace: new Float32Array(T),
      out: { c: new Float64Array(T), sp: new Float64Array(T) },
    };
  }
  return { trace: scratch.trace.subarray(0, T), out: scratch.out };
}

/**
 * Event packet writers reused from chunk to chunk, like the batch buffers: a fresh 2T-packet
 * buffer per chunk (1.4 MB at 36 000 frames) is memory V8 counts against its next full
 * collection. A free list, not one writer: chunks of one thread may interleave at their awaits.
 */
const freeWriters: EventPacketWriter[] = [];
/**
 * Per-cell sums handed back by the two passes below: [0] count of finite out_t, [1] their sum,
 * [2] Σ (out_t − mean)², [3] Σ (out_t − mean)³ (previews/skewness.ts, over the finite values).
 */
const MOMENTS = 4;

/**
 * The first pass over a cell's c and sp, display bin by display bin (report/fragment.ts: bin b
 * holds frames [⌊bT/n⌋, ⌊(b+1)T/n⌋), bins.ts): out_t = fl32(c_t) at valid frames and NaN at
 * invalid ones (the cell's trace in the output part); per bin the frames of out's finite
 * minimum and maximum (the first of equal values, −1 for none: bins.ts binExtremes' rule); the
 * count and sum of the finite out_t into sums[0], sums[1]. Returns max_t s_t over valid frames
 * (0 when none is positive).
 */
function writeCalcium(
  c: Float64Array,
  sp: Float64Array,
  invalid: Uint8Array,
  out: Float32Array,
  bins: number,
  extremes: Int32Array,
  sums: Float64Array,
): number {
  const T = c.length;
  let maxSp = 0;
  let n = 0;
  let sum = 0;
  for (let b = 0; b < bins; b++) {
    const f1 = binStart(b + 1, bins, T);
    let vMin = Number.POSITIVE_INFINITY;
    let vMax = Number.NEGATIVE_INFINITY;
    let iMin = -1;
    let iMax = -1;
    for (let t = binStart(b, bins, T); t < f1; t++) {
      if (invalid[t] === 1) {
        out[t] = Number.NaN;
        continue;
      }
      out[t] = c[t];
      const v = out[t];
      if (sp[t] > maxSp) maxSp = sp[t];
      if (!Number.isFinite(v)) continue;
      n++;
      sum += v;
      if (v < vMin) {
        vMin = v;
        iMin = t;
      }
      if (v > vMax) {
        vMax = v;
        iMax = t;
      }
    }
    extremes[2 * b] = iMin;
    extremes[2 * b + 1] = iMax;
  }
  sums[0] = n;
  sums[1] = sum;
  return maxSp;
}

/**
 * The second pass, bin by bin as {@link writeCalcium}: appends the cell's events (module doc:
 * valid, fl32(s) > 0, s above round-off, s ≥ minAmplitude) to `packets`, keeps per display bin
 * the largest event amplitude in maxAmp (0: none), and sums the central moments of the finite
 * out_t about `mean` into sums[2], sums[3]. Returns the first event's frame, or −1 when the
 * cell has none.
 */
function packEvents(
  sp: Float64Array,
  out: Float32Array,
  invalid: Uint8Array,
  roundOff: number,
  minAmplitude: number,
  cell: number,
  offsets: Float64Array,
  packets: EventPacketWriter,
  mean: number,
  maxAmp: Float32Array,
  sums: Float64Array,
): number {
  const T = sp.length;
  const bins = maxAmp.length;
  packets.reserve(T);
  let firstFrame = -1;
  let m2 = 0;
  let m3 = 0;
  for (let b = 0; b < bins; b++) {
    const f1 = binStart(b + 1, bins, T);
    let top = 0;
    for (let t = binStart(b, bins, T); t < f1; t++) {
      const v = out[t];
      if (Number.isFinite(v)) {
        const d = v - mean;
        m2 += d * d;
        m3 += d * d * d;
      }
      const s = sp[t];
      if (invalid[t] === 1 || !(Math.fround(s) > 0) || !(s > roundOff) || s < minAmplitude)
        continue;
      if (firstFrame < 0) firstFrame = t;
      packets.push(offsets[t], cell, s);
      // The amplitude as the packet stores it (float32).
      const a = Math.fround(s);
      if (a > top) top = a;
    }
    maxAmp[b] = top;
  }
  sums[2] = m2;
  sums[3] = m3;
  return firstFrame;
}

/**
 * Deconvolves one chunk of cells and streams its two output parts.
 *
 * @param plan - from `planJob`.
 * @param item - the chunk.
 * @param source - the chunk's input cell set (`plan.files[item.file].input`).
 * @param cellSetPart - receives the chunk's cell-set data bytes; closed on success, aborted on failure.
 * @param eventPart - receives the chunk's 20-byte event packets (global cell index); closed / aborted likewise.
 * A cell that cannot be deconvolved gets a NaN trace, no events and its `failure` reason.
 * @throws InvalidParameterError for a parameter the engine refuses, InternalError for an
 *   engine fault, DeconvolutionError for a truncated input.
 */
async function deconvolveChunk(
  plan: JobPlan,
  item: WorkItem,
  source: ByteSource,
  cellSetPart: ByteSink,
  eventPart: ByteSink,
): Promise<ChunkResult> {
  try {
    const result = await runChunk(plan, item, source, cellSetPart, eventPart);
    await cellSetPart.close();
    await eventPart.close();
    return result;
  } catch (err) {
    await cellSetPart.abort();
    await eventPart.abort();
    throw err;
  }
}

async function runChunk(
  plan: JobPlan,
  item: WorkItem,
  source: ByteSource,
  cellSetPart: ByteSink,
  eventPart: ByteSink,
): Promise<ChunkResult> {
  const info = plan.files[item.file];
  const { bytesPerCell: B, numTimes: T } = info;
  const footprintBytes = 4 * info.width * info.height;
  const periodSeconds = ratioSeconds(info.period);
  const { offsets, invalid } = frameFacts(info);
  const foopsiParams = toFoopsiParams(plan.params, info.lags);
  // Kinetics given in seconds: the file's g (plan.ts), used as a given g.
  if (info.gFromTau !== null) foopsiParams.g = [...info.gFromTau];
  const K = plan.options.eventThresholdSn;
  const validSeconds = (T - info.invalidFrames.length) * periodSeconds;

  const { trace, out: foopsiOut } = cellScratch(T);
  const traceBytes = new Uint8Array(trace.buffer, 0, 4 * T);
  const packets = freeWriters.pop() ?? new EventPacketWriter(2 * T);
  packets.clear();
  const bins = binsFor(T);
  const extremes = new Int32Array(2 * bins);
  const sums = new Float64Array(MOMENTS);

  const numCells = item.cellEnd - item.cellStart;
  const batchCells = Math.max(1, Math.floor(READ_BYTES / B));
  const result: ChunkResult = {
    file: item.file,
    chunk: item.chunk,
    cellStart: item.cellStart,
    cellEnd: item.cellEnd,
    cells: [],
    cellSetPartBytes: numCells * B,
    eventPartBytes: 0,
    eventCounts: [],
    firstOffsetsUs: [],
    displays: [],
  };
  const displays = result.displays as CellDisplay[];

  // Each batch of input cells is read once, into a buffer reused from chunk to chunk; its traces
  // are overwritten in place by c and the batch is written as one run of the cell-set part
  // (footprints kept verbatim), its events as one run of the event part.
  const pool = batchPool(Math.min(batchCells, numCells) * B);
  const batch = pool.take();
  try {
    for (let batchStart = 0; batchStart < numCells; batchStart += batchCells) {
      const count = Math.min(batchCells, numCells - batchStart);
      const first = item.cellStart + batchStart;
      const part = batch.subarray(0, count * B);
      const got = await readIntoBuffer(source, first * B, part);
      if (got !== count * B) {
        throw new DeconvolutionError(
          `${info.input}: cells ${first}…${first + count - 1} end past the data section (expected ${count * B} bytes, got ${got})`,
          'Truncated',
        );
      }
      packets.clear();
      for (let k = 0; k < count; k++) {
        const cell = first + k;
        const at = k * B + footprintBytes;
        const out = new Float32Array(part.buffer, part.byteOffset + at, T);
        const name = info.names[cell];
        const status = info.statuses[cell];
        const skipped = isSkipped(status, plan.options.acceptedOnly);
        let r: ReturnType<typeof constrainedFoopsi> | null = null;
        let failure: string | null = null;
        const footprint = new Float32Array(
          part.buffer,
          part.byteOffset + k * B,
          footprintBytes / 4,
        );
        // The raw trace with NaN at invalid frames: the engine's input and the report's raw trace.
        traceBytes.set(part.subarray(at, at + 4 * T));
        maskInvalidFrames(info, trace);
        const raw = displayTrace(trace);
        if (!skipped) {
          try {
            r = constrainedFoopsi(trace, foopsiParams, foopsiOut);
          } catch (err) {
            // A parameter is the job's problem (it fails the job); a trace that cannot be
            // deconvolved is this cell's (NaN, no events, the reason in the metadata); anything
            // else is ours.
            if (err instanceof InvalidParameterError) throw err;
            if (!(err instanceof DeconvolutionError)) {
              throw new InternalError(
                `${info.input}: cell ${cell} (${name}): the engine failed: ${err instanceof Error ? err.message : String(err)}`,
                'Engine',
                { cause: err },
              );
            }
            failure = err.message;
          }
        }
        if (r === null) {
          out.fill(Number.NaN);
          result.cells.push({
            cell,
            name,
            status,
            skipped,
            failure,
            g: [],
            tauDecaySeconds: null,
            tauRiseSeconds: null,
            sn: Number.NaN,
            bl: Number.NaN,
            lam: null,
            numEvents: 0,
            eventRateHz: 0,
            skewness: Number.NaN,
          });
          result.eventCounts.push(0);
          result.firstOffsetsUs.push('0');
          displays.push(cellDisplay(info, raw, null, footprint, new Float32Array(bins)));
          continue;
        }
        const maxSp = writeCalcium(r.c, r.sp, invalid, out, bins, extremes, sums);
        const before = packets.count;
        const maxAmp = new Float32Array(bins);
        const firstFrame = packEvents(
          r.sp,
          out,
          invalid,
          ROUND_OFF * maxSp,
          K === null ? 0 : K * r.sn,
          cell,
          offsets,
          packets,
          sums[1] / sums[0],
          maxAmp,
          sums,
        );
        const n = packets.count - before;
        result.eventPartBytes += n * EVENT_PACKET_BYTES;
        result.eventCounts.push(n);
        result.firstOffsetsUs.push(firstFrame < 0 ? '0' : String(offsets[firstFrame]));
        result.cells.push({
          cell,
          name,
          status,
          skipped: false,
          failure: null,
          g: [...r.g],
          ...tauFields(timeConstants([...r.g], periodSeconds)),
          sn: r.sn,
          bl: r.bl,
          lam: r.lam,
          numEvents: n,
          eventRateHz: validSeconds > 0 ? n / validSeconds : 0,
          skewness: skewnessOf(sums[0], sums[2] / sums[0], sums[3] / sums[0]),
        });
        const denoised = bins === T ? Float64Array.from(out) : envelope(out, extremes);
        displays.push(cellDisplay(info, raw, denoised, footprint, maxAmp));
      }
      await cellSetPart.write(part);
      if (packets.count > 0) await eventPart.write(packets.held());
    }
  } finally {
    pool.give(batch);
    if (freeWriters.length < 4) freeWriters.push(packets);
  }
  return result;
}

export type { CellSummary, ChunkResult };
export { deconvolveChunk, frameOffsets, isDeconvolved, isSkipped, timeConstants };
