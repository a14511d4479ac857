/**
 * Facts of the workflow that both the functions and the CDK app need, stated once.
 */
import type { StageName } from '../../lib/job/stages.js';

/** The Lambda functions: one per stage of the job (lib/job/stages.ts STAGES), plus the trigger. */
type FunctionName = StageName | 'startFromUpload';

/**
 * Prefixes of the data bucket: read-only inputs (`inbox/`: a cell set uploaded there starts a
 * one-file run; `inputs/`: parts of series, started by a job file), job files, intermediates,
 * results.
 */
const DATA_PREFIXES = {
  inbox: 'inbox/',
  inputs: 'inputs/',
  jobs: 'jobs/',
  work: 'work/',
  outputs: 'outputs/',
} as const;

/**
 * Longest a run may take (the state machine's own timeout). A claim on an output prefix older
 * than this plus LAMBDA_MAX_MINUTES belongs to a run that can no longer be alive (an execution
 * that timed out or was stopped never reaches Record failure), so a new run may take it over.
 */
const RUN_TIMEOUT_HOURS = 12;

/** A Lambda invocation may outlive its execution by at most this much (the function timeout). */
const LAMBDA_MAX_MINUTES = 15;

export type { FunctionName };
export { DATA_PREFIXES, LAMBDA_MAX_MINUTES, RUN_TIMEOUT_HOURS };
