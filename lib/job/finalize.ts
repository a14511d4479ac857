/**
 * Finalize step of the job: `output_metadata.json` in the original tool's shape
 * (ideas-tool-contract.md §6) without its defects (§11.9: method/units written, event-set
 * numSamples = frames and event counts under numEvents, real dropped/cropped/blank lists,
 * exact end time, one shared period), plus per-cell τ_decay / τ_rise (s), sn, baseline, λ, event
 * count and rate, their units stated once per file (`deconvolution.units`, the input's units),
 * ISO 8601 times next to the exact rationals, and what each 'auto' parameter resolved to
 * (`deconvolution.resolved`); and the three SVG previews per input (§7), drawn from the written
 * outputs.
 *
 * Each file is described on its own (describeFile: its metadata fragment and previews, run by
 * the Assemble stage right after the file's outputs are written), so Finalize only joins the
 * fragments into output_metadata.json (writeMetadata), O(files) small work.
 *
 * end = start + period·numTimes, as an exact reduced rational.
 */

import type { ByteSink, ByteSource } from '../bytes.js';
import { readFooter } from '../isxd/container.js';
import { toPlain } from '../isxd/json.js';
import {
  addRatios,
  exactRatio,
  type PlainRatio,
  plainRatio,
  reduceRatio,
  scaleRatio,
} from '../isxd/rational.js';
import { isoTime } from '../isxd/summary.js';
import type { FileOutputs } from './assemble.js';
import { type CellSummary, isDeconvolved } from './deconvolveChunk.js';
import { forEachEventBlock } from './eventBlocks.js';
import { AUTO_LAGS_RULE } from './foopsiParams.js';
import { previewNames } from './outputs.js';
import {
  type CellSetInfo,
  type JobPlan,
  maskInvalidFrames,
  ratioSeconds,
  seriesOffsetSeconds,
} from './plan.js';
import {
  accumulateEvents,
  createEventSummary,
  type EventSummary,
  eventsPreview,
} from './previews/eventsPreview.js';
import {
  type FootprintToDraw,
  footprintsPreview,
  halfMaxContour,
  type Outline,
} from './previews/footprintsPreview.js';
import { noCellMessage, rankCells, selectCells } from './previews/selection.js';
import { rainbow } from './previews/svg.js';
import { type TraceToDraw, tracesPreview } from './previews/tracesPreview.js';
import { runWarnings } from './warnings.js';

const FOOTPRINT_READS = 64;
const encoder = new TextEncoder();

type Plain = Record<string, unknown>;

/** start + period·numTimes as a reduced {num, den} (the original rounds it to the start's den). */
function exactEnd(info: CellSetInfo): { secsSinceEpoch: PlainRatio; utcOffset: number } {
  const duration = scaleRatio(exactRatio(info.period), info.numTimes);
  const end = reduceRatio(addRatios(exactRatio(info.start.secsSinceEpoch), duration));
  return { secsSinceEpoch: plainRatio(end), utcOffset: info.start.utcOffset };
}

function dig(obj: unknown, ...path: string[]): unknown {
  let v = obj;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Plain)[k] : undefined;
  return v;
}

/** The e-focus of a file (contract §6 lookup order), or null. */
function focusOf(footer: Plain): number | null {
  const extra = footer.extraProperties;
  const candidates = [dig(extra, 'idps', 'efocus'), dig(extra, 'microscope', 'focus')];
  for (const c of candidates) if (typeof c === 'number') return c;
  return null;
}

/** Where the per-cell time constants come from, stated once per file. */
const TAU_RULE =
  'τ = −Δt/ln(root) with Δt the frame period (s) and root an AR root of z^p − g₁z^(p−1) − …: tau_decay_s from the larger root, tau_rise_s from the smaller (p = 2; null at p = 1); null when a root is not real in (0, 1)';

function cellMetadata(c: CellSummary): Plain {
  return {
    name: c.name,
    status: c.status,
    skipped: c.skipped,
    // Why the cell could not be deconvolved (its trace is NaN, no events); null otherwise.
    failure: c.failure,
    g: c.g,
    tau_decay_s: c.tauDecaySeconds,
    tau_rise_s: c.tauRiseSeconds,
    sn: c.sn,
    baseline: c.bl,
    lambda: c.lam,
    num_events: c.numEvents,
    event_rate_hz: c.eventRateHz,
  };
}

