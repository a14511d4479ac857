/**
 * Real discrete Fourier transforms in float64, X_j = Σ_{n<N} x_n·e^{−2πi·jn/N} for
 * j = 0…⌊N/2⌋ (the non-redundant half of the spectrum of a real sequence), and sums of
 * segment periodograms S_j = Σ_segments |X_j|² for Welch's method.
 *
 * Complex FFT (N a power of two): decimation in frequency, in place — one radix-2 stage
 * when log₂N is odd, then radix-4 stages, the last one (length-4 blocks) free of twiddles.
 * A radix-4 step on a block of length 4s maps a_k, a_{k+s}, a_{k+2s}, a_{k+3s} (k < s) to
 * y_q = W^{qk}·Σ_p a_{k+ps}·(−i)^{pq} (W = e^{−2πi/4s}) in slot q, and the length-s DFT of
 * slot q gives the block's outputs 4r + q. Outputs thus land in digit-reversed order, read
 * through a precomputed position table instead of a reordering pass.
 *
 * - Real FFT, N a power of two ≥ 4: the complex FFT of length M = N/2 of the packed
 *   z_n = x_{2n} + i·x_{2n+1}, then X_j = E_j + e^{−2πij/N}·O_j with
 *   E_j = (Z_j + conj Z_{M−j})/2 and O_j = (Z_j − conj Z_{M−j})/(2i). Any other N (Welch
 *   segments of T < 256 frames, so N < 256): the direct DFT over a length-N twiddle table.
 * - Periodogram sums, N a power of two ≥ 4: two real segments a, b per complex FFT of length
 *   N, z = x_a + i·x_b, since |X_a,j|² + |X_b,j|² = (|Z_j|² + |Z_{N−j}|²)/2; the last stage
 *   accumulates |Z|² per position instead of storing Z, and for N = 4^k ≥ 16 the first stage
 *   reads the detrended, windowed segments straight from the trace.
 *
 * Plans (twiddles, position tables, scratch) are built once per length and cached, so a
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

/**
 * A cached plan summing the periodograms of real windowed segments of one length N:
 * S_j = Σ_segments |X_j|², X = DFT(x), x_n = (y_{offset+n} − mean)·window_n, n < N.
 */
interface SegmentPowerPlan {
  /** Segment length N. */
  readonly n: number;
  /** Number of bins, ⌊N/2⌋ + 1. */
  readonly bins: number;
  /** Starts a new sum, S := 0. */
  reset(): void;
  /**
   * Adds segment a and, when offsetB ≥ 0, segment b to S.
   * @param y - the trace (each segment's N frames must lie inside it)
   * @param offsetA - first frame of segment a
   * @param meanA - value removed from every frame of segment a
   * @param offsetB - first frame of segment b, or −1 for none
   * @param meanB - value removed from every frame of segment b
   * @param window - N window weights
   */
  add(
    y: Float32Array | Float64Array,
    offsetA: number,
    meanA: number,
    offsetB: number,
    meanB: number,
    window: Float64Array,
  ): void;
  /**
   * out[j] = S_j for j < bins.
   * @param out - length ≥ bins
   */
  read(out: Float64Array): void;
}

const planCache = new Map<number, RealFftPlan>();
const segmentPowerCache = new Map<number, SegmentPowerPlan>();

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
 * The decimation-in-frequency schedule of a length-m complex FFT (m a power of two ≥ 1):
 * the quarter lengths s of its radix-4 stages, longest first, and whether a radix-2 stage
 * runs before them.
 */
function fftSchedule(m: number): { radix2First: boolean; quarters: number[] } {
  let levels = 0;
  while (1 << levels < m) levels++;
  const radix2First = levels % 2 === 1;
  const quarters: number[] = [];
  for (let s = (radix2First ? m >>> 1 : m) >>> 2; s >= 1; s >>>= 2) quarters.push(s);
  return { radix2First, quarters };
}

/**
 * frequencyAt[position] after the in-place transform: a block at `offset` of length `size`
 * computes the outputs base + stride·r, and its radix-q split hands slot q the outputs
 * base + stride·q + (radix·stride)·r.
 */
