/**
 * `constrainedFoopsi`: the single entry point of the engine, CaImAn's `constrained_foopsi`
 * (deconvolution-algorithms.md §1). Given a fluorescence trace y it returns
 * (c, bl, c1, g, sn, sp, lam) such that, for AR(p) calcium,
 *
 *   s_t = c_t − Σ_{i≤p} g_i·c_{t−i} ≥ 0,  y ≈ c + bl + c1·κᵗ + noise(sn),
 *
 * with λ (lam) the sparsity weight chosen so that ‖y − c − bl‖² ≈ sn²·T (AR(1)).
 *
 * Control flow (§1): validate → estimate the missing sn / g (§2, §3) → dispatch on p and the
 * method (p = 0 passthrough; OASIS AR(1) §5 / AR(2) §6; the convex 'cvxpy' problem §7) →
 * remove the initial transient c1·κᵗ from c (oasis only).
 *
 * Beyond CaImAn: NaN samples (Inscopix writes NaN at dropped, cropped and blank frames) are
 * gaps. sn and g are estimated on the valid samples, the solvers give gap frames weight 0,
 * and the result has NaN in `c` and 0 in `sp` there. A trace without NaN takes exactly
 * CaImAn's path.
 */
import { DeconvolutionError, InvalidParameterError } from '../errors.js';
import { estimateParameters, validSamples } from './arEstimation.js';
import { cvxpyFoopsi } from './cvx/cvxpyFoopsi.js';
import { arRoots } from './linalg.js';
import { constrainedOasisAr1 } from './oasisAr1.js';
import { constrainedOasisAr2 } from './oasisAr2.js';
import {
  CONIC_SOLVERS,
  type ConicSolverName,
  DECONVOLUTION_METHODS,
  DEFAULT_FOOPSI_PARAMS,
  type FoopsiOutput,
  type FoopsiParams,
  type FoopsiResult,
  MAX_OASIS_ORDER,
  NOISE_METHODS,
  type Trace,
} from './types.js';

/**
 * Deconvolves one fluorescence trace.
 *
 * @param trace - the trace; a Float32Array takes CaImAn's float32 code paths (as IDEAS reads
 *   cell sets), a Float64Array the float64 ones. NaN samples are gaps.
 * @param params - keyword arguments of `constrained_foopsi` (null = 'auto'); missing keys
 *   take the IDEAS tool's defaults ({@link DEFAULT_FOOPSI_PARAMS}).
 * @param out - optional buffers (length ≥ T) that receive c and sp: the result's c and sp are
 *   then views of their first T entries (the oasis AR(1) and p = 0 paths write there directly).
 * @throws InvalidParameterError for a parameter outside its valid range,
 *   DeconvolutionError where the trace cannot be deconvolved (CaImAn raises there too).
 */
