/**
 * Least squares on a passive set, and the NNLS gradient, for one AR(2) window
 * (deconvolution-algorithms.md §6.3–§6.4), segment by segment in O(|P|) and O(m + |s ≠ 0|)
 * instead of through the Gram matrix. On a window of n frames,
 *
 *   minimise ½‖ỹ − K s‖² over s_P (s = 0 off P),   K = κ·A⁻¹,
 *   (A c)_t = c_t − g₁c_{t−1} − g₂c_{t−2},
 *
 * with P = {p_1 < … < p_k}. c̃ = A⁻¹s is an AR(2) process: with the state x_t = (c̃_t, c̃_{t−1}),
 * x_t = F x_{t−1} + e₁s_t, F = [[g₁, g₂], [1, 0]], x_{p_1−1} = 0. Rows of Fⁱ are
 * e₁ᵀFⁱ = (φ_i, g₂φ_{i−1}) and e₂ᵀFⁱ = e₁ᵀF^{i−1} (i ≥ 1), φ the impulse response of A⁻¹
 * (φ_{−1} = 0, φ₀ = 1, φ_i = g₁φ_{i−1} + g₂φ_{i−2}). Between impulses x evolves freely, so on
 * segment j = [p_j, p_{j+1}) (p_{k+1} = n, length L_j) x_{p_j+i} = Fⁱξ_j with ξ_j = x_{p_j}, and
 *
 *   ½‖ỹ − K s‖² = Σ_j ½ξ_jᵀS_{L_j}ξ_j − ξ_jᵀρ_j + const,                                (1)
 *   S_L = κ²Σ_{i<L} (Fⁱ)ᵀe₁e₁ᵀFⁱ,   ρ_j = U_{p_j} − (F^{L_j})ᵀU_{p_{j+1}},                 (2)
 *
 * where U_t = κΣ_{i≥0}(Fⁱ)ᵀe₁ỹ_{t+i} = (b_t, g₂b_{t+1}), b = Kᵀỹ (b_n = b_{n+1} = 0, so
 * U_n = 0). F^L and S_L (L ≤ w) are tabulated once per kernel, so ρ_j costs O(1); only positive
 * powers of F appear (never d^{−k} or r^{−k}).
 *
 * Solve: a backward Riccati sweep, then a forward one, O(k). With s_{j+1…k} chosen optimally,
 * the cost of segments j…k given ξ_j is ½ξᵀQ_jξ − ξᵀq_j:
 *
 *   Q_k = S_{L_k}, q_k = ρ_k;   Q_j = S_{L_j} + σ_{j+1}ψ_jψ_jᵀ,  q_j = ρ_j + τ_{j+1}ψ_j,        (3)
 *
 * ψ_j = (F^{L_j})ᵀe₂ (ψ_jᵀξ_j = c̃_{p_{j+1}−1}): choosing s_j (the jump of the first state
 * component) leaves σ_j = Q₂₂ − β_jQ₁₂ and τ_j = q₂ − β_jq₁ on the second, with
 * α_j = q₁/Q₁₁, β_j = Q₁₂/Q₁₁. Then forwards, with ζ = F^{L_j}ξ_j:
 *
 *   s_1 = α_1, ξ_1 = (α_1, 0);
 *   s_{j+1} = α_{j+1} − ζ₁ − β_{j+1}ζ₂,   ξ_{j+1} = (α_{j+1} − β_{j+1}ζ₂, ζ₂).                (4)
 *
 * Q₁₁ ≥ (S_L)₁₁ ≥ κ² > 0, so no pivot can vanish. This is Gaussian elimination of the
 * (semiseparable) G_PP from its last variable, so μ equals the Cholesky solve's to rounding.
 *
 * Gradient ℓ = Kᵀ(ỹ − K s) = b − W₁ for any s, with support Z = {z_1 < …} and states ξ_j at
 * z_j from (4)'s transition ξ_{j+1} = F^{L_j}ξ_j + e₁s_{z_{j+1}}. With
 * W_t = κ²Σ_{t'≥t}(F^{t'−t})ᵀe₁e₁ᵀx_{t'}, for t in the segment of z_j, δ = t − z_j,
 * ν = z_{j+1} − t:
 *
 *   W_t = S_ν F^δ ξ_j + (F^ν)ᵀW_{z_{j+1}},   W_{z_j} = S_{L_j}ξ_j + (F^{L_j})ᵀW_{z_{j+1}},
 *   W_n = 0,                                                                               (5)
 *
 * and W_t = (F^{z_1−t})ᵀW_{z_1} before z_1: O(m + |Z|) instead of two O(n) recursions. On P the
 * path only asks at s_P = μ, where ℓ_P = 0 up to rounding: that 0 is written instead.
 */
