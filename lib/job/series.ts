/**
 * Series rules (isxd-format.md §7; contract §3 plus what the original misses, §11.6): every
 * member has the first member's cell count, names (in order), statuses and field of view
 * (spacing compared as exact rationals), a frame period within 1e-6 s of it, and, sorted by
 * start time (ties keep the user's order), each member covers [start, start + period·numTimes)
 * ending at or before the next one starts. Errors name both files and the difference.
 */
import { InvalidSeriesError } from '../errors.js';
import {
  addRatios,
  type CellSetReader,
  compareRatios,
  type Ratio,
  ratioToNumber,
  scaleRatio,
} from '../isxd/index.js';

const startOf = (r: CellSetReader): Ratio => r.header.timing.start.secsSinceEpoch;

/** End of the last sample: start + period·numTimes. */
function endOf(r: CellSetReader): Ratio {
  return addRatios(startOf(r), scaleRatio(r.header.timing.period, r.numTimes));
}

const fmtTime = (r: Ratio) => `${ratioToNumber(r)} s`;

function sameSpacing(a: CellSetReader, b: CellSetReader): boolean {
  const sa = a.header.spacing;
  const sb = b.header.spacing;
  const eq = (x: Ratio, y: Ratio) => compareRatios(x, y) === 0;
  return (
    sa.numPixels.x === sb.numPixels.x &&
    sa.numPixels.y === sb.numPixels.y &&
    eq(sa.pixelSize.x, sb.pixelSize.x) &&
    eq(sa.pixelSize.y, sb.pixelSize.y) &&
    eq(sa.topLeft.x, sb.topLeft.x) &&
    eq(sa.topLeft.y, sb.topLeft.y)
  );
}

function firstDifference(a: readonly string[], b: readonly string[]): string {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `cell ${i}: ${JSON.stringify(a[i])} vs ${JSON.stringify(b[i])}`;
  }
  return 'identical';
}

function describeSpacing(r: CellSetReader): string {
  const s = r.header.spacing;
  const q = (x: { num: bigint; den: bigint }) => `${x.num}/${x.den}`;
  return `${s.numPixels.x}×${s.numPixels.y} px of ${q(s.pixelSize.x)}×${q(s.pixelSize.y)} µm at (${q(s.topLeft.x)}, ${q(s.topLeft.y)}) µm`;
}

/** Checks that every file pairs with the first one as series members (names both files). */
function validateSeries(readers: CellSetReader[], names: string[]): void {
  const a = readers[0];
  for (let k = 1; k < readers.length; k++) {
    const b = readers[k];
    const pair = [names[0], names[k]];
    if (a.numCells !== b.numCells) {
      throw new InvalidSeriesError(pair, `cell counts differ: ${a.numCells} vs ${b.numCells}`);
    }
    if (a.header.names.join('\u0000') !== b.header.names.join('\u0000')) {
      throw new InvalidSeriesError(
        pair,
        `cell names differ at ${firstDifference(a.header.names, b.header.names)}`,
      );
    }
    if (a.header.statuses.join() !== b.header.statuses.join()) {
      throw new InvalidSeriesError(
        pair,
        `cell statuses differ at ${firstDifference(a.header.statuses, b.header.statuses)}`,
      );
    }
    const pa = ratioToNumber(a.header.timing.period);
    const pb = ratioToNumber(b.header.timing.period);
    if (Math.abs(pa - pb) > 1e-6) {
      throw new InvalidSeriesError(
        pair,
        `frame periods differ: ${pa} s vs ${pb} s (tolerance 1e-6 s)`,
      );
    }
    if (!sameSpacing(a, b)) {
      throw new InvalidSeriesError(
        pair,
        `fields of view differ: ${describeSpacing(a)} vs ${describeSpacing(b)}`,
      );
    }
  }
}

/** File indices sorted by start time (ties: user order); throws if two members overlap in time. */
function chronologicalOrder(readers: CellSetReader[], names: string[]): number[] {
  const order = readers.map((_, i) => i);
  order.sort((i, j) => compareRatios(startOf(readers[i]), startOf(readers[j])) || i - j);
  for (let k = 1; k < order.length; k++) {
    const prev = order[k - 1];
    const next = order[k];
    const prevEnd = endOf(readers[prev]);
    const nextStart = startOf(readers[next]);
    if (compareRatios(prevEnd, nextStart) > 0) {
      throw new InvalidSeriesError(
        [names[prev], names[next]],
        `they overlap in time: the first covers ${fmtTime(startOf(readers[prev]))} to ${fmtTime(prevEnd)}, the second starts at ${fmtTime(nextStart)}`,
      );
    }
  }
  return order;
}

export { chronologicalOrder, validateSeries };
