/**
 * `preview_neural_events.kkk.svg` (contract §7, extended): a binned raster of events with one
 * row per shown cell (the candidates of selection.ts, in the traces preview's order, named;
 * rows shared by several cells past 600 cells), shaded by the summed event amplitude per time
 * bin in five grey levels (quintiles of the non-zero bins, ranges in the legend), each row's
 * event rate beside it, the population event rate r_t = (1/N)·Σ_cells e_{cell,t}·fs over the N
 * shown cells smoothed with a Gaussian of σ = 0.5 s, and histograms of the shown cells' mean
 * event rate (Hz) and mean inter-event interval (s, cells with ≥ 2 events), over the true
 * duration numTimes·period. Events are accumulated packet by packet (frame =
 * round(offset / period), not the original's rounded period, §11.11), so the event set is never
 * held in memory; the traced cells' events are kept for the traces preview's ticks.
 */
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import {
  EVENT_PACKET_WORDS,
  eventPacketWords,
  PACKET_WORD,
  packetChannel,
  packetOffset,
} from '../../isxd/index.js';
import {
  bottomAxis,
  clipRect,
  el,
  formatValue,
  leftAxis,
  svgDocument,
  text,
  textWidth,
} from './svg.js';

/** Events of one cell: frames and amplitudes, in file order. */
interface CellEvents {
  frames: number[];
  amplitudes: number[];
}

/** Running event statistics of one event set. */
interface EventSummary {
  numCells: number;
  numTimes: number;
  periodSeconds: number;
  /** Seconds of valid recording (invalid frames excluded). */
  validSeconds: number;
  /** Events per cell (every cell). */
  counts: Int32Array;
  firstFrame: Int32Array;
  lastFrame: Int32Array;
  /** The raster's cells, lowest skewness first (drawn at the bottom). */
  order: number[];
  /** Position of each cell in `order`, −1 for a cell the previews leave out. */
  rankOf: Int32Array;
  /** Events per frame over the cells of `order`. */
  perFrame: Float64Array;
  rows: number;
  bins: number;
  /** rows × bins sums of event amplitudes (row 0 holds the lowest ranks). */
  raster: Float64Array;
  /** The events of the cells the traces preview draws. */
  tracked: Map<number, CellEvents>;
}

/** Raster rows at most: one pixel each; more cells share rows. */
const MAX_ROWS = 600;
const MAX_BINS = 400;
/** Up to this many cells every row is named. */
const NAMED_ROWS = 40;

/** Height (px) of the raster for n cells: 14 px a named row, else 2 px a row in [300, 600]. */
function rasterHeight(n: number): number {
  return n <= NAMED_ROWS ? Math.max(14 * n, 56) : Math.min(MAX_ROWS, Math.max(300, 2 * n));
}

/**
 * An empty summary for an event set of `numCells` cells over `numTimes` frames.
 *
 * @param opts.order - the raster's cells, lowest skewness first (default: every cell by index).
 * @param opts.tracked - cells whose events are kept one by one (the traces preview's cells).
 */
function createEventSummary(
  numCells: number,
  numTimes: number,
  periodSeconds: number,
  validSeconds: number,
  opts: { order?: number[]; tracked?: number[] } = {},
): EventSummary {
  const order = opts.order ?? Array.from({ length: numCells }, (_, c) => c);
  const rankOf = new Int32Array(numCells).fill(-1);
  order.forEach((cell, rank) => {
    rankOf[cell] = rank;
  });
  const rows = Math.max(1, Math.min(order.length, rasterHeight(order.length)));
  const bins = Math.max(1, Math.min(numTimes, MAX_BINS));
  return {
    numCells,
    numTimes,
    periodSeconds,
    validSeconds,
    counts: new Int32Array(numCells),
    firstFrame: new Int32Array(numCells).fill(-1),
    lastFrame: new Int32Array(numCells).fill(-1),
    order,
    rankOf,
    perFrame: new Float64Array(numTimes),
    rows,
    bins,
    raster: new Float64Array(rows * bins),
    tracked: new Map((opts.tracked ?? []).map((c) => [c, { frames: [], amplitudes: [] }])),
  };
}

