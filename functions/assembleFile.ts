/**
 * Distributed Map item processor "Assemble file": the assemble stage (lib/job/stages.ts) for
 * one file: its chunk parts concatenated and the footers appended (server side, UploadPartCopy,
 * when the parts are ≥ 5 MiB; else streamed), then its three previews and its metadata fragment,
 * all staged in the work area (never in the output prefix: only Finalize publishes). Returns
 * only the file index.
 */
import type { Context } from 'aws-lambda';
import { assembleStage } from '../lib/job/stages.js';
import { type ExecutionRef, wrapHandler } from './shared/middleware.js';
import { cachedJob } from './shared/plans.js';
import { s3JobStore } from './shared/s3Store.js';

/** One Map item as the ItemSelector builds it. */
interface AssembleEvent extends ExecutionRef {
  bucket: string;
  item: { file: number };
}

async function assembleFileTask(
  event: AssembleEvent,
  _context?: Context,
): Promise<{ file: number }> {
  const store = s3JobStore({ bucket: event.bucket, executionName: event.executionName });
  await assembleStage(store, await cachedJob(event.executionName, store), event.item.file);
  return { file: event.item.file };
}

const handler = wrapHandler('assembleFile', assembleFileTask);

export type { AssembleEvent };
export { assembleFileTask, handler };
