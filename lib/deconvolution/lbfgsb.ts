/**
 * L-BFGS-B for small box-constrained problems, as scipy's `minimize(method='L-BFGS-B')` runs it
 * (Byrd, Lu, Nocedal & Zhu 1995, "A limited memory algorithm for bound constrained
 * optimization"; Zhu, Byrd, Lu & Nocedal 1997, "Algorithm 778"; Morales & Nocedal 2011,
 * "Remark on Algorithm 778"; Moré & Thuente 1994, "Line search algorithms with guaranteed
 * sufficient decrease"). Used by optimize_g (../shared/docs/deconvolution-algorithms.md §5.3).
 *
 * Minimise f(x) subject to l ≤ x ≤ u (either bound may be infinite). Iteration k, from x with
 * gradient g and the limited-memory BFGS matrix B (B₀ = θI, θ = yᵀy/sᵀy of the newest pair, then
 * the BFGS updates B ← B − BssᵀB/sᵀBs + yyᵀ/yᵀs for the ≤ m stored pairs s = Δx, y = Δg):
 *
 *  1. Generalized Cauchy point x^c: the first local minimiser of the quadratic model
 *     m(z) = gᵀ(z − x) + ½(z − x)ᵀB(z − x) along the projected path P(x − t·g), t ≥ 0, found
 *     segment by segment between the breakpoints t_i where a variable reaches its bound:
 *     f′ = gᵀd + dᵀB(z − x), f″ = max(ε·f″₀, dᵀBd), step −f′/f″ (paper §4).
 *  2. Subspace minimisation (skipped while no pair is stored): with the variables free at x^c,
 *     the Newton step du = −(ZᵀBZ)⁻¹Zᵀ(g + B(x^c − x)); x̄ = P(x^c + du) if that is a descent
 *     direction (gᵀ(x̄ − x) ≤ 0), else x^c + α·du truncated at the first bound (Remark 2011).
 *  3. Line search along d = x̄ − x: Moré–Thuente (dcsrch) with ftol 1e-3, gtol 0.9, xtol 0.1,
 *     stpmin 0 and stpmax = 1 at the first iteration when constrained (else the largest step that
 *     stays in the box, 1e10 when unconstrained); first trial step min(1/‖d‖, stpmax) at the
 *     first iteration unless every variable has both bounds, else 1; at most maxLs evaluations.
 *     A failed search restores x and, with pairs stored, drops them and retries; without pairs
 *     it stops (abnormal termination).
 *  4. Stop on ‖proj g‖∞ ≤ pgtol (also before the first iteration), on
 *     (f_old − f)/max(|f_old|, |f|, 1) ≤ factr·ε with factr = ftol/ε, or after maxIter
 *     iterations (counted like scipy's driver: the test fires right after the new iterate).
 *     The pair (s, y) is kept only when sᵀy > ε·(−gᵀs).
 *
 * The limited-memory matrix is formed explicitly (n × n), which is exact in exact arithmetic and
 * meant for n of a few variables; Algorithm 778 uses the compact form for large n.
 *
 * Provenance: written here from the papers above; its control flow follows the behaviour of
 * L-BFGS-B 3.0 as scipy ships it (checked against scipy 1.17.1 on the same inputs), whose
 * routines (dcsrch, lnsrlb, formk, cmprlb, subsm) the comments name. That code is
 * © 2011 Ciyou Zhu, Richard Byrd, Jorge Nocedal and Jose Luis Morales, under the BSD 3-clause
 * licence ("New BSD"), which asks that this notice be kept with derived work; no GPL code (CaImAn,
 * OASIS) was used.
 */
/** Machine epsilon of float64 (the Fortran code's epsmch). */
const EPS = 2.220446049250313e-16;
/** Moré–Thuente constants used by L-BFGS-B's line search (lnsrlb). */
const LS_FTOL = 1e-3;
const LS_GTOL = 0.9;
const LS_XTOL = 0.1;
/** Largest step of an unconstrained line search (lnsrlb's big). */
const BIG_STEP = 1e10;

/** Objective and gradient at x; writes the gradient into g and returns f. */
type ObjectiveGradient = (x: Float64Array, g: Float64Array) => number;

