/**
 * The local scheduler of the job's stages (stages.ts), the same stages the cloud workflow runs:
 *
 *   planStage → chunkStage for every item (on `concurrency` lanes), with each file's
 *   assembleStage copying its chunk parts in order as they arrive (its previews drawn once
 *   every chunk has run) → finalizeStage.
 *
 * Where chunks run (worker threads) and where things are stored (a JobStore) is the caller's
 * business (bin/commands/run.ts binds them); this module is pure. On any failure, an abort
 * included, running chunks are awaited and failStage removes whatever the run wrote (its
 * staging area, anything it had published), then the first error is rethrown.
 *
 * Compute is metered per stage task as Lambda bills it (usage.ts): plan, each chunk (timed on
 * the thread that ran it), each file's assembly from its last chunk's end to its copy's end plus
 * its previews step (run one file at a time once every chunk has run), finalize.
 */
import type { ChunkResult } from './deconvolveChunk.js';
import type { WorkItem } from './plan.js';
import {
  assembleStage,
  type FailureOutcome,
  type FileRecord,
  type FinalizeReport,
  failStage,
  finalizeStage,
  type JobRecord,
  type PlanRequest,
  planStage,
} from './stages.js';
import type { JobStore, StoredObject } from './store.js';

/** Progress events, in order: one 'planned', one 'chunk' per item, one 'file' per input. */
type JobProgress =
  | { kind: 'planned'; job: JobRecord; totalCells: number }
  | { kind: 'chunk'; item: WorkItem; cellsDone: number; totalCells: number }
  | { kind: 'file'; record: FileRecord }
  | { kind: 'publishing' }
  | { kind: 'finalized'; report: FinalizeReport };

/** What to run: Plan's request, and more outputs to publish. */
interface JobRequest extends PlanRequest {
  /** Stages further outputs (e.g. the demo's synthetic input) once the plan holds. */
  extra?: (store: JobStore) => Promise<StoredObject[]>;
}

/** Where the job runs. */
interface JobRuntime {
  store: JobStore;
  /** How many chunks may run at once. */
  concurrency: number;
  /** Runs chunkStage for `item` somewhere; returns its result and how long it ran there. */
  runChunk(job: JobRecord, item: WorkItem): Promise<{ result: ChunkResult; ms: number }>;
  /** Called once every chunk has run (e.g. to stop worker threads before finalizing). */
  chunksDone?(): Promise<void>;
  /** On failure: ends the chunks still running (their `runChunk` rejects) before cleanup. */
  stopChunks?(): Promise<void>;
  /** Aborts the run (Ctrl-C): no new chunk starts, and the run fails with the signal's reason. */
  signal?: AbortSignal;
  onProgress?(event: JobProgress): void;
}

/** A failed run's cleanup, attached to the error it rethrows. */
interface FailedRun {
  cleanup?: FailureOutcome;
  cleanupError?: unknown;
}

/** How long a stopped run waits for the stage under way to settle before cleaning up. */
const SETTLE_MS = 500;

/** A promise with its settle functions (Promise.withResolvers, which Node 20 lacks). */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Runs `tasks` with at most `limit` in flight; stops starting new ones after the first failure. */
async function pool<T>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    while (failure === null && next < items.length) {
      if (signal?.aborted) {
        failure ??= { error: signal.reason };
        return;
      }
      const item = items[next++];
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure !== null) throw (failure as { error: unknown }).error;
}

/**
 * Runs the whole job.
 *
 * @throws whatever a stage throws (CaimanSpikesError subclasses for anything the user can act
 *   on), or the abort reason, after cleaning up (see {@link FailedRun}).
 */
