import { describe, expect, it } from 'vitest';
import { nextPowerOfTwo, realFftPlan } from '../../../lib/deconvolution/fft.js';
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
  it.each([1, 2, 3, 4, 5, 7, 8, 16, 100, 128, 255, 256, 1024])(
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
