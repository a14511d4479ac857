/**
 * Facts of the workflow that both the functions and the CDK app need, stated once.
 */
import { STAGES, type StageName } from '../../lib/job/stages.js';

/** The Lambda functions: one per stage of the job (lib/job/stages.ts), plus the S3 trigger. */
const FUNCTION_NAMES = [...STAGES, 'startFromUpload'] as const;
type FunctionName = StageName | 'startFromUpload';

/**
 * Longest a run may take (the state machine's own timeout). A claim on an output prefix older
 * than this belongs to a run that can no longer be alive (an execution that timed out or was
 * stopped never reaches Record failure), so a new run may take it over.
 */
const RUN_TIMEOUT_HOURS = 12;

export type { FunctionName };
export { FUNCTION_NAMES, RUN_TIMEOUT_HOURS };
