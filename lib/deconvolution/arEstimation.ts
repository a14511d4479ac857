/**
 * AR coefficients from the autocovariance (CaImAn `estimate_time_constant` and
 * `estimate_parameters`, deconvolution-algorithms.md §3; Pnevmatikakis et al. 2016):
 *
 *   γ(k) = (1/T) Σ_t x_t x_{t+k},  x = y − mean(y)  (biased; read at circular index k mod N,
 *   N = 2^⌈log₂(2T−1)⌉, as the zero-padded FFT of length N gives it),
 *   A_{ij} = γ(|i−j|) − sn²·[i = j < p]  (m × p, m = lags + p),  g̃ = A⁺·(γ(1), …, γ(m)),
 *   ρ = Re roots(z^p − g̃₁z^{p−1} − … − g̃_p), with roots > 1 → 0.95 + 0.01·z and then
 *   roots < 0 → 0.15 + 0.01·z (z: consecutive seed-45 legacy normals),
 *   g = −(coefficients 1…p of ∏(z − f·ρ_i)),  f = fudge factor.
 *
 * For a Float32Array the mean (numpy's pairwise float32 sum) and the subtraction are
 * float32, as numpy does them; everything after is float64.
 */
import { DeconvolutionError, InvalidParameterError } from '../errors.js';
import { nextPowerOfTwo, realFftPlan } from './fft.js';
import { legacyRandomState } from './legacyRandom.js';
import { arRoots, lstsqMinNorm, pairwiseSum, polyFromRoots } from './linalg.js';
import { getSn, noiseBandBins, validSamples } from './noise.js';
import { NYQUIST, type Trace } from './types.js';
import { welchSegmentLength } from './welch.js';

/** Seed of CaImAn's root fixes (§3 step 4). */
const ROOT_FIX_SEED = 45;

const rootFixNormals: number[] = [];

/** The first `count` standard normals of the legacy stream seeded with 45 (cached). */
function seed45Normals(count: number): readonly number[] {
  if (rootFixNormals.length < count) {
    const rng = legacyRandomState(ROOT_FIX_SEED);
    rootFixNormals.length = 0;
    while (rootFixNormals.length < Math.max(count, 8)) rootFixNormals.push(rng.standardNormal());
  }
  return rootFixNormals;
}

/**
 * mean(y) in the input's precision, as numpy computes it: pairwise sum, float32 for a
 * Float32Array.
 */
function traceMean(y: Trace): number {
  const frames = y.length;
  return y instanceof Float32Array
    ? Math.fround(pairwiseSum(y, 0, frames, true) / frames)
    : pairwiseSum(y, 0, frames, false) / frames;
}

/**
 * x = y − mean(y) in the input's precision (numpy `y - np.mean(y)`), as float64 values.
 * @param y - the trace
 * @param mean - {@link traceMean}(y)
 */
function centred(y: Trace, mean: number): Float64Array {
  const frames = y.length;
  const x = new Float64Array(frames);
  if (y instanceof Float32Array) {
    for (let t = 0; t < frames; t++) x[t] = Math.fround(y[t] - mean);
  } else {
    for (let t = 0; t < frames; t++) x[t] = y[t] - mean;
  }
  return x;
}

/**
 * Length N of the zero-padded autocovariance FFT: the smallest power of two ≥ 2T − 1.
 * @param frames - T ≥ 1
 */
function autocovarianceLength(frames: number): number {
  return nextPowerOfTwo(Math.max(1, 2 * frames - 1));
}

/**
 * Biased autocovariance of x = y − mean(y) (centred in the input's precision) read at lags
 * 0…maxLag from the circular buffer IFFT(|FFT(x, N)|²)/T (§3 step 2): γ(k) for k < T, 0 for
 * T ≤ k ≤ N − T, γ(N − k) above. Short lag ranges use the direct sums (identical values up
 * to rounding, O(T·maxLag)), long ones the FFT.
 * @param y - the trace
 * @param maxLag - m, at most N − 1
 */
function circularAutocovariance(y: Trace, maxLag: number): Float64Array {
  const frames = y.length;
  const size = autocovarianceLength(frames);
  const mean = traceMean(y);
  const out = new Float64Array(maxLag + 1);
  if (maxLag + 1 <= 4 * Math.log2(size) && maxLag < frames) {
    // All lags k < T: up to eight lags per pass over the trace, each sum in t order.
    const single = y instanceof Float32Array;
    const acc = new Float64Array(maxLag + 8);
    for (let k0 = 0; k0 <= maxLag; k0 += 8) {
      lagProducts8(y, frames, mean, single, k0, k0 + 7 <= maxLag, acc);
    }
    for (let k = 0; k <= maxLag; k++) out[k] = acc[k] / frames;
    return out;
  }
  const x = centred(y, mean);
  if (maxLag + 1 <= 4 * Math.log2(size)) {
    for (let k = 0; k <= maxLag; k++) {
      const lag = k < frames ? k : k <= size - frames ? -1 : size - k;
      if (lag < 0) continue;
      let sum = 0;
      for (let t = 0; t + lag < frames; t++) sum += x[t] * x[t + lag];
      out[k] = sum / frames;
    }
    return out;
  }
  const plan = realFftPlan(size);
  const padded = new Float64Array(size);
  padded.set(x);
  const re = new Float64Array(plan.bins);
  const im = new Float64Array(plan.bins);
  plan.forward(padded, re, im);
  // |X_j|² is real and even, so IFFT(|X|²)_k = (1/N)·Re FFT(|X|²)_k.
  for (let j = 0; j < plan.bins; j++) {
    const power = re[j] * re[j] + im[j] * im[j];
    padded[j] = power;
    if (j > 0 && j < size - j) padded[size - j] = power;
  }
  plan.forward(padded, re, im);
  const norm = 1 / (size * frames);
  for (let k = 0; k <= maxLag; k++) {
    const idx = k < plan.bins ? k : size - k;
    out[k] = re[idx] * norm;
  }
  return out;
}

