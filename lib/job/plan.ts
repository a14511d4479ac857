/**
 * Plan step of the job (Step Functions "Plan", and the first step of a local run): read each
 * input's footer only, check that the inputs form one series (series.ts), order them
 * chronologically, and cut every file into chunks of whole cells (the Distributed Map items):
 * chunk k of a file holds cells [k·n, min((k+1)·n, N)) with
 * n = min(maxCells, ⌊maxBytes / B⌋, ⌊(budget − overhead) / perTrace⌋) ≥ 1, perTrace being the
 * cost model's prediction (costModel.ts) for the file's frame count and the job's parameters.
 * A single trace predicted over the budget is refused where the budget is hard (Lambda) and a
 * warning of the plan elsewhere.
 */
import type { ByteSource } from '../bytes.js';
import { InvalidInputError, InvalidParameterError } from '../errors.js';
import {
  type CellSetReader,
  exactRatio,
  invalidFrameIndices,
  openCellSet,
  type PlainRatio,
  plainRatio,
  type Ratio,
  ratioToNumber,
  subtractRatios,
  toPlain,
} from '../isxd/index.js';
import {
  ARM64_SAFETY_FACTOR,
  CHUNK_BUDGET_SECONDS,
  CHUNK_OVERHEAD_SECONDS,
  cellsWithinBudget,
  chunkSeconds,
  LOCAL_CHUNK_OVERHEAD_SECONDS,
  traceSeconds,
} from './costModel.js';
import { checkCellSetInput } from './inputChecks.js';
import { gFromTau, type JobOptions, lagsFor, type ToolParams } from './params.js';
import { chronologicalOrder, validateSeries } from './series.js';

/** A rational num/den; parts are decimal strings when beyond 2^53 (JSON-safe). */
type PlanRatio = PlainRatio;

/** A point in time (isxd-format.md §3.2), JSON-safe. */
interface PlanTime {
  secsSinceEpoch: PlanRatio;
  utcOffset: number;
}

/** One input cell set as the plan describes it. */
interface CellSetInfo {
  /** Position in the user's list (output index kkk). */
  index: number;
  /** Path or S3 key (the source's name). */
  input: string;
  numCells: number;
  numTimes: number;
  width: number;
  height: number;
  bytesPerCell: number;
  period: PlanRatio;
  start: PlanTime;
  names: string[];
  statuses: string[];
  /** Byte length of the data section. */
  dataBytes: number;
  /** Dropped, cropped and blank frames (sorted): NaN in, NaN out, never an event. */
  invalidFrames: number[];
  /** The `lags` used for this file's traces (params.ts lagsFor: 'auto' follows the length). */
  lags: number;
  /**
   * The g of `tau_decay` / `tau_rise` with this file's frame period (params.ts gFromTau), used
   * as a given g; null when g is given or estimated.
   */
  gFromTau: number[] | null;
  /** The units of the input's traces (footer extraProperties.idps.cellset.units), or null. */
  units: string | null;
  /** The input's `timingInfo` and `spacingInfo`, verbatim (for metadata). */
  timingInfo: Record<string, unknown>;
  spacingInfo: Record<string, unknown>;
}

/** One Distributed Map item: cells [cellStart, cellEnd) of one file. */
interface WorkItem {
  file: number;
  chunk: number;
  numChunks: number;
  cellStart: number;
  cellEnd: number;
  /** Predicted seconds of this chunk on the plan's target (costModel.ts). */
  predictedSeconds: number;
}

/** The whole job, JSON-serialisable (it travels through Step Functions). */
interface JobPlan {
  version: 1;
  files: CellSetInfo[];
  /** File indices in chronological order. */
  chronological: number[];
  items: WorkItem[];
  params: ToolParams;
  options: JobOptions;
  /** Predicted compute seconds of all chunks on the plan's target (Σ items' predictedSeconds). */
  predictedSeconds: number;
  /** Files whose single trace is predicted over a soft budget (absent when none). */
  warnings?: string[];
}

/** Chunk size limits: a chunk never exceeds any (but always holds ≥ 1 cell). */
interface PlanLimits {
  maxCellsPerChunk?: number;
  maxChunkBytes?: number;
  /** Predicted seconds a chunk may take (costModel.ts CHUNK_BUDGET_SECONDS). */
  budgetSeconds?: number;
  /** True where the budget is a hard limit (Lambda): a trace over it is refused at Plan. */
  hardBudget?: boolean;
  /** Speed of the target relative to the machine the cost model was measured on (≥ 1 slower). */
  speedFactor?: number;
  /** Predicted fixed seconds of a chunk (start, read, write) on the target. */
  overheadSeconds?: number;
}

