/**
 * report.html's data (lib/job/report/fragment.ts, page.ts): the min/max envelope keeps every
 * peak and trough, bins partition the frames, quantisation is within half a step, and a job's
 * report holds every cell of every file with its raw trace, denoised trace and events as the
 * outputs have them.
 */
import { describe, expect, it } from 'vitest';
import { memorySource } from '../../../lib/bytes.js';
import { InternalError } from '../../../lib/errors.js';
import { openCellSet, openEventSet } from '../../../lib/isxd/index.js';
import { REPORT_NAME } from '../../../lib/job/outputs.js';
import { DEFAULT_JOB_OPTIONS, parseToolParams } from '../../../lib/job/params.js';
import { binOf, binStart } from '../../../lib/job/previews/bins.js';
import {
  decimate,
  FragmentStream,
  GAP,
  MAX_POINTS,
  NUM_BINS,
  type QuantisedTrace,
  quantise,
  type ReportFragment,
  reportFragment,
} from '../../../lib/job/report/fragment.js';
import { assembleStage, chunkStage, finalizeStage, planStage } from '../../../lib/job/stages.js';
import { WORK } from '../../../lib/job/store.js';
import { syntheticCellSet } from '../../e2e/syntheticCellSet.js';
import { memoryStore } from '../../helpers/memoryStore.js';

function decode(q: QuantisedTrace): number[] {
  const words = new Uint16Array(Uint8Array.from(Buffer.from(q.q, 'base64')).buffer);
  return [...words].map((w) => (w === GAP ? Number.NaN : q.lo + w * q.step));
}

describe('decimate', () => {
  it('keeps every frame up to MAX_POINTS', () => {
    const x = Float32Array.from({ length: MAX_POINTS }, (_, t) => Math.sin(t));
    expect([...decimate(x)]).toEqual([...x]);
  });

  it('keeps each bin’s min and max in time order, NaN for a bin with no finite sample', () => {
    const T = 36_000;
    const x = new Float32Array(T).fill(1);
    x[7] = 9; // bin 0 (frames 0–35): max at 7, then min at 20
    x[20] = -4;
    x[50] = -2; // bin 1: min at 50, then max at 60
    x[60] = 5;
    for (let t = binStart(3, NUM_BINS, T); t < binStart(4, NUM_BINS, T); t++) x[t] = Number.NaN;
    const d = decimate(x);
    expect(d.length).toBe(MAX_POINTS);
    expect([d[0], d[1], d[2], d[3]]).toEqual([9, -4, -2, 5]);
    expect([d[6], d[7]]).toEqual([Number.NaN, Number.NaN]);
    expect([d[8], d[9]]).toEqual([1, 1]);
  });
});

describe('bins', () => {
  it('partition the frames: binStart(b) ≤ t < binStart(b + 1) for b = binOf(t)', () => {
    for (const T of [2001, 2400, 3333, 36_000, 100_003]) {
      for (let t = 0; t < T; t++) {
        const b = binOf(t, NUM_BINS, T);
        if (!(binStart(b, NUM_BINS, T) <= t && t < binStart(b + 1, NUM_BINS, T)))
          throw new Error(`T = ${T}: frame ${t} is not in bin ${b}`);
      }
      expect(binOf(T - 1, NUM_BINS, T)).toBe(NUM_BINS - 1);
    }
  });
});

describe('quantise', () => {
  it('is within half a step of every finite value; NaN is a gap; all-NaN is null', () => {
    const x = Float64Array.from({ length: 500 }, (_, i) => (i === 17 ? Number.NaN : i ** 1.5 - 40));
    const q = quantise(x)!;
    const back = decode(q);
    expect(q.lo).toBe(-40);
    for (let i = 0; i < x.length; i++) {
      if (i === 17) expect(back[i]).toBeNaN();
      else expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual(q.step / 2 + 1e-9);
    }
    expect(quantise(new Float64Array(3).fill(Number.NaN))).toBeNull();
    expect(decode(quantise(new Float64Array([2, 2]))!)).toEqual([2, 2]);
  });
});

