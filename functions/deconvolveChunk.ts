/**
 * Distributed Map item processor "Deconvolve chunk": deconvolve cells [cellStart, cellEnd) of one
 * file (lib/job/deconvolveChunk.ts). The input is read with ranged GETs, the chunk's output
 * parts stream to work/…/parts/, its per-cell summary goes to work/…/chunks/. Returns only the
 * item's coordinates. A failure leaves an error record naming the input file for Record failure.
 */
import type { Context } from 'aws-lambda';
import { deconvolveChunk } from '../lib/job/deconvolveChunk.js';
import type { WorkItem } from '../lib/job/plan.js';
import { workKeys } from './shared/jobInput.js';
import { type ExecutionRef, wrapHandler } from './shared/middleware.js';
import { loadPlan } from './shared/plans.js';
import { putJson, s3Sink, s3Source } from './shared/s3.js';

/** One Map item as the ItemSelector builds it. */
interface ChunkEvent extends ExecutionRef {
  bucket: string;
  planKey: string;
  item: WorkItem;
}

async function deconvolveChunkTask(
  event: ChunkEvent,
  _context?: Context,
): Promise<{ file: number; chunk: number }> {
  const { bucket, item } = event;
  const stored = await loadPlan(bucket, event.planKey);
  const keys = workKeys(event.executionName);
  const input = stored.inputs[item.file];
  const source = s3Source(bucket, input.key, input);
  const cellSetPart = s3Sink(bucket, keys.part('cellset', item.file, item.chunk));
  const eventPart = s3Sink(bucket, keys.part('events', item.file, item.chunk));
  const result = await deconvolveChunk(stored.plan, item, source, cellSetPart, eventPart);
  await putJson(bucket, keys.chunkResult(item.file, item.chunk), result);
  return { file: item.file, chunk: item.chunk };
}

/** Leaves `work/<execution>/errors/chunk-<file>-<chunk>.json` naming the input and the cause. */
async function writeChunkError(event: ChunkEvent, error: unknown): Promise<void> {
  const stored = await loadPlan(event.bucket, event.planKey);
  const e = error as { name?: string; message?: string; code?: string };
  await putJson(
    event.bucket,
    workKeys(event.executionName).error(`chunk-${event.item.file}-${event.item.chunk}`),
    {
      step: 'Deconvolve chunk',
      file: stored.inputs[event.item.file]?.key,
      cells: [event.item.cellStart, event.item.cellEnd],
      error: e.name ?? 'Error',
      code: e.code,
      cause: e.message ?? String(error),
    },
  );
}

const handler = wrapHandler('deconvolveChunk', deconvolveChunkTask, { onError: writeChunkError });

export type { ChunkEvent };
export { deconvolveChunkTask, handler };
