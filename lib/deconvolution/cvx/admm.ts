/**
 * Operator-splitting method for the 'cvxpy' SOCPs (the 'SCS' solver), after O'Donoghue,
 * Chu, Parikh & Boyd, "Conic optimization via operator splitting and homogeneous
 * self-dual embedding" (2016).
 *
 * With Q = [[0, Gkᵀ, q], [−Gk, 0, h], [−qᵀ, −hᵀ, 0]], u = (x, y, τ), v = (r, s, κ) and
 * C = ℝⁿ × K × ℝ₊ (K is self-dual), each iteration is
 *
 *   ũ = (I + Q)⁻¹(u + v),  û = α·ũ + (1 − α)·u,  u ← Π_C(û − v),  v ← v − û + u,
 *
 * with over-relaxation α = 1.5. (I + Q)⁻¹ costs one solve with I + GkᵀGk (factored once
 * by kkt.ts: banded + border, O(T·p)) plus O(T) work. The primal and dual objectives
 * are rescaled (h/σ_h, q/σ_q) to balance the embedding, σ_q adapted while the primal and
 * dual residuals differ by more than 10× (as SCS 3 adapts its scale); the answer is
 * scaled back.
 *
 * Stopping (SCS): ‖Gk·x + s − h‖ ≤ ε(1 + ‖h‖), ‖Gkᵀy + q‖ ≤ ε(1 + ‖q‖),
 * |qᵀx + hᵀy| ≤ ε(1 + |qᵀx| + |hᵀy|) on x/τ, y/τ, s/τ; infeasible when hᵀy < 0 and
 * ‖Gkᵀy‖ ≤ ε·(−hᵀy).
 */

import { dot, norm2 } from '../linalg.js';
import { identityScaling, newScaling } from './cones.js';
import type { ConicSolution, ConicStatus } from './interiorPoint.js';
import { StructuredKkt } from './kkt.js';
import type { ConeProblem } from './problem.js';
import { gkMul, gkTMul } from './problem.js';

/** Options of the operator-splitting method. */
interface AdmmOptions {
  /** Relative tolerance ε of the stopping rule. */
  eps: number;
  maxIters: number;
  /** Over-relaxation α in (0, 2). */
  alpha: number;
  /** Accept as 'optimal_inaccurate' when the iteration budget ends within this tolerance. */
  inaccurate: number;
  /** Check convergence every this many iterations. */
  checkEvery: number;
  /** Initial relative weight of the dual objective scale (SCS's `scale`). */
  scale: number;
  /** Rebalance the scale every this many iterations when residuals differ by > 10×. */
  adaptEvery: number;
  maxAdapt: number;
}

const SCS_OPTIONS: AdmmOptions = {
  eps: 1e-7,
  maxIters: 20000,
  alpha: 1.5,
  inaccurate: 1e-4,
  checkEvery: 10,
  scale: 0.01,
  adaptEvery: 100,
  maxAdapt: 40,
};

/** Euclidean projection onto K = ℝ₊^{nl} × Q^{m−nl}, in place from index `o`. */
function projectCone(nl: number, m: number, u: Float64Array, o: number): void {
  for (let i = 0; i < nl; i++) if (u[o + i] < 0) u[o + i] = 0;
  const s0 = u[o + nl];
  let ss = 0;
  for (let i = nl + 1; i < m; i++) ss += u[o + i] * u[o + i];
  const r = Math.sqrt(ss);
  if (r <= s0) return;
  if (r <= -s0) {
    for (let i = nl; i < m; i++) u[o + i] = 0;
    return;
  }
  const a = (s0 + r) / 2;
  u[o + nl] = a;
  const f = a / r;
  for (let i = nl + 1; i < m; i++) u[o + i] *= f;
}

