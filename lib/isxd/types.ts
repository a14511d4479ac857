/**
 * Shared `.isxd` value types (docs/isxd-format.md §3) and their pure helpers.
 *
 * A ratio is num/den with int64 parts, never reduced (§3.1; its arithmetic is in rational.ts). A
 * time is seconds since the epoch as a ratio plus a display-only UTC offset (§3.2). Timing: sample
 * i starts at start + i·period, and is invalid when dropped, cropped or blank (§3.3); the lists are
 * normalised as
 * cropped = merge(sort(cropped)), blank = sort(blank \ cropped), dropped = sort(dropped \ (cropped ∪ blank)).
 */
import type { JsonValue } from './json.js';

/** An exact rational num/den (§3.1). Never reduced. */
interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
}

/** A ratio given by a caller: parts as bigint or safe-integer numbers. */
interface RatioLike {
  readonly num: bigint | number;
  readonly den: bigint | number;
}

/** A point in time (§3.2). */
interface IsxdTime {
  readonly secsSinceEpoch: Ratio;
  /** Local offset in seconds east of UTC (display only). */
  readonly utcOffset: number;
}

/** Inclusive range of frame indices removed in processing (§3.3 `cropped`). */
type CroppedRange = readonly [first: number, last: number];

/** Sampling of a cell set's traces (§3.3). */
interface TimingInfo {
  /** Number of samples, invalid ones included. */
  readonly numTimes: number;
  /** Seconds per sample. */
  readonly period: Ratio;
  /** Start of sample 0. */
  readonly start: IsxdTime;
  readonly dropped: readonly number[];
  readonly cropped: readonly CroppedRange[];
  readonly blank: readonly number[];
}

/** Image geometry (§3.4): x = columns (width), y = rows (height); sizes in microns. */
interface SpacingInfo {
  readonly numPixels: { readonly x: number; readonly y: number };
  readonly pixelSize: { readonly x: Ratio; readonly y: Ratio };
  readonly topLeft: { readonly x: Ratio; readonly y: Ratio };
}

/** Cell status (§5.4): stored as 0 accepted, 1 undecided, 2 rejected. */
type CellStatus = 'accepted' | 'undecided' | 'rejected';

/** Status strings by their stored code. */
const CELL_STATUSES: readonly CellStatus[] = ['accepted', 'undecided', 'rejected'];

/** Opaque white, the default cell colour 0xAARRGGBB (§5.4). */
const DEFAULT_CELL_COLOR = 0xffffffff;

/** The producer this library writes unless told otherwise (§3.5: never read). */
const DEFAULT_PRODUCER = { name: 'caiman-spikes', version: [0, 1, 0] } as const;

/** Kinds of `.isxd` file by footer `"type"` (§4). */
const FILE_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'movie',
  1: 'cell set',
  2: 'behaviour movie',
  3: 'GPIO set',
  4: 'image',
  5: 'event set',
  6: 'metrics file',
  7: 'IMU set',
  8: 'vessel set',
  9: 'nVision movie',
};

/** The name of a file kind with its indefinite article ("an event set", "a cell set"). */
function article(name: string): string {
  return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}

/** A footer's free-form JSON kept verbatim (`extraProperties`, `producer`, …). */
type RawJson = JsonValue;

/** Stored code (0/1/2) of a status. */
function cellStatusCode(status: CellStatus): number {
  return CELL_STATUSES.indexOf(status);
}

function sortNumeric(values: number[]): number[] {
  return values.sort((a, b) => a - b);
}

/**
 * Normalises the invalid-frame lists exactly as the official library does before writing (§3.3).
 */
function normalizeTiming(timing: TimingInfo): TimingInfo {
  const ranges = [...timing.cropped].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cropped: [number, number][] = [];
  for (const [first, last] of ranges) {
    const prev = cropped[cropped.length - 1];
    if (prev !== undefined && prev[1] + 1 >= first) prev[1] = Math.max(prev[1], last);
    else cropped.push([first, last]);
  }
  const isCropped = (i: number) => cropped.some(([a, b]) => i >= a && i <= b);
  const blank = sortNumeric(timing.blank.filter((i) => !isCropped(i)));
  const blankSet = new Set(blank);
  const dropped = sortNumeric(timing.dropped.filter((i) => !isCropped(i) && !blankSet.has(i)));
  return { ...timing, cropped, blank, dropped };
}

/** 1 at each dropped, cropped or blank sample index below numTimes, else 0 (§3.3). */
function invalidFrameMask(timing: TimingInfo): Uint8Array {
  const n = timing.numTimes;
  const mask = new Uint8Array(n);
  for (const i of timing.dropped) if (i < n) mask[i] = 1;
  for (const i of timing.blank) if (i < n) mask[i] = 1;
  for (const [first, last] of timing.cropped)
    mask.fill(1, Math.min(first, n), Math.min(last + 1, n));
  return mask;
}

/**
 * Sorted distinct invalid sample indices below numTimes (§3.3). Memory is proportional to the
 * result, not to numTimes.
 */
function invalidFrameIndices(timing: TimingInfo): Int32Array {
  const n = timing.numTimes;
  const { cropped } = normalizeTiming({ ...timing, dropped: [], blank: [] });
  const points = [...timing.dropped, ...timing.blank].filter((i) => i < n).sort((a, b) => a - b);
  let count = points.length;
  for (const [first, last] of cropped) count += Math.max(0, Math.min(last, n - 1) - first + 1);
  const out = new Int32Array(Math.min(count, n));
  let k = 0;
  let p = 0;
  const pushPointsBelow = (limit: number) => {
    for (; p < points.length && points[p] < limit; p++)
      if (k === 0 || out[k - 1] !== points[p]) out[k++] = points[p];
  };
  for (const [first, last] of cropped) {
    if (first >= n) break;
    pushPointsBelow(first);
    for (let i = first; i <= Math.min(last, n - 1); i++) out[k++] = i;
    while (p < points.length && points[p] <= last) p++;
  }
  pushPointsBelow(n);
  return out.slice(0, k);
}

export type {
  CellStatus,
  CroppedRange,
  IsxdTime,
  Ratio,
  RatioLike,
  RawJson,
  SpacingInfo,
  TimingInfo,
};
export {
  article,
  CELL_STATUSES,
  cellStatusCode,
  DEFAULT_CELL_COLOR,
  DEFAULT_PRODUCER,
  FILE_TYPE_NAMES,
  invalidFrameIndices,
  invalidFrameMask,
  normalizeTiming,
};
