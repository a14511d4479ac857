/**
 * `traces_cellset_denoised.kkk.svg` (contract §7, extended): up to 20 non-rejected cells spread
 * evenly over the skewness ranking (selection.ts), stacked with the highest skewness at the top.
 * For each cell, in one row:
 * - the raw input trace y minus the cell's baseline b (light grey), so that it overlays
 * - the denoised calcium c (the cell's colour; c carries no baseline, y ≈ b + c + noise);
 * - its events as ticks below the trace, height ∝ amplitude / the cell's largest amplitude;
 * - a vertical scale bar in the input's units (1, 2 or 5·10^k, 28–70 % of the row's range).
 * Each row has its own vertical scale, set by the range of y − b and c, so every trace fits its
 * row (the plot is also clipped). Time is seconds from the start of the series, so a later part
 * starts at its real offset. Traces and ticks are reduced to the min/max (the max tick) of each
 * pixel column: O(shown cells × frames) work, O(shown cells × width) output. NaN frames are gaps.
 */
import { scaleLinear } from 'd3-scale';
import { binExtremes, binStart } from './bins.js';
import { MAX_SHOWN, SELECTION_RULE, selectCells } from './selection.js';
import { skewness } from './skewness.js';
import {
  bottomAxis,
  clipRect,
  el,
  formatValue,
  niceBelow,
  rainbow,
  svgDocument,
  text,
} from './svg.js';

/** One cell to draw. */
interface TraceToDraw {
  cell: number;
  name: string;
  /** Rank of the cell's skewness among the drawn cells (0 = lowest, drawn at the bottom). */
  rank: number;
  /** Denoised calcium c (no baseline). */
  values: Float32Array;
  /** Raw input trace y (same frames); null when not drawn. */
  raw: Float32Array | null;
  /** Baseline b: the raw trace is drawn as y − b. */
  baseline: number;
  /** The cell's events: frames and amplitudes. */
  events: { frames: ArrayLike<number>; amplitudes: ArrayLike<number> };
}

/** What the preview says about the file. */
interface TracesContext {
  periodSeconds: number;
  numTimes: number;
  /** Seconds from the series start to this file's start (0 for a single file). */
  offsetSeconds: number;
  /** Candidate cells (not rejected, deconvolved) the shown ones were chosen from. */
  numCandidates: number;
  /** The input's trace units (footer), or null when the file does not state them. */
  units: string | null;
  /** "part 2 of 2" for a series, else null. */
  part: string | null;
  /** Shown when there is no cell (selection.ts noCellMessage). */
  empty: string | null;
}

const RAW_COLOR = '#b4b4b4';
const TICK_COLOR = '#111111';
const ROW_H = 56;
/** Within a row (px from its top): the trace band and the event-tick band. */
const TRACE_TOP = 3;
const TRACE_BOTTOM = 42;
const TICK_TOP = 44;
const TICK_BOTTOM = 53;

/** [frame, value] points, reduced to the min and max of each of `columns` bins (NaN = gap). */
function reduce(values: Float32Array, columns: number): [number, number][] {
  const T = values.length;
  const out: [number, number][] = [];
  if (T <= 2 * columns) {
    for (let t = 0; t < T; t++) out.push([t, values[t]]);
    return out;
  }
  const extremes = new Int32Array(2 * columns);
  binExtremes(values, columns, extremes);
  for (let b = 0; b < columns; b++) {
    const iMin = extremes[2 * b];
    const iMax = extremes[2 * b + 1];
    if (iMin < 0 || iMax < 0) {
      out.push([binStart(b, columns, T), Number.NaN]);
      continue;
    }
    const a = Math.min(iMin, iMax);
    const c = Math.max(iMin, iMax);
    out.push([a, values[a]], [c, values[c]]);
  }
  return out;
}

/**
 * SVG path data through (x(frame), y(v)) in tenths of a pixel, rounded to integers: an absolute
 * M at the start of each piece, then relative steps (`l dx dy`, short integers); a point with a
 * non-finite v (NaN frames) lifts the pen, so the next point starts a new piece.
 */
function tenthsPath(
  points: [number, number][],
  x: (frame: number) => number,
  y: (v: number) => number,
): string {
  const parts: string[] = [];
  let pen = false;
  let px = 0;
  let py = 0;
  for (const [frame, v] of points) {
    if (!Number.isFinite(v)) {
      pen = false;
      continue;
    }
    const X = Math.round(10 * x(frame));
    const Y = Math.round(10 * y(v));
    if (pen) {
      const dy = Y - py;
      parts.push(`${X - px}${dy < 0 ? '' : ' '}${dy}`);
    } else {
      parts.push(`M${X} ${Y}l`);
    }
    px = X;
    py = Y;
    pen = true;
  }
  // "l" followed by nothing (a piece of one point) is dropped: a lone M draws nothing either.
  return parts
    .join(' ')
    .replaceAll('l ', 'l')
    .replace(/l(?=M|$)/g, '');
}