/**
 * Chunk limits, the only place they are set.
 * - local: chunks of ≈ 2 MB (14 cells of 36 000 frames, ≈ 50 ms of deconvolution) keep the
 *   threads evenly loaded up to the last one while keeping the number of part files small;
 * - lambda: one chunk reads at most 64 MiB of input and holds at most 2 000 cells (a small
 *   Map item count, so few state transitions); the cost model's time budget
 *   (costModel.ts CHUNK_BUDGET_SECONDS) cuts chunks smaller where the method is slow.
 */
const CHUNK_LIMITS = {
  local: {
    maxCellsPerChunk: 64,
    maxChunkBytes: 2 * 1024 * 1024,
    budgetSeconds: CHUNK_BUDGET_SECONDS,
    hardBudget: false,
    speedFactor: 1,
    overheadSeconds: LOCAL_CHUNK_OVERHEAD_SECONDS,
  },
  lambda: {
    maxCellsPerChunk: 2000,
    maxChunkBytes: 64 * 1024 * 1024,
    budgetSeconds: CHUNK_BUDGET_SECONDS,
    hardBudget: true,
    speedFactor: ARM64_SAFETY_FACTOR,
    overheadSeconds: CHUNK_OVERHEAD_SECONDS,
  },
} as const satisfies Record<string, Required<PlanLimits>>;

const DEFAULT_LIMITS = CHUNK_LIMITS.local;

/** A plan ratio as a double (seconds): rational.ts `ratioToNumber`, under the plan's name. */
const ratioSeconds: (r: PlanRatio) => number = ratioToNumber;

/** Seconds rounded to milliseconds (the plan's JSON stays short). */
const roundMs = (s: number) => Math.round(s * 1000) / 1000;

/** The alternative suggested when one trace does not fit the budget. */
function overBudgetAdvice(params: ToolParams): { parameter: string; advice: string } {
  if (params.method_deconvolution === 'cvxpy' && params.solvers[0] === 'SCS') {
    return {
      parameter: 'solvers',
      advice: "use solvers 'ECOS,SCS' (interior point first) or method_deconvolution 'oasis'",
    };
  }
  return { parameter: 'method_deconvolution', advice: "use method_deconvolution 'oasis'" };
}

/**
 * Cuts each file into chunks of whole cells within the cell, byte and time limits.
 *
 * @throws InvalidParameterError when one trace of a file is predicted over a hard budget.
 */
function cutChunks(
  headers: CellSetReader[],
  names: string[],
  params: ToolParams,
  limits: PlanLimits,
): { items: WorkItem[]; warnings: string[] } {
  const maxCells = limits.maxCellsPerChunk ?? DEFAULT_LIMITS.maxCellsPerChunk;
  const maxBytes = limits.maxChunkBytes ?? DEFAULT_LIMITS.maxChunkBytes;
  const budget = limits.budgetSeconds ?? DEFAULT_LIMITS.budgetSeconds;
  const factor = limits.speedFactor ?? DEFAULT_LIMITS.speedFactor;
  const overhead = limits.overheadSeconds ?? DEFAULT_LIMITS.overheadSeconds;
  const items: WorkItem[] = [];
  const warnings: string[] = [];
  headers.forEach((h, file) => {
    const perTrace = traceSeconds(params, h.numTimes, factor);
    const inBudget = cellsWithinBudget(perTrace, budget, overhead);
    if (inBudget === 0) {
      const { parameter, advice } = overBudgetAdvice(params);
      const what = `one trace of ${names[file]} (${h.numTimes} frames) is predicted to take ${Math.round(chunkSeconds(perTrace, 1, overhead))} s with method_deconvolution '${params.method_deconvolution}', solvers '${params.solvers.join(',')}', over the ${budget} s chunk budget`;
      if (limits.hardBudget ?? DEFAULT_LIMITS.hardBudget) {
        const value =
          parameter === 'solvers' ? params.solvers.join(',') : params.method_deconvolution;
        throw new InvalidParameterError(
          parameter,
          value,
          `a method whose time fits: ${what}; ${advice}`,
        );
      }
      warnings.push(`${what}: each chunk holds one cell (${advice} to go faster)`);
    }
    const perChunk = Math.max(
      1,
      Math.min(maxCells, Math.floor(maxBytes / h.bytesPerCell), inBudget),
    );
    const numChunks = Math.ceil(h.numCells / perChunk);
    for (let chunk = 0; chunk < numChunks; chunk++) {
      const cellStart = chunk * perChunk;
      const cellEnd = Math.min(h.numCells, cellStart + perChunk);
      items.push({
        file,
        chunk,
        numChunks,
        cellStart,
        cellEnd,
        predictedSeconds: roundMs(chunkSeconds(perTrace, cellEnd - cellStart, overhead)),
      });
    }
  });
  return { items, warnings };
}

