import { describe, expect, it } from 'vitest';
import { solveAdmm } from '../../../../lib/deconvolution/cvx/admm.js';
import { solveInteriorPoint } from '../../../../lib/deconvolution/cvx/interiorPoint.js';
import { applyG, gkMul, gkTMul, residual } from '../../../../lib/deconvolution/cvx/problem.js';
import { arTrace, maxAbs, maxAbsDiff, syntheticProblem } from './fixtures.js';

function norm2(a: Float64Array): number {
  let v = 0;
  for (let i = 0; i < a.length; i++) v += a[i] * a[i];
  return Math.sqrt(v);
}

const RANDOM_CASES: Array<{ g: number[]; sn: number; seed: number; T: number }> = [
  { g: [0.9], sn: 0.2, seed: 1, T: 60 },
  { g: [0.8], sn: 0.1, seed: 2, T: 50 },
  { g: [1.3, -0.42], sn: 0.15, seed: 3, T: 60 },
];

describe('interior-point method (ECOS / CVXOPT)', () => {
  it('reaches optimality: residuals, duality gap and complementarity at 1e-8', () => {
    // Prepare
    const y = arTrace(80, [0.9], 0.2, 1, 7);
    const P = syntheticProblem('primary', y, [0.9], 0.2);
    // Act
    const sol = solveInteriorPoint(P);
    // Assess
    expect(sol.status).toBe('optimal');
    const rp = new Float64Array(P.m);
    gkMul(P, sol.x, rp);
    for (let i = 0; i < P.m; i++) rp[i] += sol.s[i] - P.h[i];
    const rd = new Float64Array(P.n);
    gkTMul(P, sol.z, rd);
    for (let i = 0; i < P.n; i++) rd[i] += P.q[i];
    expect(norm2(rp) / Math.max(1, norm2(P.h))).toBeLessThan(1e-8);
    expect(norm2(rd) / Math.max(1, norm2(P.q))).toBeLessThan(1e-8);
    const gap = Math.abs(sol.pcost - sol.dcost);
    expect(gap / Math.abs(sol.pcost)).toBeLessThan(1e-7);
    let sz = 0;
    for (let i = 0; i < P.m; i++) sz += sol.s[i] * sol.z[i];
    expect(sz).toBeLessThan(1e-7 * Math.abs(sol.pcost));
  });

  it('satisfies the constraints of §7: Gc ≥ 0, ‖y − c − b − c1·dᵗ‖ ≤ sn√T (active), b, c1 ≥ 0', () => {
    const y = arTrace(80, [0.9], 0.2, 1, 7);
    const P = syntheticProblem('primary', y, [0.9], 0.2);
    const sol = solveInteriorPoint(P);
    const c = sol.x.subarray(0, P.T);
    const sp = new Float64Array(P.T);
    applyG(P.g, c, sp);
    const r = new Float64Array(P.T);
    residual(P, sol.x, r);
    const scale = maxAbs(sp);
    expect(Math.min(...sp)).toBeGreaterThan(-1e-8 * scale);
    expect(norm2(r)).toBeCloseTo(P.radius, 7);
    expect(sol.x[P.idxB]).toBeGreaterThan(-1e-8);
    expect(sol.x[P.idxC1]).toBeGreaterThan(-1e-8);
    expect(sp.reduce((a, b) => a + b, 0)).toBeCloseTo(sol.pcost, 10);
  });

  it('certifies a primary problem with a tiny noise ball as infeasible', () => {
    const y = arTrace(60, [0.9], 0.2, 1, 4);
    const P = syntheticProblem('primary', y, [0.9], 0.001);
    expect(solveInteriorPoint(P).status).toBe('infeasible');
  });
});

describe('operator splitting (SCS) agrees with the interior-point method', () => {
  it.each(RANDOM_CASES)('primary, g = $g, seed $seed: c within 1e-4·max', ({ g, sn, seed, T }) => {
    // Prepare
    const y = arTrace(T, g, sn, 2, seed);
    const P = syntheticProblem('primary', y, g, sn);
    // Act
    const ipm = solveInteriorPoint(P);
    const admm = solveAdmm(P);
    // Assess
    expect(ipm.status).toBe('optimal');
    expect(admm.status).toBe('optimal');
    const cI = ipm.x.subarray(0, T);
    const cA = admm.x.subarray(0, T);
    expect(maxAbsDiff(cI, cA)).toBeLessThan(1e-4 * maxAbs(cI));
    expect(Math.abs(admm.pcost - ipm.pcost)).toBeLessThan(1e-4 * ipm.pcost);
  });

  it('fallback (penalised) problem: same objective within 1e-5', () => {
    const y = arTrace(50, [0.9], 0.2, 2, 6);
    const P = syntheticProblem('fallback', y, [0.9], 0.2);
    const ipm = solveInteriorPoint(P);
    const admm = solveAdmm(P);
    expect(ipm.status).toBe('optimal');
    expect(admm.status).toBe('optimal');
    expect(Math.abs(admm.pcost - ipm.pcost)).toBeLessThan(1e-5 * ipm.pcost);
  });

  it('also detects the infeasible primary problem', () => {
    const y = arTrace(60, [0.9], 0.2, 1, 4);
    const P = syntheticProblem('primary', y, [0.9], 0.001);
    expect(solveAdmm(P).status).toBe('infeasible');
  });
});
