/**
 * A file's fragment of report.html: every cell's raw input trace, denoised trace and events,
 * decimated for display, its footprint outline and its estimates. Built by the Assemble stage
 * right after the file's outputs are written (next to the previews), joined by Finalize
 * (page.ts), so the work is spread over the files Map.
 *
 * Decimation (what the page draws, ≤ MAX_POINTS points per trace whatever T):
 * - T ≤ MAX_POINTS: every frame, x_t = t;
 * - else NUM_BINS = MAX_POINTS / 2 bins, bin b = frames [⌊bT/n⌋, ⌊(b+1)T/n⌋): its min and max
 *   over finite samples (in the order they occur), at x = the bin's first frame and its middle,
 *   so every peak and trough survives (a min/max envelope).
 * Events are binned on the same grid (per bin the largest amplitude, at the bin's first point).
 *
 * Encoding (compact, JSON-safe): a trace is `lo + q·step` with q a little-endian Uint16 in
 * base64, 65535 marking a gap (NaN frame, empty bin); events are (bin, q) Uint16 pairs with
 * amplitude q·eventStep. 16 bits of a cell's own range are far finer than a screen pixel.
 */
import type { ByteSink, ByteSource } from '../../bytes.js';
import { InternalError } from '../../errors.js';
import {
  EVENT_PACKET_WORDS,
  eventPacketWords,
  PACKET_WORD,
  packetChannel,
  packetOffset,
} from '../../isxd/eventPackets.js';
import type { FileOutputs } from '../assemble.js';
import { type CellSummary, type ChunkResult, isDeconvolved } from '../deconvolveChunk.js';
import { forEachEventBlock } from '../eventBlocks.js';
import { cellSetOutputName, eventSetOutputName } from '../outputs.js';
import type { CellSetInfo, JobPlan } from '../plan.js';
import { maskInvalidFrames, ratioSeconds, seriesOffsetSeconds } from '../plan.js';
import { binExtremes, binOf } from '../previews/bins.js';
import { halfMaxContour, type Outline } from '../previews/footprintsPreview.js';

/** Points drawn per trace at most. */
const MAX_POINTS = 2000;
/** Bins of the min/max envelope (two points each). */
const NUM_BINS = MAX_POINTS / 2;
/** Largest quantised value; GAP marks a missing point. */
const Q_MAX = 65534;
const GAP = 65535;
/** Cells read at a time (one read of the output and one of the input per cell). */
const CELL_READS = 16;

/** A quantised trace: value_i = lo + q_i·step (q = 65535: gap). */
interface QuantisedTrace {
  lo: number;
  step: number;
  /** base64 of little-endian Uint16 q_i, one per display point. */
  q: string;
}

/** One cell as the report shows it. */
interface ReportCell {
  cell: number;
  name: string;
  status: string;
  /** ok, failed (its reason in `failure`) or skipped (--accepted-only). */
  outcome: 'ok' | 'failed' | 'skipped';
  failure: string | null;
  tauDecayS: number | null;
  tauRiseS: number | null;
  sn: number | null;
  baseline: number | null;
  lambda: number | null;
  numEvents: number;
  eventRateHz: number;
  /** SVG path of the half-maximum contour in pixel units ('' when the footprint is empty). */
  outline: string;
  raw: QuantisedTrace | null;
  denoised: QuantisedTrace | null;
  /** base64 of Uint16 pairs (bin, q), amplitude = q·eventStep. */
  events: string;
  eventStep: number;
}

/** A file's part of the report (JSON). */
interface ReportFragment {
  version: 1;
  file: number;
  input: string;
  cellSet: string;
  eventSet: string;
  numTimes: number;
  /** Frame period (s). */
  period: number;
  /** Seconds from the series' first start to this file's start (its time axis starts there). */
  offset: number;
  /** Start, ISO-8601 UTC. */
  start: string;
  units: string | null;
  width: number;
  height: number;
  /** 1: every frame is a point; else the number of envelope bins (two points each). */
  bins: number;
  cells: ReportCell[];
}

const finiteOrNull = (x: number | null | undefined): number | null =>
  typeof x === 'number' && Number.isFinite(x) ? x : null;

