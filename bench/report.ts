/**
 * Helpers shared by the benchmarks: the median, the same-run baselines (one O(T) pass over a
 * trace; the fixed reference workload that scales CaImAn's recorded times to this machine's speed
 * now) and a plain-text table.
 */
import { performance } from 'node:perf_hooks';

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

/**
 * The fixed reference workload: Σ (y_t − 0.95·y_{t−1})² over every trace, one float32 O(T)
 * pass (float64 accumulation), the shape of CaImAn's per-frame work, single-threaded as CaImAn
 * runs. Timed on set A's traces (the anchor's 200 × 36 000, p = 1). Never change it: its
 * calibration time would no longer hold.
 */
function referencePass(traces: Float32Array[]): number {
  let acc = 0;
  for (const y of traces) {
    let prev = y[0];
    for (let t = 1; t < y.length; t++) {
      const r = y[t] - 0.95 * prev;
      acc += r * r;
      prev = y[t];
    }
  }
  return acc;
}

/**
 * {@link referencePass} on set A's traces, fastest round, measured on the 2-core development VM
 * on {@link REFERENCE_DATE} (the calibration day). The anchor recorded no reference workload, so
 * this is taken to stand for the machine's speed when CaImAn was timed (the same VM size).
 */
const REFERENCE_CALIBRATION_S = 0.0083;
const REFERENCE_DATE = '2026-12-02';
/** Reference rounds per timing block; each round is REFERENCE_PASSES passes. */
const REFERENCE_ROUNDS = 15;
const REFERENCE_PASSES = 3;

/** Seconds per {@link referencePass}, each round's mean over its passes; every round. */
function timeReference(traces: Float32Array[]): number[] {
  const rounds: number[] = [];
  let sink = 0;
  for (let i = 0; i < REFERENCE_ROUNDS; i++) {
    const t0 = performance.now();
    for (let k = 0; k < REFERENCE_PASSES; k++) sink += referencePass(traces);
    rounds.push((performance.now() - t0) / 1000 / REFERENCE_PASSES);
  }
  if (!Number.isFinite(sink)) throw new Error('reference pass diverged');
  return rounds;
}

/**
 * How much slower (> 1) or faster this machine runs the reference now than on the calibration
 * day, from the fastest of `rounds` (the smallest factor: CaImAn's scaled time errs on its side),
 * and the line the benches print about it.
 */
function machineFactor(rounds: number[]): { factor: number; line: string } {
  const ref = Math.min(...rounds);
  const factor = ref / REFERENCE_CALIBRATION_S;
  return {
    factor,
    line: `reference pass (fixed float32 O(T) kernel over set A's traces): ${(1000 * ref).toFixed(2)} ms now (fastest of ${rounds.length} rounds) vs ${(1000 * REFERENCE_CALIBRATION_S).toFixed(2)} ms on ${REFERENCE_DATE}: machine speed factor ${factor.toFixed(2)}`,
  };
}

/** Prints a header, a rule and the rows, each column padded to its widest cell. */
function printTable(header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(line(r));
}

export { machineFactor, median, printTable, scan, timeReference };