/** Adds a run of whole event packets (isxd-format.md §6.1, eventPackets.ts) to the summary. */
function accumulateEvents(s: EventSummary, packets: Uint8Array): void {
  const periodUs = s.periodSeconds * 1e6;
  const words = eventPacketWords(packets);
  const floats = new Float32Array(words.buffer, words.byteOffset, words.length);
  // addEvent inlined, with what depends on the cell looked up once per run of its packets
  // (the packets come cell by cell): the same updates in the same order.
  let lastCell = -1;
  let rank = -1;
  let rowStart = 0;
  let kept: CellEvents | undefined;
  for (let w = 0; w < words.length; w += EVENT_PACKET_WORDS) {
    const cell = packetChannel(words, w);
    const frame = Math.min(s.numTimes - 1, Math.round(packetOffset(words, w) / periodUs));
    if (cell >= s.numCells || frame < 0) continue;
    if (cell !== lastCell) {
      lastCell = cell;
      rank = s.rankOf[cell];
      rowStart = rank < 0 ? 0 : Math.floor((rank * s.rows) / s.order.length) * s.bins;
      kept = rank < 0 ? undefined : s.tracked.get(cell);
    }
    s.counts[cell]++;
    if (s.firstFrame[cell] < 0) s.firstFrame[cell] = frame;
    s.lastFrame[cell] = frame;
    if (rank < 0) continue;
    s.perFrame[frame]++;
    s.raster[rowStart + Math.floor((frame * s.bins) / s.numTimes)] +=
      floats[w + PACKET_WORD.amplitude];
    if (kept !== undefined) {
      kept.frames.push(frame);
      kept.amplitudes.push(floats[w + PACKET_WORD.amplitude]);
    }
  }
}

/** Gaussian smoothing with σ in samples (reflecting edges). */
function gaussianSmooth(x: Float64Array, sigma: number): Float64Array {
  if (sigma < 0.5) return x.slice();
  const radius = Math.ceil(4 * sigma);
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++)
    sum += kernel[k + radius] = Math.exp((-0.5 * k * k) / (sigma * sigma));
  for (let k = 0; k < kernel.length; k++) kernel[k] /= sum;
  const n = x.length;
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let acc = 0;
    if (t >= radius && t + radius < n) {
      // Interior: no reflection (same terms, same order).
      for (let k = -radius; k <= radius; k++) acc += kernel[k + radius] * x[t + k];
    } else {
      for (let k = -radius; k <= radius; k++) {
        let i = t + k;
        if (i < 0) i = -i - 1;
        if (i >= n) i = 2 * n - i - 1;
        acc += kernel[k + radius] * x[Math.min(n - 1, Math.max(0, i))];
      }
    }
    out[t] = acc;
  }
  return out;
}

function histogram(values: number[], bins: number): { edges: number[]; counts: number[] } {
  const max = values.reduce((m, v) => Math.max(m, v), 0) || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v / max) * bins))]++;
  return { edges: Array.from({ length: bins + 1 }, (_, i) => (i * max) / bins), counts };
}

function histogramPanel(
  values: number[],
  box: { x: number; y: number; w: number; h: number },
  xLabel: string,
  empty: string,
  cls: string,
): string {
  if (values.length === 0) {
    return el(
      'g',
      { class: cls },
      text(box.x + box.w / 2, box.y + box.h / 2, empty, {
        'text-anchor': 'middle',
        'font-size': 13,
      }),
    );
  }
  const { edges, counts } = histogram(values, 30);
  const x = scaleLinear()
    .domain([0, edges[edges.length - 1]])
    .range([box.x, box.x + box.w]);
  const y = scaleLinear()
    .domain([0, Math.max(...counts)])
    .nice()
    .range([box.y + box.h, box.y]);
  const bars = counts.map((c, i) =>
    c === 0
      ? ''
      : el('rect', {
          x: x(edges[i]),
          y: y(c),
          width: Math.max(0.5, x(edges[i + 1]) - x(edges[i]) - 0.5),
          height: y(0) - y(c),
          fill: '#4a6fa5',
        }),
  );
  return el(
    'g',
    { class: cls },
    ...bars,
    bottomAxis(x, box.y + box.h + 4, xLabel, 5),
    leftAxis(y, box.x - 4, 'Cell count', 4, true),
  );
}

/** What the events preview says about the file and its cells. */
interface EventsContext {
  /** Every cell's name (index = cell). */
  names: string[];
  /** The traces preview's cells and their colours (named in the raster in that colour). */
  highlighted: Map<number, string>;
  /** The event amplitudes' units (the input's trace units), or null. */
  units: string | null;
  /** Seconds from the series start to this file's start (0 for a single file). */
  offsetSeconds: number;
  /** "part 2 of 2" for a series, else null. */
  part: string | null;
  /** Shown when the raster has no cell (selection.ts noCellMessage). */
  empty: string | null;
}