interface LbfgsbOptions {
  /** Number of stored (s, y) pairs (scipy's maxcor, default 10). */
  maxCor?: number;
  /** Iteration limit (scipy's maxiter). */
  maxIter: number;
  /** Projected-gradient tolerance (scipy's gtol). */
  pgtol: number;
  /** Relative reduction tolerance (scipy's ftol). */
  ftol: number;
  /** Line-search evaluation limit (scipy's maxls, default 20). */
  maxLs?: number;
}

interface LbfgsbResult {
  x: Float64Array;
  f: number;
  /** Completed iterations. */
  nIter: number;
  /** Why it stopped. */
  status: 'pgtol' | 'ftol' | 'maxIter' | 'abnormal';
}

/** Moré–Thuente search state (dcsrch's saved variables). */
interface SearchState {
  brackt: boolean;
  stage: 1 | 2;
  ginit: number;
  gtest: number;
  gx: number;
  gy: number;
  finit: number;
  fx: number;
  fy: number;
  stx: number;
  sty: number;
  stmin: number;
  stmax: number;
  width: number;
  width1: number;
}

/** Result of one dcsrch call: another evaluation at stp, or stop ('conv' or 'warn'). */
type SearchTask = 'fg' | 'conv' | 'warn';

function startSearch(f: number, g: number, stp: number, stpmax: number): SearchState {
  return {
    brackt: false,
    stage: 1,
    ginit: g,
    gtest: LS_FTOL * g,
    gx: g,
    gy: g,
    finit: f,
    fx: f,
    fy: f,
    stx: 0,
    sty: 0,
    stmin: 0,
    stmax: stp + 4 * stp,
    width: stpmax,
    width1: stpmax / 0.5,
  };
}

/**
 * One step of the Moré–Thuente search (MINPACK-2 dcsrch) after evaluating f and g = φ′ at stp;
 * returns the task and the next step. stpmin = 0.
 */
function searchStep(
  s: SearchState,
  f: number,
  g: number,
  stp: number,
  stpmax: number,
): { task: SearchTask; stp: number } {
  const ftest = s.finit + stp * s.gtest;
  if (s.stage === 1 && f <= ftest && g >= 0) s.stage = 2;
  let task: SearchTask = 'fg';
  if (s.brackt && (stp <= s.stmin || stp >= s.stmax)) task = 'warn';
  if (s.brackt && s.stmax - s.stmin <= LS_XTOL * s.stmax) task = 'warn';
  if (stp === stpmax && f <= ftest && g <= s.gtest) task = 'warn';
  if (stp === 0 && (f > ftest || g >= s.gtest)) task = 'warn';
  if (f <= ftest && Math.abs(g) <= LS_GTOL * -s.ginit) task = 'conv';
  if (task !== 'fg') return { task, stp };
  let next: number;
  if (s.stage === 1 && f <= s.fx && f > ftest) {
    // Modified function ψ(α) = φ(α) − α·gtest while the decrease is not yet sufficient.
    const iv = { stx: s.stx, fx: s.fx - s.stx * s.gtest, dx: s.gx - s.gtest };
    const jv = { stx: s.sty, fx: s.fy - s.sty * s.gtest, dx: s.gy - s.gtest };
    next = cstep(s, iv, jv, stp, f - stp * s.gtest, g - s.gtest);
    s.stx = iv.stx;
    s.sty = jv.stx;
    s.fx = iv.fx + s.stx * s.gtest;
    s.fy = jv.fx + s.sty * s.gtest;
    s.gx = iv.dx + s.gtest;
    s.gy = jv.dx + s.gtest;
  } else {
    const iv = { stx: s.stx, fx: s.fx, dx: s.gx };
    const jv = { stx: s.sty, fx: s.fy, dx: s.gy };
    next = cstep(s, iv, jv, stp, f, g);
    s.stx = iv.stx;
    s.sty = jv.stx;
    s.fx = iv.fx;
    s.fy = jv.fx;
    s.gx = iv.dx;
    s.gy = jv.dx;
  }
  if (s.brackt) {
    // Bisect when the interval does not shrink fast enough.
    if (Math.abs(s.sty - s.stx) >= 0.66 * s.width1) next = s.stx + 0.5 * (s.sty - s.stx);
    s.width1 = s.width;
    s.width = Math.abs(s.sty - s.stx);
    s.stmin = Math.min(s.stx, s.sty);
    s.stmax = Math.max(s.stx, s.sty);
  } else {
    s.stmin = next + 1.1 * (next - s.stx);
    s.stmax = next + 4 * (next - s.stx);
  }
  next = Math.min(Math.max(next, 0), stpmax);
  if (
    (s.brackt && (next <= s.stmin || next >= s.stmax)) ||
    (s.brackt && s.stmax - s.stmin <= LS_XTOL * s.stmax)
  )
    next = s.stx;
  return { task: 'fg', stp: next };
}

