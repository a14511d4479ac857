/**
 * `traces_cellset_denoised.kkk.svg` (contract §7): up to 20 non-rejected cells spread evenly
 * over the skewness ranking, each trace z-scored, z_t = (c_t − mean c)/std c (a flat trace is
 * drawn flat instead of vanishing, contract §11.11), stacked 7 units apart with the lowest
 * skewness at the bottom, coloured by rank. Long traces are reduced to min/max pairs per
 * horizontal pixel column, which keeps every peak visible. NaN frames are gaps.
 */
import { scaleLinear } from 'd3-scale';
import { finiteMoments, skewness } from './skewness.js';
import { bottomAxis, el, rainbow, svgDocument, text } from './svg.js';

/** One cell to draw. */
interface TraceToDraw {
  cell: number;
  name: string;
  /** Rank of the cell's skewness among the drawn cells (0 = lowest). */
  rank: number;
  values: Float32Array;
}

const MAX_SHOWN = 20;
const OFFSET = 7;

/**
 * Up to 20 cells spread evenly over the ranking by skewness (NaN last), de-duplicated,
 * returned lowest skewness first.
 */
function selectCells(cells: { cell: number; skewness: number }[]): number[] {
  const ranked = [...cells].sort(
    (a, b) =>
      (Number.isNaN(a.skewness) ? 1 : 0) - (Number.isNaN(b.skewness) ? 1 : 0) ||
      a.skewness - b.skewness ||
      a.cell - b.cell,
  );
  const n = ranked.length;
  if (n <= MAX_SHOWN) return ranked.map((c) => c.cell);
  const picks = new Set<number>();
  for (let i = 0; i < MAX_SHOWN; i++) picks.add(Math.round((i * (n - 1)) / (MAX_SHOWN - 1)));
  return [...picks].sort((a, b) => a - b).map((i) => ranked[i].cell);
}

/**
 * For each of `columns` bins of frames, the frames of its minimum and maximum (NaN frames are
 * skipped by the comparisons; −1 for a bin without a finite value), in extremes[2b], extremes[2b+1].
 */
function binExtremes(values: Float32Array, columns: number, extremes: Int32Array): void {
  const per = values.length / columns;
  for (let b = 0; b < columns; b++) {
    const lo = Math.floor(b * per);
    const hi = Math.floor((b + 1) * per);
    let vMin = Number.POSITIVE_INFINITY;
    let vMax = Number.NEGATIVE_INFINITY;
    let iMin = -1;
    let iMax = -1;
    for (let t = lo; t < hi; t++) {
      const v = values[t];
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
}

/** [frame, z] points, reduced to the min and max of each of `columns` bins. */
function reduce(values: Float32Array, columns: number): [number, number][] {
  const moments = finiteMoments(values);
  const mean = moments.n > 0 ? moments.mean : 0;
  const std = moments.n > 1 ? Math.sqrt(moments.m2) : 0;
  const z = (v: number) => (std > 0 ? (v - mean) / std : 0);
  const T = values.length;
  const out: [number, number][] = [];
  if (T <= 2 * columns) {
    for (let t = 0; t < T; t++)
      out.push([t, Number.isFinite(values[t]) ? z(values[t]) : Number.NaN]);
    return out;
  }
  const extremes = new Int32Array(2 * columns);
  binExtremes(values, columns, extremes);
  for (let b = 0; b < columns; b++) {
    const iMin = extremes[2 * b];
    const iMax = extremes[2 * b + 1];
    if (iMin < 0 || iMax < 0) {
      out.push([Math.floor(b * (T / columns)), Number.NaN]);
      continue;
    }
    const a = Math.min(iMin, iMax);
    const c = Math.max(iMin, iMax);
    out.push([a, z(values[a])], [c, z(values[c])]);
  }
  return out;
}

/**
 * SVG path data through (x(frame), y(z)) in tenths of a pixel, rounded to integers; a point with
 * a non-finite z (NaN frames) lifts the pen, so the next point starts a new piece.
 */
function tenthsPath(
  points: [number, number][],
  x: (frame: number) => number,
  y: (z: number) => number,
): string {
  const parts: string[] = [];
  let pen = false;
  for (const [frame, z] of points) {
    if (!Number.isFinite(z)) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? 'L' : 'M'}${Math.round(10 * x(frame))} ${Math.round(10 * y(z))}`);
    pen = true;
  }
  return parts.join('');
}

/**
 * Renders the traces preview.
 *
 * @param traces - the selected cells (see {@link selectCells}), any order.
 * @param periodSeconds - frame period; the x axis is time since the file start.
 */
function tracesPreview(traces: TraceToDraw[], periodSeconds: number, numTimes: number): string {
  const width = 900;
  const rows = Math.max(traces.length, 10);
  const plotH = Math.min(rows * 34, 700);
  const margin = { top: 46, right: 24, bottom: 56, left: 90 };
  const height = margin.top + plotH + margin.bottom;
  const x = scaleLinear()
    .domain([0, Math.max(numTimes - 1, 1) * periodSeconds])
    .range([margin.left, width - margin.right]);
  const sorted = [...traces].sort((a, b) => a.rank - b.rank);
  const y = scaleLinear()
    .domain([-OFFSET * 0.6, OFFSET * (Math.max(sorted.length, 1) - 1) + OFFSET * 0.9])
    .range([margin.top + plotH, margin.top]);
  const columns = width - margin.left - margin.right;
  const body: string[] = [
    text(
      width / 2,
      26,
      `${traces.length} cell traces ordered by skewness (z-scored denoised traces)`,
      {
        'text-anchor': 'middle',
        'font-size': 15,
      },
    ),
  ];
  // Paths in tenths of a pixel (integers, drawn under scale(0.1)): formatting integers is much
  // cheaper than decimals, and 31 000 points per preview are formatted.
  const paths: string[] = [];
  sorted.forEach((tr, i) => {
    const color = rainbow(i, sorted.length);
    paths.push(
      el('path', {
        class: 'trace',
        'data-cell': tr.cell,
        d: tenthsPath(
          reduce(tr.values, columns),
          (frame) => x(frame * periodSeconds),
          (z) => y(z + i * OFFSET),
        ),
        fill: 'none',
        stroke: color,
        'stroke-width': 10,
      }),
    );
    body.push(
      text(margin.left - 8, y(i * OFFSET) + 4, tr.name, {
        'text-anchor': 'end',
        fill: color,
        'font-size': 11,
      }),
    );
  });
  body.push(el('g', { transform: 'scale(0.1)' }, ...paths));
  body.push(bottomAxis(x, margin.top + plotH + 6, 'Time (s)'));
  body.push(
    text(18, margin.top + plotH / 2, 'Cell', {
      'text-anchor': 'middle',
      'font-size': 13,
      transform: `rotate(-90 18 ${margin.top + plotH / 2})`,
    }),
  );
  if (traces.length === 0) {
    body.push(
      text(width / 2, margin.top + plotH / 2, 'No accepted or undecided cell to show', {
        'text-anchor': 'middle',
        'font-size': 14,
      }),
    );
  }
  return svgDocument(width, height, body);
}

export type { TraceToDraw };
export { MAX_SHOWN, selectCells, skewness, tracesPreview };
