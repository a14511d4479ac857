/**
 * The cost model of the plan (pure, no AWS): the predicted seconds to deconvolve one trace of T
 * frames for the job's parameters, and the predicted seconds of a chunk of n such traces, so
 * lib/job/plan.ts can cut chunks to a time budget well inside the 15-minute Lambda limit.
 *
 * Per-trace time is a power law a·T^b per engine, fitted on this machine by
 * `npm run bench:cost` (bench/costModel.bench.ts, which prints the fitted values next to these).
 *
 * What is charged for 'cvxpy' (lib/deconvolution/cvx/cvxpyFoopsi.ts): the primary problem with
 * solvers[0] and, since the noise ball can be infeasible (then the penalised fallback problem
 * runs, again with solvers[0] first), a second solve of the same size with solvers[0]: 2·t(s0).
 * solvers[1] runs only after a solver error of solvers[0] (no certificate), assumed rare for the
 * interior-point methods; it is not charged, so 'ECOS,SCS' is priced as ECOS (a chunk that does
 * hit it is still inside the 3× margin of CHUNK_BUDGET_SECONDS for a few traces). A primary
 * 'SCS' is priced as SCS (twice), whatever the second solver. SCS's iteration count varies from
 * trace to trace (one trace timed per T), so its law is the least certain.
 * For 'oasis', optimize_g > 0 and s_min = 0 multiply the time (OASIS_OPTIONS_FACTOR); the noise
 * estimation (sn, g 'auto') is inside the measured time (it is the default).
 */
import type { ConicSolverName } from '../deconvolution/types.js';
import type { ToolParams } from './params.js';

/** One engine's per-trace time, seconds = a·T^b (T frames). */
interface PowerLaw {
  a: number;
  b: number;
}

/** The engines the model prices. */
type CostEngine = 'oasis-p1' | 'oasis-p2' | `${'ECOS' | 'CVXOPT' | 'SCS'}-p${1 | 2}`;

/**
 * Per-trace seconds = a·T^b, measured by `npm run bench:cost` on this development VM
 * (2 cores, "AMD EPYC", shared with other jobs), one thread, constrainedFoopsi as the job calls
 * it (everything 'auto'), on AR traces (g 0.95 / 1.7, −0.71, sn 0.3, b 10).
 */
const PER_TRACE: Record<CostEngine, PowerLaw> = {
  // 4.606e-7·T^0.836 (3.0 ms at 36 000), measured 2026-12-02, AMD EPYC, T = 4 000 … 36 000
  'oasis-p1': { a: 4.606e-7, b: 0.836 },
  // 7.897e-8·T^1.111 (9.1 ms at 36 000), measured 2026-12-02, AMD EPYC, T = 4 000 … 36 000
  'oasis-p2': { a: 7.897e-8, b: 1.111 },
  // 1.656e-5·T^0.935 (0.30 s at 36 000), measured 2026-12-02, AMD EPYC, T = 4 000 … 36 000
  'ECOS-p1': { a: 1.656e-5, b: 0.935 },
  // 8.557e-6·T^1.009 (0.34 s at 36 000), measured 2026-12-02, AMD EPYC, T = 4 000 … 36 000
  'ECOS-p2': { a: 8.557e-6, b: 1.009 },
  // 2.703e-6·T^1.088 (0.25 s at 36 000), measured 2026-12-02, AMD EPYC, T = 4 000 … 36 000
  'CVXOPT-p1': { a: 2.703e-6, b: 1.088 },
  // 3.710e-6·T^1.082 (0.32 s at 36 000), measured 2026-12-02, AMD EPYC, T = 4 000 … 36 000
  'CVXOPT-p2': { a: 3.71e-6, b: 1.082 },
  // 6.587e-7·T^1.625 (17 s at 36 000), measured 2026-12-02, AMD EPYC, T = 2 000 … 8 000, extrapolated
  'SCS-p1': { a: 6.587e-7, b: 1.625 },
  // 4.582e-4·T^1.079 (38 s at 36 000), measured 2026-12-02, AMD EPYC, T = 2 000 … 8 000, extrapolated
  'SCS-p2': { a: 4.582e-4, b: 1.079 },
};

/**
 * OASIS options that add passes over the trace (measured at p = 1, 36 000 frames, 2026-12-02,
 * AMD EPYC: optimize_g = 1 3.1×, s_min = 0 2.5× the default's time); they multiply. They do not
 * apply to 'cvxpy'. Not priced: sn and g given (0.9×, noise estimation is ≈ 10 % of the time).
 */
