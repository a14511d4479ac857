/**
 * `caiman-spikes run FILES… --out DIR`: the IDEAS "CaImAn Spike Extraction" job, locally: the
 * job's stages (lib/job/stages.ts) scheduled by lib/job/runJob.ts over a file-system JobStore
 * (bin/fileStore.ts), with chunks of cells deconvolved on the main thread and on worker threads
 * (bin/worker.ts; one per further core, started as the job is planned). Everything is written
 * to a staging folder beside --out and published into it at the end, manifest.json last; on
 * failure or Ctrl-C the staging folder is removed and --out keeps what it held. With no FILES
 * it generates the embedded synthetic cell set (lib/job/synthetic.ts), runs the job on it and
 * reports how well the known spikes were recovered.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Command } from 'commander';
import { memorySink, memorySource } from '../../lib/bytes.js';
import {
  DeconvolutionError,
  InternalError,
  InvalidInputError,
  InvalidParameterError,
  USER_ERROR_NAMES,
} from '../../lib/errors.js';
import { openEventSet } from '../../lib/isxd/index.js';
import { CHUNK_BUDGET_SECONDS } from '../../lib/job/costModel.js';
import { type ChunkResult, isDeconvolved } from '../../lib/job/deconvolveChunk.js';
import { eventSetOutputName } from '../../lib/job/outputs.js';
import type { JobOptions, ToolParams } from '../../lib/job/params.js';
import {
  jobOptionHelp,
  parseJobOptions,
  parseToolParams,
  TABLE_OPTION_NAMES,
  TOOL_PARAM_NAMES,
  toolParamHelp,
} from '../../lib/job/params.js';
import {
  CHUNK_LIMITS,
  type JobPlan,
  type PlanLimits,
  planJob,
  type WorkItem,
} from '../../lib/job/plan.js';
import { stageBytes } from '../../lib/job/publish.js';
import { type FailedRun, type JobRuntime, runJob } from '../../lib/job/runJob.js';
import type { FinalizeReport, JobRecord } from '../../lib/job/stages.js';
import type { RunRef } from '../../lib/job/store.js';
import {
  type SyntheticTruth,
  scoreRecovery,
  writeSyntheticCellSet,
} from '../../lib/job/synthetic.js';
import { CREDITS_PER_COMPUTE_HOUR, creditsFor } from '../../lib/job/usage.js';
import { runWarnings } from '../../lib/job/warnings.js';
import { fileSource } from '../fileSource.js';
import { fileJobStore } from '../fileStore.js';
import { createProgress } from '../progress.js';
import { type FromWorker, runChunkTimed, type ToWorker, type WorkerError } from '../worker.js';

/** Options as commander parses them. */
interface RunOptions {
  out: string;
  params?: string;
  acceptedOnly?: string | boolean;
  eventThresholdSn?: string;
  overwrite?: boolean;
  workers?: string;
  quiet?: boolean;
  dryRun?: boolean;
  json?: boolean;
  [toolParam: string]: unknown;
}

/** Inputs smaller than this run on the main thread only: a worker would cost more than it saves. */
const IN_PROCESS_BYTES = 2 * 1024 * 1024;
const SYNTHETIC_INPUT = 'synthetic_cellset.isxd';
/**
 * The worker module, dist/worker.mjs (built with dist/cli.mjs by `npm run build`): beside this
 * module when it runs from dist/cli.mjs, else in the repository's dist/ (this module loaded from
 * TypeScript, as in the unit tests).
 */
async function workerFile(): Promise<string> {
  const here = fileURLToPath(import.meta.url);
  const file =
    extname(here) === '.mjs'
      ? join(dirname(here), 'worker.mjs')
      : fileURLToPath(new URL('../../dist/worker.mjs', import.meta.url));
  if ((await stat(file).catch(() => null)) === null) {
    throw new InternalError(
      `worker bundle ${file} not found: run npm run build (npm ci does it)`,
      'NotBuilt',
    );
  }
  return file;
}

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebab = (name: string) => name.replace(/_/g, '-');

