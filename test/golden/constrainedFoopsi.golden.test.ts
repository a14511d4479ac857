/**
 * Parity of `constrainedFoopsi` with CaImAn on every non-'cvxpy' golden case.
 *
 * Tolerances (../shared/golden/README.md, "Comparing"):
 * - arrays c, sp: |Δ| ≤ 1e-4·max|expected| + 1e-6 per element (CaImAn runs OASIS in float32);
 * - scalars bl, sn, g: relative 1e-5, with an absolute floor of 1e-6·scale near 0;
 *   c1 is the element c[0] before the transient removal, so it gets the array tolerance;
 * - lam: relative 1e-3 (absolute floor 1e-6·scale);
 * - optimize_g cases: g within its bounds (AR(2): roots in (0, 1)) and corr(c, expected c) > 0.98;
 *   g itself (relative 1e-6) except in G_NOISE_DRIVEN. The optimiser is scipy's L-BFGS-B step for
 *   step, but its finite-difference gradient is float32 rounding noise of the objective, and the
 *   rounding of CaImAn's numpy expression is not reproduced bit for bit (§5.3);
 * - cases where CaImAn raises must throw the error class listed in RAISES (a parameter CaImAn
 *   cannot use → InvalidParameterError, a trace it cannot deconvolve → DeconvolutionError);
 * - KNOWN_EXCEPTIONS lists, with the reason, every case where we differ from CaImAn on purpose.
 * The suite prints every failing id and requires every case to pass.
 */
import { expect, it } from 'vitest';
import { decodeCase } from '../../lib/deconvolution/cases.js';
import { constrainedFoopsi } from '../../lib/deconvolution/constrainedFoopsi.js';
import type { FoopsiResult } from '../../lib/deconvolution/types.js';
import { DeconvolutionError, InvalidParameterError } from '../../lib/errors.js';
import {
  ARRAY_ATOL,
  ARRAY_RTOL,
  type GoldenCase,
  type GoldenNumber,
  goldenNumber,
} from '../helpers/golden.js';
import { correlation, maxAbs } from '../helpers/numeric.js';
import { describeShared, readGolden } from '../helpers/shared.js';

const FILES = [
  'oasis_p1.json',
  'oasis_p2.json',
  'estimation.json',
  'edge_cases.json',
  'ideas_samples.json',
];

/** Returns a description of the first mismatch, or null when the arrays agree. */
function compareArray(name: string, got: ArrayLike<number>, exp: GoldenNumber[]): string | null {
  if (got.length !== exp.length) return `${name}: length ${got.length} vs ${exp.length}`;
  const e = exp.map(goldenNumber);
  const tol = ARRAY_RTOL * maxAbs(e) + ARRAY_ATOL;
  for (let i = 0; i < e.length; i++) {
    const a = got[i];
    const b = e[i];
    if (Number.isNaN(b) || Number.isNaN(a)) {
      if (Number.isNaN(a) !== Number.isNaN(b)) return `${name}[${i}]: ${a} vs ${b}`;
      continue;
    }
    if (!(Math.abs(a - b) <= tol))
      return `${name}[${i}]: ${a} vs ${b} (tol ${tol.toExponential(2)})`;
  }
  return null;
}

function compareScalar(
  name: string,
  a: number,
  b: number,
  rel: number,
  absFloor: number,
): string | null {
  if (Number.isNaN(a) || Number.isNaN(b))
    return Number.isNaN(a) === Number.isNaN(b) ? null : `${name}: ${a} vs ${b}`;
  if (!Number.isFinite(b)) return a === b ? null : `${name}: ${a} vs ${b}`;
  return Math.abs(a - b) <= rel * Math.abs(b) + absFloor ? null : `${name}: ${a} vs ${b}`;
}

type ErrorClass = typeof InvalidParameterError | typeof DeconvolutionError;

