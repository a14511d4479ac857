/**
 * Refinement of (b, g) on isolated pools, CaImAn's `optimize_g` for AR(1)
 * (../shared/docs/deconvolution-algorithms.md §5.3; Friedrich, Zhou & Paninski 2017, "Optimizing g").
 *
 * For the k pools with the largest v, each a free decay α·g′^j on its segment y_seg,
 *
 *   minimise over (b′, g′)  Σ_pools ‖α·q − (y_seg − b′)‖²,   q_j = g′^j,
 *   α = (⟨q, y_seg − b′⟩ − λ·(1 − g′^ℓ))·(1 − g′²)/(1 − g′^{2ℓ})   (λ alone for the pool ending at T)
 *
 * with b′ ≥ 0 when the baseline is non-negative and g′ ∈ [0.001, 0.999], by what CaImAn runs:
 * scipy's L-BFGS-B (./lbfgsb.ts) with maxiter 3, gtol 1e-4, ftol 1e-5 and scipy's 2-point
 * finite-difference gradient with the absolute step 1e-8. Like CaImAn, the objective is evaluated
 * in float32, which makes that gradient mostly rounding noise (huge or zero); L-BFGS-B then
 * often runs g′ into a bound, and this port follows it step by step.
 */
import { lbfgsb } from './lbfgsb.js';
import type { Ar1State } from './oasisAr1.js';

/** Bounds of g′ (§5.3 step 3). */
const G_MIN = 0.001;
const G_MAX = 0.999;
/** Optimiser settings of §5.3 step 3. */
const MAX_ITER = 3;
const GTOL = 1e-4;
const FTOL = 1e-5;
const FD_STEP = 1e-8;
/** √ε of float32: scipy's fallback relative step when x + FD_STEP rounds to x. */
const SQRT_EPS32 = Math.sqrt(2 ** -23);

/** The selected pools' segments, copied once. */
interface Segments {
  start: Int32Array;
  len: Int32Array;
  /** 1 when the segment ends at the last frame (carries the full λ). */
  isLast: Uint8Array;
}

/**
 * Σ_pools ‖α·q − (y_seg − b′)‖² at (b′, g′) (§5.3 step 2), evaluated in float32 as CaImAn does:
 * y − b′, q_k = fl32(exp(k·ln g′)), the dot products and the sum of squares all round to
 * float32. This matters: with the 1e-8 finite-difference step of §5.3 step 3, a float32
 * objective does not see a step in b′ ≈ 10 at all, so CaImAn's optimiser mostly keeps (b, g),
 * where a float64 objective would follow the model far from the noise-constrained solution.
 */
function objective(S: Ar1State, seg: Segments, lam: number, b: number, g: number): number {
  const { y, m } = S;
  const f = Math.fround;
  const lnG = Math.log(g);
  const b32 = f(b);
  const lam32 = f(lam);
  const oneMinusG2 = f(1 - f(g * g));
  let total = 0;
  for (let i = 0; i < seg.start.length; i++) {
    const t0 = seg.start[i];
    const l = seg.len[i];
    let qy = 0;
    for (let k = 0; k < l; k++) {
      if (m !== null && m[t0 + k] === 0) continue;
      qy = f(qy + f(f(Math.exp(lnG * k)) * f(y[t0 + k] - b32)));
    }
    const gl = f(Math.exp(lnG * l));
    const pen = seg.isLast[i] === 1 ? lam32 : f(lam32 * f(1 - gl));
    const denom = f(1 - f(gl * gl));
    const alpha = denom === 0 ? 0 : f(f(f(qy - pen) * oneMinusG2) / denom);
    for (let k = 0; k < l; k++) {
      if (m !== null && m[t0 + k] === 0) continue;
      const r = f(f(alpha * f(Math.exp(lnG * k))) - f(y[t0 + k] - b32));
      total = f(total + f(r * r));
    }
  }
  return total;
}

