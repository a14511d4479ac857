/**
 * Step Functions "Finalize job": the finalize stage (lib/job/stages.ts): output_metadata.json
 * joined from the files' fragments (Assemble drew the previews), the usage record written once, every output published to the output prefix and
 * `manifest.json` last (lib/job/publish.ts), the claim released, the work area removed.
 */
import type { Context } from 'aws-lambda';
import { MANIFEST_NAME } from '../lib/job/publish.js';
import { finalizeStage, loadJob } from '../lib/job/stages.js';
import type { PlanState } from './planJob.js';
import { logger, wrapHandler } from './shared/middleware.js';
import { s3JobStore } from './shared/s3Store.js';

/** What the state machine gets back (small). */
interface FinalizeResult {
  status: 'SUCCEEDED';
  outputPrefix: string;
  manifestKey: string;
  outputs: number;
  credits: number;
}

async function finalizeJobTask(event: PlanState, context?: Context): Promise<FinalizeResult> {
  const startedAt = Date.now();
  const { bucket, outputPrefix, executionName } = event;
  const store = s3JobStore({
    bucket,
    executionName,
    outputPrefix,
    attemptId: context?.awsRequestId,
  });
  const report = await finalizeStage(store, await loadJob(store), { startedAt });
  if (report.workLeft !== null) {
    logger.warn('work area not removed (the lifecycle rule expires it)', {
      reason: report.workLeft,
    });
  }
  return {
    status: 'SUCCEEDED',
    outputPrefix,
    manifestKey: `${outputPrefix}${MANIFEST_NAME}`,
    outputs: report.manifest.outputs.length,
    credits: report.usage.credits,
  };
}

const handler = wrapHandler('finalizeJob', finalizeJobTask);

export type { FinalizeResult };
export { finalizeJobTask, handler };
