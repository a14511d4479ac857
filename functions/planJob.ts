/**
 * Step Functions "Plan job": validate the execution input and the parameters, read each input's
 * footer (ranged reads), validate and order the series, cut it into chunks (lib/job/plan.ts),
 * and write the plan and the Map items to S3. Returns only keys and counts: no trace data and
 * nothing that grows with the number of cells ever enters a state payload.
 */
import type { Context } from 'aws-lambda';
import { InvalidInputError, InvalidParameterError } from '../lib/errors.js';
import { parseJobOptions, parseToolParams } from '../lib/job/params.js';
import { type JobPlan, planJob } from '../lib/job/plan.js';
import { dataBucket, resolveJob, workKeys } from './shared/jobInput.js';
import { type ExecutionRef, wrapHandler } from './shared/middleware.js';
import { exists, headObject, putJson, s3Source } from './shared/s3.js';

/** Default chunk limits (infra/constructs/SpikePipeline.ts sets them, with the sizing). */
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const MAX_CELLS_PER_CHUNK = 2000;

/** Chunk limits from CHUNK_MAX_CELLS / CHUNK_MAX_BYTES (positive integers) or the defaults. */
function chunkLimits(): { maxCellsPerChunk: number; maxChunkBytes: number } {
  const read = (name: string, fallback: number) => {
    const v = Number(process.env[name] ?? fallback);
    if (!Number.isInteger(v) || v < 1) {
      throw new InvalidParameterError(name, process.env[name], 'a positive integer');
    }
    return v;
  };
  return {
    maxCellsPerChunk: read('CHUNK_MAX_CELLS', MAX_CELLS_PER_CHUNK),
    maxChunkBytes: read('CHUNK_MAX_BYTES', MAX_CHUNK_BYTES),
  };
}

/** Payload of the task: the execution and its input. */
interface PlanEvent extends ExecutionRef {
  input: unknown;
}

/** What plan.json holds besides the lib plan. */
interface StoredPlan {
  plan: JobPlan;
  inputs: { key: string; size: number; etag: string }[];
  outputPrefix: string;
  account: string;
}

/** The state after Plan (small and bounded whatever the job size). */
interface PlanState extends ExecutionRef {
  bucket: string;
  account: string;
  outputPrefix: string;
  planKey: string;
  itemsKey: string;
  filesKey: string;
  numFiles: number;
  numItems: number;
  numCells: number;
}

/** The summary returned to the state machine for a plan. */
function planState(execution: ExecutionRef, bucket: string, stored: StoredPlan): PlanState {
  const keys = workKeys(execution.executionName);
  return {
    executionName: execution.executionName,
    executionId: execution.executionId,
    bucket,
    account: stored.account,
    outputPrefix: stored.outputPrefix,
    planKey: keys.plan,
    itemsKey: keys.items,
    filesKey: keys.files,
    numFiles: stored.plan.files.length,
    numItems: stored.plan.items.length,
    numCells: stored.plan.files.reduce((n, f) => n + f.numCells, 0),
  };
}

async function planJobTask(event: PlanEvent, _context?: Context): Promise<PlanState> {
  const bucket = dataBucket();
  const job = await resolveJob(event.input, { bucket, ...event });
  const params = parseToolParams(job.params);
  const options = parseJobOptions(job.options);
  if (await exists(bucket, `${job.outputPrefix}manifest.json`)) {
    throw new InvalidInputError(
      `outputPrefix ${job.outputPrefix} already holds a complete run (manifest.json); choose another prefix`,
      'OutputExists',
    );
  }
  const heads = await Promise.all(job.inputs.map((key) => headObject(bucket, key)));
  const sources = job.inputs.map((key, i) => s3Source(bucket, key, heads[i]));
  const plan = await planJob(sources, params, options, chunkLimits());
  const stored: StoredPlan = {
    plan,
    inputs: job.inputs.map((key, i) => ({ key, ...heads[i] })),
    outputPrefix: job.outputPrefix,
    account: job.account,
  };
  const keys = workKeys(event.executionName);
  await putJson(bucket, keys.plan, stored);
  await putJson(bucket, keys.items, plan.items);
  await putJson(
    bucket,
    keys.files,
    plan.files.map((f) => ({ file: f.index })),
  );
  return planState(event, bucket, stored);
}

const handler = wrapHandler('planJob', planJobTask);

export type { PlanEvent, PlanState, StoredPlan };
export { handler, MAX_CELLS_PER_CHUNK, MAX_CHUNK_BYTES, planJobTask, planState };