/** "estimated per cell …" for an 'auto' parameter. */
const PER_CELL = 'estimated per cell';

/**
 * What each parameter that may be 'auto' (or that only some methods use) resolved to for this
 * file: the given value, or in words how it was obtained and where the per-cell value is.
 */
function resolvedParams(plan: JobPlan, info: CellSetInfo, units: string | null): Plain {
  const P = plan.params;
  const cvx = P.method_deconvolution === 'cvxpy';
  const u = units ?? 'input units';
  let g: unknown;
  if (P.g !== null) g = { given: P.g };
  else if (info.gFromTau !== null) {
    g = {
      value: info.gFromTau,
      from:
        P.tau_rise === null
          ? `tau_decay = ${P.tau_decay} s: g = exp(−Δt/τ_d)`
          : `tau_decay = ${P.tau_decay} s, tau_rise = ${P.tau_rise} s: d = exp(−Δt/τ_d), r = exp(−Δt/τ_r), g = [d + r, −d·r]`,
      period_s: ratioSeconds(info.period),
      note: 'used as a given g (fudge_factor does not apply)',
    };
  } else if (P.p === 0) g = 'none (p = 0: no deconvolution)';
  else {
    g = `${PER_CELL} from the autocovariance (lags ${info.lags}), roots shrunk by fudge_factor ${P.fudge_factor} (cells[].g)${P.optimize_g > 0 ? `, refined on ${P.optimize_g} isolated event(s)` : ''}`;
  }
  let sMin: string;
  if (P.s_min === null)
    sMin = `L1 penalty (no minimum spike): λ ${PER_CELL} from the noise constraint (cells[].lambda)`;
  else if (P.s_min === 0) sMin = `0: automatic L0 threshold ${PER_CELL}`;
  else if (P.s_min > 0) sMin = `${P.s_min} ${u}: minimum spike`;
  else sMin = `${P.s_min}: minimum spike |s_min|·sn·√(1−g) ${PER_CELL}`;
  const [primary, fallback] = P.solvers;
  return {
    bl: P.bl ?? `${PER_CELL} (cells[].baseline)`,
    c1:
      P.c1 !== null && cvx
        ? P.c1
        : cvx
          ? `${PER_CELL} (a variable of the convex problem)`
          : "not used by 'oasis' (each cell's initial transient is estimated and removed)",
    g,
    sn:
      P.sn ??
      `${PER_CELL} (Welch PSD over noise_range ${P.noise_range.join(',')}, ${P.noise_method}) (cells[].sn)`,
    lags: info.lags,
    s_min: sMin,
    solvers: cvx
      ? primary === fallback
        ? `${primary} only (no fallback solver)`
        : `${primary}, fallback ${fallback}`
      : "not used by 'oasis'",
  };
}

/** The event rule of the job (deconvolveChunk.ts module doc). */
function eventRule(plan: JobPlan): string {
  return plan.options.eventThresholdSn === null
    ? 'frames with fl32(s) > 0 and s > 1e-5·max(s), valid frames only (every positive frame: one transient may give a run of events; --event-threshold-sn K keeps s ≥ K·sn)'
    : `frames with fl32(s) > 0, s > 1e-5·max(s) and s ≥ ${plan.options.eventThresholdSn}·sn, valid frames only`;
}

