/**
 * What `caiman-spikes inspect` reports about a `.isxd` file: a JSON-ready summary and its
 * readable text form. Ratios print as {num, den} with safe-integer parts as numbers and larger
 * ones as decimal strings, the pixel size and top-left corner also as numbers (µm, `…Um`) and
 * times also as ISO 8601 (`iso`); the text prints pixel sizes as numbers; frame rate = 1 / period, duration = numTimes · period (cell sets,
 * §3.3) or end − start (event sets, §6.4).
 */
import { IsxdErrorCode, IsxdFormatError } from '../errors.js';
import { toPlain } from './json.js';
import type { IsxdReader } from './open.js';
import { type AnyRatio, type PlainRatio, plainRatio, ratioToNumber } from './rational.js';
import { CELL_STATUSES, type IsxdTime } from './types.js';

/** A time for JSON output. */
interface PlainTime {
  readonly secsSinceEpoch: PlainRatio;
  readonly utcOffset: number;
  /** ISO 8601 UTC, when representable. */
  readonly iso: string | null;
}

/** The `inspect --json` object of one file. */
interface IsxdSummary {
  readonly file: string;
  readonly kind: 'cellset' | 'eventset';
  readonly fileSize: number;
  readonly numCells: number;
  readonly cellNames: readonly string[];
  /** Cell sets only. */
  readonly cellStatuses?: readonly string[];
  /** Frames: stored (cell sets) or derived per §6.4 (event sets). */
  readonly numTimes: number;
  readonly period: PlainRatio;
  readonly frameRate: number;
  readonly start: PlainTime;
  /** Event sets: `global times[1]`. */
  readonly end?: PlainTime;
  readonly durationSeconds: number;
  /** Cell sets only. */
  readonly numPixels?: { readonly x: number; readonly y: number };
  readonly pixelSize?: { readonly x: PlainRatio; readonly y: PlainRatio };
  /** pixelSize as numbers (µm). */
  readonly pixelSizeUm?: { readonly x: number; readonly y: number };
  readonly topLeft?: { readonly x: PlainRatio; readonly y: PlainRatio };
  /** topLeft as numbers (µm). */
  readonly topLeftUm?: { readonly x: number; readonly y: number };
  /** Cell sets only: invalid-frame list lengths. */
  readonly invalidFrames?: {
    readonly dropped: number;
    readonly cropped: number;
    readonly blank: number;
  };
  /** Event sets only: packets per cell, counted from the data. */
  readonly eventCounts?: readonly number[];
  readonly fileVersion: number;
  readonly producer: unknown;
  readonly extraProperties: unknown;
}

/** Seconds since the Unix epoch as ISO 8601 UTC (ms precision), or null when out of Date's range. */
function isoTime(secsSinceEpoch: AnyRatio): string | null {
  const ms = ratioToNumber(secsSinceEpoch) * 1000;
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null;
}

function plainTime(t: IsxdTime): PlainTime {
  return {
    secsSinceEpoch: plainRatio(t.secsSinceEpoch),
    utcOffset: t.utcOffset,
    iso: isoTime(t.secsSinceEpoch),
  };
}

/**
 * Summarises an opened file. Event sets are scanned once to count events (which validates every
 * packet's channel).
 * @throws IsxdFormatError when the period is zero or the event data is invalid
 */