function constrainedFoopsi(
  trace: Trace,
  params: Partial<FoopsiParams> = {},
  out?: FoopsiOutput,
): FoopsiResult {
  const P = { ...DEFAULT_FOOPSI_PARAMS, ...params };
  const p = validateOrder(P.p, P.method_deconvolution);
  validateCommon(P);
  const T = trace.length;
  if (T === 0)
    throw new DeconvolutionError('the trace is empty: nothing to deconvolve', 'EmptyTrace');

  // Gaps: NaN frames get weight 0 in the solvers; estimation sees only the valid samples (§beyond CaImAn).
  const weights = gapWeights(trace);
  const observed = weights === null ? trace : validSamples(trace);
  if (observed.length === 0) {
    throw new DeconvolutionError(
      `all ${T} samples of the trace are NaN: nothing to deconvolve`,
      'EmptyTrace',
    );
  }

  // §1 step 2: estimate whichever of sn and g is missing, before any method check.
  let g: Float64Array | null = P.g === null ? null : Float64Array.from(P.g);
  let sn = P.sn;
  if (g === null || sn === null) {
    const est = estimateParameters(
      observed,
      p,
      sn,
      P.g,
      P.noise_range,
      P.noise_method,
      P.lags,
      P.fudge_factor,
    );
    if (g === null) g = est.g;
    if (sn === null) sn = est.sn;
  }
  if (g === null || sn === null)
    throw new DeconvolutionError('parameter estimation returned nothing');
  if (!Number.isFinite(sn)) throw overflowError('the noise estimate sn', sn, observed);
  if (p > 0 && P.g !== null && P.g.length !== p) {
    // CaImAn silently uses g[:p], which for an AR(2) list such as [1.7, −0.71] at p = 1 explodes.
    const hint =
      P.g.length <= MAX_OASIS_ORDER ? ` (${P.g.length} given: use p = ${P.g.length})` : '';
    throw new InvalidParameterError(
      'g',
      P.g,
      `${p} AR coefficient${p > 1 ? 's' : ''} for p = ${p}${hint}`,
    );
  }
  if (p > 0) assertDecayingKernel(g, P.g !== null, P.fudge_factor);
  assertFloat32Range(trace, P.method_deconvolution, p);

  const buffers = out === undefined ? null : outputViews(out, T);
  if (p === 0) return passthrough(trace, sn, weights, buffers);
  if (p === 1 && P.method_deconvolution === 'oasis')
    return assertFiniteScalars(solveAr1(trace, g, sn, P, weights, buffers), observed);
  const res = assertFiniteScalars(
    P.method_deconvolution === 'cvxpy'
      ? solveCvx(trace, g, sn, P, weights)
      : solveAr2(trace, g, sn, P, weights),
    observed,
  );
  if (buffers === null) return res;
  buffers.c.set(res.c);
  buffers.sp.set(res.sp);
  return { ...res, c: buffers.c, sp: buffers.sp };
}

/** max |y| over the observed samples (for the overflow message only). */
function maxAbsolute(y: Trace): number {
  let m = 0;
  for (let t = 0; t < y.length; t++) m = Math.max(m, Math.abs(y[t]));
  return m;
}

function overflowError(what: string, value: number, observed: Trace): DeconvolutionError {
  return new DeconvolutionError(
    `${what} is ${value}: the trace (max |y| = ${maxAbsolute(observed).toExponential(3)}) overflows ` +
      "the float32 arithmetic CaImAn's OASIS and noise estimate use; expected values whose squares " +
      'summed over the trace stay below 3.4e38 (rescale the trace)',
    'Overflow',
  );
}

/** The scalars of an ok result are finite (c and sp are checked by the solvers' passes). */
function assertFiniteScalars(r: FoopsiResult, observed: Trace): FoopsiResult {
  const scalars: [string, number][] = [
    ['the baseline bl', r.bl],
    ['c1', r.c1],
    ['lambda', r.lam ?? 0],
  ];
  for (let i = 0; i < r.g.length; i++) scalars.push([`g[${i}]`, r.g[i]]);
  for (const [what, v] of scalars) if (!Number.isFinite(v)) throw overflowError(what, v, observed);
  return r;
}

/** Largest finite float32 (the OASIS solvers work on fl32(y), as CaImAn does). */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The AR kernel must decay: every root of z^p − g₁z^{p−1} − … − g_p inside the unit circle
 * (|g| < 1 for p = 1; for p = 2 |g₂| < 1, g₁ + g₂ < 1, g₂ − g₁ < 1). Otherwise the calcium
 * c_t = Σ g_i c_{t−i} + s_t grows without bound and every method returns garbage (CaImAn does).
 * A given kernel is the user's parameter; an estimated one comes from the trace (roots > 1 are
 * already replaced there, so only a fudge factor ≥ 1 can push a root out).
 */
