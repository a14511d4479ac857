/**
 * Acceptance of the three previews (issue 13, part 1), drawn by the job's own stages (plan,
 * chunks, assemble with the memory store) from real and synthetic cell sets, rendered to PNG
 * with resvg and checked element by element: in the SVG (classes, names, values) and in the
 * pixels (raw grey, the denoised trace's colour and black event ticks inside each cell's row;
 * nothing drawn outside the view box, found by rendering with a transparent margin around it).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memorySink, memorySource } from '../../../lib/bytes.js';
import { DEFAULT_JOB_OPTIONS, type JobOptions, parseToolParams } from '../../../lib/job/params.js';
import type { JobPlan } from '../../../lib/job/plan.js';
import { assembleStage, chunkStage, planStage } from '../../../lib/job/stages.js';
import { WORK } from '../../../lib/job/store.js';
import { writeSyntheticCellSet } from '../../../lib/job/synthetic.js';
import { memoryStore } from '../../helpers/memoryStore.js';
import { describeShared, sharedPath } from '../../helpers/shared.js';
import { countPixels, elements, paintedOutside, render } from '../../helpers/svgRender.js';

const RUN = { runId: 'previews-run', executionId: 'local:previews', account: 'test' };
const decoder = new TextDecoder();

interface Previews {
  plan: JobPlan;
  /** Per file: traces, footprints, events SVG text. */
  files: { traces: string; footprints: string; events: string }[];
}

/** Runs plan, every chunk and every file's assembly on a memory store; returns the previews. */
async function previewsOf(
  inputs: { name: string; bytes: Uint8Array }[],
  options: JobOptions = DEFAULT_JOB_OPTIONS,
): Promise<Previews> {
  const store = memoryStore(inputs.map((i) => memorySource(i.name, i.bytes)));
  const job = await planStage(store, {
    run: RUN,
    inputs: inputs.map((i) => i.name),
    params: parseToolParams({}),
    options,
    existsHint: 'pass --overwrite',
  });
  for (const item of job.plan.items) await chunkStage(store, job, item);
  for (const f of job.plan.files) await assembleStage(store, job, f.index);
  const svg = (name: string) => {
    const bytes = store.work.get(WORK.staged(name));
    if (bytes === undefined) throw new Error(`${name} was not staged`);
    return decoder.decode(bytes);
  };
  const k = (i: number) => String(i).padStart(3, '0');
  return {
    plan: job.plan,
    files: job.plan.files.map((f) => ({
      traces: svg(`traces_cellset_denoised.${k(f.index)}.svg`),
      footprints: svg(`footprints_cellset_denoised.${k(f.index)}.svg`),
      events: svg(`preview_neural_events.${k(f.index)}.svg`),
    })),
  };
}

async function synthetic(numCells: number, numTimes: number, width: number, height: number) {
  const sink = memorySink();
  await writeSyntheticCellSet(sink, { numCells, numTimes, width, height, seed: 13 });
  return { name: `synthetic${numCells}.isxd`, bytes: sink.bytes() };
}

function shared(name: string) {
  return { name, bytes: new Uint8Array(readFileSync(sharedPath('data', name))) };
}

/** Light grey of the raw trace (#b4b4b4, anti-aliased over white). */
const isRawGrey = (r: number, g: number, b: number) =>
  Math.max(r, g, b) - Math.min(r, g, b) < 10 && r > 150 && r < 215;
/** A saturated colour (the denoised trace's rainbow hue). */
const isColored = (r: number, g: number, b: number) => Math.max(r, g, b) - Math.min(r, g, b) > 70;
const isBlack = (r: number, g: number, b: number) => Math.max(r, g, b) < 90;