function fileMetadata(plan: JobPlan, out: FileOutputs, footer: Plain): Record<string, Plain> {
  const info = plan.files[out.file];
  const count = (s: string) => info.statuses.filter((x) => x === s).length;
  const seconds = ratioSeconds(info.period);
  const samplingRate = seconds > 0 ? 1 / seconds : null;
  const end = exactEnd(info);
  const focus = focusOf(footer);
  const signal = dig(footer.extraProperties, 'idps', 'cellset') as Plain | undefined;
  const timing = info.timingInfo;
  const { units } = info;
  const stem = (name: string) => name.replace(/\.isxd$/, '');
  return {
    [stem(out.cellSetName)]: {
      metrics: {
        num_accepted_cells: count('accepted'),
        num_undecided_cells: count('undecided'),
        num_rejected_cells: count('rejected'),
        total_num_cells: info.numCells,
        num_deconvolved_cells: out.cells.filter(isDeconvolved).length,
        num_failed_cells: out.cells.filter((c) => c.failure !== null).length,
      },
      timingInfo: {
        ...timing,
        sampling_rate: samplingRate,
        end,
        start_iso: isoTime(info.start.secsSinceEpoch),
        end_iso: isoTime(end.secsSinceEpoch),
      },
      spacingInfo: info.spacingInfo,
      microscope: { focus },
      ...(signal ? { dataset: { signal: [{ method: signal.method ?? null, units }] } } : {}),
      deconvolution: {
        input: info.input,
        params: plan.params,
        // The lags used for this file: the given value, or 'auto' fitted to its length (lagsFor).
        lags: {
          used: info.lags,
          rule: plan.params.lags === null ? `auto: ${AUTO_LAGS_RULE}` : 'given',
        },
        // What 'auto' (and the method-dependent parameters) came to for this file.
        // What the user should know about this file's result (warnings.ts; the CLI prints them).
        warnings: runWarnings(plan, [out]),
        resolved: resolvedParams(plan, info, units),
        options: plan.options,
        trace: 'denoised calcium c (no baseline, initial transient removed), NaN at invalid frames',
        // The units of the cells' values, once: the input's (its footer's idps.cellset.units).
        units: {
          trace: units,
          sn: units,
          baseline: units,
          lambda: units,
          g: 'dimensionless',
          tau_decay_s: 's',
          tau_rise_s: 's',
          event_rate_hz: 'Hz (events per second of valid frames)',
          ...(units === null ? { note: "the input's footer states no units" } : {}),
        },
        tau_rule: TAU_RULE,
        event_rule: eventRule(plan),
        cells: out.cells.map(cellMetadata),
      },
    },
    [stem(out.eventSetName)]: {
      metrics: { total_num_cells: info.numCells, total_num_events: out.numEvents },
      timingInfo: {
        start: info.start,
        end,
        start_iso: isoTime(info.start.secsSinceEpoch),
        end_iso: isoTime(end.secsSinceEpoch),
        numSamples: info.numTimes,
        numFrames: info.numTimes,
        numEvents: out.eventCounts,
        period: info.period,
        sampling_rate: samplingRate,
        dropped: timing.dropped ?? [],
        cropped: timing.cropped ?? [],
        blank: timing.blank ?? [],
      },
      microscope: { focus },
      events: {
        amplitude_units: units,
        rule: eventRule(plan),
      },
    },
  };
}

/** The cells the previews show and how they are ordered (previews/selection.ts). */
interface PreviewPlan {
  /** Candidates (not rejected, deconvolved), lowest skewness first: the raster's rows. */
  ranked: number[];
  /** The traces preview's cells (lowest skewness first) and their colours. */
  chosen: number[];
  colors: Map<number, string>;
  /** Why nothing is shown, or null. */
  empty: string | null;
  /** Seconds from the series start to this file's start. */
  offsetSeconds: number;
  /** "part k of n" for a series of n > 1 files, else null. */
  part: string | null;
  /** The input's trace units (footer idps.cellset.units), or null. */
  units: string | null;
}

function previewPlan(plan: JobPlan, out: FileOutputs): PreviewPlan {
  const info = plan.files[out.file];
  const candidates = out.cells.filter((c) => c.status !== 'rejected' && isDeconvolved(c));
  const keyed = candidates.map((c) => ({ cell: c.cell, skewness: c.skewness ?? Number.NaN }));
  const chosen = selectCells(keyed);
  const colors = new Map(chosen.map((cell, rank) => [cell, rainbow(rank, chosen.length)]));
  const kept = out.cells.filter((c) => c.status !== 'rejected');
  const empty = noCellMessage({
    total: out.cells.length,
    candidates: candidates.length,
    rejected: out.cells.length - kept.length,
    skipped: kept.filter((c) => c.skipped).length,
    failed: kept.filter((c) => c.failure !== null).length,
  });
  const offsetSeconds = seriesOffsetSeconds(plan, out.file);
  const n = plan.files.length;
  const part = n > 1 ? `part ${plan.chronological.indexOf(out.file) + 1} of ${n}` : null;
  return {
    ranked: rankCells(keyed),
    chosen,
    colors,
    empty,
    offsetSeconds,
    part,
    units: info.units,
  };
}

