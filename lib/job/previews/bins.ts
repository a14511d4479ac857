/**
 * Display bins of a trace, shared by the traces preview and report.html: bin b of n over T
 * frames holds frames [⌊bT/n⌋, ⌊(b+1)T/n⌋) (integer arithmetic, so the bins partition the
 * frames exactly), and a bin is drawn by its minimum and maximum (no peak is lost).
 */

/** First frame of bin b of `bins` over T frames (⌊bT/n⌋). */
function binStart(b: number, bins: number, T: number): number {
  return Math.floor((b * T) / bins);
}

/** The bin holding frame t: the largest b with ⌊bT/n⌋ ≤ t, i.e. ⌈(t+1)n/T⌉ − 1. */
function binOf(t: number, bins: number, T: number): number {
  return bins === T ? t : Math.ceil(((t + 1) * bins) / T) - 1;
}

/**
 * For each of `bins` bins of `values`, the frames of its finite minimum and maximum (the first
 * of equal values; −1 for a bin without a finite value), in extremes[2b] and extremes[2b + 1].
 */
function binExtremes(values: Float32Array, bins: number, extremes: Int32Array): void {
  const T = values.length;
  for (let b = 0; b < bins; b++) {
    const f1 = binStart(b + 1, bins, T);
    let vMin = Number.POSITIVE_INFINITY;
    let vMax = Number.NEGATIVE_INFINITY;
    let iMin = -1;
    let iMax = -1;
    for (let t = binStart(b, bins, T); t < f1; t++) {
      const v = values[t];
      if (!Number.isFinite(v)) continue;
      if (v < vMin) {
        vMin = v;
        iMin = t;
      }
      if (v > vMax) {
        vMax = v;
        iMax = t;
      }
    }
    extremes[2 * b] = iMin;
    extremes[2 * b + 1] = iMax;
  }
}

export { binExtremes, binOf, binStart };
