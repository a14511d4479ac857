import { describe, expect, it } from 'vitest';
import { legacyRandomState } from '../../../lib/deconvolution/legacyRandom.js';
import { getSn, noiseBandBins, validSamples } from '../../../lib/deconvolution/noise.js';
import { welchPsd } from '../../../lib/deconvolution/welch.js';
import { InvalidParameterError } from '../../../lib/errors.js';
import { GOLDEN_FILES, type GoldenNumber, goldenNumber } from '../../helpers/golden.js';
import { describeShared, readGolden } from '../../helpers/shared.js';

interface GoldenCase {
  id: string;
  dtype: 'float32' | 'float64';
  trace: GoldenNumber[];
  params: { noise_range: [number, number]; noise_method: string; sn: number | null };
  expected: { estimate?: { sn?: GoldenNumber; error?: unknown } };
}

function whiteNoise(n: number, sigma: number, seed: number): Float64Array {
  const rng = legacyRandomState(seed);
  const y = new Float64Array(n);
  rng.fillNormal(y);
  for (let t = 0; t < n; t++) y[t] = 5 + sigma * y[t];
  return y;
}

describe('welchPsd', () => {
  it('integrates to the variance of white noise (one-sided density, fs = 1)', () => {
    // Prepare
    const y = whiteNoise(20_000, 0.7, 11);
    // Act
    const psd = welchPsd(y);
    // Assess: ∫P df over [0, 0.5] ≈ σ², with bin width 1/256
    let integral = 0;
    for (let j = 0; j < psd.length; j++) integral += psd[j] / 256;
    expect(psd).toHaveLength(129);
    expect(integral).toBeCloseTo(0.49, 1);
  });

  it('is the Hann-windowed, detrended periodogram of the single segment when T < 256', () => {
    // Prepare
    const T = 101;
    const y = whiteNoise(T, 1, 12);
    let mean = 0;
    for (let t = 0; t < T; t++) mean += y[t] / T;
    const w = Array.from({ length: T }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / T));
    const energy = w.reduce((acc, v) => acc + v * v, 0);
    // Act
    const psd = welchPsd(y);
    // Assess: P_j = c_j·|Σ w_n (y_n − ȳ) e^{−2πijn/T}|² / Σw², c_0 = 1, else 2 (odd T)
    expect(psd).toHaveLength(51);
    for (const j of [0, 1, 25, 50]) {
      let re = 0;
      let im = 0;
      for (let n = 0; n < T; n++) {
        const angle = (-2 * Math.PI * ((j * n) % T)) / T;
        re += w[n] * (y[n] - mean) * Math.cos(angle);
        im += w[n] * (y[n] - mean) * Math.sin(angle);
      }
      const expected = ((j === 0 ? 1 : 2) * (re * re + im * im)) / energy;
      expect(psd[j]).toBeCloseTo(expected, 10);
    }
  });
});

/** scipy `signal.welch` defaults (fs = 1) by the definition, segment by segment. */
function referenceWelch(y: Float32Array | Float64Array): Float64Array {
  const T = y.length;
  const L = Math.min(256, T);
  const step = L - Math.floor(L / 2);
  const K = Math.floor((T - Math.floor(L / 2)) / step);
  const w =
    L === 1
      ? [1]
      : Array.from({ length: L }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / L));
  const energy = w.reduce((acc, v) => acc + v * v, 0);
  const bins = Math.floor(L / 2) + 1;
  const psd = new Float64Array(bins);
  for (let k = 0; k < K; k++) {
    let mean = 0;
    for (let n = 0; n < L; n++) mean += y[k * step + n];
    mean /= L;
    for (let j = 0; j < bins; j++) {
      let re = 0;
      let im = 0;
      for (let n = 0; n < L; n++) {
        const angle = (-2 * Math.PI * ((j * n) % L)) / L;
        re += w[n] * (y[k * step + n] - mean) * Math.cos(angle);
        im += w[n] * (y[k * step + n] - mean) * Math.sin(angle);
      }
      const factor = j === 0 || (L % 2 === 0 && j === bins - 1) ? 1 : 2;
      psd[j] += (factor * (re * re + im * im)) / (energy * K);
    }
  }
  return psd;
}

describe('welchPsd against the definition', () => {
  it.each([1, 2, 5, 64, 255, 256, 300, 384, 512, 640, 1000])(
    'agrees within 1e-12 of the largest bin for T = %i, float64 and float32',
    (T) => {
      // Prepare: offset noise with a slow ramp, so the detrend matters
      const base = whiteNoise(T, 0.5, 30 + T).map((v, t) => v + 0.01 * t);
      for (const y of [base, Float32Array.from(base)]) {
        const expected = referenceWelch(y);
        // Act
        const psd = welchPsd(y);
        // Assess
        expect(psd).toHaveLength(expected.length);
        const scale = Math.max(...expected);
        for (let j = 0; j < expected.length; j++) {
          expect(Math.abs(psd[j] - expected[j])).toBeLessThanOrEqual(1e-12 * scale);
        }
      }
    },
  );
});