async function readParamsFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new InvalidInputError(
      `${path}: cannot read the --params file (${(cause as NodeJS.ErrnoException).code})`,
      'FileNotFound',
      { cause },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InvalidParameterError(
      'params',
      path,
      `a JSON object keyed by the tool's parameter names (${(cause as Error).message})`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidParameterError(
      'params',
      path,
      "a JSON object keyed by the tool's parameter names",
    );
  }
  return value as Record<string, unknown>;
}

async function checkInputs(files: string[]): Promise<void> {
  for (const f of files) {
    const st = await stat(f).catch(() => null);
    if (st === null) throw new InvalidInputError(`${f}: no such file`, 'FileNotFound');
    if (!st.isFile()) throw new InvalidInputError(`${f}: not a file`, 'NotAFile');
    if (extname(f).toLowerCase() !== '.isxd') {
      throw new InvalidInputError(
        `${f}: not an .isxd cell set (extension ${extname(f) || 'none'}, expected .isxd)`,
        'NotIsxd',
      );
    }
  }
}

/**
 * Worker errors come back as plain data: the product's own error classes keep their name and
 * code (bad input, exit 2); anything else is an internal fault (exit 1).
 */
function rebuildError(e: WorkerError): Error {
  const err = USER_ERROR_NAMES.has(e.name)
    ? Object.assign(new DeconvolutionError(e.message, e.code ?? e.name), { name: e.name })
    : new InternalError(`a worker thread failed: ${e.name}: ${e.message}`, e.code ?? 'Worker');
  if (e.stack) err.stack = e.stack;
  return err;
}

/** Chunks queued on each worker, so it starts the next one while its last result travels back. */
const WORKER_DEPTH = 2;

/**
 * `size` worker threads, started at once (the bundle is found first, then each thread
 * loads it while the job is planned). Each runs its chunks one after the other, in the order
 * sent; `run` sends a chunk to the worker with the fewest queued. A worker that exits (or is
 * terminated) rejects the chunks it still had.
 */
function workerPool(size: number, out: string) {
  const slots: { worker: Worker; queued: number }[] = [];
  type Pending = {
    resolve: (r: { result: ChunkResult; ms: number }) => void;
    reject: (e: unknown) => void;
  };
  const waiting = new Map<number, Pending & { slot: Worker }>();
  let nextId = 0;
  let jobSent = false;
  const failAll = (worker: Worker, error: unknown) => {
    for (const [id, p] of waiting) {
      if (p.slot !== worker) continue;
      waiting.delete(id);
      p.reject(error);
    }
  };
  const spawn = (workerFile: string) => {
    const slot = { worker: new Worker(workerFile), queued: 0 };
    slot.worker.on('message', (msg: FromWorker) => {
      const pending = waiting.get(msg.id);
      waiting.delete(msg.id);
      slot.queued--;
      if (msg.type === 'done') pending?.resolve({ result: msg.result, ms: msg.ms });
      else pending?.reject(rebuildError(msg.error));
    });
    slot.worker.on('error', (err) => failAll(slot.worker, err));
    slot.worker.on('exit', (code) =>
      failAll(
        slot.worker,
        new InternalError(`worker thread stopped (exit code ${code})`, 'Worker'),
      ),
    );
    slots.push(slot);
  };
  const ready = workerFile().then((file) => {
    for (let i = 0; i < size; i++) spawn(file);
  });
  // A missing bundle fails the first chunk sent to a worker (`run` awaits `ready`), not the process.
  ready.catch(() => {});
  return {
    /** How many chunks the pool can take at once. */
    capacity: size * WORKER_DEPTH,
    async run(job: JobRecord, item: WorkItem): Promise<{ result: ChunkResult; ms: number }> {
      await ready;
      if (!jobSent) {
        jobSent = true;
        for (const { worker } of slots)
          worker.postMessage({ type: 'init', job, out } satisfies ToWorker);
      }
      const slot = slots.reduce((a, b) => (b.queued < a.queued ? b : a));
      if (slot.queued >= WORKER_DEPTH) throw new InternalError('no idle worker', 'WorkerPool');
      slot.queued++;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject, slot: slot.worker });
        slot.worker.postMessage({ type: 'chunk', id, item } satisfies ToWorker);
      });
    },
    /** Number of threads still running. */
    get size() {
      return slots.length;
    },
    async close() {
      await ready.catch(() => {});
      await Promise.all(slots.splice(0).map((s) => s.worker.terminate()));
    },
  };
}

