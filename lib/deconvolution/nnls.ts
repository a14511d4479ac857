/**
 * Active-set non-negative least squares in Gram form (Lawson & Hanson 1974, ch. 23;
 * Bro & De Jong, J. Chemometrics 11, 1997), as used by CaImAn's windowed AR(2) solver
 * (deconvolution-algorithms.md §6.4):
 *
 *   minimise ½‖K s − y‖²  subject to  s ≥ 0,  given only G = KᵀK and b = Kᵀy,
 *
 * i.e. minimise ½ sᵀG s − bᵀs over s ≥ 0. The gradient (negated) is ℓ = b − G s.
 *
 * - The variables are a subset of G's rows/columns, named by `index` (the caller's mask).
 * - Warm start from s; the passive set is P = {s > 0}.
 * - At most m outer iterations (m = number of variables): add argmax ℓ to P (even when
 *   max ℓ ≤ 0), solve G_PP μ = b_P, step back towards feasibility while μ has a negative
 *   entry (dropping s ≤ 1e-9 from P), accept s_P = μ, stop when max ℓ < 1e-9.
 *
 * Instead of a fresh LU per solve, the Cholesky factor of G_PP is kept up to date: a
 * column append is one forward substitution, a deletion is a sequence of Givens rotations.
 * Both give the same μ as a dense solve to rounding (G_PP is symmetric positive definite).
 */

/** §6.4 tolerance: P drops entries with s ≤ TOL and the loop stops when max ℓ < TOL. */
const NNLS_TOL = 1e-9;

/**
 * Optional fast gradient: writes ℓ = b − G s (length m) for the current s, for callers
 * that can apply K and Kᵀ cheaply (e.g. as recursions) instead of reading G.
 */
type GradientOracle = (s: Float64Array, grad: Float64Array) => void;

/** Preallocated buffers for problems of up to `capacity` variables. */
interface NnlsWorkspace {
  /** Largest number of variables this workspace can hold. */
  readonly capacity: number;
  /** Cholesky factor of G_PP, row-major capacity × capacity, rows in `order`. */
  readonly chol: Float64Array;
  /** The masked Gram block G[index][index], row-major m × m, rows gathered on first use. */
  readonly sub: Float64Array;
  /** gathered[a] = 1 once row a of `sub` holds G[index[a]][index]. */
  readonly gathered: Uint8Array;
  /** order[k] = variable (0…m−1) in row k of the factor. */
  readonly order: Int32Array;
  /** inP[a] = 1 when variable a is passive. */
  readonly inP: Uint8Array;
  /** Negated gradient ℓ. */
  readonly grad: Float64Array;
  /** μ, in factor order. */
  readonly mu: Float64Array;
  /** z = L⁻¹ b_P (forward substitution), in factor order, kept up to date with L. */
  readonly z: Float64Array;
}

/**
 * Allocates the buffers for NNLS problems of up to `capacity` variables.
 *
 * @param capacity - largest number of (masked) variables
 */
function createNnlsWorkspace(capacity: number): NnlsWorkspace {
  const n = Math.max(1, capacity);
  return {
    capacity: n,
    chol: new Float64Array(n * n),
    sub: new Float64Array(n * n),
    gathered: new Uint8Array(n),
    order: new Int32Array(n),
    inP: new Uint8Array(n),
    grad: new Float64Array(n),
    mu: new Float64Array(n),
    z: new Float64Array(n),
  };
}

/**
 * Solves the masked NNLS of §6.4 in place.
 *
 * @param gram - G = KᵀK, row-major with row length `stride`
 * @param stride - row length of `gram`
 * @param index - index[a] = row/column of G of variable a, for a < m
 * @param m - number of variables
 * @param rhs - b_a = (Kᵀy) at index[a], length ≥ m
 * @param s - warm start on entry (s ≥ 0), solution on exit, length ≥ m
 * @param ws - workspace with capacity ≥ m
 * @param gradient - optional oracle for ℓ = b − G s (default: from the gathered Gram rows)
 * @returns the number of outer iterations used
 */
