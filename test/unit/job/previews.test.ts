import { Resvg } from '@resvg/resvg-js';
import { contours } from 'd3-contour';
import { describe, expect, it } from 'vitest';
import {
  accumulateEvents,
  createEventSummary,
  eventsPreview,
} from '../../../lib/job/previews/eventsPreview.js';
import { footprintsPreview, halfMaxContour } from '../../../lib/job/previews/footprintsPreview.js';
import { rainbow } from '../../../lib/job/previews/svg.js';
import { selectCells, skewness, tracesPreview } from '../../../lib/job/previews/tracesPreview.js';
import { mulberry32 } from '../../../lib/job/synthetic.js';

/** Renders an SVG (throws on invalid SVG) and returns the PNG's width and height. */
function render(svg: string): { width: number; height: number } {
  const image = new Resvg(svg).render();
  return { width: image.width, height: image.height };
}

const count = (svg: string, needle: string) => svg.split(needle).length - 1;

function packets(events: [number, number][]): Uint8Array {
  const out = new Uint8Array(events.length * 20);
  const v = new DataView(out.buffer);
  events.forEach(([us, cell], k) => {
    v.setUint32(k * 20, us, true);
    v.setUint32(k * 20 + 8, cell, true);
    v.setFloat32(k * 20 + 16, 1, true);
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

  it('draws one path per selected cell, labelled with its name, and gaps at NaN', () => {
    // Prepare
    const rand = mulberry32(1);
    const traces = Array.from({ length: 5 }, (_, i) => {
      const values = Float32Array.from({ length: 500 }, () => rand());
      values[100] = Number.NaN;
      return { cell: i, name: `cell-${i}`, rank: i, values };
    });
    traces.push({ cell: 5, name: 'flat', rank: 5, values: new Float32Array(500) });

    // Act
    const svg = tracesPreview(traces, 0.1, 500);

    // Assess
    expect(count(svg, 'class="trace"')).toBe(6);
    expect(svg).toContain('>cell-3<');
    expect(svg).toContain('Time (s)');
    expect(svg).toContain('ordered by skewness');
    const flat = svg.split('data-cell="5" d="')[1].split('"')[0];
    expect(flat).toMatch(/^M/);
    expect(render(svg).width).toBe(900);
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
    const svg = footprintsPreview(cells, 20, 20);

    // Assess
    expect(count(svg, 'class="footprint highlighted"')).toBe(1);
    expect(count(svg, 'class="footprint"')).toBe(1);
    expect(svg).toContain('>A<');
    expect(svg).not.toContain('>B<');
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
    const svg = eventsPreview(s);

    // Assess
    expect(Array.from(s.counts)).toEqual([2, 1, 1]);
    expect(s.lastFrame[2]).toBe(99);
    expect(svg).toContain('class="raster"');
    expect(svg).toContain('class="population-rate"');
    expect(svg).toContain('class="histogram rate"');
    expect(svg).toContain('class="histogram iei"');
    expect(svg).toContain('Mean event rate (Hz)');
    expect(svg).toContain('4 events in 3 cells');
    expect(render(svg).height).toBeGreaterThan(800);
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
    const svg = eventsPreview(s);

    // Assess
    expect(svg).toContain('No events');
    expect(svg).toContain('There are no cells that have more than 1 event');
    expect(render(svg).width).toBe(1000);
  });
});