/** The events of one written event set, as frames per cell. */
async function readEventFrames(path: string, periodSeconds: number) {
  const src = fileSource(path);
  try {
    const cells = await (await openEventSet(src)).readAll();
    return cells.map((c) => ({
      frames: Array.from(c.offsetsMicros, (us) => Math.round(us / (periodSeconds * 1e6))),
      amplitudes: c.amplitudes,
    }));
  } finally {
    await src.close();
  }
}

async function demoReport(
  out: string,
  truth: SyntheticTruth,
  report: FinalizeReport,
  params: ToolParams,
): Promise<string> {
  const period = 1 / truth.spec.frameRate;
  const events = await readEventFrames(join(out, eventSetOutputName(0)), period);
  const cells = report.files[0].outputs.cells.filter(isDeconvolved);
  const score = scoreRecovery(
    truth,
    events,
    cells.map((c) => c.cell),
  );
  const taus = cells
    .map((c) => c.tauDecaySeconds)
    .filter((t): t is number => t !== null)
    .sort((a, b) => a - b);
  const trueTau = -period / Math.log(truth.spec.g);
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  return [
    `Synthetic demo: ${truth.spec.numCells} cells × ${truth.spec.numTimes} frames at ${truth.spec.frameRate} Hz`,
    `(AR(1) g = ${truth.spec.g}, sn = ${truth.spec.sn}, ${truth.invalidFrames.length} invalid frames, ${truth.statuses.filter((s) => s === 'rejected').length} rejected cells).`,
    `Spike recovery over ${cells.length} deconvolved cells (±${score.tolerance} frames): ${score.trueSpikes} true spikes, recall ${pct(score.recall)};`,
    `${score.events} events, ${pct(score.precision)} of them near a true spike, carrying ${pct(score.amplitudePrecision)} of the event amplitude`,
    `(the rest are small L1 events; --event-threshold-sn 3 keeps only events ≥ 3·sn).`,
    `Median estimated decay time ${taus.length ? taus[Math.floor(taus.length / 2)].toFixed(3) : 'n/a'} s (true ${trueTau.toFixed(3)} s)${params.g === null && params.tau_decay === null && params.fudge_factor < 1 ? `: the fudge factor ${params.fudge_factor} (the IDEAS default) shrinks the estimated AR root, and so τ, on purpose (use --fudge-factor 1 for the unshrunk estimate)` : ''}.`,
  ].join('\n');
}

/** Exit codes of a run stopped by a signal (128 + signal number, as shells report it). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof SIGNAL_EXIT;

/** The run's identity in its usage record and manifest. */
function localRun(): RunRef {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return {
    // unique even for two runs of one process within a second
    runId: `local-${stamp}-${process.pid}-${randomBytes(3).toString('hex')}`,
    executionId: `local:${hostname()}:${process.pid}`,
    account: 'local',
  };
}

/** One target's plan as the dry run reports it. */
interface TargetPlan {
  target: 'local' | 'lambda';
  budgetSeconds: number;
  hardBudget: boolean;
  speedFactor: number;
  /** null when the plan was refused. */
  chunks: number | null;
  maxChunkSeconds: number | null;
  totalSeconds: number | null;
  credits: number | null;
  /** Predicted seconds per chunk (JSON only). */
  chunkSeconds?: number[];
  warnings: string[];
  refusal: string | null;
}

/** Credits of a predicted compute time (lib/job/usage.ts rate). */
const predictedCredits = (seconds: number) => creditsFor(seconds * 1000);