function assertDecayingKernel(g: Float64Array, given: boolean, fudgeFactor: number): void {
  const { re, im } = arRoots(g);
  let modulus = 0;
  for (let i = 0; i < g.length; i++) modulus = Math.max(modulus, Math.hypot(re[i], im[i]));
  if (modulus < 1) return;
  const list = `[${Array.from(g).join(', ')}]`;
  const rule =
    'a decaying AR kernel (every root of z^p − g₁z^{p−1} − … − g_p inside the unit circle, e.g. 0 < g < 1 for p = 1)';
  if (given) {
    throw new InvalidParameterError('g', list, `${rule}; its largest root has modulus ${modulus}`);
  }
  throw new DeconvolutionError(
    `the estimated AR kernel g = ${list} does not decay (largest root ${modulus} ≥ 1 after fudge_factor = ${fudgeFactor}); ` +
      'expected a fudge_factor that keeps the roots below 1 (≤ 1, default 0.96), or give g',
    'NonDecayingKernel',
  );
}

/**
 * The OASIS paths (and p = 0's passthrough is exempt: no arithmetic) round y to float32; a
 * float64 trace beyond ±3.4e38 would become ±Infinity there (bl = Infinity).
 */
function assertFloat32Range(trace: Trace, method: string, p: number): void {
  if (trace instanceof Float32Array || method !== 'oasis' || p === 0) return;
  for (let t = 0; t < trace.length; t++) {
    const y = trace[t];
    if (y > FLOAT32_MAX || y < -FLOAT32_MAX) {
      throw new DeconvolutionError(
        `trace value ${y} at frame ${t} is beyond the float32 range (±${FLOAT32_MAX}) that OASIS works in; ` +
          'expected values within it (rescale the trace)',
        'OutOfRange',
      );
    }
  }
}

/** The first T entries of the caller's buffers. */
function outputViews(out: FoopsiOutput, T: number): FoopsiOutput {
  if (!(out.c.length >= T && out.sp.length >= T)) {
    throw new InvalidParameterError(
      'out',
      `c of length ${out.c.length}, sp of length ${out.sp.length}`,
      `two Float64Arrays of length ≥ ${T} (the trace length)`,
    );
  }
  return { c: out.c.subarray(0, T), sp: out.sp.subarray(0, T) };
}

/** p = 0 (§1 step 3): no deconvolution, c = sp = max(y, 0). */
function passthrough(
  trace: Trace,
  sn: number,
  weights: Uint8Array | null,
  out: FoopsiOutput | null,
): FoopsiResult {
  const T = trace.length;
  const c = out?.c ?? new Float64Array(T);
  const sp = out?.sp ?? new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const y = trace[t];
    if (weights !== null && weights[t] === 0) {
      c[t] = Number.NaN;
      sp[t] = 0;
      continue;
    }
    c[t] = Math.max(y, 0);
    sp[t] = c[t];
  }
  return { c, bl: 0, c1: 0, g: [0], sn, sp, lam: null };
}

/** OASIS AR(1) (§1 step 4, §5). */
function solveAr1(
  trace: Trace,
  g: Float64Array,
  sn: number,
  P: FoopsiParams,
  weights: Uint8Array | null,
  out: FoopsiOutput | null,
): FoopsiResult {
  const optimizeB = P.bl === null;
  const y32 = float32Data(trace, P.bl, weights);
  const g1 = Math.fround(g[0]);
  const res = constrainedOasisAr1(y32, g1, sn, {
    optimizeB,
    bNonneg: P.bas_nonneg,
    optimizeG: optimizeB ? optimizeGCount(P.optimize_g) : 0,
    penalty: P.s_min === null ? 1 : 0,
    sMin: P.s_min ?? 0,
    weights,
    out: out === null ? null : { c: out.c, s: out.sp },
  });
  const c1 = removeTransientChecked(res.c, res.s, weights, [g1], res.g);
  finishGaps(res.c, res.s, weights);
  return {
    c: res.c,
    bl: optimizeB ? res.b : (P.bl as number),
    c1,
    g: [res.g],
    sn,
    sp: res.s,
    lam: res.lam,
  };
}