/** Frames per chunk of {@link lagProducts8} (its stores run per chunk, before the first too). */
const LAG_CHUNK = 4096;

/**
 * acc[k₀ + j] = Σ_{t ≤ T−1−k₀−j} x_t·x_{t+k₀+j} for j = 0…7 (j < 7 unless `eighth`),
 * x_t = y_t − mean (fl32 when single), each sum in t order. The pass runs over the later
 * factor u = t + k₀ + j: each frame x_u is read and centred once, x_{u−k₀−j} come from a
 * register delay line (0 before the trace starts: the products added there are exact zeros
 * for finite x), and lag k₀ + j receives x_{u−k₀−j}·x_u. The stores run once per chunk,
 * starting before the first, so code V8 compiles mid-loop has seen them; no statement before
 * the loop needs type feedback (V8 allocates it mid-loop on the first call).
 * @param y - the trace
 * @param frames - T, the length of y
 * @param mean - the mean removed from every frame
 * @param single - centre in float32 (Float32Array input)
 * @param k0 - first lag k₀
 * @param eighth - also accumulate lag k₀ + 7 (left 0 otherwise: p = 1 with 5 lags needs 7)
 * @param acc - output, length ≥ k₀ + 8
 */
function lagProducts8(
  y: Trace,
  frames: number,
  mean: number,
  single: boolean,
  k0: number,
  eighth: boolean,
  acc: Float64Array,
): void {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let a4 = 0;
  let a5 = 0;
  let a6 = 0;
  let a7 = 0;
  // d_j = x_{u−k₀−j} (0 for negative indices).
  let d1 = 0;
  let d2 = 0;
  let d3 = 0;
  let d4 = 0;
  let d5 = 0;
  let d6 = 0;
  let d7 = 0;
  let u = k0;
  for (;;) {
    acc[k0] = a0;
    acc[k0 + 1] = a1;
    acc[k0 + 2] = a2;
    acc[k0 + 3] = a3;
    acc[k0 + 4] = a4;
    acc[k0 + 5] = a5;
    acc[k0 + 6] = a6;
    acc[k0 + 7] = a7;
    if (u >= frames) return;
    const end = Math.min(frames, u + LAG_CHUNK);
    for (; u < end; u++) {
      const xu = single ? Math.fround(y[u] - mean) : y[u] - mean;
      const d0 = k0 === 0 ? xu : single ? Math.fround(y[u - k0] - mean) : y[u - k0] - mean;
      a0 += d0 * xu;
      a1 += d1 * xu;
      a2 += d2 * xu;
      a3 += d3 * xu;
      a4 += d4 * xu;
      a5 += d5 * xu;
      a6 += d6 * xu;
      if (eighth) a7 += d7 * xu;
      d7 = d6;
      d6 = d5;
      d5 = d4;
      d4 = d3;
      d3 = d2;
      d2 = d1;
      d1 = d0;
    }
  }
}

/**
 * Throws when lags −m…m cannot be read from the length-N autocovariance buffer (CaImAn's
 * IndexError for T = 1 and T = 2 with the default lags).
 */
function assertLagsFit(frames: number, lags: number, p: number): void {
  const size = autocovarianceLength(frames);
  const m = lags + p;
  if (frames < 1 || m > size - 1) {
    throw new DeconvolutionError(
      `trace of ${frames} frame(s) is too short to estimate g with lags = ${lags} and p = ${p}: ` +
        `autocovariance lags up to ${m} are needed but the FFT buffer of length ${size} holds ` +
        `lags up to ${size - 1}; use a longer trace, fewer lags, or give g`,
      'TraceTooShort',
    );
  }
}

function assertOrderAndLags(p: number, lags: number): void {
  if (!Number.isInteger(p) || p < 1) {
    throw new InvalidParameterError('p', p, 'an integer ≥ 1 for AR estimation');
  }
  if (!Number.isInteger(lags) || lags < 0) {
    throw new InvalidParameterError('lags', lags, 'a non-negative integer');
  }
}

