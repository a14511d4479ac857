/**
 * Parameters of the IDEAS "CaImAn Spike Extraction" tool (ideas-tool-contract.md §2), parsed
 * from the strings and JSON types the original tool accepts ('auto', "0.25,0.5", "ECOS,SCS",
 * "true", numbers) and validated up front, so a bad value fails before any file is touched.
 *
 * Beyond the original (contract §11.4): g must hold p coefficients of a stable AR(p) process
 * (every root of z^p − g₁z^{p−1} − … − g_p inside the unit circle, real for p = 2 as OASIS
 * AR(2) needs), noise_range needs 0 ≤ fmin < fmax ≤ 0.5, lags ≥ 1, and `solvers` is split
 * into its two names (the original never splits it; one name = that solver only, no fallback
 * solver). `tau_decay` / `tau_rise` (seconds) are this project's alternative to g ({@link gFromTau}).
 */
// zod's tree-shakable 'mini' build: the CLI bundle stays small, so it starts faster.
import * as z from 'zod/mini';
import { arRoots } from '../deconvolution/linalg.js';
import {
  type CheckedFoopsiParams,
  CONIC_SOLVERS,
  DECONVOLUTION_METHODS,
  DEFAULT_FOOPSI_PARAMS,
  MAX_OASIS_ORDER,
  NOISE_METHODS,
  NYQUIST,
} from '../deconvolution/types.js';
import { InvalidParameterError } from '../errors.js';
import { AUTO_LAGS_RULE, toFoopsiParams } from './foopsiParams.js';

/**
 * The tool's parameters after parsing ('auto' = null): the engine's keyword arguments, checked,
 * except `lags`, which may stay 'auto' (null) until a file's length is known ({@link lagsFor}),
 * plus the kinetics in seconds that replace g ({@link gFromTau}; null = not given).
 */
type ToolParams = Omit<CheckedFoopsiParams, 'lags'> & {
  lags: number | null;
  /** Decay time constant τ_d (s) instead of g; null = not given. */
  tau_decay: number | null;
  /** Rise time constant τ_r (s), p = 2 only, with tau_decay; null = not given. */
  tau_rise: number | null;
};

/** Options this project adds to the tool. */
interface JobOptions {
  /** 'off': every cell; 'accepted': accepted only; 'accepted+undecided': all but rejected. */
  acceptedOnly: 'off' | 'accepted' | 'accepted+undecided';
  /** Keep only events with amplitude ≥ K·sn (null: keep every positive event, as the original). */
  eventThresholdSn: number | null;
  /** Also write each input's events and denoised traces as CSV, like IDPS (exports/csv.ts). */
  csv: boolean;
}

/**
 * The tool's defaults, in the order of its spec (Python signature of `spike_extraction`); the
 * values are the engine's {@link DEFAULT_FOOPSI_PARAMS}.
 */
const DEFAULT_TOOL_PARAMS: ToolParams = {
  bl: DEFAULT_FOOPSI_PARAMS.bl,
  c1: DEFAULT_FOOPSI_PARAMS.c1,
  g: DEFAULT_FOOPSI_PARAMS.g,
  sn: DEFAULT_FOOPSI_PARAMS.sn,
  p: DEFAULT_FOOPSI_PARAMS.p,
  method_deconvolution: DEFAULT_FOOPSI_PARAMS.method_deconvolution,
  bas_nonneg: DEFAULT_FOOPSI_PARAMS.bas_nonneg,
  noise_method: DEFAULT_FOOPSI_PARAMS.noise_method,
  noise_range: DEFAULT_FOOPSI_PARAMS.noise_range,
  s_min: DEFAULT_FOOPSI_PARAMS.s_min,
  optimize_g: DEFAULT_FOOPSI_PARAMS.optimize_g,
  fudge_factor: DEFAULT_FOOPSI_PARAMS.fudge_factor,
  lags: null,
  solvers: DEFAULT_FOOPSI_PARAMS.solvers,
  tau_decay: null,
  tau_rise: null,
};

/** Names of the tool's parameters, in the order of its spec. */
const TOOL_PARAM_NAMES = Object.keys(DEFAULT_TOOL_PARAMS) as (keyof ToolParams)[];

/** The smallest `lags` the tool accepts (contract §11.4; the engine itself takes 0). */
const MIN_LAGS = 1;

