import { describe, expect, it } from 'vitest';
import { cvxpyFoopsi } from '../../../../lib/deconvolution/cvx/cvxpyFoopsi.js';
import { applyG } from '../../../../lib/deconvolution/cvx/problem.js';
import { DeconvolutionError, InvalidParameterError } from '../../../../lib/errors.js';
import { arTrace, maxAbs, maxAbsDiff } from './fixtures.js';

const DEFAULTS = { bl: null, c1: null, basNonneg: true, solvers: ['ECOS', 'SCS'] } as const;

function opts(over: Partial<Parameters<typeof cvxpyFoopsi>[3]> = {}) {
  return { ...DEFAULTS, solvers: [...DEFAULTS.solvers] as ['ECOS', 'SCS'], ...over };
}

function residualNorm(y: Float64Array, c: Float64Array, b: number, c1: number, d: number): number {
  let v = 0;
  for (let t = 0; t < y.length; t++) {
    const r = y[t] - c[t] - b - c1 * d ** t;
    v += r * r;
  }
  return Math.sqrt(v);
}

describe('cvxpyFoopsi', () => {
  it('solves the primary problem: sp = Gc in full, noise ball active, b and c1 ≥ 0', () => {
    // Prepare
    const y = arTrace(120, [0.9], 0.2, 3, 21);
    // Act
    const r = cvxpyFoopsi(y, [0.9], 0.2, opts());
    // Assess
    expect(r.problem).toBe('primary');
    expect(r.status).toBe('optimal');
    expect(r.solver).toBe('ECOS');
    const sp = new Float64Array(120);
    applyG(Float64Array.from([0.9]), r.c, sp);
    expect(maxAbsDiff(sp, r.sp)).toBe(0);
    expect(r.sp[0]).toBe(r.c[0]);
    expect(residualNorm(y, r.c, r.bl, r.c1, 0.9)).toBeCloseTo(0.2 * Math.sqrt(120), 6);
    expect(r.bl).toBeGreaterThan(2.5);
    expect(r.c1).toBeGreaterThan(-1e-8);
    expect(Math.min(...r.sp)).toBeGreaterThan(-1e-8);
  });

  it('returns given bl and c1 as the constants they are', () => {
    const y = arTrace(100, [0.9], 0.2, 3, 22);
    const r = cvxpyFoopsi(y, [0.9], 0.3, opts({ bl: 3, c1: 0.25 }));
    expect(r.bl).toBe(3);
    expect(r.c1).toBe(0.25);
    expect(r.problem).toBe('primary');
    expect(residualNorm(y, r.c, 3, 0.25, 0.9)).toBeCloseTo(0.3 * 10, 6);
  });

  it('falls back to the penalised problem when the noise ball is infeasible', () => {
    // Prepare: sn far below the real noise
    const y = arTrace(80, [0.9], 0.2, 3, 23);
    // Act
    const r = cvxpyFoopsi(y, [0.9], 0.002, opts());
    // Assess
    expect(r.problem).toBe('fallback');
    expect(r.status).toBe('primal infeasible -> fallback optimal');
    expect(residualNorm(y, r.c, r.bl, r.c1, 0.9)).toBeGreaterThan(0.002 * Math.sqrt(80));
    expect(Math.min(...r.sp)).toBeGreaterThan(-1e-8 * maxAbs(r.sp));
  });

  it('uses one solver named twice for both problems (no other solver)', () => {
    // Prepare: the infeasible noise ball of the test above
    const y = arTrace(80, [0.9], 0.2, 3, 23);
    // Act
    const r = cvxpyFoopsi(y, [0.9], 0.002, opts({ solvers: ['SCS', 'SCS'] }));
    // Assess
    expect(r.problem).toBe('fallback');
    expect(r.solver).toBe('SCS');
    expect(r.status).toMatch(/-> fallback optimal/);
  });

  it('falls back when a huge given baseline forces Gc < 0', () => {
    const y = arTrace(60, [0.9], 0.2, 3, 24);
    const r = cvxpyFoopsi(y, [0.9], 0.2, opts({ bl: 50 }));
    expect(r.problem).toBe('fallback');
    expect(r.bl).toBe(50);
  });

  it('gives the same answer with ECOS, CVXOPT and SCS (within 1e-4·max)', () => {
    const y = arTrace(70, [1.2, -0.35], 0.15, 1, 25);
    const e = cvxpyFoopsi(y, [1.2, -0.35], 0.15, opts());
    const c = cvxpyFoopsi(y, [1.2, -0.35], 0.15, opts({ solvers: ['CVXOPT', 'SCS'] }));
    const s = cvxpyFoopsi(y, [1.2, -0.35], 0.15, opts({ solvers: ['SCS', 'ECOS'] }));
    expect(c.solver).toBe('CVXOPT');
    expect(s.solver).toBe('SCS');
    expect(maxAbsDiff(e.c, c.c)).toBeLessThan(1e-6 * maxAbs(e.c));
    expect(maxAbsDiff(e.c, s.c)).toBeLessThan(1e-4 * maxAbs(e.c));
    expect(maxAbsDiff(e.sp, s.sp)).toBeLessThan(1e-4 * maxAbs(e.sp));
  });

  it('takes b ≥ min(y) when basNonneg is false', () => {
    const y = arTrace(80, [0.9], 0.2, -5, 26);
    const r = cvxpyFoopsi(y, [0.9], 0.2, opts({ basNonneg: false }));
    expect(r.problem).toBe('primary');
    expect(r.bl).toBeLessThan(-4);
    expect(r.bl).toBeGreaterThanOrEqual(Math.min(...y) - 1e-8);
  });

  it('rejects bad parameters by name', () => {
    const y = arTrace(20, [0.9], 0.2, 3, 27);
    const call = (g: number[], sn: number) => () => cvxpyFoopsi(y, g, sn, opts());
    expect(call([], 0.2)).toThrow(InvalidParameterError);
    expect(call([0.9], -1)).toThrow(expect.objectContaining({ parameter: 'sn' }));
    expect(call([Number.NaN], 0.2)).toThrow(expect.objectContaining({ parameter: 'g' }));
    expect(() => cvxpyFoopsi(Float64Array.from([1, Number.NaN]), [0.9], 0.2, opts())).toThrow(
      expect.objectContaining({ parameter: 'fluor' }),
    );
  });

  it('raises DeconvolutionError ComplexRoot when the dominant AR root is complex', () => {
    const y = arTrace(20, [0.9], 0.2, 3, 28);
    expect(() => cvxpyFoopsi(y, [1, -0.5], 0.2, opts())).toThrow(DeconvolutionError);
    expect(() => cvxpyFoopsi(y, [1, -0.5], 0.2, opts())).toThrow(
      expect.objectContaining({ code: 'ComplexRoot' }),
    );
  });
});
