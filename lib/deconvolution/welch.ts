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
 * difference is ≤ 6e-7 relative, §2 "Precision").
 */
import { realFftPlan } from './fft.js';
import type { Trace } from './types.js';

/** Welch's default segment length (scipy nperseg). */
const WELCH_SEGMENT = 256;

/** Window, its energy and scratch buffers for one segment length. */
interface WelchPlan {
  readonly length: number;
  readonly window: Float64Array;
  readonly windowEnergy: number;
  readonly segment: Float64Array;
  readonly re: Float64Array;
  readonly im: Float64Array;
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
    const bins = Math.floor(length / 2) + 1;
    plan = {
      length,
      window,
      windowEnergy,
      segment: new Float64Array(length),
      re: new Float64Array(bins),
      im: new Float64Array(bins),
    };
    welchPlans.set(length, plan);
  }
  return plan;
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
  const fft = realFftPlan(length);
  const bins = fft.bins;
  const psd = out ?? new Float64Array(bins);
  psd.fill(0, 0, bins);
  const overlap = Math.floor(length / 2);
  const step = length - overlap;
  const segments = Math.floor((frames - overlap) / step);
  const { window, segment, re, im } = plan;
  for (let k = 0; k < segments; k++) {
    const start = k * step;
    let sum = 0;
    for (let n = 0; n < length; n++) sum += y[start + n];
    const mean = sum / length;
    for (let n = 0; n < length; n++) segment[n] = (y[start + n] - mean) * window[n];
    fft.forward(segment, re, im);
    for (let j = 0; j < bins; j++) psd[j] += re[j] * re[j] + im[j] * im[j];
  }
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