import type { PassiveSetSolver } from './nnls.js';

/** Entries per segment length L in the table: F^L (4), S_L (3), padding (1). */
const STRIDE = 8;
const F11 = 0;
const F12 = 1;
const F21 = 2;
const F22 = 3;
const S11 = 4;
const S12 = 5;
const S22 = 6;

/**
 * {@link PassiveSetSolver} for one window of the AR(2) kernel K = κ·A⁻¹ (module comment):
 * variables are the window frames pos[a] (ascending), a < m.
 */
class Ar2SegmentSolver implements PassiveSetSolver {
  /** Largest window length. */
  readonly capacity: number;
  /** F^L and S_L for L = 0…capacity, STRIDE entries each (F⁰ = I, S₀ = 0). */
  private readonly table: Float64Array;
  /** b = Kᵀỹ of the window, b_n = b_{n+1} = 0. */
  private readonly b: Float64Array;
  /** inP[a] = 1 when variable a is passive. */
  private readonly inP: Uint8Array;
  /** Passive variables in frame order (solve), or the support of s (gradient). */
  private readonly list: Int32Array;
  /** α_j and β_j of (4), or the states ξ_j of the gradient. */
  private readonly alpha: Float64Array;
  private readonly beta: Float64Array;
  /** W_{z_j} of (5), W at index k = W_n = 0. */
  private readonly w1: Float64Array;
  private readonly w2: Float64Array;
  private g1 = 0;
  private g2 = 0;
  private kappa = 1;
  private pos: Int32Array = new Int32Array(0);
  private m = 0;
  private n = 0;

  /** @param capacity - largest window length */
  constructor(capacity: number) {
    const w = Math.max(1, capacity);
    this.capacity = w;
    this.table = new Float64Array((w + 1) * STRIDE);
    this.b = new Float64Array(w + 2);
    this.inP = new Uint8Array(w);
    this.list = new Int32Array(w);
    this.alpha = new Float64Array(w);
    this.beta = new Float64Array(w);
    this.w1 = new Float64Array(w + 1);
    this.w2 = new Float64Array(w + 1);
  }

  /**
   * Sets the kernel K = κ·A⁻¹ and tabulates F^L, S_L (L ≤ capacity) of (1)–(2).
   *
   * @param g1 - AR coefficient g₁
   * @param g2 - AR coefficient g₂
   * @param kappa - scale κ (1 for distinct roots, d for the double root, §6.1)
   */
  setKernel(g1: number, g2: number, kappa: number): void {
    this.g1 = g1;
    this.g2 = g2;
    this.kappa = kappa;
    const { table } = this;
    const k2 = kappa * kappa;
    // φ_{L−2}, φ_{L−1}, φ_L while L runs; Σ_{i<L} φ_i², Σ_{i<L} φ_iφ_{i−1}, Σ_{i<L−1} φ_i².
    let phi2 = 0;
    let phi1 = 0;
    let phi = 1;
    let sumSq = 0;
    let sumLag = 0;
    let sumSqPrev = 0;
    table.fill(0, 0, STRIDE);
    table[F11] = 1;
    table[F22] = 1;
    for (let L = 1; L <= this.capacity; L++) {
      // Entering L: φ_{L−1} joins the sums, then φ advances to φ_L.
      sumSqPrev = sumSq;
      sumSq += phi * phi;
      sumLag += phi * phi1;
      phi2 = phi1;
      phi1 = phi;
      phi = g1 * phi1 + g2 * phi2;
      const o = L * STRIDE;
      table[o + F11] = phi; // φ_L
      table[o + F12] = g2 * phi1; // g₂φ_{L−1}
      table[o + F21] = phi1; // φ_{L−1}
      table[o + F22] = g2 * phi2; // g₂φ_{L−2}
      table[o + S11] = k2 * sumSq;
      table[o + S12] = k2 * g2 * sumLag;
      table[o + S22] = k2 * g2 * g2 * sumSqPrev;
    }
  }

