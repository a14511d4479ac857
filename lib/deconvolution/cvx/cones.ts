/**
 * The cone K = ℝ₊^{nl} × Q^{T+1} of the 'cvxpy' SOCPs and its Jordan algebra, with the
 * Nesterov–Todd scaling used by the interior-point method (Vandenberghe, "The CVXOPT
 * linear and quadratic cone program solvers", §§ on symmetric cones):
 *
 * - ℝ₊: u∘v = (u_i v_i), e = 1, W = diag(w), w_i = √(s_i/z_i), λ_i = √(s_i z_i).
 * - Q (u = (u₀, u₁)): u∘v = (uᵀv, u₀v₁ + v₀u₁), e = (1, 0), J = diag(1, −I).
 *   With s̄ = s/√(sᵀJs), z̄ = z/√(zᵀJz), γ = √((1 + s̄ᵀz̄)/2), ŵ = (s̄ + Jz̄)/(2γ),
 *   β = (sᵀJs / zᵀJz)^{1/4}: W² = β²(2ŵŵᵀ − J) maps z to s, and its square root is
 *   W = β(2w̄w̄ᵀ − J) with w̄ = (ŵ + e)/√(2(ŵ₀ + 1)) (w̄ᵀJw̄ = 1);
 *   W⁻¹ = β⁻¹(2vvᵀ − J) with v = Jw̄, and λ = Wz = W⁻¹s.
 */

/** Nesterov–Todd scaling point of (s, z) and the scaled variable λ. */
interface NtScaling {
  /** ℝ₊ part: w_i = √(s_i / z_i). */
  readonly w: Float64Array;
  /** SOC part: w̄ with w̄ᵀJw̄ = 1. */
  readonly wbar: Float64Array;
  /** SOC scale β. */
  beta: number;
  /** ‖w̄‖². */
  ww: number;
  /** λ = Wz = W⁻¹s (length m). */
  readonly lambda: Float64Array;
}

/** Cone layout: nl ℝ₊ rows followed by one second-order cone of dimension m − nl. */
interface ConeDims {
  readonly nl: number;
  readonly m: number;
}

function newScaling(d: ConeDims): NtScaling {
  return {
    w: new Float64Array(d.nl),
    wbar: new Float64Array(d.m - d.nl),
    beta: 1,
    ww: 1,
    lambda: new Float64Array(d.m),
  };
}

/** Identity scaling (W = I), used to compute the starting point. */
function identityScaling(_d: ConeDims, sc: NtScaling): void {
  sc.w.fill(1);
  sc.wbar.fill(0);
  sc.wbar[0] = 1;
  sc.beta = 1;
  sc.ww = 1;
}

/** √(u₀² − ‖u₁‖²) computed as √((u₀ − ‖u₁‖)(u₀ + ‖u₁‖)); NaN outside the cone. */
function socNorm(u: Float64Array, o: number, k: number): number {
  let ss = 0;
  for (let i = 1; i < k; i++) ss += u[o + i] * u[o + i];
  const r = Math.sqrt(ss);
  return Math.sqrt((u[o] - r) * (u[o] + r));
}

/** NT scaling of (s, z), both strictly inside K. Returns false if they are not. */
function computeScaling(d: ConeDims, s: Float64Array, z: Float64Array, sc: NtScaling): boolean {
  const { nl, m } = d;
  for (let i = 0; i < nl; i++) {
    if (!(s[i] > 0 && z[i] > 0)) return false;
    sc.w[i] = Math.sqrt(s[i] / z[i]);
    sc.lambda[i] = Math.sqrt(s[i] * z[i]);
  }
  const k = m - nl;
  const sn = socNorm(s, nl, k);
  const zn = socNorm(z, nl, k);
  if (!(sn > 0 && zn > 0)) return false;
  let dot = 0;
  for (let i = 0; i < k; i++) dot += (s[nl + i] / sn) * (z[nl + i] / zn);
  const gamma = Math.sqrt((1 + dot) / 2);
  // ŵ = (s̄ + Jz̄)/(2γ) gives β²(2ŵŵᵀ − J) = W²; its square root is 2w̄w̄ᵀ − J with
  // w̄ = (ŵ + e)/√(2(ŵ₀ + 1)).
  const wb = sc.wbar;
  const w0 = (s[nl] / sn + z[nl] / zn) / (2 * gamma);
  const f = 1 / Math.sqrt(2 * (w0 + 1));
  wb[0] = (w0 + 1) * f;
  for (let i = 1; i < k; i++) wb[i] = ((s[nl + i] / sn - z[nl + i] / zn) / (2 * gamma)) * f;
  sc.beta = Math.sqrt(sn / zn);
  let ww = 0;
  for (let i = 0; i < k; i++) ww += wb[i] * wb[i];
  sc.ww = ww;
  // λ = W z (ℝ₊ part set above)
  applySocW(d, sc, z, sc.lambda);
  return true;
}