/**
 * The `lags` used for a file of `numTimes` frames: the value given, or for 'auto' the tool's 5
 * (DEFAULT_FOOPSI_PARAMS), lowered to numTimes − 1 on traces of 2…5 frames so that lags < T
 * (contract §11.4) holds without the user having chosen anything (a 1-frame file keeps the
 * minimum, 1, and its cells fail in the estimation with their own reason). A given value is
 * never changed: planJob refuses it when it does not fit.
 */
function lagsFor(params: Pick<ToolParams, 'lags'>, numTimes: number): number {
  if (params.lags !== null) return params.lags;
  return Math.max(MIN_LAGS, Math.min(DEFAULT_FOOPSI_PARAMS.lags, numTimes - 1));
}

/**
 * The AR coefficients of indicator kinetics given in seconds, for a file of frame period Δt (s):
 *
 *   p = 1:  g = exp(−Δt/τ_d);
 *   p = 2:  roots d = exp(−Δt/τ_d), r = exp(−Δt/τ_r), g = [d + r, −d·r]
 *           (z² − g₁z − g₂ = (z − d)(z − r): the kernel h_t ∝ dᵗ − rᵗ rises with τ_r, decays with τ_d).
 *
 * It inverts τ = −Δt/ln(root), the decay (larger root) and rise (smaller root) times that
 * output_metadata.json reports per cell. The g is used as a given g: fudge_factor (which shrinks
 * estimated roots only) does not apply. Null when no τ is given (g given or estimated). planJob
 * converts once per file (a series shares one period) and records the g in the metadata.
 */
function gFromTau(
  params: Pick<ToolParams, 'p' | 'tau_decay' | 'tau_rise'>,
  periodSeconds: number,
  file = 'the input',
): number[] | null {
  if (params.tau_decay === null) return null;
  const d = Math.exp(-periodSeconds / params.tau_decay);
  // The kernel must decay in the engine's float32 arithmetic (AR(1) OASIS rounds g to float32):
  // fl32(d) < 1, i.e. τ_d < Δt / −ln(1 − 2⁻²⁴) ≈ 1.7e7·Δt.
  if (!(Math.fround(d) < 1)) {
    const max = periodSeconds / -Math.log1p(-(2 ** -24));
    throw new InvalidParameterError(
      'tau_decay',
      params.tau_decay,
      `a decay time below ${max.toPrecision(3)} s for ${file} (frame period ${periodSeconds} s; longer rounds g to 1)`,
    );
  }
  if (params.p === 1) return [d];
  const rise = params.tau_rise as number;
  const r = Math.exp(-periodSeconds / rise);
  // AR(2) needs 0 < r (deconvolution-algorithms.md §9.10): r = exp(−Δt/τ_r) must not underflow
  // float32 (Δt/τ_r < 87, the smallest normal's logarithm), i.e. τ_r > Δt/87.
  const minRise = periodSeconds / -Math.log(2 ** -126);
  if (!(rise > minRise)) {
    throw new InvalidParameterError(
      'tau_rise',
      rise,
      `a rise time above ${minRise.toPrecision(3)} s for ${file} (frame period ${periodSeconds} s; shorter makes the rise root 0)`,
    );
  }
  return [d + r, -d * r];
}

/** "'a', 'b' or 'c'". */
const oneOf = (names: readonly string[]) =>
  `${names
    .slice(0, -1)
    .map((n) => `'${n}'`)
    .join(', ')} or '${names[names.length - 1]}'`;

const isAuto = (v: unknown) =>
  v === null || v === undefined || (typeof v === 'string' && /^\s*(auto|none)?\s*$/i.test(v));

/** A finite number from a number or a numeric string. */
const numberLike = z.pipe(
  z.transform((v: unknown) => (typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : v)),
  z.number().check(z.refine(Number.isFinite)),
);
const intLike = z.pipe(numberLike, z.int());
const boolLike = z.pipe(
  z.transform((v: unknown) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    if (s === 'true' || s === '1' || s === 'yes') return true;
    if (s === 'false' || s === '0' || s === 'no') return false;
    return v;
  }),
  z.boolean(),
);
/** "a,b,…" or an array of number-likes. */
const numberList = z.pipe(
  z.transform((v: unknown) =>
    typeof v === 'string' ? v.split(',').map((s) => s.trim()) : typeof v === 'number' ? [v] : v,
  ),
  z.array(numberLike),
);
const autoOr = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.transform((v: unknown) => (isAuto(v) ? null : v)),
    z.union([z.null(), schema]),
  );