async function runJob(req: JobRequest, rt: JobRuntime): Promise<FinalizeReport> {
  const { store } = rt;
  // An abort stops waiting for the stage under way at once; the store is sealed first, so that
  // stage (still running in the background) cannot write anything after the cleanup, and the
  // cleanup waits a moment for it to settle. Publishing is never cut off.
  const checkpoint = () => rt.signal?.throwIfAborted();
  const inflight = new Set<Promise<unknown>>();
  let publishing = false;
  const stopped = new Promise<never>((_, reject) => {
    const signal = rt.signal;
    if (!signal) return;
    const stop = () => {
      if (publishing) return;
      store.seal?.();
      reject(signal.reason);
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
  stopped.catch(() => {});
  const untilStopped = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    p.then(
      () => inflight.delete(p),
      () => inflight.delete(p),
    );
    return Promise.race([p, stopped]);
  };
  let assemblies: Promise<FileRecord>[] = [];
  try {
    const planStarted = Date.now();
    checkpoint();
    const job = await untilStopped(planStage(store, req));
    await store.meter('planJob', Date.now() - planStarted);
    checkpoint();
    const extra = req.extra ? await untilStopped(req.extra(store)) : [];
    const { plan } = job;
    const totalCells = plan.files.reduce((n, f) => n + f.numCells, 0);
    rt.onProgress?.({ kind: 'planned', job, totalCells });

    // One deferred result per chunk: each file's assembly copies its parts in order as they arrive.
    const chunkResults = plan.items.map(() => deferred<ChunkResult>());
    const itemIndex = new Map(plan.items.map((it, i) => [`${it.file}/${it.chunk}`, i]));
    const lastChunkDone = plan.files.map(() => 0);
    const chunksLeft = plan.files.map((f) => plan.items.filter((it) => it.file === f.index).length);
    let cellsDone = 0;
    // Every chunk has run: the files' previews may start (they would compete for CPU before).
    const chunksFinished = deferred<void>();
    chunksFinished.promise.catch(() => {});
    // The files' previews steps, one at a time, once every chunk has run.
    let describing: Promise<void> = chunksFinished.promise;
    const assemble = async (file: number) => {
      const started = Date.now();
      // Metered: the copy from the file's last chunk on, and the previews step on its own.
      let copied = 0;
      let described = 0;
      const record = await assembleStage(
        store,
        job,
        file,
        (chunk) => chunkResults[itemIndex.get(`${file}/${chunk}`) as number].promise,
        {
          describe: (step) => {
            copied = Date.now() - Math.max(started, lastChunkDone[file]);
            const run = describing.then(async () => {
              const from = Date.now();
              try {
                return await step();
              } finally {
                described = Date.now() - from;
              }
            });
            describing = run.then(
              () => {},
              () => {},
            );
            return run;
          },
        },
      );
      await store.meter('assembleFile', copied + described);
      rt.onProgress?.({ kind: 'file', record });
      return record;
    };
    // Observed below; a rejection must not count as unhandled meanwhile.
    for (const d of chunkResults) d.promise.catch(() => {});
    assemblies = plan.files.map((f) => assemble(f.index));
    for (const a of assemblies) a.catch(() => {});

    try {
      await pool(
        plan.items,
        rt.concurrency,
        async (item) => {
          const index = itemIndex.get(`${item.file}/${item.chunk}`) as number;
          const { result, ms } = await untilStopped(rt.runChunk(job, item));
          await store.meter('deconvolveChunk', ms);
          if (--chunksLeft[item.file] === 0) lastChunkDone[item.file] = Date.now();
          chunkResults[index].resolve(result);
          cellsDone += item.cellEnd - item.cellStart;
          rt.onProgress?.({ kind: 'chunk', item, cellsDone, totalCells });
        },
        rt.signal,
      );
    } catch (err) {
      // Chunks that never ran (or failed) release the assemblies waiting for them.
      for (const d of chunkResults) d.reject(err);
      chunksFinished.reject(err);
      throw err;
    }
    chunksFinished.resolve();
    await rt.chunksDone?.();
    const files = await untilStopped(Promise.all(assemblies));
    checkpoint();
    const finalizeStarted = Date.now();
    const report = await untilStopped(
      finalizeStage(store, job, {
        files,
        extra,
        startedAt: finalizeStarted,
        beforePublish: () => {
          // From here on the result is published whole, whatever signal arrives.
          checkpoint();
          publishing = true;
          rt.onProgress?.({ kind: 'publishing' });
        },
      }),
    );
    rt.onProgress?.({ kind: 'finalized', report });
    return report;
  } catch (err) {
    await rt.stopChunks?.().catch(() => {});
    // Stages still running see a sealed store (or finish) within a moment; one stuck on a read
    // is left behind: it writes nothing more.
    await Promise.race([
      Promise.allSettled([...inflight, ...assemblies]),
      new Promise((r) => setTimeout(r, SETTLE_MS).unref()),
    ]);
    const failed = err as FailedRun;
    try {
      const e = err as { name?: string; message?: string };
      failed.cleanup = await failStage(store, {
        run: req.run,
        error: { name: e?.name ?? 'Error', cause: e?.message ?? String(err) },
        inputs: req.inputs,
        writeReport: false,
        startedAt: Date.now(),
      });
    } catch (cleanupError) {
      if (failed !== null && typeof failed === 'object') failed.cleanupError = cleanupError;
    }
    throw err;
  }
}

export type { FailedRun, JobProgress, JobRequest, JobRuntime };
export { runJob };