/** Grey levels of the raster, lightest first (shade = summed amplitude per bin, by quintile). */
const SHADES = ['#d4d4d4', '#a8a8a8', '#7a7a7a', '#4a4a4a', '#000000'];

/**
 * Level thresholds: the 20/40/60/80 % quantiles of the non-zero raster bins, so that each grey
 * level holds about a fifth of the active bins whatever the amplitudes' spread.
 */
function shadeThresholds(values: Float64Array): number[] {
  // A typed array sorts numerically (and fast) without a comparator.
  const nonzero = values.filter((v) => v > 0).sort();
  if (nonzero.length === 0) return [];
  const q = (f: number) => nonzero[Math.min(nonzero.length - 1, Math.floor(f * nonzero.length))];
  return [q(0.2), q(0.4), q(0.6), q(0.8)];
}

function levelOf(v: number, thresholds: number[]): number {
  if (!(v > 0)) return -1;
  let level = 0;
  while (level < thresholds.length && v > thresholds[level]) level++;
  return level;
}

/**
 * The shading legend: a swatch per level with its range of summed amplitudes, after `what`;
 * the swatches go on a second line when one line would pass `maxX`. Returns the lines used.
 */
function shadeLegend(
  x0: number,
  y: number,
  maxX: number,
  thresholds: number[],
  max: number,
  what: string,
): { svg: string; lines: number } {
  const parts = [text(x0, y + 4, what, { 'font-size': 11, fill: '#333' })];
  const bounds = [0, ...thresholds, max];
  const items: string[] = [];
  for (let level = 0; level < SHADES.length; level++) {
    const lo = bounds[level];
    const hi = bounds[level + 1];
    if (level > 0 && !(hi > lo)) continue;
    items[level] = level === 0 ? `≤ ${formatValue(hi)}` : `${formatValue(lo)}–${formatValue(hi)}`;
  }
  const itemsWidth = items.reduce((w, label) => w + 28 + textWidth(label ?? '', 11), 0);
  const inline = x0 + textWidth(what, 11) + 8 + itemsWidth <= maxX;
  let x = inline ? x0 + textWidth(what, 11) + 8 : x0;
  const yy = inline ? y : y + 16;
  items.forEach((label, level) => {
    if (label === undefined) return;
    parts.push(
      el('rect', {
        class: 'swatch',
        x,
        y: yy - 5,
        width: 14,
        height: 10,
        fill: SHADES[level],
        stroke: '#888',
        'stroke-width': 0.5,
      }),
      text(x + 18, yy + 4, label, { 'font-size': 11, fill: '#333' }),
    );
    x += 28 + textWidth(label, 11);
  });
  return { svg: el('g', { class: 'legend' }, ...parts), lines: inline ? 1 : 2 };
}

/** Left-axis labels of the raster: every row's name (≤ 40 cells), else the highlighted cells'. */
function rowLabels(
  s: EventSummary,
  ctx: EventsContext,
  rowY: (row: number) => number,
  x: number,
): string {
  const n = s.order.length;
  const parts: string[] = [];
  let lastY = Number.NEGATIVE_INFINITY;
  // Top row first, so that a label too close to the one above is left out.
  for (let rank = n - 1; rank >= 0; rank--) {
    const cell = s.order[rank];
    const color = ctx.highlighted.get(cell);
    if (n > NAMED_ROWS && color === undefined) continue;
    const row = Math.floor((rank * s.rows) / n);
    const y = rowY(row);
    if (y - lastY < 11) continue;
    lastY = y;
    parts.push(
      el('line', { x1: x - 4, x2: x, y1: y, y2: y, stroke: color ?? '#555' }),
      text(x - 7, y + 4, ctx.names[cell] ?? String(cell), {
        'text-anchor': 'end',
        'font-size': 10,
        fill: color ?? '#555',
        class: 'row-name',
      }),
    );
  }
  return el('g', { class: 'axis y rows' }, ...parts);
}

/** The raster's rotated y label, shortened to "Cells" where the raster is too short for it. */
function rowsLabel(full: string, raster: { y: number; h: number }): string {
  const label = textWidth(full, 12) + 8 <= raster.h ? full : 'Cells';
  const mid = raster.y + raster.h / 2;
  return text(14, mid, label, {
    'text-anchor': 'middle',
    'font-size': 12,
    transform: `rotate(-90 14 ${mid})`,
  });
}

