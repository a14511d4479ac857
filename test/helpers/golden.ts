/**
 * Reading CaImAn golden cases (../shared/golden, schema "caiman-foopsi-golden/1") in tests.
 * Non-finite numbers are stored as the strings "NaN", "Infinity", "-Infinity"; null (absent)
 * reads as NaN.
 */
import { decodeNumber } from '../../lib/deconvolution/cases.js';
import type { Trace } from '../../lib/deconvolution/types.js';

type GoldenNumber = number | 'NaN' | 'Infinity' | '-Infinity';

/** The golden files of the developer set (cvx_reference last). */
const GOLDEN_FILES = [
  'oasis_p1.json',
  'oasis_p2.json',
  'estimation.json',
  'edge_cases.json',
  'ideas_samples.json',
  'cvx_reference.json',
] as const;

/** `constrained_foopsi` keyword arguments of a golden case (README "Schema"), as the tests read them. */
interface GoldenParams {
  bl: number | null;
  g: number[] | null;
  sn: number | null;
  p: number | null;
  method_deconvolution: string;
  bas_nonneg: boolean;
  optimize_g: number | boolean;
  s_min: number | null;
  [other: string]: unknown;
}

/** One golden case: the trace, the parameters and CaImAn's outputs (or the error it raised). */
interface GoldenCase {
  id: string;
  group: string;
  dtype: string;
  trace: GoldenNumber[];
  params: GoldenParams;
  expected: {
    ok: boolean;
    c?: GoldenNumber[];
    sp?: GoldenNumber[];
    bl?: GoldenNumber;
    c1?: GoldenNumber;
    g?: GoldenNumber[] | GoldenNumber;
    sn?: GoldenNumber;
    lam?: GoldenNumber | null;
    estimate?: { g?: GoldenNumber[]; sn?: GoldenNumber; error?: unknown };
    error?: { type: string; message: string };
  };
}

/** README "Comparing": arrays agree when |Δ| ≤ 1e-4·max|expected| + 1e-6 element by element. */
const ARRAY_RTOL = 1e-4;
const ARRAY_ATOL = 1e-6;

/**
 * The worst element error of `actual` in units of the array tolerance rtol·max|expected| + atol
 * (≤ 1 passes; max over the finite expected values). A NaN must meet a NaN (else Infinity).
 */
function arrayToleranceRatio(
  actual: ArrayLike<number>,
  expected: GoldenNumber[],
  rtol = ARRAY_RTOL,
  atol = ARRAY_ATOL,
): number {
  const exp = expected.map(goldenNumber);
  let scale = 0;
  for (const v of exp) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  const tol = rtol * scale + atol;
  let worst = 0;
  for (let t = 0; t < exp.length; t++) {
    if (Number.isNaN(exp[t]) || Number.isNaN(actual[t])) {
      if (Number.isNaN(exp[t]) !== Number.isNaN(actual[t])) return Number.POSITIVE_INFINITY;
      continue;
    }
    worst = Math.max(worst, Math.abs(actual[t] - exp[t]) / tol);
  }
  return worst;
}

/** A golden number as a double (null or undefined → NaN). */
function goldenNumber(v: GoldenNumber | string | null | undefined): number {
  if (v === null || v === undefined) return Number.NaN;
  return decodeNumber(v, 'golden value');
}

/** The case's trace in the dtype CaImAn received. */
function goldenTrace(c: { trace: GoldenNumber[]; dtype: string }): Trace {
  const values = c.trace.map(goldenNumber);
  return c.dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
}

export type { GoldenCase, GoldenNumber, GoldenParams };
export { ARRAY_ATOL, ARRAY_RTOL, arrayToleranceRatio, GOLDEN_FILES, goldenNumber, goldenTrace };