/** OASIS AR(2) (§1 step 4, §6). */
function solveAr2(
  trace: Trace,
  g: Float64Array,
  sn: number,
  P: FoopsiParams,
  weights: Uint8Array | null,
): FoopsiResult {
  if (g.length < 2) {
    throw new InvalidParameterError('g', Array.from(g), 'two AR coefficients (g1,g2) for p = 2');
  }
  const optimizeB = P.bl === null;
  const y32 = float32Data(trace, P.bl, weights);
  const res = constrainedOasisAr2(y32, [g[0], g[1]], sn, {
    optimizeB,
    bNonneg: P.bas_nonneg,
    optimizeG: optimizeB ? optimizeGCount(P.optimize_g) : 0,
    penalty: P.s_min === null ? 1 : 0,
    sMin: P.s_min,
    weights,
  });
  assertFinite(res.c, res.s, weights, res.g);
  const c1 = removeInitialTransient(res.c, res.d, false);
  finishGaps(res.c, res.s, weights);
  return {
    c: res.c,
    bl: optimizeB ? res.b : (P.bl as number),
    c1,
    g: [res.g[0], res.g[1]],
    sn,
    sp: res.s,
    lam: res.lam,
  };
}

/** The convex formulation (§7), with the primary and fallback conic solvers. */
function solveCvx(
  trace: Trace,
  g: Float64Array,
  sn: number,
  P: FoopsiParams,
  weights: Uint8Array | null,
): FoopsiResult {
  if (weights !== null) {
    throw new DeconvolutionError(
      "method_deconvolution 'cvxpy' does not support NaN (dropped, cropped or blank) frames; use 'oasis'",
      'GapsUnsupported',
    );
  }
  const y = Float64Array.from(trace);
  const res = cvxpyFoopsi(y, g, sn, {
    bl: P.bl,
    c1: P.c1,
    basNonneg: P.bas_nonneg,
    solvers: parseSolvers(P.solvers),
  });
  assertFinite(res.c, res.sp, null, g);
  return { c: res.c, bl: res.bl, c1: res.c1, g: Array.from(g), sn, sp: res.sp, lam: null };
}

/**
 * fl32(y) or fl32(y − bl) (§1 step 4: the subtraction happens in the input dtype; numpy
 * casts the Python scalar to float32 for a float32 array). Gap frames become 0.
 */
function float32Data(trace: Trace, bl: number | null, weights: Uint8Array | null): Float32Array {
  // Already fl32(y − 0): the solvers only read y (AR(1) copies it into its workspace).
  if (bl === null && weights === null && trace instanceof Float32Array) return trace;
  const T = trace.length;
  const out = new Float32Array(T);
  const isF32 = trace instanceof Float32Array;
  const b = bl === null ? 0 : isF32 ? Math.fround(bl) : bl;
  for (let t = 0; t < T; t++) {
    if (weights !== null && weights[t] === 0) continue;
    out[t] = isF32 ? Math.fround(trace[t] - b) : trace[t] - b;
  }
  return out;
}

/**
 * c1 = c[0]; c_t ← c_t − c1·κᵗ with κᵗ in float64 (§1 step 4, "c1 removal"). The AR(1) solver's
 * c is float32 in CaImAn, so the difference is rounded to float32 there; AR(2)'s c is float64.
 * Returns c1.
 */
function removeInitialTransient(c: Float64Array, kappa: number, float32: boolean): number {
  const c1 = c[0];
  if (c1 === 0) return 0;
  let kt = 1;
  for (let t = 0; t < c.length; t++) {
    const v = c[t] - c1 * kt;
    c[t] = float32 ? Math.fround(v) : v;
    kt *= kappa;
  }
  return c1;
}

