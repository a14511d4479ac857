import { describe, expect, it } from 'vitest';
import { projectCone } from '../../../../lib/deconvolution/cvx/admm.js';
import {
  applyW,
  applyWinv,
  computeScaling,
  jordanDiv,
  jordanProd,
  maxStep,
  newScaling,
} from '../../../../lib/deconvolution/cvx/cones.js';
import { StructuredKkt } from '../../../../lib/deconvolution/cvx/kkt.js';
import { gkMul, gkTMul } from '../../../../lib/deconvolution/cvx/problem.js';
import { arTrace, maxAbsDiff, seededUniform, syntheticProblem } from './fixtures.js';

const dims = { nl: 3, m: 7 };

/** s, z strictly inside ℝ₊³ × Q⁴. */
function interiorPair(seed: number): [Float64Array, Float64Array] {
  const rnd = seededUniform(seed);
  const s = Float64Array.from([0.5, 2, 1e-3, 3, 0.4, -1.1, 0.2]);
  const z = Float64Array.from([1, 0.1, 7, 2, -0.5, 0.3, 1.2]);
  for (let i = 0; i < 7; i++) {
    s[i] += 0.01 * rnd();
    z[i] += 0.01 * rnd();
  }
  return [s, z];
}

describe('cone algebra', () => {
  it('NT scaling satisfies λ = W·z = W⁻¹·s and W·W⁻¹ = I', () => {
    // Prepare
    const [s, z] = interiorPair(1);
    const sc = newScaling(dims);
    const a = new Float64Array(7);
    const b = new Float64Array(7);
    // Act
    const ok = computeScaling(dims, s, z, sc);
    applyWinv(dims, sc, s, a);
    applyW(dims, sc, a, b);
    // Assess
    expect(ok).toBe(true);
    expect(maxAbsDiff(a, sc.lambda)).toBeLessThan(1e-13);
    expect(maxAbsDiff(b, s)).toBeLessThan(1e-13);
  });

  it('refuses points outside the cone', () => {
    const sc = newScaling(dims);
    const s = Float64Array.from([1, 1, 1, 1, 2, 0, 0]);
    const z = Float64Array.from([1, 1, 1, 1, 0, 0, 0]);
    expect(computeScaling(dims, s, z, sc)).toBe(false);
  });

  it('jordanDiv inverts jordanProd', () => {
    const [s, z] = interiorPair(2);
    const p = new Float64Array(7);
    const back = new Float64Array(7);
    jordanProd(dims, s, z, p);
    jordanDiv(dims, s, p, back);
    expect(maxAbsDiff(back, z)).toBeLessThan(1e-13);
  });

  it('maxStep stops exactly on the boundary of the second-order cone', () => {
    // Prepare: u = e, du pointing out of the cone
    const u = Float64Array.from([1, 1, 1, 1, 0, 0, 0]);
    const du = Float64Array.from([0, 0, 0, -1, 1, 0, 0]);
    // Act
    const a = maxStep(dims, u, du);
    // Assess: (1 − a) = a  ⇒  a = 0.5
    expect(a).toBeCloseTo(0.5, 14);
    expect(maxStep(dims, u, Float64Array.from([1, 0, 0, 1, 0.5, 0, 0]))).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(maxStep(dims, u, Float64Array.from([-4, 0, 0, 0, 0, 0, 0]))).toBeCloseTo(0.25, 14);
  });

  it('projectCone projects onto ℝ₊ × Q', () => {
    const u = Float64Array.from([-1, 2, 0, 0, 3, 4, 0]);
    projectCone(3, 7, u, 0);
    // (0, (3,4,0)): ((0 + 5)/2)·(1, (0.6, 0.8, 0))
    expect(Array.from(u)).toEqual([0, 2, 0, 2.5, 1.5, 2, 0]);
  });
});

describe('StructuredKkt', () => {
  it.each(['primary', 'fallback'] as const)(
    'solves [0 Gkᵀ; Gk −W²](x, z) = (bx, bz) to rounding (%s)',
    (kind) => {
      // Prepare
      const y = arTrace(40, [1.3, -0.4], 0.2, 2, 9);
      const P = syntheticProblem(kind, y, [1.3, -0.4], 0.2);
      const d = { nl: P.nl, m: P.m };
      const rnd = seededUniform(4);
      const s = new Float64Array(P.m).map(() => 0.1 + rnd());
      const z = new Float64Array(P.m).map(() => 0.1 + rnd());
      s[P.nl] = 30;
      z[P.nl] = 25;
      const sc = newScaling(d);
      computeScaling(d, s, z, sc);
      const dLin = new Float64Array(P.nl);
      for (let i = 0; i < P.nl; i++) dLin[i] = 1 / (sc.w[i] * sc.w[i]);
      const kkt = new StructuredKkt(P);
      const bx = new Float64Array(P.n).map(() => rnd() - 0.5);
      const bz = new Float64Array(P.m).map(() => rnd() - 0.5);
      const x = new Float64Array(P.n);
      const zz = new Float64Array(P.m);
      // Act
      kkt.factor(dLin, 0, sc, true);
      kkt.solveKkt(bx, bz, x, zz, 0);
      // Assess
      const r1 = new Float64Array(P.n);
      gkTMul(P, zz, r1);
      const r2 = new Float64Array(P.m);
      const w1 = new Float64Array(P.m);
      const w2 = new Float64Array(P.m);
      gkMul(P, x, r2);
      applyW(d, sc, zz, w1);
      applyW(d, sc, w1, w2);
      for (let i = 0; i < P.m; i++) r2[i] -= w2[i];
      expect(maxAbsDiff(r1, bx)).toBeLessThan(1e-10);
      expect(maxAbsDiff(r2, bz)).toBeLessThan(1e-10);
    },
  );
});
