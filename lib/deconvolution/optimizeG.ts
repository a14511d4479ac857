/**
 * Refinement of (b, g) on isolated pools, CaImAn's `optimize_g` for AR(1)
 * (../shared/docs/deconvolution-algorithms.md §5.3; Friedrich, Zhou & Paninski 2017, "Optimizing g").
 *
 * For the k pools with the largest v, each a free decay α·g′^j on its segment y_seg,
 *
 *   minimise over (b′, g′)  Σ_pools ‖α·q − (y_seg − b′)‖²,   q_j = g′^j,
 *   α = (⟨q, y_seg − b′⟩ − λ·(1 − g′^ℓ))·(1 − g′²)/(1 − g′^{2ℓ})   (λ alone for the pool ending at T)
 *
 * with b′ ≥ 0 when the baseline is non-negative and g′ ∈ [0.001, 0.999], by a few iterations of a
 * projected quasi-Newton method (L-BFGS-B-like: BFGS inverse Hessian, projection on the box,
 * backtracking line search, 2-point finite-difference gradient). Like CaImAn, the objective is
 * evaluated in float32, which makes the finite-difference gradient mostly rounding noise; results
 * are only expected to be plausible, not equal (§5.3 last paragraph).
 */
import type { Ar1State } from './oasisAr1.js';

/** Bounds of g′ (§5.3 step 3). */
const G_MIN = 0.001;
const G_MAX = 0.999;
/** Optimiser settings of §5.3 step 3. */
const MAX_ITER = 3;
const GTOL = 1e-4;
const FTOL = 1e-5;
const FD_STEP = 1e-8;
const MAX_LINE_SEARCH = 20;

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

function project(x: Float64Array, bLow: number): void {
  if (x[0] < bLow) x[0] = bLow;
  if (x[1] < G_MIN) x[1] = G_MIN;
  if (x[1] > G_MAX) x[1] = G_MAX;
}

/**
 * Refine (b, g) on the `k` pools with the largest v of the current solution (§5.3 steps 1–3).
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
  const bLow = bNonneg ? 0 : Number.NEGATIVE_INFINITY;
  const fun = (x: Float64Array): number => objective(S, seg, lam, x[0], x[1]);
  const x = Float64Array.of(b, Math.min(G_MAX, Math.max(G_MIN, S.g)));
  project(x, bLow);
  const grad = (at: Float64Array, f0: number, out: Float64Array): void => {
    for (let d = 0; d < 2; d++) {
      const xp = Float64Array.from(at);
      let hStep = FD_STEP;
      if (d === 1 && xp[1] + hStep > G_MAX) hStep = -hStep;
      if (d === 0 && xp[0] + hStep < bLow) hStep = -hStep;
      xp[d] += hStep;
      out[d] = (fun(xp) - f0) / hStep;
    }
  };
  // Inverse Hessian approximation H (2×2, row-major), identity at start.
  const H = Float64Array.of(1, 0, 0, 1);
  let fx = fun(x);
  const gx = new Float64Array(2);
  grad(x, fx, gx);
  for (let it = 0; it < MAX_ITER; it++) {
    if (projectedGradientNorm(x, gx, bLow) < GTOL) break;
    const d0 = -(H[0] * gx[0] + H[1] * gx[1]);
    const d1 = -(H[2] * gx[0] + H[3] * gx[1]);
    let step = it === 0 ? 1 / Math.max(Math.hypot(gx[0], gx[1]), 1e-30) : 1;
    const xn = new Float64Array(2);
    let fn = fx;
    let accepted = false;
    for (let ls = 0; ls < MAX_LINE_SEARCH; ls++) {
      xn[0] = x[0] + step * d0;
      xn[1] = x[1] + step * d1;
      project(xn, bLow);
      fn = fun(xn);
      const decrease = gx[0] * (xn[0] - x[0]) + gx[1] * (xn[1] - x[1]);
      if (Number.isFinite(fn) && fn <= fx + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;
    const gn = new Float64Array(2);
    grad(xn, fn, gn);
    const s0 = xn[0] - x[0];
    const s1 = xn[1] - x[1];
    const y0 = gn[0] - gx[0];
    const y1 = gn[1] - gx[1];
    bfgsUpdate(H, s0, s1, y0, y1);
    const fPrev = fx;
    x.set(xn);
    fx = fn;
    gx.set(gn);
    if ((fPrev - fx) / Math.max(Math.abs(fPrev), Math.abs(fx), 1) <= FTOL) break;
  }
  return { b: Math.fround(x[0]), g: Math.fround(x[1]) };
}

/** max |projected gradient| on the box (L-BFGS-B's pgtol test). */
function projectedGradientNorm(x: Float64Array, g: Float64Array, bLow: number): number {
  const lo = [bLow, G_MIN];
  const hi = [Number.POSITIVE_INFINITY, G_MAX];
  let norm = 0;
  for (let d = 0; d < 2; d++) {
    let pg = x[d] - g[d];
    if (pg < lo[d]) pg = lo[d];
    if (pg > hi[d]) pg = hi[d];
    norm = Math.max(norm, Math.abs(pg - x[d]));
  }
  return norm;
}

/** BFGS update of the inverse Hessian H with step s and gradient change y (skipped if sᵀy ≤ 0). */
function bfgsUpdate(H: Float64Array, s0: number, s1: number, y0: number, y1: number): void {
  const sy = s0 * y0 + s1 * y1;
  if (!(sy > 1e-12 * Math.hypot(s0, s1) * Math.hypot(y0, y1))) return;
  const rho = 1 / sy;
  const Hy0 = H[0] * y0 + H[1] * y1;
  const Hy1 = H[2] * y0 + H[3] * y1;
  const yHy = y0 * Hy0 + y1 * Hy1;
  const c = (1 + rho * yHy) * rho;
  H[0] += c * s0 * s0 - rho * (Hy0 * s0 + s0 * Hy0);
  H[1] += c * s0 * s1 - rho * (Hy0 * s1 + s0 * Hy1);
  H[2] += c * s1 * s0 - rho * (Hy1 * s0 + s1 * Hy0);
  H[3] += c * s1 * s1 - rho * (Hy1 * s1 + s1 * Hy1);
}

export { optimizeG };