/**
 * {@link assertFinite} and the float32 {@link removeInitialTransient} of the AR(1) path in one
 * pass: frame t is checked before it is changed, so the first non-finite frame throws as before
 * (c is then discarded). Returns c1.
 */
function removeTransientChecked(
  c: Float64Array,
  s: Float64Array,
  weights: Uint8Array | null,
  g: ArrayLike<number>,
  kappa: number,
): number {
  const c1 = c[0];
  if (c1 === 0) {
    assertFinite(c, s, weights, g);
    return 0;
  }
  const bad = transientPass(c, s, weights, c1, kappa);
  if (bad >= 0) throw divergedError(bad, g);
  return c1;
}

/**
 * c_t ← fl32(c_t − c1·κᵗ) until the first observed frame with a non-finite c_t or s_t, whose
 * index is returned (−1 when there is none).
 */
function transientPass(
  c: Float64Array,
  s: Float64Array,
  weights: Uint8Array | null,
  c1: number,
  kappa: number,
): number {
  let kt = 1;
  for (let t = 0; t < c.length; t++) {
    const ct = c[t];
    const v = Math.fround(ct - c1 * kt);
    if ((weights === null || weights[t] !== 0) && !(Number.isFinite(v) && Number.isFinite(s[t])))
      return t;
    c[t] = v;
    kt *= kappa;
  }
  return -1;
}

/**
 * The last guard: an ok result never holds a non-finite value at an observed frame (the kernel
 * check above makes this unreachable for decaying kernels; a solver fault would still stop here).
 */
function assertFinite(
  c: Float64Array,
  s: Float64Array,
  weights: Uint8Array | null,
  g: ArrayLike<number>,
  offset = 0,
): void {
  for (let t = 0; t < c.length; t++) {
    if (weights !== null && weights[t] === 0) continue;
    if (!Number.isFinite(c[t]) || !Number.isFinite(s[t])) throw divergedError(t + offset, g);
  }
}

function divergedError(t: number, g: ArrayLike<number>): DeconvolutionError {
  return new DeconvolutionError(
    `the deconvolution diverged at frame ${t} (non-finite calcium) with g = [${Array.from(g).join(', ')}]; ` +
      'expected a decaying AR kernel (AR roots inside the unit circle, e.g. 0 < g < 1 for p = 1) and finite samples',
    'Diverged',
  );
}

/** Gap frames: NaN in c, 0 in sp. */
function finishGaps(c: Float64Array, sp: Float64Array, weights: Uint8Array | null): void {
  if (weights === null) return;
  for (let t = 0; t < c.length; t++) {
    if (weights[t] === 0) {
      c[t] = Number.NaN;
      sp[t] = 0;
    }
  }
}

/** 1 per observed frame, 0 per NaN frame; null when the trace has no NaN. ±Infinity is refused. */
function gapWeights(trace: Trace): Uint8Array | null {
  let weights: Uint8Array | null = null;
  for (let t = 0; t < trace.length; t++) {
    const y = trace[t];
    if (Number.isNaN(y)) {
      if (weights === null) weights = new Uint8Array(trace.length).fill(1);
      weights[t] = 0;
    } else if (y === Number.POSITIVE_INFINITY || y === Number.NEGATIVE_INFINITY) {
      throw new DeconvolutionError(
        `sample ${t} of the trace is ${y}: expected finite fluorescence (NaN marks a missing frame)`,
        'NonFiniteSample',
      );
    }
  }
  return weights;
}