describe('report.html of a job', () => {
  it('holds every cell of every file with its raw, denoised and events as the outputs have them', async () => {
    // Prepare: two files, 3 000 frames (decimated) and 300 frames (every frame)
    const specs = [
      { numCells: 5, numTimes: 3000, seed: 3, startSeconds: 0 },
      { numCells: 5, numTimes: 300, seed: 4, startSeconds: 400 },
    ];
    const sources = await Promise.all(
      specs.map(async (s, k) => memorySource(`in${k}.isxd`, await syntheticCellSet(s))),
    );
    const store = memoryStore(sources);
    const job = await planStage(store, {
      run: { runId: 'report-run', executionId: 'local:report', account: 'test' },
      inputs: ['in0.isxd', 'in1.isxd'],
      params: parseToolParams({}),
      options: DEFAULT_JOB_OPTIONS,
      existsHint: 'pass --overwrite',
    });
    for (const item of job.plan.items) await chunkStage(store, job, item);
    for (const f of job.plan.files) await assembleStage(store, job, f.index);
    // Act
    const report = await finalizeStage(store, job, { startedAt: Date.now() });
    // Assess: listed in the manifest, self-contained
    const html = new TextDecoder().decode(store.outputs.get(REPORT_NAME)!);
    const listed = report.manifest.outputs.find((o) => o.name === REPORT_NAME);
    expect(listed?.size).toBe(store.outputs.get(REPORT_NAME)!.byteLength);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org|github)/);
    expect(html).toContain('uPlot');
    const fragments = [
      ...html.matchAll(
        /<script type="application\/json" class="caiman-fragment">(.*?)<\/script>/gs,
      ),
    ].map((m) => JSON.parse(m[1]) as ReportFragment);
    expect(fragments.map((f) => [f.file, f.cells.length, f.bins])).toEqual([
      [0, 5, NUM_BINS],
      [1, 5, 1],
    ]);
    expect(fragments[1].offset).toBe(400);
    for (const fragment of fragments) {
      const info = job.plan.files[fragment.file];
      const input = await openCellSet(sources[fragment.file]);
      const output = await openCellSet(
        memorySource('out', store.outputs.get(`cellset_denoised.00${fragment.file}.isxd`)!),
      );
      const events = await openEventSet(
        memorySource('ev', store.outputs.get(`neural_events.00${fragment.file}.isxd`)!),
      );
      expect(fragment.cells.map((c) => c.name)).toEqual(info.names);
      for (const c of fragment.cells) {
        const raw = decimate((await input.readCell(c.cell)).trace);
        const den = decimate((await output.readCell(c.cell)).trace);
        const gotRaw = decode(c.raw!);
        const gotDen = decode(c.denoised!);
        expect(gotRaw.length).toBe(Math.min(MAX_POINTS, info.numTimes));
        for (let i = 0; i < raw.length; i++) {
          expect(Math.abs(gotRaw[i] - raw[i])).toBeLessThanOrEqual(c.raw!.step / 2 + 1e-6);
          expect(Math.abs(gotDen[i] - den[i])).toBeLessThanOrEqual(c.denoised!.step / 2 + 1e-6);
        }
        // Events: one (bin, amplitude) per bin holding an event, the bin's largest amplitude.
        const cellEvents = await events.readCell(c.cell);
        const expected = new Map<number, number>();
        for (let k = 0; k < cellEvents.offsetsMicros.length; k++) {
          const frame = Math.round(cellEvents.offsetsMicros[k] / (fragment.period * 1e6));
          const bin = binOf(
            frame,
            fragment.bins === 1 ? info.numTimes : fragment.bins,
            info.numTimes,
          );
          expected.set(bin, Math.max(expected.get(bin) ?? 0, cellEvents.amplitudes[k]));
        }
        const pairs = new Uint16Array(Uint8Array.from(Buffer.from(c.events, 'base64')).buffer);
        expect(pairs.length / 2).toBe(expected.size);
        expect(expected.size).toBeGreaterThan(0);
        for (let k = 0; k < pairs.length; k += 2) {
          expect(pairs[k + 1] * c.eventStep).toBeCloseTo(expected.get(pairs[k])!, 4);
        }
        expect(c.outcome).toBe('ok');
        expect(c.tauDecayS).toBeGreaterThan(0);
        expect(c.outline).toMatch(/^M/);
      }
    }
  });
});

