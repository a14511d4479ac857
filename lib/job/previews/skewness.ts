/**
 * Sample skewness g₁ = m₃ / m₂^{3/2} with mₖ = (1/n)·Σ (vᵢ − mean)^k over the finite values.
 * Kept apart from the SVG code (d3) so the deconvolution workers do not load it.
 */

/**
 * n, the mean and the central moments mₖ = (1/n)·Σ (vᵢ − mean)^k (k = 2, 3) of the finite values,
 * in two passes (no division per sample). mean, m2 and m3 are NaN when n = 0.
 */
function finiteMoments(values: ArrayLike<number>): {
  n: number;
  mean: number;
  m2: number;
  m3: number;
} {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      n++;
      sum += v;
    }
  }
  const mean = sum / n;
  let m2 = 0;
  let m3 = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const d = v - mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  return { n, mean, m2: m2 / n, m3: m3 / n };
}

/** g₁ = m₃ / m₂^{3/2} from n finite values' central moments (NaN when n < 3 or m₂ = 0). */
function skewnessOf(n: number, m2: number, m3: number): number {
  if (n < 3 || m2 === 0) return Number.NaN;
  return m3 / m2 ** 1.5;
}

/** Sample skewness over the finite values (NaN when fewer than 3 or zero variance). */
function skewness(values: ArrayLike<number>): number {
  const { n, m2, m3 } = finiteMoments(values);
  return skewnessOf(n, m2, m3);
}

export { finiteMoments, skewness, skewnessOf };
