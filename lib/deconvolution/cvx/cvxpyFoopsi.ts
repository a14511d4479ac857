/**
 * The 'cvxpy' deconvolution method (deconvolution-algorithms.md §7; Pnevmatikakis et al.
 * 2016), with native conic solvers:
 *
 *   primary:   min Σ(Gc)  s.t. Gc ≥ 0, ‖y − c − b − c1·dᵗ‖₂ ≤ sn·√T, b ≥ b_lb, c1 ≥ 0
 *   fallback:  min ‖y − c − b − c1·dᵗ‖₂ + (sn/500)·Σ(Gc)  s.t. the same without the ball
 *
 * b is a variable only when bl is null and c1 only when c1 is null (given values are
 * constants); b_lb = 0 if basNonneg else min(y); d is the dominant AR root.
 *
 * Order of solves: primary with solvers[0]; on a solver error (no certificate) the primary
 * again with solvers[1]; if the primary is not solved (infeasible or failed) the fallback
 * with solvers[0], then solvers[1]; if that fails too, c = sp = y, b = 0, c1 = 0. Two equal
 * names are one solver: each problem is tried with it once.
 *
 * Output convention (checked against golden `expected.c`): c is the variable c itself,
 * i.e. WITHOUT the baseline and WITHOUT the initial transient c1·dᵗ (the transient is a
 * separate variable, never added to c), and sp = Gc in full (sp₀ = c₀).
 * ECOS and CVXOPT map to the interior-point method, SCS to the operator-splitting method.
 */
import { DeconvolutionError, InvalidParameterError } from '../../errors.js';
import { CONIC_SOLVERS, type ConicSolverName } from '../types.js';
import { solveAdmm } from './admm.js';
import type { ConicSolution } from './interiorPoint.js';
import { CVXOPT_OPTIONS, ECOS_OPTIONS, solveInteriorPoint } from './interiorPoint.js';
import type { ConeProblem, ProblemKind } from './problem.js';
import { applyG, buildProblem, dominantRoot } from './problem.js';

/** Options of {@link cvxpyFoopsi} (CaImAn's keyword arguments, already validated). */
interface CvxOptions {
  /** Fixed baseline, or null to make b a variable. */
  bl: number | null;
  /** Fixed initial calcium, or null to make c1 a variable. */
  c1: number | null;
  /** b ≥ 0 when true, else b ≥ min(y). */
  basNonneg: boolean;
  /** First and second conic solver. */
  solvers: [ConicSolverName, ConicSolverName];
}

/** Result of {@link cvxpyFoopsi}. */
interface CvxResult {
  /** Calcium c (no baseline, no c1·dᵗ transient). */
  c: Float64Array;
  /** Activity sp = Gc, full vector. */
  sp: Float64Array;
  /** Baseline: the variable's value or the given constant (0 when problem is 'none'). */
  bl: number;
  /** Initial calcium: the variable's value or the given constant (0 when 'none'). */
  c1: number;
  /** Which problem produced the answer. */
  problem: 'primary' | 'fallback' | 'none';
  /** Status line, e.g. 'optimal' or 'primal infeasible -> fallback optimal'. */
  status: string;
  /** Solver whose answer is returned (the last one tried when problem is 'none'). */
  solver: ConicSolverName;
}

/** Runs one named conic solver on P. */
function solveWith(P: ConeProblem, solver: ConicSolverName): ConicSolution {
  if (solver === 'SCS') return solveAdmm(P);
  return solveInteriorPoint(P, solver === 'CVXOPT' ? CVXOPT_OPTIONS : ECOS_OPTIONS);
}

function accepted(sol: ConicSolution): boolean {
  return sol.status === 'optimal' || sol.status === 'optimal_inaccurate';
}

function statusText(sol: ConicSolution): string {
  if (sol.status === 'infeasible') return 'primal infeasible';
  if (sol.status === 'unbounded') return 'dual infeasible';
  if (sol.status === 'solver_error') return 'solver error';
  return sol.status;
}

