/**
 * Distributed Map item processor "Deconvolve chunk": the chunk stage (lib/job/stages.ts) for
 * cells [cellStart, cellEnd) of one file: ranged GETs of the input, the two parts streamed to
 * the work area. Returns only the item's coordinates.
 */
import type { Context } from 'aws-lambda';
import type { WorkItem } from '../lib/job/plan.js';
import { chunkStage } from '../lib/job/stages.js';
import { type ExecutionRef, wrapHandler } from './shared/middleware.js';
import { cachedJob } from './shared/plans.js';
import { s3JobStore } from './shared/s3Store.js';

/** One Map item as the ItemSelector builds it. */
interface ChunkEvent extends ExecutionRef {
  bucket: string;
  item: WorkItem;
}

async function deconvolveChunkTask(
  event: ChunkEvent,
  _context?: Context,
): Promise<{ file: number; chunk: number }> {
  const store = s3JobStore({ bucket: event.bucket, executionName: event.executionName });
  await chunkStage(store, await cachedJob(event.executionName, store), event.item);
  return { file: event.item.file, chunk: event.item.chunk };
}

const handler = wrapHandler('deconvolveChunk', deconvolveChunkTask);

export type { ChunkEvent };
export { deconvolveChunkTask, handler };
