/**
 * Active-set non-negative least squares (Lawson & Hanson 1974, ch. 23; Bro & De Jong,
 * J. Chemometrics 11, 1997), as used by CaImAn's windowed AR(2) solver
 * (deconvolution-algorithms.md §6.4):
 *
 *   minimise ½‖K s − y‖²  subject to  s ≥ 0,
 *
 * i.e. minimise ½ sᵀG s − bᵀs over s ≥ 0 with G = KᵀK, b = Kᵀy. The gradient (negated) is
 * ℓ = b − G s.
 *
 * - Warm start from s; the passive set is P = {s > 0}.
 * - At most m outer iterations (m = number of variables): add argmax ℓ to P (even when
 *   max ℓ ≤ 0), solve the least squares on P for μ (G_PP μ = b_P), step back towards
 *   feasibility while μ has a negative entry (dropping s ≤ 1e-9 from P), accept s_P = μ,
 *   stop when max ℓ < 1e-9.
 *
 * The problem is strictly convex (K triangular, non-zero diagonal), so its optimum is
 * unique and the path there may differ from §6.4's. This one is shorter:
 * - a non-empty warm start is first solved on its own P, dropping every negative μ at once
 *   until μ ≥ 0 (no forced addition);
 * - each iteration adds every local maximum of ℓ above TOL among the non-passive variables
 *   (a "block" step; those whose μ comes out negative are taken back out before the
 *   step-back, so s stays feasible and the objective decreases); when none is left, it
 *   falls back to §6.4's argmax ℓ, rejecting (as Lawson & Hanson's step 6) a candidate whose
 *   μ comes out ≤ 0 — a rounding residue of ℓ — and stopping when the argmax is passive.
 *
 * The path ({@link activeSetNnls}) only adds to and removes from P, asks for μ and for ℓ; a
 * {@link PassiveSetSolver} answers. The dense one here ({@link nnlsGram}) reads G_PP from a
 * Gram matrix and keeps its Cholesky factor up to date instead of a fresh LU per solve: a
 * column append is one forward substitution, a deletion is a sequence of Givens rotations.
 * Both give the same μ as a dense solve to rounding (G_PP is symmetric positive definite).
 * The AR(2) windows use a structured one instead (ar2Segments.ts).
 */

/** §6.4 tolerance: P drops entries with s ≤ TOL and the loop stops when max ℓ < TOL. */
const NNLS_TOL = 1e-9;

/**
 * Optional fast gradient: writes ℓ = b − G s (length m) for the current s, for callers
 * that can apply K and Kᵀ cheaply (e.g. as recursions) instead of reading G.
 */
type GradientOracle = (s: Float64Array, grad: Float64Array) => void;

/**
 * The least-squares side of the active-set path, on variables 0…m−1. P starts empty for
 * each problem; add and remove keep it in step with the path.
 */
interface PassiveSetSolver {
  /** Adds variable a (not in P) to P. */
  add(a: number): void;
  /** Takes variable a (in P) out of P. */
  remove(a: number): void;
  /** μ = argmin over x_P of ½ x_PᵀG_PP x_P − b_Pᵀx_P, written to mu[a] for a ∈ P. */
  solve(mu: Float64Array): void;
  /**
   * ℓ = b − G s for every variable. On P, where the path has just set s_P = μ, a solver may
   * write 0 for what is 0 up to rounding.
   */
  gradient(s: Float64Array, grad: Float64Array): void;
}

/** Preallocated buffers for problems of up to `capacity` variables. */
interface NnlsWorkspace {
  /** Largest number of variables this workspace can hold. */
  readonly capacity: number;
  /** inP[a] = 1 when variable a is passive. */
  readonly inP: Uint8Array;
  /** Negated gradient ℓ. */
  readonly grad: Float64Array;
  /** μ, by variable (valid on P). */
  readonly mu: Float64Array;
  /** The passive variables, in the order they were added. */
  readonly passive: Int32Array;
  /** The Gram-matrix solver of {@link nnlsGram}, allocated on first use. */
  gram: GramCholesky | null;
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
    inP: new Uint8Array(n),
    grad: new Float64Array(n),
    mu: new Float64Array(n),
    passive: new Int32Array(n),
    gram: null,
  };
}

/**
 * The active-set path of §6.4 (as shortened in the module comment), solving in place.
 *
 * @param m - number of variables
 * @param s - warm start on entry (s ≥ 0), solution on exit, length ≥ m
 * @param solver - least squares on P and the gradient, with P empty on entry
 * @param ws - workspace with capacity ≥ m
 * @returns the number of outer iterations used
 */
