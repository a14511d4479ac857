/**
 * The second-order cone programs of the 'cvxpy' method (deconvolution-algorithms.md §7),
 * written in the standard conic form shared by both solver families:
 *
 *   minimise qᵀx  s.t.  Gk·x + s = h,  s ∈ K = ℝ₊^{nl} × Q^{T+1}
 *
 * with x = (c ∈ ℝᵀ, [b], [c1], [t]). G is the T×T AR matrix (1 on the diagonal, −g_i on
 * sub-diagonal i), d the dominant AR root and dᵗ the decay vector.
 *
 * - LP rows: s = Gc ≥ 0 (T rows), s = b − b_lb ≥ 0, s = c1 ≥ 0.
 * - SOC rows: (s₀, s₁) with s₁ = y − c − b − c1·dᵗ and
 *   - primary:  s₀ = sn·√T, objective q = (Gᵀ1, 0, 0), i.e. Σ(Gc);
 *   - fallback: s₀ = t (epigraph of ‖y − c − b − c1·dᵗ‖₂), objective t + (sn/500)·Σ(Gc).
 *
 * Constant b or c1 (given by the caller) are folded into y. Gk is never formed: the
 * products Gk·x and Gkᵀ·z cost O(T·p).
 */
import { arRoots } from '../linalg.js';

/** One SOCP instance of the 'cvxpy' method, in conic form (see module TSDoc). */
interface ConeProblem {
  /** Number of frames. */
  readonly T: number;
  /** AR order. */
  readonly p: number;
  /** AR coefficients g₁…g_p. */
  readonly g: Float64Array;
  /** Trace with any constant baseline and constant c1·dᵗ removed. */
  readonly y: Float64Array;
  /** Decay vector dᵗ (used when c1 is a variable). */
  readonly decay: Float64Array;
  /** Column of b in x, or −1. */
  readonly idxB: number;
  /** Column of c1 in x, or −1. */
  readonly idxC1: number;
  /** Column of the epigraph variable t in x (fallback), or −1. */
  readonly idxT: number;
  /** Lower bound of b. */
  readonly bLb: number;
  /** Radius sn·√T of the noise ball (primary only). */
  readonly radius: number;
  /** Weight of Σ(Gc) in the objective (1 primary, sn/500 fallback). */
  readonly lambda: number;
  /** Number of variables. */
  readonly n: number;
  /** Number of ℝ₊ rows (T + [b] + [c1]). */
  readonly nl: number;
  /** Total rows: nl + T + 1. */
  readonly m: number;
  /** Objective vector. */
  readonly q: Float64Array;
  /** Right-hand side. */
  readonly h: Float64Array;
}

/** Which of the two problems of §7. */
type ProblemKind = 'primary' | 'fallback';

interface ProblemInput {
  y: Float64Array;
  g: Float64Array;
  decay: Float64Array;
  hasB: boolean;
  hasC1: boolean;
  bLb: number;
  sn: number;
}

/** Builds the primary (noise-constrained) or fallback (penalised) SOCP of §7. */
function buildProblem(kind: ProblemKind, input: ProblemInput): ConeProblem {
  const { y, g, decay, hasB, hasC1, bLb, sn } = input;
  const T = y.length;
  const p = g.length;
  let n = T;
  const idxB = hasB ? n++ : -1;
  const idxC1 = hasC1 ? n++ : -1;
  const idxT = kind === 'fallback' ? n++ : -1;
  const nl = T + (hasB ? 1 : 0) + (hasC1 ? 1 : 0);
  const m = nl + T + 1;
  const lambda = kind === 'primary' ? 1 : sn / 500;
  const radius = kind === 'primary' ? sn * Math.sqrt(T) : 0;
  const q = new Float64Array(n);
  const ones = new Float64Array(T).fill(lambda);
  applyGt(g, ones, q); // Σ(Gc) = (Gᵀ1)ᵀc
  if (idxT >= 0) q[idxT] = 1;
  const h = new Float64Array(m);
  let row = T;
  if (hasB) h[row++] = -bLb;
  if (hasC1) h[row++] = 0;
  h[nl] = radius;
  h.set(y, nl + 1);
  return { T, p, g, y, decay, idxB, idxC1, idxT, bLb, radius, lambda, n, nl, m, q, h };
}

/** out = G·c: out_t = c_t − Σ_i g_i c_{t−i} (sp = Gc, §7 "Output"). */
function applyG(g: Float64Array, c: Float64Array, out: Float64Array): void {
  const T = c.length;
  const p = g.length;
  for (let t = 0; t < T; t++) {
    let v = c[t];
    const lim = Math.min(t, p);
    for (let i = 1; i <= lim; i++) v -= g[i - 1] * c[t - i];
    out[t] = v;
  }
}

/** out[0..T) = Gᵀ·u: out_j = u_j − Σ_i g_i u_{j+i}. */
function applyGt(g: Float64Array, u: Float64Array, out: Float64Array): void {
  const T = u.length;
  const p = g.length;
  for (let j = 0; j < T; j++) {
    let v = u[j];
    for (let i = 1; i <= p && j + i < T; i++) v -= g[i - 1] * u[j + i];
    out[j] = v;
  }
}

