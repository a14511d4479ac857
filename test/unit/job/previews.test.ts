import { Resvg } from '@resvg/resvg-js';
import { contours } from 'd3-contour';
import { describe, expect, it } from 'vitest';
import {
  accumulateEvents,
  createEventSummary,
  eventsPreview,
} from '../../../lib/job/previews/eventsPreview.js';
import {
  footprintsPreview,
  halfMaxContour,
  placeLabels,
} from '../../../lib/job/previews/footprintsPreview.js';
import { noCellMessage } from '../../../lib/job/previews/selection.js';
import { formatValue, niceBelow, rainbow } from '../../../lib/job/previews/svg.js';
import {
  selectCells,
  skewness,
  type TracesContext,
  type TraceToDraw,
  tracesPreview,
} from '../../../lib/job/previews/tracesPreview.js';
import { mulberry32 } from '../../../lib/job/synthetic.js';
import { elements, paintedOutside } from '../../helpers/svgRender.js';

const CTX: TracesContext = {
  periodSeconds: 0.1,
  numTimes: 500,
  offsetSeconds: 0,
  numCandidates: 6,
  units: 'dF',
  part: null,
  empty: null,
};
const NO_EVENTS = { frames: [], amplitudes: [] };
const FOOTPRINT_CTX = { pixelSizeUm: { x: 2, y: 2 }, empty: null };
const EVENTS_CTX = {
  names: ['C0', 'C1', 'C2'],
  highlighted: new Map<number, string>(),
  units: 'dF',
  offsetSeconds: 0,
  part: null,
  empty: null,
};

/** Renders an SVG (throws on invalid SVG) and returns the PNG's width and height. */
function render(svg: string): { width: number; height: number } {
  const image = new Resvg(svg).render();
  return { width: image.width, height: image.height };
}

const count = (svg: string, needle: string) => svg.split(needle).length - 1;

function packets(events: [number, number][] | [number, number, number][]): Uint8Array {
  const out = new Uint8Array(events.length * 20);
  const v = new DataView(out.buffer);
  events.forEach(([us, cell, amplitude], k) => {
    v.setUint32(k * 20, us, true);
    v.setUint32(k * 20 + 8, cell, true);
    v.setFloat32(k * 20 + 16, amplitude ?? 1, true);
  });
  return out;
}