function nnlsGram(
  gram: Float64Array,
  stride: number,
  index: Int32Array,
  m: number,
  rhs: Float64Array,
  s: Float64Array,
  ws: NnlsWorkspace,
  gradient?: GradientOracle,
): number {
  if (m === 0) return 0;
  const { chol, order, inP, grad, mu, sub, gathered } = ws;
  const cap = ws.capacity;
  const updateGradient = (): void => {
    if (gradient) gradient(s, grad);
    else computeGradient(sub, m, rhs, s, grad);
  };
  let np = 0;
  for (let a = 0; a < m; a++) {
    inP[a] = 0;
    gathered[a] = 0;
  }
  for (let a = 0; a < m; a++) {
    if (!gradient && s[a] !== 0) gatherRow(gram, stride, index, m, a, ws);
    if (s[a] > 0) np = cholAppend(gram, stride, index, rhs, a, np, ws);
  }
  updateGradient();
  let iter = 0;
  while (iter < m) {
    iter++;
    let j = 0;
    for (let a = 1; a < m; a++) if (grad[a] > grad[j]) j = a;
    if (inP[j] === 0) {
      if (!gradient) gatherRow(gram, stride, index, m, j, ws);
      np = cholAppend(gram, stride, index, rhs, j, np, ws);
    }
    cholSolve(np, ws);
    for (;;) {
      let alpha = Number.POSITIVE_INFINITY;
      let kmin = -1;
      for (let k = 0; k < np; k++) {
        const mk = mu[k];
        if (mk < 0) {
          const sk = s[order[k]];
          const ratio = sk / (sk - mk);
          if (ratio < alpha) {
            alpha = ratio;
            kmin = k;
          }
        }
      }
      if (kmin < 0) break;
      for (let k = 0; k < np; k++) {
        const a = order[k];
        s[a] += alpha * (mu[k] - s[a]);
      }
      // The blocking variable lands on 0 up to rounding; pin it so that P always shrinks.
      s[order[kmin]] = 0;
      let first = np;
      for (let k = np - 1; k >= 0; k--) {
        if (s[order[k]] <= NNLS_TOL) {
          np = cholDelete(k, np, cap, chol, order, inP);
          first = k;
        }
      }
      forwardFrom(first, rhs, np, ws);
      cholSolve(np, ws);
    }
    for (let k = 0; k < np; k++) s[order[k]] = mu[k];
    updateGradient();
    let gmax = grad[0];
    for (let a = 1; a < m; a++) if (grad[a] > gmax) gmax = grad[a];
    if (gmax < NNLS_TOL) break;
  }
  return iter;
}

/** Copies row a of the masked block, G[index[a]][index[0…m)], into `sub` (once per call). */
function gatherRow(
  gram: Float64Array,
  stride: number,
  index: Int32Array,
  m: number,
  a: number,
  ws: NnlsWorkspace,
): void {
  const { sub, gathered } = ws;
  if (gathered[a] === 1) return;
  const row = index[a] * stride;
  const out = a * m;
  for (let q = 0; q < m; q++) sub[out + q] = gram[row + index[q]];
  gathered[a] = 1;
}

/** ℓ = b − G s on the gathered block (entries of s that are exactly 0 are skipped). */
function computeGradient(
  sub: Float64Array,
  m: number,
  rhs: Float64Array,
  s: Float64Array,
  grad: Float64Array,
): void {
  for (let a = 0; a < m; a++) grad[a] = rhs[a];
  for (let k = 0; k < m; k++) {
    const sk = s[k];
    if (sk === 0) continue;
    const row = k * m;
    for (let a = 0; a < m; a++) grad[a] -= sub[row + a] * sk;
  }
}

