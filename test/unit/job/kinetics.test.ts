/** Kinetics in seconds (--tau-decay / --tau-rise → g per file) and the run's warnings (issue 13). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_JOB_OPTIONS, parseJobOptions, parseToolParams } from '../../../lib/job/params.js';
import { runWarnings } from '../../../lib/job/warnings.js';
import { fixtureCellSet } from './fixtures.js';
import { memoryRuntime } from './memoryRuntime.js';

/** output_metadata.json's entry of the first cell set. */
function cellSetMetadata(outputs: Map<string, Uint8Array>) {
  const all = JSON.parse(new TextDecoder().decode(outputs.get('output_metadata.json')));
  return all['cellset_denoised.000'];
}

describe('tau_decay / tau_rise on a 20 Hz file', () => {
  it('p = 1: g = exp(−Δt/τ_d) in the metadata and as every cell’s g', async () => {
    // Prepare: the fixture's period is 50/1000 s (20 Hz).
    const rt = memoryRuntime([await fixtureCellSet('a.isxd')]);

    // Act
    const report = await rt.run(parseToolParams({ tau_decay: '0.4' }), DEFAULT_JOB_OPTIONS);

    // Assess
    const g = Math.exp(-0.05 / 0.4);
    expect(report.job.plan.files[0].gFromTau).toEqual([g]);
    const meta = cellSetMetadata(rt.outputs);
    expect(meta.deconvolution.resolved.g.value).toEqual([g]);
    expect(meta.deconvolution.resolved.g.period_s).toBe(0.05);
    expect(meta.deconvolution.params.tau_decay).toBe(0.4);
    const cells = report.files[0].outputs.cells;
    expect(cells).toHaveLength(3);
    for (const c of cells) {
      // p = 1 OASIS uses fl32(g) (deconvolution-algorithms.md §1).
      expect(c.g).toEqual([Math.fround(g)]);
      expect(c.tauDecaySeconds).toBeCloseTo(0.4, 6);
      expect(c.tauRiseSeconds).toBeNull();
    }
    expect(meta.deconvolution.cells.map((c: { g: number[] }) => c.g)).toEqual(
      cells.map((c) => c.g),
    );
  });

  it('p = 2: g = [d + r, −d·r] with d = exp(−Δt/τ_d), r = exp(−Δt/τ_r)', async () => {
    // Prepare
    const rt = memoryRuntime([await fixtureCellSet('a.isxd')]);

    // Act
    const report = await rt.run(
      parseToolParams({ p: 2, tau_decay: 0.4, tau_rise: 0.1 }),
      DEFAULT_JOB_OPTIONS,
    );

    // Assess
    const d = Math.exp(-0.05 / 0.4);
    const r = Math.exp(-0.05 / 0.1);
    const meta = cellSetMetadata(rt.outputs);
    expect(meta.deconvolution.resolved.g.value).toEqual([d + r, -d * r]);
    for (const c of report.files[0].outputs.cells) {
      expect(c.g[0]).toBeCloseTo(d + r, 12);
      expect(c.g[1]).toBeCloseTo(-d * r, 12);
      expect(c.tauDecaySeconds).toBeCloseTo(0.4, 9);
      expect(c.tauRiseSeconds).toBeCloseTo(0.1, 9);
    }
    expect(meta.deconvolution.cells[0].tau_decay_s).toBeCloseTo(0.4, 9);
    expect(meta.deconvolution.cells[0].tau_rise_s).toBeCloseTo(0.1, 9);
  });

  it('converts with each file’s own period (10 Hz: exp(−0.1/0.4))', async () => {
    // Prepare
    const rt = memoryRuntime([await fixtureCellSet('a.isxd', { period: { num: 1, den: 10 } })]);

    // Act
    const report = await rt.run(parseToolParams({ tau_decay: 0.4 }), DEFAULT_JOB_OPTIONS);

    // Assess
    expect(report.job.plan.files[0].gFromTau).toEqual([Math.exp(-0.1 / 0.4)]);
  });
});

describe('runWarnings', () => {
  it('warns when --accepted-only leaves no cell, naming the statuses', async () => {
    // Prepare: all three cells undecided.
    const rt = memoryRuntime([
      await fixtureCellSet('a.isxd', { statuses: ['undecided', 'undecided', 'rejected'] }),
    ]);

    // Act
    const report = await rt.run(parseToolParams({}), parseJobOptions({ acceptedOnly: 'accepted' }));

    // Assess
    const warnings = runWarnings(
      report.job.plan,
      report.files.map((f) => f.outputs),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^--accepted-only accepted left no cell to deconvolve: none of the 3 cells is accepted \(2 undecided, 1 rejected\)/,
    );
    expect(warnings[0]).toContain('--accepted-only accepted+undecided');
    // The same words in the file's output_metadata.json entry (what an AWS user gets).
    const meta = JSON.parse(new TextDecoder().decode(rt.outputs.get('output_metadata.json')));
    expect(meta['cellset_denoised.000'].deconvolution.warnings).toEqual(warnings);
  });

  it('says nothing for an ordinary run, and names dense cells pointing to --event-threshold-sn', async () => {
    // Prepare
    const rt = memoryRuntime([await fixtureCellSet('a.isxd')]);
    const report = await rt.run(parseToolParams({}), DEFAULT_JOB_OPTIONS);
    const valid = report.job.plan.files[0].numTimes;
    const cells = report.files[0].outputs.cells;
    const share = (c: (typeof cells)[number]) => c.numEvents / valid;

    // Act
    const plain = runWarnings(report.job.plan, [report.files[0].outputs]);
    // The same run with one cell's count pushed over 30 % of its frames.
    const dense = runWarnings(report.job.plan, [
      {
        ...report.files[0].outputs,
        cells: cells.map((c, i) => (i === 1 ? { ...c, numEvents: Math.ceil(0.31 * valid) } : c)),
      },
    ]);

    // Assess
    expect(cells.every((c) => share(c) <= 0.3)).toBe(true);
    expect(plain).toEqual([]);
    expect(dense).toHaveLength(1);
    expect(dense[0]).toMatch(
      /^1 cell\(s\) have events on more than 30 % of their valid frames \(C1 31 %\)/,
    );
    expect(dense[0]).toContain('--event-threshold-sn K');
  });
});