function activeSetNnls(
  m: number,
  s: Float64Array,
  solver: PassiveSetSolver,
  ws: NnlsWorkspace,
): number {
  if (m === 0) return 0;
  const { inP, grad, mu, passive } = ws;
  // P as a list in the order of addition (passive[0…np)), and as flags (inP).
  let np = 0;
  for (let a = 0; a < m; a++) {
    inP[a] = 0;
    if (s[a] > 0) {
      solver.add(a);
      inP[a] = 1;
      passive[np++] = a;
    }
  }
  // A non-empty warm start is first solved on its own P (no forced addition): the
  // optimum is unique, so only the path differs from §6.4's.
  const warm = np > 0;
  if (!warm) solver.gradient(s, grad);
  let iter = 0;
  while (iter < m) {
    iter++;
    if (warm && iter === 1) {
      // Warm start: drop every negative μ_a at once until the LS solution on P is ≥ 0.
      solver.solve(mu);
      for (;;) {
        let kept = 0;
        for (let q = 0; q < np; q++) {
          const a = passive[q];
          if (mu[a] < 0) {
            s[a] = 0;
            solver.remove(a);
            inP[a] = 0;
          } else passive[kept++] = a;
        }
        if (kept === np) break;
        np = kept;
        solver.solve(mu);
      }
    } else {
      // Several variables per iteration: every local maximum of ℓ > TOL among the
      // non-passive ones; those whose μ comes out negative are taken back out before the
      // step (their s is 0, so s stays feasible and the objective still decreases).
      // A variable joins P as soon as it is found: the next one is no longer compared with it.
      const np0 = np;
      for (let a = 0; a < m; a++) {
        const ga = grad[a];
        if (!(ga > NNLS_TOL) || inP[a] === 1) continue;
        if (a > 0 && inP[a - 1] === 0 && grad[a - 1] >= ga) continue;
        if (a + 1 < m && inP[a + 1] === 0 && grad[a + 1] > ga) continue;
        solver.add(a);
        inP[a] = 1;
        passive[np++] = a;
      }
      if (np > np0) {
        solver.solve(mu);
        for (;;) {
          let kept = np0;
          for (let q = np0; q < np; q++) {
            const a = passive[q];
            if (mu[a] < 0) {
              solver.remove(a);
              inP[a] = 0;
            } else passive[kept++] = a;
          }
          if (kept === np) break;
          np = kept;
          solver.solve(mu);
        }
      }
      if (np === np0) {
        // §6.4: add argmax ℓ (the first pick even when max ℓ ≤ 0), with Lawson & Hanson's
        // safeguard against rounding (1974, ch. 23, NNLS step 6): a candidate whose μ_j comes
        // out ≤ 0 is rejected (ℓ_j = −∞ until ℓ is recomputed) and the next argmax with
        // ℓ > TOL is tried. Stop when none is left or the argmax is already passive: P, μ and
        // s are then those of the last iteration, which every further one would repeat.
        //
        // Exactly, ℓ_j > 0 at the least squares on P gives μ_j > 0 on P ∪ {j}. But ℓ carries
        // a rounding error of order ε·‖b‖, and ‖b‖ = ‖Kᵀỹ‖ is ~10⁶ for d near 1: a column
        // that adds nothing to the fit (with gaps, one in the span of P's columns on the
        // observed frames) can show ℓ_j ≈ 10⁻⁷ > TOL with μ_j ≤ 0. Re-adding it was a no-op
        // or a two-state cycle up to the cap of m iterations per window (issue 12: ~100× the
        // gap-free time at d = 0.999 with 1 % NaN frames).
        let done = false;
        for (let first = true; ; first = false) {
          let j = 0;
          for (let a = 1; a < m; a++) if (grad[a] > grad[j]) j = a;
          if (inP[j] === 1 || (!first && !(grad[j] > NNLS_TOL))) {
            done = true;
            break;
          }
          solver.add(j);
          inP[j] = 1;
          solver.solve(mu);
          if (mu[j] > 0) {
            passive[np++] = j;
            break;
          }
          // Rejected: P is as before (and s_P its μ, as the last iteration left it).
          solver.remove(j);
          inP[j] = 0;
          grad[j] = Number.NEGATIVE_INFINITY;
        }
        if (done) break;
      }
    }
    for (;;) {
      // Step back: α = min over negative μ_a of s_a/(s_a − μ_a), s_P += α(μ − s_P).
      let alpha = Number.POSITIVE_INFINITY;
      let qmin = -1;
      for (let q = 0; q < np; q++) {
        const a = passive[q];
        const ma = mu[a];
        if (ma < 0) {
          const sa = s[a];
          const ratio = sa / (sa - ma);
          if (ratio < alpha) {
            alpha = ratio;
            qmin = q;
          }
        }
      }
      if (qmin < 0) break;
      for (let q = 0; q < np; q++) {
        const a = passive[q];
        s[a] += alpha * (mu[a] - s[a]);
      }
      // The blocking variable lands on 0 up to rounding; pin it so that P always shrinks.
      s[passive[qmin]] = 0;
      let kept = 0;
      for (let q = 0; q < np; q++) {
        const a = passive[q];
        if (s[a] <= NNLS_TOL) {
          solver.remove(a);
          inP[a] = 0;
        } else passive[kept++] = a;
      }
      np = kept;
      solver.solve(mu);
    }
    for (let q = 0; q < np; q++) s[passive[q]] = mu[passive[q]];
    solver.gradient(s, grad);
    let gmax = grad[0];
    for (let a = 1; a < m; a++) if (grad[a] > gmax) gmax = grad[a];
    if (gmax < NNLS_TOL) break;
  }
  return iter;
}

