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
 *
 * Gaps (observation weights w_t ∈ {0, 1}, W = diag w): the window cost ½‖W^{1/2}(ỹ − K s)‖²
 * still splits over the segments as (1), with b = KᵀWỹ in U (so (2) gives ρ_j unchanged) and
 *
 *   S^W_j = κ²Σ_{i<L_j} w_{p_j+i}(Fⁱ)ᵀe₁e₁ᵀFⁱ = Σ_{runs [a, a+ℓ)} (F^{a−p_j})ᵀS_ℓF^{a−p_j},        (6)
 *
 * the sum over the maximal observed runs of the segment: PSD terms from the same table, no
 * cancellation, O(1 + gaps in the segment), and S^W = 0 exactly on an unobserved stretch.
 * S^W_j may be singular, so Q₁₁ ≥ κ² no longer holds. With v_i = (Fⁱ)ᵀe₁ (any two v_i
 * independent: g₂ ≠ 0) and ψ_j = v_{L_j−1}, Q_j = S^W_j + σ_{j+1}ψ_jψ_jᵀ has the rank
 *
 *   r_j = min(2, #observed frames of j + [r_{j+1} = 2 and frame p_{j+1} − 1 unobserved]),   (7)
 *
 * r_{k+1} = 1 (σ_{k+1} = 0). r_j = 2: (3)–(4) as above. r_j = 1: Q₁₁ > 0 (v_i and ψ have
 * φ > 0 first), and σ_j = τ_j = 0 exactly (q ∈ range Q), so no rounding residue of a rank-one
 * Schur complement becomes a pivot upstream; ρ_j = 0 exactly when j has no observed frame.
 * r_j = 0 (Q_j = 0, e.g. P ∋ p, p + 1, p + 2 with p a gap: K e_p = g₁K e_{p+1} + g₂K e_{p+2} on
 * the frames after p): G_PP is singular and every s_{p_j} gives the same cost. The tie is broken
 * by s_{p_j} = 0 (ξ_j = ζ in (4)): a spike that no observed frame tells apart is not placed.
 * Then the optimum value and the fit WKs are those of any other solver, s itself may differ.
 * The gradient chains W backwards through the variables t < u (consecutive, no support
 * point strictly between, so x_{t'} = F^{t'−t}x_t on [t, u)):
 *
 *   W_t = (F^{u−t})ᵀW_u + S^W_{[t,u)}x_t,   x_t = F^{t−z_j}ξ_j (0 before z_1),   W_n = 0,       (8)
 *
 * with S^W_{[t,u)} from (6): O(m + |Z| + gaps), and ℓ = b − W₁ exactly 0 where no observed
 * frame follows.
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
  /** Window weights w_t (1 observed, 0 gap), valid while {@link masked}. */
  private readonly obs: Uint8Array;
  /** End (exclusive) of the run of equal weights that holds frame t (6). */
  private readonly runEnd: Int32Array;
  /** S^W of the last {@link maskedGram} call (6). */
  private sw11 = 0;
  private sw12 = 0;
  private sw22 = 0;
  /** The window has a gap: (6)–(8) instead of (1)–(5). */
  private masked = false;
  /** pinned[j] = 1 when r_j = 0 (7): s_{p_j} = 0 in (4). */
  private readonly pinned: Uint8Array;
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
    this.obs = new Uint8Array(w);
    this.runEnd = new Int32Array(w);
    this.pinned = new Uint8Array(w);
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
   * Starts the problem of one window: b = KᵀWỹ[start:start+n] by the backward recursion
   * u_t = w_tỹ_t + g₁u_{t+1} + g₂u_{t+2} (Aᵀu = Wỹ), and P empty. Without weights, or with
   * no gap in the window, W = I and (1)–(5) apply; otherwise (6)–(8).
   *
   * @param yt - ỹ (read at observed frames only)
   * @param start - first frame of the window
   * @param n - window length (≤ capacity)
   * @param pos - pos[a] = window frame of variable a, ascending
   * @param m - number of variables
   * @param weights - per-frame weights of the whole trace (1 observed, 0 gap), or null
   */
  setWindow(
    yt: Float64Array,
    start: number,
    n: number,
    pos: Int32Array,
    m: number,
    weights: Uint8Array | null = null,
  ): void {
    const { b, g1, g2, kappa } = this;
    let u1 = 0;
    let u2 = 0;
    b[n] = 0;
    b[n + 1] = 0;
    this.masked = false;
    if (weights === null) {
      for (let t = n - 1; t >= 0; t--) {
        const v = yt[start + t] + g2 * u2 + g1 * u1; // u₁ last: the shorter dependency chain
        b[t] = kappa * v;
        u2 = u1;
        u1 = v;
      }
    } else {
      const { obs, runEnd } = this;
      let gaps = 0;
      let end = n;
      for (let t = n - 1; t >= 0; t--) {
        const wt = weights[start + t];
        // Gap frames contribute 0 (ỹ there is finite: only committed spikes were subtracted).
        const v = (wt === 1 ? yt[start + t] : 0) + g2 * u2 + g1 * u1;
        b[t] = kappa * v;
        u2 = u1;
        u1 = v;
        // (6): runs of equal weight, end exclusive.
        if (t + 1 < n && wt !== obs[t + 1]) end = t + 1;
        obs[t] = wt;
        runEnd[t] = end;
        gaps += 1 - wt;
      }
      this.masked = gaps > 0;
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
    if (this.masked) {
      this.solveMasked(mu, k);
      return;
    }
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
    if (this.masked) {
      this.gradientMasked(s, grad, k);
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

  /**
   * S^W over the window frames [p, e) by (6) into sw11, sw12, sw22; returns the number of
   * observed frames there.
   */
  private maskedGram(p: number, e: number): number {
    const { table, obs, runEnd } = this;
    const r = runEnd[p];
    if (r >= e) {
      // One run: S_{e−p} or 0.
      if (obs[p] === 0) {
        this.sw11 = 0;
        this.sw12 = 0;
        this.sw22 = 0;
        return 0;
      }
      const o = (e - p) * STRIDE;
      this.sw11 = table[o + S11];
      this.sw12 = table[o + S12];
      this.sw22 = table[o + S22];
      return e - p;
    }
    let s11 = 0;
    let s12 = 0;
    let s22 = 0;
    let count = 0;
    for (let a = p; a < e; ) {
      const end = Math.min(runEnd[a], e);
      if (obs[a] === 1) {
        // (F^δ)ᵀS_ℓF^δ, δ = a − p, ℓ = end − a.
        const od = (a - p) * STRIDE;
        const ol = (end - a) * STRIDE;
        const f11 = table[od + F11];
        const f12 = table[od + F12];
        const f21 = table[od + F21];
        const f22 = table[od + F22];
        const l11 = table[ol + S11];
        const l12 = table[ol + S12];
        const l22 = table[ol + S22];
        const m11 = l11 * f11 + l12 * f21;
        const m12 = l11 * f12 + l12 * f22;
        const m21 = l12 * f11 + l22 * f21;
        const m22 = l12 * f12 + l22 * f22;
        s11 += f11 * m11 + f21 * m21;
        s12 += f11 * m12 + f21 * m22;
        s22 += f12 * m12 + f22 * m22;
        count += end - a;
      }
      a = end;
    }
    this.sw11 = s11;
    this.sw12 = s12;
    this.sw22 = s22;
    return count;
  }

  /** μ on P (list[0…k), frame order) with gaps: (3)–(4) with S^W of (6) and the rank rule (7). */
  private solveMasked(mu: Float64Array, k: number): void {
    const { table, b, list, alpha, beta, pos, obs, pinned, g2 } = this;
    let sigma = 0;
    let tau = 0;
    let next = this.n;
    let un1 = 0;
    let un2 = 0;
    // (7): r_{k+1} = 1 (nothing downstream).
    let rankNext = 1;
    for (let j = k - 1; j >= 0; j--) {
      const p = pos[list[j]];
      const o = (next - p) * STRIDE;
      const f11 = table[o + F11];
      const f12 = table[o + F12];
      const psi1 = table[o + F21];
      const psi2 = table[o + F22];
      const nObs = this.maskedGram(p, next);
      const u1 = b[p];
      const u2 = g2 * b[p + 1];
      // (2): ρ_j (exactly 0 on an unobserved segment); (3): q_j.
      const rho1 = nObs === 0 ? 0 : u1 - (f11 * un1 + psi1 * un2);
      const rho2 = nObs === 0 ? 0 : u2 - (f12 * un1 + psi2 * un2);
      const q1 = rho1 + tau * psi1;
      const q2 = rho2 + tau * psi2;
      const qq11 = this.sw11 + sigma * (psi1 * psi1);
      const qq12 = this.sw12 + sigma * (psi1 * psi2);
      const qq22 = this.sw22 + sigma * (psi2 * psi2);
      // (7): rank of Q_j; ψ_j = v_{L−1} adds a direction only when frame p_{j+1} − 1 is a gap.
      const rank = Math.min(2, nObs + (rankNext === 2 && obs[next - 1] === 0 ? 1 : 0));
      pinned[j] = rank === 0 ? 1 : 0;
      if (rank === 0) {
        alpha[j] = 0;
        beta[j] = 0;
        sigma = 0;
        tau = 0;
      } else {
        const inv = 1 / qq11;
        const bj = qq12 * inv;
        alpha[j] = q1 * inv;
        beta[j] = bj;
        sigma = rank === 2 ? qq22 - bj * qq12 : 0;
        tau = rank === 2 ? q2 - bj * q1 : 0;
      }
      rankNext = rank;
      next = p;
      un1 = u1;
      un2 = u2;
    }
    // (4), with s = 0 and ξ_j = ζ where r_j = 0.
    let x1 = alpha[0];
    let x2 = 0;
    mu[list[0]] = x1;
    let prev = pos[list[0]];
    for (let j = 1; j < k; j++) {
      const p = pos[list[j]];
      const o = (p - prev) * STRIDE;
      const z1 = table[o + F11] * x1 + table[o + F12] * x2;
      const z2 = table[o + F21] * x1 + table[o + F22] * x2;
      if (pinned[j] === 1) {
        mu[list[j]] = 0;
        x1 = z1;
      } else {
        const bz = beta[j] * z2;
        mu[list[j]] = alpha[j] - z1 - bz;
        x1 = alpha[j] - bz;
      }
      x2 = z2;
      prev = p;
    }
  }

  /**
   * ℓ = b − W₁ with gaps, by (8) backwards through the variables; z[0…k) is the support of s
   * (variables in frame order). 0 at passive spikes, as without gaps.
   */
  private gradientMasked(s: Float64Array, grad: Float64Array, k: number): void {
    const { table, b, inP, list: z, alpha: xi1, beta: xi2, pos, m, obs, runEnd } = this;
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
    // (8) from W_n = 0; j = the support segment of the current variable (−1 before z_1).
    let j = k - 1;
    let u = this.n;
    let v1 = 0;
    let v2 = 0;
    for (let a = m - 1; a >= 0; a--) {
      const t = pos[a];
      while (j >= 0 && pos[z[j]] > t) j--;
      const on = (u - t) * STRIDE;
      let n1 = table[on + F11] * v1 + table[on + F21] * v2;
      let n2 = table[on + F12] * v1 + table[on + F22] * v2;
      if (j >= 0) {
        // S^W_{[t,u)} by (6): one run of equal weight (the common case, inline) or several.
        let s11 = 0;
        let s12 = 0;
        let s22 = 0;
        if (runEnd[t] >= u) {
          if (obs[t] === 1) {
            s11 = table[on + S11];
            s12 = table[on + S12];
            s22 = table[on + S22];
          }
        } else if (this.maskedGram(t, u) > 0) {
          s11 = this.sw11;
          s12 = this.sw12;
          s22 = this.sw22;
        }
        if (s11 !== 0 || s12 !== 0 || s22 !== 0) {
          const od = (t - pos[z[j]]) * STRIDE;
          const e1 = xi1[j];
          const e2 = xi2[j];
          const y1 = table[od + F11] * e1 + table[od + F12] * e2;
          const y2 = table[od + F21] * e1 + table[od + F22] * e2;
          n1 += s11 * y1 + s12 * y2;
          n2 += s12 * y1 + s22 * y2;
        }
      }
      v1 = n1;
      v2 = n2;
      u = t;
      grad[a] = j >= 0 && z[j] === a && inP[a] === 1 ? 0 : b[t] - v1;
    }
  }
}

export { Ar2SegmentSolver };