/** An end of the search interval: step, value and derivative. */
interface Endpoint {
  stx: number;
  fx: number;
  dx: number;
}

/**
 * Safeguarded cubic/quadratic step (MINPACK-2 dcstep) from the best point x, the other end y and
 * the trial (stp, fp, dp), within [s.stmin, s.stmax]; updates x, y and s.brackt, returns the
 * new trial step.
 */
function cstep(s: SearchState, x: Endpoint, y: Endpoint, stp: number, fp: number, dp: number) {
  const { stx, fx, dx } = x;
  const sgnd = dp * (dx / Math.abs(dx));
  let stpf: number;
  if (fp > fx) {
    // Case 1: higher value, the minimum is bracketed.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const sc = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = sc * Math.sqrt((theta / sc) ** 2 - (dx / sc) * (dp / sc));
    if (stp < stx) gamma = -gamma;
    const p = gamma - dx + theta;
    const q = gamma - dx + gamma + dp;
    const stpc = stx + (p / q) * (stp - stx);
    const stpq = stx + (dx / ((fx - fp) / (stp - stx) + dx) / 2) * (stp - stx);
    stpf = Math.abs(stpc - stx) < Math.abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2;
    s.brackt = true;
  } else if (sgnd < 0) {
    // Case 2: lower value, derivatives of opposite sign.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const sc = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = sc * Math.sqrt((theta / sc) ** 2 - (dx / sc) * (dp / sc));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma - dp + gamma + dx;
    const stpc = stp + (p / q) * (stx - stp);
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
    s.brackt = true;
  } else if (Math.abs(dp) < Math.abs(dx)) {
    // Case 3: lower value, same sign, the derivative decreases in magnitude.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const sc = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = sc * Math.sqrt(Math.max(0, (theta / sc) ** 2 - (dx / sc) * (dp / sc)));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma + (dx - dp) + gamma;
    const r = p / q;
    let stpc: number;
    if (r < 0 && gamma !== 0) stpc = stp + r * (stx - stp);
    else stpc = stp > stx ? s.stmax : s.stmin;
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (s.brackt) {
      stpf = Math.abs(stpc - stp) < Math.abs(stpq - stp) ? stpc : stpq;
      if (stp > stx) stpf = Math.min(stp + 0.66 * (y.stx - stp), stpf);
      else stpf = Math.max(stp + 0.66 * (y.stx - stp), stpf);
    } else {
      stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
      stpf = Math.max(s.stmin, Math.min(s.stmax, stpf));
    }
  } else if (s.brackt) {
    // Case 4: lower value, same sign, the derivative does not decrease; bracketed.
    const theta = (3 * (fp - y.fx)) / (y.stx - stp) + y.dx + dp;
    const sc = Math.max(Math.abs(theta), Math.abs(y.dx), Math.abs(dp));
    let gamma = sc * Math.sqrt((theta / sc) ** 2 - (y.dx / sc) * (dp / sc));
    if (stp > y.stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma - dp + gamma + y.dx;
    stpf = stp + (p / q) * (y.stx - stp);
  } else {
    stpf = stp > stx ? s.stmax : s.stmin;
  }
  if (fp > fx) {
    y.stx = stp;
    y.fx = fp;
    y.dx = dp;
  } else {
    if (sgnd < 0) {
      y.stx = stx;
      y.fx = fx;
      y.dx = dx;
    }
    x.stx = stp;
    x.fx = fp;
    x.dx = dp;
  }
  return stpf;
}

/** Bound kind per variable (Algorithm 778's nbd): 0 none, 1 lower, 2 both, 3 upper. */
function boundKinds(l: Float64Array, u: Float64Array): Int8Array {
  const nbd = new Int8Array(l.length);
  for (let i = 0; i < l.length; i++) {
    const lo = l[i] > Number.NEGATIVE_INFINITY;
    const hi = u[i] < Number.POSITIVE_INFINITY;
    nbd[i] = lo ? (hi ? 2 : 1) : hi ? 3 : 0;
  }
  return nbd;
}

/** ‖proj g‖∞ (projgr). */
function projGradNorm(
  x: Float64Array,
  g: Float64Array,
  l: Float64Array,
  u: Float64Array,
  nbd: Int8Array,
): number {
  let norm = 0;
  for (let i = 0; i < x.length; i++) {
    let gi = g[i];
    if (nbd[i] !== 0) {
      if (gi < 0) {
        if (nbd[i] >= 2) gi = Math.max(x[i] - u[i], gi);
      } else if (nbd[i] <= 2) gi = Math.min(x[i] - l[i], gi);
    }
    norm = Math.max(norm, Math.abs(gi));
  }
  return norm;
}

/** Dense limited-memory BFGS matrix B from θ and the stored pairs, oldest first (row-major). */
function formB(n: number, theta: number, S: Float64Array[], Y: Float64Array[]): Float64Array {
  const B = new Float64Array(n * n);
  for (let i = 0; i < n; i++) B[i * n + i] = theta;
  const Bs = new Float64Array(n);
  for (let k = 0; k < S.length; k++) {
    const s = S[k];
    const y = Y[k];
    let sBs = 0;
    let ys = 0;
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += B[i * n + j] * s[j];
      Bs[i] = acc;
      sBs += s[i] * acc;
      ys += y[i] * s[i];
    }
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) B[i * n + j] += (y[i] * y[j]) / ys - (Bs[i] * Bs[j]) / sBs;
  }
  return B;
}

