/**
 * Step Functions "Finalize job": output_metadata.json and the SVG previews (lib/job/finalize.ts),
 * the usage record (DynamoDB, written once; usage.json next to the outputs), and last the
 * manifest of every output with its size and SHA-256. Readers treat a run as complete only when
 * manifest.json exists, so a failure before this point never looks like a finished run.
 */
import type { Context } from 'aws-lambda';
import { InvalidInputError } from '../lib/errors.js';
import { finalizeJob } from '../lib/job/finalize.js';
import type { StoredFileOutputs } from './assembleFile.js';
import type { PlanState } from './planJob.js';
import { workKeys } from './shared/jobInput.js';
import { wrapHandler } from './shared/middleware.js';
import { loadPlan } from './shared/plans.js';
import { getJson, putBytes, putJson, s3Source, type WrittenObject } from './shared/s3.js';
import { buildUsage, readMeter, recordUsage, type UsageRecord } from './shared/usage.js';

/** What the state machine gets back (small). */
interface FinalizeResult {
  status: 'SUCCEEDED';
  outputPrefix: string;
  manifestKey: string;
  outputs: number;
  credits: number;
}

/** `<outputPrefix>manifest.json`. */
interface Manifest {
  executionName: string;
  executionId: string;
  status: 'SUCCEEDED';
  createdAt: string;
  inputs: { key: string; size: number; etag: string }[];
  outputs: { name: string; size: number; sha256: string }[];
  usage: Pick<UsageRecord, 'totalComputeMs' | 'credits' | 'files' | 'cells'>;
}

const CONTENT_TYPES: Record<string, string> = {
  json: 'application/json',
  svg: 'image/svg+xml',
  isxd: 'application/octet-stream',
};

function contentType(name: string): string {
  return CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}

async function finalizeJobTask(event: PlanState, _context?: Context): Promise<FinalizeResult> {
  const startedAt = Date.now();
  const { bucket, outputPrefix } = event;
  const stored = await loadPlan(bucket, event.planKey);
  const keys = workKeys(event.executionName);
  const perFile = await Promise.all(
    stored.plan.files.map(async (f) => {
      const key = keys.fileOutputs(f.index);
      const v = await getJson(bucket, key);
      if (v === null) throw new InvalidInputError(`file outputs ${key} are missing`, 'MissingFile');
      return v as StoredFileOutputs;
    }),
  );
  const written: WrittenObject[] = perFile.flatMap((f) => f.written);
  await finalizeJob(
    stored.plan,
    perFile.map((f) => f.outputs),
    async (name) => s3Source(bucket, `${outputPrefix}${name}`),
    async (name, bytes) => {
      written.push(await putBytes(bucket, `${outputPrefix}${name}`, bytes, contentType(name)));
    },
  );
  const meter = await readMeter(event.executionName);
  const { usage } = await recordUsage(
    buildUsage({
      executionName: event.executionName,
      executionId: event.executionId,
      account: stored.account,
      status: 'SUCCEEDED',
      files: stored.plan.files.length,
      cells: event.numCells,
      meter,
      self: { fn: 'finalizeJob', ms: Date.now() - startedAt },
      outputPrefix,
      now: new Date(),
    }),
  );
  written.push(await putJson(bucket, `${outputPrefix}usage.json`, usage));
  const manifest: Manifest = {
    executionName: event.executionName,
    executionId: event.executionId,
    status: 'SUCCEEDED',
    createdAt: new Date().toISOString(),
    inputs: stored.inputs,
    outputs: written
      .map((w) => ({ name: w.key.slice(outputPrefix.length), size: w.size, sha256: w.sha256 }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    usage: {
      totalComputeMs: usage.totalComputeMs,
      credits: usage.credits,
      files: usage.files,
      cells: usage.cells,
    },
  };
  const manifestKey = `${outputPrefix}manifest.json`;
  await putJson(bucket, manifestKey, manifest);
  return {
    status: 'SUCCEEDED',
    outputPrefix,
    manifestKey,
    outputs: manifest.outputs.length,
    credits: usage.credits,
  };
}

const handler = wrapHandler('finalizeJob', finalizeJobTask);

export type { FinalizeResult, Manifest };
export { finalizeJobTask, handler };