/** Trace `cell` of a cell set (footprint, then numTimes float32 values), `reads` at a time. */
function readTraces(
  info: CellSetInfo,
  source: ByteSource,
  cells: number[],
): Promise<Float32Array>[] {
  const footprintBytes = 4 * info.width * info.height;
  return cells.map(async (cell) => {
    const values = new Float32Array(info.numTimes);
    new Uint8Array(values.buffer).set(
      await source.read(cell * info.bytesPerCell + footprintBytes, 4 * info.numTimes),
    );
    return values;
  });
}

/** The raw input trace as the job sees it: NaN at invalid frames (never drawn, never scaled on). */
function maskedRaw(info: CellSetInfo, raw: Float32Array): Float32Array {
  maskInvalidFrames(info, raw);
  return raw;
}

async function drawTraces(
  info: CellSetInfo,
  out: FileOutputs,
  cellSet: ByteSource,
  input: ByteSource,
  shown: PreviewPlan,
  events: EventSummary,
): Promise<string> {
  const { chosen } = shown;
  const byCell = new Map(out.cells.map((c) => [c.cell, c]));
  // At most 2 × 20 reads, issued together.
  const denoised = readTraces(info, cellSet, chosen);
  const raw = readTraces(info, input, chosen);
  const traces: TraceToDraw[] = [];
  for (let rank = 0; rank < chosen.length; rank++) {
    const cell = chosen[rank];
    traces.push({
      cell,
      name: info.names[cell],
      rank,
      values: await denoised[rank],
      raw: maskedRaw(info, await raw[rank]),
      baseline: byCell.get(cell)?.bl ?? 0,
      events: events.tracked.get(cell) ?? { frames: [], amplitudes: [] },
    });
  }
  return tracesPreview(traces, {
    periodSeconds: ratioSeconds(info.period),
    numTimes: info.numTimes,
    offsetSeconds: shown.offsetSeconds,
    numCandidates: shown.ranked.length,
    units: shown.units,
    part: shown.part,
    empty: shown.empty,
  });
}

/** spacingInfo.pixelSize in µm, or null when absent or not positive. */
function pixelSizeUm(info: CellSetInfo): { x: number; y: number } | null {
  const size = dig(info.spacingInfo, 'pixelSize') as { x?: PlainRatio; y?: PlainRatio } | undefined;
  if (size?.x === undefined || size.y === undefined) return null;
  const x = ratioSeconds(size.x);
  const y = ratioSeconds(size.y);
  return x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y) ? { x, y } : null;
}

async function drawFootprints(
  info: CellSetInfo,
  out: FileOutputs,
  cellSet: ByteSource,
  shown: PreviewPlan,
  shapes?: ReadonlyMap<number, Outline>,
): Promise<string> {
  const n = info.width * info.height;
  const cells: FootprintToDraw[] = [];
  const byCell = new Map(out.cells.map((c) => [c.cell, c]));
  const ranked = shown.ranked.map((cell) => byCell.get(cell) as CellSummary);
  // Outlines drawn where the cells were deconvolved need no read.
  const outlines = ranked.map((c) => shapes?.get(c.cell));
  if (outlines.every((s) => s !== undefined)) {
    ranked.forEach((c, k) => {
      cells.push({
        cell: c.cell,
        name: c.name,
        outline: outlines[k] as Outline,
        color: shown.colors.get(c.cell) ?? null,
      });
    });
    return footprintsPreview(cells, info.width, info.height, {
      pixelSizeUm: pixelSizeUm(info),
      empty: shown.empty,
    });
  }
  // Reads issued FOOTPRINT_READS at a time (one small read per cell).
  for (let start = 0; start < ranked.length; start += FOOTPRINT_READS) {
    const batch = ranked.slice(start, start + FOOTPRINT_READS);
    const read = batch.map((c) => cellSet.read(c.cell * info.bytesPerCell, 4 * n));
    for (let k = 0; k < batch.length; k++) {
      const c = batch[k];
      const pixels = new Float32Array(n);
      new Uint8Array(pixels.buffer).set(await read[k]);
      cells.push({
        cell: c.cell,
        name: c.name,
        outline: halfMaxContour(pixels, info.width, info.height),
        color: shown.colors.get(c.cell) ?? null,
      });
    }
  }
  return footprintsPreview(cells, info.width, info.height, {
    pixelSizeUm: pixelSizeUm(info),
    empty: shown.empty,
  });
}

