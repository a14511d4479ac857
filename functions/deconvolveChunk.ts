/**
 * Distributed Map item processor "Deconvolve chunk": the chunk stage (lib/job/stages.ts) for
 * cells [cellStart, cellEnd) of one file: ranged GETs of the input, the two parts streamed to
 * the work area. Returns only the item's coordinates. Publishes the chunk's EMF metrics
 * (functions/shared/metrics.ts).
 */
import type { Context } from 'aws-lambda';
import type { WorkItem } from '../lib/job/plan.js';
import { chunkStage } from '../lib/job/stages.js';
import { metricsMiddleware, recordChunkMetrics } from './shared/metrics.js';
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
  const startedAt = Date.now();
  const store = s3JobStore({ bucket: event.bucket, executionName: event.executionName });
  const job = await cachedJob(event.executionName, store);
  await chunkStage(store, job, event.item);
  recordChunkMetrics({
    cells: event.item.cellEnd - event.item.cellStart,
    frames: job.plan.files[event.item.file]?.numTimes ?? 0,
    seconds: (Date.now() - startedAt) / 1000,
  });
  return { file: event.item.file, chunk: event.item.chunk };
}

const handler = wrapHandler('deconvolveChunk', deconvolveChunkTask).use(metricsMiddleware());

export type { ChunkEvent };
export { deconvolveChunkTask, handler };
