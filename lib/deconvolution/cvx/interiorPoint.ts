/**
 * Primal-dual interior-point method for the 'cvxpy' SOCPs (the 'ECOS' and 'CVXOPT'
 * solvers), after Vandenberghe, "The CVXOPT linear and quadratic cone program solvers"
 * (conelp) and Domahidi, Chu & Boyd, "ECOS: an SOCP solver for embedded systems".
 *
 * Homogeneous self-dual embedding of  min qᵀx s.t. Gk·x + s = h, s ∈ K:
 *
 *   r_x = Gkᵀz + q·τ,  r_z = s + Gk·x − h·τ,  r_τ = κ + qᵀx + hᵀz,  s, z ∈ K, τ, κ ≥ 0,
 *
 * solved by Mehrotra predictor–corrector steps with Nesterov–Todd scaling (cones.ts):
 * per iteration one factorisation and three solves with [0 Gkᵀ; Gk −W²] (kkt.ts, O(T·p)
 * each: the τ column (−q, h), the affine and the combined direction), Δτ from a scalar
 * equation. σ = (1 − α_aff)³, step 0.99 of the distance to the boundary.
 *
 * Stopping (CVXOPT's rules): optimal when the relative primal and dual residuals are
 * ≤ feastol and the gap sᵀz/τ² ≤ abstol or the relative gap ≤ reltol; primal
 * infeasible when hᵀz < 0 and ‖Gkᵀz‖ / max(1, ‖q‖) ≤ feastol·(−hᵀz); dual infeasible
 * symmetrically. If the iteration stalls (no interior step, 100 iterations, or three
 * iterations worse than the best one), the best iterate is returned as
 * 'optimal_inaccurate' when its residuals and gap are ≤ 5e-5.
 */

import { dot, norm2 } from '../linalg.js';
import type { NtScaling } from './cones.js';
import {
  addIdentity,
  applyW,
  applyWinv,
  boundaryShift,
  computeScaling,
  identityScaling,
  jordanDiv,
  jordanProd,
  maxStep,
  newScaling,
} from './cones.js';
import { StructuredKkt } from './kkt.js';
import type { ConeProblem } from './problem.js';
import { buildProblem, gkMul, gkTMul } from './problem.js';

/** Outcome of a conic solve (names as cvxpy reports them). */
type ConicStatus = 'optimal' | 'optimal_inaccurate' | 'infeasible' | 'unbounded' | 'solver_error';

/** Solution of a conic solve: x, the slacks s and multipliers z (all divided by τ). */
interface ConicSolution {
  status: ConicStatus;
  x: Float64Array;
  s: Float64Array;
  z: Float64Array;
  iterations: number;
  /** Primal objective qᵀx. */
  pcost: number;
  /** Dual objective −hᵀz. */
  dcost: number;
  /** Relative primal residual at exit. */
  pres: number;
  /** Relative dual residual at exit. */
  dres: number;
}

/** Tolerances of the interior-point method. */
interface IpmOptions {
  feastol: number;
  abstol: number;
  reltol: number;
  maxIters: number;
  /** Looser tolerances accepted as 'optimal_inaccurate' when the method stalls. */
  inaccurate: number;
  refine: number;
}

/**
 * Iterative refinement of the KKT solves: none while residuals and gap are above
 * REFINE_BELOW, one step down to REFINE_FULL_BELOW, then up to `refine` steps.
 */
const REFINE_BELOW = 1e-3;
const REFINE_FULL_BELOW = 1e-6;

/** ECOS defaults (1e-8 everywhere, 100 iterations, inaccurate at 5e-5). */
const ECOS_OPTIONS: IpmOptions = {
  feastol: 1e-8,
  abstol: 1e-8,
  reltol: 1e-8,
  maxIters: 100,
  inaccurate: 5e-5,
  refine: 3,
};

/**
 * 'CVXOPT': the same method with the tolerances the golden reference used (1e-8) and fewer
 * refinement steps, as cvxopt's conelp refines less than ECOS.
 */
const CVXOPT_OPTIONS: IpmOptions = { ...ECOS_OPTIONS, refine: 2 };

