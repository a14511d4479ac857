/**
 * Parity of constrainedOasisAr2 with CaImAn's `constrained_oasisAR2` on every p = 2 'oasis'
 * golden case (../shared/golden/README.md). g and sn come from the params or from
 * `expected.estimate`, so AR estimation is not under test here. Tolerances (README,
 * "Comparing"): arrays |Δ| ≤ 1e-4·max|expected| + 1e-6; bl relative 1e-5; lam relative 1e-3.
 * optimize_g cases are checked for plausibility only (corr(c) > 0.9), as the README advises.
 */
import { expect, it } from 'vitest';
import { constrainedOasisAr2 } from '../../../lib/deconvolution/oasisAr2.js';
import { DeconvolutionError } from '../../../lib/errors.js';
import {
  arrayToleranceRatio,
  type GoldenCase,
  type GoldenNumber,
  goldenNumber,
} from '../../helpers/golden.js';
import { correlation } from '../../helpers/numeric.js';
import { describeShared, readGolden } from '../../helpers/shared.js';

const FILES = ['oasis_p2.json', 'ideas_samples.json', 'edge_cases.json', 'estimation.json'];

/** Runs one case and returns a failure description, or null when it agrees. */
function runCase(kase: GoldenCase): string | null {
  const { params, expected } = kase;
  const g = params.g ?? expected.estimate?.g?.map(goldenNumber);
  const sn =
    params.sn ??
    (expected.estimate?.sn === undefined ? undefined : goldenNumber(expected.estimate.sn));
  if (!g || sn === undefined) return 'no g/sn';
  const T = kase.trace.length;
  const y = new Float32Array(T);
  const bl = params.bl;
  for (let t = 0; t < T; t++) {
    const v = goldenNumber(kase.trace[t]);
    if (bl === null) y[t] = v;
    else y[t] = kase.dtype === 'float32' ? Math.fround(v - Math.fround(bl)) : v - bl;
  }
  const optimizeG = bl === null ? Number(params.optimize_g) : 0;
  const run = () =>
    constrainedOasisAr2(y, g as [number, number], sn, {
      optimizeB: bl === null,
      bNonneg: params.bas_nonneg,
      optimizeG,
      penalty: params.s_min === null ? 1 : 0,
      sMin: params.s_min,
    });
  if (!expected.ok) {
    try {
      run();
    } catch (err) {
      return err instanceof DeconvolutionError ? null : `threw ${String(err)}`;
    }
    return 'expected an error, got a result';
  }
  const res = run();
  const c1 = res.c[0];
  const c = new Float64Array(T);
  for (let t = 0; t < T; t++) c[t] = Math.fround(res.c[t] - c1 * res.d ** t);
  if (optimizeG > 0) {
    const rc = correlation(c, (expected.c as GoldenNumber[]).map(goldenNumber));
    return rc > 0.9 ? null : `optimize_g corr(c) = ${rc}`;
  }
  const problems: string[] = [];
  const ec = arrayToleranceRatio(c, expected.c as GoldenNumber[]);
  const es = arrayToleranceRatio(res.s, expected.sp as GoldenNumber[]);
  tiers.push(Math.max(ec, es));
  if (ec > 1) problems.push(`c ×${ec.toPrecision(3)} of tol`);
  if (es > 1) problems.push(`sp ×${es.toPrecision(3)} of tol`);
  if (bl === null) {
    const eb = goldenNumber(expected.bl as GoldenNumber);
    if (Math.abs(res.b - eb) > 1e-5 * Math.abs(eb) + 1e-6) problems.push(`bl ${res.b} vs ${eb}`);
  }
  const el = goldenNumber(expected.lam as GoldenNumber);
  if (Math.abs(res.lam - el) > 1e-3 * Math.abs(el) + 1e-9) problems.push(`lam ${res.lam} vs ${el}`);
  return problems.length > 0 ? problems.join('; ') : null;
}

/** Worst array error per compared case, in units of the 1e-4 tolerance (0.1 = the 1e-5 tier). */
const tiers: number[] = [];

function loadCases(): GoldenCase[] {
  const cases: GoldenCase[] = [];
  for (const file of FILES) {
    const golden = readGolden<{ cases: GoldenCase[] }>(file);
    for (const k of golden.cases) {
      if (k.params.p === 2 && k.params.method_deconvolution === 'oasis') cases.push(k);
    }
  }
  return cases;
}

function isOptimizeG(k: GoldenCase): boolean {
  return k.params.bl === null && Number(k.params.optimize_g) > 0;
}

describeShared('constrainedOasisAr2 vs CaImAn goldens (p = 2)', () => {
  it('agrees on every p = 2 oasis case and raises where CaImAn raises', () => {
    // Prepare
    const cases = loadCases().filter((k) => !isOptimizeG(k));
    // Act
    const failures: string[] = [];
    for (const k of cases) {
      const why = runCase(k);
      if (why !== null) failures.push(`${k.id}: ${why}`);
    }
    // Assess
    const rate = 1 - failures.length / cases.length;
    console.info(
      `AR(2) golden parity: ${cases.length - failures.length}/${cases.length} (${(100 * rate).toFixed(1)} %)`,
    );
    const tight = tiers.filter((v) => v <= 0.1).length;
    console.info(`within the 1e-5 tier: ${tight}/${tiers.length} compared cases`);
    if (failures.length > 0) console.info(`failing:\n  ${failures.join('\n  ')}`);
    expect(cases.length).toBeGreaterThan(70);
    expect(failures).toEqual([]);
  });

  it('gives plausible optimize_g results (corr(c, expected) > 0.9)', () => {
    // Prepare
    const cases = loadCases().filter(isOptimizeG);
    // Act
    const failures: string[] = [];
    for (const k of cases) {
      const why = runCase(k);
      if (why !== null) failures.push(`${k.id}: ${why}`);
    }
    // Assess
    expect(cases.length).toBe(5);
    expect(failures).toEqual([]);
  });
});
