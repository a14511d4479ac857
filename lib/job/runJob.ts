/**
 * The local orchestration of the job, the same steps the cloud workflow runs:
 *
 *   planJob → deconvolveChunk for every item (on `concurrency` executors), with each file's
 *   assembleFile copying its chunk parts in order as they arrive → finalizeJob.
 *
 * Where chunks run (worker threads), where parts and outputs live (files) is the caller's
 * business (bin/commands/run.ts binds them); this module is pure. On any failure nothing is
 * left behind: running chunks are awaited, parts are removed and outputs already written by this
 * run are removed, then the first error is rethrown.
 */
import type { ByteSink, ByteSource } from '../bytes.js';
import { assembleFile, type FileOutputs } from './assemble.js';
import type { ChunkResult } from './deconvolveChunk.js';
import { finalizeJob } from './finalize.js';
import { cellSetOutputName, eventSetOutputName } from './outputs.js';
import type { JobOptions, ToolParams } from './params.js';
import { type JobPlan, type PlanLimits, planJob, type WorkItem } from './plan.js';

/** Progress events, in order: one 'planned', one 'chunk' per item, one 'file' per input. */
type JobProgress =
  | { kind: 'planned'; plan: JobPlan; totalCells: number }
  | { kind: 'chunk'; item: WorkItem; cellsDone: number; totalCells: number }
  | { kind: 'file'; outputs: FileOutputs }
  | { kind: 'finalized'; files: string[] };

/** Where the job runs and stores things. */
interface JobRuntime {
  /** The input cell sets, in the user's order. */
  inputs: ByteSource[];
  /** Chunk size limits for the plan. */
  limits?: PlanLimits;
  /** How many chunks may run at once. */
  concurrency: number;
  /** Runs `deconvolveChunk(plan, item, …)` somewhere, writing its parts where `readPart` finds them. */
  runChunk(plan: JobPlan, item: WorkItem): Promise<ChunkResult>;
  /** Called once every chunk has run (e.g. to stop worker threads before finalizing). */
  chunksDone?(): Promise<void>;
  /** Opens a chunk part written by `runChunk`. */
  readPart(file: number, kind: 'cellset' | 'events', chunk: number): Promise<ByteSource>;
  /** Deletes every part (called once, at the end, success or not). */
  removeParts(): Promise<void>;
  /** A sink for a large output (cell set, event set); whole on close. */
  outputSink(name: string): ByteSink;
  /** Opens a written output. */
  openOutput(name: string): Promise<ByteSource>;
  /** Writes a small output whole. */
  writeOutput(name: string, bytes: Uint8Array): Promise<void>;
  /** Deletes an output this run wrote (on failure). */
  removeOutput(name: string): Promise<void>;
  onProgress?(event: JobProgress): void;
}

/** What a run produced. */
interface JobReport {
  plan: JobPlan;
  outputs: FileOutputs[];
  /** Every output name written, in the order written. */
  files: string[];
  metadata: object;
  numCells: number;
  numEvents: number;
}

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
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    while (failure === null && next < items.length) {
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
 * @throws whatever planning, a chunk, assembly or finalizing throws (CaimanSpikesError
 *   subclasses for anything the user can act on), after cleaning up.
 */
async function runJob(params: ToolParams, options: JobOptions, rt: JobRuntime): Promise<JobReport> {
  let plan: JobPlan;
  try {
    plan = await planJob(rt.inputs, params, options, rt.limits);
  } catch (err) {
    await rt.removeParts();
    throw err;
  }
  const totalCells = plan.files.reduce((n, f) => n + f.numCells, 0);
  rt.onProgress?.({ kind: 'planned', plan, totalCells });
  const written: string[] = [];
  // One deferred result per chunk: each file's assembly copies its parts in order as they arrive.
  const chunkResults = plan.items.map(() => deferred<ChunkResult>());
  const itemIndex = new Map(plan.items.map((it, i) => [`${it.file}/${it.chunk}`, i]));
  const outputs: FileOutputs[] = [];
  let cellsDone = 0;

  const assemble = async (file: number) => {
    const f = plan.files[file];
    const cellSetName = cellSetOutputName(file);
    const eventSetName = eventSetOutputName(file);
    written.push(cellSetName, eventSetName);
    const out = await assembleFile(
      plan,
      file,
      rt.inputs[f.index],
      (chunk) => chunkResults[itemIndex.get(`${file}/${chunk}`) as number].promise,
      (kind, chunk) => rt.readPart(file, kind, chunk),
      rt.outputSink(cellSetName),
      rt.outputSink(eventSetName),
    );
    outputs.push(out);
    rt.onProgress?.({ kind: 'file', outputs: out });
  };
  // Observed by Promise.allSettled below; a rejection must not count as unhandled meanwhile.
  for (const d of chunkResults) d.promise.catch(() => {});
  const assemblies = plan.files.map((f) => assemble(f.index));
  for (const a of assemblies) a.catch(() => {});

  try {
    try {
      await pool(plan.items, rt.concurrency, async (item) => {
        const index = itemIndex.get(`${item.file}/${item.chunk}`) as number;
        const result = await rt.runChunk(plan, item);
        chunkResults[index].resolve(result);
        cellsDone += item.cellEnd - item.cellStart;
        rt.onProgress?.({ kind: 'chunk', item, cellsDone, totalCells });
      });
    } catch (err) {
      // Chunks that never ran (or failed) release the assemblies waiting for them.
      for (const d of chunkResults) d.reject(err);
      throw err;
    }
    await rt.chunksDone?.();
    await Promise.all(assemblies);
    const done = await finalizeJob(plan, outputs, rt.openOutput, async (name, bytes) => {
      written.push(name);
      await rt.writeOutput(name, bytes);
    });
    rt.onProgress?.({ kind: 'finalized', files: done.files });
    outputs.sort((a, b) => a.file - b.file);
    return {
      plan,
      outputs,
      files: written,
      metadata: done.metadata,
      numCells: totalCells,
      numEvents: outputs.reduce((n, o) => n + o.numEvents, 0),
    };
  } catch (err) {
    await Promise.allSettled(assemblies);
    await Promise.allSettled(written.map((name) => rt.removeOutput(name)));
    throw err;
  } finally {
    await rt.removeParts();
  }
}

export type { JobProgress, JobReport, JobRuntime };
export { runJob };
