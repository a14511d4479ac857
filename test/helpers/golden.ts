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

export type { GoldenNumber };
export { GOLDEN_FILES, goldenNumber, goldenTrace };