describe('traces preview', () => {
  it('selects 20 cells spread over the skewness ranking, lowest first', () => {
    // Prepare
    const cells = Array.from({ length: 50 }, (_, i) => ({ cell: i, skewness: 50 - i }));

    // Act
    const chosen = selectCells(cells);

    // Assess
    expect(chosen).toHaveLength(20);
    expect(chosen[0]).toBe(49);
    expect(chosen[19]).toBe(0);
  });

  it('draws raw − baseline, denoised and event ticks per cell, labelled, with gaps at NaN', () => {
    // Prepare
    const rand = mulberry32(1);
    const traces: TraceToDraw[] = Array.from({ length: 5 }, (_, i) => {
      const values = Float32Array.from({ length: 500 }, () => rand());
      values[100] = Number.NaN;
      const raw = values.map((v) => v + 10 + 0.1 * rand());
      return {
        cell: i,
        name: `cell-${i}`,
        rank: i,
        values,
        raw,
        baseline: 10,
        events: { frames: [3, 40], amplitudes: [1, 2] },
      };
    });
    traces.push({
      cell: 5,
      name: 'flat',
      rank: 5,
      values: new Float32Array(500),
      raw: null,
      baseline: 0,
      events: NO_EVENTS,
    });

    // Act
    const svg = tracesPreview(traces, CTX);

    // Assess
    expect(count(svg, 'class="denoised"')).toBe(6);
    expect(count(svg, 'class="raw"')).toBe(5);
    expect(count(svg, 'class="events" d="M')).toBe(5);
    // Two ticks (frames 3 and 40), the second twice as tall as the first (9 px: the band).
    const ticks = svg.split('data-cell="0"')[1].split('class="events" d="')[1].split('"')[0];
    expect(ticks).toMatch(/^M\d+ \d+v-45m\d+ 45v-90$/);
    expect(svg).toContain('>cell-3<');
    expect(svg).toContain('Time (s)');
    expect(svg).toContain('6 of 6 cells, chosen by skewness');
    expect(svg).toContain('scale bars: dF');
    const flat = svg.split('data-cell="5"')[1].split('class="denoised" d="')[1].split('"')[0];
    expect(flat).toMatch(/^M/);
    // The NaN frame lifts the pen: two pieces per trace.
    const denoised0 = svg.split('data-cell="0"')[1].split('class="denoised" d="')[1].split('"')[0];
    expect(count(denoised0, 'M')).toBe(2);
    // Raw − baseline and c share one scale: a range of about 1.1 → a 0.5 bar.
    expect(elements(svg, 'scale-bar')[0]['data-value']).toBe('0.5');
    expect(render(svg).width).toBe(1000);
    expect(paintedOutside(svg)).toBe(0);
  });

  it('reduces 36 000 frames to min/max per pixel column and fits the tallest trace in its row', () => {
    // Prepare: 20 cells × 36 000 frames, one with a spike 1 000× the others' range
    const T = 36_000;
    const rand = mulberry32(3);
    const traces: TraceToDraw[] = Array.from({ length: 20 }, (_, i) => {
      const values = Float32Array.from({ length: T }, () => rand());
      if (i === 19) values[20_000] = 1000;
      const frames = Array.from({ length: T / 2 }, (_, k) => 2 * k);
      return {
        cell: i,
        name: `C${i}`,
        rank: i,
        values,
        raw: values.map((v) => v + 5),
        baseline: 5,
        events: { frames, amplitudes: frames.map(() => rand()) },
      };
    });

    // Act
    const svg = tracesPreview(traces, {
      ...CTX,
      numTimes: T,
      periodSeconds: 0.05,
      numCandidates: 200,
    });

    // Assess: ≤ 2 points per pixel column (808 columns) per path, one tick per column
    const columns = 1000 - 96 - 96;
    for (const cls of ['raw', 'denoised']) {
      for (const d of svg.matchAll(new RegExp(`class="${cls}" d="([^"]*)"`, 'g'))) {
        const numbers = d[1].match(/-?\d+/g) ?? [];
        expect(numbers.length / 2).toBeLessThanOrEqual(2 * columns);
        expect(numbers.length / 2).toBeGreaterThan(columns);
      }
    }
    for (const d of svg.matchAll(/class="events" d="([^"]*)"/g))
      expect(count(d[1], 'v')).toBe(columns);
    expect(svg).toContain('20 of 200 cells');
    expect(paintedOutside(svg)).toBe(0);
  });

  it('draws a later part of a series on the series time axis', () => {
    // Act: part 2 starts 30.1 s after part 1, 95 frames of 0.1 s
    const svg = tracesPreview([], {
      ...CTX,
      numTimes: 95,
      offsetSeconds: 30.1,
      part: 'part 2 of 2',
      empty: 'nothing',
    });

    // Assess
    const ticks = [...svg.split('class="axis x"')[1].matchAll(/font-size="11"[^>]*>([^<]+)</g)].map(
      (m) => Number(m[1]),
    );
    expect(Math.min(...ticks)).toBe(31);
    expect(Math.max(...ticks)).toBe(39);
    expect(svg).toContain('part 2 of 2 starts at 30.1 s');
    expect(svg).toContain('>nothing<');
  });

  it('computes the sample skewness over finite values', () => {
    expect(skewness([1, 2, 3, Number.NaN])).toBeCloseTo(0, 12);
    expect(skewness([0, 0, 0, 10])).toBeCloseTo(1.1547005383792515, 12);
  });
});

