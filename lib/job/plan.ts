/**
 * Plan step of the job (Step Functions "Plan", and the first step of a local run): read each
 * input's footer only, check that the inputs form one series (series.ts), order them
 * chronologically, and cut every file into chunks of whole cells (the Distributed Map items):
 * chunk k of a file holds cells [k·n, min((k+1)·n, N)) with n = min(maxCells, ⌊maxBytes / B⌋) ≥ 1.
 */
import type { ByteSource } from '../bytes.js';
import { InvalidInputError, InvalidParameterError } from '../errors.js';
import {
  type CellSetReader,
  invalidFrameIndices,
  openCellSet,
  type PlainRatio,
  plainRatio,
  ratioToNumber,
  toPlain,
} from '../isxd/index.js';
import type { JobOptions, ToolParams } from './params.js';
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
}

/** Chunk size limits: a chunk never exceeds either (but always holds ≥ 1 cell). */
interface PlanLimits {
  maxCellsPerChunk?: number;
  maxChunkBytes?: number;
}

/**
 * Chunk limits, the only place they are set.
 * - local: chunks of ≈ 2 MB (14 cells of 36 000 frames, ≈ 50 ms of deconvolution) keep the
 *   threads evenly loaded up to the last one while keeping the number of part files small;
 * - lambda: one chunk reads at most 64 MiB of input (≤ 16 M samples: ≈ 2 s at p = 1, ≈ 6 s at
 *   p = 2, ≈ 3 min with 'cvxpy' on one vCPU), far inside the 15-minute Lambda limit, and a Map
 *   item per ≤ 2 000 cells keeps the item count (and the state transitions) small.
 */
const CHUNK_LIMITS = {
  local: { maxCellsPerChunk: 64, maxChunkBytes: 2 * 1024 * 1024 },
  lambda: { maxCellsPerChunk: 2000, maxChunkBytes: 64 * 1024 * 1024 },
} as const satisfies Record<string, Required<PlanLimits>>;

const DEFAULT_LIMITS = CHUNK_LIMITS.local;

/** A plan ratio as a double (seconds): rational.ts `ratioToNumber`, under the plan's name. */
const ratioSeconds: (r: PlanRatio) => number = ratioToNumber;

/** Cuts each file into chunks of whole cells. */
function cutChunks(headers: CellSetReader[], limits: PlanLimits): WorkItem[] {
  const maxCells = limits.maxCellsPerChunk ?? DEFAULT_LIMITS.maxCellsPerChunk;
  const maxBytes = limits.maxChunkBytes ?? DEFAULT_LIMITS.maxChunkBytes;
  const items: WorkItem[] = [];
  headers.forEach((h, file) => {
    const perChunk = Math.max(1, Math.min(maxCells, Math.floor(maxBytes / h.bytesPerCell)));
    const numChunks = Math.ceil(h.numCells / perChunk);
    for (let chunk = 0; chunk < numChunks; chunk++) {
      const cellStart = chunk * perChunk;
      items.push({
        file,
        chunk,
        numChunks,
        cellStart,
        cellEnd: Math.min(h.numCells, cellStart + perChunk),
      });
    }
  });
  return items;
}

/**
 * Plans a job: reads each input's footer (two ranged reads), validates each as a cell set with
 * ≥ 1 cell, validates the series, orders it chronologically and cuts the work into chunks.
 *
 * @param inputs - the cell sets, in the user's order (that order gives the output index).
 * @throws IsxdFormatError for an unreadable or non-cell-set file, InvalidInputError for zero
 *   inputs or zero cells, InvalidSeriesError naming both files, InvalidParameterError for lags
 *   not below a file's frame count.
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
    if (r.numCells === 0) {
      throw new InvalidInputError(
        `${names[i]}: the cell set has zero cells: nothing to deconvolve`,
        'ZeroCells',
      );
    }
    if (params.lags >= r.numTimes) {
      throw new InvalidParameterError(
        'lags',
        params.lags,
        `an integer below the ${r.numTimes} frames of ${names[i]}`,
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
      timingInfo: toPlain(root.get('timingInfo') ?? { type: 'null' }) as Record<string, unknown>,
      spacingInfo: toPlain(root.get('spacingInfo') ?? { type: 'null' }) as Record<string, unknown>,
    };
  });
  return { version: 1, files, chronological, items: cutChunks(readers, limits), params, options };
}

export type { CellSetInfo, JobPlan, PlanLimits, PlanRatio, PlanTime, WorkItem };
export { CHUNK_LIMITS, planJob, ratioSeconds };
