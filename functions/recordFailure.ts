/**
 * Catch path "Record failure": remove every output this run may have written (so nothing
 * partial looks complete), write `<outputPrefix>failure.json` naming the failed step, the input
 * file and the cause, and record the usage consumed (status FAILED, written once, also as
 * usage.json). The state machine then ends in Fail.
 */
import type { Context } from 'aws-lambda';
import { allOutputNames } from '../lib/job/outputs.js';
import type { StoredPlan } from './planJob.js';
import { dataBucket, PREFIX, resolveJob, workKeys } from './shared/jobInput.js';
import { type ExecutionRef, logger, wrapHandler } from './shared/middleware.js';
import { deleteKeys, exists, getJson, listKeys, putJson } from './shared/s3.js';
import { buildUsage, readMeter, recordUsage } from './shared/usage.js';

/** Payload of the Catch task: the execution input and the caught error. */
interface FailureEvent extends ExecutionRef {
  input: unknown;
  error: { Error?: string; Cause?: string };
}

/** `<outputPrefix>failure.json`. */
interface FailureReport {
  status: 'FAILED';
  executionName: string;
  executionId: string;
  error: string;
  cause: string;
  /** The input file the failure is about, when known. */
  file: string | null;
  /** Error records of failed Map items (file, cells, cause). */
  details: unknown[];
  inputs: string[];
  failedAt: string;
}

/** The message of a Catch `Cause` (AWS wraps Lambda errors as JSON, locally it is plain text). */
function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain-text cause
  }
  return cause;
}

/** Every output name a run of this plan writes (lib/job/outputs.ts plus manifest and usage). */
function runOutputNames(stored: StoredPlan): string[] {
  return [...allOutputNames(stored.plan.files.length), 'manifest.json', 'usage.json'];
}

async function recordFailureTask(event: FailureEvent, _context?: Context) {
  const startedAt = Date.now();
  const bucket = dataBucket();
  const keys = workKeys(event.executionName);
  const stored = (await exists(bucket, keys.plan))
    ? ((await getJson(bucket, keys.plan)) as StoredPlan | null)
    : null;
  let outputPrefix = stored?.outputPrefix ?? `${PREFIX.outputs}${event.executionName}/`;
  let account = stored?.account ?? event.executionId.split(':')[4] ?? 'unknown';
  let inputs = stored?.inputs.map((i) => i.key) ?? [];
  if (!stored) {
    try {
      const job = await resolveJob(event.input, { bucket, ...event });
      if (!(await exists(bucket, `${job.outputPrefix}manifest.json`)))
        outputPrefix = job.outputPrefix;
      account = job.account;
      inputs = job.inputs;
    } catch (error) {
      logger.warn('execution input unusable; failure report goes to the default prefix', {
        error: error as Error,
      });
    }
  } else {
    await deleteKeys(
      bucket,
      runOutputNames(stored).map((n) => `${outputPrefix}${n}`),
    );
  }
  const details: unknown[] = [];
  for (const key of await listKeys(bucket, keys.errors)) details.push(await getJson(bucket, key));
  const cause = causeMessage(event.error.Cause);
  const first = details[0] as { file?: string; error?: string; cause?: string } | undefined;
  const file = first?.file ?? inputs.find((k) => cause.includes(k)) ?? null;
  const report: FailureReport = {
    status: 'FAILED',
    executionName: event.executionName,
    executionId: event.executionId,
    error: first?.error ?? event.error.Error ?? 'Unknown',
    cause: first?.cause ?? cause,
    file,
    details,
    inputs,
    failedAt: new Date().toISOString(),
  };
  await putJson(bucket, `${outputPrefix}failure.json`, report);
  const meter = await readMeter(event.executionName);
  const { usage } = await recordUsage(
    buildUsage({
      executionName: event.executionName,
      executionId: event.executionId,
      account,
      status: 'FAILED',
      files: stored ? stored.plan.files.length : inputs.length,
      cells: stored ? stored.plan.files.reduce((n, f) => n + f.numCells, 0) : 0,
      meter,
      self: { fn: 'recordFailure', ms: Date.now() - startedAt },
      outputPrefix,
      now: new Date(),
    }),
  );
  await putJson(bucket, `${outputPrefix}usage.json`, usage);
  return {
    status: 'FAILED' as const,
    outputPrefix,
    error: report.error,
    file,
    credits: usage.credits,
  };
}

const handler = wrapHandler('recordFailure', recordFailureTask);

export type { FailureEvent, FailureReport };
export { causeMessage, handler, recordFailureTask, runOutputNames };