function outputFrequencies(m: number, radix2First: boolean): Uint32Array {
  const frequencyAt = new Uint32Array(m);
  const assign = (offset: number, size: number, base: number, stride: number, radix: number) => {
    if (size === 1) {
      frequencyAt[offset] = base;
      return;
    }
    const slot = size / radix;
    for (let q = 0; q < radix; q++) {
      assign(offset + q * slot, slot, base + stride * q, stride * radix, Math.min(slot, 4));
    }
  };
  assign(0, m, 0, 1, radix2First ? 2 : Math.min(4, m));
  return frequencyAt;
}

/** Twiddles and output positions of a length-m decimation-in-frequency complex FFT. */
interface ComplexFft {
  readonly m: number;
  readonly radix2First: boolean;
  /** (cos, −sin)(2πk/m) interleaved for k < m/2 (the radix-2 stage). */
  readonly twiddle2: Float64Array;
  /**
   * Per radix-4 stage with quarter s > 1, longest first: W^k, W^{2k}, W^{3k} (W = e^{−2πi/4s})
   * as (cos, −sin) pairs, six values per k.
   */
  readonly twiddle4: Float64Array;
  /** positionOf[j]: where output Z_j sits after the transform. */
  readonly positionOf: Uint32Array;
}

function complexFft(m: number): ComplexFft {
  const { radix2First, quarters } = fftSchedule(m);
  const twiddle2 = new Float64Array(m);
  for (let k = 0; k < m >>> 1; k++) {
    twiddle2[2 * k] = Math.cos((2 * Math.PI * k) / m);
    twiddle2[2 * k + 1] = -Math.sin((2 * Math.PI * k) / m);
  }
  let twiddleCount = 0;
  for (const s of quarters) if (s > 1) twiddleCount += 6 * s;
  const twiddle4 = new Float64Array(twiddleCount);
  let t = 0;
  for (const s of quarters) {
    if (s === 1) continue;
    for (let k = 0; k < s; k++) {
      for (let q = 1; q <= 3; q++) {
        const angle = (2 * Math.PI * q * k) / (4 * s);
        twiddle4[t++] = Math.cos(angle);
        twiddle4[t++] = -Math.sin(angle);
      }
    }
  }
  const frequencyAt = outputFrequencies(m, radix2First);
  const positionOf = new Uint32Array(m);
  for (let p = 0; p < m; p++) positionOf[frequencyAt[p]] = p;
  return { m, radix2First, twiddle2, twiddle4, positionOf };
}

/** Complex points per chunk of a radix-4 stage (re and im: 32 KiB, level-1 cache sized). */
const CHUNK_POINTS = 2048;

/**
 * In-place decimation-in-frequency complex FFT of (re, im), outputs at fft.positionOf. With
 * `power`, the last stage adds |Z|² at each position to power[position] instead of storing Z.
 * With `firstDone`, the first radix-4 stage (twiddled, so m ≥ 16, no radix-2 stage) has
 * already run ({@link firstStageFromSegments}).
 */
