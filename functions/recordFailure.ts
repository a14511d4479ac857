/**
 * Catch path "Record failure": the fail stage (lib/job/stages.ts). When this execution owns its
 * output prefix, whatever an unfinished publish put there is removed (manifest first; delete
 * errors are retried and surfaced), `failure.json` (failed step, input file, error and cause)
 * and `usage.json` are written there, the usage is recorded as FAILED and the claim released.
 * When another execution owns the prefix, the report goes to `outputs/<execution name>/`. When
 * the run had already committed (its manifest written), the result stands and the state machine
 * ends in Succeed; otherwise in Fail.
 */
import type { Context } from 'aws-lambda';
import { failStage, type JobRecord } from '../lib/job/stages.js';
import { getRecord, WORK } from '../lib/job/store.js';
import { accountOf, dataBucket, PREFIX, type ResolvedJob, resolveJob } from './shared/jobInput.js';
import { type ExecutionRef, logger, wrapHandler } from './shared/middleware.js';
import { prefixOf, s3JobStore } from './shared/s3Store.js';

/** Payload of the Catch task: the execution input and the caught error. */
interface FailureEvent extends ExecutionRef {
  input: unknown;
  error: { Error?: string; Cause?: string };
}

async function recordFailureTask(event: FailureEvent, context?: Context) {
  const startedAt = Date.now();
  const bucket = dataBucket();
  const { executionName, executionId } = event;
  const fallbackPrefix = `${PREFIX.outputs}${executionName}/`;
  // The prefix Plan claimed (from the job record), else what the execution input names.
  const job = await getRecord<JobRecord>(s3JobStore({ bucket, executionName }), WORK.job);
  let resolved: ResolvedJob | null = null;
  if (job === null) {
    try {
      resolved = await resolveJob(event.input, { bucket, executionName, executionId });
    } catch (error) {
      logger.warn('execution input unusable; the failure report goes to the default prefix', {
        error: error as Error,
      });
    }
  }
  const outputPrefix = job
    ? prefixOf(bucket, job.location)
    : (resolved?.outputPrefix ?? fallbackPrefix);
  const attemptId = context?.awsRequestId;
  const outcome = await failStage(s3JobStore({ bucket, executionName, outputPrefix, attemptId }), {
    run: job?.run ?? {
      runId: executionName,
      executionId,
      account: resolved?.account ?? accountOf(executionId),
    },
    error: { name: event.error.Error ?? 'Unknown', cause: event.error.Cause ?? '' },
    inputs: resolved?.inputs,
    writeReport: true,
    fallback: () => s3JobStore({ bucket, executionName, outputPrefix: fallbackPrefix, attemptId }),
    startedAt,
  });
  if (outcome.workLeft !== null) {
    logger.warn('work area not removed (the lifecycle rule expires it)', {
      reason: outcome.workLeft,
    });
  }
  return {
    status: outcome.complete ? ('SUCCEEDED' as const) : ('FAILED' as const),
    outputPrefix: outcome.complete ? outputPrefix : outcome.reportedAt,
    error: outcome.report?.error ?? null,
    file: outcome.report?.file ?? null,
    credits: outcome.usage.credits,
  };
}

const handler = wrapHandler('recordFailure', recordFailureTask);

export type { FailureEvent };
export { handler, recordFailureTask };
