import { describe, expect, it } from 'vitest';
import { Ar2SegmentSolver } from '../../../lib/deconvolution/ar2Segments.js';
import { activeSetNnls, createNnlsWorkspace, nnls } from '../../../lib/deconvolution/nnls.js';
import { mulberry32 as rng } from '../../../lib/random.js';
import { gaussSolve } from '../../helpers/numeric.js';

/** Kernels: distinct roots (d, r) = (0.95, 0.6), a double root d = r = 0.9 (κ = d), and d > 1. */
const KERNELS = [
  { g1: 1.55, g2: -0.57, kappa: 1 },
  { g1: 1.8, g2: -0.81, kappa: 0.9 },
  { g1: 1.35, g2: -0.303, kappa: 1 },
] as const;

/** Dense K = κ·A⁻¹ (n × n, row-major): K_{t,j} = κ·φ_{t−j}, φ the AR(2) impulse response. */
function denseKernel(g1: number, g2: number, kappa: number, n: number): Float64Array {
  const phi = new Float64Array(n);
  for (let i = 0; i < n; i++)
    phi[i] = i === 0 ? 1 : g1 * phi[i - 1] + (i > 1 ? g2 * phi[i - 2] : 0);
  const K = new Float64Array(n * n);
  for (let t = 0; t < n; t++) for (let j = 0; j <= t; j++) K[t * n + j] = kappa * phi[t - j];
  return K;
}

/** Kᵀv. */
function applyKt(K: Float64Array, n: number, v: Float64Array): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) for (let t = j; t < n; t++) out[j] += K[t * n + j] * v[t];
  return out;
}

/** Least squares on the columns P of K by normal equations and Gaussian elimination (reference). */
function denseLeastSquares(K: Float64Array, n: number, P: number[], y: Float64Array): number[] {
  const A = P.map((i) => P.map((j) => applyKt(K, n, columnOf(K, n, j))[i]));
  return gaussSolve(
    A,
    P.map((i) => applyKt(K, n, y)[i]),
  );
}

function columnOf(K: Float64Array, n: number, j: number): Float64Array {
  const col = new Float64Array(n);
  for (let t = 0; t < n; t++) col[t] = K[t * n + j];
  return col;
}

/** A window of n frames of ỹ starting at `start` inside a longer array, and a sorted mask. */
function randomWindow(seed: number, n: number, start: number) {
  const u = rng(seed);
  const yt = new Float64Array(start + n + 7);
  for (let t = 0; t < yt.length; t++) yt[t] = 2 * u() - 0.5;
  const frames: number[] = [];
  for (let t = 0; t < n; t++) if (u() < 0.4) frames.push(t);
  return { yt, pos: Int32Array.from(frames), u };
}

