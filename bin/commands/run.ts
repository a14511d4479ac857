/**
 * `caiman-spikes run FILES… --out DIR`: the IDEAS "CaImAn Spike Extraction" job, locally
 * (lib/job/runJob.ts), with chunks of cells deconvolved on the main thread and on worker threads
 * (bin/worker.ts; one per further core, started as the job is planned) and every output written
 * under a temporary name and renamed when whole. With no FILES it generates the embedded
 * synthetic cell set (lib/job/synthetic.ts), runs the job on it and reports how well the known
 * spikes were recovered.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Command } from 'commander';
import { DeconvolutionError, InvalidInputError, InvalidParameterError } from '../../lib/errors.js';
import { openEventSet } from '../../lib/isxd/index.js';
import type { ChunkResult } from '../../lib/job/deconvolveChunk.js';
import { allOutputNames, eventSetOutputName } from '../../lib/job/outputs.js';
import {
  type JobOptions,
  parseJobOptions,
  parseToolParams,
  TOOL_PARAM_NAMES,
  type ToolParams,
  toolParamHelp,
} from '../../lib/job/params.js';
import type { JobPlan, WorkItem } from '../../lib/job/plan.js';
import { type JobReport, type JobRuntime, runJob } from '../../lib/job/runJob.js';
import {
  type SyntheticTruth,
  scoreRecovery,
  writeSyntheticCellSet,
} from '../../lib/job/synthetic.js';
import { type FileSource, fileSink, fileSource } from '../fileSource.js';
import { createProgress } from '../progress.js';
import {
  type FromWorker,
  partPath,
  runChunkToFiles,
  type ToWorker,
  type WorkerError,
} from '../worker.js';

/** Options as commander parses them. */
interface RunOptions {
  out: string;
  params?: string;
  acceptedOnly?: string | boolean;
  eventThresholdSn?: string;
  overwrite?: boolean;
  workers?: string;
  quiet?: boolean;
  [toolParam: string]: unknown;
}

/** Credits IDEAS charges per hour of this tool (contract, docs page). */
const CREDITS_PER_HOUR = 0.5;
/** Inputs smaller than this run on the main thread only: a worker would cost more than it saves. */
const IN_PROCESS_BYTES = 2 * 1024 * 1024;
/**
 * Chunks of ≈ 2 MB (14 cells of 36 000 frames, ≈ 50 ms of deconvolution) keep the threads evenly
 * loaded up to the last one while keeping the number of part files small.
 */
const CHUNK_LIMITS = { maxChunkBytes: 2 * 1024 * 1024, maxCellsPerChunk: 64 };
const SYNTHETIC_INPUT = 'synthetic_cellset.isxd';
/**
 * Bundles bin/worker.ts (and the lib/ code it runs) into one ES module with esbuild (tsx's own
 * compiler), so worker threads start from plain JavaScript: no tsx loader thread per worker,
 * which saves start-up time and about 60 MB per worker. The bundle is cached in the system temp
 * folder with the size and mtime of every source it was built from, and rebuilt when one changes
 * (bundling takes about half a second).
 */
async function bundleWorker(): Promise<string> {
  const checkout = createHash('sha256')
    .update(fileURLToPath(import.meta.url))
    .digest('hex');
  const dir = join(
    tmpdir(),
    `caiman-spikes-worker-${process.getuid?.() ?? 0}-${checkout.slice(0, 12)}`,
  );
  const outfile = join(dir, 'worker.mjs');
  const stampFile = join(dir, 'worker.json');
  const stamp = (files: string[]) =>
    Promise.all(
      files.map(async (file) => {
        const st = await stat(file).catch(() => null);
        return { file, size: st?.size ?? -1, mtimeMs: st?.mtimeMs ?? -1 };
      }),
    );
  type Stamp = Awaited<ReturnType<typeof stamp>>;
  const cached = await readFile(stampFile, 'utf8').then(
    (t) => JSON.parse(t) as Stamp,
    () => null,
  );
  if (cached !== null && (await stat(outfile).catch(() => null)) !== null) {
    const now = await stamp(cached.map((c) => c.file));
    if (JSON.stringify(now) === JSON.stringify(cached)) return outfile;
  }
  await mkdir(dir, { recursive: true });
  const tmp = `${outfile}.${process.pid}.tmp`;
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../worker.ts', import.meta.url))],
    outfile: tmp,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs).map((f) => resolve(f));
  await rename(tmp, outfile);
  await writeFile(`${stampFile}.${process.pid}.tmp`, JSON.stringify(await stamp(inputs)));
  await rename(`${stampFile}.${process.pid}.tmp`, stampFile);
  return outfile;
}