/** Work space of one interior-point solve (preallocated; no closures in the hot loop). */
class IpmState {
  readonly P: ConeProblem;
  readonly dims: { nl: number; m: number };
  readonly opts: IpmOptions;
  readonly kkt: StructuredKkt;
  readonly sc: NtScaling;
  readonly x: Float64Array;
  readonly s: Float64Array;
  readonly z: Float64Array;
  readonly dLin: Float64Array;
  readonly negQ: Float64Array;
  readonly rx: Float64Array;
  readonly rz: Float64Array;
  readonly x1: Float64Array;
  readonly z1: Float64Array;
  readonly dx: Float64Array;
  readonly dz: Float64Array;
  readonly ds: Float64Array;
  readonly dxA: Float64Array;
  readonly dzA: Float64Array;
  readonly dsA: Float64Array;
  readonly bx: Float64Array;
  readonly bz: Float64Array;
  readonly dsv: Float64Array;
  readonly t1: Float64Array;
  readonly t2: Float64Array;
  readonly t3: Float64Array;
  readonly lamSq: Float64Array;
  tau = 1;
  kappa = 1;
  rtau = 0;
  den = 0;
  dtau = 0;
  dkappa = 0;
  /** Refinement steps for this iteration's solves (none while far from optimal). */
  refine = 0;

  constructor(P: ConeProblem, opts: IpmOptions) {
    const { n, m, nl } = P;
    this.P = P;
    this.opts = opts;
    this.dims = { nl, m };
    this.kkt = new StructuredKkt(P);
    this.sc = newScaling(this.dims);
    const N = (k: number) => new Float64Array(k);
    this.x = N(n);
    this.s = N(m);
    this.z = N(m);
    this.dLin = N(nl);
    this.negQ = N(n);
    for (let i = 0; i < n; i++) this.negQ[i] = -P.q[i];
    this.rx = N(n);
    this.rz = N(m);
    this.x1 = N(n);
    this.z1 = N(m);
    this.dx = N(n);
    this.dz = N(m);
    this.ds = N(m);
    this.dxA = N(n);
    this.dzA = N(m);
    this.dsA = N(m);
    this.bx = N(n);
    this.bz = N(m);
    this.dsv = N(m);
    this.t1 = N(m);
    this.t2 = N(m);
    this.t3 = N(m);
    this.lamSq = N(m);
  }

  /** conelp start: s = h − Gk·x̂ (x̂ = argmin ‖Gk·x − h‖), z = argmin ‖z‖ s.t. Gkᵀz + q = 0, shifted into K. */
  start(): void {
    const { P, dims, sc, kkt, x, s, z, dLin, opts } = this;
    const { n, m, h } = P;
    identityScaling(dims, sc);
    dLin.fill(1);
    kkt.factor(dLin, 0, sc, true);
    kkt.solveKkt(new Float64Array(n), h, x, z, opts.refine);
    for (let i = 0; i < m; i++) s[i] = -z[i];
    kkt.solveKkt(this.negQ, new Float64Array(m), this.x1, z, opts.refine);
    let shift = boundaryShift(dims, s);
    if (shift >= -1e-8 * Math.max(1, norm2(s))) addIdentity(dims, s, 1 + shift);
    shift = boundaryShift(dims, z);
    if (shift >= -1e-8 * Math.max(1, norm2(z))) addIdentity(dims, z, 1 + shift);
    this.tau = 1;
    this.kappa = 1;
  }

  /**
   * Newton direction with residual factor (1 − σ) and complementarity right-hand sides
   * dsv (cone) and dkap (τκ). The KKT right-hand side eliminates Δs = W(λ∖dsv) − W²Δz;
   * Δs itself is then taken from the primal equation, Δκ = (dkap − κΔτ)/τ.
   */
  direction(
    sigma: number,
    dkap: number,
    ox: Float64Array,
    oz: Float64Array,
    os: Float64Array,
  ): void {
    const { P, dims, sc, kkt, rx, rz, bx, bz, t1, t2, t3, x1, z1 } = this;
    const { n, m, q, h } = P;
    const f = -(1 - sigma);
    for (let i = 0; i < n; i++) bx[i] = f * rx[i];
    jordanDiv(dims, sc.lambda, this.dsv, t1);
    applyW(dims, sc, t1, t2);
    for (let i = 0; i < m; i++) bz[i] = f * rz[i] - t2[i];
    kkt.solveKkt(bx, bz, ox, oz, this.refine);
    const dtau = (f * this.rtau - dkap / this.tau - dot(q, ox) - dot(h, oz)) / this.den;
    for (let i = 0; i < n; i++) ox[i] += dtau * x1[i];
    for (let i = 0; i < m; i++) oz[i] += dtau * z1[i];
    // Δs from the linearised primal equation Δs + Gk·Δx − h·Δτ = −(1 − σ)r_z, which keeps
    // the primal residual exact whatever the accuracy of the KKT solve
    gkMul(P, ox, t3);
    for (let i = 0; i < m; i++) os[i] = f * rz[i] - t3[i] + h[i] * dtau;
    this.dtau = dtau;
    this.dkappa = (dkap - this.kappa * dtau) / this.tau;
  }