/** Finite min and max of `values − shift` (Infinity, −Infinity when none). */
function finiteRange(values: Float32Array, shift: number, into: [number, number]): void {
  for (let t = 0; t < values.length; t++) {
    const v = values[t] - shift;
    if (v < into[0]) into[0] = v;
    if (v > into[1]) into[1] = v;
  }
}

/**
 * Event ticks reduced to the largest amplitude per pixel column, as path data in tenths of a
 * pixel: one vertical segment per column with an event, from `bottom` up by ≥ 2 px, ∝ amplitude.
 */
function tickPath(
  events: TraceToDraw['events'],
  numTimes: number,
  columns: number,
  x: (frame: number) => number,
  bottom: number,
): string {
  const n = events.frames.length;
  if (n === 0) return '';
  const best = new Float64Array(columns);
  const frameOf = new Int32Array(columns).fill(-1);
  let maxAmp = 0;
  for (let k = 0; k < n; k++) {
    const f = events.frames[k];
    const a = events.amplitudes[k];
    const col = Math.min(columns - 1, Math.floor((f * columns) / numTimes));
    if (frameOf[col] < 0 || a > best[col]) {
      best[col] = a;
      frameOf[col] = f;
    }
    if (a > maxAmp) maxAmp = a;
  }
  const full = TICK_BOTTOM - TICK_TOP;
  const parts: string[] = [];
  // The first tick from an absolute M at the bottom; then, from the top of the previous tick,
  // a relative move back down to the bottom at the next column (short integers).
  let px = -1;
  let ph = 0;
  for (let col = 0; col < columns; col++) {
    if (frameOf[col] < 0) continue;
    const X = Math.round(10 * x(frameOf[col]));
    const h = Math.round(10 * (maxAmp > 0 ? Math.max(2, (full * best[col]) / maxAmp) : full));
    parts.push(px < 0 ? `M${X} ${Math.round(10 * bottom)}v-${h}` : `m${X - px} ${ph}v-${h}`);
    px = X;
    ph = h;
  }
  return parts.join('');
}

/** The legend line under the title: what each mark is. */
function legend(x0: number, y: number, units: string | null): string[] {
  const parts: string[] = [];
  let x = x0;
  const item = (mark: string, label: string, w: number) => {
    parts.push(mark, text(x + 24, y + 4, label, { 'font-size': 11, fill: '#333' }));
    x += 24 + w;
  };
  item(
    el('line', { x1: x, x2: x + 18, y1: y, y2: y, stroke: RAW_COLOR, 'stroke-width': 2 }),
    'raw input − baseline',
    128,
  );
  item(
    el('line', { x1: x, x2: x + 18, y1: y, y2: y, stroke: rainbow(0, 2), 'stroke-width': 2 }),
    'denoised c',
    76,
  );
  item(
    el('line', {
      x1: x + 9,
      x2: x + 9,
      y1: y + 5,
      y2: y - 5,
      stroke: TICK_COLOR,
      'stroke-width': 1.5,
    }),
    'events (height ∝ amplitude)',
    172,
  );
  item(
    el('line', { x1: x + 9, x2: x + 9, y1: y + 6, y2: y - 6, stroke: '#333', 'stroke-width': 2 }),
    `scale bars: ${units ?? "the input's units (not stated in the file)"}`,
    0,
  );
  return [el('g', { class: 'legend' }, ...parts)];
}

/**
 * Renders the traces preview.
 *
 * @param traces - the selected cells (see {@link selectCells}), any order.
 */
