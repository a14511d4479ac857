/**
 * Worker-thread entry of `caiman-spikes run`: deconvolves chunks of cells (lib/job
 * deconvolveChunk) and writes their parts as files in the run's parts folder. Messages:
 * main → worker `{ type: 'init', plan, inputs, partsDir }` then `{ type: 'chunk', id, item }`;
 * worker → main `{ type: 'done', id, result }` or `{ type: 'failed', id, error }`. Chunks run
 * one at a time in the order received.
 * The same `runChunkToFiles` runs in-process for small jobs.
 */
import { join } from 'node:path';
import { isMainThread, parentPort } from 'node:worker_threads';
import type { ChunkResult } from '../lib/job/deconvolveChunk.js';
import { deconvolveChunk } from '../lib/job/deconvolveChunk.js';
import type { JobPlan, WorkItem } from '../lib/job/plan.js';
import { type FileSource, fileSink, fileSource } from './fileSource.js';

/** Messages the main thread sends. */
type ToWorker =
  | { type: 'init'; plan: JobPlan; inputs: string[]; partsDir: string }
  | { type: 'chunk'; id: number; item: WorkItem };

/** A worker's error, as plain data. */
interface WorkerError {
  name: string;
  code?: string;
  message: string;
  stack?: string;
}

/** Messages a worker sends back. */
type FromWorker =
  | { type: 'done'; id: number; result: ChunkResult }
  | { type: 'failed'; id: number; error: WorkerError };

/** Path of a chunk's part inside the parts folder. */
function partPath(
  partsDir: string,
  file: number,
  kind: 'cellset' | 'events',
  chunk: number,
): string {
  return join(partsDir, `${file}-${kind}-${chunk}.part`);
}

/** Runs one chunk, reading the input through `sources` (one cached FileSource per input). */
async function runChunkToFiles(
  plan: JobPlan,
  item: WorkItem,
  source: FileSource,
  partsDir: string,
): Promise<ChunkResult> {
  return deconvolveChunk(
    plan,
    item,
    source,
    fileSink(partPath(partsDir, item.file, 'cellset', item.chunk)),
    fileSink(partPath(partsDir, item.file, 'events', item.chunk)),
  );
}

function serializeError(err: unknown): WorkerError {
  const e = err as { name?: string; code?: unknown; message?: string; stack?: string };
  return {
    name: e?.name ?? 'Error',
    code: typeof e?.code === 'string' ? e.code : undefined,
    message: e?.message ?? String(err),
    stack: e?.stack,
  };
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  let state: { plan: JobPlan; sources: FileSource[]; partsDir: string } | null = null;
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'init') {
      state = {
        plan: msg.plan,
        sources: msg.inputs.map((p) => fileSource(p)),
        partsDir: msg.partsDir,
      };
      return;
    }
    const s = state;
    if (s === null) {
      port.postMessage({
        type: 'failed',
        id: msg.id,
        error: { name: 'Error', message: 'worker not initialised' },
      });
      return;
    }
    // One chunk at a time, in the order received (the main thread queues a few ahead).
    queue = queue.then(() =>
      runChunkToFiles(s.plan, msg.item, s.sources[msg.item.file], s.partsDir).then(
        (result) => port.postMessage({ type: 'done', id: msg.id, result } satisfies FromWorker),
        (err: unknown) =>
          port.postMessage({
            type: 'failed',
            id: msg.id,
            error: serializeError(err),
          } satisfies FromWorker),
      ),
    );
  });
}

export type { FromWorker, ToWorker, WorkerError };
export { partPath, runChunkToFiles, serializeError };