  /**
   * Starts the problem of one window: b = Kᵀỹ[start:start+n] by the backward recursion
   * u_t = ỹ_t + g₁u_{t+1} + g₂u_{t+2} (Aᵀu = ỹ), and P empty.
   *
   * @param yt - ỹ
   * @param start - first frame of the window
   * @param n - window length (≤ capacity)
   * @param pos - pos[a] = window frame of variable a, ascending
   * @param m - number of variables
   */
  setWindow(yt: Float64Array, start: number, n: number, pos: Int32Array, m: number): void {
    const { b, g1, g2, kappa } = this;
    let u1 = 0;
    let u2 = 0;
    b[n] = 0;
    b[n + 1] = 0;
    for (let t = n - 1; t >= 0; t--) {
      const v = yt[start + t] + g2 * u2 + g1 * u1; // u₁ last: the shorter dependency chain
      b[t] = kappa * v;
      u2 = u1;
      u1 = v;
    }
    this.pos = pos;
    this.m = m;
    this.n = n;
    this.inP.fill(0, 0, m);
  }

  /**
   * §6.3 step 4.2 for the frames a later window reads: ỹ[start + Δ : start + n] −=
   * (K[:, 0:Δ]·s[start : start + Δ])[Δ:], i.e. κ·e₁ᵀF^{j+1}x for frame start + Δ + j, the free
   * evolution of the state x = Σ_{t<Δ} F^{Δ−1−t}e₁s_{start+t} = (Σ φ_{Δ−1−t}s, Σ φ_{Δ−2−t}s).
   *
   * @param yt - ỹ (frames start + Δ … start + n − 1 updated)
   * @param s - spikes
   * @param start - first frame of the window
   * @param shift - Δ
   * @param n - window length (≤ capacity)
   */
  subtractCommitted(
    yt: Float64Array,
    s: Float64Array,
    start: number,
    shift: number,
    n: number,
  ): void {
    const { table, kappa } = this;
    // φ_i = table[(i + 1)·STRIDE + F21] for i ≥ −1 (F⁰ = I gives φ_{−1} = 0).
    let x1 = 0;
    let x2 = 0;
    for (let t = 0; t < shift; t++) {
      const st = s[start + t];
      const o = (shift - t) * STRIDE;
      x1 += table[o + F21] * st;
      x2 += table[o - STRIDE + F21] * st;
    }
    if (x1 === 0 && x2 === 0) return; // no spike committed (φ > 0): nothing to subtract
    const from = start + shift;
    for (let j = 0; j < n - shift; j++) {
      const o = (j + 1) * STRIDE;
      yt[from + j] -= kappa * (table[o + F11] * x1 + table[o + F12] * x2);
    }
  }

  /** (Kᵀỹ)_t of the current window, for frame t < n. */
  rhsAt(t: number): number {
    return this.b[t];
  }

  add(a: number): void {
    this.inP[a] = 1;
  }

  remove(a: number): void {
    this.inP[a] = 0;
  }

  /** μ on P by (3) backwards and (4) forwards. */
  solve(mu: Float64Array): void {
    const { table, b, inP, list, alpha, beta, pos, m, g2 } = this;
    // P in frame order (branch-free: inP is 0 or 1).
    let k = 0;
    for (let a = 0; a < m; a++) {
      list[k] = a;
      k += inP[a];
    }
    if (k === 0) return;
    // (3): j = k … 1; σ_{k+1} = τ_{k+1} = 0 and U_{p_{k+1}} = U_n = 0.
    let sigma = 0;
    let tau = 0;
    let next = this.n;
    let un1 = 0;
    let un2 = 0;
    for (let j = k - 1; j >= 0; j--) {
      const p = pos[list[j]];
      const o = (next - p) * STRIDE;
      const f11 = table[o + F11];
      const f12 = table[o + F12];
      const psi1 = table[o + F21];
      const psi2 = table[o + F22];
      const u1 = b[p];
      const u2 = g2 * b[p + 1];
      // (2): ρ_j = U_{p_j} − (F^L)ᵀU_{p_{j+1}}; (3): Q_j, q_j.
      const q1 = u1 - (f11 * un1 + psi1 * un2) + tau * psi1;
      const q2 = u2 - (f12 * un1 + psi2 * un2) + tau * psi2;
      // ψψᵀ first keeps the σ → Q₁₁ → 1/Q₁₁ → σ dependency chain short; σ = Q₂₂ − βQ₁₂ (not
      // Q₂₂ − Q₁₂²/Q₁₁) so that no intermediate exceeds the size of Q (exploding kernels).
      const qq11 = table[o + S11] + sigma * (psi1 * psi1);
      const qq12 = table[o + S12] + sigma * (psi1 * psi2);
      const qq22 = table[o + S22] + sigma * (psi2 * psi2);
      const inv = 1 / qq11;
      const bj = qq12 * inv;
      alpha[j] = q1 * inv;
      beta[j] = bj;
      sigma = qq22 - bj * qq12;
      tau = q2 - bj * q1;
      next = p;
      un1 = u1;
      un2 = u2;
    }
    // (4).
    let x1 = alpha[0];
    let x2 = 0;
    mu[list[0]] = x1;
    let prev = pos[list[0]];
    for (let j = 1; j < k; j++) {
      const p = pos[list[j]];
      const o = (p - prev) * STRIDE;
      const z1 = table[o + F11] * x1 + table[o + F12] * x2;
      const z2 = table[o + F21] * x1 + table[o + F22] * x2;
      const bz = beta[j] * z2;
      mu[list[j]] = alpha[j] - z1 - bz;
      x1 = alpha[j] - bz;
      x2 = z2;
      prev = p;
    }
  }