/** The cell rows of a traces preview, top to bottom, with their inner SVG. */
function traceRows(svg: string) {
  const rows = [...svg.matchAll(/<g class="cell" ([^>]*)>(.*?)<\/g><\/g>/g)].map((m) => {
    const attrs = Object.fromEntries(
      [...m[1].matchAll(/([a-z-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]),
    );
    return {
      cell: Number(attrs['data-cell']),
      name: attrs['data-name'],
      top: Number(attrs['data-top']),
      bottom: Number(attrs['data-bottom']),
      events: Number(attrs['data-events']),
      inner: m[2],
      rest: svg.slice(m.index + m[0].length, m.index + m[0].length + 800),
    };
  });
  return rows.sort((a, b) => a.top - b.top);
}

const pathD = (inner: string, cls: string) =>
  inner.match(new RegExp(`class="${cls}" d="([^"]*)"`))?.[1] ?? '';

/** Texts of the x axis tick labels of the first `<g class="axis x">`. */
function xTicks(svg: string): number[] {
  const axis = svg.split('<g class="axis x">')[1]?.split('</g>')[0] ?? '';
  return [...axis.matchAll(/font-size="11"[^>]*>([^<]+)</g)].map((m) => Number(m[1]));
}

const unescapeXml = (s: string) => s.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c)));

/** The raster's frame (view-box coordinates). */
function rasterBox(svg: string) {
  const m = svg.match(
    /<g class="raster"><rect x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"/,
  );
  const [x, y, w, h] = (m ?? []).slice(1).map(Number);
  return { x0: x + 1, x1: x + w - 1, y0: y + 1, y1: y + h - 1 };
}

/** Row names of the events raster, top to bottom. */
function rasterNames(svg: string): { name: string; y: number }[] {
  return [...svg.matchAll(/<text x="[^"]*" y="([^"]*)"[^>]*class="row-name">([^<]*)</g)].map(
    (m) => ({ name: unescapeXml(m[2]), y: Number(m[1]) }),
  );
}

/** Checks the traces preview's rows in the SVG and in its pixels; returns the rows. */
function checkTraces(svg: string, expectedRows: number) {
  const rows = traceRows(svg);
  expect(rows).toHaveLength(expectedRows);
  const image = render(svg);
  for (const row of rows) {
    // SVG: raw, denoised and (for a cell with events) ticks, a scale bar, the name.
    expect(pathD(row.inner, 'raw')).toMatch(/^M\d/);
    expect(pathD(row.inner, 'denoised')).toMatch(/^M\d/);
    expect(pathD(row.inner, 'events') !== '').toBe(row.events > 0);
    const bar = row.rest.match(/class="scale-bar" data-value="([^"]+)"/);
    expect(Number(bar?.[1])).toBeGreaterThan(0);
    expect(row.rest).toContain(`class="name">${row.name}<`);
    // Pixels of the row's plot area: grey raw, coloured denoised, black ticks in the tick band.
    const plot = { x0: 96, x1: 904 };
    const traceBand = { ...plot, y0: row.top, y1: row.top + 43 };
    expect(countPixels(image, traceBand, isRawGrey)).toBeGreaterThan(20);
    expect(countPixels(image, traceBand, isColored)).toBeGreaterThan(50);
    const ticks = countPixels(image, { ...plot, y0: row.top + 43, y1: row.top + 54 }, isBlack);
    if (row.events > 0) expect(ticks).toBeGreaterThan(0);
  }
  // Rows do not overlap and stay inside the plot; nothing is drawn outside the view box.
  for (let i = 1; i < rows.length; i++)
    expect(rows[i].top).toBeGreaterThanOrEqual(rows[i - 1].bottom);
  expect(paintedOutside(svg)).toBe(0);
  return rows;
}

/** Label boxes of the footprints preview (from data-box), pairwise disjoint and inside the image. */
function checkFootprintLabels(svg: string, expected: number) {
  const labels = elements(svg, 'label');
  expect(labels).toHaveLength(expected);
  const boxes = labels.map((l) => l['data-box'].split(' ').map(Number));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      const overlap = a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
      expect(
        overlap,
        `labels of cells ${labels[i]['data-cell']} and ${labels[j]['data-cell']}`,
      ).toBe(false);
    }
  }
  expect(new Set(labels.map((l) => l['data-cell'])).size).toBe(expected);
  expect(paintedOutside(svg)).toBe(0);
}