/** Number of bins of a trace of T frames (T when every frame is drawn). */
function binsFor(T: number): number {
  return T <= MAX_POINTS ? T : NUM_BINS;
}

/**
 * Display points of a trace (module doc): T values when T ≤ MAX_POINTS, else 2·NUM_BINS
 * (min and max of each bin in time order); NaN where nothing finite is there.
 */
function decimate(values: Float32Array): Float64Array {
  const T = values.length;
  if (T <= MAX_POINTS) return Float64Array.from(values);
  const extremes = new Int32Array(2 * NUM_BINS);
  binExtremes(values, NUM_BINS, extremes);
  return envelope(values, extremes);
}

/**
 * {@link decimate}'s points from the frames of each bin's finite min and max (bins.ts
 * binExtremes over {@link NUM_BINS} bins, T > MAX_POINTS): both in time order, NaN for an empty bin.
 */
function envelope(values: Float32Array, extremes: Int32Array): Float64Array {
  const out = new Float64Array(2 * NUM_BINS);
  for (let b = 0; b < NUM_BINS; b++) {
    const iMin = extremes[2 * b];
    const iMax = extremes[2 * b + 1];
    // In time order; NaN for a bin with nothing finite.
    out[2 * b] = iMin < 0 ? Number.NaN : values[Math.min(iMin, iMax)];
    out[2 * b + 1] = iMin < 0 ? Number.NaN : values[Math.max(iMin, iMax)];
  }
  return out;
}

function base64(words: Uint16Array): string {
  return Buffer.from(words.buffer, words.byteOffset, words.byteLength).toString('base64');
}

/** lo + q·step with q ∈ [0, Q_MAX], GAP for NaN; null when no point is finite. */
function quantise(points: Float64Array): QuantisedTrace | null {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  // Index loops: `for … of` over a typed array costs V8 about 3× here.
  for (let i = 0; i < points.length; i++) {
    const v = points[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi >= lo)) return null;
  const step = (hi - lo) / Q_MAX;
  const q = new Uint16Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const v = points[i];
    q[i] = !Number.isFinite(v) ? GAP : step > 0 ? Math.round((v - lo) / step) : 0;
  }
  return { lo, step, q: base64(q) };
}

/**
 * maxAmp[(cell − firstCell)·bins + bin] = max(itself, amplitude) for each packet of `words`
 * whose cell is in [firstCell, firstCell + numCells): the frame is round(offset / period)
 * (clamped to [0, T)), its bin {@link binOf}.
 */
function binPackets(
  words: Uint32Array,
  T: number,
  periodUs: number,
  bins: number,
  maxAmp: Float32Array,
  firstCell: number,
  numCells: number,
): void {
  const amplitudes = new Float32Array(words.buffer, words.byteOffset, words.length);
  for (let w = 0; w < words.length; w += EVENT_PACKET_WORDS) {
    const c = packetChannel(words, w) - firstCell;
    if (c < 0 || c >= numCells) continue;
    const frame = Math.min(T - 1, Math.max(0, Math.round(packetOffset(words, w) / periodUs)));
    const k = c * bins + binOf(frame, bins, T);
    const a = amplitudes[w + PACKET_WORD.amplitude];
    if (a > maxAmp[k]) maxAmp[k] = a;
  }
}

/** Per cell and bin the largest event amplitude (0: none), from the event set's packets. */
async function binnedEvents(
  info: CellSetInfo,
  numEvents: number,
  eventSet: ByteSource,
  bins: number,
): Promise<Float32Array> {
  const T = info.numTimes;
  const periodUs = ratioSeconds(info.period) * 1e6;
  const maxAmp = new Float32Array(info.numCells * bins);
  await forEachEventBlock(eventSet, numEvents, (packets) =>
    binPackets(eventPacketWords(packets), T, periodUs, bins, maxAmp, 0, info.numCells),
  );
  return maxAmp;
}