function tracesPreview(traces: TraceToDraw[], ctx: TracesContext): string {
  const width = 1000;
  const margin = { top: 74, right: 96, bottom: 58, left: 96 };
  const sorted = [...traces].sort((a, b) => a.rank - b.rank);
  const rows = Math.max(sorted.length, 3);
  const plotH = rows * ROW_H;
  const height = margin.top + plotH + margin.bottom;
  const { periodSeconds: dt, numTimes: T, offsetSeconds: t0 } = ctx;
  const x = scaleLinear()
    .domain([t0, t0 + Math.max(T, 1) * dt])
    .range([margin.left, width - margin.right]);
  const xFrame = (frame: number) => x(t0 + frame * dt);
  const columns = width - margin.left - margin.right;
  const title =
    sorted.length === 0
      ? `0 of ${ctx.numCandidates} cells`
      : `${sorted.length} of ${ctx.numCandidates} cells, chosen by ${SELECTION_RULE}`;
  const body: string[] = [
    el(
      'defs',
      {},
      clipRect('traces-plot', margin.left, margin.top, width - margin.left - margin.right, plotH),
    ),
    text(width / 2, 24, title, { 'text-anchor': 'middle', 'font-size': 15, class: 'title' }),
    ...legend(margin.left, 48, ctx.units),
  ];
  sorted.forEach((tr, i) => {
    // Row i from the bottom: the highest skewness at the top.
    const top = margin.top + (sorted.length - 1 - i) * ROW_H;
    const color = rainbow(i, sorted.length);
    const b = Number.isFinite(tr.baseline) ? tr.baseline : 0;
    const range: [number, number] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    finiteRange(tr.values, 0, range);
    if (tr.raw !== null) finiteRange(tr.raw, b, range);
    let [lo, hi] = range;
    if (!(hi > lo)) {
      // Flat or empty: centre it.
      lo = Number.isFinite(lo) ? lo - 1 : -1;
      hi = lo + 2;
    }
    const band = TRACE_BOTTOM - TRACE_TOP;
    const y = (v: number) => top + TRACE_BOTTOM - ((v - lo) / (hi - lo)) * band;
    const paths: string[] = [];
    if (tr.raw !== null) {
      paths.push(
        el('path', {
          class: 'raw',
          d: tenthsPath(reduce(tr.raw, columns), xFrame, (v) => y(v - b)),
          fill: 'none',
          stroke: RAW_COLOR,
          'stroke-width': 10,
        }),
      );
    }
    paths.push(
      el('path', {
        class: 'denoised',
        d: tenthsPath(reduce(tr.values, columns), xFrame, y),
        fill: 'none',
        stroke: color,
        'stroke-width': 12,
      }),
      el('path', {
        class: 'events',
        d: tickPath(tr.events, T, columns, xFrame, top + TICK_BOTTOM),
        fill: 'none',
        stroke: TICK_COLOR,
        'stroke-width': 12,
      }),
    );
    // Scale bar: 28–70 % of the row's range, in the input's units.
    const value = niceBelow(0.7 * (hi - lo));
    const barX = width - margin.right + 14;
    const barLen = (value / (hi - lo)) * band;
    body.push(
      el(
        'g',
        {
          class: 'cell',
          'data-cell': tr.cell,
          'data-name': tr.name,
          'data-top': top,
          'data-bottom': top + ROW_H,
          'data-events': tr.events.frames.length,
        },
        // Paths in tenths of a pixel (integers, drawn under scale(0.1)): formatting integers is
        // much cheaper than decimals.
        el(
          'g',
          { 'clip-path': 'url(#traces-plot)' },
          el('g', { transform: 'scale(0.1)' }, ...paths),
        ),
        text(margin.left - 8, top + (TRACE_TOP + TRACE_BOTTOM) / 2 + 4, tr.name, {
          'text-anchor': 'end',
          fill: color,
          'font-size': 11,
          class: 'name',
        }),
        el(
          'g',
          { class: 'scale-bar', 'data-value': value },
          el('line', {
            x1: barX,
            x2: barX,
            y1: top + TRACE_BOTTOM,
            y2: top + TRACE_BOTTOM - barLen,
            stroke: '#333',
            'stroke-width': 2,
          }),
          text(barX + 5, top + TRACE_BOTTOM - barLen / 2 + 4, formatValue(value), {
            'font-size': 10,
            fill: '#333',
          }),
        ),
      ),
    );
  });
  const axisLabel =
    ctx.part === null
      ? 'Time (s)'
      : `Time from the series start (s); ${ctx.part} starts at ${formatValue(t0)} s`;
  body.push(bottomAxis(x, margin.top + plotH + 4, axisLabel));
  if (sorted.length === 0) {
    body.push(
      text(width / 2, margin.top + plotH / 2, ctx.empty ?? 'No cell to show', {
        'text-anchor': 'middle',
        'font-size': 14,
        class: 'empty',
      }),
    );
  }
  return svgDocument(width, height, body);
}

export type { TracesContext, TraceToDraw };
export { MAX_SHOWN, selectCells, skewness, tracesPreview };
