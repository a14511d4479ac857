/**
 * `npx tsx bench/cvx.bench.ts`: per-trace time of the 'cvxpy' method (cvxpyFoopsi, §7) for
 * each conic solver family at 2 000 and 36 000 frames, on the anchor's benchmark traces
 * (CaImAn's generator, AR(1) g = 0.95 and AR(2) g = (1.7, −0.71), sn 0.3, baseline 10)
 * with the true g and sn, so only the solve is timed.
 *
 * Baseline measured in the same run: one O(T) float64 pass over the trace (sum of squares);
 * "× scan" is the cost in memory passes. Also printed: CPU time (process.cpuUsage), which is
 * less sensitive to other processes on a shared machine than the wall clock.
 * Goal (issue 6): the interior-point method (ECOS) under 0.5 s at 36 000 frames.
 * SCS (first-order, thousands of O(T) iterations) runs on one trace at 36 000 frames.
 */
import { performance } from 'node:perf_hooks';
import type { CvxResult } from '../lib/deconvolution/cvx/cvxpyFoopsi.js';
import { cvxpyFoopsi } from '../lib/deconvolution/cvx/cvxpyFoopsi.js';
import type { ConicSolverName } from '../lib/deconvolution/types.js';
import { genBenchTraces } from '../test/helpers/genData.js';
import { median, printTable, scan } from './report.js';

const KERNELS: Record<1 | 2, number[]> = { 1: [0.95], 2: [1.7, -0.71] };
const SOLVERS: ConicSolverName[] = ['ECOS', 'CVXOPT', 'SCS'];

const rows: string[][] = [];
let sink = 0;
for (const p of [1, 2] as const) {
  for (const [T, n] of [
    [2000, 3],
    [36000, 2],
  ] as const) {
    const warm = Float64Array.from(genBenchTraces(p, 1, 500)[0]);
    const all = genBenchTraces(p, n, T).map((y) => Float64Array.from(y));
    const t0 = performance.now();
    for (let r = 0; r < 20; r++) for (const y of all) sink += scan(y);
    const scanS = (performance.now() - t0) / 1000 / (20 * all.length);
    for (const solver of SOLVERS) {
      // SCS needs thousands of O(T) iterations: one trace at 36 000 frames is enough
      const traces = solver === 'SCS' && T > 2000 ? all.slice(0, 1) : all;
      const other: ConicSolverName = solver === 'SCS' ? 'ECOS' : 'SCS';
      const solve = (y: Float64Array): CvxResult =>
        cvxpyFoopsi(y, KERNELS[p], 0.3, {
          bl: null,
          c1: null,
          basNonneg: true,
          solvers: [solver, other],
        });
      solve(warm); // warm-up (JIT) on a short trace
      const wall: number[] = [];
      const cpu: number[] = [];
      let last: CvxResult | null = null;
      for (const y of traces) {
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        last = solve(y);
        wall.push((performance.now() - w0) / 1000);
        const dc = process.cpuUsage(c0);
        cpu.push((dc.user + dc.system) / 1e6);
      }
      const med = median(wall);
      const goal =
        solver === 'ECOS' && T === 36000 ? (med < 0.5 ? 'ok (<0.5 s)' : 'MISSED (≥0.5 s)') : '';
      rows.push([
        `p=${p}`,
        `${traces.length}×${T}`,
        solver,
        `${last?.problem}/${last?.solver}/${last?.status}`,
        (med * 1000).toFixed(1),
        (median(cpu) * 1000).toFixed(1),
        `${(med / scanS).toFixed(0)}× scan`,
        goal,
      ]);
    }
  }
}
printTable(
  ['order', 'traces', 'solver', 'outcome', 'ms/trace', 'cpu ms', 'vs same-run scan', 'goal'],
  rows,
);
if (sink === 0) console.log('');