/** vᵀBw for the dense n × n matrix B. */
function quad(B: Float64Array, v: Float64Array, w: Float64Array): number {
  const n = v.length;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    if (v[i] === 0) continue;
    let row = 0;
    for (let j = 0; j < n; j++) row += B[i * n + j] * w[j];
    acc += v[i] * row;
  }
  return acc;
}

/**
 * Generalized Cauchy point (step 1; Algorithm 778's cauchy). Writes x^c into xcp and updates
 * iwhere (1 at lower, 2 at upper bound, 0 free, −1 unbounded, 3 fixed, −3 free with g_i = 0).
 */
function cauchy(
  x: Float64Array,
  g: Float64Array,
  l: Float64Array,
  u: Float64Array,
  nbd: Int8Array,
  iwhere: Int8Array,
  B: Float64Array,
  xcp: Float64Array,
): void {
  const n = x.length;
  const d = new Float64Array(n);
  const brk: { t: number; i: number }[] = [];
  let bnded = true;
  let anyFree = false;
  for (let i = 0; i < n; i++) {
    const neggi = -g[i];
    if (iwhere[i] !== 3 && iwhere[i] !== -1) {
      const tl = nbd[i] <= 2 ? x[i] - l[i] : 0;
      const tu = nbd[i] >= 2 ? u[i] - x[i] : 0;
      const xlower = nbd[i] <= 2 && tl <= 0;
      const xupper = nbd[i] >= 2 && tu <= 0;
      iwhere[i] = 0;
      if (xlower) {
        if (neggi <= 0) iwhere[i] = 1;
      } else if (xupper) {
        if (neggi >= 0) iwhere[i] = 2;
      } else if (Math.abs(neggi) <= 0) iwhere[i] = -3;
    }
    if (iwhere[i] !== 0 && iwhere[i] !== -1) continue;
    d[i] = neggi;
    if (nbd[i] <= 2 && nbd[i] !== 0 && neggi < 0) brk.push({ t: (x[i] - l[i]) / -neggi, i });
    else if (nbd[i] >= 2 && neggi > 0) brk.push({ t: (u[i] - x[i]) / neggi, i });
    else {
      anyFree = true;
      if (Math.abs(neggi) > 0) bnded = false;
    }
  }
  xcp.set(x);
  if (brk.length === 0 && !anyFree) return;
  // Breakpoints in increasing order (the first minimum by index, as cauchy's bkmin).
  brk.sort((a, b) => a.t - b.t || a.i - b.i);
  // z = x(t) − x at the start of the current segment.
  const z = new Float64Array(n);
  let f1 = -dot(d, d);
  let f2 = quad(B, d, d);
  const f2Org = f2;
  let dtm = -f1 / f2;
  let tsum = 0;
  let tj = 0;
  for (let k = 0; k < brk.length; k++) {
    const tj0 = tj;
    tj = brk[k].t;
    const dt = tj - tj0;
    if (dtm < dt) break;
    tsum += dt;
    const ibp = brk[k].i;
    const dibp = d[ibp];
    d[ibp] = 0;
    xcp[ibp] = dibp > 0 ? u[ibp] : l[ibp];
    iwhere[ibp] = dibp > 0 ? 2 : 1;
    if (k === brk.length - 1 && brk.length === n) {
      // Every variable is at a bound.
      return;
    }
    for (let i = 0; i < n; i++) z[i] = d[i] !== 0 ? tsum * d[i] : xcp[i] - x[i];
    f1 = -dot(d, d) + quad(B, d, z);
    f2 = Math.max(EPS * f2Org, quad(B, d, d));
    if (k < brk.length - 1) dtm = -f1 / f2;
    else if (bnded) dtm = 0;
    else dtm = -f1 / f2;
  }
  // The minimiser on the segment where the loop stopped (or beyond the last breakpoint).
  tsum += Math.max(dtm, 0);
  for (let i = 0; i < n; i++) if (d[i] !== 0) xcp[i] = x[i] + tsum * d[i];
}