const atLeast = (min: number) => z.number().check(z.minimum(min));

/**
 * One entry per parameter: its schema, the valid range quoted in error messages and the CLI
 * help line (the default is appended by {@link toolParamHelp}).
 */
const TOOL_PARAM_FIELDS = {
  bl: {
    schema: autoOr(numberLike),
    expected: "'auto' or a finite number (fixed baseline)",
    help: "baseline: 'auto' or a number",
  },
  c1: {
    schema: autoOr(numberLike),
    expected: "'auto' or a finite number (initial calcium)",
    help: "initial calcium, 'cvxpy' only: 'auto' or a number",
  },
  sn: {
    schema: autoOr(z.pipe(numberLike, atLeast(0))),
    expected: "'auto' or a number ≥ 0 (noise standard deviation)",
    help: "noise level: 'auto' or a number ≥ 0",
  },
  g: {
    schema: autoOr(numberList),
    expected: "'auto' or p comma-separated AR coefficients",
    help: "AR coefficients: 'auto' or p comma-separated numbers",
  },
  p: {
    schema: z.pipe(intLike, z.number().check(z.minimum(0), z.maximum(MAX_OASIS_ORDER))),
    expected: `an integer 0, 1 or ${MAX_OASIS_ORDER}`,
    help: `AR order: 0 (no deconvolution), 1 or ${MAX_OASIS_ORDER}`,
  },
  method_deconvolution: {
    schema: z.enum(DECONVOLUTION_METHODS),
    expected: `${oneOf(DECONVOLUTION_METHODS)} ('cvx' needs picos, which is not available)`,
    help: oneOf(DECONVOLUTION_METHODS),
  },
  bas_nonneg: { schema: boolLike, expected: 'true or false', help: 'baseline ≥ 0: true or false' },
  noise_method: {
    schema: z.enum(NOISE_METHODS),
    expected: oneOf(NOISE_METHODS),
    help: `how the PSD is averaged into sn: ${oneOf(NOISE_METHODS)}`,
  },
  noise_range: {
    schema: z.pipe(
      numberList,
      z
        .tuple([z.number(), z.number()])
        .check(z.refine(([lo, hi]) => lo >= 0 && lo < hi && hi <= NYQUIST)),
    ),
    expected: `'fmin,fmax' with 0 ≤ fmin < fmax ≤ ${NYQUIST} (fractions of the sampling rate)`,
    help: `PSD band for sn, 'fmin,fmax' with 0 ≤ fmin < fmax ≤ ${NYQUIST}`,
  },
  s_min: {
    schema: autoOr(numberLike),
    expected:
      "'auto'/null (L1 penalty), 0 (automatic threshold), > 0 (minimum spike) or < 0 (|s_min|·sn·√(1−g))",
    help: 'minimum spike: auto = L1; 0 = automatic; > 0 absolute; < 0 = |s_min|·sn·√(1−g)',
  },
  optimize_g: {
    schema: z.pipe(
      z.transform((v: unknown) => (typeof v === 'boolean' ? Number(v) : v)),
      z.union([
        z.pipe(intLike, atLeast(0)),
        z.pipe(
          boolLike,
          z.transform((b: boolean) => Number(b)),
        ),
      ]),
    ),
    expected: 'true/false or an integer ≥ 0 (number of isolated events used to refine g)',
    help: 'number of isolated events used to refine g, or true (= 1)',
  },
  fudge_factor: {
    schema: z.pipe(numberLike, z.number().check(z.gt(0), z.maximum(1))),
    expected: 'a number in (0, 1]',
    help: 'shrinkage of the estimated AR roots, in (0, 1]',
  },
  lags: {
    schema: autoOr(z.pipe(intLike, atLeast(MIN_LAGS))),
    expected: `'auto' or an integer ≥ ${MIN_LAGS}`,
    help: `extra autocovariance lags for estimating g, ≥ ${MIN_LAGS}; auto = ${AUTO_LAGS_RULE}`,
  },
  solvers: {
    // One name = that solver only: CaImAn takes a one-solver list and reaches the second name only
    // when the first fails on the fallback problem too (deconvolution-algorithms.md §7); here the
    // one name stands in both places, so no other solver is ever tried.
    schema: z.pipe(
      z.transform((v: unknown) => {
        const list = typeof v === 'string' ? v.split(',').map((s) => s.trim().toUpperCase()) : v;
        return Array.isArray(list) && list.length === 1 ? [list[0], list[0]] : list;
      }),
      z.tuple([z.enum(CONIC_SOLVERS), z.enum(CONIC_SOLVERS)]),
    ),
    expected: `'s1,s2' (primary, fallback) or 's1' (no fallback solver), each of ${CONIC_SOLVERS.join(', ')}`,
    help: "conic solvers for 'cvxpy': 's1,s2' (primary, fallback) or one name (no fallback)",
  },
  tau_decay: {
    schema: autoOr(z.pipe(numberLike, z.number().check(z.gt(0)))),
    expected: 'a decay time in seconds > 0 (instead of g)',
    help: 'decay time constant in s instead of g: g = exp(−Δt/τ) per file (p = 1; p = 2 with --tau-rise)',
  },
  tau_rise: {
    schema: autoOr(z.pipe(numberLike, z.number().check(z.gt(0)))),
    expected: 'a rise time in seconds > 0, below tau_decay (p = 2 only)',
    help: 'rise time constant in s, p = 2 with --tau-decay: g = [d + r, −d·r], d, r = exp(−Δt/τ)',
  },
} satisfies Record<keyof ToolParams, { schema: z.ZodMiniType; expected: string; help: string }>;