const OASIS_OPTIONS_FACTOR = { optimize_g: 3.2, s_min0: 2.5 } as const;

/**
 * Lambda arm64 (Graviton) over this x86 VM: 3×. At 1 769 MB a function has one vCPU
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), and the engine is
 * single-threaded float64 code whose speed per core on Graviton2 is about half a modern x86
 * core (2×); the remaining 1.5× covers the spread of this shared VM (up to 2× between days,
 * README "Benchmarks") and of the power-law extrapolation beyond the measured T.
 */
const ARM64_SAFETY_FACTOR = 3;

/**
 * Fixed cost of a Lambda chunk besides deconvolution, seconds: function start (a cold start of
 * the bundle is ≈ 1 s), the ranged read of the chunk's input and the write of its part file
 * (≤ 64 MiB each way at S3's ≥ 50 MB/s per connection ≈ 1.3 s each), and the job record reads.
 * Estimated, not measured on AWS.
 */
const CHUNK_OVERHEAD_SECONDS = 5;

/**
 * Fixed cost of a local chunk: reading ≤ 2 MiB from the file and writing its part file, a few
 * ms on this VM (the whole job's start-up, plan and assembly are 0.12 s for 200 cells, README
 * "Benchmarks"); 0.01 s, an upper bound.
 */
const LOCAL_CHUNK_OVERHEAD_SECONDS = 0.01;

/**
 * The predicted time budget of one chunk: 300 s, a third of the 900 s Lambda timeout
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html). The margin covers
 * a prediction off by up to 3× beyond the safety factor (a slow neighbour, a trace whose solver
 * takes many more iterations than the benchmark's) before a chunk times out.
 */
const CHUNK_BUDGET_SECONDS = 300;

/** The parameters the cost depends on. */
type CostParams = Pick<
  ToolParams,
  'method_deconvolution' | 'p' | 'solvers' | 'optimize_g' | 's_min'
>;

/** The engine that dominates the time of one trace for these parameters. */
function costEngine(params: CostParams): CostEngine {
  const p = params.p === 2 ? 2 : 1;
  // p = 0 only estimates the noise and passes the trace through, whatever the method: priced
  // as oasis AR(1), an upper bound of that work.
  if (params.p === 0 || params.method_deconvolution !== 'cvxpy') return `oasis-p${p}`;
  const solver: ConicSolverName = params.solvers[0];
  return `${solver}-p${p}`;
}

/**
 * Multiple of the engine's one-solve time charged per trace: 'cvxpy' 2 (the primary problem and
 * the fallback when the noise ball is infeasible); 'oasis' the product of its option factors.
 */
function chargedSolves(params: CostParams): number {
  if (params.p === 0) return 1;
  if (params.method_deconvolution === 'cvxpy') return 2;
  let k = 1;
  if (params.optimize_g > 0) k *= OASIS_OPTIONS_FACTOR.optimize_g;
  if (params.s_min === 0) k *= OASIS_OPTIONS_FACTOR.s_min0;
  return k;
}

/**
 * Predicted seconds to deconvolve one trace of `frames` frames on this machine (factor 1) or on
 * the Lambda target (factor {@link ARM64_SAFETY_FACTOR}).
 */
function traceSeconds(params: CostParams, frames: number, factor = 1): number {
  const { a, b } = PER_TRACE[costEngine(params)];
  return factor * chargedSolves(params) * a * frames ** b;
}

/** Predicted seconds of a chunk of `cells` traces: the fixed overhead plus cells · per trace. */
function chunkSeconds(perTrace: number, cells: number, overhead = CHUNK_OVERHEAD_SECONDS): number {
  return overhead + cells * perTrace;
}

/** The most cells whose chunk fits `budget` seconds (0 when even one trace does not). */
function cellsWithinBudget(
  perTrace: number,
  budget: number,
  overhead = CHUNK_OVERHEAD_SECONDS,
): number {
  const room = budget - overhead;
  if (room < perTrace) return 0;
  return perTrace > 0 ? Math.floor(room / perTrace) : Number.POSITIVE_INFINITY;
}

export type { CostEngine, CostParams, PowerLaw };
export {
  ARM64_SAFETY_FACTOR,
  CHUNK_BUDGET_SECONDS,
  CHUNK_OVERHEAD_SECONDS,
  cellsWithinBudget,
  chargedSolves,
  chunkSeconds,
  costEngine,
  LOCAL_CHUNK_OVERHEAD_SECONDS,
  OASIS_OPTIONS_FACTOR,
  PER_TRACE,
  traceSeconds,
};