function complexFftDif(
  re: Float64Array,
  im: Float64Array,
  fft: ComplexFft,
  power: Float64Array | null,
  firstDone: boolean,
): void {
  const { m, twiddle2, twiddle4 } = fft;
  let block = m;
  if (firstDone) {
    block = m >>> 2;
  } else if (fft.radix2First) {
    // (a, b) → (a + b, (a − b)·W^k), W = e^{−2πi/m}.
    const half = m >>> 1;
    for (let k = 0; k < half; k++) {
      const b = k + half;
      const ar = re[k];
      const ai = im[k];
      const br = re[b];
      const bi = im[b];
      const dr = ar - br;
      const di = ai - bi;
      const wr = twiddle2[2 * k];
      const wi = twiddle2[2 * k + 1];
      re[k] = ar + br;
      im[k] = ai + bi;
      re[b] = dr * wr - di * wi;
      im[b] = dr * wi + di * wr;
    }
    block = half;
  }
  let tw = firstDone ? 6 * block : 0;
  for (let s = block >>> 2; s > 1; s >>>= 2) {
    const size = 4 * s;
    // Within each cache-sized chunk of blocks, k outer and blocks inner, so each twiddle
    // triple is loaded once per chunk.
    const chunk = Math.max(size, CHUNK_POINTS);
    for (let from = 0; from < m; from += chunk) {
      for (let k = 0; k < s; k++) {
        const t = tw + 6 * k;
        const w1r = twiddle4[t];
        const w1i = twiddle4[t + 1];
        const w2r = twiddle4[t + 2];
        const w2i = twiddle4[t + 3];
        const w3r = twiddle4[t + 4];
        const w3i = twiddle4[t + 5];
        const to = Math.min(m, from + chunk);
        for (let i0 = from + k; i0 < to; i0 += size) {
          const i1 = i0 + s;
          const i2 = i1 + s;
          const i3 = i2 + s;
          const a0r = re[i0];
          const a0i = im[i0];
          const a1r = re[i1];
          const a1i = im[i1];
          const a2r = re[i2];
          const a2i = im[i2];
          const a3r = re[i3];
          const a3i = im[i3];
          // t₀ = a₀ + a₂, t₁ = a₀ − a₂, t₂ = a₁ + a₃, t₃ = −i·(a₁ − a₃).
          const t0r = a0r + a2r;
          const t0i = a0i + a2i;
          const t1r = a0r - a2r;
          const t1i = a0i - a2i;
          const t2r = a1r + a3r;
          const t2i = a1i + a3i;
          const t3r = a1i - a3i;
          const t3i = a3r - a1r;
          // y₀ = t₀ + t₂, y₁ = (t₁ + t₃)·W^k, y₂ = (t₀ − t₂)·W^{2k}, y₃ = (t₁ − t₃)·W^{3k}.
          const y1r = t1r + t3r;
          const y1i = t1i + t3i;
          const y2r = t0r - t2r;
          const y2i = t0i - t2i;
          const y3r = t1r - t3r;
          const y3i = t1i - t3i;
          re[i0] = t0r + t2r;
          im[i0] = t0i + t2i;
          re[i1] = y1r * w1r - y1i * w1i;
          im[i1] = y1r * w1i + y1i * w1r;
          re[i2] = y2r * w2r - y2i * w2i;
          im[i2] = y2r * w2i + y2i * w2r;
          re[i3] = y3r * w3r - y3i * w3i;
          im[i3] = y3r * w3i + y3i * w3r;
        }
      }
    }
    tw += 6 * s;
  }
  if (block >= 4) {
    // Last radix-4 stage, s = 1: no twiddles.
    for (let i0 = 0; i0 < m; i0 += 4) {
      const a0r = re[i0];
      const a0i = im[i0];
      const a1r = re[i0 + 1];
      const a1i = im[i0 + 1];
      const a2r = re[i0 + 2];
      const a2i = im[i0 + 2];
      const a3r = re[i0 + 3];
      const a3i = im[i0 + 3];
      const t0r = a0r + a2r;
      const t0i = a0i + a2i;
      const t1r = a0r - a2r;
      const t1i = a0i - a2i;
      const t2r = a1r + a3r;
      const t2i = a1i + a3i;
      const t3r = a1i - a3i;
      const t3i = a3r - a1r;
      const y0r = t0r + t2r;
      const y0i = t0i + t2i;
      const y1r = t1r + t3r;
      const y1i = t1i + t3i;
      const y2r = t0r - t2r;
      const y2i = t0i - t2i;
      const y3r = t1r - t3r;
      const y3i = t1i - t3i;
      if (power === null) {
        re[i0] = y0r;
        im[i0] = y0i;
        re[i0 + 1] = y1r;
        im[i0 + 1] = y1i;
        re[i0 + 2] = y2r;
        im[i0 + 2] = y2i;
        re[i0 + 3] = y3r;
        im[i0 + 3] = y3i;
      } else {
        power[i0] += y0r * y0r + y0i * y0i;
        power[i0 + 1] += y1r * y1r + y1i * y1i;
        power[i0 + 2] += y2r * y2r + y2i * y2i;
        power[i0 + 3] += y3r * y3r + y3i * y3i;
      }
    }
  } else if (power !== null) {
    for (let i = 0; i < m; i++) power[i] += re[i] * re[i] + im[i] * im[i];
  }
}