  /** ℓ = b − W₁ by (5), for the s given (any support); 0 at passive spikes. */
  gradient(s: Float64Array, grad: Float64Array): void {
    const { table, b, inP, list: z, alpha: xi1, beta: xi2, w1, w2, pos, m, n } = this;
    // Support Z (branch-free).
    let k = 0;
    for (let a = 0; a < m; a++) {
      z[k] = a;
      k += +(s[a] !== 0);
    }
    if (k === 0) {
      for (let a = 0; a < m; a++) grad[a] = b[pos[a]];
      return;
    }
    // States ξ_j at the support: ξ_{j+1} = F^L ξ_j + e₁s.
    let x1 = s[z[0]];
    let x2 = 0;
    xi1[0] = x1;
    xi2[0] = 0;
    for (let j = 1; j < k; j++) {
      const o = (pos[z[j]] - pos[z[j - 1]]) * STRIDE;
      const y1 = table[o + F11] * x1 + table[o + F12] * x2;
      x2 = table[o + F21] * x1 + table[o + F22] * x2;
      x1 = y1 + s[z[j]];
      xi1[j] = x1;
      xi2[j] = x2;
    }
    // (5) at the support, backwards from W_n = 0; w[k] = W_n.
    let v1 = 0;
    let v2 = 0;
    w1[k] = 0;
    w2[k] = 0;
    let next = n;
    for (let j = k - 1; j >= 0; j--) {
      const p = pos[z[j]];
      const o = (next - p) * STRIDE;
      const e1 = xi1[j];
      const e2 = xi2[j];
      const s12 = table[o + S12];
      const n1 = table[o + S11] * e1 + s12 * e2 + table[o + F11] * v1 + table[o + F21] * v2;
      v2 = s12 * e1 + table[o + S22] * e2 + table[o + F12] * v1 + table[o + F22] * v2;
      v1 = n1;
      w1[j] = v1;
      w2[j] = v2;
      next = p;
    }
    // (5) at every variable, segment by segment: before z_1 only (F^ν)ᵀW_{z_1} …
    let a = 0;
    let end = pos[z[0]];
    for (; pos[a] < end; a++) {
      const t = pos[a];
      const on = (end - t) * STRIDE;
      grad[a] = b[t] - (table[on + F11] * v1 + table[on + F21] * v2);
    }
    // … then S_ν F^δ ξ_j + (F^ν)ᵀW_{z_{j+1}} on the segment of z_j (whose first variable,
    // z_j itself, gets 0 when passive: s_P = μ makes ℓ_P vanish up to rounding).
    for (let j = 0; j < k; j++) {
      const start = end;
      end = j + 1 < k ? pos[z[j + 1]] : n;
      const e1 = xi1[j];
      const e2 = xi2[j];
      const wn1 = w1[j + 1];
      const wn2 = w2[j + 1];
      if (inP[a] === 1) grad[a++] = 0;
      for (; a < m && pos[a] < end; a++) {
        const t = pos[a];
        const od = (t - start) * STRIDE;
        const on = (end - t) * STRIDE;
        const y1 = table[od + F11] * e1 + table[od + F12] * e2;
        const y2 = table[od + F21] * e1 + table[od + F22] * e2;
        const v =
          table[on + S11] * y1 +
          table[on + S12] * y2 +
          (table[on + F11] * wn1 + table[on + F21] * wn2);
        grad[a] = b[t] - v;
      }
    }
  }
}

export { Ar2SegmentSolver };
