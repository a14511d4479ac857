import { describe, expect, it } from 'vitest';
import {
  applyG,
  applyGt,
  dominantRoot,
  gkMul,
  gkTMul,
} from '../../../../lib/deconvolution/cvx/problem.js';
import { arTrace, seededUniform, syntheticProblem } from './fixtures.js';

function dot(a: Float64Array, b: Float64Array): number {
  let v = 0;
  for (let i = 0; i < a.length; i++) v += a[i] * b[i];
  return v;
}

describe('cvx problem operators', () => {
  it('applyG computes s_t = c_t − g1·c_{t−1} − g2·c_{t−2} with s_0 = c_0', () => {
    // Prepare
    const g = Float64Array.from([1.5, -0.6]);
    const c = Float64Array.from([1, 2, 4, 0]);
    const out = new Float64Array(4);
    // Act
    applyG(g, c, out);
    // Assess
    expect(Array.from(out)).toEqual([1, 2 - 1.5, 4 - 3 + 0.6, 0 - 6 + 1.2]);
  });

  it('applyGt is the adjoint of applyG', () => {
    const rnd = seededUniform(3);
    const g = Float64Array.from([1.2, -0.3]);
    const c = new Float64Array(17).map(() => rnd() - 0.5);
    const u = new Float64Array(17).map(() => rnd() - 0.5);
    const gc = new Float64Array(17);
    const gtu = new Float64Array(17);
    applyG(g, c, gc);
    applyGt(g, u, gtu);
    expect(dot(gc, u)).toBeCloseTo(dot(c, gtu), 12);
  });

  it.each(['primary', 'fallback'] as const)('gkTMul is the adjoint of gkMul (%s)', (kind) => {
    // Prepare
    const y = arTrace(23, [0.9], 0.2, 3, 5);
    const P = syntheticProblem(kind, y, [0.9], 0.2);
    const rnd = seededUniform(11);
    const x = new Float64Array(P.n).map(() => rnd() - 0.5);
    const z = new Float64Array(P.m).map(() => rnd() - 0.5);
    const gx = new Float64Array(P.m);
    const gtz = new Float64Array(P.n);
    // Act
    gkMul(P, x, gx);
    gkTMul(P, z, gtz);
    // Assess
    expect(dot(gx, z)).toBeCloseTo(dot(x, gtz), 12);
    expect(P.m).toBe(P.nl + 24);
    expect(P.idxT >= 0).toBe(kind === 'fallback');
  });

  it('builds h with the noise radius sn·√T (primary) and q = Σ(Gc)', () => {
    const y = arTrace(16, [0.9], 0.2, 3, 5);
    const P = syntheticProblem('primary', y, [0.9], 0.5);
    expect(P.h[P.nl]).toBeCloseTo(0.5 * 4, 14);
    expect(P.q[0]).toBeCloseTo(1 - 0.9, 14);
    expect(P.q[15]).toBe(1);
    const F = syntheticProblem('fallback', y, [0.9], 0.5);
    expect(F.q[F.idxT]).toBe(1);
    expect(F.q[15]).toBeCloseTo(0.5 / 500, 14);
  });
});

describe('dominantRoot', () => {
  it('is g1 for p = 1 and (g1 + √(g1² + 4g2))/2 for real AR(2) roots', () => {
    expect(dominantRoot(Float64Array.from([0.95]))).toEqual([0.95, 0]);
    const [d, im] = dominantRoot(Float64Array.from([1.7, -0.71]));
    expect(d).toBeCloseTo((1.7 + Math.sqrt(1.7 * 1.7 - 4 * 0.71)) / 2, 14);
    expect(im).toBe(0);
  });

  it('reports complex roots by their positive imaginary part (numpy ordering)', () => {
    const [re, im] = dominantRoot(Float64Array.from([1, -0.5]));
    expect(re).toBeCloseTo(0.5, 14);
    expect(im).toBeCloseTo(0.5, 14);
  });

  it('finds the largest real root for p = 3', () => {
    // (z − 0.9)(z − 0.5)(z + 0.2) = z³ − 1.2z² + 0.17z + 0.09
    const [d, im] = dominantRoot(Float64Array.from([1.2, -0.17, -0.09]));
    expect(d).toBeCloseTo(0.9, 10);
    expect(im).toBe(0);
  });
});
