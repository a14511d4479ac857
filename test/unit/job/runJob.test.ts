import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memorySource } from '../../../lib/bytes.js';
import { DeconvolutionError, InternalError, InvalidSeriesError } from '../../../lib/errors.js';
import { openCellSet, openEventSet } from '../../../lib/isxd/index.js';
import { jsonEqual } from '../../../lib/isxd/json.js';
import { DEFAULT_JOB_OPTIONS, parseJobOptions, parseToolParams } from '../../../lib/job/params.js';
import { describeShared, readGolden, sharedPath } from '../../helpers/shared.js';
import { memoryRuntime } from './memoryRuntime.js';

interface GoldenCase {
  id: string;
  params: { p: number; s_min: number | null; optimize_g: number | boolean };
  source: { cell: number };
  expected: { c: (number | string)[]; sp: (number | string)[] };
}

const num = (v: number | string) => (typeof v === 'number' ? v : Number(v));
const load = (name: string) =>
  memorySource(name, new Uint8Array(readFileSync(sharedPath('data', name))));

/** Event frames of cell i of an event set, from offsets (10 Hz: 100 000 µs per frame). */
async function eventFrames(bytes: Uint8Array, cell: number, periodUs: number): Promise<number[]> {
  const events = await (await openEventSet(memorySource('events', bytes))).readCell(cell);
  return Array.from(events.offsetsMicros, (us) => Math.round(us / periodUs));
}