function dot(a: Float64Array, b: Float64Array): number {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i] * b[i];
  return acc;
}

/**
 * Subspace minimisation (step 2; Algorithm 778's cmprlb + subsm with the 2011 projection).
 * Replaces z (= x^c on entry) by x̄; false (z untouched) when ZᵀBZ is not numerically positive
 * definite, where Algorithm 778 (formk) drops the pairs and restarts the iteration.
 */
function subspaceMin(
  x: Float64Array,
  g: Float64Array,
  l: Float64Array,
  u: Float64Array,
  nbd: Int8Array,
  iwhere: Int8Array,
  B: Float64Array,
  z: Float64Array,
): boolean {
  const n = x.length;
  const free: number[] = [];
  for (let i = 0; i < n; i++) if (iwhere[i] <= 0) free.push(i);
  const nf = free.length;
  if (nf === 0) return true;
  // Reduced gradient r̂ = −Zᵀ(g + B(x^c − x)) and reduced matrix ZᵀBZ.
  const dz = new Float64Array(n);
  for (let i = 0; i < n; i++) dz[i] = z[i] - x[i];
  const A = new Float64Array(nf * nf);
  const du = new Float64Array(nf);
  for (let a = 0; a < nf; a++) {
    const i = free[a];
    let acc = g[i];
    for (let j = 0; j < n; j++) acc += B[i * n + j] * dz[j];
    du[a] = -acc;
    for (let b = 0; b < nf; b++) A[a * nf + b] = B[i * n + free[b]];
  }
  if (!choleskySolve(A, du, nf)) return false;
  // Try the projection of x^c + du on the box.
  const xp = Float64Array.from(z);
  let hitBound = false;
  for (let a = 0; a < nf; a++) {
    const k = free[a];
    const xk = z[k] + du[a];
    let v = xk;
    if (nbd[k] === 1 || nbd[k] === 2) v = Math.max(l[k], v);
    if (nbd[k] === 2 || nbd[k] === 3) v = Math.min(u[k], v);
    z[k] = v;
    if ((nbd[k] !== 0 && v === l[k] && nbd[k] <= 2) || (nbd[k] >= 2 && v === u[k])) hitBound = true;
  }
  if (!hitBound) return true;
  let ddp = 0;
  for (let i = 0; i < n; i++) ddp += (z[i] - x[i]) * g[i];
  if (ddp <= 0) return true;
  // Not a descent direction: truncate x^c + α·du at the first bound instead.
  z.set(xp);
  let alpha = 1;
  let temp1 = alpha;
  let ibd = -1;
  for (let a = 0; a < nf; a++) {
    const k = free[a];
    const dk = du[a];
    if (nbd[k] === 0) continue;
    if (dk < 0 && nbd[k] <= 2) {
      const temp2 = l[k] - z[k];
      if (temp2 >= 0) temp1 = 0;
      else if (dk * alpha < temp2) temp1 = temp2 / dk;
    } else if (dk > 0 && nbd[k] >= 2) {
      const temp2 = u[k] - z[k];
      if (temp2 <= 0) temp1 = 0;
      else if (dk * alpha > temp2) temp1 = temp2 / dk;
    }
    if (temp1 < alpha) {
      alpha = temp1;
      ibd = a;
    }
  }
  if (alpha < 1 && ibd >= 0) {
    const k = free[ibd];
    if (du[ibd] > 0) z[k] = u[k];
    else if (du[ibd] < 0) z[k] = l[k];
    du[ibd] = 0;
  }
  for (let a = 0; a < nf; a++) z[free[a]] += alpha * du[a];
  return true;
}

