/**
 * Step Functions "Plan job": validates the execution input (jobInput.ts) and the parameters,
 * then runs the job's plan stage (lib/job/stages.ts planStage: claim the output prefix, pin the
 * inputs, plan, write the job record and the Map items to the work area). Returns only keys
 * and counts: no trace data and nothing that grows with the number of cells enters a payload.
 */
import type { Context } from 'aws-lambda';
import { InternalError } from '../lib/errors.js';
import { parseJobOptions, parseToolParams } from '../lib/job/params.js';
import { CHUNK_LIMITS, type PlanLimits } from '../lib/job/plan.js';
import { type JobRecord, planStage } from '../lib/job/stages.js';
import { WORK } from '../lib/job/store.js';
import { dataBucket, resolveJob } from './shared/jobInput.js';
import { type ExecutionRef, wrapHandler } from './shared/middleware.js';
import { s3JobStore, workRoot } from './shared/s3Store.js';

/**
 * Chunk limits: lib/job/plan.ts CHUNK_LIMITS.lambda (a hard time budget at the arm64 speed
 * factor), or CHUNK_MAX_CELLS / CHUNK_MAX_BYTES / CHUNK_BUDGET_SECONDS.
 */
function chunkLimits(): Required<PlanLimits> {
  const read = (name: string, fallback: number) => {
    const raw = process.env[name];
    const v = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(v) || v < 1) {
      throw new InternalError(
        `environment variable ${name} = ${raw} is not a positive integer`,
        'Config',
      );
    }
    return v;
  };
  return {
    maxCellsPerChunk: read('CHUNK_MAX_CELLS', CHUNK_LIMITS.lambda.maxCellsPerChunk),
    maxChunkBytes: read('CHUNK_MAX_BYTES', CHUNK_LIMITS.lambda.maxChunkBytes),
    budgetSeconds: read('CHUNK_BUDGET_SECONDS', CHUNK_LIMITS.lambda.budgetSeconds),
    hardBudget: CHUNK_LIMITS.lambda.hardBudget,
    speedFactor: CHUNK_LIMITS.lambda.speedFactor,
    overheadSeconds: CHUNK_LIMITS.lambda.overheadSeconds,
  };
}

/** Payload of the task: the execution and its input. */
interface PlanEvent extends ExecutionRef {
  input: unknown;
}

/** The state after Plan (small and bounded whatever the job size). */
interface PlanState extends ExecutionRef {
  bucket: string;
  account: string;
  outputPrefix: string;
  itemsKey: string;
  filesKey: string;
  numFiles: number;
  numItems: number;
  numCells: number;
}

/** The summary returned to the state machine for a plan. */
function planState(
  execution: ExecutionRef,
  bucket: string,
  outputPrefix: string,
  job: JobRecord,
): PlanState {
  const root = workRoot(execution.executionName);
  return {
    executionName: execution.executionName,
    executionId: execution.executionId,
    bucket,
    account: job.run.account,
    outputPrefix,
    itemsKey: `${root}${WORK.items}`,
    filesKey: `${root}${WORK.files}`,
    numFiles: job.plan.files.length,
    numItems: job.plan.items.length,
    numCells: job.plan.files.reduce((n, f) => n + f.numCells, 0),
  };
}

async function planJobTask(event: PlanEvent, _context?: Context): Promise<PlanState> {
  const bucket = dataBucket();
  const job = await resolveJob(event.input, { bucket, ...event });
  const store = s3JobStore({
    bucket,
    executionName: event.executionName,
    outputPrefix: job.outputPrefix,
    inputVersions: job.inputVersions,
  });
  const record = await planStage(store, {
    run: { runId: event.executionName, executionId: event.executionId, account: job.account },
    inputs: job.inputs,
    params: parseToolParams(job.params),
    options: parseJobOptions(job.options),
    limits: chunkLimits(),
    existsHint: 'choose another outputPrefix',
  });
  return planState(event, bucket, job.outputPrefix, record);
}

const handler = wrapHandler('planJob', planJobTask);

export type { PlanEvent, PlanState };
export { handler, planJobTask, planState };
