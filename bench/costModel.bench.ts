/**
 * `npm run bench:cost`: measures the per-trace coefficients of lib/job/costModel.ts. Times
 * `constrainedFoopsi` exactly as the job calls it (toFoopsiParams of the parsed tool parameters,
 * everything else 'auto') on one thread, on AR traces (test/helpers/genData.ts genBenchTraces),
 * at several T per engine, fits seconds = a·T^b by least squares on log T / log s (T ≥ 2 000),
 * and prints the
 * fit next to the coefficients in the file. SCS is timed at T ≤ 8 000 only (it takes thousands of
 * O(T) iterations); beyond that the model extrapolates the power law. Also prints the ratio of
 * optimize_g = 1 and s_min = 0 to the default at p = 1 (oasis) next to the model's factors.
 * Prints the CPU time (process.cpuUsage), less sensitive to the VM's neighbours than the wall.
 */
import { cpus } from 'node:os';
import { constrainedFoopsi } from '../lib/deconvolution/constrainedFoopsi.js';
import { type CostEngine, OASIS_OPTIONS_FACTOR, PER_TRACE } from '../lib/job/costModel.js';
import { toFoopsiParams } from '../lib/job/foopsiParams.js';
import { lagsFor, parseToolParams } from '../lib/job/params.js';
import { genBenchTraces } from '../test/helpers/genData.js';
import { median, printTable } from './report.js';

const QUICK = process.argv.includes('--quick');
const FAST_T = QUICK ? [1000, 4000, 16000] : [1000, 4000, 16000, 36000];
const SCS_T = QUICK ? [1000, 2000, 4000] : [1000, 2000, 4000, 8000];
/** T = 1 000 is printed but not fitted: the JIT and the per-call overhead dominate it. */
const FIT_FROM_T = 2000;

const slowSolver = (raw: Record<string, unknown>) => String(raw.solvers ?? '').startsWith('SCS');

/** CPU seconds of one trace: the median over `reps` traces. */
function timeTrace(raw: Record<string, unknown>, p: 1 | 2, T: number, reps: number): number {
  const tool = parseToolParams({ ...raw, p });
  const params = toFoopsiParams(tool, lagsFor(tool, T));
  // warm-up (JIT) on a trace of the same length (SCS: 1 000 frames), not timed
  constrainedFoopsi(genBenchTraces(p, 1, slowSolver(raw) ? 1000 : T)[0], params);
  const out: number[] = [];
  for (const y of genBenchTraces(p, reps, T)) {
    const c0 = process.cpuUsage();
    constrainedFoopsi(y, params);
    const dc = process.cpuUsage(c0);
    out.push((dc.user + dc.system) / 1e6);
  }
  return median(out);
}

/** Least-squares fit of log s = log a + b·log T. */
function fitPowerLaw(pts: [number, number][]): { a: number; b: number } {
  const xs = pts.map(([t]) => Math.log(t));
  const ys = pts.map(([, s]) => Math.log(s));
  const mx = xs.reduce((u, v) => u + v, 0) / xs.length;
  const my = ys.reduce((u, v) => u + v, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const b = sxy / sxx;
  return { a: Math.exp(my - b * mx), b };
}

const ENGINES: { engine: CostEngine; raw: Record<string, unknown>; p: 1 | 2; Ts: number[] }[] = [
  { engine: 'oasis-p1', raw: {}, p: 1, Ts: FAST_T },
  { engine: 'oasis-p2', raw: {}, p: 2, Ts: FAST_T },
  {
    engine: 'ECOS-p1',
    raw: { method_deconvolution: 'cvxpy', solvers: 'ECOS,SCS' },
    p: 1,
    Ts: FAST_T,
  },
  {
    engine: 'ECOS-p2',
    raw: { method_deconvolution: 'cvxpy', solvers: 'ECOS,SCS' },
    p: 2,
    Ts: FAST_T,
  },
  {
    engine: 'CVXOPT-p1',
    raw: { method_deconvolution: 'cvxpy', solvers: 'CVXOPT,SCS' },
    p: 1,
    Ts: FAST_T,
  },
  {
    engine: 'CVXOPT-p2',
    raw: { method_deconvolution: 'cvxpy', solvers: 'CVXOPT,SCS' },
    p: 2,
    Ts: FAST_T,
  },
  {
    engine: 'SCS-p1',
    raw: { method_deconvolution: 'cvxpy', solvers: 'SCS,ECOS' },
    p: 1,
    Ts: SCS_T,
  },
  {
    engine: 'SCS-p2',
    raw: { method_deconvolution: 'cvxpy', solvers: 'SCS,ECOS' },
    p: 2,
    Ts: SCS_T,
  },
];

console.log(`machine: ${cpus()[0].model}, ${new Date().toISOString().slice(0, 10)}`);
const rows: string[][] = [];
for (const { engine, raw, p, Ts } of ENGINES) {
  const slow = engine.startsWith('SCS');
  const pts: [number, number][] = Ts.map((T) => {
    const reps = slow ? 1 : raw.method_deconvolution === 'cvxpy' ? (T > 4000 ? 2 : 5) : 15;
    return [T, timeTrace(raw, p, T, reps)];
  });
  const fit = fitPowerLaw(pts.filter(([T]) => T >= FIT_FROM_T));
  const file = PER_TRACE[engine];
  const at36k = (l: { a: number; b: number }) => (l.a * 36000 ** l.b).toPrecision(3);
  rows.push([
    engine,
    pts.map(([T, s]) => `${T}:${s.toPrecision(3)}`).join(' '),
    `${fit.a.toExponential(3)}·T^${fit.b.toFixed(3)}`,
    `${file.a.toExponential(3)}·T^${file.b.toFixed(3)}`,
    `${at36k(fit)} / ${at36k(file)}`,
  ]);
  console.log(`${engine}: fitted { a: ${fit.a.toExponential(3)}, b: ${fit.b.toFixed(3)} }`);
}
printTable(
  ['engine', 'T:seconds per trace (CPU)', 'fitted', 'in costModel.ts', 's @36 000 fit/file'],
  rows,
);

// parameters the model does not price, at p = 1 (oasis), 36 000 frames (16 000 with --quick)
const T = FAST_T[FAST_T.length - 1];
const base = timeTrace({}, 1, T, 15);
const ratios = [
  [
    `optimize_g = 1 (file: ${OASIS_OPTIONS_FACTOR.optimize_g})`,
    timeTrace({ optimize_g: 1 }, 1, T, 15) / base,
  ],
  [`s_min = 0 (file: ${OASIS_OPTIONS_FACTOR.s_min0})`, timeTrace({ s_min: 0 }, 1, T, 15) / base],
  ['sn, g given (no estimation)', timeTrace({ sn: 0.3, g: '0.95' }, 1, T, 15) / base],
] as const;
for (const [name, r] of ratios)
  console.log(`oasis p=1, T=${T}: ${name} / default = ${r.toFixed(2)}×`);