/** Solves the SOCP P by the homogeneous self-dual ADMM of SCS. */
function solveAdmm(P: ConeProblem, opts: AdmmOptions = SCS_OPTIONS): ConicSolution {
  const { n, m, nl } = P;
  const sigmaH = Math.max(1, norm2(P.h) / Math.sqrt(m));
  let sigmaQ = Math.max(1e-12, norm2(P.q) / Math.sqrt(n)) / opts.scale;
  const h = new Float64Array(m);
  const q = new Float64Array(n);
  for (let i = 0; i < m; i++) h[i] = P.h[i] / sigmaH;
  for (let i = 0; i < n; i++) q[i] = P.q[i] / sigmaQ;
  const hNorm = norm2(h);
  let qNorm = norm2(q);

  const kkt = new StructuredKkt(P);
  const sc = newScaling({ nl, m });
  identityScaling({ nl, m }, sc);
  kkt.factor(new Float64Array(nl).fill(1), 1, sc, false);

  const N = n + m + 1;
  const tmpN = new Float64Array(n);
  const tmpM = new Float64Array(m);
  // M⁻¹(wx, wy): x = (I + GkᵀGk)⁻¹(wx − Gkᵀwy), y = wy + Gk·x
  const solveM = (wx: Float64Array, wy: Float64Array, ox: Float64Array, oy: Float64Array): void => {
    gkTMul(P, wy, tmpN);
    for (let i = 0; i < n; i++) tmpN[i] = wx[i] - tmpN[i];
    kkt.solveH(tmpN, ox);
    gkMul(P, ox, tmpM);
    for (let i = 0; i < m; i++) oy[i] = wy[i] + tmpM[i];
  };
  const ghx = new Float64Array(n);
  const ghy = new Float64Array(m);
  solveM(q, h, ghx, ghy);
  let hgh = 1 + dot(q, ghx) + dot(h, ghy);

  const u = new Float64Array(N);
  const v = new Float64Array(N);
  const ut = new Float64Array(N);
  u[N - 1] = 1;
  v[N - 1] = 1;
  const wx = new Float64Array(n);
  const wy = new Float64Array(m);
  const zx = new Float64Array(n);
  const zy = new Float64Array(m);
  const rp = new Float64Array(m);
  const rd = new Float64Array(n);
  const { alpha } = opts;
  let status: ConicStatus = 'solver_error';
  let iter = 0;
  let adaptations = 0;
  let pres = Number.POSITIVE_INFINITY;
  let dres = Number.POSITIVE_INFINITY;
  let gapRel = Number.POSITIVE_INFINITY;

  for (iter = 1; iter <= opts.maxIters; iter++) {
    for (let i = 0; i < n; i++) wx[i] = u[i] + v[i];
    for (let i = 0; i < m; i++) wy[i] = u[n + i] + v[n + i];
    const w = u[N - 1] + v[N - 1];
    solveM(wx, wy, zx, zy);
    const tau = (w + dot(q, zx) + dot(h, zy)) / hgh;
    for (let i = 0; i < n; i++) ut[i] = zx[i] - tau * ghx[i];
    for (let i = 0; i < m; i++) ut[n + i] = zy[i] - tau * ghy[i];
    ut[N - 1] = tau;
    for (let i = 0; i < N; i++) {
      const relaxed = alpha * ut[i] + (1 - alpha) * u[i];
      ut[i] = relaxed;
      u[i] = relaxed - v[i];
    }
    projectCone(nl, m, u, n);
    if (u[N - 1] < 0) u[N - 1] = 0;
    for (let i = 0; i < N; i++) v[i] += u[i] - ut[i];

    if (iter % opts.checkEvery !== 0 && iter !== opts.maxIters) continue;
    const tauK = u[N - 1];
    const kap = v[N - 1];
    // x = u_x, y = u_y, s = v_y
    const x = u.subarray(0, n);
    const y = u.subarray(n, n + m);
    const s = v.subarray(n, n + m);
    const hy = dot(h, y);
    if (tauK > 1e-12 * Math.max(1, kap)) {
      gkMul(P, x, rp);
      for (let i = 0; i < m; i++) rp[i] += s[i] - h[i] * tauK;
      gkTMul(P, y, rd);
      for (let i = 0; i < n; i++) rd[i] += q[i] * tauK;
      const qx = dot(q, x);
      pres = norm2(rp) / tauK / (1 + hNorm);
      dres = norm2(rd) / tauK / (1 + qNorm);
      gapRel = Math.abs(qx + hy) / (tauK + Math.abs(qx) + Math.abs(hy));
      if (pres <= opts.eps && dres <= opts.eps && gapRel <= opts.eps) {
        status = 'optimal';
        break;
      }
    }
    if (
      iter % opts.adaptEvery === 0 &&
      adaptations < opts.maxAdapt &&
      Number.isFinite(pres) &&
      (pres > 10 * dres || dres > 10 * pres)
    ) {
      // rebalance: q ← q/f with the equivalent HSDE point (y, r, κ) ← (y, r, κ)/f
      const f = Math.sqrt(pres / dres);
      sigmaQ *= f;
      adaptations++;
      for (let i = 0; i < n; i++) {
        q[i] = P.q[i] / sigmaQ;
        v[i] /= f;
      }
      for (let i = 0; i < m; i++) u[n + i] /= f;
      v[N - 1] /= f;
      qNorm = norm2(q);
      solveM(q, h, ghx, ghy);
      hgh = 1 + dot(q, ghx) + dot(h, ghy);
      continue;
    }
    if (hy < 0) {
      gkTMul(P, y, rd);
      if (norm2(rd) <= opts.eps * -hy * (1 + qNorm)) {
        status = 'infeasible';
        break;
      }
    }
  }
  const tauK = u[N - 1];
  const x = Float64Array.from(u.subarray(0, n));
  const z = Float64Array.from(u.subarray(n, n + m));
  const s = Float64Array.from(v.subarray(n, n + m));
  if (status !== 'infeasible') {
    if (status !== 'optimal' && Math.max(pres, dres, gapRel) <= opts.inaccurate) {
      status = 'optimal_inaccurate';
    }
    if (tauK > 0) {
      for (let i = 0; i < n; i++) x[i] *= sigmaH / tauK;
      for (let i = 0; i < m; i++) {
        s[i] *= sigmaH / tauK;
        z[i] *= sigmaQ / tauK;
      }
    } else if (status !== 'solver_error') status = 'solver_error';
  }
  return {
    status,
    x,
    s,
    z,
    iterations: iter,
    pcost: dot(P.q, x),
    dcost: -dot(P.h, z),
    pres,
    dres,
  };
}

export type { AdmmOptions };
export { projectCone, SCS_OPTIONS, solveAdmm };
