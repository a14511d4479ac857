/**
 * Small dense helpers for the AR estimate (deconvolution-algorithms.md §3 steps 3–5):
 *
 * - minimum-norm least squares x = A⁺b through the SVD A = UΣVᵀ (one-sided Jacobi),
 *   dropping singular values σ ≤ rcond·σ_max as LAPACK gelsd does;
 * - the roots of the AR characteristic polynomial z^p − g₁z^{p−1} − … − g_p;
 * - the monic polynomial ∏(z − ρ_i) back from its roots (numpy `poly`, by convolution).
 *
 * - numpy's pairwise summation (the reduction behind `np.sum` / `np.mean` of contiguous
 *   data), optionally with every addition rounded to float32, to reproduce float32 means.
 *
 * Sizes are tiny (p ≤ a few, m = lags + p rows) except for the pairwise sum, which is O(n).
 */
import type { Trace } from './types.js';

/** Machine epsilon of float64 (numpy `finfo(float).eps`). */
const FLOAT64_EPS = 2 ** -52;

const MAX_JACOBI_SWEEPS = 60;
const MAX_ROOT_ITERATIONS = 500;
/** numpy's pairwise-summation block (PW_BLOCKSIZE). */
const PAIRWISE_BLOCK = 128;

/**
 * Minimum-norm least-squares solution of A·x ≈ b (numpy `lstsq`, LAPACK gelsd semantics).
 * @param a - A, row-major m × p
 * @param rows - m
 * @param cols - p
 * @param b - right-hand side, length m
 * @param rcond - relative cut-off; σ ≤ rcond·σ_max counts as 0 (numpy's default is eps·max(m, p))
 * @returns x, length p (all zeros when A = 0)
 */
function lstsqMinNorm(
  a: Float64Array,
  rows: number,
  cols: number,
  b: Float64Array,
  rcond = FLOAT64_EPS * Math.max(rows, cols),
): Float64Array {
  // u: columns of A·V (column-major), v: the accumulated right rotations.
  const u = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) u[j * rows + i] = a[i * cols + j];
  const v = new Float64Array(cols * cols);
  for (let j = 0; j < cols; j++) v[j * cols + j] = 1;
  for (let sweep = 0; sweep < MAX_JACOBI_SWEEPS; sweep++) {
    let rotated = false;
    for (let i = 0; i < cols - 1; i++) {
      for (let j = i + 1; j < cols; j++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < rows; k++) {
          const ui = u[i * rows + k];
          const uj = u[j * rows + k];
          alpha += ui * ui;
          beta += uj * uj;
          gamma += ui * uj;
        }
        if (gamma === 0 || Math.abs(gamma) <= FLOAT64_EPS * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < rows; k++) {
          const ui = u[i * rows + k];
          const uj = u[j * rows + k];
          u[i * rows + k] = c * ui - s * uj;
          u[j * rows + k] = s * ui + c * uj;
        }
        for (let k = 0; k < cols; k++) {
          const vi = v[i * cols + k];
          const vj = v[j * cols + k];
          v[i * cols + k] = c * vi - s * vj;
          v[j * cols + k] = s * vi + c * vj;
        }
      }
    }
    if (!rotated) break;
  }
  const sigma = new Float64Array(cols);
  let sigmaMax = 0;
  for (let j = 0; j < cols; j++) {
    let norm2 = 0;
    for (let k = 0; k < rows; k++) norm2 += u[j * rows + k] * u[j * rows + k];
    sigma[j] = Math.sqrt(norm2);
    if (sigma[j] > sigmaMax) sigmaMax = sigma[j];
  }
  const x = new Float64Array(cols);
  if (sigmaMax === 0) return x;
  const cutoff = rcond * sigmaMax;
  // x = Σ_k v_k·(u_k·b)/σ_k² over the kept σ_k (u_k = σ_k·ũ_k).
  for (let j = 0; j < cols; j++) {
    if (sigma[j] <= cutoff) continue;
    let ub = 0;
    for (let k = 0; k < rows; k++) ub += u[j * rows + k] * b[k];
    const coef = ub / (sigma[j] * sigma[j]);
    for (let k = 0; k < cols; k++) x[k] += coef * v[j * cols + k];
  }
  return x;
}

/** Roots of a polynomial as separate real and imaginary parts. */
interface ComplexRoots {
  re: Float64Array;
  im: Float64Array;
}

/**
 * Roots of the AR characteristic polynomial z^p − g₁z^{p−1} − … − g_p (the eigenvalues of
 * its companion matrix): p = 1 directly, p = 2 by the stable quadratic formula, p ≥ 3 by
 * Durand–Kerner iteration. Order is unspecified.
 * @param g - (g₁, …, g_p), p ≥ 1
 */
function arRoots(g: Float64Array): ComplexRoots {
  const p = g.length;
  const re = new Float64Array(p);
  const im = new Float64Array(p);
  if (p === 1) {
    re[0] = g[0];
  } else if (p === 2) {
    const disc = g[0] * g[0] + 4 * g[1];
    if (disc < 0) {
      re[0] = re[1] = g[0] / 2;
      im[0] = Math.sqrt(-disc) / 2;
      im[1] = -im[0];
    } else {
      const q = (g[0] + (g[0] >= 0 ? 1 : -1) * Math.sqrt(disc)) / 2;
      re[0] = q;
      re[1] = q === 0 ? 0 : -g[1] / q; // product of the roots is −g₂
    }
  } else if (p > 2) {
    durandKerner(g, re, im);
  }
  return { re, im };
}

