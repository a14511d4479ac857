/**
 * Seeded synthetic AR traces and checks shared by the cvx unit tests (no ../shared needed).
 */
import type { ConeProblem, ProblemKind } from '../../../../lib/deconvolution/cvx/problem.js';
import { buildProblem, dominantRoot } from '../../../../lib/deconvolution/cvx/problem.js';

/** mulberry32: a small seeded uniform generator on [0, 1). */
function seededUniform(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** y_t = b + c_t + sn·N(0,1), c_t = Σ g_i c_{t−i} + spike_t (spike with probability rate). */
function arTrace(
  T: number,
  g: number[],
  sn: number,
  b: number,
  seed: number,
  rate = 0.05,
): Float64Array {
  const rnd = seededUniform(seed);
  const y = new Float64Array(T);
  const c = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let v = rnd() < rate ? 0.5 + rnd() : 0;
    for (let i = 1; i <= g.length && t - i >= 0; i++) v += g[i - 1] * c[t - i];
    c[t] = v;
    const u1 = rnd() || 1e-12;
    const u2 = rnd();
    y[t] = b + v + sn * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return y;
}

/** The SOCP of §7 for a synthetic trace, both b and c1 free, b ≥ 0. */
function syntheticProblem(
  kind: ProblemKind,
  y: Float64Array,
  g: number[],
  sn: number,
): ConeProblem {
  const gv = Float64Array.from(g);
  const [d] = dominantRoot(gv);
  const decay = new Float64Array(y.length);
  for (let t = 0; t < y.length; t++) decay[t] = d ** t;
  return buildProblem(kind, { y, g: gv, decay, hasB: true, hasC1: true, bLb: 0, sn });
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export { arTrace, maxAbs, maxAbsDiff, seededUniform, syntheticProblem };