/** Plans for one target; a refusal is returned (Lambda) or thrown (local: the run is invalid). */
async function planTarget(
  target: 'local' | 'lambda',
  files: string[],
  params: ToolParams,
  options: JobOptions,
): Promise<TargetPlan> {
  const limits: Required<PlanLimits> = CHUNK_LIMITS[target];
  const sources = files.map((f) => fileSource(f));
  const base = {
    target,
    budgetSeconds: limits.budgetSeconds,
    hardBudget: limits.hardBudget,
    speedFactor: limits.speedFactor,
  };
  let plan: JobPlan;
  try {
    plan = await planJob(sources, params, options, limits);
  } catch (err) {
    if (target === 'lambda' && err instanceof InvalidParameterError) {
      const none = { chunks: null, maxChunkSeconds: null, totalSeconds: null, credits: null };
      return { ...base, ...none, warnings: [], refusal: err.message };
    }
    throw err;
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
  const secs = plan.items.map((it) => it.predictedSeconds);
  return {
    ...base,
    chunks: secs.length,
    maxChunkSeconds: secs.reduce((m, x) => Math.max(m, x), 0),
    totalSeconds: plan.predictedSeconds,
    credits: predictedCredits(plan.predictedSeconds),
    chunkSeconds: secs,
    warnings: plan.warnings ?? [],
    refusal: null,
  };
}

/** "12 × 4.2 s, 1 × 1.3 s": the distinct predicted chunk times, most frequent first. */
function chunkHistogram(secs: number[]): string {
  const counts = new Map<string, number>();
  for (const s of secs) {
    const k = s.toFixed(1);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} × ${k} s`);
  return parts.length > 6 ? `${parts.slice(0, 6).join(', ')}, …` : parts.join(', ');
}

/** The dry run's text for one target. */
function describeTarget(t: TargetPlan): string {
  const name =
    t.target === 'local'
      ? 'this machine'
      : `AWS Lambda (arm64, predictions × ${t.speedFactor} the measured x86 times)`;
  const budget = `budget ${t.budgetSeconds} s per chunk (${t.hardBudget ? 'hard: a trace over it is refused' : 'soft'})`;
  if (t.refusal !== null) return `Plan for ${name}: REFUSED, ${budget}: ${t.refusal}\n`;
  const lines = [
    `Plan for ${name}: ${t.chunks} chunk(s), predicted ≤ ${t.maxChunkSeconds?.toFixed(1)} s each ` +
      `(${chunkHistogram(t.chunkSeconds ?? [])}), ${t.totalSeconds?.toFixed(1)} s of compute in total, ` +
      `${t.credits?.toFixed(5)} credits (${CREDITS_PER_COMPUTE_HOUR} per compute hour); ${budget}.`,
    ...t.warnings.map((w) => `  warning: ${w}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * `run --dry-run`: reads the footers only and prints the plan for this machine and for AWS
 * Lambda; writes nothing. Exit 0, also when only the Lambda plan is refused (it says so); an
 * invalid local plan throws (exit 2).
 */
async function dryRun(
  files: string[],
  params: ToolParams,
  options: JobOptions,
  json: boolean,
): Promise<number> {
  await checkInputs(files);
  const targets = [
    await planTarget('local', files, params, options),
    await planTarget('lambda', files, params, options),
  ];
  if (json) {
    process.stdout.write(`${JSON.stringify({ budgetSeconds: CHUNK_BUDGET_SECONDS, targets })}\n`);
  } else {
    process.stdout.write(
      `Dry run (nothing written; p = ${params.p}, ${params.method_deconvolution}${params.method_deconvolution === 'cvxpy' ? `, solvers ${params.solvers.join(',')}` : ''}):\n${targets.map(describeTarget).join('')}`,
    );
  }
  return 0;
}

async function runCommand(files: string[], opts: RunOptions): Promise<number> {
  const started = performance.now();
  const raw: Record<string, unknown> = opts.params ? await readParamsFile(opts.params) : {};
  for (const name of TOOL_PARAM_NAMES) {
    const v = opts[camel(name)];
    if (v !== undefined) raw[name] = v;
  }
  const params = parseToolParams(raw);
  const options = parseJobOptions({
    acceptedOnly: opts.acceptedOnly,
    eventThresholdSn: opts.eventThresholdSn,
    ...Object.fromEntries(TABLE_OPTION_NAMES.map((name) => [name, opts[camel(name)]])),
  });
  let workers: number | null = null;
  if (opts.workers !== undefined) {
    workers = Number(opts.workers);
    if (!Number.isInteger(workers) || workers < 0)
      throw new InvalidParameterError('workers', opts.workers, 'an integer ≥ 0 (0 = in-process)');
    const cores = availableParallelism();
    if (workers > cores) {
      process.stderr.write(
        `caiman-spikes: note: --workers ${workers} capped at the ${cores} core(s) of this machine (more threads than cores only compete for them).\n`,
      );
      workers = cores;
    }
  }
  if (opts.dryRun === true) {
    if (files.length === 0) {
      throw new InvalidInputError(
        '--dry-run needs FILES (the demo has nothing to plan)',
        'NoInput',
      );
    }
    return dryRun(files, params, options, opts.json === true);
  }
  const out = resolve(opts.out);
  const demo = files.length === 0;
  let truth: SyntheticTruth | null = null;
  const generated = new Map<string, ReturnType<typeof memorySource>>();
  if (demo) {
    // The demo's input is made in memory and published beside the outputs.
    const sink = memorySink();
    truth = await writeSyntheticCellSet(sink);
    files = [SYNTHETIC_INPUT];
    generated.set(SYNTHETIC_INPUT, memorySource(SYNTHETIC_INPUT, sink.bytes()));
  } else {
    await checkInputs(files);
  }
  const inputBytes = demo
    ? 0
    : (await Promise.all(files.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0);
  // Deconvolving threads: the main thread plus `threads − 1` workers.
  const threads = Math.max(
    1,
    workers ?? (inputBytes < IN_PROCESS_BYTES ? 1 : availableParallelism()),
  );
  const store = fileJobStore(out, { inputs: generated });
  const pool = threads > 1 ? workerPool(threads - 1, out) : null;
  const progress = createProgress(process.stderr, opts.quiet === true);

  // Ctrl-C / SIGTERM: stop starting chunks, stop the workers, let runJob clean up, exit 128+n.
  // A second signal removes the staging folder at once and exits.
  const abort = new AbortController();
  let stoppedBy: StopSignal | null = null;
  let publishing = false;
  const run = localRun();
  let workersEnded = 0;
  const onSignal = (signal: StopSignal) => {
    if (stoppedBy !== null) {
      // A second signal: stop now, unless the result is being published (a few renames) or the
      // first one's cleanup is removing what was published.
      if (publishing) return;
      store.removeStagingSync(run);
      process.exit(SIGNAL_EXIT[signal]);
    }
    stoppedBy = signal;
    workersEnded = pool?.size ?? 0;
    abort.abort(new InvalidInputError(`stopped by ${signal}`, 'Interrupted'));
    void pool?.close();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  let mainBusy = false;
  const runtime: JobRuntime = {
    store,
    concurrency: 1 + (pool?.capacity ?? 0),
    // The main thread takes a chunk whenever it has none (it yields between cells, so worker
    // messages are still answered); the other lanes feed the workers.
    runChunk: async (job, item) => {
      if (pool !== null && mainBusy) return pool.run(job, item);
      mainBusy = true;
      try {
        return await runChunkTimed(store, job, item);
      } finally {
        mainBusy = false;
      }
    },
    chunksDone: async () => pool?.close(),
    stopChunks: async () => pool?.close(),
    signal: abort.signal,
    onProgress: (e) => {
      if (e.kind === 'publishing') publishing = true;
      if (e.kind === 'planned') {
        for (const w of e.job.plan.warnings ?? [])
          process.stderr.write(`caiman-spikes: warning: ${w}\n`);
      }
      progress.onProgress(e);
    },
  };
  let report: FinalizeReport;
  try {
    report = await runJob(
      {
        run,
        inputs: files,
        params,
        options,
        limits: CHUNK_LIMITS.local,
        // The demo replaces its own earlier outputs (HELP says so).
        overwrite: opts.overwrite === true || demo,
        existsHint: 'pass --overwrite to replace that result, or choose another --out',
        extra: truth
          ? async (s) => [
              await stageBytes(
                s,
                SYNTHETIC_INPUT,
                await (generated.get(SYNTHETIC_INPUT) as ReturnType<typeof memorySource>).read(
                  0,
                  Number.MAX_SAFE_INTEGER,
                ),
              ),
            ]
          : undefined,
      },
      runtime,
    );
  } catch (err) {
    progress.stop();
    const failed = err as FailedRun;
    const cleanup = failed?.cleanup;
    const problem =
      failed?.cleanupError !== undefined
        ? `could not clean up (${(failed.cleanupError as Error)?.message ?? failed.cleanupError}); remove ${store.staging} if it is still there`
        : cleanup?.workLeft
          ? `could not remove ${store.staging} (${cleanup.workLeft})`
          : null;
    if (stoppedBy !== null) {
      const cleaned =
        problem ??
        (cleanup?.owned
          ? `removed the staging folder ${store.staging}${cleanup.unpublished.length > 0 ? ` and the ${cleanup.unpublished.length} files it had published` : ''}`
          : 'nothing to clean up');
      process.stderr.write(
        `caiman-spikes: stopped by ${stoppedBy}: ${workersEnded > 0 ? `ended ${workersEnded} worker thread(s), ` : ''}${cleaned}; ${out} holds what it held before.\n`,
      );
      // The user asked to stop: a stage left stuck on a read must not keep the process alive.
      process.exit(SIGNAL_EXIT[stoppedBy]);
    }
    if (problem !== null) process.stderr.write(`caiman-spikes: ${problem}\n`);
    throw err;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    progress.stop();
    await pool?.close();
    await store.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const numCells = report.files.reduce((n, f) => n + f.outputs.cells.length, 0);
  const deconvolved = report.files.reduce(
    (n, f) => n + f.outputs.cells.filter(isDeconvolved).length,
    0,
  );
  const failed = report.files.flatMap((f) =>
    f.outputs.cells.filter((c) => c.failure !== null).map((c) => c.name),
  );
  const skipped = report.files.reduce(
    (n, f) => n + f.outputs.cells.filter((c) => c.skipped).length,
    0,
  );
  const numEvents = report.files.reduce((n, f) => n + f.outputs.numEvents, 0);
  process.stdout.write(
    `Deconvolved ${deconvolved} of ${numCells} cells${skipped > 0 ? ` (${skipped} skipped by --accepted-only)` : ''} in ${files.length} file(s) ` +
      `(p = ${params.p}, ${params.method_deconvolution}) and found ${numEvents} events in ${seconds.toFixed(2)} s ` +
      `on ${threads} ${threads > 1 ? `threads (main + ${threads - 1} worker(s))` : 'thread (in-process)'}; wrote ${report.manifest.outputs.length + 1} files to ${out} (manifest.json lists them). ` +
      `On IDEAS this run would cost ${report.usage.credits.toFixed(5)} credits (${CREDITS_PER_COMPUTE_HOUR} per compute hour, ${(report.usage.totalComputeMs / 1000).toFixed(2)} s of compute).\n`,
  );
  if (failed.length > 0) {
    const shown = failed.slice(0, 5).join(', ') + (failed.length > 5 ? ', …' : '');
    process.stdout.write(
      `${failed.length} cell(s) could not be deconvolved and have a NaN trace and no events (${shown}); output_metadata.json gives each cell's reason ("failure").\n`,
    );
  }
  const warnings = runWarnings(
    report.job.plan,
    report.files.map((f) => f.outputs),
  );
  for (const w of warnings) process.stderr.write(`caiman-spikes: warning: ${w}\n`);
  if (report.removed.length > 0) {
    process.stdout.write(
      `Removed ${report.removed.length} file(s) of the previous result that this one does not have: ${report.removed.join(', ')}.\n`,
    );
  }
  if (report.foreign.length > 0) {
    process.stdout.write(
      `Left ${report.foreign.length} file(s) in ${out} that no result lists: ${report.foreign.join(', ')}.\n`,
    );
  }
  if (report.workLeft !== null) {
    process.stderr.write(`caiman-spikes: could not remove ${store.staging}: ${report.workLeft}\n`);
  }
  if (stoppedBy !== null) {
    process.stderr.write(
      `caiman-spikes: ${stoppedBy} arrived while publishing; the result in ${out} is complete (manifest.json).\n`,
    );
    return SIGNAL_EXIT[stoppedBy];
  }
  if (truth !== null) process.stdout.write(`${await demoReport(out, truth, report, params)}\n`);
  return 0;
}

const HELP = `
Parameters take the IDEAS tool's names and values ('auto' = estimate): flags (--noise-range 0.25,0.5,
--bas-nonneg false, --g 0.9, -p 2) override the keys of --params FILE.json. Kinetics in seconds
instead of g: --tau-decay S (p = 1), or --tau-decay S --tau-rise R with R < S (p = 2); each file's
frame period Δt converts them (g = exp(−Δt/τ_d); p = 2: g = [d + r, −d·r] with d = exp(−Δt/τ_d),
r = exp(−Δt/τ_r)), and output_metadata.json records the g. --solvers SCS names one solver (no fallback).

Outputs in --out (k = position of the file in FILES, 000, 001, …): cellset_denoised.k.isxd,
neural_events.k.isxd, traces_cellset_denoised.k.svg, footprints_cellset_denoised.k.svg,
preview_neural_events.k.svg, output_metadata.json, report.html (every cell, in a browser),
usage.json and manifest.json (written last); with --csv also neural_events.k.csv and
cellset_denoised.k.csv (README "CSV exports"). Several files must form one series (same cells,
names, statuses, frame period and field of view, no overlap in time); each is deconvolved on its own.

Events: frames where the deconvolved activity s is > 0 and above float32 round-off (1e-5·max s),
never at dropped / cropped / blank frames; --event-threshold-sn K also requires s ≥ K·sn.
--accepted-only: 'accepted' (default when given) deconvolves accepted cells only;
'accepted+undecided' skips rejected cells. Skipped cells keep their footprint and get an all-NaN
trace and no events.

A cell that cannot be deconvolved (no valid frame, a constant trace with p = 2, …) gets an all-NaN
trace, no events and its reason ("failure") in output_metadata.json; the other cells are processed.
A job in which no cell can be deconvolved fails with exit code 2 naming the first cells and why.
Exit codes: 0 ok, 2 bad input (file, parameter, series, cell), 1 internal error. Nothing partial is
left behind. With no FILES a synthetic cell set with known spikes is generated in --out and its
recovery reported (its outputs are replaced).

--dry-run reads only the files' footers, writes nothing (no --out folder) and prints, for this
machine and for AWS Lambda, the chunks, the predicted seconds per chunk and in total, the predicted
credits and the per-chunk time budget (lib/job/costModel.ts). On Lambda a single trace predicted
over the budget is refused at Plan; the dry run then prints that refusal and still exits 0 (the
local plan, where the budget is only a warning, is valid). It exits 2 when the local plan itself
is invalid (bad file, series or parameter).`;

/** Registers `caiman-spikes run`. */
function registerRun(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('run')
    .description(
      'extract spikes (CaImAn constrained_foopsi) from Inscopix cell sets, as the IDEAS tool does',
    )
    .argument(
      '[files...]',
      'input cell sets (.isxd) in the order that numbers the outputs; none = synthetic demo',
    )
    .option('-o, --out <dir>', 'output folder', 'out')
    .option('--params <file>', "JSON file keyed by the tool's parameter names");
  // -p is the one short form: the AR order is the parameter most often changed.
  for (const name of TOOL_PARAM_NAMES) {
    cmd.option(`${name === 'p' ? '-p, ' : ''}--${kebab(name)} <value>`, toolParamHelp(name));
  }
  cmd
    .option(
      '--accepted-only [mode]',
      "skip cells: 'accepted' (deconvolve accepted only) or 'accepted+undecided' (skip rejected)",
    )
    .option(
      '--event-threshold-sn <K>',
      'keep only events with amplitude ≥ K·sn (default: every positive event)',
    );
  // The options of lib/job/params.ts JOB_OPTION_FIELDS (flags: `--csv` = true).
  for (const name of TABLE_OPTION_NAMES) cmd.option(`--${kebab(name)}`, jobOptionHelp(name));
  cmd
    .option('--overwrite', 'replace existing outputs in --out')
    .option(
      '--workers <n>',
      'deconvolving threads, the main one included (default: all cores, or 1 for inputs under 2 MB; 0 or 1 = in-process)',
    )
    .option('-q, --quiet', 'no progress output')
    .option(
      '--dry-run',
      'print the plan (chunks, predicted seconds and credits) for this machine and AWS Lambda; write nothing',
    )
    .option('--json', 'with --dry-run: print the plan as JSON')
    .addHelpText('after', HELP)
    .action(async (files: string[], opts: RunOptions) => {
      setExit(await runCommand(files, opts));
    });
}

export type { RunOptions };
export { registerRun, runCommand };