/** Appends variable a to P: new factor row l = L⁻¹G_{P,a}, diagonal √(G_aa − lᵀl). */
function cholAppend(
  gram: Float64Array,
  stride: number,
  index: Int32Array,
  rhs: Float64Array,
  a: number,
  np: number,
  ws: NnlsWorkspace,
): number {
  const { chol, order, inP, z } = ws;
  const cap = ws.capacity;
  const ga = index[a] * stride;
  const row = np * cap;
  let ss = 0;
  for (let k = 0; k < np; k++) {
    let v = gram[ga + index[order[k]]];
    const rk = k * cap;
    for (let q = 0; q < k; q++) v -= chol[rk + q] * chol[row + q];
    v /= chol[rk + k];
    chol[row + k] = v;
    ss += v * v;
  }
  const d2 = gram[ga + index[a]] - ss;
  // §6.4 adds 1e-9·I to a singular system; a non-positive pivot is the Cholesky analogue.
  const diag = d2 > 0 ? Math.sqrt(d2) : Math.sqrt(Math.max(d2, 0) + NNLS_TOL);
  chol[row + np] = diag;
  let v = rhs[a];
  for (let q = 0; q < np; q++) v -= chol[row + q] * z[q];
  z[np] = v / diag;
  order[np] = a;
  inP[a] = 1;
  return np + 1;
}

/** Removes factor row k (variable order[k]) and restores triangularity by Givens rotations. */
function cholDelete(
  k: number,
  np: number,
  cap: number,
  chol: Float64Array,
  order: Int32Array,
  inP: Uint8Array,
): number {
  inP[order[k]] = 0;
  for (let i = k + 1; i < np; i++) {
    const src = i * cap;
    const dst = (i - 1) * cap;
    for (let q = 0; q <= i; q++) chol[dst + q] = chol[src + q];
    order[i - 1] = order[i];
  }
  const n1 = np - 1;
  for (let j = k; j < n1; j++) {
    const rj = j * cap;
    const x = chol[rj + j];
    const y = chol[rj + j + 1];
    const r = Math.hypot(x, y);
    const c = x / r;
    const sn = y / r;
    chol[rj + j] = r;
    chol[rj + j + 1] = 0;
    for (let i = j + 1; i < n1; i++) {
      const ri = i * cap;
      const u = chol[ri + j];
      const v = chol[ri + j + 1];
      chol[ri + j] = c * u + sn * v;
      chol[ri + j + 1] = -sn * u + c * v;
    }
  }
  return n1;
}

/** Recomputes z_k = (L⁻¹ b_P)_k for k ≥ first (rows from `first` on changed). */
function forwardFrom(first: number, rhs: Float64Array, np: number, ws: NnlsWorkspace): void {
  const { chol, order, z } = ws;
  const cap = ws.capacity;
  for (let k = first; k < np; k++) {
    const rk = k * cap;
    let v = rhs[order[k]];
    for (let q = 0; q < k; q++) v -= chol[rk + q] * z[q];
    z[k] = v / chol[rk + k];
  }
}

/** μ = G_PP⁻¹ b_P by back substitution Lᵀ μ = z (μ in factor order). */
function cholSolve(np: number, ws: NnlsWorkspace): void {
  const { chol, mu, z } = ws;
  const cap = ws.capacity;
  for (let k = np - 1; k >= 0; k--) {
    let v = z[k];
    for (let q = k + 1; q < np; q++) v -= chol[q * cap + k] * mu[q];
    mu[k] = v / chol[k * cap + k];
  }
}

/**
 * Dense convenience form: minimise ½‖K s − y‖², s ≥ 0, from G = KᵀK (n × n, row-major)
 * and b = Kᵀy, all variables free, warm-started from `s0` (zeros when omitted).
 *
 * @param gram - n × n Gram matrix KᵀK
 * @param rhs - Kᵀy, length n
 * @param s0 - optional non-negative warm start
 * @returns the non-negative solution s
 */
function nnls(gram: Float64Array, rhs: Float64Array, s0?: Float64Array): Float64Array {
  const n = rhs.length;
  const index = new Int32Array(n);
  for (let a = 0; a < n; a++) index[a] = a;
  const s = s0 ? Float64Array.from(s0) : new Float64Array(n);
  nnlsGram(gram, n, index, n, rhs, s, createNnlsWorkspace(n));
  return s;
}

export type { GradientOracle, NnlsWorkspace };
export { createNnlsWorkspace, NNLS_TOL, nnls, nnlsGram };