/** Solves A·v = b in place (b ← v) by Cholesky; false when A is not positive definite. */
function choleskySolve(A: Float64Array, b: Float64Array, nf: number): boolean {
  for (let j = 0; j < nf; j++) {
    let s = A[j * nf + j];
    for (let k = 0; k < j; k++) s -= A[j * nf + k] ** 2;
    if (!(s > 0)) return false;
    const ljj = Math.sqrt(s);
    A[j * nf + j] = ljj;
    for (let i = j + 1; i < nf; i++) {
      let t = A[i * nf + j];
      for (let k = 0; k < j; k++) t -= A[i * nf + k] * A[j * nf + k];
      A[i * nf + j] = t / ljj;
    }
  }
  for (let i = 0; i < nf; i++) {
    let t = b[i];
    for (let k = 0; k < i; k++) t -= A[i * nf + k] * b[k];
    b[i] = t / A[i * nf + i];
  }
  for (let i = nf - 1; i >= 0; i--) {
    let t = b[i];
    for (let k = i + 1; k < nf; k++) t -= A[k * nf + i] * b[k];
    b[i] = t / A[i * nf + i];
  }
  return true;
}

/** Largest line-search step (lnsrlb's stpmx) and the first trial step. */
function stepLimits(
  x: Float64Array,
  d: Float64Array,
  l: Float64Array,
  u: Float64Array,
  nbd: Int8Array,
  iter: number,
  cnstnd: boolean,
  boxed: boolean,
): { stpmx: number; stp: number } {
  let stpmx = BIG_STEP;
  if (cnstnd) {
    if (iter === 0) stpmx = 1;
    else {
      for (let i = 0; i < x.length; i++) {
        const a1 = d[i];
        if (nbd[i] === 0) continue;
        if (a1 < 0 && nbd[i] <= 2) {
          const a2 = l[i] - x[i];
          if (a2 >= 0) stpmx = 0;
          else if (a1 * stpmx < a2) stpmx = a2 / a1;
        } else if (a1 > 0 && nbd[i] >= 2) {
          const a2 = u[i] - x[i];
          if (a2 <= 0) stpmx = 0;
          else if (a1 * stpmx > a2) stpmx = a2 / a1;
        }
      }
    }
  }
  const stp = iter === 0 && !boxed ? Math.min(1 / Math.sqrt(dot(d, d)), stpmx) : 1;
  return { stpmx, stp };
}

/**
 * Minimise fg over the box [lower, upper] from x0 (clipped into the box) by L-BFGS-B.
 *
 * @param fg - objective; writes the gradient at x into its second argument.
 * @param x0 - start.
 * @param lower - lower bounds (−Infinity for none).
 * @param upper - upper bounds (+Infinity for none).
 * @param opts - iteration limit and tolerances, as scipy's options of the same names.
 * @returns the final iterate and value, the iteration count and the stopping reason.
 */