/** A cell's events as (bin, q) pairs and the amplitude step. */
function encodeEvents(maxAmp: Float32Array): { events: string; eventStep: number } {
  let top = 0;
  let count = 0;
  for (let b = 0; b < maxAmp.length; b++) {
    const a = maxAmp[b];
    if (a > 0) count++;
    if (a > top) top = a;
  }
  const pairs = new Uint16Array(2 * count);
  const step = top > 0 ? top / Q_MAX : 0;
  let j = 0;
  for (let b = 0; b < maxAmp.length; b++) {
    if (!(maxAmp[b] > 0)) continue;
    pairs[j++] = b;
    // At least 1: a tiny event stays visible as an event.
    pairs[j++] = Math.max(1, Math.round(maxAmp[b] / step));
  }
  return { events: base64(pairs), eventStep: step };
}

function outcomeOf(c: CellSummary): ReportCell['outcome'] {
  if (c.skipped) return 'skipped';
  return c.failure !== null || !isDeconvolved(c) ? 'failed' : 'ok';
}

/** ISO-8601 UTC of a plan time. */
function isoTime(secs: number): string {
  const d = new Date(secs * 1000);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** `n` float32 values at byte `at` of `bytes`, copied (NaN past the end). */
function floats(bytes: Uint8Array, at: number, n: number): Float32Array {
  const out = new Float32Array(n).fill(Number.NaN);
  new Uint8Array(out.buffer).set(bytes.subarray(at, Math.min(at + 4 * n, bytes.byteLength)));
  return out;
}

/**
 * The per-cell, per-sample part of a {@link ReportCell} (everything read from the traces, the
 * footprint and the events), computed where the cell is deconvolved (deconvolveChunk.ts
 * {@link cellDisplay}) and carried in its chunk's result, so Assemble only joins them. JSON-safe
 * (the cloud workflow keeps chunk results as JSON records).
 */
type CellDisplay = Pick<ReportCell, 'outline' | 'raw' | 'denoised' | 'events' | 'eventStep'> & {
  /** The whole half-maximum outline for the footprints preview, when every number is finite. */
  shape?: Outline;
};

/** True when JSON keeps every number of `o` (no NaN or ±∞). */
function jsonSafe(o: Outline): boolean {
  const ok = (x: number) => Number.isFinite(x);
  return ok(o.cx) && ok(o.cy) && o.pieces.every((p) => ok(p.area) && ok(p.cx) && ok(p.cy));
}

/**
 * A trace's display points, quantised ({@link decimate}, {@link quantise}).
 */
function displayTrace(values: Float32Array): QuantisedTrace | null {
  return quantise(decimate(values));
}

/**
 * A cell's {@link CellDisplay}, from the same values {@link reportFragment} reads back from the
 * written outputs: the raw input trace with NaN at invalid frames ({@link displayTrace} of it),
 * the {@link decimate} points of the written (float32) denoised trace when the cell was
 * deconvolved (else null), the footprint, and per display bin the largest amplitude of the
 * cell's events as written (0: none; {@link binsFor} bins, an event at frame t in bin binOf(t)).
 * The chunk computes the points and the bins in its own passes over the cell (deconvolveChunk.ts).
 */
function cellDisplay(
  info: CellSetInfo,
  raw: QuantisedTrace | null,
  denoised: Float64Array | null,
  footprint: Float32Array,
  maxAmp: Float32Array,
): CellDisplay {
  const shape = halfMaxContour(footprint, info.width, info.height);
  return {
    outline: shape.d,
    raw,
    denoised: denoised === null ? null : quantise(denoised),
    ...encodeEvents(maxAmp),
    ...(jsonSafe(shape) ? { shape } : {}),
  };
}

/** Sources the fragment is read from. */
interface FragmentSources {
  /** The written cellset_denoised output (footprints and denoised traces). */
  cellSet: ByteSource;
  /** The written neural_events output. */
  eventSet: ByteSource;
  /** The input cell set (raw traces), at the version the job read. */
  input: ByteSource;
}

/** The cells of a fragment read back from the written outputs and the input, in cell order. */
async function readCells(
  info: CellSetInfo,
  sources: FragmentSources,
  summaries: Map<number, CellSummary>,
  bins: number,
  numEvents: number,
  onCell: (cell: number, c: CellSummary | undefined, display: CellDisplay) => Promise<void>,
): Promise<void> {
  const T = info.numTimes;
  const footprintPixels = info.width * info.height;
  const maxAmp = await binnedEvents(info, numEvents, sources.eventSet, bins);
  for (let first = 0; first < info.numCells; first += CELL_READS) {
    const batch: number[] = [];
    for (let cell = first; cell < Math.min(info.numCells, first + CELL_READS); cell++)
      batch.push(cell);
    const reads = batch.map((cell) =>
      Promise.all([
        sources.cellSet.read(cell * info.bytesPerCell, info.bytesPerCell),
        sources.input.read(cell * info.bytesPerCell + 4 * footprintPixels, 4 * T),
      ]),
    );
    for (let k = 0; k < batch.length; k++) {
      const cell = batch[k];
      const [block, rawBytes] = await reads[k];
      // Copied into fresh, aligned memory (a source may hand out a Buffer view at any offset).
      const footprint = floats(block, 0, footprintPixels);
      const denoised = floats(block, 4 * footprintPixels, T);
      const raw = floats(rawBytes, 0, T);
      maskInvalidFrames(info, raw);
      const c = summaries.get(cell);
      const ok = c !== undefined && outcomeOf(c) === 'ok';
      await onCell(cell, c, {
        outline: halfMaxContour(footprint, info.width, info.height).d,
        raw: quantise(decimate(raw)),
        denoised: ok ? quantise(decimate(denoised)) : null,
        ...encodeEvents(maxAmp.subarray(cell * bins, (cell + 1) * bins)),
      });
    }
  }
}

/** JSON text written to the sink at a time (cells are stringified one by one). */
const WRITE_CHARS = 1 << 20;

/** JSON that can sit inside a script element as it is. */
const escapeLt = (json: string) => json.replaceAll('<', '\\u003c');

/** The fragment's JSON before its cells: '{…,"cells":[' (the cells follow, comma-separated). */
function fragmentHead(plan: JobPlan, file: number): string {
  const info = plan.files[file];
  const T = info.numTimes;
  const bins = binsFor(T);
  const fragment: ReportFragment = {
    version: 1,
    file,
    input: info.input,
    cellSet: cellSetOutputName(file),
    eventSet: eventSetOutputName(file),
    numTimes: T,
    period: ratioSeconds(info.period),
    offset: seriesOffsetSeconds(plan, file),
    start: isoTime(ratioSeconds(info.start.secsSinceEpoch)),
    units: info.units,
    width: info.width,
    height: info.height,
    bins: bins === T ? 1 : bins,
    cells: [],
  };
  // '{…,"cells":[]}' without its closing ']}'.
  return escapeLt(JSON.stringify(fragment).slice(0, -2));
}

/** One cell's JSON in the fragment, from its summary (undefined: never deconvolved) and parts. */
function cellText(
  info: CellSetInfo,
  cell: number,
  c: CellSummary | undefined,
  display: CellDisplay,
): string {
  const outcome = c ? outcomeOf(c) : 'skipped';
  const reportCell: ReportCell = {
    cell,
    name: info.names[cell],
    status: info.statuses[cell],
    outcome,
    failure: c?.failure ?? null,
    tauDecayS: finiteOrNull(c?.tauDecaySeconds),
    tauRiseS: finiteOrNull(c?.tauRiseSeconds),
    sn: outcome === 'skipped' ? null : finiteOrNull(c?.sn),
    baseline: outcome === 'skipped' ? null : finiteOrNull(c?.bl),
    lambda: outcome === 'skipped' ? null : finiteOrNull(c?.lam),
    numEvents: c?.numEvents ?? 0,
    eventRateHz: finiteOrNull(c?.eventRateHz) ?? 0,
    outline: display.outline,
    raw: display.raw,
    denoised: outcome === 'ok' ? display.denoised : null,
    events: display.events,
    eventStep: display.eventStep,
  };
  return escapeLt(JSON.stringify(reportCell));
}

/**
 * The report fragment of one file (JSON bytes, `<` escaped so it can sit inside a script
 * element as it is), in memory, its cells read back from the written outputs and the input.
 */
async function reportFragment(
  plan: JobPlan,
  out: FileOutputs,
  sources: FragmentSources,
): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  await writeReportFragment(plan, out, sources, {
    write: async (chunk) => {
      pieces.push(chunk.slice());
    },
    close: async () => {},
    abort: async () => {},
  });
  return Buffer.concat(pieces);
}