describeShared('previews of the real sample series (cellset_series_part1/2)', () => {
  it('draw raw, denoised and events per cell on the series time axis, with units, names and scale bars', async () => {
    // Prepare: the two parts; part 2 starts 30.1 s after part 1
    const { plan, files } = await previewsOf([
      shared('cellset_series_part1.isxd'),
      shared('cellset_series_part2.isxd'),
    ]);

    // Assess: traces
    expect(plan.chronological).toEqual([0, 1]);
    for (const [k, f] of files.entries()) {
      const rows = checkTraces(f.traces, 6);
      expect(f.traces).toContain('6 of 6 cells, chosen by skewness');
      expect(f.traces).toContain('scale bars: dF over noise');
      expect(f.traces).toContain('raw input − baseline');
      expect(rows.map((r) => r.name).sort()).toEqual(['C0', 'C1', 'C2', 'C3', 'C4', 'C5']);
      const ticks = xTicks(f.traces);
      const [t0, t1] = k === 0 ? [0, 10] : [30.1, 39.6];
      expect(Math.min(...ticks)).toBeGreaterThanOrEqual(t0);
      expect(Math.max(...ticks)).toBeLessThanOrEqual(t1);
      expect(f.traces).toContain(`part ${k + 1} of 2 starts at ${k === 0 ? 0 : 30.1} s`);

      // Events: rows by name, in the traces' order (top to bottom), the legend, the duration
      const names = rasterNames(f.events).map((r) => r.name);
      expect(names).toEqual(rows.map((r) => r.name));
      expect(f.events).toContain(`over ${k === 0 ? '10.0' : '9.5'} s`);
      expect(f.events).toContain('Event amplitude per');
      expect(f.events).toContain('dF over noise');
      expect(elements(f.events, 'swatch').length).toBeGreaterThanOrEqual(4);
      expect(Math.min(...xTicks(f.events))).toBeGreaterThanOrEqual(t0);
      const events = render(f.events);
      expect(countPixels(events, rasterBox(f.events), isBlack)).toBeGreaterThan(50);
      expect(paintedOutside(f.events)).toBe(0);

      // Footprints: a 20 µm bar for 21 pixels of 6 µm (126 µm / 4 → 20), six named cells
      const bar = elements(f.footprints, 'scale-bar')[0];
      expect(Number(bar['data-um'])).toBe(20);
      const scale = 720 / 21;
      expect(Number(bar['data-px'])).toBeCloseTo((20 / 6) * scale, 1);
      expect(f.footprints).toContain('>20 µm<');
      checkFootprintLabels(f.footprints, 6);
    }
  });

  it('say "no cells deconvolved" when --accepted-only skips every cell (all are undecided)', async () => {
    // Act
    const { files } = await previewsOf([shared('cellset_series_part1.isxd')], {
      ...DEFAULT_JOB_OPTIONS,
      acceptedOnly: 'accepted',
    });

    // Assess
    const message = 'No cells deconvolved: all 6 cells were skipped by --accepted-only';
    const { traces, footprints, events } = files[0];
    expect(traces).toContain(message);
    expect(traces).toContain('0 of 0 cells');
    expect(footprints).toContain(message);
    expect(events).toContain(message);
    expect(events).not.toContain('events in 6 cells');
    // No rate histogram bars (no "6 cells at 0 Hz").
    const rateHistogram = events
      .split('class="histogram rate"')[1]
      .split('class="histogram iei"')[0];
    expect(rateHistogram).not.toContain('<rect');
    expect(rateHistogram).toContain('No cells deconvolved');
    for (const svg of [traces, footprints, events]) expect(paintedOutside(svg)).toBe(0);
  });
});