/** out = W·u. */
function applyW(d: ConeDims, sc: NtScaling, u: Float64Array, out: Float64Array): void {
  const nl = d.nl;
  const w = sc.w;
  for (let i = 0; i < nl; i++) out[i] = w[i] * u[i];
  applySocW(d, sc, u, out);
}

/** SOC block of out = W·u. */
function applySocW(d: ConeDims, sc: NtScaling, u: Float64Array, out: Float64Array): void {
  const { nl, m } = d;
  const k = m - nl;
  const wb = sc.wbar;
  let wu = 0;
  for (let i = 0; i < k; i++) wu += wb[i] * u[nl + i];
  const b = sc.beta;
  out[nl] = b * (2 * wb[0] * wu - u[nl]);
  for (let i = 1; i < k; i++) out[nl + i] = b * (2 * wb[i] * wu + u[nl + i]);
}

/** out = W⁻¹·u. */
function applyWinv(d: ConeDims, sc: NtScaling, u: Float64Array, out: Float64Array): void {
  const { nl, m } = d;
  for (let i = 0; i < nl; i++) out[i] = u[i] / sc.w[i];
  const k = m - nl;
  const wb = sc.wbar;
  // v = J w̄: vᵀu = w̄₀u₀ − w̄₁ᵀu₁
  let vu = wb[0] * u[nl];
  for (let i = 1; i < k; i++) vu -= wb[i] * u[nl + i];
  const ib = 1 / sc.beta;
  out[nl] = ib * (2 * wb[0] * vu - u[nl]);
  for (let i = 1; i < k; i++) out[nl + i] = ib * (-2 * wb[i] * vu + u[nl + i]);
}

/**
 * out = W²·u (inverse = false) or W⁻²·u (inverse = true) in two passes:
 * W² = β²(I + 4‖w̄‖²w̄w̄ᵀ − 2(w̄vᵀ + vw̄ᵀ)), W⁻² = β⁻²(I + 4‖w̄‖²vvᵀ − 2(vw̄ᵀ + w̄vᵀ)), v = Jw̄.
 */
function applyWsq(
  d: ConeDims,
  sc: NtScaling,
  u: Float64Array,
  out: Float64Array,
  inverse: boolean,
): void {
  const { nl, m } = d;
  const w = sc.w;
  if (inverse) for (let i = 0; i < nl; i++) out[i] = u[i] / (w[i] * w[i]);
  else for (let i = 0; i < nl; i++) out[i] = u[i] * w[i] * w[i];
  const wb = sc.wbar;
  let tail = 0;
  for (let i = nl + 1; i < m; i++) tail += wb[i - nl] * u[i];
  const head = wb[0] * u[nl];
  const a = head - tail; // vᵀu
  const b = head + tail; // w̄ᵀu
  const ww4 = 4 * sc.ww;
  let f0: number;
  let fi: number;
  let scale: number;
  if (inverse) {
    f0 = ww4 * a - 2 * b - 2 * a;
    fi = -(ww4 * a - 2 * b + 2 * a);
    scale = 1 / (sc.beta * sc.beta);
  } else {
    f0 = ww4 * b - 2 * a - 2 * b;
    fi = ww4 * b - 2 * a + 2 * b;
    scale = sc.beta * sc.beta;
  }
  out[nl] = scale * (u[nl] + wb[0] * f0);
  for (let i = nl + 1; i < m; i++) out[i] = scale * (u[i] + wb[i - nl] * fi);
}