describe('Ar2SegmentSolver', () => {
  it('solves the least squares on P as the dense normal equations do', () => {
    for (const [q, { g1, g2, kappa }] of KERNELS.entries()) {
      for (const n of [60, 37]) {
        // Prepare
        const start = 5;
        const { yt, pos, u } = randomWindow(10 * q + n, n, start);
        const m = pos.length;
        const solver = new Ar2SegmentSolver(60);
        solver.setKernel(g1, g2, kappa);
        solver.setWindow(yt, start, n, pos, m);
        const inP: number[] = [];
        for (let a = 0; a < m; a++) {
          if (u() < 0.5) {
            solver.add(a);
            inP.push(a);
          }
        }
        const mu = new Float64Array(m);
        // Act
        solver.solve(mu);
        // Assess
        const K = denseKernel(g1, g2, kappa, n);
        const ref = denseLeastSquares(
          K,
          n,
          inP.map((a) => pos[a]),
          yt.subarray(start, start + n),
        );
        const scale = Math.max(...ref.map(Math.abs));
        inP.forEach((a, i) => {
          expect(Math.abs(mu[a] - ref[i])).toBeLessThan(1e-9 * scale);
        });
      }
    }
  });

  it('gives the gradient Kᵀ(ỹ − K s) off P for any s (spikes off P, zeros on P)', () => {
    for (const [q, { g1, g2, kappa }] of KERNELS.entries()) {
      // Prepare
      const n = 50;
      const { yt, pos, u } = randomWindow(100 + q, n, 0);
      const m = pos.length;
      const solver = new Ar2SegmentSolver(n);
      solver.setKernel(g1, g2, kappa);
      solver.setWindow(yt, 0, n, pos, m);
      const s = new Float64Array(m);
      const inP = new Uint8Array(m);
      for (let a = 0; a < m; a++) {
        s[a] = u() < 0.4 ? u() : 0;
        if (u() < 0.5) {
          solver.add(a);
          inP[a] = 1;
        }
      }
      const grad = new Float64Array(m);
      // Act
      solver.gradient(s, grad);
      // Assess
      const K = denseKernel(g1, g2, kappa, n);
      const full = new Float64Array(n);
      for (let a = 0; a < m; a++) full[pos[a]] = s[a];
      const r = new Float64Array(n);
      for (let t = 0; t < n; t++) {
        let c = 0;
        for (let j = 0; j <= t; j++) c += K[t * n + j] * full[j];
        r[t] = yt[t] - c;
      }
      const ref = applyKt(K, n, r);
      const kty = applyKt(K, n, yt.subarray(0, n));
      const scale = Math.max(...Array.from(ref, Math.abs));
      let checked = 0;
      for (let a = 0; a < m; a++) {
        expect(solver.rhsAt(pos[a])).toBeCloseTo(kty[pos[a]], 10);
        if (inP[a] === 1) continue;
        expect(Math.abs(grad[a] - ref[pos[a]])).toBeLessThan(1e-11 * scale);
        checked++;
      }
      expect(checked).toBeGreaterThan(3);
    }
  });

  it('drives the active-set NNLS to the dense Gram solution', () => {
    for (const [q, { g1, g2, kappa }] of KERNELS.entries()) {
      // Prepare
      const n = 40;
      const { yt, pos } = randomWindow(200 + q, n, 3);
      const m = pos.length;
      const solver = new Ar2SegmentSolver(n);
      solver.setKernel(g1, g2, kappa);
      solver.setWindow(yt, 3, n, pos, m);
      const K = denseKernel(g1, g2, kappa, n);
      const G = new Float64Array(m * m);
      const b = new Float64Array(m);
      const kty = applyKt(K, n, yt.subarray(3, 3 + n));
      for (let a = 0; a < m; a++) {
        b[a] = kty[pos[a]];
        const KtKa = applyKt(K, n, columnOf(K, n, pos[a]));
        for (let c = 0; c < m; c++) G[c * m + a] = KtKa[pos[c]];
      }
      const s = new Float64Array(m);
      // Act
      activeSetNnls(m, s, solver, createNnlsWorkspace(m));
      // Assess
      const ref = nnls(G, b);
      const scale = Math.max(...Array.from(ref));
      expect(scale).toBeGreaterThan(0);
      for (let a = 0; a < m; a++) {
        expect(s[a]).toBeGreaterThanOrEqual(0);
        expect(Math.abs(s[a] - ref[a])).toBeLessThan(1e-9 * scale);
      }
    }
  });
});

/** Kernels with gaps: those above and a slow one, d = 0.999, r = 0.8. */
const GAP_KERNELS = [...KERNELS, { g1: 1.799, g2: -0.7992, kappa: 1 }] as const;

/** Window weights: scattered (1 %, 3 %, 10 %) or clustered gaps, and a trailing gap run. */
function gapWeights(u: () => number, n: number, kind: number): Uint8Array {
  const w = new Uint8Array(n).fill(1);
  if (kind < 3) {
    const f = [0.01, 0.03, 0.1][kind];
    for (let t = 0; t < n; t++) if (u() < f) w[t] = 0;
    w[Math.floor(u() * n)] = 0;
  } else {
    for (let c = 0; c < 3; c++) {
      const a = Math.floor(u() * n);
      const len = 2 + Math.floor(u() * 8);
      for (let t = a; t < Math.min(n, a + len); t++) w[t] = 0;
    }
    for (let t = n - 3; t < n; t++) w[t] = 0;
  }
  return w;
}