/**
 * Plans a job: reads each input's footer (two ranged reads), validates each as a cell set with
 * ≥ 1 cell, validates the series, orders it chronologically and cuts the work into chunks.
 *
 * @param inputs - the cell sets, in the user's order (that order gives the output index).
 * @throws IsxdFormatError for an unreadable or non-cell-set file, InvalidInputError for what
 *   inputChecks.ts refuses (zero cells, empty footprints, duplicate names) or for zero
 *   inputs, InvalidSeriesError naming both files, InvalidParameterError for lags
 *   not below a file's frame count, or (hard budget) for a single trace predicted over it.
 */
async function planJob(
  inputs: ByteSource[],
  params: ToolParams,
  options: JobOptions,
  limits: PlanLimits = {},
): Promise<JobPlan> {
  if (inputs.length === 0) throw new InvalidInputError('no input cell set given', 'NoInput');
  const readers = await Promise.all(inputs.map((s) => openCellSet(s)));
  const names = inputs.map((s) => s.name);
  readers.forEach((r, i) => {
    checkCellSetInput(r, names[i]);
    // A given lags must be below T (contract §11.4); 'auto' is fitted to T by lagsFor, and a
    // file too short even for lags = 1 fails per cell in the estimation with its own reason.
    if (params.lags !== null && params.lags >= r.numTimes) {
      throw new InvalidParameterError(
        'lags',
        params.lags,
        `an integer below the ${r.numTimes} frames of ${names[i]} (or 'auto')`,
      );
    }
    const invalid = invalidFrameIndices(r.header.timing).length;
    if (params.method_deconvolution === 'cvxpy' && invalid > 0) {
      // The convex problem has no gap weights (deconvolution-algorithms.md §7): every cell would fail.
      throw new InvalidParameterError(
        'method_deconvolution',
        'cvxpy',
        `'oasis' for ${names[i]}: its ${invalid} dropped, cropped or blank frames are gaps, which only 'oasis' handles`,
      );
    }
  });
  validateSeries(readers, names);
  const chronological = chronologicalOrder(readers, names);
  const files: CellSetInfo[] = readers.map((r, index) => {
    const root = r.footer.type === 'object' ? r.footer.members : new Map();
    const { timing } = r.header;
    return {
      index,
      input: names[index],
      numCells: r.numCells,
      numTimes: r.numTimes,
      width: r.width,
      height: r.height,
      bytesPerCell: r.bytesPerCell,
      period: plainRatio(timing.period),
      start: {
        secsSinceEpoch: plainRatio(timing.start.secsSinceEpoch),
        utcOffset: timing.start.utcOffset,
      },
      names: [...r.header.names],
      statuses: [...r.header.statuses],
      dataBytes: r.dataSize,
      invalidFrames: Array.from(invalidFrameIndices(timing)),
      lags: lagsFor(params, r.numTimes),
      gFromTau: gFromTau(params, ratioToNumber(timing.period), names[index]),
      units: traceUnits(toPlain(root.get('extraProperties') ?? { type: 'null' })),
      timingInfo: toPlain(root.get('timingInfo') ?? { type: 'null' }) as Record<string, unknown>,
      spacingInfo: toPlain(root.get('spacingInfo') ?? { type: 'null' }) as Record<string, unknown>,
    };
  });
  const { items, warnings } = cutChunks(readers, names, params, limits);
  const predictedSeconds = roundMs(items.reduce((t, it) => t + it.predictedSeconds, 0));
  return {
    version: 1,
    files,
    chronological,
    items,
    params,
    options,
    predictedSeconds,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** The traces' units an IDEAS cell set states (extraProperties.idps.cellset.units), or null. */
function traceUnits(extraProperties: unknown): string | null {
  const at = (v: unknown, k: string): unknown =>
    v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  const units = at(at(at(extraProperties, 'idps'), 'cellset'), 'units');
  return typeof units === 'string' ? units : null;
}

/** The start of the series: that of its chronologically first file, exact. */
function seriesStart(plan: Pick<JobPlan, 'files' | 'chronological'>): Ratio {
  return exactRatio(plan.files[plan.chronological[0] ?? 0].start.secsSinceEpoch);
}

/** Seconds from the series start to file `file`'s start (exact difference, rounded once). */
function seriesOffsetSeconds(plan: Pick<JobPlan, 'files' | 'chronological'>, file: number): number {
  return ratioToNumber(
    subtractRatios(exactRatio(plan.files[file].start.secsSinceEpoch), seriesStart(plan)),
  );
}

/**
 * Sets a trace's dropped, cropped and blank frames to NaN (isxd-format.md: invalid frames hold
 * no data, whatever bytes the file has there), as the job treats them everywhere.
 */
function maskInvalidFrames(info: Pick<CellSetInfo, 'invalidFrames'>, trace: Float32Array): void {
  for (const t of info.invalidFrames) trace[t] = Number.NaN;
}

export type { CellSetInfo, JobPlan, PlanLimits, PlanRatio, PlanTime, WorkItem };
export { CHUNK_LIMITS, maskInvalidFrames, planJob, ratioSeconds, seriesOffsetSeconds, seriesStart };
