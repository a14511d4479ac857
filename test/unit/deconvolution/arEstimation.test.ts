import { describe, expect, it } from 'vitest';
import {
  autocovarianceLength,
  circularAutocovariance,
  estimateParameters,
  estimateTimeConstant,
} from '../../../lib/deconvolution/arEstimation.js';
import { legacyRandomState } from '../../../lib/deconvolution/legacyRandom.js';
import {
  arRoots,
  lstsqMinNorm,
  pairwiseSum,
  polyFromRoots,
} from '../../../lib/deconvolution/linalg.js';
import { DeconvolutionError, InvalidParameterError } from '../../../lib/errors.js';
import { genData } from '../../helpers/genData.js';
import {
  GOLDEN_FILES,
  type GoldenNumber,
  goldenNumber,
  goldenTrace,
} from '../../helpers/golden.js';
import { describeShared, readGolden } from '../../helpers/shared.js';

interface GoldenCase {
  id: string;
  dtype: 'float32' | 'float64';
  trace: GoldenNumber[];
  params: {
    p: number | null;
    g: number[] | null;
    sn: number | null;
    noise_range: [number, number];
    noise_method: string;
    lags: number;
    fudge_factor: number;
  };
  expected: { estimate?: { g?: GoldenNumber[]; sn?: GoldenNumber; error?: unknown } };
}

function goldenEstimationCases(): GoldenCase[] {
  return GOLDEN_FILES.flatMap((file) =>
    readGolden<{ cases: GoldenCase[] }>(file).cases.filter(
      (c) => c.expected.estimate !== undefined,
    ),
  );
}

/** |a − b| ≤ rel·|b| + abs, with NaN equal to NaN. */
function near(actual: number, expected: number, rel: number, abs: number): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  return Math.abs(actual - expected) <= rel * Math.abs(expected) + abs;
}

function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** y_t = −0.8·y_{t−1} − 0.15·y_{t−2} + e_t: AR(2) with roots −0.5 and −0.3. */
function negativeRootTrace(): Float64Array {
  const rng = legacyRandomState(8);
  const y = new Float64Array(2000);
  for (let t = 0; t < y.length; t++) {
    y[t] = (t > 0 ? -0.8 * y[t - 1] : 0) + (t > 1 ? -0.15 * y[t - 2] : 0) + rng.standardNormal();
  }
  return y;
}

describe('linalg helpers', () => {
  it('solves a full-rank least-squares problem like the normal equations', () => {
    // Prepare: A = [[1,0],[1,1],[1,2]], b = [1,2,4] → x = (5/6, 3/2)
    const a = Float64Array.from([1, 0, 1, 1, 1, 2]);
    const b = Float64Array.from([1, 2, 4]);
    // Act
    const x = lstsqMinNorm(a, 3, 2, b);
    // Assess
    expect(x[0]).toBeCloseTo(5 / 6, 14);
    expect(x[1]).toBeCloseTo(3 / 2, 14);
  });

  it('returns the minimum-norm solution of a rank-deficient system, and 0 for A = 0', () => {
    // Prepare: two equal columns, so x₁ + x₂ = 2 with the least norm x = (1, 1)
    const a = Float64Array.from([1, 1, 2, 2, 3, 3]);
    const b = Float64Array.from([2, 4, 6]);
    // Act
    const x = lstsqMinNorm(a, 3, 2, b);
    const zero = lstsqMinNorm(new Float64Array(6), 3, 2, b);
    // Assess
    expect(x[0]).toBeCloseTo(1, 12);
    expect(x[1]).toBeCloseTo(1, 12);
    expect(Array.from(zero)).toEqual([0, 0]);
  });

  it('finds the roots of z^p − g₁z^{p−1} − … − g_p and expands them back', () => {
    // Prepare: roots 0.9, 0.5, −0.2 → z³ − 1.2z² + 0.17z + 0.09
    const g = Float64Array.from([1.2, -0.17, -0.09]);
    // Act
    const roots = arRoots(g);
    const coef = polyFromRoots(roots.re);
    // Assess
    const sorted = Array.from(roots.re).sort((u, v) => u - v);
    for (const [i, r] of [-0.2, 0.5, 0.9].entries()) expect(sorted[i]).toBeCloseTo(r, 12);
    expect(Array.from(roots.im).every((v) => Math.abs(v) < 1e-12)).toBe(true);
    for (const [i, c] of [1, -1.2, 0.17, 0.09].entries()) expect(coef[i]).toBeCloseTo(c, 12);
  });

  it('gives the complex AR(2) pair a common real part g₁/2', () => {
    // Act: z² − z + 0.5 has roots 0.5 ± 0.5i
    const roots = arRoots(Float64Array.from([1, -0.5]));
    // Assess
    expect(Array.from(roots.re)).toEqual([0.5, 0.5]);
    expect(Math.abs(roots.im[0])).toBeCloseTo(0.5, 15);
  });
});

