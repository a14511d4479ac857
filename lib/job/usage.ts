/**
 * The run's usage record, the same on a laptop and on AWS (also written as `usage.json` beside
 * the outputs):
 *
 *   computeMs[stage] = Σ over that stage's invocations of their run time (failed attempts too)
 *   credits          = CREDITS_PER_COMPUTE_HOUR × Σ_stage computeMs[stage] / 3 600 000
 *
 * On AWS the run time of an invocation is its Lambda duration; locally it is the wall time of
 * the stage task on the thread that ran it (plan, every chunk, each file's assembly after its
 * last chunk finished, finalize), which is what the same tasks would bill as Lambdas.
 */
import type { Meter, RunRef } from './store.js';

/** Credits billed per compute hour (the IDEAS price of this tool). */
const CREDITS_PER_COMPUTE_HOUR = 0.5;
const MS_PER_HOUR = 3_600_000;

/** The per-run usage record. */
interface UsageRecord {
  executionName: string;
  executionId: string;
  account: string;
  /** yyyy-mm (UTC) of the month billed. */
  month: string;
  status: 'SUCCEEDED' | 'FAILED';
  files: number;
  cells: number;
  computeMs: Record<string, number>;
  invocations: Record<string, number>;
  totalComputeMs: number;
  computeHours: number;
  credits: number;
  /** The output location (prefix or folder). */
  outputPrefix: string;
  recordedAt: string;
}

/** Credits for a compute time. */
function creditsFor(computeMs: number): number {
  return (CREDITS_PER_COMPUTE_HOUR * computeMs) / MS_PER_HOUR;
}

/**
 * Builds the usage record from the meter plus the caller's own time so far (the caller is the
 * last stage, so its own invocation is not metered yet).
 */
function buildUsage(args: {
  run: RunRef;
  status: UsageRecord['status'];
  files: number;
  cells: number;
  meter: Meter;
  self: { stage: string; ms: number };
  location: string;
  now: Date;
}): UsageRecord {
  const computeMs = { ...args.meter.computeMs };
  const invocations = { ...args.meter.invocations };
  computeMs[args.self.stage] = (computeMs[args.self.stage] ?? 0) + Math.round(args.self.ms);
  invocations[args.self.stage] = (invocations[args.self.stage] ?? 0) + 1;
  const totalComputeMs = Object.values(computeMs).reduce((a, b) => a + b, 0);
  return {
    executionName: args.run.runId,
    executionId: args.run.executionId,
    account: args.run.account,
    month: args.now.toISOString().slice(0, 7),
    status: args.status,
    files: args.files,
    cells: args.cells,
    computeMs,
    invocations,
    totalComputeMs,
    computeHours: totalComputeMs / MS_PER_HOUR,
    credits: creditsFor(totalComputeMs),
    outputPrefix: args.location,
    recordedAt: args.now.toISOString(),
  };
}

export type { UsageRecord };
export { buildUsage, CREDITS_PER_COMPUTE_HOUR, creditsFor };