/** Reads the event set once: the raster's statistics and the traced cells' events. */
async function readEvents(
  info: CellSetInfo,
  out: FileOutputs,
  eventSet: ByteSource,
  shown: PreviewPlan,
): Promise<EventSummary> {
  const period = ratioSeconds(info.period);
  const summary = createEventSummary(
    info.numCells,
    info.numTimes,
    period,
    (info.numTimes - info.invalidFrames.length) * period,
    { order: shown.ranked, tracked: shown.chosen },
  );
  await forEachEventBlock(eventSet, out.numEvents, (packets) => accumulateEvents(summary, packets));
  return summary;
}

/** The indentation of output_metadata.json (JSON.stringify's `space`). */
const INDENT = 4;
const PAD = ' '.repeat(INDENT);

/**
 * A file's entries of output_metadata.json exactly as they appear inside its top-level object:
 * `"stem": value` lines at depth 1, joined by `,\n`. JSON.stringify indents a nested value by
 * one more step per level, so a value stringified alone and shifted by one step is byte for byte
 * what stringifying the whole object writes.
 */
function metadataFragment(entries: Record<string, Plain>): Uint8Array {
  const lines = Object.entries(entries).map(
    ([key, value]) =>
      `${PAD}${JSON.stringify(key)}: ${JSON.stringify(value, null, INDENT).replaceAll('\n', `\n${PAD}`)}`,
  );
  return encoder.encode(lines.join(',\n'));
}

/**
 * Writes output_metadata.json from the files' fragments (in file order), piece by piece, never
 * holding the whole document: `{\n` fragment₀ `,\n` fragment₁ … `\n}` (`{}` for none), the
 * bytes of `JSON.stringify(merged, null, 4)`.
 */
async function writeMetadata(
  fragments: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  to: ByteSink,
): Promise<void> {
  let first = true;
  for await (const fragment of fragments) {
    await to.write(encoder.encode(first ? '{\n' : ',\n'));
    await to.write(fragment);
    first = false;
  }
  await to.write(encoder.encode(first ? '{}' : '\n}'));
  await to.close();
}

/** What {@link describeFile} produced: the file's metadata fragment and its previews' names. */
interface FileDescription {
  fragment: Uint8Array;
  previews: string[];
}

/**
 * A file's part of output_metadata.json and its three previews, drawn from the file's written
 * outputs (right after Assemble wrote them).
 *
 * @param openOutput - opens a written output (cellset_denoised / neural_events) by name.
 * @param writeOutput - writes a whole small output (SVG) by name.
 * @param input - the input cell set (the traces preview draws its raw traces).
 */
async function describeFile(
  plan: JobPlan,
  out: FileOutputs,
  openOutput: (name: string) => Promise<ByteSource>,
  writeOutput: (name: string, bytes: Uint8Array) => Promise<void>,
  input: ByteSource,
  /** Footprint outlines by cell, drawn where the cells were deconvolved (reused, not redrawn). */
  shapes?: ReadonlyMap<number, Outline>,
): Promise<FileDescription> {
  const info = plan.files[out.file];
  const cellSet = await openOutput(out.cellSetName);
  const footer = toPlain((await readFooter(cellSet)).root) as Plain;
  const fragment = metadataFragment(fileMetadata(plan, out, footer));
  const names = previewNames(out.file);
  const shown = previewPlan(plan, out);
  const events = await readEvents(info, out, await openOutput(out.eventSetName), shown);
  await writeOutput(
    names.traces,
    encoder.encode(await drawTraces(info, out, cellSet, input, shown, events)),
  );
  await writeOutput(
    names.footprints,
    encoder.encode(await drawFootprints(info, out, cellSet, shown, shapes)),
  );
  await writeOutput(
    names.events,
    encoder.encode(
      eventsPreview(events, {
        names: info.names,
        highlighted: shown.colors,
        units: shown.units,
        offsetSeconds: shown.offsetSeconds,
        part: shown.part,
        empty: shown.empty,
      }),
    ),
  );
  return { fragment, previews: [names.traces, names.footprints, names.events] };
}

export type { FileDescription };
export { describeFile, exactEnd, metadataFragment, writeMetadata };