/** Renders the events preview from a filled summary. */
function eventsPreview(s: EventSummary, ctx: EventsContext): string {
  const width = 1000;
  const left = 96;
  const right = width - 110;
  const n = s.order.length;
  // Raster: per row and time bin the summed event amplitude (mean per cell when a row holds
  // several cells), shaded by quintile of the non-zero bins.
  const perRow = new Float64Array(s.rows);
  for (let rank = 0; rank < n; rank++) perRow[Math.floor((rank * s.rows) / n)]++;
  const shade = new Float64Array(s.raster.length);
  let maxShade = 0;
  for (let r = 0; r < s.rows; r++) {
    for (let b = 0; b < s.bins; b++) {
      const v = perRow[r] > 0 ? s.raster[r * s.bins + b] / perRow[r] : 0;
      shade[r * s.bins + b] = v;
      if (v > maxShade) maxShade = v;
    }
  }
  const thresholds = shadeThresholds(shade);
  const perCell = n > s.rows ? `, ${formatValue(n / s.rows)} cells a row` : '';
  const binSeconds = (s.numTimes / s.bins) * s.periodSeconds;
  const legend = shadeLegend(
    left,
    46,
    right,
    thresholds,
    maxShade,
    `Event amplitude per ${formatValue(binSeconds)} s bin (${ctx.units ?? "input's units"}, summed${perCell ? '; mean per cell' : ''}):`,
  );
  const raster = { y: 56 + 16 * legend.lines, h: rasterHeight(n) };
  const rate = { y: raster.y + raster.h + 64, h: 150 };
  const hist = { y: rate.y + rate.h + 70, h: 150 };
  const height = hist.y + hist.h + 56;
  const t0 = ctx.offsetSeconds;
  // The recording covers numTimes frames of one period each.
  const duration = s.numTimes * s.periodSeconds;
  const x = scaleLinear()
    .domain([t0, t0 + duration])
    .range([left, right]);
  let total = 0;
  for (const cell of s.order) total += s.counts[cell];
  const cellsText = n === s.numCells ? `${n} cells` : `${n} of ${s.numCells} cells`;
  const title =
    n === 0
      ? `${ctx.empty ?? 'No cells'} (${duration.toFixed(1)} s)`
      : `${total} events in ${cellsText} over ${duration.toFixed(1)} s`;
  const body: string[] = [
    el('defs', {}, clipRect('events-raster', left, raster.y, right - left, raster.h)),
    text(width / 2, 24, title, { 'text-anchor': 'middle', 'font-size': 15, class: 'title' }),
  ];

  const bw = (right - left) / s.bins;
  const rh = raster.h / s.rows;
  // One stroked path per grey level, drawn in bin units (x = bin, y = row counted from the top)
  // inside a scaled group, so every coordinate is a small integer: a run of equal-level bins in
  // a row is the segment M{bin} {row}h{run}.
  const levels = new Map<number, string[]>();
  for (let r = 0; r < s.rows; r++) {
    const fromTop = s.rows - 1 - r;
    const base = r * s.bins;
    let b = 0;
    while (b < s.bins) {
      const level = levelOf(shade[base + b], thresholds);
      let end = b + 1;
      while (end < s.bins && levelOf(shade[base + end], thresholds) === level) end++;
      if (level >= 0) {
        let list = levels.get(level);
        if (list === undefined) {
          list = [];
          levels.set(level, list);
        }
        list.push(`M${b} ${fromTop}h${end - b}`);
      }
      b = end;
    }
  }
  const runs: string[] = [];
  for (const [level, paths] of [...levels].sort((a, b) => a[0] - b[0])) {
    runs.push(
      el('path', {
        class: `level-${level}`,
        d: paths.join(''),
        fill: 'none',
        stroke: SHADES[level],
        'stroke-width': 1,
      }),
    );
  }
  const rasterParts = [
    el('rect', {
      x: left,
      y: raster.y,
      width: right - left,
      height: raster.h,
      fill: '#ffffff',
      stroke: '#888',
    }),
  ];
  if (runs.length > 0) {
    rasterParts.push(
      el(
        'g',
        { 'clip-path': 'url(#events-raster)' },
        el(
          'g',
          { transform: `translate(${left} ${raster.y + rh / 2}) scale(${bw} ${rh})` },
          ...runs,
        ),
      ),
    );
  }
  if (n === 0 || total === 0) {
    rasterParts.push(
      text(
        (left + right) / 2,
        raster.y + raster.h / 2,
        n === 0 ? (ctx.empty ?? 'No cells') : 'No events',
        {
          'text-anchor': 'middle',
          'font-size': 14,
          class: 'empty',
        },
      ),
    );
  }
  const rowY = (row: number) => raster.y + raster.h - (row + 0.5) * rh;
  const timeLabel =
    ctx.part === null
      ? 'Time (s)'
      : `Time from the series start (s); ${ctx.part} starts at ${formatValue(t0)} s`;
  body.push(
    legend.svg,
    el('g', { class: 'raster' }, ...rasterParts),
    bottomAxis(x, raster.y + raster.h + 4, timeLabel),
    rowLabels(s, ctx, rowY, left),
    rowsLabel(`Cells by skewness, highest at top${perCell}`, raster),
  );

  // Event rate of each row (Hz, mean over its cells), beside the raster.
  const rowRate = new Float64Array(s.rows);
  for (let rank = 0; rank < n; rank++) {
    const row = Math.floor((rank * s.rows) / n);
    rowRate[row] += s.validSeconds > 0 ? s.counts[s.order[rank]] / s.validSeconds / perRow[row] : 0;
  }
  const maxRowRate = rowRate.reduce((m, v) => Math.max(m, v), 0);
  if (n > 0) {
    const xr = scaleLinear()
      .domain([0, maxRowRate || 1])
      .nice()
      .range([right + 22, width - 16]);
    const bars: string[] = [];
    for (let r = 0; r < s.rows; r++) {
      if (!(rowRate[r] > 0)) continue;
      bars.push(`M${right + 22} ${(rowY(r)).toFixed(1)}H${xr(rowRate[r]).toFixed(1)}`);
    }
    body.push(
      el(
        'g',
        { class: 'row-rate' },
        el('path', {
          d: bars.join(''),
          stroke: '#4a6fa5',
          'stroke-width': Math.max(0.8, Math.min(rh * 0.8, 10)),
          fill: 'none',
        }),
        bottomAxis(xr, raster.y + raster.h + 4, '', 2),
        text((right + width) / 2, raster.y - 6, 'Rate (Hz)', {
          'text-anchor': 'middle',
          'font-size': 11,
        }),
      ),
    );
  }

  // Population rate over the raster's cells.
  const fs = 1 / s.periodSeconds;
  const perSecond = new Float64Array(s.numTimes);
  for (let t = 0; t < s.numTimes; t++) perSecond[t] = n > 0 ? (s.perFrame[t] / n) * fs : 0;
  const smooth = gaussianSmooth(perSecond, Math.floor(0.5 * fs));
  const step = Math.max(1, Math.floor(s.numTimes / 1500));
  const points: [number, number][] = [];
  let maxRate = 0;
  for (let t = 0; t < s.numTimes; t += step) {
    let acc = 0;
    let k = 0;
    for (let j = t; j < Math.min(s.numTimes, t + step); j++, k++) acc += smooth[j];
    // Frame j covers [j, j + 1)·period: its centre is drawn.
    points.push([t0 + (t + k / 2) * s.periodSeconds, acc / k]);
    maxRate = Math.max(maxRate, acc / k);
  }
  const yRate = scaleLinear()
    .domain([0, maxRate || 1])
    .nice()
    .range([rate.y + rate.h, rate.y]);
  const ratePath =
    line<[number, number]>()
      .digits(1)
      .x((d) => x(d[0]))
      .y((d) => yRate(d[1]))(points) ?? '';
  body.push(
    el('path', {
      class: 'population-rate',
      d: ratePath,
      fill: 'none',
      stroke: '#c0392b',
      'stroke-width': 1.5,
    }),
    bottomAxis(x, rate.y + rate.h + 4, timeLabel),
    leftAxis(yRate, left - 4, 'Mean event rate (Hz)', 4),
  );

  // Histograms over the raster's cells.
  const rates: number[] = [];
  const ieis: number[] = [];
  for (const c of s.order) {
    rates.push(s.validSeconds > 0 ? s.counts[c] / s.validSeconds : 0);
    if (s.counts[c] >= 2)
      ieis.push(((s.lastFrame[c] - s.firstFrame[c]) / (s.counts[c] - 1)) * s.periodSeconds);
  }
  const half = (right - left - 80) / 2;
  body.push(
    histogramPanel(
      rates,
      { x: left, y: hist.y, w: half, h: hist.h },
      'Mean event rate (Hz)',
      n === 0 ? 'No cells deconvolved' : 'No cells',
      'histogram rate',
    ),
    histogramPanel(
      ieis,
      { x: left + half + 80, y: hist.y, w: half, h: hist.h },
      'Mean inter-event interval (s)',
      'There are no cells that have more than 1 event',
      'histogram iei',
    ),
  );
  return svgDocument(width, height, body);
}

export type { CellEvents, EventSummary, EventsContext };
export { accumulateEvents, createEventSummary, eventsPreview, gaussianSmooth };