/**
 * AR(p) coefficients of a trace (CaImAn `estimate_time_constant`, §3).
 *
 * @param y - the trace (Float32Array: float32 mean subtraction, as numpy)
 * @param p - AR order ≥ 1
 * @param sn - noise standard deviation (sn² is removed from the leading diagonal)
 * @param lags - extra autocovariance lags; m = lags + p equations
 * @param fudgeFactor - shrinkage applied to every root
 * @returns g = (g₁, …, g_p), float64
 * @throws InvalidParameterError for p < 1 or a negative / non-integer `lags`
 * @throws DeconvolutionError `TraceTooShort` when lag m does not fit the FFT buffer;
 *   `NonFiniteEstimate` when sn or the autocovariance is not finite (NaN trace or empty
 *   noise band), where CaImAn's least squares fails
 */
function estimateTimeConstant(
  y: Trace,
  p: number,
  sn: number,
  lags: number,
  fudgeFactor: number,
): Float64Array {
  assertOrderAndLags(p, lags);
  const frames = y.length;
  assertLagsFit(frames, lags, p);
  const m = lags + p;
  const gamma = circularAutocovariance(y, m);
  let finite = Number.isFinite(sn);
  for (let k = 0; k <= m; k++) finite &&= Number.isFinite(gamma[k]);
  if (!finite) {
    throw new DeconvolutionError(
      `cannot estimate g: the least-squares system is not finite (sn = ${sn}, ` +
        `autocovariance γ(0) = ${gamma[0]}) for a trace of ${frames} frames; ` +
        'expected a finite trace and a noise band containing at least one Welch bin',
      'NonFiniteEstimate',
    );
  }
  // A_{ij} = γ(|i − j|) − sn²·[i = j < p]; rhs_i = γ(i + 1) (§3 step 3).
  const a = new Float64Array(m * p);
  const rhs = new Float64Array(m);
  const sn2 = sn * sn;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < p; j++) a[i * p + j] = gamma[Math.abs(i - j)] - (i === j ? sn2 : 0);
    rhs[i] = gamma[i + 1];
  }
  const gLstsq = lstsqMinNorm(a, m, p, rhs);
  const roots = arRoots(gLstsq).re; // complex pairs become double real roots (§3 step 4)
  const draws = seed45Normals(p);
  let draw = 0;
  for (let i = 0; i < p; i++) if (roots[i] > 1) roots[i] = 0.95 + 0.01 * draws[draw++];
  for (let i = 0; i < p; i++) if (roots[i] < 0) roots[i] = 0.15 + 0.01 * draws[draw++];
  for (let i = 0; i < p; i++) roots[i] *= fudgeFactor; // §3 step 5
  const coef = polyFromRoots(roots);
  const g = new Float64Array(p);
  for (let i = 0; i < p; i++) g[i] = -coef[i + 1];
  return g;
}

/**
 * CaImAn `estimate_parameters`: sn first (GetSn) if missing, then g if missing, using that
 * sn. p = 0 with g missing gives g = [0].
 *
 * @param y - the trace (finite frames only; see `validSamples` in ./noise.ts)
 * @param p - AR order ≥ 0
 * @param sn - given noise level, or null to estimate it
 * @param g - given AR coefficients, or null to estimate them
 * @param noiseRange - PSD band [lo, hi] for GetSn
 * @param noiseMethod - 'mean', 'median' or 'logmexp'
 * @param lags - extra autocovariance lags
 * @param fudgeFactor - root shrinkage
 * @returns g (float64, a copy of the given one when present) and sn
 * @throws InvalidParameterError for an unknown noise method, p < 0 or bad lags
 * @throws DeconvolutionError `TraceTooShort`, `EmptyNoiseBand` (sn is NaN because no Welch
 *   bin lies strictly inside the band) or `NonFiniteEstimate`
 */
function estimateParameters(
  y: Trace,
  p: number,
  sn: number | null,
  g: number[] | null,
  noiseRange: [number, number],
  noiseMethod: string,
  lags: number,
  fudgeFactor: number,
): { g: Float64Array; sn: number } {
  const snOut = sn ?? getSn(y, noiseRange, noiseMethod);
  if (g !== null) return { g: Float64Array.from(g), sn: snOut };
  if (p === 0) return { g: new Float64Array(1), sn: snOut };
  assertOrderAndLags(p, lags);
  assertLagsFit(y.length, lags, p);
  if (Number.isNaN(snOut) && noiseBandBins(y.length, noiseRange) === 0) {
    const length = welchSegmentLength(y.length);
    throw new DeconvolutionError(
      `noise_range [${noiseRange[0]}, ${noiseRange[1]}] contains no Welch frequency bin for a ` +
        `trace of ${y.length} frames (segment length ${length}, bins j/${length}), so sn is NaN ` +
        `and g cannot be estimated; expected a band 0 ≤ lo < hi ≤ ${NYQUIST} that holds at least one ` +
        'bin strictly inside, a longer trace, or a given sn',
      'EmptyNoiseBand',
    );
  }
  return { g: estimateTimeConstant(y, p, snOut, lags, fudgeFactor), sn: snOut };
}

export {
  autocovarianceLength,
  circularAutocovariance,
  estimateParameters,
  estimateTimeConstant,
  validSamples,
};
