/**
 * `preview_neural_events.kkk.svg` (contract §7): a binned raster of events (cells × time; grey
 * level = events per bin), the population event rate r_t = (1/N)·Σ_cells e_{cell,t}·fs smoothed
 * with a Gaussian of σ = 0.5 s, and histograms of the per-cell mean event rate (Hz) and mean
 * inter-event interval (s, cells with ≥ 2 events). Events are accumulated packet by packet
 * (frame = round(offset / period), not the original's rounded period, §11.11), so the event
 * set is never held in memory.
 */
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import {
  EVENT_PACKET_WORDS,
  eventPacketWords,
  packetChannel,
  packetOffset,
} from '../../isxd/index.js';
import { bottomAxis, el, leftAxis, svgDocument, text } from './svg.js';

/** Running event statistics of one event set. */
interface EventSummary {
  numCells: number;
  numTimes: number;
  periodSeconds: number;
  /** Seconds of valid recording (invalid frames excluded). */
  validSeconds: number;
  counts: Int32Array;
  firstFrame: Int32Array;
  lastFrame: Int32Array;
  /** Events per frame over all cells. */
  perFrame: Float64Array;
  rows: number;
  bins: number;
  /** rows × bins event counts. */
  raster: Uint32Array;
}

const MAX_ROWS = 200;
const MAX_BINS = 400;

/** An empty summary for an event set of `numCells` cells over `numTimes` frames. */
function createEventSummary(
  numCells: number,
  numTimes: number,
  periodSeconds: number,
  validSeconds: number,
): EventSummary {
  const rows = Math.min(numCells, MAX_ROWS);
  const bins = Math.max(1, Math.min(numTimes, MAX_BINS));
  return {
    numCells,
    numTimes,
    periodSeconds,
    validSeconds,
    counts: new Int32Array(numCells),
    firstFrame: new Int32Array(numCells).fill(-1),
    lastFrame: new Int32Array(numCells).fill(-1),
    perFrame: new Float64Array(numTimes),
    rows,
    bins,
    raster: new Uint32Array(rows * bins),
  };
}

/** Adds one event (µs offset from the file start, cell index) to the summary. */
function addEvent(s: EventSummary, periodUs: number, offset: number, cell: number): void {
  const frame = Math.min(s.numTimes - 1, Math.round(offset / periodUs));
  if (cell >= s.numCells || frame < 0) return;
  s.counts[cell]++;
  if (s.firstFrame[cell] < 0) s.firstFrame[cell] = frame;
  s.lastFrame[cell] = frame;
  s.perFrame[frame]++;
  const row = Math.floor((cell * s.rows) / s.numCells);
  const bin = Math.floor((frame * s.bins) / s.numTimes);
  s.raster[row * s.bins + bin]++;
}