function lbfgsb(
  fg: ObjectiveGradient,
  x0: Float64Array,
  lower: Float64Array,
  upper: Float64Array,
  opts: LbfgsbOptions,
): LbfgsbResult {
  const n = x0.length;
  const m = opts.maxCor ?? 10;
  const maxLs = opts.maxLs ?? 20;
  const tol = (opts.ftol / EPS) * EPS;
  const l = lower;
  const u = upper;
  const nbd = boundKinds(l, u);
  const x = new Float64Array(n);
  const iwhere = new Int8Array(n);
  let cnstnd = false;
  let boxed = true;
  for (let i = 0; i < n; i++) {
    x[i] = Math.min(u[i], Math.max(l[i], x0[i]));
    iwhere[i] = nbd[i] === 0 ? -1 : nbd[i] === 2 && u[i] - l[i] <= 0 ? 3 : 0;
    if (nbd[i] !== 0) cnstnd = true;
    if (nbd[i] !== 2) boxed = false;
  }
  const g = new Float64Array(n);
  let f = fg(x, g);
  if (projGradNorm(x, g, l, u, nbd) <= opts.pgtol) return { x, f, nIter: 0, status: 'pgtol' };
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  let theta = 1;
  let iter = 0;
  const z = new Float64Array(n);
  const d = new Float64Array(n);
  const t = new Float64Array(n);
  const r = new Float64Array(n);
  for (;;) {
    const B = formB(n, theta, S, Y);
    if (!cnstnd && S.length > 0) z.set(x);
    else cauchy(x, g, l, u, nbd, iwhere, B, z);
    if (S.length > 0 && !subspaceMin(x, g, l, u, nbd, iwhere, B, z)) {
      S.length = 0;
      Y.length = 0;
      theta = 1;
      continue;
    }
    for (let i = 0; i < n; i++) d[i] = z[i] - x[i];
    // Line search (lnsrlb + dcsrch).
    const lim = stepLimits(x, d, l, u, nbd, iter, cnstnd, boxed);
    const stpmx = lim.stpmx;
    let stp = lim.stp;
    t.set(x);
    r.set(g);
    const fold = f;
    let gd = dot(g, d);
    const gdold = gd;
    // An ascent direction fails the search (lnsrlb's info −4); stp > stpmx, which dcsrch
    // reports as an error, cannot arise from a feasible x̄ except by rounding and fails too.
    let ok = gd < 0 && stp <= stpmx;
    if (ok) {
      const search = startSearch(f, gd, stp, stpmx);
      let evals = 0;
      for (;;) {
        if (evals >= maxLs) {
          ok = false;
          break;
        }
        for (let i = 0; i < n; i++) x[i] = stp === 1 ? z[i] : stp * d[i] + t[i];
        evals++;
        f = fg(x, g);
        gd = dot(g, d);
        const next = searchStep(search, f, gd, stp, stpmx);
        if (next.task !== 'fg') break;
        stp = next.stp;
      }
    }
    if (!ok) {
      x.set(t);
      g.set(r);
      f = fold;
      if (S.length === 0) return { x, f, nIter: iter, status: 'abnormal' };
      S.length = 0;
      Y.length = 0;
      theta = 1;
      continue;
    }
    iter++;
    const sbgnrm = projGradNorm(x, g, l, u, nbd);
    if (iter >= opts.maxIter) return { x, f, nIter: iter, status: 'maxIter' };
    if (sbgnrm <= opts.pgtol) return { x, f, nIter: iter, status: 'pgtol' };
    if (fold - f <= tol * Math.max(Math.abs(fold), Math.abs(f), 1))
      return { x, f, nIter: iter, status: 'ftol' };
    // Pair s = stp·d, y = Δg; kept when sᵀy > ε·(−gᵀs).
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = stp === 1 ? d[i] : stp * d[i];
      y[i] = g[i] - r[i];
    }
    const dr = stp === 1 ? gd - gdold : (gd - gdold) * stp;
    const ddum = stp === 1 ? -gdold : -gdold * stp;
    if (dr <= EPS * ddum) continue;
    if (S.length === m) {
      S.shift();
      Y.shift();
    }
    S.push(s);
    Y.push(y);
    theta = dot(y, y) / dr;
  }
}

export type { LbfgsbOptions, LbfgsbResult, ObjectiveGradient };
export { lbfgsb };
