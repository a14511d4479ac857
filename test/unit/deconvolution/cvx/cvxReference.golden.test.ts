/**
 * Parity of cvxpyFoopsi with ../shared/golden/cvx_reference.json (cvxopt conelp on the same
 * SOCP, tolerances 1e-8; README "cvx reference"). g and sn come from the params or from
 * `expected.estimate`.
 * - primary: c and sp within 1e-4·max|expected| + 1e-6, bl and c1 within 1e-5 (abs/rel);
 *   degenerate primaries (optimal Σ(Gc) ≈ 0, where b and c1 trade off) by objective and
 *   constraints only;
 * - fallback: objective ‖y − c − b − c1·dᵗ‖ + (sn/500)·Σ(Gc) and constraints within 1e-5;
 * - `cvx/p1_g_list_raises` (CaImAn's crash on a list g) is not reproduced: it must give the
 *   answer of the identical `cvx/p1_g_ndarray_sn` case;
 * - `cvx/p0` belongs to constrainedFoopsi (p = 0 never reaches the method).
 */
import { expect, it } from 'vitest';
import { cvxpyFoopsi } from '../../../../lib/deconvolution/cvx/cvxpyFoopsi.js';
import { dominantRoot } from '../../../../lib/deconvolution/cvx/problem.js';
import { describeShared, readGolden } from '../../../helpers/shared.js';
import { maxAbs, maxAbsDiff } from './fixtures.js';

interface CvxCase {
  id: string;
  trace: number[];
  params: {
    bl: number | null;
    c1: number | null;
    g: number[] | null;
    sn: number | null;
    p: number | null;
    bas_nonneg: boolean;
  };
  expected: {
    ok: boolean;
    c?: number[];
    sp?: number[];
    bl?: number;
    c1?: number;
    estimate?: { g: number[]; sn: number };
    cvx_reference?: { status: string; problem?: 'primary' | 'fallback' | 'none' };
  };
}

const cases = (): CvxCase[] => readGolden<{ cases: CvxCase[] }>('cvx_reference.json').cases;

function run(k: CvxCase) {
  const g = k.params.g ?? k.expected.estimate?.g ?? [];
  const sn = k.params.sn ?? k.expected.estimate?.sn ?? Number.NaN;
  const y = Float64Array.from(k.trace);
  const r = cvxpyFoopsi(y, g, sn, {
    bl: k.params.bl,
    c1: k.params.c1,
    basNonneg: k.params.bas_nonneg,
    solvers: ['ECOS', 'SCS'],
  });
  return { y, g, sn, r };
}

/** Objective pieces and constraint violations of (c, sp, b, c1) for the case. */
function assess(
  k: CvxCase,
  y: Float64Array,
  g: number[],
  sn: number,
  c: ArrayLike<number>,
  sp: ArrayLike<number>,
  b: number,
  c1: number,
) {
  const [d] = dominantRoot(Float64Array.from(g));
  let rr = 0;
  let sum = 0;
  let minSp = 0;
  let dt = 1;
  for (let t = 0; t < y.length; t++) {
    const v = y[t] - c[t] - b - c1 * dt;
    dt *= d;
    rr += v * v;
    sum += sp[t];
    minSp = Math.min(minSp, sp[t]);
  }
  const norm = Math.sqrt(rr);
  const bLb = k.params.bas_nonneg ? 0 : Math.min(...y);
  return { norm, sum, fallbackObjective: norm + (sn / 500) * sum, minSp, bLb };
}

describeShared('cvxpy method vs cvx_reference.json', () => {
  const all = cases();
  const solved = all.filter(
    (k) => k.expected.ok && k.params.p !== 0 && k.expected.cvx_reference?.problem !== undefined,
  );

  it('has the 22 documented cases, 20 of them solved by the method', () => {
    expect(all).toHaveLength(22);
    expect(solved).toHaveLength(20);
  });

  it.each(solved.map((k) => [k.id, k] as const))('%s', (_id, k) => {
    // Act
    const { y, g, sn, r } = run(k);
    // Assess
    const e = k.expected;
    const ec = e.c as number[];
    const esp = e.sp as number[];
    expect(r.problem).toBe(e.cvx_reference?.problem);
    const mine = assess(k, y, g, sn, r.c, r.sp, r.bl, r.c1);
    const ref = assess(k, y, g, sn, ec, esp, e.bl as number, e.c1 as number);
    const scale = Math.max(1, maxAbs(y));
    expect(mine.minSp).toBeGreaterThan(-1e-6 * Math.max(1, maxAbs(esp)));
    if (k.params.bl === null) expect(r.bl).toBeGreaterThan(mine.bLb - 1e-6 * scale);
    if (k.params.c1 === null) expect(r.c1).toBeGreaterThan(-1e-6 * scale);
    if (r.problem === 'fallback') {
      expect(Math.abs(mine.fallbackObjective - ref.fallbackObjective)).toBeLessThan(
        1e-5 * Math.max(1, ref.fallbackObjective),
      );
      return;
    }
    const radius = sn * Math.sqrt(y.length);
    expect(mine.norm).toBeLessThan(radius * (1 + 1e-6) + 1e-9);
    if (ref.sum < 1e-6 * scale) {
      // degenerate: Σ(Gc) = 0 at the optimum, many (b, c1) are optimal
      expect(Math.abs(mine.sum)).toBeLessThan(1e-6 * scale);
      return;
    }
    expect(Math.abs(mine.sum - ref.sum)).toBeLessThan(1e-5 * ref.sum);
    expect(maxAbsDiff(r.c, ec)).toBeLessThan(1e-4 * maxAbs(ec) + 1e-6);
    expect(maxAbsDiff(r.sp, esp)).toBeLessThan(1e-4 * maxAbs(esp) + 1e-6);
    expect(Math.abs(r.bl - (e.bl as number))).toBeLessThan(
      1e-5 * Math.max(1, Math.abs(e.bl as number)),
    );
    expect(Math.abs(r.c1 - (e.c1 as number))).toBeLessThan(
      1e-5 * Math.max(1, Math.abs(e.c1 as number)),
    );
  });

  it('cvx/p1_g_list_raises: a list g works and equals the ndarray case', () => {
    const list = all.find((k) => k.id === 'cvx/p1_g_list_raises') as CvxCase;
    const nd = all.find((k) => k.id === 'cvx/p1_g_ndarray_sn') as CvxCase;
    expect(list.expected.ok).toBe(false);
    const { r } = run(list);
    expect(r.problem).toBe('primary');
    expect(maxAbsDiff(r.c, nd.expected.c as number[])).toBeLessThan(
      1e-4 * maxAbs(nd.expected.c as number[]) + 1e-6,
    );
  });
});