  /** Largest step keeping s, z in K and τ, κ ≥ 0 along the last direction. */
  stepTo(dS: Float64Array, dZ: Float64Array): number {
    const { dims, s, z, tau, kappa, dtau, dkappa } = this;
    let a = Math.min(maxStep(dims, s, dS), maxStep(dims, z, dZ));
    if (dtau < 0) a = Math.min(a, -tau / dtau);
    if (dkappa < 0) a = Math.min(a, -kappa / dkappa);
    return a;
  }
}

let warmedUp = false;

/**
 * Solves two 16-frame problems once per process before the first long one, so that V8 has
 * type feedback for every code path when it compiles the long loops (otherwise the first
 * long solve keeps deoptimising on-stack-replaced loops and runs them interpreted).
 */
function warmUp(): void {
  warmedUp = true;
  const T = 16;
  const y = new Float64Array(T);
  const decay = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    y[t] = 1 + 0.1 * Math.sin(t) + (t === 3 ? 1 : 0);
    decay[t] = 0.9 ** t;
  }
  const g = Float64Array.from([0.9]);
  for (const kind of ['primary', 'fallback'] as const) {
    solveInteriorPoint(
      buildProblem(kind, { y, g, decay, hasB: true, hasC1: true, bLb: 0, sn: 0.05 }),
    );
  }
}

