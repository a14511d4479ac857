/**
 * Distributed Map item processor "Assemble file": concatenate one file's chunk parts in chunk
 * order and append the footers (lib/job/assemble.ts), streaming straight into
 * `<outputPrefix>cellset_denoised.kkk.isxd` and `neural_events.kkk.isxd`. Sizes and SHA-256 are
 * taken while streaming, for the manifest. Returns only the file index.
 */
import type { Context } from 'aws-lambda';
import { InvalidInputError } from '../lib/errors.js';
import { assembleFile, type FileOutputs } from '../lib/job/assemble.js';
import type { ChunkResult } from '../lib/job/deconvolveChunk.js';
import { cellSetOutputName, eventSetOutputName } from '../lib/job/outputs.js';
import { workKeys } from './shared/jobInput.js';
import { type ExecutionRef, wrapHandler } from './shared/middleware.js';
import { loadPlan } from './shared/plans.js';
import { getJson, putJson, s3Sink, s3Source, type WrittenObject } from './shared/s3.js';

/** One Map item as the ItemSelector builds it. */
interface AssembleEvent extends ExecutionRef {
  bucket: string;
  planKey: string;
  outputPrefix: string;
  item: { file: number };
}

/** What work/…/files/<k>.json holds. */
interface StoredFileOutputs {
  outputs: FileOutputs;
  written: WrittenObject[];
}

async function assembleFileTask(
  event: AssembleEvent,
  _context?: Context,
): Promise<{ file: number }> {
  const { bucket, outputPrefix } = event;
  const file = event.item.file;
  const stored = await loadPlan(bucket, event.planKey);
  const keys = workKeys(event.executionName);
  const items = stored.plan.items.filter((i) => i.file === file);
  const chunks = await Promise.all(
    items.map(async (i) => {
      const key = keys.chunkResult(file, i.chunk);
      const result = await getJson(bucket, key);
      if (result === null)
        throw new InvalidInputError(`chunk result ${key} is missing`, 'MissingChunk');
      return result as ChunkResult;
    }),
  );
  const input = stored.inputs[file];
  const cellSetOut = s3Sink(bucket, `${outputPrefix}${cellSetOutputName(file)}`);
  const eventSetOut = s3Sink(bucket, `${outputPrefix}${eventSetOutputName(file)}`);
  const outputs = await assembleFile(
    stored.plan,
    file,
    s3Source(bucket, input.key, input),
    chunks,
    async (kind, chunk) => s3Source(bucket, keys.part(kind, file, chunk)),
    cellSetOut,
    eventSetOut,
  );
  const record: StoredFileOutputs = {
    outputs,
    written: [cellSetOut.written(), eventSetOut.written()],
  };
  await putJson(bucket, keys.fileOutputs(file), record);
  return { file };
}

/** Leaves `work/<execution>/errors/file-<k>.json` naming the input and the cause. */
async function writeAssembleError(event: AssembleEvent, error: unknown): Promise<void> {
  const stored = await loadPlan(event.bucket, event.planKey);
  const e = error as { name?: string; message?: string; code?: string };
  await putJson(event.bucket, workKeys(event.executionName).error(`file-${event.item.file}`), {
    step: 'Assemble file',
    file: stored.inputs[event.item.file]?.key,
    error: e.name ?? 'Error',
    code: e.code,
    cause: e.message ?? String(error),
  });
}

const handler = wrapHandler('assembleFile', assembleFileTask, { onError: writeAssembleError });

export type { AssembleEvent, StoredFileOutputs };
export { assembleFileTask, handler };
