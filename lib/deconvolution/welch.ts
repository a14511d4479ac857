/**
 * Welch power spectral density with scipy `signal.welch` defaults and fs = 1
 * (deconvolution-algorithms.md §2 step 1):
 *
 *   P(f_j) = (1/K) Σ_k c_j·|Σ_n w_n (y_{kS+n} − ȳ_k) e^{−2πi·jn/L}|² / Σ_n w_n²,
 *
 * with segment length L = min(256, T), periodic Hann window w_n = 0.5 − 0.5·cos(2πn/L)
 * (w = [1] for L = 1), overlap ⌊L/2⌋, step S = L − ⌊L/2⌋, K = ⌊(T − ⌊L/2⌋)/S⌋ full
 * segments, ȳ_k the segment mean ("constant" detrend), one-sided factor c_j = 2 except at
 * DC and (for even L) Nyquist, and frequencies f_j = j·(1/L), j = 0…⌊L/2⌋ (scipy's
 * `rfftfreq` product, bit for bit).
 *
 * Computed in float64 whatever the input dtype (scipy works in the input precision; the
 * difference is ≤ 6e-7 relative, §2 "Precision"). Segments go two at a time through one
 * complex FFT (./fft.ts `segmentPowerPlan`), and for even L each segment sum is the sum of
 * its two half-blocks, each half-block summed once.
 */
import { segmentPowerPlan } from './fft.js';
import type { Trace } from './types.js';

/** Welch's default segment length (scipy nperseg). */
const WELCH_SEGMENT = 256;

/** Window and its energy for one segment length. */
interface WelchPlan {
  readonly length: number;
  readonly window: Float64Array;
  readonly windowEnergy: number;
}

const welchPlans = new Map<number, WelchPlan>();

function welchPlan(length: number): WelchPlan {
  let plan = welchPlans.get(length);
  if (plan === undefined) {
    const window = new Float64Array(length);
    if (length === 1) {
      window[0] = 1;
    } else {
      for (let n = 0; n < length; n++) window[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / length);
    }
    let windowEnergy = 0;
    for (let n = 0; n < length; n++) windowEnergy += window[n] * window[n];
    plan = { length, window, windowEnergy };
    welchPlans.set(length, plan);
  }
  return plan;
}

/**
 * Σ y[start : start + count], four interleaved running sums (y_{start+4i+r} into sum r).
 */
function blockSum(y: Trace, start: number, count: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = start + count;
  let t = start;
  for (; t + 4 <= end; t += 4) {
    s0 += y[t];
    s1 += y[t + 1];
    s2 += y[t + 2];
    s3 += y[t + 3];
  }
  for (; t < end; t++) s0 += y[t];
  return s0 + s1 + (s2 + s3);
}

/**
 * Welch segment length for a trace of T frames: L = min(256, T).
 * @param frames - trace length T ≥ 1
 */
function welchSegmentLength(frames: number): number {
  return Math.min(WELCH_SEGMENT, frames);
}

/**
 * Frequency of bin j for segment length L, as scipy's `rfftfreq` computes it: j·(1/L).
 * @param bin - bin index j
 * @param length - segment length L
 */
function welchFrequency(bin: number, length: number): number {
  return bin * (1 / length);
}

/**
 * One-sided Welch PSD of y (fs = 1), bins j = 0…⌊L/2⌋ with L = {@link welchSegmentLength}(T).
 * @param y - the trace, T ≥ 1 frames
 * @param out - optional output of length ≥ ⌊L/2⌋ + 1 (allocated when absent)
 * @returns the PSD P(f_j) (the `out` array when given)
 */
function welchPsd(y: Trace, out?: Float64Array): Float64Array {
  const frames = y.length;
  const length = welchSegmentLength(frames);
  const plan = welchPlan(length);
  const power = segmentPowerPlan(length);
  const bins = power.bins;
  const psd = out ?? new Float64Array(bins);
  const overlap = Math.floor(length / 2);
  const step = length - overlap;
  const segments = Math.floor((frames - overlap) / step);
  const { window } = plan;
  // ȳ_k from half-block sums when the halves tile the segment (even L: S = L/2); segments
  // are taken in order, so the upper half of one is the lower half of the next.
  const halves = step === overlap;
  let lowerHalf = halves ? blockSum(y, 0, step) : 0;
  const segmentMean = (start: number): number => {
    if (!halves) return blockSum(y, start, length) / length;
    const upperHalf = blockSum(y, start + step, step);
    const sum = lowerHalf + upperHalf;
    lowerHalf = upperHalf;
    return sum / length;
  };
  power.reset();
  for (let k = 0; k < segments; k += 2) {
    const startA = k * step;
    const meanA = segmentMean(startA);
    if (k + 1 < segments) {
      const startB = startA + step;
      power.add(y, startA, meanA, startB, segmentMean(startB), window);
    } else {
      power.add(y, startA, meanA, -1, 0, window);
    }
  }
  power.read(psd);
  // Density scaling 1/Σw², one-sided doubling (not DC, not Nyquist for even L), mean over K.
  const scale = 1 / (plan.windowEnergy * segments);
  const nyquist = length % 2 === 0 ? bins - 1 : -1;
  for (let j = 0; j < bins; j++) {
    const factor = j === 0 || j === nyquist ? 1 : 2;
    psd[j] *= factor * scale;
  }
  return psd;
}

export { WELCH_SEGMENT, welchFrequency, welchPsd, welchSegmentLength };