/**
 * The worker module: worker.mjs beside this module when it runs from the launcher's bundle
 * (bin/caiman-spikes.mjs builds both), else bin/worker.ts bundled on the fly.
 */
async function workerFile(): Promise<string> {
  const here = fileURLToPath(import.meta.url);
  if (extname(here) === '.mjs') {
    const bundled = join(dirname(here), 'worker.mjs');
    if ((await stat(bundled).catch(() => null)) !== null) return bundled;
  }
  return bundleWorker();
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

async function checkOutputs(out: string, numFiles: number): Promise<void> {
  for (const name of allOutputNames(numFiles)) {
    if (
      await stat(join(out, name)).then(
        () => true,
        () => false,
      )
    ) {
      throw new InvalidInputError(
        `${join(out, name)} already exists; pass --overwrite to replace the outputs`,
        'OutputExists',
      );
    }
  }
}

function rebuildError(e: WorkerError): Error {
  const err = new DeconvolutionError(e.message, e.code ?? e.name);
  if (e.stack) err.stack = e.stack;
  return err;
}

/** Chunks queued on each worker, so it starts the next one while its last result travels back. */
const WORKER_DEPTH = 2;

/**
 * `size` worker threads, started at once (the bundle is found or built first, then each thread
 * loads it while the job is planned). Each runs its chunks one after the other, in the order
 * sent; `run` sends a chunk to the worker with the fewest queued.
 */
function workerPool(size: number, inputs: string[], partsDir: string) {
  const slots: { worker: Worker; queued: number }[] = [];
  const waiting = new Map<
    number,
    { resolve: (r: ChunkResult) => void; reject: (e: unknown) => void }
  >();
  let nextId = 0;
  let planSent = false;
  const spawn = (workerFile: string) => {
    const slot = { worker: new Worker(workerFile), queued: 0 };
    slot.worker.on('message', (msg: FromWorker) => {
      const pending = waiting.get(msg.id);
      waiting.delete(msg.id);
      slot.queued--;
      if (msg.type === 'done') pending?.resolve(msg.result);
      else pending?.reject(rebuildError(msg.error));
    });
    slot.worker.on('error', (err) => {
      for (const p of waiting.values()) p.reject(err);
      waiting.clear();
    });
    slots.push(slot);
  };
  const ready = workerFile().then((file) => {
    for (let i = 0; i < size; i++) spawn(file);
  });
  return {
    /** How many chunks the pool can take at once. */
    capacity: size * WORKER_DEPTH,
    async run(plan: JobPlan, item: WorkItem): Promise<ChunkResult> {
      await ready;
      if (!planSent) {
        planSent = true;
        for (const { worker } of slots)
          worker.postMessage({ type: 'init', plan, inputs, partsDir } satisfies ToWorker);
      }
      const slot = slots.reduce((a, b) => (b.queued < a.queued ? b : a));
      if (slot.queued >= WORKER_DEPTH) throw new DeconvolutionError('no idle worker', 'WorkerPool');
      slot.queued++;
      const id = nextId++;
      return new Promise<ChunkResult>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        slot.worker.postMessage({ type: 'chunk', id, item } satisfies ToWorker);
      });
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

async function demoReport(out: string, truth: SyntheticTruth, report: JobReport): Promise<string> {
  const period = 1 / truth.spec.frameRate;
  const events = await readEventFrames(join(out, eventSetOutputName(0)), period);
  const cells = report.outputs[0].cells.filter((c) => !c.skipped);
  const score = scoreRecovery(
    truth,
    events,
    cells.map((c) => c.cell),
  );
  const taus = cells
    .map((c) => c.tauSeconds[0])
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const trueTau = -period / Math.log(truth.spec.g);
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  return [
    `Synthetic demo: ${truth.spec.numCells} cells × ${truth.spec.numTimes} frames at ${truth.spec.frameRate} Hz`,
    `(AR(1) g = ${truth.spec.g}, sn = ${truth.spec.sn}, ${truth.invalidFrames.length} invalid frames, ${truth.statuses.filter((s) => s === 'rejected').length} rejected cells).`,
    `Spike recovery over ${cells.length} deconvolved cells (±${score.tolerance} frames): ${score.trueSpikes} true spikes, recall ${pct(score.recall)};`,
    `${score.events} events, ${pct(score.precision)} of them near a true spike, carrying ${pct(score.amplitudePrecision)} of the event amplitude`,
    `(the rest are small L1 events; --event-threshold-sn 3 keeps only events ≥ 3·sn).`,
    `Median estimated decay time ${taus.length ? taus[Math.floor(taus.length / 2)].toFixed(3) : 'n/a'} s (true ${trueTau.toFixed(3)} s).`,
  ].join('\n');
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
  });
  let workers: number | null = null;
  if (opts.workers !== undefined) {
    workers = Number(opts.workers);
    if (!Number.isInteger(workers) || workers < 0)
      throw new InvalidParameterError('workers', opts.workers, 'an integer ≥ 0 (0 = in-process)');
  }
  const out = resolve(opts.out);
  const demo = files.length === 0;
  // A folder this run creates is removed again if the run fails before writing anything into it.
  const createdOut = await stat(out).then(
    () => false,
    () => true,
  );
  await mkdir(out, { recursive: true });
  try {
    return await runInto(out, files, demo, params, options, workers, opts, started);
  } catch (err) {
    if (createdOut) await rmdir(out).catch(() => {});
    throw err;
  }
}