/** Indices of the k largest values of v (ties by index), as numpy's argsort would pick them. */
function largestPools(v: Float64Array, n: number, k: number): Int32Array {
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => v[b] - v[a] || b - a);
  return Int32Array.from(idx.slice(0, k));
}

/**
 * scipy's 2-point finite-difference gradient at x (approx_derivative with the absolute step
 * FD_STEP, as minimize uses when no jac is given), as CaImAn's run computed it:
 * - h_i = FD_STEP, or √ε₃₂·max(1, |x_i|) (sign of x_i) when x_i + h_i rounds to x_i;
 * - a step that leaves the box is reversed if the reversed one fits, else it goes to the
 *   farther bound (one-sided scheme);
 * - ∂_i = fl32(fl32(f(x + h_i e_i) − f₀) / fl32(Δx_i)), Δx_i = (x_i + h_i) − x_i: the float32
 *   objective makes the difference float32, and numpy ≤ 1.x keeps the quotient float32.
 */
function fdGradient(
  fun: (x: Float64Array) => number,
  x: Float64Array,
  f0: number,
  lower: Float64Array,
  upper: Float64Array,
  g: Float64Array,
): void {
  const xh = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let h = FD_STEP;
    if (x[i] + h - x[i] === 0) h = SQRT_EPS32 * (x[i] >= 0 ? 1 : -1) * Math.max(1, Math.abs(x[i]));
    const lowerDist = x[i] - lower[i];
    const upperDist = upper[i] - x[i];
    const violated = x[i] + h < lower[i] || x[i] + h > upper[i];
    const fitting = Math.abs(h) <= Math.max(lowerDist, upperDist);
    if (violated && fitting) h = -h;
    else if (!fitting) h = upperDist >= lowerDist ? upperDist : -lowerDist;
    xh.set(x);
    xh[i] = x[i] + h;
    const dx = xh[i] - x[i];
    g[i] = Math.fround(Math.fround(fun(xh) - f0) / Math.fround(dx));
  }
}

/**
 * Refine (b, g) on the `k` pools with the largest v of the current solution (§5.3 steps 1–3):
 * scipy's L-BFGS-B with CaImAn's settings on the float32 objective, started at (b, g).
 * Pure: the caller adopts the result (§5.3 step 5).
 *
 * @param S - solver state (data, pools, mask).
 * @param b - current baseline.
 * @param lam - current λ.
 * @param k - number of pools (optimize_g).
 * @param bNonneg - keep b′ ≥ 0.
 * @returns the refined baseline and AR coefficient (float32 values).
 */
function optimizeG(
  S: Ar1State,
  b: number,
  lam: number,
  k: number,
  bNonneg: boolean,
): { b: number; g: number } {
  const P = S.pools;
  const picks = largestPools(P.v, P.n, Math.min(k, P.n));
  const seg: Segments = {
    start: new Int32Array(picks.length),
    len: new Int32Array(picks.length),
    isLast: new Uint8Array(picks.length),
  };
  for (let j = 0; j < picks.length; j++) {
    const i = picks[j];
    seg.start[j] = P.t[i];
    seg.len[j] = P.l[i];
    seg.isLast[j] = P.t[i] + P.l[i] === S.T ? 1 : 0;
  }
  const lower = Float64Array.of(bNonneg ? 0 : Number.NEGATIVE_INFINITY, G_MIN);
  const upper = Float64Array.of(Number.POSITIVE_INFINITY, G_MAX);
  const fun = (x: Float64Array): number => objective(S, seg, lam, x[0], x[1]);
  const fg = (x: Float64Array, grad: Float64Array): number => {
    const f0 = fun(x);
    fdGradient(fun, x, f0, lower, upper, grad);
    return f0;
  };
  const res = lbfgsb(fg, Float64Array.of(b, S.g), lower, upper, {
    maxIter: MAX_ITER,
    pgtol: GTOL,
    ftol: FTOL,
  });
  return { b: Math.fround(res.x[0]), g: Math.fround(res.x[1]) };
}

export { optimizeG };