/** out = u∘v (Jordan product). */
function jordanProd(d: ConeDims, u: Float64Array, v: Float64Array, out: Float64Array): void {
  const { nl, m } = d;
  for (let i = 0; i < nl; i++) out[i] = u[i] * v[i];
  let dot = 0;
  for (let i = nl; i < m; i++) dot += u[i] * v[i];
  const u0 = u[nl];
  const v0 = v[nl];
  for (let i = nl + 1; i < m; i++) out[i] = u0 * v[i] + v0 * u[i];
  out[nl] = dot;
}

/** out = λ \ v, i.e. the x with λ∘x = v. */
function jordanDiv(d: ConeDims, l: Float64Array, v: Float64Array, out: Float64Array): void {
  const { nl, m } = d;
  for (let i = 0; i < nl; i++) out[i] = v[i] / l[i];
  const l0 = l[nl];
  let ll = 0;
  let lv = 0;
  for (let i = nl + 1; i < m; i++) {
    ll += l[i] * l[i];
    lv += l[i] * v[i];
  }
  const r = Math.sqrt(ll);
  const det = (l0 - r) * (l0 + r);
  const x0 = (l0 * v[nl] - lv) / det;
  for (let i = nl + 1; i < m; i++) out[i] = (v[i] - x0 * l[i]) / l0;
  out[nl] = x0;
}

/** Largest α ≥ 0 with u + α·du ∈ K (Infinity if unbounded); u must be inside K. */
function maxStep(d: ConeDims, u: Float64Array, du: Float64Array): number {
  const { nl, m } = d;
  // ℝ₊: α = 1 / max_i(−du_i/u_i), branch-free
  let worst = 0;
  for (let i = 0; i < nl; i++) worst = Math.max(worst, -du[i] / u[i]);
  let alpha = worst > 0 ? 1 / worst : Number.POSITIVE_INFINITY;
  // (u₀ + αδ₀)² − ‖u₁ + αδ₁‖² = aα² + 2bα + c
  let uu = 0;
  let dd = 0;
  let ud = 0;
  for (let i = nl + 1; i < m; i++) {
    uu += u[i] * u[i];
    dd += du[i] * du[i];
    ud += u[i] * du[i];
  }
  const u0 = u[nl];
  const d0 = du[nl];
  const ru = Math.sqrt(uu);
  const rd = Math.sqrt(dd);
  const a = (d0 - rd) * (d0 + rd);
  const b = u0 * d0 - ud;
  const c = Math.max((u0 - ru) * (u0 + ru), 0);
  if (!(a >= 0 && d0 >= 0)) {
    const disc = Math.max(b * b - a * c, 0);
    const den = -b + Math.sqrt(disc);
    if (den > 0) {
      const s = c / den;
      if (s < alpha) alpha = s;
    }
  }
  return alpha;
}

/** −(smallest "eigenvalue") of u in K: α such that u + α·e is on the boundary. */
function boundaryShift(d: ConeDims, u: Float64Array): number {
  const { nl, m } = d;
  let mn = Number.POSITIVE_INFINITY;
  for (let i = 0; i < nl; i++) if (u[i] < mn) mn = u[i];
  let ss = 0;
  for (let i = nl + 1; i < m; i++) ss += u[i] * u[i];
  const socMin = u[nl] - Math.sqrt(ss);
  if (socMin < mn) mn = socMin;
  return -mn;
}

/** u += a·e. */
function addIdentity(d: ConeDims, u: Float64Array, a: number): void {
  for (let i = 0; i < d.nl; i++) u[i] += a;
  u[d.nl] += a;
}

export type { ConeDims, NtScaling };
export {
  addIdentity,
  applyW,
  applyWinv,
  applyWsq,
  boundaryShift,
  computeScaling,
  identityScaling,
  jordanDiv,
  jordanProd,
  maxStep,
  newScaling,
};