describe('getSn', () => {
  it.each(['mean', 'median', 'logmexp'])('estimates σ of white noise with %s', (method) => {
    // Prepare
    const y = whiteNoise(50_000, 0.3, 21);
    // Act
    const sn = getSn(y, [0.25, 0.5], method);
    // Assess: ~390 averaged segments make P/2 ≈ σ² in every bin, so all averages agree
    expect(sn).toBeGreaterThan(0.3 * 0.97);
    expect(sn).toBeLessThan(0.3 * 1.03);
  });

  it('returns 0 for a constant trace with every method', () => {
    // Prepare
    const y = new Float32Array(300).fill(1000);
    // Act
    const values = ['mean', 'median', 'logmexp'].map((m) => getSn(y, [0.25, 0.5], m));
    // Assess
    expect(values).toEqual([0, 0, 0]);
  });

  it('returns NaN when no Welch bin lies strictly inside the band', () => {
    // Prepare
    const long = whiteNoise(1000, 1, 3);
    const short = whiteNoise(4, 1, 3);
    // Act
    const values = [
      getSn(long, [0.5, 0.6], 'logmexp'),
      getSn(long, [0.4, 0.3], 'mean'),
      getSn(short, [0.25, 0.5], 'logmexp'),
    ];
    // Assess
    expect(values.every(Number.isNaN)).toBe(true);
    expect([
      noiseBandBins(1000, [0.25, 0.5]),
      noiseBandBins(4, [0.25, 0.5]),
      noiseBandBins(3, [0.25, 0.5]),
    ]).toEqual([63, 0, 1]);
  });

  it('averages in float32 for a Float32Array trace (within 1e-6 of float64)', () => {
    // Prepare
    const y64 = whiteNoise(2000, 0.3, 5);
    const y32 = Float32Array.from(y64);
    // Act
    const sn = getSn(y32, [0.25, 0.5], 'logmexp');
    // Assess
    expect(Math.fround(sn)).toBe(sn);
    expect(Math.abs(sn / getSn(Float64Array.from(y32), [0.25, 0.5], 'logmexp') - 1)).toBeLessThan(
      1e-6,
    );
  });

  it('rejects an unknown noise method with InvalidParameterError naming noise_method', () => {
    // Prepare
    const y = whiteNoise(100, 1, 1);
    // Act
    let caught: unknown;
    try {
      getSn(y, [0.25, 0.5], 'max');
    } catch (error) {
      caught = error;
    }
    // Assess
    expect(caught).toBeInstanceOf(InvalidParameterError);
    expect((caught as InvalidParameterError).code).toBe('InvalidParameter');
    expect((caught as InvalidParameterError).parameter).toBe('noise_method');
    expect((caught as InvalidParameterError).value).toBe('max');
  });
});

describe('validSamples', () => {
  it('drops NaN frames and keeps the typed-array kind', () => {
    // Prepare
    const y = Float32Array.from([1, Number.NaN, 2, Number.NaN, 3]);
    // Act
    const valid = validSamples(y);
    // Assess
    expect(valid).toBeInstanceOf(Float32Array);
    expect(Array.from(valid)).toEqual([1, 2, 3]);
    expect(validSamples(Float64Array.from([4, 5]))).toBeInstanceOf(Float64Array);
  });
});

describeShared('getSn against the CaImAn goldens', () => {
  it('matches estimate.sn of every golden case within 1e-5 relative (1e-7 absolute)', () => {
    // Prepare
    const failures: string[] = [];
    let checked = 0;
    for (const file of GOLDEN_FILES) {
      for (const c of readGolden<{ cases: GoldenCase[] }>(file).cases) {
        const expected = c.expected.estimate?.sn;
        if (expected === undefined || c.params.sn !== null) continue;
        const values = c.trace.map(goldenNumber);
        const y = c.dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
        // Act
        const sn = getSn(y, c.params.noise_range, c.params.noise_method);
        // Assess (collected, so every failing id is printed)
        checked++;
        const want = goldenNumber(expected);
        if (!(Math.abs(sn - want) <= 1e-5 * Math.abs(want) + 1e-7))
          failures.push(`${c.id}: ${sn} vs ${want}`);
      }
    }
    expect(checked).toBeGreaterThan(190);
    expect(failures).toEqual([]);
  });
});