/**
 * Least squares on P from a Gram matrix: the Cholesky factor L of G_PP (rows in the order
 * the variables were added) and z = L⁻¹b_P are kept up to date, μ = L⁻ᵀz.
 */
class GramCholesky implements PassiveSetSolver {
  /** Largest number of variables. */
  readonly capacity: number;
  /** Cholesky factor of G_PP, row-major capacity × capacity, rows in `order`. */
  private readonly chol: Float64Array;
  /** 1 / L_kk. */
  private readonly invDiag: Float64Array;
  /** The masked Gram block G[index][index], row-major m × m, rows gathered on first use. */
  private readonly sub: Float64Array;
  /** gathered[a] = 1 once row a of `sub` holds G[index[a]][index]. */
  private readonly gathered: Uint8Array;
  /** order[k] = variable (0…m−1) in row k of the factor. */
  private readonly order: Int32Array;
  /** Variables taken out since the last solve (applied there, last factor row first). */
  private readonly removed: Uint8Array;
  /** μ in factor order; Givens cosines during a deletion. */
  private readonly muF: Float64Array;
  /** z = L⁻¹ b_P in factor order; Givens sines during a deletion. */
  private readonly z: Float64Array;
  private gram: Float64Array = new Float64Array(0);
  private stride = 0;
  private index: Int32Array = new Int32Array(0);
  private m = 0;
  private rhs: Float64Array = new Float64Array(0);
  private oracle: GradientOracle | undefined;
  /** Rows of the factor. */
  private np = 0;
  /** Number of pending removals. */
  private nRemoved = 0;

  /** @param capacity - largest number of variables */
  constructor(capacity: number) {
    const n = Math.max(1, capacity);
    this.capacity = n;
    this.chol = new Float64Array(n * n);
    this.invDiag = new Float64Array(n);
    this.sub = new Float64Array(n * n);
    this.gathered = new Uint8Array(n);
    this.order = new Int32Array(n);
    this.removed = new Uint8Array(n);
    this.muF = new Float64Array(n);
    this.z = new Float64Array(n);
  }

  /** Starts a problem with P empty (arguments as {@link nnlsGram}'s). */
  reset(
    gram: Float64Array,
    stride: number,
    index: Int32Array,
    m: number,
    rhs: Float64Array,
    oracle?: GradientOracle,
  ): void {
    this.gram = gram;
    this.stride = stride;
    this.index = index;
    this.m = m;
    this.rhs = rhs;
    this.oracle = oracle;
    this.np = 0;
    this.nRemoved = 0;
    for (let a = 0; a < m; a++) {
      this.gathered[a] = 0;
      this.removed[a] = 0;
    }
  }

