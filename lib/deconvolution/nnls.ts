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
 * The problem is strictly convex (K triangular, non-zero diagonal), so its optimum is
 * unique and the path there may differ from §6.4's. This one is shorter:
 * - a non-empty warm start is first solved on its own P, dropping every negative μ at once
 *   until μ ≥ 0 (no forced addition);
 * - each iteration adds every local maximum of ℓ above TOL among the non-passive variables
 *   (a "block" step; those whose μ comes out negative are taken back out before the
 *   step-back, so s stays feasible and the objective decreases); when none is left, it
 *   falls back to §6.4's argmax ℓ.
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
  const { order, inP, grad, mu, sub, gathered } = ws;
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
  // A non-empty warm start is first solved on its own P (no forced addition): the
  // optimum is unique, so only the path differs from §6.4's.
  let warm = np > 0;
  if (!warm) updateGradient();
  let iter = 0;
  while (iter < m) {
    iter++;
    let solved = false;
    if (!warm) {
      // Several variables per iteration: every local maximum of ℓ > TOL among the
      // non-passive ones; those whose μ comes out negative are taken back out before the
      // step (their s is 0, so s stays feasible and the objective still decreases).
      const np0 = np;
      for (let a = 0; a < m; a++) {
        if (inP[a] === 1) continue;
        const ga = grad[a];
        if (!(ga > NNLS_TOL)) continue;
        if (a > 0 && inP[a - 1] === 0 && grad[a - 1] >= ga) continue;
        if (a + 1 < m && inP[a + 1] === 0 && grad[a + 1] > ga) continue;
        if (!gradient) gatherRow(gram, stride, index, m, a, ws);
        np = cholAppend(gram, stride, index, rhs, a, np, ws);
      }
      if (np > np0) {
        cholSolve(np, ws);
        for (;;) {
          let first = -1;
          for (let k = np - 1; k >= np0; k--) {
            if (mu[k] < 0) {
              np = cholDelete(k, np, ws);
              first = k;
            }
          }
          if (first < 0) break;
          forwardFrom(first, rhs, np, ws);
          cholSolve(np, ws);
        }
      }
      if (np > np0) solved = true;
      else {
        // §6.4: add argmax ℓ (even when max ℓ ≤ 0).
        let j = 0;
        for (let a = 1; a < m; a++) if (grad[a] > grad[j]) j = a;
        if (inP[j] === 0) {
          if (!gradient) gatherRow(gram, stride, index, m, j, ws);
          np = cholAppend(gram, stride, index, rhs, j, np, ws);
        }
      }
    }
    if (!solved) cholSolve(np, ws);
    if (warm) {
      // Warm start: drop every negative μ_k at once until the LS solution on P is ≥ 0.
      for (;;) {
        let first = -1;
        for (let k = 0; k < np; k++) if (mu[k] < 0) s[order[k]] = 0;
        for (let k = np - 1; k >= 0; k--) {
          if (s[order[k]] === 0) {
            np = cholDelete(k, np, ws);
            first = k;
          }
        }
        if (first < 0) break;
        forwardFrom(first, rhs, np, ws);
        cholSolve(np, ws);
      }
    }
    warm = false;
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
          np = cholDelete(k, np, ws);
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

/** 1 / L_kk of the current factor (shared scratch: the solver is synchronous). */
let invDiagCache = new Float64Array(0);

/** The 1 / L_kk scratch, grown to `cap` entries. */
function invDiag(cap: number): Float64Array {
  if (invDiagCache.length < cap) invDiagCache = new Float64Array(cap);
  return invDiagCache;
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
  const { chol, order, inP } = ws;
  const cap = ws.capacity;
  const inv = invDiag(cap);
  const ga = index[a] * stride;
  const row = np * cap;
  let ss = 0;
  for (let k = 0; k < np; k++) {
    const rk = k * cap;
    // Σ_{q<k} L_kq·l_q with four partial sums (inlined: no boxed return value).
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let q = 0;
    for (; q + 3 < k; q += 4) {
      a0 += chol[rk + q] * chol[row + q];
      a1 += chol[rk + q + 1] * chol[row + q + 1];
      a2 += chol[rk + q + 2] * chol[row + q + 2];
      a3 += chol[rk + q + 3] * chol[row + q + 3];
    }
    for (; q < k; q++) a0 += chol[rk + q] * chol[row + q];
    const v = (gram[ga + index[order[k]]] - (a0 + a1 + (a2 + a3))) * inv[k];
    chol[row + k] = v;
    ss += v * v;
  }
  const d2 = gram[ga + index[a]] - ss;
  // §6.4 adds 1e-9·I to a singular system; a non-positive pivot is the Cholesky analogue.
  const diag = d2 > 0 ? Math.sqrt(d2) : Math.sqrt(Math.max(d2, 0) + NNLS_TOL);
  chol[row + np] = diag;
  inv[np] = 1 / diag;
  order[np] = a;
  forwardFrom(np, rhs, np + 1, ws);
  inP[a] = 1;
  return np + 1;
}

/**
 * Removes factor row k (variable order[k]): rows below move up one and are made triangular
 * again by Givens rotations on columns (j, j+1), j ≥ k, shifted and rotated in one pass.
 * μ_j and z_j for j ≥ k hold the rotations: callers run forwardFrom(≤ k) and re-solve after.
 */
function cholDelete(k: number, np: number, ws: NnlsWorkspace): number {
  const { chol, order, inP, mu: cs, z: sn } = ws;
  const cap = ws.capacity;
  const inv = invDiag(cap);
  inP[order[k]] = 0;
  const n1 = np - 1;
  for (let i = k; i < n1; i++) {
    const src = (i + 1) * cap;
    const dst = i * cap;
    for (let q = 0; q < k; q++) chol[dst + q] = chol[src + q];
    let x = chol[src + k];
    for (let j = k; j < i; j++) {
      const y = chol[src + j + 1];
      chol[dst + j] = cs[j] * x + sn[j] * y;
      x = -sn[j] * x + cs[j] * y;
    }
    const y = chol[src + i + 1];
    const r = Math.sqrt(x * x + y * y);
    cs[i] = x / r;
    sn[i] = y / r;
    chol[dst + i] = r;
    inv[i] = 1 / r;
    order[i] = order[i + 1];
  }
  return n1;
}

/** Recomputes z_k = (L⁻¹ b_P)_k for k ≥ first (rows from `first` on changed). */
function forwardFrom(first: number, rhs: Float64Array, np: number, ws: NnlsWorkspace): void {
  const { chol, order, z } = ws;
  const cap = ws.capacity;
  const inv = invDiag(cap);
  for (let k = first; k < np; k++) {
    const rk = k * cap;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let q = 0;
    for (; q + 3 < k; q += 4) {
      a0 += chol[rk + q] * z[q];
      a1 += chol[rk + q + 1] * z[q + 1];
      a2 += chol[rk + q + 2] * z[q + 2];
      a3 += chol[rk + q + 3] * z[q + 3];
    }
    for (; q < k; q++) a0 += chol[rk + q] * z[q];
    z[k] = (rhs[order[k]] - (a0 + a1 + (a2 + a3))) * inv[k];
  }
}

/** μ = G_PP⁻¹ b_P by back substitution Lᵀ μ = z (μ in factor order). */
function cholSolve(np: number, ws: NnlsWorkspace): void {
  const { chol, mu, z } = ws;
  const cap = ws.capacity;
  const inv = invDiag(cap);
  // Column-oriented (row k of L is contiguous): μ_k, then remove its term from rows < k.
  for (let k = 0; k < np; k++) mu[k] = z[k];
  for (let k = np - 1; k >= 0; k--) {
    const rk = k * cap;
    const v = mu[k] * inv[k];
    mu[k] = v;
    let q = 0;
    for (; q + 3 < k; q += 4) {
      mu[q] -= chol[rk + q] * v;
      mu[q + 1] -= chol[rk + q + 1] * v;
      mu[q + 2] -= chol[rk + q + 2] * v;
      mu[q + 3] -= chol[rk + q + 3] * v;
    }
    for (; q < k; q++) mu[q] -= chol[rk + q] * v;
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
