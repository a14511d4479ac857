/**
 * Worker-thread entry of `caiman-spikes run`: runs the chunk stage (lib/job/stages.ts) on
 * chunks of cells, writing their parts into the run's staging folder. Messages:
 * main → worker `{ type: 'init', job, out }` then `{ type: 'chunk', id, item }`;
 * worker → main `{ type: 'done', id, result, ms }` or `{ type: 'failed', id, error }`. Chunks
 * run one at a time in the order received. The same `runChunkTimed` runs in-process.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import type { ChunkResult } from '../lib/job/deconvolveChunk.js';
import type { WorkItem } from '../lib/job/plan.js';
import { chunkStage, type JobRecord } from '../lib/job/stages.js';
import type { JobStore } from '../lib/job/store.js';
import { warmUpEngine } from '../lib/job/warmUp.js';
import { fileJobStore } from './fileStore.js';

/** Messages the main thread sends. */
type ToWorker =
  | { type: 'init'; job: JobRecord; out: string }
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
  | { type: 'done'; id: number; result: ChunkResult; ms: number }
  | { type: 'failed'; id: number; error: WorkerError };

/** Runs one chunk through the run's store and times it on this thread. */
async function runChunkTimed(
  store: JobStore,
  job: JobRecord,
  item: WorkItem,
): Promise<{ result: ChunkResult; ms: number }> {
  const started = performance.now();
  const result = await chunkStage(store, job, item);
  return { result, ms: performance.now() - started };
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
  // While the main thread plans: the solver compiled before the first chunk arrives (the
  // defaults' path; warmUp.ts). A message that comes meanwhile waits for it.
  warmUpEngine({});
  let state: { job: JobRecord; store: JobStore } | null = null;
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'init') {
      // The same store as the main thread's (same staging folder); it only writes parts.
      state = { job: msg.job, store: fileJobStore(msg.out) };
      return;
    }
    const s = state;
    if (s === null) {
      port.postMessage({
        type: 'failed',
        id: msg.id,
        error: { name: 'CaimanSpikesInternalError', message: 'worker not initialised' },
      });
      return;
    }
    // One chunk at a time, in the order received (the main thread queues a few ahead).
    queue = queue.then(() =>
      runChunkTimed(s.store, s.job, msg.item).then(
        ({ result, ms }) =>
          port.postMessage({ type: 'done', id: msg.id, result, ms } satisfies FromWorker),
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
export { runChunkTimed, serializeError };