/** Solves the SOCP P by the homogeneous primal-dual interior-point method. */
function solveInteriorPoint(P: ConeProblem, opts: IpmOptions = ECOS_OPTIONS): ConicSolution {
  if (!warmedUp && P.T > 1000) warmUp();
  const { n, m, nl, q, h } = P;
  const deg = nl + 1;
  const st = new IpmState(P, opts);
  const {
    dims,
    sc,
    kkt,
    x,
    s,
    z,
    dLin,
    rx,
    rz,
    dx,
    dz,
    ds,
    dxA,
    dzA,
    dsA,
    dsv,
    t1,
    t2,
    t3,
    lamSq,
  } = st;
  st.start();
  const hNorm = Math.max(1, norm2(h));
  const qNorm = Math.max(1, norm2(q));
  let status: ConicStatus = 'solver_error';
  let iter = 0;
  let pres = Number.POSITIVE_INFINITY;
  let dres = Number.POSITIVE_INFINITY;
  const bestX = new Float64Array(n);
  const bestS = new Float64Array(m);
  const bestZ = new Float64Array(m);
  let bestScore = Number.POSITIVE_INFINITY;
  let bestTau = 1;
  let worse = 0;

  for (iter = 0; iter <= opts.maxIters; iter++) {
    const tau = st.tau;
    const kappa = st.kappa;
    gkTMul(P, z, rx);
    for (let i = 0; i < n; i++) rx[i] += q[i] * tau;
    gkMul(P, x, rz);
    for (let i = 0; i < m; i++) rz[i] += s[i] - h[i] * tau;
    const qx = dot(q, x);
    const hz = dot(h, z);
    st.rtau = kappa + qx + hz;
    const sz = dot(s, z);
    const mu = (sz + tau * kappa) / (deg + 1);
    pres = norm2(rz) / tau / hNorm;
    dres = norm2(rx) / tau / qNorm;
    const pcost = qx / tau;
    const dcost = -hz / tau;
    const gap = sz / (tau * tau);
    let relgap = Number.POSITIVE_INFINITY;
    if (pcost < 0) relgap = gap / -pcost;
    else if (dcost > 0) relgap = gap / dcost;
    const score = Math.max(pres, dres, Math.min(gap, relgap));
    if (score < bestScore) {
      worse = 0;
      bestScore = score;
      bestTau = tau;
      bestX.set(x);
      bestS.set(s);
      bestZ.set(z);
    }
    if (
      pres <= opts.feastol &&
      dres <= opts.feastol &&
      (gap <= opts.abstol || relgap <= opts.reltol)
    ) {
      status = 'optimal';
      break;
    }
    if (hz < 0) {
      gkTMul(P, z, dx);
      if (norm2(dx) / qNorm <= opts.feastol * -hz) {
        status = 'infeasible';
        break;
      }
    }
    if (qx < 0) {
      gkMul(P, x, dz);
      for (let i = 0; i < m; i++) dz[i] += s[i];
      if (norm2(dz) / hNorm <= opts.feastol * -qx) {
        status = 'unbounded';
        break;
      }
    }
    if (iter === opts.maxIters) break;
    // stalled: the iterates are losing accuracy again after reaching a usable point
    if (score > bestScore && bestScore <= opts.inaccurate && ++worse >= 3) break;

    if (!computeScaling(dims, s, z, sc)) break;
    for (let i = 0; i < nl; i++) dLin[i] = 1 / (sc.w[i] * sc.w[i]);
    kkt.factor(dLin, 0, sc, true);
    const progress = Math.max(pres, dres, Math.min(gap, relgap));
    st.refine = progress < REFINE_FULL_BELOW ? opts.refine : progress < REFINE_BELOW ? 1 : 0;
    kkt.solveKkt(st.negQ, h, st.x1, st.z1, st.refine);
    st.den = dot(q, st.x1) + dot(h, st.z1) - kappa / tau;
    jordanProd(dims, sc.lambda, sc.lambda, lamSq);

    // affine (predictor): dsv = −λ∘λ, dκ = −τκ
    for (let i = 0; i < m; i++) dsv[i] = -lamSq[i];
    st.direction(0, -tau * kappa, dxA, dzA, dsA);
    const alphaA = Math.min(1, st.stepTo(dsA, dzA));
    const dtauA = st.dtau;
    const dkappaA = st.dkappa;
    const sigma = (1 - alphaA) ** 3;

    // combined (corrector): dsv = −λ∘λ − (W⁻¹Δs_a)∘(WΔz_a) + σμe
    applyWinv(dims, sc, dsA, t1);
    applyW(dims, sc, dzA, t2);
    jordanProd(dims, t1, t2, t3);
    for (let i = 0; i < m; i++) dsv[i] = -lamSq[i] - t3[i];
    for (let i = 0; i < nl; i++) dsv[i] += sigma * mu;
    dsv[nl] += sigma * mu;
    st.direction(sigma, -tau * kappa - dtauA * dkappaA + sigma * mu, dx, dz, ds);
    const alpha = Math.min(1, 0.99 * st.stepTo(ds, dz));
    if (!(alpha > 0) || !Number.isFinite(alpha)) break;
    for (let i = 0; i < n; i++) x[i] += alpha * dx[i];
    for (let i = 0; i < m; i++) {
      s[i] += alpha * ds[i];
      z[i] += alpha * dz[i];
    }
    st.tau = tau + alpha * st.dtau;
    st.kappa = kappa + alpha * st.dkappa;
  }

  if (status === 'infeasible' || status === 'unbounded') {
    return { status, x, s, z, iterations: iter, pcost: Number.NaN, dcost: Number.NaN, pres, dres };
  }
  let tau = st.tau;
  if (status !== 'optimal') {
    if (bestScore <= opts.inaccurate) status = 'optimal_inaccurate';
    x.set(bestX);
    s.set(bestS);
    z.set(bestZ);
    tau = bestTau;
  }
  for (let i = 0; i < n; i++) x[i] /= tau;
  for (let i = 0; i < m; i++) {
    s[i] /= tau;
    z[i] /= tau;
  }
  return {
    status,
    x,
    s,
    z,
    iterations: iter,
    pcost: dot(q, x),
    dcost: -dot(h, z),
    pres,
    dres,
  };
}

export type { ConicSolution, ConicStatus, IpmOptions };
export { CVXOPT_OPTIONS, ECOS_OPTIONS, solveInteriorPoint };
