/**
 * Cases in the golden schema (../shared/golden/README.md, "caiman-foopsi-golden/1"):
 * `{cases: [{id, trace, dtype, params}]}` in, `{results: [{id, ok, c, bl, c1, g, sn, sp, lam}
 * | {id, ok: false, error}]}` out. Non-finite numbers travel as the strings "NaN", "Infinity"
 * and "-Infinity", as JSON has no NaN. Used by `caiman-spikes foopsi` and the parity tests.
 */
import { CaimanSpikesError, InvalidInputError } from '../errors.js';
import { constrainedFoopsi } from './constrainedFoopsi.js';
import type { FoopsiParams, FoopsiResult, Trace } from './types.js';

/** One decoded case: its id, the trace in the dtype CaImAn received, and the keyword arguments. */
interface FoopsiCase {
  id: string;
  trace: Trace;
  params: Partial<FoopsiParams>;
}

type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity';

/** One result line in the output schema. */
type FoopsiCaseResult =
  | {
      id: string;
      ok: true;
      c: JsonNumber[];
      bl: JsonNumber;
      c1: JsonNumber;
      g: JsonNumber[];
      sn: JsonNumber;
      sp: JsonNumber[];
      lam: JsonNumber | null;
    }
  | { id: string; ok: false; error: string; errorType: string };

/** Decodes a number that may be written as "NaN" / "Infinity" / "-Infinity". */
function decodeNumber(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  throw new InvalidInputError(
    `${where}: expected a number (or "NaN", "Infinity", "-Infinity"), got ${JSON.stringify(v)}`,
  );
}

/** Encodes a number for JSON, non-finite values as strings. */
function encodeNumber(x: number): JsonNumber {
  if (Number.isFinite(x)) return x;
  if (Number.isNaN(x)) return 'NaN';
  return x > 0 ? 'Infinity' : '-Infinity';
}

function encodeArray(a: ArrayLike<number>): JsonNumber[] {
  const out = new Array<JsonNumber>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = encodeNumber(a[i]);
  return out;
}

/** Decodes one case object of the golden schema. */
function decodeCase(raw: unknown, index: number): FoopsiCase {
  if (typeof raw !== 'object' || raw === null) {
    throw new InvalidInputError(
      `case ${index}: expected an object with id, trace, dtype and params`,
    );
  }
  const obj = raw as Record<string, unknown>;
  const id = typeof obj.id === 'string' ? obj.id : `#${index}`;
  if (!Array.isArray(obj.trace))
    throw new InvalidInputError(`case ${id}: "trace" must be an array of numbers`);
  const values = obj.trace.map((v, t) => decodeNumber(v, `case ${id} trace[${t}]`));
  const dtype = obj.dtype ?? 'float64';
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new InvalidInputError(
      `case ${id}: "dtype" must be "float32" or "float64", got ${JSON.stringify(dtype)}`,
    );
  }
  const trace = dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
  const params = (obj.params ?? {}) as Record<string, unknown>;
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new InvalidInputError(
      `case ${id}: "params" must be an object of constrained_foopsi keyword arguments`,
    );
  }
  return { id, trace, params: decodeParams(params) };
}

function decodeParams(params: Record<string, unknown>): Partial<FoopsiParams> {
  const out: Record<string, unknown> = { ...params };
  for (const key of ['bl', 'c1', 'sn', 's_min', 'fudge_factor'] as const) {
    if (typeof out[key] === 'string') out[key] = decodeNumber(out[key], `params.${key}`);
  }
  if (Array.isArray(out.g)) out.g = out.g.map((v, i) => decodeNumber(v, `params.g[${i}]`));
  else if (typeof out.g === 'number') out.g = [out.g];
  return out as Partial<FoopsiParams>;
}

/** Runs one case; a failure becomes `{ok: false, error}` (never thrown). */
function runCase(c: FoopsiCase): FoopsiCaseResult {
  let r: FoopsiResult;
  try {
    r = constrainedFoopsi(c.trace, c.params);
  } catch (err) {
    const e = err as Error;
    const errorType = err instanceof CaimanSpikesError ? e.name : 'InternalError';
    return { id: c.id, ok: false, error: e?.message ?? String(err), errorType };
  }
  return {
    id: c.id,
    ok: true,
    c: encodeArray(r.c),
    bl: encodeNumber(r.bl),
    c1: encodeNumber(r.c1),
    g: encodeArray(r.g),
    sn: encodeNumber(r.sn),
    sp: encodeArray(r.sp),
    lam: r.lam === null ? null : encodeNumber(r.lam),
  };
}

/** Runs every case of a golden-schema document, in order, never stopping at a failure. */
function runCases(doc: unknown): { results: FoopsiCaseResult[] } {
  const cases = (doc as { cases?: unknown })?.cases;
  if (!Array.isArray(cases))
    throw new InvalidInputError('expected a JSON object with a "cases" array');
  const results: FoopsiCaseResult[] = [];
  cases.forEach((raw, i) => {
    let decoded: FoopsiCase;
    try {
      decoded = decodeCase(raw, i);
    } catch (err) {
      const id = (raw as { id?: unknown })?.id;
      results.push({
        id: typeof id === 'string' ? id : `#${i}`,
        ok: false,
        error: (err as Error).message,
        errorType: (err as Error).name,
      });
      return;
    }
    results.push(runCase(decoded));
  });
  return { results };
}

export type { FoopsiCase, FoopsiCaseResult, JsonNumber };
export { decodeCase, decodeNumber, encodeNumber, runCase, runCases };