function validate(y: Float64Array, g: ArrayLike<number>, sn: number, opts: CvxOptions): void {
  if (y.length < 1)
    throw new InvalidParameterError('fluor', `length ${y.length}`, 'at least one frame');
  for (let t = 0; t < y.length; t++) {
    if (!Number.isFinite(y[t])) {
      throw new InvalidParameterError('fluor', `${y[t]} at frame ${t}`, 'finite values');
    }
  }
  if (g.length < 1)
    throw new InvalidParameterError('g', Array.from(g), 'at least one AR coefficient (p ≥ 1)');
  for (let i = 0; i < g.length; i++) {
    if (!Number.isFinite(g[i]))
      throw new InvalidParameterError('g', Array.from(g), 'finite values');
  }
  if (!(Number.isFinite(sn) && sn >= 0))
    throw new InvalidParameterError('sn', sn, 'a finite value ≥ 0');
  if (opts.bl !== null && !Number.isFinite(opts.bl)) {
    throw new InvalidParameterError('bl', opts.bl, 'a finite number or null');
  }
  if (opts.c1 !== null && !Number.isFinite(opts.c1)) {
    throw new InvalidParameterError('c1', opts.c1, 'a finite number or null');
  }
  if (opts.solvers.length !== 2 || !opts.solvers.every((s) => CONIC_SOLVERS.includes(s))) {
    throw new InvalidParameterError('solvers', opts.solvers, `two of ${CONIC_SOLVERS.join(', ')}`);
  }
}

/**
 * CaImAn's 'cvxpy' method: the noise-constrained convex deconvolution of y (§7) with AR
 * coefficients g and noise level sn, falling back to the penalised problem when the
 * noise ball is infeasible.
 */
function cvxpyFoopsi(
  y: Float64Array,
  g: Float64Array | number[],
  sn: number,
  opts: CvxOptions,
): CvxResult {
  validate(y, g, sn, opts);
  const gv = Float64Array.from(g);
  const [d, dIm] = dominantRoot(gv);
  if (dIm !== 0) {
    throw new DeconvolutionError(
      `cvxpy: the dominant root of the AR polynomial for g = [${Array.from(gv).join(', ')}] is complex (${d} ± ${Math.abs(dIm)}i); expected a real root for the decay vector d^t`,
      'ComplexRoot',
    );
  }
  const T = y.length;
  const decay = new Float64Array(T);
  let dt = 1;
  for (let t = 0; t < T; t++) {
    decay[t] = dt;
    dt *= d;
  }
  const yw = Float64Array.from(y);
  if (opts.bl !== null) for (let t = 0; t < T; t++) yw[t] -= opts.bl;
  if (opts.c1 !== null) {
    const c1 = opts.c1;
    for (let t = 0; t < T; t++) yw[t] -= c1 * decay[t];
  }
  let yMin = Number.POSITIVE_INFINITY;
  for (let t = 0; t < T; t++) if (y[t] < yMin) yMin = y[t];
  const input = {
    y: yw,
    g: gv,
    decay,
    hasB: opts.bl === null,
    hasC1: opts.c1 === null,
    bLb: opts.basNonneg ? 0 : yMin,
    sn,
  };

  const finish = (
    kind: ProblemKind,
    P: ConeProblem,
    sol: ConicSolution,
    status: string,
    solver: ConicSolverName,
  ): CvxResult => {
    const c = Float64Array.from(sol.x.subarray(0, T));
    const sp = new Float64Array(T);
    applyG(gv, c, sp);
    return {
      c,
      sp,
      bl: opts.bl ?? sol.x[P.idxB],
      c1: opts.c1 ?? sol.x[P.idxC1],
      problem: kind,
      status,
      solver,
    };
  };

  const primary = buildProblem('primary', input);
  let first = solveWith(primary, opts.solvers[0]);
  let firstSolver = opts.solvers[0];
  // One solver named twice ('SCS' alone = 'SCS,SCS'): no second solver, so no second attempt.
  const same = opts.solvers[0] === opts.solvers[1];
  if (first.status === 'solver_error' && !same) {
    const retry = solveWith(primary, opts.solvers[1]);
    if (accepted(retry) || retry.status === 'infeasible') {
      first = retry;
      firstSolver = opts.solvers[1];
    }
  }
  if (accepted(first)) return finish('primary', primary, first, first.status, firstSolver);

  const fallback = buildProblem('fallback', input);
  const head = statusText(first);
  let last: ConicSolution | null = null;
  for (const solver of same ? [opts.solvers[0]] : opts.solvers) {
    last = solveWith(fallback, solver);
    if (accepted(last)) {
      return finish('fallback', fallback, last, `${head} -> fallback ${last.status}`, solver);
    }
  }
  return {
    c: Float64Array.from(y),
    sp: Float64Array.from(y),
    bl: 0,
    c1: 0,
    problem: 'none',
    status: `${head} -> fallback ${last ? statusText(last) : 'not run'}`,
    solver: opts.solvers[1],
  };
}

export type { CvxOptions, CvxResult };
export { cvxpyFoopsi, solveWith };
