/**
 * Types of the deconvolution engine (CaImAn `constrained_foopsi`), with the parameter names
 * of the tool, its defaults and the names and bounds its parameters take. See
 * ../shared/docs/deconvolution-algorithms.md §1 for the control flow.
 */

/** How the high-frequency PSD is averaged into sn (§2 step 3). */
const NOISE_METHODS = ['mean', 'median', 'logmexp'] as const;
type NoiseMethod = (typeof NOISE_METHODS)[number];

/** Deconvolution methods: 'oasis' (default) or the convex 'cvxpy' formulation (§7). */
const DECONVOLUTION_METHODS = ['oasis', 'cvxpy'] as const;
type DeconvolutionMethod = (typeof DECONVOLUTION_METHODS)[number];

/** Conic solver names accepted by `solvers` for method 'cvxpy'. */
const CONIC_SOLVERS = ['ECOS', 'SCS', 'CVXOPT'] as const;
type ConicSolverName = (typeof CONIC_SOLVERS)[number];

/** The highest AR order OASIS implements (AR(1) §5, AR(2) §6). */
const MAX_OASIS_ORDER = 2;

/** The Nyquist frequency in cycles per sample: the top of any `noise_range` band (§2). */
const NYQUIST = 0.5;

/**
 * Keyword arguments of `constrained_foopsi`, exactly as the golden cases pass them
 * ('auto' = null). Types are loose on purpose: invalid values are rejected with a clear
 * error inside `constrainedFoopsi`, as CaImAn would fail.
 */
interface FoopsiParams {
  /** Fixed baseline, or null to estimate it. */
  bl: number | null;
  /** Initial calcium (used by 'cvxpy' only; oasis ignores it as CaImAn does). */
  c1: number | null;
  /** AR coefficients (g1[, g2]) or null to estimate them. */
  g: number[] | null;
  /** Noise standard deviation, or null to estimate it. */
  sn: number | null;
  /** AR order (0, 1 or 2; null raises as in CaImAn). */
  p: number | null;
  method_deconvolution: string;
  bas_nonneg: boolean;
  /** PSD band [lo, hi] in cycles per sample, both exclusive. */
  noise_range: [number, number];
  noise_method: string;
  /** Extra autocovariance lags for the AR estimate. */
  lags: number;
  /** Shrinkage of the estimated AR roots. */
  fudge_factor: number;
  /** 'ECOS,SCS' or ['ECOS','SCS']: primary and fallback conic solver for 'cvxpy'. */
  solvers: string | string[] | null;
  /** Number of isolated events used to refine g (true = 1, false = 0). */
  optimize_g: number | boolean;
  /** null = L1 penalty; 0 = automatic L0 threshold; > 0 minimum spike; < 0 |s_min|·sn·√(1−g). */
  s_min: number | null;
}

/** {@link FoopsiParams} as validated: each value has its narrow type (the tool's parameters). */
interface CheckedFoopsiParams extends FoopsiParams {
  p: number;
  method_deconvolution: DeconvolutionMethod;
  noise_method: NoiseMethod;
  solvers: [ConicSolverName, ConicSolverName];
  optimize_g: number;
}

/**
 * The IDEAS tool's defaults (which differ from CaImAn's in fudge_factor): the only statement of
 * them; the tool's parameter table (lib/job/params.ts) takes its defaults from here.
 */
const DEFAULT_FOOPSI_PARAMS: CheckedFoopsiParams = {
  bl: null,
  c1: null,
  g: null,
  sn: null,
  p: 1,
  method_deconvolution: 'oasis',
  bas_nonneg: true,
  noise_range: [0.25, 0.5],
  noise_method: 'logmexp',
  lags: 5,
  fudge_factor: 0.96,
  solvers: ['ECOS', 'SCS'],
  optimize_g: 0,
  s_min: null,
};

/** Result of `constrainedFoopsi`: CaImAn's tuple (c, bl, c1, g, sn, sp, lam). */
interface FoopsiResult {
  /** Denoised calcium, without baseline and with the initial transient c1·κᵗ removed. NaN at NaN input frames. */
  c: Float64Array;
  /** Baseline (estimated or given). */
  bl: number;
  /** Initial calcium removed from c. */
  c1: number;
  /** AR coefficients as used (float32-rounded for p = 1 oasis). */
  g: number[];
  /** Noise level (estimated or given). */
  sn: number;
  /** Deconvolved activity s_t = c_t − Σ g_i c_{t−i}; 0 at NaN input frames. */
  sp: Float64Array;
  /** Sparsity multiplier λ (null for p = 0 and 'cvxpy'). */
  lam: number | null;
}

/**
 * Caller-owned buffers for a result's c and sp (each of length ≥ T). With them, a job that
 * deconvolves many traces allocates nothing per trace for its outputs (two T-length arrays,
 * whose fresh pages cost more than the solve's own passes on some machines).
 */
interface FoopsiOutput {
  c: Float64Array;
  sp: Float64Array;
}

/** A trace as handed to the engine; Float32Array means CaImAn's float32 code paths. */
type Trace = Float32Array | Float64Array;

export type {
  CheckedFoopsiParams,
  ConicSolverName,
  DeconvolutionMethod,
  FoopsiOutput,
  FoopsiParams,
  FoopsiResult,
  NoiseMethod,
  Trace,
};
export {
  CONIC_SOLVERS,
  DECONVOLUTION_METHODS,
  DEFAULT_FOOPSI_PARAMS,
  MAX_OASIS_ORDER,
  NOISE_METHODS,
  NYQUIST,
};