/**
 * {@link reportFragment}'s bytes written to `to` piece by piece (closed at the end), never the
 * whole document at once: {@link fragmentHead}, then the cells read back one by one. Used when
 * the chunks' records carry no report parts (older runs); {@link FragmentStream} is the usual path.
 */
async function writeReportFragment(
  plan: JobPlan,
  out: FileOutputs,
  sources: FragmentSources,
  to: ByteSink,
): Promise<void> {
  const info = plan.files[out.file];
  const summaries = new Map(out.cells.map((c) => [c.cell, c]));
  const encoder = new TextEncoder();
  let text = fragmentHead(plan, out.file);
  let first = true;
  const bins = binsFor(info.numTimes);
  await readCells(info, sources, summaries, bins, out.numEvents, async (cell, c, display) => {
    text += (first ? '' : ',') + cellText(info, cell, c, display);
    first = false;
    if (text.length >= WRITE_CHARS) {
      await to.write(encoder.encode(text));
      text = '';
    }
  });
  await to.write(encoder.encode(`${text}]}`));
  await to.close();
}

/**
 * A file's fragment written to `to` as its chunks' results arrive, from the report parts they
 * carry (deconvolveChunk.ts ChunkResult.displays), so that no run holds every cell's parts
 * (≈ 15 KB a cell) at once: the same bytes as {@link reportFragment}. Results may come in any
 * order; their cells are written in chunk order. A chunk without parts (a record of an older
 * run) makes the stream `incomplete`: the caller aborts it and reads the cells back instead.
 */
