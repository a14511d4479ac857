/**
 * Parity of the AR(1) solver with CaImAn's `constrained_oasisAR1` on every golden p = 1 'oasis'
 * case that returns (shared/golden/README.md). The solver is fed as `constrained_foopsi` feeds it
 * (y = fl32(trace) or fl32(trace − bl), g = fl32(g₁), sn given or estimated) and the c1 removal
 * of §1 is applied here.
 *
 * Tolerances (README "Comparing"): arrays |Δ| ≤ 1e-4·max|expected| + 1e-6; bl relative 1e-5
 * (absolute 1e-6 near 0); λ relative 1e-3. Every non-optimize_g case must pass but those in
 * KNOWN_EXCEPTIONS (a float64 port reaches ~98.5 %; the float32 emulation closes the gap).
 * optimize_g cases are compared for plausibility only (g in bounds, corr(c) > 0.9), because
 * CaImAn's finite-difference L-BFGS-B on a float32 objective is not reproducible (§5.3).
 */
import { describe, expect, it } from 'vitest';
import { constrainedOasisAr1 } from '../../../lib/deconvolution/oasisAr1.js';
import { arrayToleranceRatio, type GoldenCase, goldenNumber } from '../../helpers/golden.js';
import { correlation } from '../../helpers/numeric.js';
import { describeShared, readGolden } from '../../helpers/shared.js';

interface GoldenFile {
  cases: GoldenCase[];
}

const FILES = ['oasis_p1.json', 'ideas_samples.json', 'edge_cases.json'];
/** The "typical" tier of the README, reported only. */
const TIGHT_RTOL = 1e-5;
const BL_RTOL = 1e-5;
const LAM_RTOL = 1e-3;
/** Cases the solver is not expected to reproduce, and why. */
const KNOWN_EXCEPTIONS: Record<string, string> = {
  // g = 1.7 explodes: CaImAn's float32 c overflows to NaN. constrainedFoopsi refuses this
  // input before the solver (test/golden KNOWN_EXCEPTIONS), so no user ever gets either.
  'g_given/p1_g_two_values': 'non-decaying kernel (CaImAn returns NaN)',
};

const f32 = Math.fround;

interface Outcome {
  c: Float64Array;
  s: Float64Array;
  b: number;
  g: number;
  lam: number;
}

/** Run the solver as constrained_foopsi does for p = 1, including the c1 removal (§1). */
function run(cs: GoldenCase): Outcome {
  const { params: p, expected: e } = cs;
  const g1 = p.g !== null ? p.g[0] : goldenNumber(e.estimate?.g?.[0] ?? 'NaN');
  const sn = p.sn !== null ? p.sn : goldenNumber(e.estimate?.sn ?? 'NaN');
  const T = cs.trace.length;
  const y = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const v = goldenNumber(cs.trace[t]);
    if (p.bl === null) y[t] = v;
    else y[t] = cs.dtype === 'float32' ? f32(v) - f32(p.bl) : v - p.bl;
  }
  const optimizeB = p.bl === null;
  const optimizeG = p.optimize_g === true ? 1 : Number(p.optimize_g);
  const res = constrainedOasisAr1(y, f32(g1), sn, {
    optimizeB,
    bNonneg: p.bas_nonneg,
    optimizeG: optimizeB ? optimizeG : 0,
    penalty: p.s_min === null ? 1 : 0,
    sMin: p.s_min ?? 0,
  });
  const c = Float64Array.from(res.c);
  const c1 = c[0];
  for (let t = 0; t < T; t++) c[t] = f32(c[t] - c1 * res.g ** t);
  return { c, s: res.s, b: res.b, g: res.g, lam: res.lam };
}

function scalarOk(got: number, expected: number, rtol: number, atol: number): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(got);
  return Math.abs(got - expected) <= rtol * Math.abs(expected) + atol;
}

function isP1Oasis(cs: GoldenCase): boolean {
  return cs.params.p === 1 && cs.params.method_deconvolution === 'oasis' && cs.expected.ok;
}

function isOptimizeG(cs: GoldenCase): boolean {
  const og = cs.params.optimize_g;
  return cs.params.bl === null && (og === true || Number(og) > 0);
}

describeShared('constrainedOasisAr1 against the CaImAn goldens (p = 1)', () => {
  const cases = FILES.flatMap((f) => readGolden<GoldenFile>(f).cases.filter(isP1Oasis));
  const parity = cases.filter((cs) => !isOptimizeG(cs) && !(cs.id in KNOWN_EXCEPTIONS));
  const plausible = cases.filter(isOptimizeG);

  it('reproduces c, sp, bl and λ in every parity case (KNOWN_EXCEPTIONS aside)', () => {
    // Prepare
    const failures: string[] = [];
    let tight = 0;
    // Act
    for (const cs of parity) {
      const e = cs.expected;
      const got = run(cs);
      const reasons: string[] = [];
      const dc = arrayToleranceRatio(got.c, e.c ?? []);
      const ds = arrayToleranceRatio(got.s, e.sp ?? []);
      if (arrayToleranceRatio(got.c, e.c ?? [], TIGHT_RTOL) <= 1) tight++;
      if (dc > 1) reasons.push(`c ×${dc.toPrecision(3)} of tol`);
      if (ds > 1) reasons.push(`sp ×${ds.toPrecision(3)} of tol`);
      const bl = goldenNumber(e.bl ?? 'NaN');
      if (cs.params.bl === null && !scalarOk(got.b, bl, BL_RTOL, 1e-6))
        reasons.push(`bl ${got.b} vs ${bl}`);
      const lam = goldenNumber(e.lam ?? 'NaN');
      if (!scalarOk(got.lam, lam, LAM_RTOL, 1e-9)) reasons.push(`lam ${got.lam} vs ${lam}`);
      if (reasons.length > 0) failures.push(`${cs.id}: ${reasons.join(', ')}`);
    }
    // Assess
    const rate = (parity.length - failures.length) / parity.length;
    console.info(
      `oasisAr1 golden parity: ${parity.length - failures.length}/${parity.length} ` +
        `(${(100 * rate).toFixed(1)} %), c within ${TIGHT_RTOL}: ${tight}/${parity.length}` +
        `${failures.length ? `; failing:\n  ${failures.join('\n  ')}` : ''}`,
    );
    expect(parity.length).toBeGreaterThanOrEqual(100);
    expect(cases.filter((cs) => cs.id in KNOWN_EXCEPTIONS)).toHaveLength(1);
    expect(failures).toEqual([]);
  });

  describe('optimize_g cases (plausibility)', () => {
    for (const cs of plausible) {
      it(`${cs.id}: g within [0.001, 0.999] and corr(c, expected c) > 0.9`, () => {
        // Act
        const got = run(cs);
        // Assess
        expect(got.g).toBeGreaterThanOrEqual(0.001);
        expect(got.g).toBeLessThanOrEqual(0.999);
        expect(correlation(got.c, (cs.expected.c ?? []).map(goldenNumber))).toBeGreaterThan(0.9);
      });
    }
  });
});