function validateOrder(p: number | null, method: string): number {
  if (p === null || p === undefined) {
    throw new InvalidParameterError(
      'p',
      p,
      'the AR order: 0, 1 or 2 (CaImAn: "You must specify the value of p")',
    );
  }
  if (!Number.isInteger(p) || p < 0) throw new InvalidParameterError('p', p, 'an integer ≥ 0');
  if (!(DECONVOLUTION_METHODS as readonly string[]).includes(method)) {
    if (method === 'cvx') {
      throw new InvalidParameterError(
        'method_deconvolution',
        method,
        "'oasis' or 'cvxpy' ('cvx' needs the picos package, which CaImAn does not install)",
      );
    }
    throw new InvalidParameterError('method_deconvolution', method, "'oasis' or 'cvxpy'");
  }
  if (method === 'oasis' && p > MAX_OASIS_ORDER) {
    throw new InvalidParameterError(
      'p',
      p,
      `0, 1 or ${MAX_OASIS_ORDER} with method 'oasis' (OASIS implements AR(1) and AR(2) only)`,
    );
  }
  return p;
}

function validateCommon(P: FoopsiParams): void {
  if (!(NOISE_METHODS as readonly string[]).includes(P.noise_method)) {
    throw new InvalidParameterError(
      'noise_method',
      P.noise_method,
      "'mean', 'median' or 'logmexp'",
    );
  }
  if (!Array.isArray(P.noise_range) || P.noise_range.length !== 2) {
    throw new InvalidParameterError(
      'noise_range',
      P.noise_range,
      'two frequencies [lo, hi] in cycles per sample',
    );
  }
  if (!Number.isInteger(P.lags) || P.lags < 0)
    throw new InvalidParameterError('lags', P.lags, 'an integer ≥ 0');
  if (!Number.isFinite(P.fudge_factor)) {
    throw new InvalidParameterError(
      'fudge_factor',
      P.fudge_factor,
      'a finite number, typically in (0, 1]',
    );
  }
  if (
    P.g !== null &&
    (!Array.isArray(P.g) || P.g.length === 0 || P.g.some((x) => !Number.isFinite(x)))
  ) {
    throw new InvalidParameterError(
      'g',
      P.g,
      'null (estimate) or a non-empty list of finite AR coefficients',
    );
  }
  if (P.sn !== null && !(Number.isFinite(P.sn) && P.sn >= 0)) {
    throw new InvalidParameterError('sn', P.sn, 'null (estimate) or a finite noise level ≥ 0');
  }
  if (P.bl !== null && !Number.isFinite(P.bl))
    throw new InvalidParameterError('bl', P.bl, 'null (estimate) or a finite baseline');
  if (P.s_min !== null && !Number.isFinite(P.s_min))
    throw new InvalidParameterError('s_min', P.s_min, 'null or a finite number');
}

/** optimize_g is a count of events (true = 1, as CaImAn reads a Python bool). */
function optimizeGCount(v: number | boolean): number {
  if (v === true) return 1;
  if (v === false || v === null || v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0)
    throw new InvalidParameterError('optimize_g', v, 'false/true or a count of events ≥ 0');
  return v;
}

/** 'ECOS,SCS' or ['ECOS','SCS'] → [primary, fallback] (the original tool never split the string). */
function parseSolvers(solvers: string | string[] | null): [ConicSolverName, ConicSolverName] {
  const names =
    solvers === null
      ? DEFAULT_FOOPSI_PARAMS.solvers
      : typeof solvers === 'string'
        ? solvers.split(',')
        : solvers;
  const list = names.map((s) => String(s).trim().toUpperCase()).filter((s) => s.length > 0);
  for (const s of list) {
    if (!(CONIC_SOLVERS as readonly string[]).includes(s)) {
      throw new InvalidParameterError(
        'solvers',
        solvers,
        "solver names among 'ECOS', 'SCS', 'CVXOPT' (e.g. 'ECOS,SCS')",
      );
    }
  }
  if (list.length === 0 || list.length > 2) {
    throw new InvalidParameterError(
      'solvers',
      solvers,
      "one or two solver names, primary first (e.g. 'ECOS,SCS')",
    );
  }
  const primary = list[0] as ConicSolverName;
  return [primary, (list[1] ?? (primary === 'SCS' ? 'ECOS' : 'SCS')) as ConicSolverName];
}

export { constrainedFoopsi, parseSolvers };