function powerOfTwoPlan(n: number): RealFftPlan {
  const m = n >>> 1;
  const bins = m + 1;
  const fft = complexFft(m);
  // Split tables for X_j = E_j + W^j·O_j: positions of Z_j and Z_{M−j}, W^j = e^{−2πij/N}.
  const pairA = new Uint32Array(bins);
  const pairB = new Uint32Array(bins);
  const splitCos = new Float64Array(bins);
  const splitSin = new Float64Array(bins);
  for (let j = 0; j < bins; j++) {
    pairA[j] = fft.positionOf[j % m];
    pairB[j] = fft.positionOf[(m - j) % m];
    splitCos[j] = Math.cos((2 * Math.PI * j) / n);
    splitSin[j] = -Math.sin((2 * Math.PI * j) / n);
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
      complexFftDif(zr, zi, fft, null, false);
      for (let j = 0; j < bins; j++) {
        const a = pairA[j];
        const b = pairB[j];
        // 2E_j = Z_j + conj Z_{M−j}, 2O_j = −i·(Z_j − conj Z_{M−j}).
        const er = zr[a] + zr[b];
        const ei = zi[a] - zi[b];
        const or = zi[a] + zi[b];
        const oi = zr[b] - zr[a];
        const wr = splitCos[j];
        const wi = splitSin[j];
        re[j] = 0.5 * (er + (or * wr - oi * wi));
        im[j] = 0.5 * (ei + (or * wi + oi * wr));
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
    forward(x, outRe, outIm) {
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
        outRe[j] = sr;
        outIm[j] = si;
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
    plan = isPowerOfTwo(n) && n >= 4 ? powerOfTwoPlan(n) : directPlan(n);
    planCache.set(n, plan);
  }
  return plan;
}

/**
 * The first radix-4 stage (s = N/4) of the DIF FFT of z_t = x_a,t + i·x_b,t, with
 * x_t = (y_{offset+t} − mean)·window_t, read from the trace.
 */
function firstStageFromSegments(
  y: Float32Array | Float64Array,
  offsetA: number,
  meanA: number,
  offsetB: number,
  meanB: number,
  window: Float64Array,
  re: Float64Array,
  im: Float64Array,
  twiddle4: Float64Array,
): void {
  const s = re.length >>> 2;
  for (let k = 0; k < s; k++) {
    const i1 = k + s;
    const i2 = i1 + s;
    const i3 = i2 + s;
    const v0 = window[k];
    const v1 = window[i1];
    const v2 = window[i2];
    const v3 = window[i3];
    const a0r = (y[offsetA + k] - meanA) * v0;
    const a1r = (y[offsetA + i1] - meanA) * v1;
    const a2r = (y[offsetA + i2] - meanA) * v2;
    const a3r = (y[offsetA + i3] - meanA) * v3;
    const a0i = (y[offsetB + k] - meanB) * v0;
    const a1i = (y[offsetB + i1] - meanB) * v1;
    const a2i = (y[offsetB + i2] - meanB) * v2;
    const a3i = (y[offsetB + i3] - meanB) * v3;
    // The radix-4 step of complexFftDif with W = e^{−2πi/N}.
    const t0r = a0r + a2r;
    const t0i = a0i + a2i;
    const t1r = a0r - a2r;
    const t1i = a0i - a2i;
    const t2r = a1r + a3r;
    const t2i = a1i + a3i;
    const t3r = a1i - a3i;
    const t3i = a3r - a1r;
    const y1r = t1r + t3r;
    const y1i = t1i + t3i;
    const y2r = t0r - t2r;
    const y2i = t0i - t2i;
    const y3r = t1r - t3r;
    const y3i = t1i - t3i;
    const t = 6 * k;
    const w1r = twiddle4[t];
    const w1i = twiddle4[t + 1];
    const w2r = twiddle4[t + 2];
    const w2i = twiddle4[t + 3];
    const w3r = twiddle4[t + 4];
    const w3i = twiddle4[t + 5];
    re[k] = t0r + t2r;
    im[k] = t0i + t2i;
    re[i1] = y1r * w1r - y1i * w1i;
    im[i1] = y1r * w1i + y1i * w1r;
    re[i2] = y2r * w2r - y2i * w2i;
    im[i2] = y2r * w2i + y2i * w2r;
    re[i3] = y3r * w3r - y3i * w3i;
    im[i3] = y3r * w3i + y3i * w3r;
  }
}

/**
 * Both segments as one complex sequence z = x_a + i·x_b of length N: with Z = DFT(z),
 * X_a,j = (Z_j + conj Z_{N−j})/2 and X_b,j = (Z_j − conj Z_{N−j})/(2i), so
 * |X_a,j|² + |X_b,j|² = (|Z_j|² + |Z_{N−j}|²)/2 (x_b = 0 for a lone segment). The
 * transform's last stage accumulates |Z|² per digit-reversed position; read() folds the
 * positions of j and N − j.
 */
function pairedSegmentPowerPlan(n: number): SegmentPowerPlan {
  const bins = (n >>> 1) + 1;
  const fft = complexFft(n);
  const zr = new Float64Array(n);
  const zi = new Float64Array(n);
  const positionPower = new Float64Array(n);
  const fused = !fft.radix2First && n >= 16;
  return {
    n,
    bins,
    reset() {
      positionPower.fill(0);
    },
    add(y, offsetA, meanA, offsetB, meanB, window) {
      if (fused && offsetB >= 0) {
        firstStageFromSegments(y, offsetA, meanA, offsetB, meanB, window, zr, zi, fft.twiddle4);
        complexFftDif(zr, zi, fft, positionPower, true);
        return;
      }
      for (let t = 0; t < n; t++) zr[t] = (y[offsetA + t] - meanA) * window[t];
      if (offsetB < 0) zi.fill(0);
      else for (let t = 0; t < n; t++) zi[t] = (y[offsetB + t] - meanB) * window[t];
      complexFftDif(zr, zi, fft, positionPower, false);
    },
    read(out) {
      const { positionOf } = fft;
      for (let j = 0; j < bins; j++) {
        out[j] = 0.5 * (positionPower[positionOf[j]] + positionPower[positionOf[(n - j) % n]]);
      }
    },
  };
}

/** Segments one at a time through {@link realFftPlan} (any N). */
function singleSegmentPowerPlan(n: number): SegmentPowerPlan {
  const plan = realFftPlan(n);
  const bins = plan.bins;
  const segment = new Float64Array(n);
  const re = new Float64Array(bins);
  const im = new Float64Array(bins);
  const sum = new Float64Array(bins);
  const addOne = (
    y: Float32Array | Float64Array,
    offset: number,
    mean: number,
    w: Float64Array,
  ) => {
    for (let t = 0; t < n; t++) segment[t] = (y[offset + t] - mean) * w[t];
    plan.forward(segment, re, im);
    for (let j = 0; j < bins; j++) sum[j] += re[j] * re[j] + im[j] * im[j];
  };
  return {
    n,
    bins,
    reset() {
      sum.fill(0);
    },
    add(y, offsetA, meanA, offsetB, meanB, window) {
      addOne(y, offsetA, meanA, window);
      if (offsetB >= 0) addOne(y, offsetB, meanB, window);
    },
    read(out) {
      out.set(sum);
    },
  };
}

/**
 * The cached segment-periodogram plan for segment length n.
 * @param n - segment length, a positive integer
 */
function segmentPowerPlan(n: number): SegmentPowerPlan {
  let plan = segmentPowerCache.get(n);
  if (plan === undefined) {
    plan = isPowerOfTwo(n) && n >= 4 ? pairedSegmentPowerPlan(n) : singleSegmentPowerPlan(n);
    segmentPowerCache.set(n, plan);
  }
  return plan;
}

export type { RealFftPlan, SegmentPowerPlan };
export { nextPowerOfTwo, realFftPlan, segmentPowerPlan };