/** Where CaImAn raises, the error we throw instead (any other throw fails the case). */
const RAISES: Record<string, ErrorClass> = {
  'g_given/p2_g_complex_roots': DeconvolutionError, // math domain error: AR(2) needs real roots
  'g_given/p2_g_one_value': InvalidParameterError, // IndexError: one coefficient for p = 2
  'noise/logmexp_empty_range': DeconvolutionError, // LinAlgError: no Welch bin in the band
  'noise/logmexp_reversed_range': DeconvolutionError,
  'noise/bad_method': InvalidParameterError, // KeyError 'max'
  'edge/constant5_T100_p2': DeconvolutionError, // math domain error: a constant trace's g = [0, 0]
  'edge/constant0_T100_p2': DeconvolutionError,
  'edge/constant-3_T50_p2': DeconvolutionError,
  'edge/constant1000_T300_p2': DeconvolutionError,
  'edge/short_T1_auto': DeconvolutionError, // IndexError: too short for lags = 5
  'edge/short_T2_auto': DeconvolutionError,
  'edge/short_T3_p2_gsn_given': DeconvolutionError, // empty decimated trace
  'edge/short_T4_auto': DeconvolutionError, // LinAlgError: no Welch bin
  'edge/short_T4_p2_gsn_given': DeconvolutionError,
  'branches/p3_oasis': InvalidParameterError,
  'branches/pNone': InvalidParameterError,
  'branches/method_unknown': InvalidParameterError,
  'branches/method_cvx_picos': InvalidParameterError,
};

/**
 * Where CaImAn returns a result and we refuse on purpose (README "Where we differ"): the error
 * class and parameter we throw, and why.
 */
const KNOWN_EXCEPTIONS: Record<string, { error: ErrorClass; parameter: string; why: string }> = {
  'g_given/p1_g_two_values': {
    error: InvalidParameterError,
    parameter: 'g',
    why: 'p = 1 given [1.7, −0.71]: CaImAn uses 1.7 alone and returns NaN in c and sp',
  },
  'g_given/p1_g1.0': {
    error: InvalidParameterError,
    parameter: 'g',
    why: 'g = 1 does not decay: CaImAn returns bl = NaN and lam = NaN',
  },
  'g_given/p1_g1.05': {
    error: InvalidParameterError,
    parameter: 'g',
    why: 'g = 1.05 grows: CaImAn returns a finite fit of an exploding kernel (lam 993)',
  },
};

/**
 * optimize_g cases whose g differs from CaImAn's by more than 1e-6 (ours vs CaImAn's): there the
 * noise gradient of the float32 objective moves g differently (ours: move, CaImAn: stay, or both
 * move elsewhere), which no port of the optimiser can fix.
 */
const G_NOISE_DRIVEN: Record<string, string> = {
  'optimize_g/p1_og3_gsn_given': '0.90301 vs 0.90109',
  'optimize_g/p1_og1_sn0.5_T3000': '0.86510 vs 0.91273 (CaImAn keeps the estimate)',
  'ideas_sample/cellset_series_part1_C0_p1_og1': '0.66713 vs 0.67094',
  'ideas_sample/cellset_series_part1_C1_p1_og1': '0.65107 vs 0.72286 (CaImAn keeps the estimate)',
};

const isOptimizeG = (c: GoldenCase) => {
  const og = c.params.optimize_g;
  return og === true || (typeof og === 'number' && og > 0);
};