describe('previews of synthetic cell sets', () => {
  it('300 cells: 20 of 298 traced cells, rejected cells left out everywhere, names in the raster', async () => {
    // Prepare: 300 cells (the last two rejected) × 3 000 frames at 20 Hz, 90 × 72 px
    const input = await synthetic(300, 3000, 90, 72);

    // Act
    const { plan, files } = await previewsOf([input]);

    // Assess
    const { traces, footprints, events } = files[0];
    const rows = checkTraces(traces, 20);
    expect(traces).toContain('20 of 298 cells, chosen by skewness');
    expect(traces).toContain('scale bars: a.u.');
    const rejected = plan.files[0].names.filter((_, c) => plan.files[0].statuses[c] === 'rejected');
    expect(rejected).toHaveLength(2);
    for (const name of rejected) {
      expect(traces).not.toContain(`>${name}<`);
      expect(events).not.toContain(`>${name}<`);
      expect(footprints).not.toContain(`>${name}<`);
    }
    // The raster names the 20 traced cells, top to bottom in the traces' order, ≥ 11 px apart.
    const named = rasterNames(events);
    expect(named.map((r) => r.name)).toEqual(rows.map((r) => r.name));
    for (let i = 1; i < named.length; i++)
      expect(named[i].y - named[i - 1].y).toBeGreaterThanOrEqual(11);
    expect(events).toContain('in 298 of 300 cells over 150.0 s');
    expect(elements(footprints, 'footprint highlighted')).toHaveLength(20);
    expect(elements(footprints, 'footprint')).toHaveLength(278);
    checkFootprintLabels(footprints, 20);
    expect(paintedOutside(events)).toBe(0);
  });

  it('1 000 cells: a binned raster of ≤ 600 rows with a legend, readable labels, nothing outside', async () => {
    // Prepare: 1 000 cells × 1 000 frames in 64 × 48 px (crowded footprints)
    const input = await synthetic(1000, 1000, 64, 48);

    // Act
    const { files } = await previewsOf([input]);

    // Assess
    const { traces, footprints, events } = files[0];
    checkTraces(traces, 20);
    expect(traces).toContain('20 of 998 cells');
    expect(events).toContain('cells a row');
    expect(events).toContain('over 50.0 s');
    expect(elements(events, 'swatch')).toHaveLength(5);
    // Grey levels by quintile: every level is used.
    for (let level = 0; level < 5; level++) expect(events).toContain(`class="level-${level}"`);
    const image = render(events);
    const raster = rasterBox(events);
    expect(raster.y1 - raster.y0).toBeCloseTo(598, 0);
    const dark = countPixels(image, raster, isBlack);
    const white = countPixels(image, raster, (r, g, b) => Math.min(r, g, b) > 245);
    // Readable: neither uniform grey nor empty.
    expect(dark).toBeGreaterThan(10_000);
    expect(white).toBeGreaterThan(10_000);
    expect(paintedOutside(events)).toBe(0);
    checkFootprintLabels(footprints, 20);
  });
});

describe('the traces preview and invalid frames', () => {
  it('never draws or scales on the bytes a file holds at dropped/blank/cropped frames', async () => {
    // Prepare: the same set twice, the second with 1e6 written over cell 0's first dropped frame
    // (real files may hold anything there; the job treats those frames as NaN)
    const clean = await synthetic(6, 3000, 16, 16);
    const dirty = { name: clean.name, bytes: Uint8Array.from(clean.bytes) };
    const dropped = Math.floor(3000 * 0.3);
    new DataView(dirty.bytes.buffer).setFloat32(4 * (16 * 16 + dropped), 1e6, true);

    // Act
    const [a, b] = [await previewsOf([clean]), await previewsOf([dirty])];

    // Assess: every row's raw path and scale bar are those of the clean file
    const rows = (p: Previews) =>
      traceRows(p.files[0].traces).map((r) => ({
        cell: r.cell,
        raw: pathD(r.inner, 'raw'),
        bar: r.rest.match(/class="scale-bar" data-value="([^"]+)"/)?.[1],
      }));
    expect(rows(b).map((r) => r.cell)).toContain(0);
    expect(rows(b)).toEqual(rows(a));
  });
});