/** Dense KᵀWK (n × n) and KᵀWy. */
function weightedSystem(K: Float64Array, n: number, w: Uint8Array, y: Float64Array) {
  const G = new Float64Array(n * n);
  const b = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    if (w[t] === 0) continue;
    for (let i = 0; i <= t; i++) {
      b[i] += K[t * n + i] * y[t];
      for (let j = 0; j <= t; j++) G[i * n + j] += K[t * n + i] * K[t * n + j];
    }
  }
  return { G, b };
}

/** ½‖W^{1/2}(y − K s)‖² and the fit W K s. */
function weightedCost(K: Float64Array, n: number, w: Uint8Array, y: Float64Array, s: Float64Array) {
  const fit = new Float64Array(n);
  let cost = 0;
  for (let t = 0; t < n; t++) {
    let c = 0;
    for (let j = 0; j <= t; j++) c += K[t * n + j] * s[j];
    fit[t] = w[t] * c;
    cost += 0.5 * w[t] * (y[t] - c) ** 2;
  }
  return { cost, fit };
}

describe('Ar2SegmentSolver with gaps (weights 0/1)', () => {
  it('solves the weighted least squares on P as the dense normal equations KᵀWK do', () => {
    let checked = 0;
    for (const [q, { g1, g2, kappa }] of GAP_KERNELS.entries()) {
      for (let kind = 0; kind < 4; kind++) {
        // Prepare: P includes gap frames, each segment has ≥ 2 observed frames (G_PP nonsingular)
        const n = 80;
        const start = 4;
        const { yt, pos, u } = randomWindow(300 + 10 * q + kind, n, start);
        const m = pos.length;
        const weights = new Uint8Array(yt.length).fill(1);
        weights.set(gapWeights(u, n, kind), start);
        const w = weights.subarray(start, start + n);
        const solver = new Ar2SegmentSolver(n);
        solver.setKernel(g1, g2, kappa);
        solver.setWindow(yt, start, n, pos, m, weights);
        const inP: number[] = [];
        let obsSinceLast = 0;
        for (let a = m - 1; a >= 0; a--) {
          let obs = obsSinceLast;
          for (let t = pos[a]; t < (a + 1 < m ? pos[a + 1] : n); t++) obs += w[t];
          if (u() < 0.5 && obs >= 2) {
            solver.add(a);
            inP.unshift(a);
            obsSinceLast = 0;
          } else obsSinceLast = obs;
        }
        const mu = new Float64Array(m);
        // Act
        solver.solve(mu);
        // Assess
        const K = denseKernel(g1, g2, kappa, n);
        const { G, b } = weightedSystem(K, n, w, yt.subarray(start, start + n));
        const P = inP.map((a) => pos[a]);
        const ref = gaussSolve(
          P.map((i) => P.map((j) => G[i * n + j])),
          P.map((i) => b[i]),
        );
        const scale = Math.max(...ref.map(Math.abs));
        inP.forEach((a, i) => {
          expect(Math.abs(mu[a] - ref[i])).toBeLessThan(1e-9 * scale);
        });
        checked += inP.filter((a) => w[pos[a]] === 0).length;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('gives the weighted gradient KᵀW(ỹ − K s) off P, exactly 0 where no observed frame follows', () => {
    for (const [q, { g1, g2, kappa }] of GAP_KERNELS.entries()) {
      for (let kind = 0; kind < 4; kind++) {
        // Prepare
        const n = 60;
        const { yt, pos, u } = randomWindow(400 + 10 * q + kind, n, 0);
        const m = pos.length;
        const w = gapWeights(u, n, kind);
        const solver = new Ar2SegmentSolver(n);
        solver.setKernel(g1, g2, kappa);
        solver.setWindow(yt, 0, n, pos, m, w);
        const s = new Float64Array(m);
        const inP = new Uint8Array(m);
        for (let a = 0; a < m; a++) {
          s[a] = u() < 0.4 ? u() : 0;
          if (u() < 0.3) {
            solver.add(a);
            inP[a] = 1;
          }
        }
        const grad = new Float64Array(m);
        // Act
        solver.gradient(s, grad);
        // Assess
        const K = denseKernel(g1, g2, kappa, n);
        const full = new Float64Array(n);
        for (let a = 0; a < m; a++) full[pos[a]] = s[a];
        const { G, b } = weightedSystem(K, n, w, yt.subarray(0, n));
        const ref = b.map((bi, i) => {
          let v = bi;
          for (let j = 0; j < n; j++) v -= G[i * n + j] * full[j];
          return v;
        });
        let lastObs = n - 1;
        while (w[lastObs] === 0) lastObs--;
        const scale = Math.max(...Array.from(ref, Math.abs));
        for (let a = 0; a < m; a++) {
          if (pos[a] > lastObs) expect(grad[a]).toBe(0);
          if (inP[a] === 1 && s[a] !== 0) continue;
          expect(Math.abs(grad[a] - ref[pos[a]])).toBeLessThan(1e-11 * scale);
        }
      }
    }
  });

  it('drives the active-set NNLS to the dense KᵀWK optimum: same cost and fit, also where G_PP is singular', () => {
    let ties = 0;
    // Decaying kernels only: on a singular KᵀWK of the exploding one the dense oracle itself breaks down.
    for (const [q, { g1, g2, kappa }] of GAP_KERNELS.filter((_, i) => i !== 2).entries()) {
      for (let kind = 0; kind < 4; kind++) {
        for (let rep = 0; rep < 3; rep++) {
          // Prepare: a dense mask (runs of masked frames around gaps give ties)
          const n = 60;
          const u = rng(500 + 100 * q + 10 * kind + rep);
          const yt = new Float64Array(n);
          for (let t = 0; t < n; t++) yt[t] = 3 * u() - 0.5;
          const w = gapWeights(u, n, kind);
          const frames: number[] = [];
          for (let t = 0; t < n; t++) if (u() < 0.7) frames.push(t);
          const pos = Int32Array.from(frames);
          const m = pos.length;
          const solver = new Ar2SegmentSolver(n);
          solver.setKernel(g1, g2, kappa);
          solver.setWindow(yt, 0, n, pos, m, w);
          const K = denseKernel(g1, g2, kappa, n);
          const { G, b } = weightedSystem(K, n, w, yt);
          const Gm = new Float64Array(m * m);
          for (let a = 0; a < m; a++)
            for (let c = 0; c < m; c++) Gm[a * m + c] = G[pos[a] * n + pos[c]];
          const bm = Float64Array.from(pos, (t) => b[t]);
          const s = new Float64Array(m);
          // Act
          activeSetNnls(m, s, solver, createNnlsWorkspace(m));
          // Assess
          const ref = nnls(Gm, bm);
          const spread = (x: Float64Array) => {
            const full = new Float64Array(n);
            for (let a = 0; a < m; a++) full[pos[a]] = x[a];
            return weightedCost(K, n, w, yt, full);
          };
          const got = spread(s);
          const want = spread(ref);
          const fitScale = Math.max(...Array.from(want.fit, Math.abs));
          expect(Math.abs(got.cost - want.cost)).toBeLessThan(1e-9 * want.cost);
          for (let t = 0; t < n; t++) {
            expect(Math.abs(got.fit[t] - want.fit[t])).toBeLessThan(1e-7 * fitScale);
          }
          for (let a = 0; a < m; a++) expect(s[a]).toBeGreaterThanOrEqual(0);
          if (s.some((v, a) => Math.abs(v - ref[a]) > 1e-6 * fitScale)) ties++;
        }
      }
    }
    // Some windows have a non-unique s (the tie of the module comment (7)): both are optima.
    expect(ties).toBeGreaterThan(0);
  });
});