describe('circularAutocovariance', () => {
  it('gives the biased linear autocovariance of the centred trace, by direct sums and by FFT', () => {
    // Prepare
    const { y } = genData({ g: [0.9], sn: 0.2, T: 700, b: 1, firerate: 1, framerate: 30, seed: 5 });
    const trace = y[0];
    let mean = 0;
    for (let t = 0; t < trace.length; t++) mean += trace[t] / trace.length;
    const centred = trace.map((v) => v - mean);
    // Act
    const direct = circularAutocovariance(trace, 6);
    const viaFft = circularAutocovariance(trace, 300);
    // Assess
    for (let k = 0; k <= 6; k++) {
      let sum = 0;
      for (let t = 0; t + k < centred.length; t++) sum += centred[t] * centred[t + k];
      expect(direct[k]).toBeCloseTo(sum / centred.length, 13);
      expect(viaFft[k]).toBeCloseTo(direct[k], 12);
    }
  });

  it.each([1, 6, 7, 12])(
    'accumulates each direct lag sum in frame order, bit for bit (maxLag = %i, float32)',
    (maxLag) => {
      // Prepare: numpy's float32 centring x_t = fl32(y_t − fl32(mean)), mean by pairwise sum
      const { y } = genData({
        g: [0.9],
        sn: 0.3,
        T: 500,
        b: 10,
        firerate: 1,
        framerate: 30,
        seed: 8,
      });
      const trace = Float32Array.from(y[0]);
      const mean = Math.fround(pairwiseSum(trace, 0, trace.length, true) / trace.length);
      const x = Float64Array.from(trace, (v) => Math.fround(v - mean));
      // Act
      const gamma = circularAutocovariance(trace, maxLag);
      // Assess: every lag is the t-order sum Σ x_t·x_{t+k} over T
      for (let k = 0; k <= maxLag; k++) {
        let sum = 0;
        for (let t = 0; t + k < x.length; t++) sum += x[t] * x[t + k];
        expect(gamma[k]).toBe(sum / trace.length);
      }
    },
  );

  it('reads circular indices of the length-N buffer for tiny traces (T = 3, N = 8)', () => {
    // Prepare
    const x = Float64Array.from([1, -2, 1]);
    // Act
    const gamma = circularAutocovariance(x, 7);
    // Assess: lags 0…2 linear, 3…5 zero, 6 and 7 alias lags 2 and 1
    expect(autocovarianceLength(3)).toBe(8);
    const expected = [6 / 3, -4 / 3, 1 / 3, 0, 0, 0, 1 / 3, -4 / 3];
    for (let k = 0; k < 8; k++) expect(gamma[k]).toBeCloseTo(expected[k], 14);
  });
});

describe('estimateTimeConstant', () => {
  it('recovers an AR(1) decay from generated data (fudge 1)', () => {
    // Prepare
    const { y } = genData({
      g: [0.95],
      sn: 0.1,
      T: 20_000,
      b: 2,
      firerate: 2,
      framerate: 30,
      seed: 9,
    });
    // Act
    const g = estimateTimeConstant(y[0], 1, 0.1, 5, 1);
    // Assess
    expect(g).toHaveLength(1);
    expect(g[0]).toBeGreaterThan(0.93);
    expect(g[0]).toBeLessThan(0.97);
  });

  it('returns −0 for a constant trace (singular system, min-norm g = 0)', () => {
    // Prepare
    const y = new Float32Array(100).fill(5);
    // Act
    const g1 = estimateTimeConstant(y, 1, 0, 5, 0.96);
    const g2 = estimateTimeConstant(y, 2, 0, 5, 0.96);
    // Assess
    expect(Object.is(g1[0], -0)).toBe(true);
    expect(Object.is(g2[0], -0) && Object.is(g2[1], -0)).toBe(true);
  });

  it('replaces two negative AR(2) roots by the seed-45 constants (§3.6)', () => {
    // Prepare
    const y = negativeRootTrace();
    // Act
    const g = estimateTimeConstant(y, 2, 0.1, 5, 0.96);
    // Assess
    expect(g[0]).toBeCloseTo(0.96 * (0.1502637477284956 + 0.1526032170142265), 14);
    expect(g[1]).toBeCloseTo(-(0.96 ** 2) * 0.1502637477284956 * 0.1526032170142265, 14);
  });

  it.each([1, 2])('throws DeconvolutionError TraceTooShort for T = %i with lags 5', (frames) => {
    // Act
    const error = thrown(() =>
      estimateTimeConstant(new Float32Array(frames).fill(1), 1, 0.1, 5, 0.96),
    );
    // Assess
    expect(error).toBeInstanceOf(DeconvolutionError);
    expect((error as DeconvolutionError).code).toBe('TraceTooShort');
  });

  it('throws DeconvolutionError NonFiniteEstimate for a NaN sn', () => {
    // Act
    const error = thrown(() =>
      estimateTimeConstant(Float64Array.from([1, 2, 3, 2, 1, 2, 3, 2, 1]), 1, Number.NaN, 5, 1),
    );
    // Assess
    expect(error).toBeInstanceOf(DeconvolutionError);
    expect((error as DeconvolutionError).code).toBe('NonFiniteEstimate');
  });

  it.each([
    ['p', 0, 5],
    ['lags', 1, -1],
    ['lags', 1, 2.5],
  ] as const)('rejects a bad %s with InvalidParameterError', (parameter, p, lags) => {
    // Act
    const error = thrown(() => estimateTimeConstant(new Float64Array(50).fill(1), p, 0.1, lags, 1));
    // Assess
    expect(error).toBeInstanceOf(InvalidParameterError);
    expect((error as InvalidParameterError).parameter).toBe(parameter);
  });
});