/** Checks one case; returns null when it passes, else why it fails. */
function check(c: GoldenCase): string | null {
  const decoded = decodeCase(c, 0);
  let r: FoopsiResult;
  try {
    r = constrainedFoopsi(decoded.trace, decoded.params);
  } catch (err) {
    const known = KNOWN_EXCEPTIONS[c.id];
    const wanted = known?.error ?? RAISES[c.id];
    const thrown = `${(err as Error).name}: ${(err as Error).message}`;
    if (c.expected.ok && !known) return `threw ${thrown}`;
    if (!wanted) return `CaImAn raises here, but the case has no RAISES entry; we threw ${thrown}`;
    if (!(err instanceof wanted)) return `expected ${wanted.name}, threw ${thrown}`;
    if (known && (err as InvalidParameterError).parameter !== known.parameter)
      return `expected an error naming ${known.parameter}, threw ${thrown}`;
    return null;
  }
  if (KNOWN_EXCEPTIONS[c.id])
    return `expected our refusal (${KNOWN_EXCEPTIONS[c.id].why}), got a result`;
  if (!c.expected.ok) return `expected CaImAn's ${c.expected.error?.type}, got a result`;
  const exp = c.expected;
  const expC = (exp.c ?? []).map(goldenNumber);
  const scale = Math.max(1, maxAbs(Float64Array.from(decoded.trace)));
  if (isOptimizeG(c)) {
    // AR(1): g ∈ [0.001, 0.999]; AR(2): real roots 0 < r ≤ d < 1 (§5.3, §6.2 step 3).
    const [g1, g2 = 0] = r.g;
    const disc = Math.sqrt(g1 * g1 + 4 * g2);
    const d = (g1 + disc) / 2;
    const rr = (g1 - disc) / 2;
    const stable = r.g.length === 1 ? g1 >= 0.001 && g1 <= 0.999 : rr > 0 && rr <= d && d < 1;
    if (!stable)
      return `optimize_g: g ${r.g} is not a stable AR(${r.g.length}) with positive roots`;
    const corr = correlation(r.c, expC);
    if (!(corr > 0.98)) return `optimize_g: corr(c) ${corr.toFixed(4)} ≤ 0.98`;
    if (c.id in G_NOISE_DRIVEN) return null;
    const expG = Array.isArray(exp.g) ? exp.g.map(goldenNumber) : [goldenNumber(exp.g)];
    const issues = expG.map((e, i) => compareScalar(`optimize_g: g[${i}]`, r.g[i], e, 1e-6, 0));
    return issues.find((m) => m !== null) ?? null;
  }
  const expG = Array.isArray(exp.g)
    ? exp.g.map(goldenNumber)
    : [goldenNumber(exp.g as GoldenNumber)];
  const issues = [
    compareArray('c', r.c, exp.c ?? []),
    compareArray('sp', r.sp, exp.sp ?? []),
    compareScalar('bl', r.bl, goldenNumber(exp.bl), 1e-5, 1e-6 * scale),
    compareScalar('c1', r.c1, goldenNumber(exp.c1), 0, ARRAY_RTOL * maxAbs(expC) + ARRAY_ATOL),
    compareScalar('sn', r.sn, goldenNumber(exp.sn), 1e-5, 1e-7),
    ...expG.map((g, i) => compareScalar(`g[${i}]`, r.g[i] ?? Number.NaN, g, 1e-5, 1e-6)),
    exp.lam === null || exp.lam === undefined
      ? r.lam === null
        ? null
        : `lam: ${r.lam} vs null`
      : compareScalar('lam', r.lam ?? Number.NaN, goldenNumber(exp.lam), 1e-3, 1e-6 * scale),
  ].filter((x) => x !== null);
  return issues.length === 0 ? null : issues.join('; ');
}

describeShared('constrainedFoopsi matches CaImAn on the golden cases', () => {
  const cases: GoldenCase[] = FILES.flatMap((f) =>
    readGolden<{ cases: GoldenCase[] }>(f).cases.filter(
      (c) => c.params.method_deconvolution !== 'cvxpy',
    ),
  );

  it('passes every non-cvxpy case (RAISES and KNOWN_EXCEPTIONS included)', () => {
    // Prepare
    const failures: string[] = [];
    // Act
    for (const c of cases) {
      const why = check(c);
      if (why !== null) failures.push(`${c.id}: ${why}`);
    }
    // Assess
    const passRate = 1 - failures.length / cases.length;
    console.info(
      `constrainedFoopsi golden parity: ${cases.length - failures.length}/${cases.length} cases pass ` +
        `(${(100 * passRate).toFixed(1)} %)${failures.length ? `\n  failing:\n  ${failures.join('\n  ')}` : ''}`,
    );
    expect(cases.length).toBeGreaterThan(200);
    expect(failures).toEqual([]);
  });

  it('throws the listed error class in every case where CaImAn raises', () => {
    const raising = cases.filter((c) => !c.expected.ok);
    const silent = raising.filter((c) => check(c) !== null).map((c) => c.id);
    expect(raising.map((c) => c.id).sort()).toEqual(Object.keys(RAISES).sort());
    expect(silent).toEqual([]);
  });
});