describe('footprints preview', () => {
  it('outlines each cell at half maximum, fills highlighted ones and labels them', () => {
    // Prepare
    const blob = (cx: number, cy: number) =>
      Float32Array.from({ length: 400 }, (_, i) =>
        Math.exp(-(((i % 20) - cx) ** 2) / 4 - (Math.floor(i / 20) - cy) ** 2 / 4),
      );
    const cells = [
      { cell: 0, name: 'A', outline: halfMaxContour(blob(5, 5), 20, 20), color: rainbow(0, 2) },
      { cell: 1, name: 'B', outline: halfMaxContour(blob(14, 12), 20, 20), color: null },
      { cell: 2, name: 'Z', outline: halfMaxContour(new Float32Array(400), 20, 20), color: null },
    ];

    // Act
    const svg = footprintsPreview(cells, 20, 20, FOOTPRINT_CTX);

    // Assess
    expect(count(svg, 'class="footprint highlighted"')).toBe(1);
    expect(count(svg, 'class="footprint"')).toBe(1);
    expect(svg).toContain('>A<');
    expect(svg).not.toContain('>B<');
    // 20 px of 2 µm: a 10 µm bar (≤ a quarter of 40 µm), 10/2 · 36 px long.
    expect(elements(svg, 'scale-bar')[0]).toMatchObject({ 'data-um': '10', 'data-px': '180' });
    expect(svg).toContain('>10 µm<');
    const { cx, cy } = cells[0].outline;
    expect(cx).toBeCloseTo(5.5, 0);
    expect(cy).toBeCloseTo(5.5, 0);
    expect(render(svg).width).toBeGreaterThan(700);
  });

  it('outlines on the cell’s bounding box exactly what marching squares finds on the whole image', () => {
    // Prepare: blobs inside, at the corner and on the edge of a 40×32 image, one with two pieces
    const W = 40;
    const H = 32;
    const rand = mulberry32(7);
    const images: Float32Array[] = [];
    for (const [cx, cy] of [
      [20, 16],
      [0, 0],
      [39, 10],
      [5, 31],
    ]) {
      images.push(
        Float32Array.from(
          { length: W * H },
          (_, i) =>
            Math.exp(-(((i % W) - cx) ** 2 + (Math.floor(i / W) - cy) ** 2) / 6) + 0.01 * rand(),
        ),
      );
    }
    const twoPieces = new Float32Array(W * H);
    twoPieces[5 * W + 5] = 1;
    twoPieces[20 * W + 30] = 0.9;
    images.push(twoPieces);

    for (const pixels of images) {
      // Act
      const outline = halfMaxContour(pixels, W, H);

      // Assess: the full-image contour, formatted the same way
      const max = pixels.reduce((a, b) => Math.max(a, b), 0);
      const [shape] = contours()
        .size([W, H])
        .thresholds([max / 2])(Array.from(pixels));
      const r = (x: number) => Math.round(x * 1000) / 1000;
      const full = shape.coordinates
        .flatMap((polygon) =>
          polygon.map((ring) => `M${ring.map(([x, y]) => `${r(x)},${r(y)}`).join('L')}Z`),
        )
        .join('');
      expect(outline.d).toBe(full);
    }
    expect(halfMaxContour(twoPieces, W, H).d.split('M')).toHaveLength(3);
  });

  it('names a footprint split in two pieces once, at its larger piece, and joins the pieces', () => {
    // Prepare: one cell of two blobs (the left one larger), one ordinary cell
    const W = 40;
    const blob = (cx: number, cy: number, s: number) => (i: number) =>
      Math.exp(-(((i % W) - cx) ** 2 + (Math.floor(i / W) - cy) ** 2) / (2 * s * s));
    const a = blob(8, 10, 3);
    const b = blob(30, 25, 1.5);
    const split = Float32Array.from({ length: W * W }, (_, i) => Math.max(a(i), b(i)));
    const one = blob(30, 8, 2);
    const single = Float32Array.from({ length: W * W }, (_, i) => one(i));
    const cells = [
      { cell: 0, name: 'SPLIT', outline: halfMaxContour(split, W, W), color: rainbow(0, 2) },
      { cell: 1, name: 'ONE', outline: halfMaxContour(single, W, W), color: rainbow(1, 2) },
    ];

    // Act
    const svg = footprintsPreview(cells, W, W, FOOTPRINT_CTX);

    // Assess
    expect(cells[0].outline.pieces).toHaveLength(2);
    expect(cells[0].outline.pieces[0].area).toBeGreaterThan(3 * cells[0].outline.pieces[1].area);
    expect(cells[0].outline.cx).toBeCloseTo(8.5, 0);
    expect(count(svg, '>SPLIT<')).toBe(1);
    const joins = elements(svg, 'join');
    expect(joins).toHaveLength(1);
    expect(joins[0]['data-cell']).toBe('0');
    expect(elements(svg, 'label').map((l) => l['data-cell'])).toEqual(['0', '1']);
    expect(paintedOutside(svg)).toBe(0);
  });

  it('places labels of crowded cells without overlap, inside the frame', () => {
    // Prepare: 20 labels at nearly one point
    const rand = mulberry32(5);
    const labels = Array.from({ length: 20 }, () => ({
      x: 200 + 10 * rand(),
      y: 200 + 10 * rand(),
      w: 40,
      r: 3,
    }));
    const frame = { x0: 0, y0: 0, x1: 400, y1: 400 };

    // Act
    const spots = placeLabels(labels, frame);

    // Assess
    expect(spots.every((p) => p !== null)).toBe(true);
    const boxes = spots.map((p, i) => ({
      x0: (p?.x ?? 0) - labels[i].w / 2,
      x1: (p?.x ?? 0) + labels[i].w / 2,
      y0: (p?.y ?? 0) - 6.5,
      y1: (p?.y ?? 0) + 6.5,
    }));
    for (const [i, a] of boxes.entries()) {
      expect(a.x0).toBeGreaterThanOrEqual(0);
      expect(a.y1).toBeLessThanOrEqual(400);
      for (const b of boxes.slice(i + 1))
        expect(a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1).toBe(false);
    }
  });
});

