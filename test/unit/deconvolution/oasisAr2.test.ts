import { describe, expect, it } from 'vitest';
import type { Ar2Options } from '../../../lib/deconvolution/oasisAr2.js';
import { ar2Kernel, ar2Roots, constrainedOasisAr2 } from '../../../lib/deconvolution/oasisAr2.js';
import { DeconvolutionError } from '../../../lib/errors.js';
import { genData } from '../../helpers/genData.js';
import { correlation as corr } from '../../helpers/numeric.js';

const G: [number, number] = [1.7, -0.71];
const L1: Ar2Options = { optimizeB: true, bNonneg: true, optimizeG: 0, penalty: 1, sMin: null };

/** A high-SNR AR(2) trace from CaImAn's generator, as float32. */
function highSnrTrace(T: number, seed: number) {
  const data = genData({ g: G, sn: 0.05, T, b: 2, firerate: 1, framerate: 30, seed });
  return { y: Float32Array.from(data.y[0]), calcium: data.calcium[0] };
}

describe('ar2Roots / ar2Kernel', () => {
  it('gives the decay and rise roots and the AR(2) impulse response', () => {
    // Act
    const { d, r } = ar2Roots(G[0], G[1]);
    const h = ar2Kernel(G[0], G[1], d, r, 4);
    // Assess
    expect(d + r).toBeCloseTo(1.7, 14);
    expect(d * r).toBeCloseTo(0.71, 14);
    expect(h[0]).toBeCloseTo(1, 14);
    expect(h[1]).toBeCloseTo(1.7, 14);
    expect(h[2]).toBeCloseTo(1.7 * 1.7 - 0.71, 13);
  });

  it('scales the double-root kernel by d (g11_k = k·d^k)', () => {
    // Prepare: g₁² + 4g₂ = 0 exactly, d = r = 0.5
    const { d, r } = ar2Roots(1, -0.25);
    // Act
    const h = ar2Kernel(1, -0.25, d, r, 3);
    // Assess
    expect(d).toBe(0.5);
    [0.5, 2 * 0.25, 3 * 0.125].forEach((v, k) => {
      expect(h[k]).toBeCloseTo(v, 14);
    });
  });
});

describe('constrainedOasisAr2', () => {
  it('recovers the calcium of a high-SNR AR(2) trace (g = 1.7, −0.71)', () => {
    // Prepare
    const { y, calcium } = highSnrTrace(3000, 11);
    // Act
    const res = constrainedOasisAr2(y, G, 0.05, L1);
    // Assess
    expect(corr(res.c, calcium)).toBeGreaterThanOrEqual(0.99);
    expect(res.b).toBeGreaterThan(1.8);
    expect(res.b).toBeLessThan(2.2);
    expect(res.lam).toBeGreaterThan(0);
    expect(res.d).toBeCloseTo(ar2Roots(G[0], G[1]).d, 14);
    for (const v of res.s) expect(Number.isFinite(v)).toBe(true);
  });

  it('keeps the L0 solution (s_min = 0 and s_min > 0) close to the truth with s zeroed below float32 ε', () => {
    // Prepare
    const { y, calcium } = highSnrTrace(2000, 12);
    for (const sMin of [0, 0.3]) {
      // Act
      const res = constrainedOasisAr2(y, G, 0.05, { ...L1, penalty: 0, sMin });
      // Assess
      expect(corr(res.c, calcium)).toBeGreaterThanOrEqual(0.98);
      for (const v of res.s) expect(v === 0 || v >= 1.1920929e-7).toBe(true);
    }
  });

  it('gives bit-identical results for null and all-one weights', () => {
    // Prepare
    const { y } = highSnrTrace(1500, 13);
    const ones = new Uint8Array(y.length).fill(1);
    // Act
    const plain = constrainedOasisAr2(y, G, 0.05, L1);
    const weighted = constrainedOasisAr2(y, G, 0.05, { ...L1, weights: ones });
    // Assess
    expect(weighted.c).toEqual(plain.c);
    expect(weighted.s).toEqual(plain.s);
    expect(weighted.b).toBe(plain.b);
    expect(weighted.lam).toBe(plain.lam);
  });

  it('ignores NaN frames marked as gaps and still recovers the calcium elsewhere', () => {
    // Prepare
    const { y, calcium } = highSnrTrace(3000, 14);
    const weights = new Uint8Array(y.length).fill(1);
    for (const [from, to] of [
      [1000, 1040],
      [2985, 3000],
    ]) {
      for (let t = from; t < to; t++) {
        weights[t] = 0;
        y[t] = Number.NaN;
      }
    }
    // Act
    const res = constrainedOasisAr2(y, G, 0.05, { ...L1, weights });
    // Assess
    for (const v of res.c) expect(Number.isFinite(v)).toBe(true);
    for (const v of res.s) expect(Number.isFinite(v)).toBe(true);
    const keep = (a: ArrayLike<number>) => Array.from(a).filter((_, t) => weights[t] === 1);
    expect(corr(keep(res.c), keep(calcium))).toBeGreaterThanOrEqual(0.98);
    expect(Number.isFinite(res.b)).toBe(true);
  });

  it('raises DeconvolutionError where CaImAn raises', () => {
    // Prepare
    const y = Float32Array.from({ length: 100 }, (_, t) => Math.sin(t));
    const cases: { g: [number, number]; y: Float32Array; code: string }[] = [
      { g: [1.0, -0.5], y, code: 'Ar2Roots' },
      { g: [-0, -0], y, code: 'Ar2Roots' },
      { g: [0.5, 0.1], y, code: 'Ar2Roots' },
      { g: G, y: y.subarray(0, 4), code: 'TraceTooShort' },
    ];
    for (const k of cases) {
      // Act
      let caught: unknown;
      try {
        constrainedOasisAr2(k.y, k.g, 0.2, L1);
      } catch (err) {
        caught = err;
      }
      // Assess
      expect(caught).toBeInstanceOf(DeconvolutionError);
      expect((caught as DeconvolutionError).code).toBe(k.code);
    }
  });
});
