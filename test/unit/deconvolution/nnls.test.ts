import { describe, expect, it } from 'vitest';
import { createNnlsWorkspace, nnls, nnlsGram } from '../../../lib/deconvolution/nnls.js';
import { mulberry32 as rng } from '../../../lib/random.js';
import { gaussSolve } from '../../helpers/numeric.js';

/** Random least-squares problem: K (rows × n) with entries in [−1, 1), y = K·x + noise. */
function randomProblem(seed: number, rows: number, n: number) {
  const u = rng(seed);
  const K = new Float64Array(rows * n);
  for (let i = 0; i < K.length; i++) K[i] = 2 * u() - 1;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let v = 0;
    for (let j = 0; j < n; j++) v += K[r * n + j] * (u() < 0.5 ? 0 : u());
    y[r] = v + 0.3 * (u() - 0.5);
  }
  const G = new Float64Array(n * n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) b[i] += K[r * n + i] * y[r];
    for (let j = 0; j < n; j++) {
      let v = 0;
      for (let r = 0; r < rows; r++) v += K[r * n + i] * K[r * n + j];
      G[i * n + j] = v;
    }
  }
  return { G, b };
}

/** ½ sᵀGs − bᵀs. */
function objective(G: Float64Array, b: Float64Array, s: ArrayLike<number>): number {
  const n = b.length;
  let f = 0;
  for (let i = 0; i < n; i++) {
    let gi = 0;
    for (let j = 0; j < n; j++) gi += G[i * n + j] * s[j];
    f += 0.5 * s[i] * gi - b[i] * s[i];
  }
  return f;
}

/** Exhaustive reference: the best unconstrained solve over every support set with s ≥ 0. */
function bruteForce(G: Float64Array, b: Float64Array): Float64Array {
  const n = b.length;
  let best = new Float64Array(n);
  let bestF = 0;
  for (let mask = 1; mask < 1 << n; mask++) {
    const idx: number[] = [];
    for (let j = 0; j < n; j++) if (mask & (1 << j)) idx.push(j);
    const A = idx.map((i) => idx.map((j) => G[i * n + j]));
    const x = gaussSolve(
      A,
      idx.map((i) => b[i]),
    );
    if (x.some((v) => v < 0)) continue;
    const s = new Float64Array(n);
    idx.forEach((j, q) => {
      s[j] = x[q];
    });
    const f = objective(G, b, s);
    if (f < bestF) {
      bestF = f;
      best = s;
    }
  }
  return best;
}

describe('nnls', () => {
  it('matches an exhaustive search and satisfies KKT on 40 seeded random problems', () => {
    for (let seed = 1; seed <= 40; seed++) {
      // Prepare
      const n = 2 + (seed % 7);
      const { G, b } = randomProblem(seed, n + 6, n);
      // Act
      const s = nnls(G, b);
      // Assess
      const ref = bruteForce(G, b);
      for (let j = 0; j < n; j++) {
        expect(s[j]).toBeGreaterThanOrEqual(0);
        expect(Math.abs(s[j] - ref[j])).toBeLessThan(1e-9 * (1 + Math.abs(ref[j])));
        let grad = b[j];
        for (let q = 0; q < n; q++) grad -= G[j * n + q] * s[q];
        if (s[j] > 0) expect(Math.abs(grad)).toBeLessThan(1e-9);
        else expect(grad).toBeLessThan(1e-9);
      }
    }
  });

  it('reaches the same optimum from any non-negative warm start', () => {
    // Prepare
    const n = 8;
    const { G, b } = randomProblem(99, 20, n);
    const u = rng(5);
    const warm = Float64Array.from({ length: n }, () => (u() < 0.5 ? 0 : 3 * u()));
    // Act
    const cold = nnls(G, b);
    const hot = nnls(G, b, warm);
    // Assess
    for (let j = 0; j < n; j++) expect(hot[j]).toBeCloseTo(cold[j], 10);
  });

  it('returns 0 when every unconstrained gradient points into s < 0', () => {
    // Prepare
    const G = Float64Array.from([2, 0.5, 0.5, 1]);
    const b = Float64Array.from([-1, -0.25]);
    // Act
    const s = nnls(G, b);
    // Assess
    expect(Array.from(s)).toEqual([0, 0]);
  });

  it('gives the same solution with a gradient oracle as with the Gram rows', () => {
    // Prepare
    const n = 9;
    const { G, b } = randomProblem(31, 20, n);
    const index = Int32Array.from({ length: n }, (_, a) => a);
    const oracle = (s: Float64Array, grad: Float64Array): void => {
      for (let a = 0; a < n; a++) {
        let v = b[a];
        for (let q = 0; q < n; q++) v -= G[a * n + q] * s[q];
        grad[a] = v;
      }
    };
    const s = new Float64Array(n);
    // Act
    nnlsGram(G, n, index, n, b, s, createNnlsWorkspace(n), oracle);
    // Assess
    const ref = nnls(G, b);
    for (let j = 0; j < n; j++) expect(s[j]).toBeCloseTo(ref[j], 12);
  });

  it('solves only the masked variables of a larger Gram matrix', () => {
    // Prepare
    const n = 6;
    const { G, b } = randomProblem(7, 14, n);
    const pick = [1, 3, 4];
    const sub = new Float64Array(9);
    pick.forEach((i, a) => {
      pick.forEach((j, q) => {
        sub[a * 3 + q] = G[i * n + j];
      });
    });
    const rhs = Float64Array.from(pick.map((i) => b[i]));
    const s = new Float64Array(3);
    // Act
    nnlsGram(G, n, Int32Array.from(pick), 3, rhs, s, createNnlsWorkspace(n));
    // Assess
    const ref = bruteForce(sub, rhs);
    for (let a = 0; a < 3; a++) expect(s[a]).toBeCloseTo(ref[a], 10);
  });
});