async function runInto(
  out: string,
  files: string[],
  demo: boolean,
  params: ToolParams,
  options: JobOptions,
  workers: number | null,
  opts: RunOptions,
  started: number,
): Promise<number> {
  let truth: SyntheticTruth | null = null;
  if (demo) {
    files = [join(out, SYNTHETIC_INPUT)];
    truth = await writeSyntheticCellSet(fileSink(files[0]));
  } else {
    await checkInputs(files);
  }
  if (!opts.overwrite && !demo) await checkOutputs(out, files.length);

  const inputBytes = (await Promise.all(files.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0);
  // Deconvolving threads: the main thread plus `threads − 1` workers.
  const threads = Math.max(
    1,
    workers ?? (inputBytes < IN_PROCESS_BYTES ? 1 : availableParallelism()),
  );
  const partsDir = await mkdtemp(join(out, '.caiman-spikes-parts-'));
  const inputs = files.map((f) => fileSource(f));
  const opened: FileSource[] = [];
  const open = (path: string) => {
    const s = fileSource(path);
    opened.push(s);
    return s;
  };
  const pool = threads > 1 ? workerPool(threads - 1, files, partsDir) : null;
  const progress = createProgress(process.stderr, opts.quiet === true);
  let mainBusy = false;
  const runtime: JobRuntime = {
    inputs,
    limits: CHUNK_LIMITS,
    concurrency: 1 + (pool?.capacity ?? 0),
    // The main thread takes a chunk whenever it has none (it yields between cells, so worker
    // messages are still answered); the other lanes feed the workers.
    runChunk: async (plan, item) => {
      if (pool !== null && mainBusy) return pool.run(plan, item);
      mainBusy = true;
      try {
        return await runChunkToFiles(plan, item, inputs[item.file], partsDir);
      } finally {
        mainBusy = false;
      }
    },
    chunksDone: async () => pool?.close(),
    readPart: async (file, kind, chunk) => open(partPath(partsDir, file, kind, chunk)),
    removeParts: async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
      await rm(partsDir, { recursive: true, force: true });
    },
    outputSink: (name) => fileSink(join(out, name)),
    openOutput: async (name) => open(join(out, name)),
    writeOutput: async (name, bytes) => {
      const sink = fileSink(join(out, name));
      await sink.write(bytes);
      await sink.close();
    },
    removeOutput: (name) => rm(join(out, name), { force: true }),
    onProgress: (e) => progress.onProgress(e),
  };
  let report: JobReport;
  try {
    report = await runJob(params, options, runtime);
  } finally {
    progress.stop();
    await pool?.close();
    await Promise.all([...inputs, ...opened].map((s) => s.close()));
  }
  const seconds = (performance.now() - started) / 1000;
  const credits = (seconds / 3600) * CREDITS_PER_HOUR;
  const skipped = report.outputs.reduce((n, o) => n + o.cells.filter((c) => c.skipped).length, 0);
  process.stdout.write(
    `Deconvolved ${report.numCells - skipped} of ${report.numCells} cells in ${files.length} file(s) ` +
      `(p = ${params.p}, ${params.method_deconvolution}) and found ${report.numEvents} events in ${seconds.toFixed(2)} s ` +
      `on ${threads} ${threads > 1 ? `threads (main + ${threads - 1} worker(s))` : 'thread (in-process)'}; wrote ${report.files.length} outputs to ${out}. ` +
      `On IDEAS this run would cost ${credits.toFixed(5)} credits (${CREDITS_PER_HOUR} per hour).\n`,
  );
  if (truth !== null) process.stdout.write(`${await demoReport(out, truth, report)}\n`);
  return 0;
}