  /** Appends variable a: new factor row l = L⁻¹G_{P,a}, diagonal √(G_aa − lᵀl). */
  add(a: number): void {
    if (!this.oracle) this.gatherRow(a);
    const { chol, gram, index, order, invDiag: inv } = this;
    const cap = this.capacity;
    const np = this.np;
    const ga = index[a] * this.stride;
    const row = np * cap;
    let ss = 0;
    for (let k = 0; k < np; k++) {
      const rk = k * cap;
      // Σ_{q<k} L_kq·l_q with four partial sums.
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
    this.np = np + 1;
    this.forwardFrom(np);
  }

  /** Marks variable a for removal (the factor is updated at the next solve). */
  remove(a: number): void {
    this.removed[a] = 1;
    this.nRemoved++;
  }

  /** Applies the pending removals, then μ = G_PP⁻¹ b_P by back substitution Lᵀ μ = z. */
  solve(mu: Float64Array): void {
    const { chol, muF, order, invDiag: inv } = this;
    const cap = this.capacity;
    if (this.nRemoved > 0) {
      let first = this.np;
      for (let k = this.np - 1; k >= 0; k--) {
        if (this.removed[order[k]] === 1) {
          this.removed[order[k]] = 0;
          this.deleteRow(k);
          first = k;
        }
      }
      this.nRemoved = 0;
      this.forwardFrom(first);
    }
    const np = this.np;
    // Column-oriented (row k of L is contiguous): μ_k, then remove its term from rows < k.
    for (let k = 0; k < np; k++) muF[k] = this.z[k];
    for (let k = np - 1; k >= 0; k--) {
      const rk = k * cap;
      const v = muF[k] * inv[k];
      muF[k] = v;
      let q = 0;
      for (; q + 3 < k; q += 4) {
        muF[q] -= chol[rk + q] * v;
        muF[q + 1] -= chol[rk + q + 1] * v;
        muF[q + 2] -= chol[rk + q + 2] * v;
        muF[q + 3] -= chol[rk + q + 3] * v;
      }
      for (; q < k; q++) muF[q] -= chol[rk + q] * v;
    }
    for (let k = 0; k < np; k++) mu[order[k]] = muF[k];
  }

  /** ℓ = b − G s, from the oracle or the gathered Gram rows (rows of s = 0 skipped). */
  gradient(s: Float64Array, grad: Float64Array): void {
    if (this.oracle) {
      this.oracle(s, grad);
      return;
    }
    const { sub, m, rhs } = this;
    for (let a = 0; a < m; a++) grad[a] = rhs[a];
    for (let k = 0; k < m; k++) {
      const sk = s[k];
      if (sk === 0) continue;
      this.gatherRow(k);
      const row = k * m;
      for (let a = 0; a < m; a++) grad[a] -= sub[row + a] * sk;
    }
  }

  /** Copies row a of the masked block, G[index[a]][index[0…m)], into `sub` (once per problem). */
  private gatherRow(a: number): void {
    const { sub, gathered, gram, index, m } = this;
    if (gathered[a] === 1) return;
    const row = index[a] * this.stride;
    const out = a * m;
    for (let q = 0; q < m; q++) sub[out + q] = gram[row + index[q]];
    gathered[a] = 1;
  }

  /**
   * Removes factor row k: rows below move up one and are made triangular again by Givens
   * rotations on columns (j, j+1), j ≥ k, shifted and rotated in one pass. muF_j and z_j for
   * j ≥ k hold the rotations: the caller runs forwardFrom(≤ k) afterwards.
   */
  private deleteRow(k: number): void {
    const { chol, order, muF: cs, z: sn, invDiag: inv } = this;
    const cap = this.capacity;
    const n1 = this.np - 1;
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
    this.np = n1;
  }

  /** Recomputes z_k = (L⁻¹ b_P)_k for k ≥ first (rows from `first` on changed). */
  private forwardFrom(first: number): void {
    const { chol, order, z, rhs, invDiag: inv } = this;
    const cap = this.capacity;
    const np = this.np;
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
}

/**
 * Solves the masked NNLS of §6.4 in place from the Gram matrix G = KᵀK.
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
  // The factor is m × m: sized by the variables of the problems seen so far, not the capacity
  // (a window of thousands of frames usually has a sparse mask).
  if (!ws.gram || ws.gram.capacity < m) {
    ws.gram = new GramCholesky(Math.min(ws.capacity, Math.max(m, 2 * (ws.gram?.capacity ?? 0))));
  }
  ws.gram.reset(gram, stride, index, m, rhs, gradient);
  return activeSetNnls(m, s, ws.gram, ws);
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

export type { GradientOracle, NnlsWorkspace, PassiveSetSolver };
export { activeSetNnls, createNnlsWorkspace, GramCholesky, NNLS_TOL, nnls, nnlsGram };
