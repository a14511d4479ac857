import { describe, expect, it } from 'vitest';
import type { Ar1State } from '../../../lib/deconvolution/oasisAr1.js';
import { optimizeG } from '../../../lib/deconvolution/optimizeG.js';
import { mulberry32 } from '../../../lib/random.js';

/** A synthetic optimize_g problem: the pools §5.3 step 1 would pick, with one outlier frame. */
interface Problem {
  seed: number;
  /** Pool lengths, in order of decreasing v (all are picked). */
  len: number[];
  g0: number;
  b0: number;
  amp: number;
  noise: number;
  outAt: number;
  out: number;
  /** The last pool ends at T (carries the full λ). */
  lastPool: boolean;
  lam: number;
}

/** Pools y = fl32(b₀ + amp·g₀ᵏ + noise·U(−1, 1)), then y[outAt] += out; state at g = g₀. */
function state(p: Problem): Ar1State {
  const rand = mulberry32(p.seed);
  const T = p.len.reduce((a, b) => a + b, 0);
  const n = p.len.length;
  const y = new Float64Array(T);
  const t = new Int32Array(n);
  const v = new Float64Array(n);
  let off = 0;
  for (let j = 0; j < n; j++) {
    t[j] = off;
    v[j] = n - j;
    for (let k = 0; k < p.len[j]; k++)
      y[off + k] = Math.fround(p.b0 + p.amp * p.g0 ** k + p.noise * (2 * rand() - 1));
    off += p.len[j];
  }
  y[p.outAt] = Math.fround(y[p.outAt] + p.out);
  const pools = {
    v,
    w: new Float64Array(n),
    q: new Float64Array(n),
    t,
    l: Int32Array.from(p.len),
    n,
  };
  return {
    y,
    T: p.lastPool ? T : T + 1,
    g: Math.fround(p.g0),
    h: new Float64Array(0),
    pools,
    c: new Float64Array(T),
    r: new Float64Array(T),
    aux: new Float64Array(T),
    m: null,
    nObs: T,
  };
}

/**
 * Expected (b′, g′) were computed with scipy 1.17.1 `minimize(method='L-BFGS-B',
 * bounds=((0, None), (0.001, 0.999)), options={'maxiter': 3, 'gtol': 1e-4, 'ftol': 1e-5})` on the
 * §5.3 objective in float32 (accumulated as in optimizeG.ts), with the 2-point gradient of step
 * 1e-8 (float32 quotient, as numpy 1.x gives it), from (fl32(b₀), fl32(g₀)). "old" is what the
 * former projected BFGS with backtracking returned.
 */
const CASES: { name: string; p: Problem; b: number; g: number; old: number }[] = [
  {
    name: 'a 10-frame pool with an outlier at its start: g straight to the lower bound',
    p: {
      seed: 598,
      len: [10],
      g0: 0.8532614707946777,
      b0: 1.4098833240568638,
      amp: 2.7129611156415194,
      noise: 0.22558629917912185,
      outAt: 0,
      out: 12.734743636101484,
      lastPool: true,
      lam: 0.3577743526548147,
    },
    b: 1.4098833799362183,
    g: 0.0010000000474974513,
    old: 0.0010000000474974513,
  },
  {
    name: 'an outlier in a short pool: the 2nd line search fails with and without memory, stop at iterate 1',
    p: {
      seed: 1377,
      len: [10],
      g0: 0.641170859336853,
      b0: 1.309752973727882,
      amp: 1.5241639842279255,
      noise: 0.14917498889844863,
      outAt: 2,
      out: 28.780092634260654,
      lastPool: true,
      lam: 0.21407640259712934,
    },
    b: 1.3097529411315918,
    g: 0.7343176007270813,
    old: 0.891170859336853,
  },
  {
    name: 'one iteration of the unit-length first step, then the projected gradient is below gtol',
    p: {
      seed: 765,
      len: [24],
      g0: 0.7289640307426453,
      b0: 1.49810811271891,
      amp: 2.2884686512406915,
      noise: 0.1985126769868657,
      outAt: 13,
      out: 7.372555157635361,
      lastPool: true,
      lam: 1.6661796029657125,
    },
    b: 1.498108148574829,
    g: 0.7446298003196716,
    old: 0.9789640307426453,
  },
  {
    name: 'three pools, three iterations (Cauchy point, subspace step, Moré–Thuente search)',
    p: {
      seed: 2739,
      len: [48, 10, 46],
      g0: 0.852698564529419,
      b0: 2.1944629196077585,
      amp: 3.3429782264865935,
      noise: 0.2038738428382203,
      outAt: 48,
      out: 6.0522421146743,
      lastPool: true,
      lam: 1.8091304441913962,
    },
    b: 2.194463014602661,
    g: 0.7796205282211304,
    old: 0.727698564529419,
  },
];

describe('optimizeG', () => {
  for (const { name, p, b, g, old } of CASES) {
    it(`follows scipy's L-BFGS-B: ${name}`, () => {
      // Prepare
      const S = state(p);
      // Act
      const res = optimizeG(S, Math.fround(p.b0), p.lam, p.len.length, true);
      // Assess: bit-equal float32 results; the former optimiser's g was elsewhere (but in case 1).
      expect(res.b).toBe(b);
      expect(res.g).toBe(g);
      if (old !== g) expect(Math.abs(res.g - old)).toBeGreaterThan(0.05);
    });
  }

  it('keeps b′ ≥ 0 and g′ in [0.001, 0.999] from a start on the bounds', () => {
    // Prepare
    const S = state({ ...CASES[3].p, g0: 0.999 });
    // Act
    const res = optimizeG(S, 0, 0, 3, true);
    // Assess
    expect(res.b).toBeGreaterThanOrEqual(0);
    expect(res.g).toBeGreaterThanOrEqual(Math.fround(0.001));
    expect(res.g).toBeLessThanOrEqual(Math.fround(0.999));
  });
});