const HELP = `
Parameters take the IDEAS tool's names and values ('auto' = estimate): flags (--noise-range 0.25,0.5,
--bas-nonneg false, --g 0.9) override the keys of --params FILE.json.

Outputs in --out (k = position of the file in FILES, 000, 001, …): cellset_denoised.k.isxd,
neural_events.k.isxd, traces_cellset_denoised.k.svg, footprints_cellset_denoised.k.svg,
preview_neural_events.k.svg, output_metadata.json. Several files must form one series (same cells,
names, statuses, frame period and field of view, no overlap in time); each is deconvolved on its own.

Events: frames where the deconvolved activity s is > 0 and above float32 round-off (1e-5·max s),
never at dropped / cropped / blank frames; --event-threshold-sn K also requires s ≥ K·sn.
--accepted-only: 'accepted' (default when given) deconvolves accepted cells only;
'accepted+undecided' skips rejected cells. Skipped cells keep their footprint and get an all-NaN
trace and no events.

A cell that cannot be deconvolved (e.g. a constant trace with p = 2) fails the job with exit code 2
naming the file, the cell and the reason; skip it with --accepted-only if it is not accepted.
Exit codes: 0 ok, 2 bad input (file, parameter, series, cell), 1 internal error. Nothing partial is
left behind. With no FILES a synthetic cell set with known spikes is generated in --out and its
recovery reported (its outputs are replaced).`;

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
  for (const name of TOOL_PARAM_NAMES) cmd.option(`--${kebab(name)} <value>`, toolParamHelp(name));
  cmd
    .option(
      '--accepted-only [mode]',
      "skip cells: 'accepted' (deconvolve accepted only) or 'accepted+undecided' (skip rejected)",
    )
    .option(
      '--event-threshold-sn <K>',
      'keep only events with amplitude ≥ K·sn (default: every positive event)',
    )
    .option('--overwrite', 'replace existing outputs in --out')
    .option(
      '--workers <n>',
      'deconvolving threads, the main one included (default: all cores, or 1 for inputs under 2 MB; 0 or 1 = in-process)',
    )
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', HELP)
    .action(async (files: string[], opts: RunOptions) => {
      setExit(await runCommand(files, opts));
    });
}

export type { RunOptions };
export { registerRun, runCommand };
