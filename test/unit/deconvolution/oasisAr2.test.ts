import { describe, expect, it } from 'vitest';
import type { Ar2Options, NnlsStats } from '../../../lib/deconvolution/oasisAr2.js';
import { ar2Kernel, ar2Roots, constrainedOasisAr2 } from '../../../lib/deconvolution/oasisAr2.js';
import { DeconvolutionError } from '../../../lib/errors.js';
import { mulberry32 as rng } from '../../../lib/random.js';
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

  it('solves windows with NaN gaps as the dense weighted path (KᵀWK, Cholesky) does', () => {
    // Kernels: d = 0.962 (bench), 0.95, the double root 0.9 (κ = d) and d = 0.999 (w = T).
    const kernels: { g: [number, number]; T: number }[] = [
      { g: G, T: 4000 },
      { g: [1.55, -0.57], T: 4000 },
      { g: [1.8, -0.81], T: 4000 },
      { g: [1.799, -0.7992], T: 2500 },
    ];
    for (const [q, { g, T }] of kernels.entries()) {
      for (const kind of ['1%', '3%', 'clustered'] as const) {
        // Prepare
        const data = genData({ g, sn: 0.3, T, b: 10, firerate: 0.5, framerate: 30, seed: 20 + q });
        const y = Float32Array.from(data.y[0]);
        const u = rng(40 + q);
        const weights = new Uint8Array(T).fill(1);
        if (kind === 'clustered') {
          for (let c = 0; c < 8; c++) {
            const a = Math.floor(u() * T);
            const len = 1 + Math.floor(u() * 60);
            for (let t = a; t < Math.min(T, a + len); t++) weights[t] = 0;
          }
        } else {
          const f = kind === '1%' ? 0.01 : 0.03;
          for (let t = 0; t < T; t++) if (u() < f) weights[t] = 0;
        }
        for (let t = 0; t < T; t++) if (weights[t] === 0) y[t] = Number.NaN;
        const opts: Ar2Options = { ...L1, weights };
        // Act
        const fast = constrainedOasisAr2(y, g, 0.3, opts);
        const dense = constrainedOasisAr2(y, g, 0.3, { ...opts, denseGaps: true });
        // Assess
        // Where G_PP of a window is singular (P ∋ p, p+1, p+2 with p a gap, ar2Segments.ts (7))
        // the optimum value and fit are unique but s is not: s may differ by null moves
        // α·(e_p − g₁e_{p+1} − g₂e_{p+2}) (K times it is 0 after p). Removed gap by gap, what is
        // left of Δs must be rounding (1e-8·max s: the d = 0.999 windows are 4 997 frames long).
        let smax = 0;
        let tie = false;
        const r = new Float64Array(T + 2);
        for (let t = 0; t < T; t++) {
          smax = Math.max(smax, dense.s[t]);
          r[t] = fast.s[t] - dense.s[t];
        }
        for (let t = 0; t < T; t++) {
          if (weights[t] === 1) continue;
          const alpha = r[t];
          tie ||= Math.abs(alpha) > 1e-8 * smax;
          r[t] = 0;
          r[t + 1] += g[0] * alpha;
          r[t + 2] += g[1] * alpha;
        }
        for (let t = 0; t < T; t++) expect(Math.abs(r[t])).toBeLessThanOrEqual(1e-8 * smax);
        // c at observed frames sees a null move only through the kernel truncation at w
        // (§6.3 step 6) and the committed update of later windows (Δ frames shorter):
        // ≤ d^{w−Δ}·max|c|; without a tie, rounding only.
        const { d } = ar2Roots(g[0], g[1]);
        const w = Math.min(T, Math.floor(Math.max(200, -5 / Math.log(d))));
        const tol = tie ? 1e-9 + d ** (w - 100) : 1e-9;
        let cmax = 0;
        for (const v of dense.c) cmax = Math.max(cmax, Math.abs(v));
        for (let t = 0; t < T; t++) {
          if (weights[t] === 0) continue;
          expect(Math.abs(fast.c[t] - dense.c[t])).toBeLessThanOrEqual(tol * cmax);
        }
        expect(Math.abs(fast.b - dense.b)).toBeLessThanOrEqual(tol * Math.abs(dense.b));
        expect(fast.s.some((v) => v > 0)).toBe(true);
      }
    }
  });
  it('keeps the NNLS iterations per window bounded for d near 1 with NaN gaps (no rounding cycles)', () => {
    // Issue 12: d = 0.999 (w = 4 997), a slow rise (r = 0.9) and 1 % NaN frames. ℓ's rounding
    // residue (~1e-7, b ~ 1e6) above TOL made the active set re-add a column it could not use
    // until the cap of m iterations: 51 275 iterations here (2 851 in one window), ~9 s.
    // Prepare
    const T = 8000;
    const g: [number, number] = [0.999 + 0.9, -0.999 * 0.9];
    const data = genData({ g, sn: 0.5, T, b: 10, firerate: 3, framerate: 30, seed: 12 });
    const y = Float32Array.from(data.y[0]);
    const weights = new Uint8Array(T).fill(1);
    const u = rng(100);
    for (let k = 0; k < 0.01 * T; ) {
      const t = Math.floor(u() * T);
      if (weights[t] === 0) continue;
      weights[t] = 0;
      y[t] = Number.NaN;
      k++;
    }
    const clean = Float32Array.from(data.y[0]);
    const gapStats: NnlsStats = { blocks: 0, iterations: 0, maxIterations: 0 };
    const cleanStats: NnlsStats = { blocks: 0, iterations: 0, maxIterations: 0 };
    // Act
    const res = constrainedOasisAr2(y, g, 0.5, { ...L1, weights, stats: gapStats });
    constrainedOasisAr2(clean, g, 0.5, { ...L1, stats: cleanStats });
    // Assess
    expect(gapStats.blocks).toBe(cleanStats.blocks);
    expect(gapStats.maxIterations).toBeLessThanOrEqual(20);
    expect(gapStats.iterations).toBeLessThanOrEqual(4 * cleanStats.iterations);
    const keep = (a: ArrayLike<number>) => Array.from(a).filter((_, t) => weights[t] === 1);
    expect(corr(keep(res.c), keep(data.calcium[0]))).toBeGreaterThanOrEqual(0.9);
  });
  it('follows the documented kernel for (nearly) equal roots, up to the last frame (§6.1, §6.3 step 6)', () => {
    // Roots 0.9 and 0.9 + 1e-7; g₁² + 4g₂ one ulp above 0 (an estimated double root after the
    // fudge factor, d − r = 2.1e-8); the exact double root (g11_k = k·d^k, scaled by d).
    const cases: [number, number][] = [
      [0.9 + 0.9000001, -0.9 * 0.9000001],
      [1.764, -0.777924],
      [1.8, -0.81],
    ];
    const { y } = highSnrTrace(1537, 3);
    const c: Float64Array[] = [];
    for (const g of cases) {
      // Act
      const res = constrainedOasisAr2(y, g, 0.05, L1);
      // Assess: c = Σ_{s_t > 1e-9} s_t·h shifted to t, h_k = g11_{k+1} by the documented
      // exp/log formula, truncated at w = 200 frames.
      const { d, r } = ar2Roots(g[0], g[1]);
      const w = 200;
      const h = ar2Kernel(g[0], g[1], d, r, w);
      const T = y.length;
      const ref = new Float64Array(T);
      for (let t = 0; t < T; t++) {
        if (!(res.s[t] > 1e-9)) continue;
        for (let k = 0; k < Math.min(w, T - t); k++) ref[t + k] += res.s[t] * h[k];
      }
      let cmax = 0;
      for (const v of ref) cmax = Math.max(cmax, Math.abs(v));
      expect(cmax).toBeGreaterThan(1);
      // Rounding: the formula's own cancellation noise, ~ε/(d − r) relative (c follows g's
      // recursion, which has none), plus 1e-9.
      const tol = 1e-9 + (d === r ? 0 : (8 * Number.EPSILON) / (d - r));
      for (let t = 0; t < T; t++)
        expect(Math.abs(res.c[t] - ref[t])).toBeLessThanOrEqual(tol * cmax);
      expect(Math.abs(res.c[T - 1] - ref[T - 1])).toBeLessThanOrEqual(tol * Math.abs(ref[T - 1]));
      c.push(res.c);
    }
    // The kernel is continuous in d − r: nearly equal roots give the double root's calcium.
    let cmax = 0;
    for (const v of c[2]) cmax = Math.max(cmax, Math.abs(v));
    for (let t = 0; t < y.length; t++) {
      expect(Math.abs(c[0][t] - c[2][t])).toBeLessThanOrEqual(1e-5 * cmax);
    }
    expect(Math.abs(c[0][y.length - 1] / c[2][y.length - 1] - 1)).toBeLessThanOrEqual(1e-5);
  });
});