/**
 * Options declared once (one entry each): schema, default, the valid values quoted in errors,
 * and the help line, which `run --help` (flag `--<kebab name>`) and the job file's `options`
 * (key = the name) share. Parsed by {@link parseJobOptions}.
 */
const JOB_OPTION_FIELDS = {
  csv: {
    schema: boolLike,
    default: false,
    expected: 'true or false',
    help: 'also write per input neural_events.kkk.csv (Time (s), Cell Name, Value) and cellset_denoised.kkk.csv (time + one column per cell), as IDPS exports them',
  },
} satisfies Record<
  string,
  { schema: z.ZodMiniType; default: unknown; expected: string; help: string }
>;

/** The names of {@link JOB_OPTION_FIELDS}. */
type TableOption = keyof typeof JOB_OPTION_FIELDS;
const TABLE_OPTION_NAMES = Object.keys(JOB_OPTION_FIELDS) as TableOption[];

const DEFAULT_JOB_OPTIONS: JobOptions = {
  acceptedOnly: 'off',
  eventThresholdSn: null,
  csv: JOB_OPTION_FIELDS.csv.default,
};

/** Parameters whose null means "not given" rather than 'auto' (estimated). */
const NOT_GIVEN_WHEN_NULL: readonly (keyof ToolParams)[] = ['tau_decay', 'tau_rise'];

