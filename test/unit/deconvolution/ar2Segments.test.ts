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
