import { describe, expect, it } from 'vitest';
import { nextPowerOfTwo, realFftPlan, segmentPowerPlan } from '../../../lib/deconvolution/fft.js';
import { legacyRandomState } from '../../../lib/deconvolution/legacyRandom.js';

/** Reference O(N²) DFT with the angle reduced modulo N, bins 0…⌊N/2⌋. */
function naiveDft(x: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = x.length;
  const bins = Math.floor(n / 2) + 1;
  const re = new Float64Array(bins);
  const im = new Float64Array(bins);
  for (let j = 0; j < bins; j++) {
    for (let t = 0; t < n; t++) {
      const angle = (-2 * Math.PI * ((j * t) % n)) / n;
      re[j] += x[t] * Math.cos(angle);
      im[j] += x[t] * Math.sin(angle);
    }
  }
  return { re, im };
}

function seededSignal(n: number, seed: number): Float64Array {
  const rng = legacyRandomState(seed);
  const x = new Float64Array(n);
  rng.fillNormal(x);
  return x;
}

describe('realFftPlan', () => {
  it.each([1, 2, 3, 4, 5, 7, 8, 16, 32, 64, 100, 128, 255, 256, 512, 1024, 8192])(
    'matches the direct DFT for N = %i',
    (n) => {
      // Prepare
      const x = seededSignal(n, 7 + n);
      const plan = realFftPlan(n);
      const re = new Float64Array(plan.bins);
      const im = new Float64Array(plan.bins);
      const expected = naiveDft(x);
      // Act
      plan.forward(x, re, im);
      // Assess
      expect(plan.bins).toBe(Math.floor(n / 2) + 1);
      const tol = 1e-12 * n;
      for (let j = 0; j < plan.bins; j++) {
        expect(Math.abs(re[j] - expected.re[j])).toBeLessThan(tol);
        expect(Math.abs(im[j] - expected.im[j])).toBeLessThan(tol);
      }
    },
  );

  it('satisfies Parseval for a power-of-two length', () => {
    // Prepare
    const n = 512;
    const x = seededSignal(n, 99);
    const plan = realFftPlan(n);
    const re = new Float64Array(plan.bins);
    const im = new Float64Array(plan.bins);
    let energy = 0;
    for (let t = 0; t < n; t++) energy += x[t] * x[t];
    // Act
    plan.forward(x, re, im);
    // Assess: Σ|x|² = (1/N)(|X₀|² + |X_{N/2}|² + 2 Σ_{0<j<N/2} |X_j|²)
    let spectral = re[0] * re[0] + re[n / 2] * re[n / 2];
    for (let j = 1; j < n / 2; j++) spectral += 2 * (re[j] * re[j] + im[j] * im[j]);
    expect(spectral / n).toBeCloseTo(energy, 9);
  });

  it('returns the same cached plan for a length and leaves the input untouched', () => {
    // Prepare
    const x = seededSignal(64, 3);
    const copy = Float64Array.from(x);
    const plan = realFftPlan(64);
    // Act
    plan.forward(x, new Float64Array(33), new Float64Array(33));
    // Assess
    expect(realFftPlan(64)).toBe(plan);
    expect(x).toEqual(copy);
  });

  it('gives the next power of two', () => {
    expect([1, 2, 3, 5, 199_999].map(nextPowerOfTwo)).toEqual([1, 2, 4, 8, 262_144]);
  });
});

/** Σ over segments of |DFT((y[o+n] − mean)·w_n)|², bins 0…⌊N/2⌋, by the reference DFT. */
function naiveSegmentPower(
  y: Float32Array | Float64Array,
  segments: [number, number][],
  w: Float64Array,
): Float64Array {
  const n = w.length;
  const sum = new Float64Array(Math.floor(n / 2) + 1);
  for (const [offset, mean] of segments) {
    const x = new Float64Array(n);
    for (let t = 0; t < n; t++) x[t] = (y[offset + t] - mean) * w[t];
    const { re, im } = naiveDft(x);
    for (let j = 0; j < sum.length; j++) sum[j] += re[j] * re[j] + im[j] * im[j];
  }
  return sum;
}

describe('segmentPowerPlan', () => {
  it.each([1, 3, 4, 8, 16, 32, 64, 100, 256])(
    'sums the periodograms of paired and lone windowed segments for N = %i',
    (n) => {
      // Prepare: three half-overlapping segments of an offset trace, in both dtypes
      const y64 = seededSignal(2 * n + 7, 40 + n).map((v) => 10 + v);
      const w = Float64Array.from(
        { length: n },
        (_, t) => 0.5 - 0.5 * Math.cos((2 * Math.PI * t) / n),
      );
      const half = Math.max(1, n >> 1);
      const segments: [number, number][] = [
        [0, 9.5],
        [half, 10.25],
        [2 * half, 10],
      ];
      const plan = segmentPowerPlan(n);
      for (const y of [y64, Float32Array.from(y64)]) {
        const expected = naiveSegmentPower(y, segments, w);
        const out = new Float64Array(plan.bins);
        // Act
        plan.reset();
        plan.add(y, segments[0][0], segments[0][1], segments[1][0], segments[1][1], w);
        plan.add(y, segments[2][0], segments[2][1], -1, 0, w);
        plan.read(out);
        // Assess
        expect(plan.bins).toBe(Math.floor(n / 2) + 1);
        const scale = Math.max(...expected);
        for (let j = 0; j < plan.bins; j++) {
          expect(Math.abs(out[j] - expected[j])).toBeLessThanOrEqual(1e-13 * n * scale);
        }
      }
    },
  );

  it('starts from zero after reset and caches one plan per length', () => {
    // Prepare
    const y = seededSignal(64, 5);
    const w = new Float64Array(64).fill(1);
    const plan = segmentPowerPlan(64);
    const first = new Float64Array(33);
    const again = new Float64Array(33);
    // Act
    plan.reset();
    plan.add(y, 0, 0, -1, 0, w);
    plan.read(first);
    plan.reset();
    plan.add(y, 0, 0, -1, 0, w);
    plan.read(again);
    // Assess
    expect(again).toEqual(first);
    expect(segmentPowerPlan(64)).toBe(plan);
  });
});