/** A default as the tool writes it: null → 'auto' (or 'none'), a list → 'a,b'. */
function defaultText(name: keyof ToolParams): string {
  const value = DEFAULT_TOOL_PARAMS[name];
  if (value === null) return NOT_GIVEN_WHEN_NULL.includes(name) ? 'none' : 'auto';
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** The CLI help line of a parameter: its table entry and its default. */
function toolParamHelp(name: keyof ToolParams): string {
  return `${TOOL_PARAM_FIELDS[name].help} (default: ${defaultText(name)})`;
}

function parseField<K extends keyof ToolParams>(name: K, value: unknown): ToolParams[K] {
  const field = TOOL_PARAM_FIELDS[name];
  const res = z.safeParse(field.schema, value);
  if (!res.success) throw new InvalidParameterError(name, value, field.expected);
  return res.data as ToolParams[K];
}

/**
 * Parses and validates the tool's parameters. Missing keys take the tool's defaults.
 *
 * @param raw - keyed by the tool's names (`noise_range`, …); values as the tool accepts them.
 * @throws InvalidParameterError naming the parameter, the value and the valid range; also for
 *   an unknown key.
 */
function parseToolParams(raw: Record<string, unknown>): ToolParams {
  for (const key of Object.keys(raw)) {
    if (!(TOOL_PARAM_NAMES as string[]).includes(key) && key !== 'input_cellset_files') {
      throw new InvalidParameterError(key, raw[key], `one of ${TOOL_PARAM_NAMES.join(', ')}`);
    }
  }
  const out = { ...DEFAULT_TOOL_PARAMS } as Record<keyof ToolParams, unknown>;
  for (const name of TOOL_PARAM_NAMES) {
    if (raw[name] !== undefined) out[name] = parseField(name, raw[name]);
  }
  const params = out as ToolParams;
  const { g, p } = params;
  if (g !== null) {
    const expected = `${p} AR coefficient(s) (p = ${p}) of a stable process: roots of z^p − g₁z^(p−1) − … real and inside (−1, 1)`;
    if (g.length !== p || p === 0) throw new InvalidParameterError('g', g, expected);
    const { re, im } = arRoots(Float64Array.from(g));
    if (im.some((v) => v !== 0) || re.some((r) => !(Math.abs(r) < 1))) {
      throw new InvalidParameterError('g', g, expected);
    }
  }
  checkKinetics(params);
  return params;
}

/** The CLI help line of a {@link JOB_OPTION_FIELDS} option: its table entry and its default. */
function jobOptionHelp(name: TableOption): string {
  return `${JOB_OPTION_FIELDS[name].help} (default: ${JOB_OPTION_FIELDS[name].default})`;
}

/**
 * tau_decay / tau_rise fit the other parameters: not with g, a kernel (p ≥ 1), τ_r only with
 * p = 2 and τ_d, p = 2 needs both, τ_r < τ_d.
 *
 * @throws InvalidParameterError naming the parameter, expected vs actual.
 */
function checkKinetics(params: ToolParams): void {
  const { g, p, tau_decay: decay, tau_rise: rise } = params;
  if (decay !== null && g !== null) {
    throw new InvalidParameterError(
      'tau_decay',
      decay,
      `either g or tau_decay, not both (g = ${g.join(',')} is given)`,
    );
  }
  if (decay !== null && p === 0) {
    throw new InvalidParameterError('tau_decay', decay, 'p = 1 or 2 (p = 0 has no kernel)');
  }
  if (rise !== null && decay === null) {
    throw new InvalidParameterError('tau_rise', rise, 'together with tau_decay (seconds)');
  }
  if (rise !== null && p !== 2) {
    throw new InvalidParameterError(
      'tau_rise',
      rise,
      `p = 2 (a rise time needs an AR(2) kernel; p = ${p})`,
    );
  }
  if (decay !== null && p === 2 && rise === null) {
    throw new InvalidParameterError(
      'tau_rise',
      rise,
      `a rise time in seconds with p = 2 and tau_decay = ${decay} s`,
    );
  }
  if (decay !== null && rise !== null && !(rise < decay)) {
    throw new InvalidParameterError('tau_rise', rise, `a rise time below tau_decay = ${decay} s`);
  }
}

/**
 * Parses the project's options (`acceptedOnly`, `eventThresholdSn` and those of
 * {@link JOB_OPTION_FIELDS}).
 *
 * @throws InvalidParameterError for a value outside its range.
 */
function parseJobOptions(
  raw: { acceptedOnly?: unknown; eventThresholdSn?: unknown } & {
    [K in TableOption]?: unknown;
  },
): JobOptions {
  const options = { ...DEFAULT_JOB_OPTIONS };
  for (const name of TABLE_OPTION_NAMES) {
    const value = raw[name];
    if (value === undefined) continue;
    const field = JOB_OPTION_FIELDS[name];
    const res = z.safeParse(field.schema, value);
    if (!res.success) throw new InvalidParameterError(name, value, field.expected);
    options[name] = res.data;
  }
  if (raw.acceptedOnly !== undefined && raw.acceptedOnly !== false) {
    const v = raw.acceptedOnly === true ? 'accepted' : raw.acceptedOnly;
    if (v !== 'off' && v !== 'accepted' && v !== 'accepted+undecided') {
      throw new InvalidParameterError('accepted-only', v, "'accepted' or 'accepted+undecided'");
    }
    options.acceptedOnly = v;
  }
  if (raw.eventThresholdSn !== undefined && raw.eventThresholdSn !== null) {
    const res = z.safeParse(z.pipe(numberLike, atLeast(0)), raw.eventThresholdSn);
    if (!res.success) {
      throw new InvalidParameterError('event-threshold-sn', raw.eventThresholdSn, 'a number K ≥ 0');
    }
    options.eventThresholdSn = res.data;
  }
  return options;
}

export type { JobOptions, TableOption, ToolParams };
export {
  DEFAULT_JOB_OPTIONS,
  DEFAULT_TOOL_PARAMS,
  gFromTau,
  JOB_OPTION_FIELDS,
  jobOptionHelp,
  lagsFor,
  parseJobOptions,
  parseToolParams,
  TABLE_OPTION_NAMES,
  TOOL_PARAM_FIELDS,
  TOOL_PARAM_NAMES,
  toFoopsiParams,
  toolParamHelp,
};
