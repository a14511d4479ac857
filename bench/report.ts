/**
 * Helpers shared by the benchmarks: the median, the same-run baseline (one O(T) pass over a
 * trace) and a plain-text table.
 */

/** The median of xs (the mean of the two middle values for an even count). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The same-run baseline: one float64 pass over the trace (sum of squares). */
function scan(y: Float32Array | Float64Array): number {
  let acc = 0;
  for (let t = 0; t < y.length; t++) acc += y[t] * y[t];
  return acc;
}

/** Prints a header, a rule and the rows, each column padded to its widest cell. */
function printTable(header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(line(r));
}

export { median, printTable, scan };