describe('report fragment from the chunks', () => {
  it('is byte for byte the fragment read back from the written outputs, failed cells included', async () => {
    // Prepare: a decimated file whose cell 2 is flat (it cannot be deconvolved at p = 2)
    const bytes = await syntheticCellSet({ numCells: 6, numTimes: 3000, seed: 5 });
    const input = await openCellSet(memorySource('in0.isxd', bytes));
    const footprintBytes = 4 * input.width * input.height;
    const at = 2 * (footprintBytes + 4 * 3000) + footprintBytes;
    new Float32Array(bytes.buffer, bytes.byteOffset + at, 3000).fill(4);
    const source = memorySource('in0.isxd', bytes);
    const store = memoryStore([source]);
    const job = await planStage(store, {
      run: { runId: 'display-run', executionId: 'local:display', account: 'test' },
      inputs: ['in0.isxd'],
      params: parseToolParams({ p: 2 }),
      options: DEFAULT_JOB_OPTIONS,
      existsHint: 'pass --overwrite',
    });
    const results = [];
    for (const item of job.plan.items) results.push(await chunkStage(store, job, item));
    expect(results.every((r) => r.displays?.length === r.cellEnd - r.cellStart)).toBe(true);
    // Act: Assemble joins the chunks' displays
    const record = await assembleStage(store, job, 0);
    const joined = store.work.get(WORK.report(0))!;
    // Assess: the same bytes as reading every cell back from the outputs
    const readBack = await reportFragment(job.plan, record.outputs, {
      cellSet: memorySource('out', store.work.get(WORK.staged(record.outputs.cellSetName))!),
      eventSet: memorySource('ev', store.work.get(WORK.staged(record.outputs.eventSetName))!),
      input: source,
    });
    expect(record.outputs.cells[2].failure).not.toBeNull();
    expect(Buffer.from(joined).equals(Buffer.from(readBack))).toBe(true);
    const fragment = JSON.parse(new TextDecoder().decode(joined)) as ReportFragment;
    expect(fragment.cells.map((c) => c.outcome)).toEqual(['ok', 'ok', 'failed', 'ok', 'ok', 'ok']);
    // and Assemble takes them from the chunk records, reading no cell back
    const key = WORK.chunkResult(0, 0);
    const chunk = JSON.parse(new TextDecoder().decode(store.work.get(key)!));
    chunk.displays[0].outline = 'M0 0h1';
    store.work.set(key, new TextEncoder().encode(JSON.stringify(chunk)));
    await assembleStage(store, job, 0);
    const again = JSON.parse(new TextDecoder().decode(store.work.get(WORK.report(0))!));
    expect(again.cells[0].outline).toBe('M0 0h1');
  });

  it('is written as the chunks come in, in chunk order whatever their order, or read back when a record has no parts', async () => {
    // Prepare: 5 cells in chunks of 2 (3 chunks), every chunk run
    const bytes = await syntheticCellSet({ numCells: 5, numTimes: 3000, seed: 9 });
    const source = memorySource('in0.isxd', bytes);
    const store = memoryStore([source]);
    const job = await planStage(store, {
      run: { runId: 'stream-run', executionId: 'local:stream', account: 'test' },
      inputs: ['in0.isxd'],
      params: parseToolParams({}),
      options: DEFAULT_JOB_OPTIONS,
      limits: { maxCellsPerChunk: 2 },
      existsHint: 'pass --overwrite',
    });
    expect(job.plan.items).toHaveLength(3);
    const results = [];
    for (const item of job.plan.items) results.push(await chunkStage(store, job, item));
    const record = await assembleStage(store, job, 0);
    const joined = Buffer.from(store.work.get(WORK.report(0))!);
    const written: Uint8Array[] = [];
    const sink = {
      write: async (b: Uint8Array) => {
        written.push(b.slice());
      },
      close: async () => {},
      abort: async () => {
        written.length = 0;
      },
    };
    // Act: the chunks' results in reverse order
    const stream = new FragmentStream(job.plan, 0, sink, 3);
    for (const r of structuredClone(results).reverse()) stream.add(r);
    await stream.finish();
    // Assess: the bytes Assemble wrote, which are those read back from the outputs
    expect(Buffer.concat(written).equals(joined)).toBe(true);
    const readBack = await reportFragment(job.plan, record.outputs, {
      cellSet: memorySource('out', store.work.get(WORK.staged(record.outputs.cellSetName))!),
      eventSet: memorySource('ev', store.work.get(WORK.staged(record.outputs.eventSetName))!),
      input: source,
    });
    expect(joined.equals(Buffer.from(readBack))).toBe(true);
    // and finishing before every chunk came is our fault, not the user's
    const early = new FragmentStream(job.plan, 0, sink, 3);
    early.add(structuredClone(results[0]));
    await expect(early.finish()).rejects.toBeInstanceOf(InternalError);
    // and a record without report parts (an older run's): Assemble reads the cells back, same bytes
    const key = WORK.chunkResult(0, 1);
    const chunk = JSON.parse(new TextDecoder().decode(store.work.get(key)!));
    chunk.displays = undefined;
    store.work.set(key, new TextEncoder().encode(JSON.stringify(chunk)));
    const partial = new FragmentStream(job.plan, 0, sink, 3);
    partial.add(chunk);
    expect(partial.incomplete).toBe(true);
    store.work.delete(WORK.report(0));
    await assembleStage(store, job, 0);
    expect(Buffer.from(store.work.get(WORK.report(0))!).equals(joined)).toBe(true);
  });
});