function durandKerner(g: Float64Array, re: Float64Array, im: Float64Array): void {
  const p = g.length;
  // Cauchy bound for the root moduli.
  let bound = 0;
  for (let i = 0; i < p; i++) bound = Math.max(bound, Math.abs(g[i]));
  bound += 1;
  for (let k = 0; k < p; k++) {
    const angle = (2 * Math.PI * k) / p + 0.4;
    re[k] = bound * Math.cos(angle);
    im[k] = bound * Math.sin(angle);
  }
  for (let iter = 0; iter < MAX_ROOT_ITERATIONS; iter++) {
    let change = 0;
    for (let k = 0; k < p; k++) {
      // f(z) = z^p − Σ g_i z^{p−i} by Horner.
      let fr = 1;
      let fi = 0;
      for (let i = 0; i < p; i++) {
        const nr = fr * re[k] - fi * im[k] - g[i];
        fi = fr * im[k] + fi * re[k];
        fr = nr;
      }
      let dr = 1;
      let di = 0;
      for (let j = 0; j < p; j++) {
        if (j === k) continue;
        const ar = re[k] - re[j];
        const ai = im[k] - im[j];
        const nr = dr * ar - di * ai;
        di = dr * ai + di * ar;
        dr = nr;
      }
      const den = dr * dr + di * di;
      if (den === 0) continue;
      const qr = (fr * dr + fi * di) / den;
      const qi = (fi * dr - fr * di) / den;
      re[k] -= qr;
      im[k] -= qi;
      change = Math.max(change, Math.hypot(qr, qi) / Math.max(1, Math.hypot(re[k], im[k])));
    }
    if (change < 1e-15) break;
  }
}

/**
 * Coefficients (1, a₁, …, a_p) of the monic polynomial ∏(z − ρ_i), built by successive
 * convolution with (1, −ρ_i) as numpy `poly` does.
 * @param roots - real roots ρ
 */
function polyFromRoots(roots: Float64Array): Float64Array {
  const p = roots.length;
  const coef = new Float64Array(p + 1);
  coef[0] = 1;
  for (let i = 0; i < p; i++) {
    for (let k = i + 1; k >= 1; k--) coef[k] -= roots[i] * coef[k - 1];
  }
  return coef;
}

export type { ComplexRoots };

/**
 * numpy's pairwise sum of y[start:start+n] (8 accumulators in blocks of ≤ 128, halves
 * above), with every addition rounded to float32 when `single` (float32 `np.sum`).
 */
function pairwiseSum(y: Trace, start: number, n: number, single: boolean): number {
  if (n > PAIRWISE_BLOCK) {
    let half = Math.floor(n / 2);
    half -= half % 8;
    const sum =
      pairwiseSum(y, start, half, single) + pairwiseSum(y, start + half, n - half, single);
    return single ? Math.fround(sum) : sum;
  }
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = single ? Math.fround(res + y[start + i]) : res + y[start + i];
    return res;
  }
  const r = single ? blockSum32(y, start, n) : blockSum64(y, start, n);
  let res = r;
  for (let i = n - (n % 8); i < n; i++)
    res = single ? Math.fround(res + y[start + i]) : res + y[start + i];
  return res;
}

/** The 8-accumulator part of numpy's pairwise block over n − n mod 8 values, float32. */
function blockSum32(y: Trace, start: number, n: number): number {
  const f = Math.fround;
  let r0 = y[start];
  let r1 = y[start + 1];
  let r2 = y[start + 2];
  let r3 = y[start + 3];
  let r4 = y[start + 4];
  let r5 = y[start + 5];
  let r6 = y[start + 6];
  let r7 = y[start + 7];
  for (let o = start + 8; o < start + n - (n % 8); o += 8) {
    r0 = f(r0 + y[o]);
    r1 = f(r1 + y[o + 1]);
    r2 = f(r2 + y[o + 2]);
    r3 = f(r3 + y[o + 3]);
    r4 = f(r4 + y[o + 4]);
    r5 = f(r5 + y[o + 5]);
    r6 = f(r6 + y[o + 6]);
    r7 = f(r7 + y[o + 7]);
  }
  return f(f(f(r0 + r1) + f(r2 + r3)) + f(f(r4 + r5) + f(r6 + r7)));
}

/** The 8-accumulator part of numpy's pairwise block over n − n mod 8 values, float64. */
function blockSum64(y: Trace, start: number, n: number): number {
  let r0 = y[start];
  let r1 = y[start + 1];
  let r2 = y[start + 2];
  let r3 = y[start + 3];
  let r4 = y[start + 4];
  let r5 = y[start + 5];
  let r6 = y[start + 6];
  let r7 = y[start + 7];
  for (let o = start + 8; o < start + n - (n % 8); o += 8) {
    r0 += y[o];
    r1 += y[o + 1];
    r2 += y[o + 2];
    r3 += y[o + 3];
    r4 += y[o + 4];
    r5 += y[o + 5];
    r6 += y[o + 6];
    r7 += y[o + 7];
  }
  return r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
}

/** aᵀb over the first a.length entries. */
function dot(a: Float64Array, b: Float64Array): number {
  let v = 0;
  for (let i = 0; i < a.length; i++) v += a[i] * b[i];
  return v;
}

/** ‖a‖₂. */
function norm2(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

export { arRoots, dot, FLOAT64_EPS, lstsqMinNorm, norm2, pairwiseSum, polyFromRoots };