describeShared('runJob on the sample series (part 2, part 1)', () => {
  const golden = readGolden<{ cases: GoldenCase[] }>('ideas_samples.json').cases;

  for (const p of [1, 2]) {
    it(`writes outputs that match the inputs and the CaImAn goldens for p = ${p}`, async () => {
      // Prepare
      const inputs = [load('cellset_series_part2.isxd'), load('cellset_series_part1.isxd')];
      const rt = memoryRuntime(inputs);

      // Act
      const report = await rt.run(parseToolParams({ p: String(p) }), DEFAULT_JOB_OPTIONS);

      // Assess: names, numbering (.000 = part 2), and nothing left over
      expect([...rt.outputs.keys()].sort()).toEqual([
        'cellset_denoised.000.isxd',
        'cellset_denoised.001.isxd',
        'footprints_cellset_denoised.000.svg',
        'footprints_cellset_denoised.001.svg',
        'neural_events.000.isxd',
        'neural_events.001.isxd',
        'output_metadata.json',
        'preview_neural_events.000.svg',
        'preview_neural_events.001.svg',
        'report.html',
        'traces_cellset_denoised.000.svg',
        'traces_cellset_denoised.001.svg',
      ]);
      expect(rt.store.work.size).toBe(0);
      expect(report.job.plan.chronological).toEqual([1, 0]);
      for (const [k, input] of inputs.entries()) {
        const inp = await openCellSet(input);
        const out = await openCellSet(
          memorySource('out', rt.outputs.get(`cellset_denoised.00${k}.isxd`) ?? new Uint8Array()),
        );
        expect(out.numCells).toBe(inp.numCells);
        expect(out.numTimes).toBe(k === 0 ? 95 : 100);
        expect(out.header.names).toEqual(inp.header.names);
        expect(out.header.statuses).toEqual(inp.header.statuses);
        expect(out.header.timing).toEqual(inp.header.timing);
        expect(out.header.spacing).toEqual(inp.header.spacing);
        expect(jsonEqual(out.header.extraProperties, inp.header.extraProperties)).toBe(true);
        for (let i = 0; i < inp.numCells; i++) {
          const a = await inp.readCellBytes(i);
          const b = await out.readCellBytes(i);
          expect(
            Buffer.from(b.subarray(0, 4 * 441)).equals(Buffer.from(a.subarray(0, 4 * 441))),
          ).toBe(true);
        }
        const ev = await openEventSet(
          memorySource('ev', rt.outputs.get(`neural_events.00${k}.isxd`) ?? new Uint8Array()),
        );
        expect(ev.header.names).toEqual(inp.header.names);
        expect(ev.timing.numTimes).toBe(inp.numTimes);
        expect(ev.timing.start).toEqual(inp.header.timing.start);
        expect(jsonEqual(ev.header.extraProperties, inp.header.extraProperties)).toBe(true);
        expect(ev.header.numSamples).toEqual(report.files[k].outputs.eventCounts);
      }

      // Assess: part 1 (.001) against the goldens
      const out1 = await openCellSet(
        memorySource('o', rt.outputs.get('cellset_denoised.001.isxd') ?? new Uint8Array()),
      );
      const events1 = rt.outputs.get('neural_events.001.isxd') ?? new Uint8Array();
      const cases = golden.filter(
        (g) => g.params.p === p && g.params.s_min === null && g.params.optimize_g === 0,
      );
      expect(cases).toHaveLength(6);
      for (const g of cases) {
        const c = g.expected.c.map(num);
        const sp = g.expected.sp.map(num);
        const trace = await out1.readTrace(g.source.cell);
        const scale = Math.max(...c.map(Math.abs));
        for (let t = 0; t < c.length; t++)
          expect(Math.abs(trace[t] - c[t])).toBeLessThanOrEqual(1e-4 * scale + 1e-6);
        const maxSp = Math.max(...sp);
        const expected = sp.flatMap((s, t) => (s > 1e-5 * maxSp && Math.fround(s) > 0 ? [t] : []));
        expect(await eventFrames(events1, g.source.cell, 100_000)).toEqual(expected);
      }

      // Assess: metadata shape and per-cell facts
      const metadata = JSON.parse(new TextDecoder().decode(rt.outputs.get('output_metadata.json')));
      expect(Object.keys(metadata)).toEqual([
        'cellset_denoised.000',
        'neural_events.000',
        'cellset_denoised.001',
        'neural_events.001',
      ]);
      const cs1 = metadata['cellset_denoised.001'];
      expect(cs1.metrics).toMatchObject({
        num_accepted_cells: 0,
        num_undecided_cells: 6,
        num_rejected_cells: 0,
        total_num_cells: 6,
      });
      expect(cs1.timingInfo.sampling_rate).toBeCloseTo(10, 12);
      expect(cs1.timingInfo.end).toEqual({ secsSinceEpoch: { num: 10, den: 1 }, utcOffset: 0 });
      expect(cs1.dataset.signal[0]).toEqual({ method: 'cnmfe', units: 'dF over noise' });
      const cells = cs1.deconvolution.cells;
      expect(cells).toHaveLength(6);
      for (const cell of cells) {
        expect(cell.tau_decay_s).toBeGreaterThan(0);
        if (p === 1) expect(cell.tau_rise_s).toBeNull();
        else expect(cell.tau_rise_s).toBeLessThanOrEqual(cell.tau_decay_s);
        // τ = −Δt/ln(root) of the cell's own g (Δt = 0.1 s): the larger root is the decay.
        const roots =
          p === 1
            ? [cell.g[0]]
            : [1, -1].map(
                (sgn) => (cell.g[0] + sgn * Math.sqrt(cell.g[0] ** 2 + 4 * cell.g[1])) / 2,
              );
        expect(cell.tau_decay_s).toBeCloseTo(-0.1 / Math.log(roots[0]), 10);
        if (p === 2) expect(cell.tau_rise_s).toBeCloseTo(-0.1 / Math.log(roots[1]), 10);
        expect(cell.sn).toBeGreaterThan(0);
        expect(cell).not.toHaveProperty('tau_seconds');
      }
      // Units once per file (the input's), ISO times beside the rationals, 'auto' resolved.
      expect(cs1.deconvolution.units).toMatchObject({
        trace: 'dF over noise',
        sn: 'dF over noise',
        baseline: 'dF over noise',
        lambda: 'dF over noise',
        tau_decay_s: 's',
      });
      expect(cs1.timingInfo.start_iso).toBe('1970-01-01T00:00:00.000Z');
      expect(cs1.timingInfo.end_iso).toBe('1970-01-01T00:00:10.000Z');
      expect(cs1.deconvolution.resolved).toMatchObject({
        bl: 'estimated per cell (cells[].baseline)',
        sn: expect.stringMatching(
          /^estimated per cell \(Welch PSD over noise_range 0.25,0.5, logmexp\)/,
        ),
        g: expect.stringMatching(
          /^estimated per cell from the autocovariance \(lags 5\), roots shrunk by fudge_factor 0.96/,
        ),
        lags: 5,
        solvers: "not used by 'oasis'",
      });
      expect(cs1.deconvolution.tau_rule).toContain('τ = −Δt/ln(root)');
      expect(cs1.deconvolution.event_rule).toMatch(/^frames with fl32\(s\) > 0/);
      const ev1 = metadata['neural_events.001'];
      expect(metadata['cellset_denoised.000'].timingInfo.start_iso).toBe(
        '1970-01-01T00:00:30.100Z',
      );
      expect(ev1.timingInfo.numSamples).toBe(100);
      expect(ev1.timingInfo.numEvents).toEqual(report.files[1].outputs.eventCounts);
      expect(ev1.metrics.total_num_events).toBe(report.files[1].outputs.numEvents);
    });
  }

  it('rejects a series given twice (overlap) naming both files, and writes nothing', async () => {
    // Prepare
    const rt = memoryRuntime([
      load('cellset_series_part1.isxd'),
      load('cellset_series_part1.isxd'),
    ]);

    // Act
    const run = rt.run(parseToolParams({}), DEFAULT_JOB_OPTIONS);

    // Assess
    await expect(run).rejects.toBeInstanceOf(InvalidSeriesError);
    await expect(run).rejects.toMatchObject({
      code: 'InvalidSeries',
      files: ['cellset_series_part1.isxd', 'cellset_series_part1.isxd'],
    });
    expect(rt.outputs.size).toBe(0);
  });

  it('keeps only events of at least K·sn with --event-threshold-sn', async () => {
    // Prepare
    const rtAll = memoryRuntime([load('cellset_series_part1.isxd')]);
    const rtK = memoryRuntime([load('cellset_series_part1.isxd')]);

    // Act
    const all = await rtAll.run(parseToolParams({}), DEFAULT_JOB_OPTIONS);
    const thresholded = await rtK.run(
      parseToolParams({}),
      parseJobOptions({ eventThresholdSn: '2' }),
    );

    // Assess
    const ev = await openEventSet(
      memorySource('e', rtK.outputs.get('neural_events.000.isxd') ?? new Uint8Array()),
    );
    for (const [i, cell] of thresholded.files[0].outputs.cells.entries()) {
      const events = await ev.readCell(i);
      for (const a of events.amplitudes)
        expect(a).toBeGreaterThanOrEqual(Math.fround(2 * cell.sn) * (1 - 1e-6));
    }
    expect(thresholded.files[0].outputs.numEvents).toBeLessThan(all.files[0].outputs.numEvents);
    expect(thresholded.files[0].outputs.numEvents).toBeGreaterThan(0);
  });
});