describe('events preview', () => {
  it('shows the raster, the population rate and both histograms', () => {
    // Prepare: 3 cells at 10 Hz, 100 frames
    const s = createEventSummary(3, 100, 0.1, 10);
    accumulateEvents(
      s,
      packets([
        [0, 0],
        [500_000, 0],
        [2_000_000, 1],
        [9_900_000, 2],
      ]),
    );

    // Act
    const svg = eventsPreview(s, EVENTS_CTX);

    // Assess
    expect(Array.from(s.counts)).toEqual([2, 1, 1]);
    expect(svg).toContain('over 10.0 s');
    expect(svg.match(/class="row-name">[^<]*</g)).toEqual([
      'class="row-name">C2<',
      'class="row-name">C1<',
      'class="row-name">C0<',
    ]);
    expect(svg).toContain('Event amplitude per 0.1 s bin (dF, summed)');
    expect(s.lastFrame[2]).toBe(99);
    expect(svg).toContain('class="raster"');
    expect(svg).toContain('class="population-rate"');
    expect(svg).toContain('class="histogram rate"');
    expect(svg).toContain('class="histogram iei"');
    expect(svg).toContain('Mean event rate (Hz)');
    expect(svg).toContain('4 events in 3 cells');
    expect(render(svg).height).toBeGreaterThan(600);
  });

  it('reads packets the same at any byte alignment, high offset word included', () => {
    // Prepare: 2 cells, 10 frames of 1000 s = 10⁹ µs; the third event is at 2³² + 2·10⁹ µs (frame 6)
    const events = packets([
      [1_000_000_000, 0],
      [2_000_000_000, 1],
      [2_000_000_000, 0],
    ]);
    new DataView(events.buffer).setUint32(2 * 20 + 4, 1, true); // 2³² + 2·10⁹ µs
    const unaligned = new Uint8Array(events.byteLength + 1).subarray(1);
    unaligned.set(events);
    const a = createEventSummary(2, 10, 1000, 10_000);
    const b = createEventSummary(2, 10, 1000, 10_000);

    // Act
    accumulateEvents(a, events);
    accumulateEvents(b, unaligned);

    // Assess
    expect(unaligned.byteOffset % 4).toBe(1);
    expect(Array.from(a.counts)).toEqual([2, 1]);
    expect(Array.from(a.firstFrame)).toEqual([1, 2]);
    expect(Array.from(a.lastFrame)).toEqual([6, 2]);
    expect(Array.from(a.perFrame)).toEqual([0, 1, 1, 0, 0, 0, 1, 0, 0, 0]);
    for (const key of ['counts', 'firstFrame', 'lastFrame', 'perFrame', 'raster'] as const) {
      expect(Array.from(b[key])).toEqual(Array.from(a[key]));
    }
  });

  it('says so when there are no events', () => {
    // Prepare
    const s = createEventSummary(2, 1, 0.05, 0.05);

    // Act
    const svg = eventsPreview(s, EVENTS_CTX);

    // Assess
    expect(svg).toContain('No events');
    expect(svg).toContain('There are no cells that have more than 1 event');
    expect(render(svg).width).toBe(1000);
  });
});