/** Adds a run of whole event packets (isxd-format.md §6.1, eventPackets.ts) to the summary. */
function accumulateEvents(s: EventSummary, packets: Uint8Array): void {
  const periodUs = s.periodSeconds * 1e6;
  const words = eventPacketWords(packets);
  for (let w = 0; w < words.length; w += EVENT_PACKET_WORDS)
    addEvent(s, periodUs, packetOffset(words, w), packetChannel(words, w));
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

/** Renders the events preview from a filled summary. */
function eventsPreview(s: EventSummary): string {
  const width = 1000;
  const left = 80;
  const right = width - 30;
  const raster = { y: 50, h: 300 };
  const rate = { y: raster.y + raster.h + 60, h: 160 };
  const hist = { y: rate.y + rate.h + 70, h: 160 };
  const height = hist.y + hist.h + 56;
  const duration = Math.max(s.numTimes - 1, 1) * s.periodSeconds;
  const x = scaleLinear().domain([0, duration]).range([left, right]);
  const total = s.counts.reduce((a, b) => a + b, 0);
  const body: string[] = [
    text(width / 2, 28, `${total} events in ${s.numCells} cells over ${duration.toFixed(1)} s`, {
      'text-anchor': 'middle',
      'font-size': 15,
    }),
  ];

  // Raster: grey level ∝ events per bin (darker = more).
  let maxBin = 0;
  for (let i = 0; i < s.raster.length; i++) if (s.raster[i] > maxBin) maxBin = s.raster[i];
  const cellY = scaleLinear()
    .domain([0, s.numCells])
    .range([raster.y + raster.h, raster.y]);
  const bw = (right - left) / s.bins;
  const rh = raster.h / s.rows;
  const levelOf = (v: number) => (v === 0 ? 0 : Math.ceil((4 * v) / maxBin));
  // One stroked path per grey level, drawn in bin units (x = bin, y = row counted from the top)
  // inside a scaled group, so every coordinate is a small integer: a run of equal-level bins in
  // a row is the segment M{bin} {row}h{run} (bins are ≥ 2.2 px wide, rows ≥ 1.5 px tall).
  const levels = new Map<number, string[]>();
  for (let r = 0; r < s.rows; r++) {
    const row = s.rows - 1 - r;
    const base = r * s.bins;
    let b = 0;
    while (b < s.bins) {
      const level = levelOf(s.raster[base + b]);
      let end = b + 1;
      while (end < s.bins && levelOf(s.raster[base + end]) === level) end++;
      if (level > 0) {
        let list = levels.get(level);
        if (list === undefined) {
          list = [];
          levels.set(level, list);
        }
        list.push(`M${b} ${row}h${end - b}`);
      }
      b = end;
    }
  }
  const runs: string[] = [];
  for (const [level, paths] of [...levels].sort((a, b) => a[0] - b[0])) {
    runs.push(
      el('path', {
        d: paths.join(''),
        fill: 'none',
        stroke: '#000',
        'stroke-width': 1,
        'stroke-opacity': 0.25 + 0.1875 * level,
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
      el('g', { transform: `translate(${left} ${raster.y + rh / 2}) scale(${bw} ${rh})` }, ...runs),
    );
  }
  if (total === 0) {
    rasterParts.push(
      text((left + right) / 2, raster.y + raster.h / 2, 'No events', {
        'text-anchor': 'middle',
        'font-size': 14,
      }),
    );
  }
  body.push(
    el('g', { class: 'raster' }, ...rasterParts),
    bottomAxis(x, raster.y + raster.h + 4, 'Time (s)'),
    leftAxis(
      cellY,
      left - 4,
      'Cell #',
      s.numCells <= 24
        ? Array.from({ length: s.numCells }, (_, c): [number, string] => [c + 0.5, String(c)])
        : 5,
      true,
    ),
  );

  // Population rate.
  const fs = 1 / s.periodSeconds;
  const perSecond = new Float64Array(s.numTimes);
  for (let t = 0; t < s.numTimes; t++) perSecond[t] = (s.perFrame[t] / s.numCells) * fs;
  const smooth = gaussianSmooth(perSecond, Math.floor(0.5 * fs));
  const step = Math.max(1, Math.floor(s.numTimes / 1500));
  const points: [number, number][] = [];
  let maxRate = 0;
  for (let t = 0; t < s.numTimes; t += step) {
    let acc = 0;
    let n = 0;
    for (let k = t; k < Math.min(s.numTimes, t + step); k++, n++) acc += smooth[k];
    points.push([(t + (n - 1) / 2) * s.periodSeconds, acc / n]);
    maxRate = Math.max(maxRate, acc / n);
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
    bottomAxis(x, rate.y + rate.h + 4, 'Time (s)'),
    leftAxis(yRate, left - 4, 'Mean event rate (Hz)', 4),
  );

  // Histograms.
  const rates: number[] = [];
  const ieis: number[] = [];
  for (let c = 0; c < s.numCells; c++) {
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
      'No cells',
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

export type { EventSummary };
export { accumulateEvents, createEventSummary, eventsPreview, gaussianSmooth };