describe('runJob failures', () => {
  it('gives a cell that cannot be deconvolved a NaN trace, no events and its reason; the others go on', async () => {
    // Prepare: a constant trace cannot be deconvolved with p = 2 (estimated g = 0)
    const { constantCellSet } = await import('./fixtures.js');
    const rt = memoryRuntime([await constantCellSet('flat.isxd')]);

    // Act
    const report = await rt.run(parseToolParams({ p: 2 }), DEFAULT_JOB_OPTIONS);

    // Assess
    const cells = report.files[0].outputs.cells;
    expect(cells.map((c) => c.failure === null)).toEqual([true, false, true]);
    expect(cells[1].failure).toMatch(/AR\(2\) coefficients g = \[0, 0\] give decay root d = 0/);
    expect(report.files[0].outputs.eventCounts[1]).toBe(0);
    expect(report.files[0].outputs.eventCounts[0]).toBeGreaterThan(0);
    const out = await openCellSet(
      memorySource('o', rt.outputs.get('cellset_denoised.000.isxd') ?? new Uint8Array()),
    );
    expect(Array.from(await out.readTrace(1)).every(Number.isNaN)).toBe(true);
    expect(Array.from(await out.readTrace(0)).some(Number.isNaN)).toBe(false);
    const metadata = JSON.parse(new TextDecoder().decode(rt.outputs.get('output_metadata.json')));
    const file = metadata['cellset_denoised.000'];
    expect(file.metrics).toMatchObject({ num_deconvolved_cells: 2, num_failed_cells: 1 });
    expect(file.deconvolution.cells[1]).toMatchObject({
      name: 'flat',
      failure: cells[1].failure,
      num_events: 0,
    });
    expect(file.deconvolution.cells[0].failure).toBeNull();
  });

  it('fails with a DeconvolutionError when no cell can be deconvolved, and leaves no output', async () => {
    // Prepare: one cell, constant
    const { fixtureCellSet } = await import('./fixtures.js');
    const rt = memoryRuntime([await fixtureCellSet('flat.isxd', { numCells: 1, flatCell: 0 })]);

    // Act
    const run = rt.run(parseToolParams({ p: 2 }), DEFAULT_JOB_OPTIONS);

    // Assess
    await expect(run).rejects.toBeInstanceOf(DeconvolutionError);
    await expect(run).rejects.toThrow(
      /none of the 1 cells could be deconvolved; flat\.isxd: cell 0 \(C0\): AR\(2\) coefficients/,
    );
    expect(rt.outputs.size).toBe(0);
    expect(rt.store.work.size).toBe(0);
  });

  it('fails with PartSize when a chunk part is short, and leaves no output', async () => {
    // Prepare: chunk 0's event part loses its last packet between the chunk and the assembly
    const { fixtureCellSet } = await import('./fixtures.js');
    const rt = memoryRuntime([await fixtureCellSet('short.isxd', {})]);
    rt.store.onWorkSource = (key, part) => {
      if (key !== 'parts/0/0.events') return part;
      return {
        name: part.name,
        size: async () => (await part.size()) - 20,
        read: (offset, length) => part.read(offset, Math.min(length, 0)),
      };
    };

    // Act
    const run = rt.run(parseToolParams({}), DEFAULT_JOB_OPTIONS);

    // Assess
    // Our own work area broke, not the user's input: an internal fault (exit 1).
    await expect(run).rejects.toBeInstanceOf(InternalError);
    await expect(run).rejects.toMatchObject({
      code: 'PartSize',
      name: 'CaimanSpikesInternalError',
    });
    await expect(run).rejects.toThrow(/event part 0 holds \d+ bytes, expected \d+/);
    expect(rt.outputs.size).toBe(0);
    expect(rt.store.work.size).toBe(0);
  });

  it('copies chunk 0 while chunk 1 still runs, and cleans up when chunk 1 then fails', async () => {
    // Prepare: one chunk per cell; chunk 1 waits until the assembly has opened chunk 0's part
    const { fixtureCellSet } = await import('./fixtures.js');
    const rt = memoryRuntime([await fixtureCellSet('overlap.isxd', {})], 1);
    rt.limits = { maxCellsPerChunk: 1 };
    const opened: string[] = [];
    let chunk0Read: () => void = () => {};
    const chunk0ReadPromise = new Promise<void>((resolve) => {
      chunk0Read = resolve;
    });
    rt.store.onWorkSource = (key, part) => {
      const m = /^parts\/0\/(\d+)\.(cellset|events)$/.exec(key);
      if (m) opened.push(`${m[2]} ${m[1]}`);
      if (key === 'parts/0/0.cellset') chunk0Read();
      return part;
    };
    const runChunk = rt.runtime.runChunk;
    rt.runtime.runChunk = async (job, item) => {
      if (item.chunk === 0) return runChunk(job, item);
      await chunk0ReadPromise;
      throw new DeconvolutionError('chunk 1 failed on purpose', 'Test');
    };

    // Act
    const run = rt.run(parseToolParams({}), DEFAULT_JOB_OPTIONS);

    // Assess
    await expect(run).rejects.toThrow('chunk 1 failed on purpose');
    expect(opened).toContain('cellset 0');
    expect(opened).not.toContain('cellset 1');
    expect(rt.outputs.size).toBe(0);
    expect(rt.store.work.size).toBe(0);
  });

  it('skips a failing rejected cell with --accepted-only accepted+undecided', async () => {
    // Prepare
    const { constantCellSet } = await import('./fixtures.js');
    const rt = memoryRuntime([await constantCellSet('flat.isxd')]);

    // Act
    const report = await rt.run(
      parseToolParams({ p: 2 }),
      parseJobOptions({ acceptedOnly: 'accepted+undecided' }),
    );

    // Assess
    const cells = report.files[0].outputs.cells;
    expect(cells.map((c) => c.skipped)).toEqual([false, true, false]);
    const out = await openCellSet(
      memorySource('o', rt.outputs.get('cellset_denoised.000.isxd') ?? new Uint8Array()),
    );
    expect(Array.from(await out.readTrace(1)).every(Number.isNaN)).toBe(true);
    expect(Array.from(await out.readTrace(0)).some(Number.isNaN)).toBe(false);
  });
});