describe('events preview: rows, shading and cell selection', () => {
  it('shows only the given cells, in the given order, shaded by summed amplitude with a legend', () => {
    // Prepare: 4 cells at 10 Hz over 100 frames; cell 3 is left out (rejected); rows lowest first
    const s = createEventSummary(4, 100, 0.1, 10, { order: [2, 0, 1], tracked: [0] });
    const events: [number, number, number][] = [];
    for (let k = 0; k < 50; k++) events.push([k * 200_000, k % 4, 0.1 * (k + 1)]);

    // Act
    accumulateEvents(s, packets(events));
    const svg = eventsPreview(s, {
      ...EVENTS_CTX,
      names: ['C0', 'C1', 'C2', 'REJ'],
      highlighted: new Map([[0, '#ff0000']]),
      offsetSeconds: 30.1,
      part: 'part 2 of 2',
    });

    // Assess: counts for every cell, raster and totals only for the shown ones
    expect(Array.from(s.counts)).toEqual([13, 13, 12, 12]);
    expect(s.tracked.get(0)?.frames.slice(0, 3)).toEqual([0, 8, 16]);
    expect(s.tracked.get(0)?.amplitudes[1]).toBeCloseTo(0.5, 6);
    expect(svg).toContain('38 events in 3 of 4 cells over 10.0 s');
    expect(svg).not.toContain('>REJ<');
    expect(svg.match(/class="row-name">[^<]*</g)).toEqual([
      'class="row-name">C1<',
      'class="row-name">C0<',
      'class="row-name">C2<',
    ]);
    expect(svg).toMatch(/fill="#ff0000"[^>]*class="row-name">C0</);
    expect(elements(svg, 'swatch')).toHaveLength(5);
    expect(svg).toContain('part 2 of 2 starts at 30.1 s');
    expect(paintedOutside(svg)).toBe(0);
  });

  it('says no cells were deconvolved instead of plotting them at 0 Hz', () => {
    // Prepare: 6 cells, none shown
    const s = createEventSummary(6, 100, 0.1, 10, { order: [] });
    const message = noCellMessage({ total: 6, candidates: 0, rejected: 0, skipped: 6, failed: 0 });

    // Act
    const svg = eventsPreview(s, { ...EVENTS_CTX, empty: message });

    // Assess
    expect(message).toBe('No cells deconvolved: all 6 cells were skipped by --accepted-only');
    expect(svg).toContain(message);
    expect(svg).not.toContain('events in 6 cells');
    expect(svg.split('class="histogram rate"')[1].split('class="histogram iei"')[0]).not.toContain(
      '<rect',
    );
    expect(paintedOutside(svg)).toBe(0);
  });

  it('names why no cell is shown', () => {
    expect(noCellMessage({ total: 5, candidates: 0, rejected: 3, skipped: 1, failed: 1 })).toBe(
      'No accepted or undecided cell deconvolved (of 5 cells: 3 rejected, 1 skipped by --accepted-only, 1 could not be deconvolved)',
    );
    expect(
      noCellMessage({ total: 5, candidates: 1, rejected: 4, skipped: 0, failed: 0 }),
    ).toBeNull();
  });
});

describe('scale bar values', () => {
  it('picks 1, 2 or 5 · 10^k and formats values briefly', () => {
    expect([0.7, 1, 4.99, 5, 9.9, 0.031].map(niceBelow)).toEqual([0.5, 1, 2, 5, 5, 0.02]);
    expect(niceBelow(0)).toBeNaN();
    expect([30.1, 0.123456, 2e-5, 12345678].map(formatValue)).toEqual([
      '30.1',
      '0.123',
      '2.0e-5',
      '1.2e+7',
    ]);
  });
});