describe('estimateParameters', () => {
  it('keeps given values, and gives g = [0] for p = 0', () => {
    // Prepare
    const { y } = genData({ g: [0.9], sn: 0.2, T: 500, b: 1, firerate: 1, framerate: 30, seed: 6 });
    // Act
    const given = estimateParameters(y[0], 1, 0.25, [0.8], [0.25, 0.5], 'logmexp', 5, 0.96);
    const p0 = estimateParameters(y[0], 0, null, null, [0.25, 0.5], 'logmexp', 5, 0.96);
    // Assess
    expect(given.sn).toBe(0.25);
    expect(Array.from(given.g)).toEqual([0.8]);
    expect(Array.from(p0.g)).toEqual([0]);
    expect(p0.sn).toBeGreaterThan(0.1);
  });

  it('throws DeconvolutionError EmptyNoiseBand when the band holds no Welch bin', () => {
    // Prepare
    const { y } = genData({ g: [0.9], sn: 0.2, T: 500, b: 1, firerate: 1, framerate: 30, seed: 6 });
    // Act
    const error = thrown(() =>
      estimateParameters(y[0], 1, null, null, [0.5, 0.6], 'logmexp', 5, 0.96),
    );
    // Assess
    expect(error).toBeInstanceOf(DeconvolutionError);
    expect((error as DeconvolutionError).code).toBe('EmptyNoiseBand');
  });
});

describeShared('parameter estimation against the CaImAn goldens', () => {
  it('matches estimate.sn and estimate.g of every golden case, and throws where CaImAn raises', () => {
    // Prepare
    const cases = goldenEstimationCases();
    const failures: string[] = [];
    let raising = 0;
    for (const c of cases) {
      const estimate = c.expected.estimate!;
      const P = c.params;
      // Act
      let result: { g: Float64Array; sn: number } | undefined;
      let error: unknown;
      try {
        result = estimateParameters(
          goldenTrace(c),
          P.p ?? 1,
          P.sn,
          P.g,
          P.noise_range,
          P.noise_method,
          P.lags,
          P.fudge_factor,
        );
      } catch (e) {
        error = e;
      }
      // Assess (collected, so that every failing id is printed)
      if (estimate.error !== undefined) {
        raising++;
        const ours = error instanceof DeconvolutionError || error instanceof InvalidParameterError;
        if (!ours)
          failures.push(
            `${c.id}: expected a DeconvolutionError/InvalidParameterError, got ${String(error)}`,
          );
        continue;
      }
      if (result === undefined) {
        failures.push(`${c.id}: threw ${String(error)}`);
        continue;
      }
      const sn = goldenNumber(estimate.sn!);
      const g = estimate.g!.map(goldenNumber);
      // Tolerances of the brief: sn relative 1e-5 (1e-7 absolute), g relative 1e-5 (1e-6 absolute).
      if (!near(result.sn, sn, 1e-5, 1e-7)) failures.push(`${c.id}: sn ${result.sn} vs ${sn}`);
      const gOk =
        result.g.length === g.length && g.every((v, i) => near(result!.g[i], v, 1e-5, 1e-6));
      if (!gOk) failures.push(`${c.id}: g [${Array.from(result.g)}] vs [${g}]`);
    }
    expect(cases.length).toBeGreaterThan(200);
    expect(raising).toBe(6);
    expect(failures).toEqual([]);
  });

  it('reproduces estimate.g to 1e-7 relative from the golden sn (float32 PSD noise removed)', () => {
    // Prepare
    const cases = goldenEstimationCases().filter(
      (c) =>
        c.expected.estimate!.error === undefined && c.params.g === null && (c.params.p ?? 1) > 0,
    );
    const failures: string[] = [];
    for (const c of cases) {
      const P = c.params;
      const expected = c.expected.estimate!.g!.map(goldenNumber);
      // Act
      const g = estimateTimeConstant(
        goldenTrace(c),
        P.p ?? 1,
        goldenNumber(c.expected.estimate!.sn!),
        P.lags,
        P.fudge_factor,
      );
      // Assess
      if (!expected.every((v, i) => near(g[i], v, 1e-7, 1e-9)))
        failures.push(`${c.id}: [${Array.from(g)}] vs [${expected}]`);
    }
    expect(cases.length).toBeGreaterThan(150);
    expect(failures).toEqual([]);
  });
});