/** out (length m) = Gk·x. */
function gkMul(P: ConeProblem, x: Float64Array, out: Float64Array): void {
  const { T, g, p, decay, idxB, idxC1, idxT, nl } = P;
  const b = idxB >= 0 ? x[idxB] : 0;
  const c1 = idxC1 >= 0 ? x[idxC1] : 0;
  if (p === 1) {
    const g1 = g[0];
    out[0] = -x[0];
    for (let t = 1; t < T; t++) out[t] = g1 * x[t - 1] - x[t];
  } else if (p === 2 && T >= 2) {
    const g1 = g[0];
    const g2 = g[1];
    out[0] = -x[0];
    out[1] = g1 * x[0] - x[1];
    for (let t = 2; t < T; t++) out[t] = g1 * x[t - 1] + g2 * x[t - 2] - x[t];
  } else {
    for (let t = 0; t < T; t++) {
      let v = x[t];
      const lim = Math.min(t, p);
      for (let i = 1; i <= lim; i++) v -= g[i - 1] * x[t - i];
      out[t] = -v;
    }
  }
  let row = T;
  if (idxB >= 0) out[row++] = -b;
  if (idxC1 >= 0) out[row++] = -c1;
  out[nl] = idxT >= 0 ? -x[idxT] : 0;
  const o = nl + 1;
  if (idxC1 >= 0) for (let t = 0; t < T; t++) out[o + t] = x[t] + b + c1 * decay[t];
  else for (let t = 0; t < T; t++) out[o + t] = x[t] + b;
}

/** out (length n) = Gkᵀ·z. */
function gkTMul(P: ConeProblem, z: Float64Array, out: Float64Array): void {
  const { T, g, p, decay, idxB, idxC1, idxT, nl } = P;
  const o = nl + 1;
  let sum = 0;
  let sumD = 0;
  // c block: z_soc − Gᵀz_lin
  if (p === 1) {
    const g1 = g[0];
    for (let j = 0; j < T - 1; j++) out[j] = z[o + j] - z[j] + g1 * z[j + 1];
    out[T - 1] = z[o + T - 1] - z[T - 1];
  } else if (p === 2 && T >= 2) {
    const g1 = g[0];
    const g2 = g[1];
    for (let j = 0; j < T - 2; j++) out[j] = z[o + j] - z[j] + g1 * z[j + 1] + g2 * z[j + 2];
    out[T - 2] = z[o + T - 2] - z[T - 2] + g1 * z[T - 1];
    out[T - 1] = z[o + T - 1] - z[T - 1];
  } else {
    for (let j = 0; j < T; j++) {
      let v = z[j];
      const lim = Math.min(p, T - 1 - j);
      for (let i = 1; i <= lim; i++) v -= g[i - 1] * z[j + i];
      out[j] = z[o + j] - v;
    }
  }
  for (let j = 0; j < T; j++) {
    const zs = z[o + j];
    sum += zs;
    sumD += decay[j] * zs;
  }
  let row = T;
  if (idxB >= 0) out[idxB] = sum - z[row++];
  if (idxC1 >= 0) out[idxC1] = sumD - z[row++];
  if (idxT >= 0) out[idxT] = -z[nl];
}

/** Residual r = y − c − b − c1·dᵗ of a solution x (length T). */
function residual(P: ConeProblem, x: Float64Array, out: Float64Array): void {
  const { T, y, decay, idxB, idxC1 } = P;
  const b = idxB >= 0 ? x[idxB] : 0;
  const c1 = idxC1 >= 0 ? x[idxC1] : 0;
  for (let t = 0; t < T; t++) out[t] = y[t] - x[t] - b - c1 * decay[t];
}

/**
 * Dominant root d of z^p − g₁z^{p−1} − … − g_p, by numpy's ordering of complex numbers
 * (largest real part, then largest imaginary part). Returns [re, im].
 */
function dominantRoot(g: Float64Array): [number, number] {
  const p = g.length;
  if (p === 1) return [g[0], 0];
  if (p === 2) {
    const disc = g[0] * g[0] + 4 * g[1];
    if (disc >= 0) return [(g[0] + Math.sqrt(disc)) / 2, 0];
    return [g[0] / 2, Math.sqrt(-disc) / 2];
  }
  return dominantOfRoots(g);
}

/** The dominant root (numpy's ordering) among the roots of the AR polynomial (p ≥ 3). */
function dominantOfRoots(g: Float64Array): [number, number] {
  const { re, im } = arRoots(g);
  let scale = 1;
  for (let i = 0; i < g.length; i++) scale = Math.max(scale, Math.abs(g[i]) ** (1 / (i + 1)) * 2);
  const tol = 1e-12 * scale;
  const imag = (k: number) => (Math.abs(im[k]) < tol ? 0 : im[k]);
  let best = 0;
  for (let k = 1; k < re.length; k++) {
    if (re[k] > re[best] + tol || (Math.abs(re[k] - re[best]) <= tol && imag(k) > imag(best)))
      best = k;
  }
  return [re[best], imag(best)];
}

export type { ConeProblem, ProblemInput, ProblemKind };
export { applyG, applyGt, buildProblem, dominantRoot, gkMul, gkTMul, residual };
