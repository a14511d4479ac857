/**
 * Parameters of the IDEAS "CaImAn Spike Extraction" tool (ideas-tool-contract.md §2), parsed
 * from the strings and JSON types the original tool accepts ('auto', "0.25,0.5", "ECOS,SCS",
 * "true", numbers) and validated up front, so a bad value fails before any file is touched.
 *
 * Beyond the original (contract §11.4): g must hold p coefficients of a stable AR(p) process
 * (every root of z^p − g₁z^{p−1} − … − g_p inside the unit circle, real for p = 2 as OASIS
 * AR(2) needs), noise_range needs 0 ≤ fmin < fmax ≤ 0.5, lags ≥ 1, and `solvers` is split
 * into its two names (the original never splits it).
 */
// zod's tree-shakable 'mini' build: the CLI bundle stays small, so it starts faster.
import * as z from 'zod/mini';
import { arRoots } from '../deconvolution/linalg.js';
import { InvalidParameterError } from '../errors.js';
import { toFoopsiParams } from './foopsiParams.js';

/** The tool's parameters after parsing ('auto' = null). */
interface ToolParams {
  bl: number | null;
  c1: number | null;
  g: number[] | null;
  sn: number | null;
  p: number;
  method_deconvolution: 'oasis' | 'cvxpy';
  bas_nonneg: boolean;
  noise_method: 'mean' | 'median' | 'logmexp';
  noise_range: [number, number];
  s_min: number | null;
  optimize_g: number;
  fudge_factor: number;
  lags: number;
  solvers: [string, string];
}

/** Options this project adds to the tool. */
interface JobOptions {
  /** 'off': every cell; 'accepted': accepted only; 'accepted+undecided': all but rejected. */
  acceptedOnly: 'off' | 'accepted' | 'accepted+undecided';
  /** Keep only events with amplitude ≥ K·sn (null: keep every positive event, as the original). */
  eventThresholdSn: number | null;
}

/** The tool's defaults (Python signature of `spike_extraction`). */
const DEFAULT_TOOL_PARAMS: ToolParams = {
  bl: null,
  c1: null,
  g: null,
  sn: null,
  p: 1,
  method_deconvolution: 'oasis',
  bas_nonneg: true,
  noise_method: 'logmexp',
  noise_range: [0.25, 0.5],
  s_min: null,
  optimize_g: 0,
  fudge_factor: 0.96,
  lags: 5,
  solvers: ['ECOS', 'SCS'],
};

const DEFAULT_JOB_OPTIONS: JobOptions = { acceptedOnly: 'off', eventThresholdSn: null };

/** Names of the tool's parameters, in the order of its spec. */
const TOOL_PARAM_NAMES = Object.keys(DEFAULT_TOOL_PARAMS) as (keyof ToolParams)[];

const SOLVER_NAMES = ['ECOS', 'SCS', 'CVXOPT'] as const;

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

/** One entry per parameter: its schema and the valid range quoted in error messages. */
const FIELDS = {
  bl: { schema: autoOr(numberLike), expected: "'auto' or a finite number (fixed baseline)" },
  c1: { schema: autoOr(numberLike), expected: "'auto' or a finite number (initial calcium)" },
  sn: {
    schema: autoOr(z.pipe(numberLike, atLeast(0))),
    expected: "'auto' or a number ≥ 0 (noise standard deviation)",
  },
  g: { schema: autoOr(numberList), expected: "'auto' or p comma-separated AR coefficients" },
  p: {
    schema: z.pipe(intLike, z.number().check(z.minimum(0), z.maximum(2))),
    expected: 'an integer 0, 1 or 2',
  },
  method_deconvolution: {
    schema: z.enum(['oasis', 'cvxpy']),
    expected: "'oasis' or 'cvxpy' ('cvx' needs picos, which is not available)",
  },
  bas_nonneg: { schema: boolLike, expected: 'true or false' },
  noise_method: {
    schema: z.enum(['mean', 'median', 'logmexp']),
    expected: "'mean', 'median' or 'logmexp'",
  },
  noise_range: {
    schema: z.pipe(
      numberList,
      z
        .tuple([z.number(), z.number()])
        .check(z.refine(([lo, hi]) => lo >= 0 && lo < hi && hi <= 0.5)),
    ),
    expected: "'fmin,fmax' with 0 ≤ fmin < fmax ≤ 0.5 (fractions of the sampling rate)",
  },
  s_min: {
    schema: autoOr(numberLike),
    expected:
      "'auto'/null (L1 penalty), 0 (automatic threshold), > 0 (minimum spike) or < 0 (|s_min|·sn·√(1−g))",
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
  },
  fudge_factor: {
    schema: z.pipe(numberLike, z.number().check(z.gt(0), z.maximum(1))),
    expected: 'a number in (0, 1]',
  },
  lags: { schema: z.pipe(intLike, atLeast(1)), expected: 'an integer ≥ 1' },
  solvers: {
    schema: z.pipe(
      z.transform((v: unknown) =>
        typeof v === 'string' ? v.split(',').map((s) => s.trim().toUpperCase()) : v,
      ),
      z.tuple([z.enum(SOLVER_NAMES), z.enum(SOLVER_NAMES)]),
    ),
    expected: "'s1,s2' with each of ECOS, SCS, CVXOPT",
  },
} satisfies Record<keyof ToolParams, { schema: z.ZodMiniType; expected: string }>;

function parseField<K extends keyof ToolParams>(name: K, value: unknown): ToolParams[K] {
  const field = FIELDS[name];
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
  return params;
}

/**
 * Parses the project's options (`acceptedOnly`, `eventThresholdSn`).
 *
 * @throws InvalidParameterError for a value outside its range.
 */
function parseJobOptions(raw: { acceptedOnly?: unknown; eventThresholdSn?: unknown }): JobOptions {
  const options = { ...DEFAULT_JOB_OPTIONS };
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

export type { JobOptions, ToolParams };
export {
  DEFAULT_JOB_OPTIONS,
  DEFAULT_TOOL_PARAMS,
  parseJobOptions,
  parseToolParams,
  TOOL_PARAM_NAMES,
  toFoopsiParams,
};