class FragmentStream {
  /** True once a chunk came without its report parts. */
  incomplete = false;
  private readonly info: CellSetInfo;
  private readonly encoder = new TextEncoder();
  /** Text of chunks that came before an earlier one. */
  private readonly waiting = new Map<number, string>();
  private next = 0;
  private wroteCell = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    plan: JobPlan,
    file: number,
    private readonly to: ByteSink,
    /** The file's chunks are 0 … numChunks − 1. */
    private readonly numChunks: number,
  ) {
    this.info = plan.files[file];
    this.enqueue(fragmentHead(plan, file));
  }

  /** Takes one chunk's cells (once per chunk). */
  add(result: ChunkResult): void {
    const displays = result.displays;
    if (this.incomplete) return;
    if (displays === undefined || displays.length !== result.cellEnd - result.cellStart) {
      this.incomplete = true;
      this.waiting.clear();
      return;
    }
    const texts = displays.map((d, k) =>
      cellText(this.info, result.cellStart + k, result.cells[k], d),
    );
    this.waiting.set(result.chunk, texts.join(','));
    for (let text = this.waiting.get(this.next); text !== undefined; ) {
      this.waiting.delete(this.next++);
      if (text !== '') {
        this.enqueue((this.wroteCell ? ',' : '') + text);
        this.wroteCell = true;
      }
      text = this.waiting.get(this.next);
    }
  }

  /** Writes the closing ']}' and closes the sink; every chunk must have been added. */
  async finish(): Promise<void> {
    if (this.incomplete || this.next !== this.numChunks) {
      throw new InternalError(
        `${this.info.input}: the report fragment holds ${this.next} of its ${this.numChunks} chunks`,
        'Invariant',
      );
    }
    this.enqueue(']}');
    await this.writing;
    await this.to.close();
  }

  /** Drops what was written. */
  async abort(): Promise<void> {
    await this.writing.catch(() => {});
    await this.to.abort();
  }

  private enqueue(text: string): void {
    const bytes = this.encoder.encode(text);
    this.writing = this.writing.then(() => this.to.write(bytes));
    // A failed write surfaces in finish(); until then it must not count as unhandled.
    this.writing.catch(() => {});
  }
}

export type { CellDisplay, FragmentSources, QuantisedTrace, ReportCell, ReportFragment };
export {
  binsFor,
  cellDisplay,
  decimate,
  displayTrace,
  envelope,
  FragmentStream,
  GAP,
  MAX_POINTS,
  NUM_BINS,
  quantise,
  reportFragment,
  writeReportFragment,
};