async function summarizeIsxd(reader: IsxdReader): Promise<IsxdSummary> {
  if (reader.kind === 'cellset') {
    const h = reader.header;
    const { period, start, numTimes } = h.timing;
    if (period.num === 0n) {
      throw new IsxdFormatError(reader.file, IsxdErrorCode.BadValue, 'timingInfo.period is zero', {
        expected: 'a positive period',
        actual: `${period.num}/${period.den}`,
      });
    }
    return {
      file: reader.file,
      kind: 'cellset',
      fileSize: reader.fileSize,
      numCells: reader.numCells,
      cellNames: h.names,
      cellStatuses: h.statuses,
      numTimes,
      period: plainRatio(period),
      frameRate: 1 / ratioToNumber(period),
      start: plainTime(start),
      durationSeconds: numTimes * ratioToNumber(period),
      numPixels: { x: h.spacing.numPixels.x, y: h.spacing.numPixels.y },
      pixelSize: { x: plainRatio(h.spacing.pixelSize.x), y: plainRatio(h.spacing.pixelSize.y) },
      pixelSizeUm: {
        x: ratioToNumber(h.spacing.pixelSize.x),
        y: ratioToNumber(h.spacing.pixelSize.y),
      },
      topLeft: { x: plainRatio(h.spacing.topLeft.x), y: plainRatio(h.spacing.topLeft.y) },
      topLeftUm: { x: ratioToNumber(h.spacing.topLeft.x), y: ratioToNumber(h.spacing.topLeft.y) },
      invalidFrames: {
        dropped: h.timing.dropped.length,
        cropped: h.timing.cropped.length,
        blank: h.timing.blank.length,
      },
      fileVersion: h.fileVersion,
      producer: toPlain(h.producer),
      extraProperties: toPlain(h.extraProperties),
    };
  }
  const h = reader.header;
  const t = reader.timing;
  return {
    file: reader.file,
    kind: 'eventset',
    fileSize: reader.fileSize,
    numCells: reader.numCells,
    cellNames: h.names,
    numTimes: t.numTimes,
    period: plainRatio(t.period),
    frameRate: 1 / ratioToNumber(t.period),
    start: plainTime(t.start),
    end: plainTime(t.end),
    durationSeconds: ratioToNumber(t.end.secsSinceEpoch) - ratioToNumber(t.start.secsSinceEpoch),
    eventCounts: await reader.countPackets(),
    fileVersion: h.fileVersion,
    producer: toPlain(h.producer),
    extraProperties: toPlain(h.extraProperties),
  };
}

function ratioText(r: PlainRatio): string {
  return `${r.num}/${r.den}`;
}

function timeText(t: PlainTime): string {
  const offset = t.utcOffset === 0 ? '' : `, UTC offset ${t.utcOffset} s`;
  return `${t.iso ?? 'out of range'} (${ratioText(t.secsSinceEpoch)} s since epoch${offset})`;
}

function num(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/\.?0+$/, '');
}

/** The readable, multi-line text of one summary. */
function formatSummary(s: IsxdSummary): string {
  const rows: [string, string][] = [
    ['kind', `${s.kind === 'cellset' ? 'cell set' : 'event set'} (fileVersion ${s.fileVersion})`],
    ['cells', String(s.numCells)],
    ['frames', `${s.numTimes}${s.kind === 'eventset' ? ' (derived from the footer times)' : ''}`],
    ['frame rate', `${num(s.frameRate)} Hz (period ${ratioText(s.period)} s)`],
    ['start', timeText(s.start)],
    ['duration', `${num(s.durationSeconds)} s`],
  ];
  if (s.numPixels !== undefined && s.pixelSizeUm !== undefined && s.topLeftUm !== undefined) {
    const { x: px, y: py } = s.pixelSizeUm;
    rows.push([
      'field of view',
      `${s.numPixels.x} × ${s.numPixels.y} px (x × y), pixel ${num(px)} × ${num(py)} µm, ` +
        `${num(s.numPixels.x * px)} × ${num(s.numPixels.y * py)} µm, top-left (${num(s.topLeftUm.x)}, ${num(s.topLeftUm.y)}) µm`,
    ]);
  }
  if (s.invalidFrames !== undefined) {
    const { dropped, cropped, blank } = s.invalidFrames;
    rows.push(['invalid frames', `${dropped} dropped, ${cropped} cropped ranges, ${blank} blank`]);
  }
  if (s.cellStatuses !== undefined) {
    const counts = CELL_STATUSES.map(
      (status) => [status, s.cellStatuses?.filter((x) => x === status).length ?? 0] as const,
    );
    rows.push([
      'statuses',
      counts
        .filter(([, n]) => n > 0)
        .map(([status, n]) => `${n} ${status}`)
        .join(', ') || 'none',
    ]);
  }
  if (s.eventCounts !== undefined) {
    const total = s.eventCounts.reduce((a, b) => a + b, 0);
    rows.push(['events', `${total} in total`]);
    s.eventCounts.forEach((n, i) => {
      rows.push([i === 0 ? 'events per cell' : '', `${s.cellNames[i]}: ${n}`]);
    });
  }
  rows.push([
    'names',
    s.cellNames.length <= 8 ? s.cellNames.join(', ') : `${s.cellNames.slice(0, 8).join(', ')}, …`,
  ]);
  rows.push(['producer', JSON.stringify(s.producer)]);
  rows.push(['extraProperties', JSON.stringify(s.extraProperties)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [s.file, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

export type { IsxdSummary, PlainRatio, PlainTime };
export { formatSummary, isoTime, summarizeIsxd };
