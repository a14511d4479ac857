/**
 * Noise level from the high-frequency power spectrum (CaImAn `GetSn`,
 * deconvolution-algorithms.md §2):
 *
 *   sn = √( avg_{j : lo < f_j < hi} P(f_j)/2 ),
 *
 * where P is the one-sided Welch PSD (./welch.ts) and avg is the arithmetic mean
 * ('mean'), the median ('median', midpoint of the two middle values for an even count) or
 * exp(mean(ln ·)) ('logmexp'). For white noise of variance σ² the one-sided density is
 * 2σ², so P/2 ≈ σ².
 */
import { InvalidParameterError } from '../errors.js';
import { pairwiseSum } from './linalg.js';
import { NOISE_METHODS, type NoiseMethod, type Trace } from './types.js';
import { welchFrequency, welchPsd, welchSegmentLength } from './welch.js';

/** Largest PSD length: ⌊256/2⌋ + 1 bins. */
const MAX_BINS = 129;
const psdScratch = new Float64Array(MAX_BINS);
const bandScratch = new Float64Array(MAX_BINS);
const bandScratch32 = new Float32Array(MAX_BINS);

function isNoiseMethod(value: string): value is NoiseMethod {
  return (NOISE_METHODS as readonly string[]).includes(value);
}

/**
 * Number of Welch bins strictly inside (lo, hi) for a trace of T frames (§2 step 2).
 * Zero means {@link getSn} returns NaN.
 * @param frames - trace length T
 * @param noiseRange - [lo, hi] in cycles per frame
 */
function noiseBandBins(frames: number, noiseRange: [number, number]): number {
  if (frames < 1) return 0;
  const length = welchSegmentLength(frames);
  const bins = Math.floor(length / 2) + 1;
  let count = 0;
  for (let j = 0; j < bins; j++) {
    const f = welchFrequency(j, length);
    if (f > noiseRange[0] && f < noiseRange[1]) count++;
  }
  return count;
}

/**
 * Noise standard deviation of a trace (CaImAn `GetSn`).
 *
 * @param y - the trace (Float32Array: the band average is done in float32 and sn is a
 *   float32 value, as CaImAn's numpy float32)
 * @param noiseRange - [lo, hi]: PSD band in cycles per frame, both ends exclusive
 * @param noiseMethod - 'mean', 'median' or 'logmexp'
 * @returns sn; NaN when no Welch bin lies strictly inside the band (the caller raises);
 *   0 for a constant trace
 * @throws InvalidParameterError (parameter `noise_method`) for any other method name
 */
function getSn(y: Trace, noiseRange: [number, number], noiseMethod: string): number {
  if (!isNoiseMethod(noiseMethod)) {
    throw new InvalidParameterError('noise_method', noiseMethod, "'mean', 'median' or 'logmexp'");
  }
  const frames = y.length;
  if (frames < 1) return Number.NaN;
  const length = welchSegmentLength(frames);
  const psd = welchPsd(y, psdScratch);
  const bins = Math.floor(length / 2) + 1;
  const [lo, hi] = noiseRange;
  let count = 0;
  for (let j = 0; j < bins; j++) {
    const f = welchFrequency(j, length);
    if (f > lo && f < hi) bandScratch[count++] = psd[j] / 2; // Q = P/2, §2 step 3
  }
  if (count === 0) return Number.NaN;
  return y instanceof Float32Array ? average32(count, noiseMethod) : average64(count, noiseMethod);
}

/** §2 step 3 in float64 over bandScratch[0:count]. */
function average64(count: number, noiseMethod: string): number {
  if (noiseMethod === 'median') {
    const band = bandScratch.subarray(0, count).sort();
    const mid = count >>> 1;
    return Math.sqrt(count % 2 === 1 ? band[mid] : (band[mid - 1] + band[mid]) / 2);
  }
  const logs = noiseMethod === 'logmexp';
  let sum = 0;
  for (let i = 0; i < count; i++) sum += logs ? Math.log(bandScratch[i]) : bandScratch[i];
  return logs ? Math.sqrt(Math.exp(sum / count)) : Math.sqrt(sum / count);
}

/**
 * §2 step 3 in float32, as numpy evaluates it on scipy's float32 PSD: fl32 values and logs,
 * pairwise fl32 mean, fl32 exp and square root (fl32 midpoint for the median). The PSD
 * itself stays float64: emulating scipy's float32 Welch steps did not bring the goldens
 * closer (pocketfft's float32 rounding is not reproducible), while this final stage does
 * (golden g within 8e-7 instead of 5e-6).
 */
function average32(count: number, noiseMethod: string): number {
  const f = Math.fround;
  const band = bandScratch32;
  if (noiseMethod === 'median') {
    for (let i = 0; i < count; i++) band[i] = bandScratch[i];
    band.subarray(0, count).sort();
    const mid = count >>> 1;
    return f(Math.sqrt(count % 2 === 1 ? band[mid] : f(f(band[mid - 1] + band[mid]) / 2)));
  }
  const logs = noiseMethod === 'logmexp';
  for (let i = 0; i < count; i++)
    band[i] = logs ? Math.log(Math.fround(bandScratch[i])) : bandScratch[i];
  const mean = f(pairwiseSum(band, 0, count, true) / count);
  return f(Math.sqrt(logs ? f(Math.exp(mean)) : mean));
}

/**
 * The frames of y that are not NaN, in order, in the same typed-array kind (a copy).
 * @param y - the trace
 */
function validSamples(y: Trace): Trace {
  let valid = 0;
  for (let t = 0; t < y.length; t++) if (!Number.isNaN(y[t])) valid++;
  const out = y instanceof Float32Array ? new Float32Array(valid) : new Float64Array(valid);
  let k = 0;
  for (let t = 0; t < y.length; t++) if (!Number.isNaN(y[t])) out[k++] = y[t];
  return out;
}

export { getSn, noiseBandBins, validSamples };
