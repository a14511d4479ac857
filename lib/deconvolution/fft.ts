/**
 * Real discrete Fourier transform, X_j = Σ_{n<N} x_n·e^{−2πi·jn/N} for j = 0…⌊N/2⌋ (the
 * non-redundant half of the spectrum of a real sequence), in float64.
 *
 * - N a power of two ≥ 4: one complex radix-2 FFT of length N/2 on the packed sequence
 *   z_n = x_{2n} + i·x_{2n+1}, then the split X_j = E_j + e^{−2πij/N}·O_j.
 * - Any other N (Welch segments of T < 256 frames, so N < 256): the direct DFT over a
 *   length-N twiddle table, O(N²).
 *
 * Plans (bit reversal, twiddles, scratch) are built once per length and cached, so a
 * transform allocates nothing. A plan's scratch is shared: results must be copied out
 * before the next transform of the same length (JavaScript is single-threaded, so this is
 * only a re-entrancy rule).
 */

/** A cached real-FFT plan for one length. */
interface RealFftPlan {
  /** Transform length N. */
  readonly n: number;
  /** Number of output bins, ⌊N/2⌋ + 1. */
  readonly bins: number;
  /**
   * X = DFT(x[0:N]) for bins 0…⌊N/2⌋, written to re[0:bins] and im[0:bins].
   * @param x - input, at least N values (only the first N are read)
   * @param re - real parts out, length ≥ bins
   * @param im - imaginary parts out, length ≥ bins
   */
  forward(x: Float64Array, re: Float64Array, im: Float64Array): void;
}

const planCache = new Map<number, RealFftPlan>();

function isPowerOfTwo(n: number): boolean {
  return n >= 1 && (n & (n - 1)) === 0;
}

/** Smallest power of two ≥ n (n ≥ 1). */
function nextPowerOfTwo(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

/**
 * In-place iterative radix-2 complex FFT of length m (a power of two). Stage twiddles are
 * stored contiguously: e^{−2πik/(2h)} for k < h at offset h of (twr, twi).
 */
function complexFftInPlace(
  re: Float64Array,
  im: Float64Array,
  m: number,
  bitReverse: Uint32Array,
  twr: Float64Array,
  twi: Float64Array,
): void {
  for (let i = 0; i < m; i++) {
    const j = bitReverse[i];
    if (j > i) {
      const tr = re[i];
      re[i] = re[j];
      re[j] = tr;
      const ti = im[i];
      im[i] = im[j];
      im[j] = ti;
    }
  }
  for (let half = 1; half < m; half *= 2) {
    const size = 2 * half;
    for (let start = 0; start < m; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = twr[half + k];
        const wi = twi[half + k];
        const a = start + k;
        const b = a + half;
        const xr = re[b] * wr - im[b] * wi;
        const xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

function radix2Plan(n: number): RealFftPlan {
  const m = n >>> 1;
  const bins = m + 1;
  let levels = 0;
  while (1 << levels < m) levels++;
  const bitReverse = new Uint32Array(m);
  for (let i = 1; i < m; i++)
    bitReverse[i] = (bitReverse[i >>> 1] >>> 1) | ((i & 1) << (levels - 1));
  // Stage twiddles of the half-length FFT; cos/sin(2πj/N) for the split step.
  const twr = new Float64Array(Math.max(m, 1));
  const twi = new Float64Array(Math.max(m, 1));
  for (let half = 1; half < m; half *= 2) {
    for (let k = 0; k < half; k++) {
      twr[half + k] = Math.cos((Math.PI * k) / half);
      twi[half + k] = -Math.sin((Math.PI * k) / half);
    }
  }
  const cosFull = new Float64Array(bins);
  const sinFull = new Float64Array(bins);
  for (let j = 0; j < bins; j++) {
    cosFull[j] = Math.cos((2 * Math.PI * j) / n);
    sinFull[j] = Math.sin((2 * Math.PI * j) / n);
  }
  const zr = new Float64Array(m);
  const zi = new Float64Array(m);
  return {
    n,
    bins,
    forward(x, re, im) {
      for (let k = 0; k < m; k++) {
        zr[k] = x[2 * k];
        zi[k] = x[2 * k + 1];
      }
      complexFftInPlace(zr, zi, m, bitReverse, twr, twi);
      // E_j = (Z_j + conj Z_{m−j})/2, O_j = (Z_j − conj Z_{m−j})/(2i), X_j = E_j + W^j·O_j.
      for (let j = 0; j < bins; j++) {
        const a = j === m ? 0 : j;
        const b = j === 0 ? 0 : m - j;
        const er = 0.5 * (zr[a] + zr[b]);
        const ei = 0.5 * (zi[a] - zi[b]);
        const or = 0.5 * (zi[a] + zi[b]);
        const oi = -0.5 * (zr[a] - zr[b]);
        const wr = cosFull[j];
        const wi = -sinFull[j];
        re[j] = er + (or * wr - oi * wi);
        im[j] = ei + (or * wi + oi * wr);
      }
    },
  };
}

function directPlan(n: number): RealFftPlan {
  const bins = Math.floor(n / 2) + 1;
  const cosTable = new Float64Array(n);
  const sinTable = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    cosTable[k] = Math.cos((2 * Math.PI * k) / n);
    sinTable[k] = Math.sin((2 * Math.PI * k) / n);
  }
  return {
    n,
    bins,
    forward(x, re, im) {
      for (let j = 0; j < bins; j++) {
        let sr = 0;
        let si = 0;
        let k = 0;
        for (let t = 0; t < n; t++) {
          sr += x[t] * cosTable[k];
          si -= x[t] * sinTable[k];
          k += j;
          if (k >= n) k -= n;
        }
        re[j] = sr;
        im[j] = si;
      }
    },
  };
}

/**
 * The cached real-FFT plan for length n.
 * @param n - transform length, a positive integer
 */
function realFftPlan(n: number): RealFftPlan {
  let plan = planCache.get(n);
  if (plan === undefined) {
    plan = isPowerOfTwo(n) && n >= 4 ? radix2Plan(n) : directPlan(n);
    planCache.set(n, plan);
  }
  return plan;
}

export type { RealFftPlan };
export { nextPowerOfTwo, realFftPlan };
