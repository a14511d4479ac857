/**
 * The job's stages over a {@link JobStore}: the one implementation that both schedulers call,
 * runJob.ts (a local run, every stage in one process) and functions/ (one Lambda per stage).
 *
 *   planStage      claim the output location, pin the inputs, plan; job record + Map items
 *   chunkStage     deconvolve one chunk of cells into its two parts; chunk record
 *   assembleStage  stage one file's two outputs from its parts, its previews and its metadata
 *                  fragment; file record
 *   finalizeStage  stage metadata (the fragments joined), record usage, publish (manifest
 *                  last), release
 *   failStage      unpublish this run's outputs, failure report and usage, release
 *
 * Stage names are also the keys of the usage record and the names of the Lambda handlers.
 */
import { DeconvolutionError, InternalError, InvalidInputError } from '../errors.js';
import {
  assembleFile,
  type FileChunks,
  type FileOutputs,
  type OutputTarget,
  type PartKind,
} from './assemble.js';
import { type ChunkResult, deconvolveChunk } from './deconvolveChunk.js';
import { stageCsvExports } from './exports/csv.js';
import { describeFile, writeMetadata } from './finalize.js';
import { allOutputNames, cellSetOutputName, eventSetOutputName, METADATA_NAME } from './outputs.js';
import type { JobOptions, ToolParams } from './params.js';
import { type JobPlan, type PlanLimits, planJob, type WorkItem } from './plan.js';
import type { Outline } from './previews/footprintsPreview.js';
import {
  FAILURE_NAME,
  hashingSink,
  hashSource,
  MANIFEST_NAME,
  type Manifest,
  type PublishReport,
  publishOutputs,
  readManifest,
  stageBytes,
  USAGE_NAME,
  unpublish,
} from './publish.js';
import { FragmentStream, writeReportFragment } from './report/fragment.js';
import { stageReport } from './report/page.js';
import {
  getRecord,
  type InputRef,
  type JobStore,
  jsonBytes,
  putRecord,
  type RunRef,
  type StoredObject,
  WORK,
} from './store.js';
import { buildUsage, type UsageRecord } from './usage.js';

/** The stages, in workflow order (usage keys, handler names). */
const STAGES = [
  'planJob',
  'deconvolveChunk',
  'assembleFile',
  'finalizeJob',
  'recordFailure',
] as const;
type StageName = (typeof STAGES)[number];

/** The job record (WORK.job): everything later stages need, written once by Plan. */
interface JobRecord {
  version: 1;
  run: RunRef;
  location: string;
  inputs: InputRef[];
  plan: JobPlan;
}

/** One file's assembled outputs (WORK.fileOutputs); its metadata fragment is WORK.metadata. */
interface FileRecord {
  outputs: FileOutputs;
  /** Its two outputs and three previews, staged. */
  staged: StoredObject[];
}

/** What a stage failure leaves in the work area for failStage (WORK.error). */
interface StageErrorRecord {
  step: string;
  /** ISO time of the failure (records of retried attempts stay; the latest is the headline). */
  failedAt: string;
  file: string | null;
  cells?: [number, number];
  error: string;
  code?: string;
  cause: string;
}

/** The failure report (`failure.json`). */
interface FailureReport {
  status: 'FAILED';
  executionName: string;
  executionId: string;
  error: string;
  cause: string;
  /** The input file the failure is about, when known. */
  file: string | null;
  /** Error records of the failed stage tasks (step, file, cells, cause). */
  details: StageErrorRecord[];
  inputs: string[];
  failedAt: string;
}

/** The job record; an InternalError when Plan has not written it. */
async function loadJob(store: JobStore): Promise<JobRecord> {
  const record = await getRecord<JobRecord>(store, WORK.job);
  if (record === null) {
    throw new InternalError(
      `the job record ${WORK.job} is missing from the work area`,
      'MissingRecord',
    );
  }
  return record;
}

async function recordStageError(
  store: JobStore,
  label: string,
  facts: Omit<StageErrorRecord, 'error' | 'code' | 'cause' | 'failedAt'>,
  error: unknown,
): Promise<void> {
  const e = error as { name?: string; message?: string; code?: unknown };
  const record: StageErrorRecord = {
    ...facts,
    failedAt: new Date().toISOString(),
    error: e?.name ?? 'Error',
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    cause: e?.message ?? String(error),
  };
  await putRecord(store, WORK.error(label), record);
}

/**
 * Refuses a location that holds a result (or files with this job's output names) unless
 * `overwrite`.
 */
async function checkLocation(
  store: JobStore,
  numFiles: number,
  overwrite: boolean,
  hint: string,
): Promise<void> {
  if (overwrite) return;
  const existing = await store.listOutputs();
  if (existing.includes(MANIFEST_NAME)) {
    throw new InvalidInputError(
      `${store.location} already holds a complete result (${MANIFEST_NAME}); ${hint}`,
      'OutputExists',
    );
  }
  const ours = new Set(allOutputNames(numFiles));
  const clash = existing.filter((n) => ours.has(n));
  if (clash.length > 0) {
    throw new InvalidInputError(
      `${store.location} already holds ${clash.join(', ')}; ${hint}`,
      'OutputExists',
    );
  }
}

/** What Plan needs. */
interface PlanRequest {
  run: RunRef;
  /** The inputs by the names the store opens them with, in the user's order. */
  inputs: string[];
  params: ToolParams;
  options: JobOptions;
  limits?: PlanLimits;
  /** Replace a result already at the location (local --overwrite). */
  overwrite?: boolean;
  /** What to tell a user whose location is taken ("pass --overwrite", "choose another prefix"). */
  existsHint: string;
}

/**
 * Plan: claims the output location, checks it, pins every input's version, plans the job
 * (plan.ts) and writes the job record and the Map items.
 * @throws InvalidInputError (OutputBusy, OutputExists, …), the planner's errors
 */
async function planStage(store: JobStore, req: PlanRequest): Promise<JobRecord> {
  await store.claim(req.run);
  await checkLocation(store, req.inputs.length, req.overwrite === true, req.existsHint);
  const inputs = await Promise.all(req.inputs.map((name) => store.statInput(name)));
  const plan = await planJob(
    inputs.map((ref) => store.openInput(ref)),
    req.params,
    req.options,
    req.limits,
  );
  const record: JobRecord = { version: 1, run: req.run, location: store.location, inputs, plan };
  await putRecord(store, WORK.job, record);
  await putRecord(store, WORK.items, plan.items);
  await putRecord(
    store,
    WORK.files,
    plan.files.map((f) => ({ file: f.index })),
  );
  return record;
}

/** Deconvolve chunk: one chunk's parts and its result record. */
async function chunkStage(store: JobStore, job: JobRecord, item: WorkItem): Promise<ChunkResult> {
  const { file, chunk } = item;
  try {
    const result = await deconvolveChunk(
      job.plan,
      item,
      store.openInput(job.inputs[file]),
      store.workSink(WORK.part('cellset', file, chunk)),
      store.workSink(WORK.part('events', file, chunk)),
    );
    await putRecord(store, WORK.chunkResult(file, chunk), result);
    return result;
  } catch (error) {
    await recordStageError(
      store,
      `chunk-${file}-${chunk}`,
      {
        step: 'Deconvolve chunk',
        file: job.inputs[file]?.name ?? null,
        cells: [item.cellStart, item.cellEnd],
      },
      error,
    ).catch(() => {});
    throw error;
  }
}

/**
 * Assemble file: stages `cellset_denoised.kkk.isxd` and `neural_events.kkk.isxd` from the
 * file's parts (assemble.ts; joined server side when the store can and the sizes fit, else
 * streamed), then the file's three previews and its metadata fragment (finalize.ts
 * describeFile) and, with the option csv, its two CSV exports (exports/csv.ts), and writes the
 * file record.
 * @param chunks - the file's chunk results, or a lookup (default: their records)
 * @param opts.describe - runs the previews-and-fragment step (default: at once). A local run
 *   holds it back until every chunk has run and runs the files' steps one at a time, so they
 *   neither compete with chunks for CPU nor count each other's time.
 */
async function assembleStage(
  store: JobStore,
  job: JobRecord,
  file: number,
  chunks?: FileChunks,
  opts: { describe?: <T>(step: () => Promise<T>) => Promise<T> } = {},
): Promise<FileRecord> {
  const lookup: FileChunks =
    chunks ??
    (async (chunk) => {
      const key = WORK.chunkResult(file, chunk);
      const result = await getRecord<ChunkResult>(store, key);
      if (result === null)
        throw new InternalError(`chunk record ${key} is missing`, 'MissingRecord');
      return result;
    });
  // The file's part of report.html (report/fragment.ts), written from the report parts each
  // chunk carries (deconvolveChunk.ts ChunkResult.displays) as the chunk's result comes in; only
  // the footprint outlines are kept, for the footprints preview.
  const numChunks = job.plan.items.filter((it) => it.file === file).length;
  const report = new FragmentStream(job.plan, file, store.workSink(WORK.report(file)), numChunks);
  const shapes = new Map<number, Outline>();
  const keep = (r: ChunkResult): ChunkResult => {
    report.add(r);
    r.displays?.forEach((d, k) => {
      if (d.shape !== undefined) shapes.set(r.cellStart + k, d.shape);
    });
    // A local run holds every chunk's result until it ends: the parts are freed here.
    r.displays = undefined;
    return r;
  };
  // Each chunk's record is read once (assembleFile asks for it per output and for the footers;
  // on S3 each ask would be a GET and a JSON.parse of a record that carries its cells' report parts).
  const read = new Map<number, Promise<ChunkResult>>();
  const tracked: FileChunks = Array.isArray(lookup)
    ? lookup.map(keep)
    : (chunk) => {
        let result = read.get(chunk);
        if (result === undefined) {
          result = lookup(chunk).then(keep);
          read.set(chunk, result);
        }
        return result;
      };
  const targets = {
    cellset: stagedTarget(store, file, 'cellset', cellSetOutputName(file)),
    events: stagedTarget(store, file, 'events', eventSetOutputName(file)),
  };
  try {
    const input = store.openInput(job.inputs[file]);
    const outputs = await assembleFile(
      job.plan,
      file,
      input,
      tracked,
      (kind, chunk) => store.workSource(WORK.part(kind, file, chunk)),
      targets,
    );
    const staged = [await targets.cellset.stored(), await targets.events.stored()];
    const describe = opts.describe ?? ((step) => step());
    await describe(async () => {
      const { fragment } = await describeFile(
        job.plan,
        outputs,
        (name) => store.workSource(WORK.staged(name)),
        async (name, bytes) => {
          staged.push(await stageBytes(store, name, bytes));
        },
        input,
        shapes,
      );
      await store.putWork(WORK.metadata(file), fragment);
      // Option csv: the file's two CSV exports, read back from its staged outputs.
      if (job.plan.options.csv) staged.push(...(await stageCsvExports(store, job.plan, outputs)));
      // The file's part of report.html, joined by Finalize: streamed as the chunks came in, or
      // (records of an older run, without report parts) read back from the outputs now.
      if (report.incomplete) {
        await report.abort();
        const sink = store.workSink(WORK.report(file));
        try {
          await writeReportFragment(
            job.plan,
            outputs,
            {
              cellSet: await store.workSource(WORK.staged(outputs.cellSetName)),
              eventSet: await store.workSource(WORK.staged(outputs.eventSetName)),
              input: store.openInput(job.inputs[file]),
            },
            sink,
          );
        } catch (error) {
          await sink.abort();
          throw error;
        }
      } else await report.finish();
    });
    const record: FileRecord = { outputs, staged };
    await putRecord(store, WORK.fileOutputs(file), record);
    return record;
  } catch (error) {
    await report.abort().catch(() => {});
    await recordStageError(
      store,
      `file-${file}`,
      { step: 'Assemble file', file: job.inputs[file]?.name ?? null },
      error,
    ).catch(() => {});
    throw error;
  }
}

/**
 * The staged output `name` of a file as assembleFile writes it: streamed through a hashing
 * sink, or joined by the store (store.concatWork) and then hashed by reading it back once.
 */
function stagedTarget(
  store: JobStore,
  file: number,
  kind: PartKind,
  name: string,
): OutputTarget & { stored(): Promise<StoredObject> } {
  let streamed: ReturnType<typeof hashingSink> | null = null;
  let joined = false;
  const joiner = store.concatWork;
  return {
    sink() {
      streamed = hashingSink(name, store.workSink(WORK.staged(name)));
      return streamed;
    },
    ...(joiner
      ? {
          concat: {
            fits: (sizes: number[]) => joiner.fits(sizes),
            async run(sizes: number[], footer: Uint8Array) {
              await joiner.concat(
                sizes.map((size, k) => ({ key: WORK.part(kind, file, k), size })),
                footer,
                WORK.staged(name),
              );
              joined = true;
            },
          },
        }
      : {}),
    async stored() {
      if (joined) return hashSource(name, await store.workSource(WORK.staged(name)));
      if (streamed === null) throw new InternalError(`${name} was not written`, 'Invariant');
      return streamed.stored();
    },
  };
}

/** What a finished run reports. */
interface FinalizeReport extends PublishReport {
  job: JobRecord;
  files: FileRecord[];
  usage: UsageRecord;
  /** Null when the work area was removed, else why it could not be (the result stands). */
  workLeft: string | null;
}

/**
 * Finalize: stages output_metadata.json from the files' fragments (the previews were staged by
 * Assemble), records the usage,
 * publishes everything (publish.ts: manifest last), releases the claim, removes the work area.
 * @param opts.files - the file records (default: read from the work area)
 * @param opts.extra - further staged outputs to publish (the demo's synthetic input)
 * @param opts.startedAt - when this stage started (ms since the epoch), for its own compute time
 */
async function finalizeStage(
  store: JobStore,
  job: JobRecord,
  opts: {
    files?: FileRecord[];
    extra?: StoredObject[];
    startedAt: number;
    now?: () => Date;
    /** Called once everything is staged, just before publishing (may throw to stop). */
    beforePublish?: () => void;
  },
): Promise<FinalizeReport> {
  const now = opts.now ?? (() => new Date());
  // A retried Finalize whose earlier attempt committed only finishes what follows the commit.
  const committed = await ownResult(store, job.run);
  if (committed?.usage) {
    const after = await afterCommit(store, job.run, committed.usage);
    return {
      manifest: committed.manifest,
      removed: [],
      foreign: [],
      job,
      files: [],
      ...after,
    };
  }
  const files =
    opts.files ??
    (await Promise.all(
      job.plan.files.map(async (f) => {
        const record = await getRecord<FileRecord>(store, WORK.fileOutputs(f.index));
        if (record === null) {
          throw new InternalError(
            `file record ${WORK.fileOutputs(f.index)} is missing`,
            'MissingRecord',
          );
        }
        return record;
      }),
    ));
  files.sort((a, b) => a.outputs.file - b.outputs.file);
  assertSomeCellDeconvolved(job, files);
  const staged: StoredObject[] = [...(opts.extra ?? []), ...files.flatMap((f) => f.staged)];
  staged.push(await stageMetadata(store, job.plan.files.length));
  staged.push(
    await stageReport(store, job.plan.files.length, {
      method: `${job.plan.params.method_deconvolution}, p = ${job.plan.params.p}`,
    }),
  );
  opts.beforePublish?.();
  const at = now();
  const usage = buildUsage({
    run: job.run,
    status: 'SUCCEEDED',
    files: job.plan.files.length,
    cells: job.plan.files.reduce((n, f) => n + f.numCells, 0),
    meter: await store.readMeter(),
    self: { stage: 'finalizeJob', ms: at.getTime() - opts.startedAt },
    location: store.location,
    now: at,
  });
  const report = await publishOutputs(store, {
    run: job.run,
    inputs: job.inputs,
    staged,
    usage,
    now: at,
  });
  // The manifest is written: the result stands.
  const after = await afterCommit(store, job.run, usage);
  return { ...report, job, files, ...after };
}

/**
 * A cell that cannot be deconvolved gets NaN and its reason in the metadata, and the job goes
 * on; but a job in which no cell at all could be is refused (its outputs would be all NaN),
 * naming the first failures.
 */
function assertSomeCellDeconvolved(job: JobRecord, files: FileRecord[]): void {
  const failed: string[] = [];
  let attempted = 0;
  for (const f of files) {
    for (const c of f.outputs.cells) {
      if (c.skipped) continue;
      attempted++;
      if (c.failure === null) return;
      if (failed.length < 3)
        failed.push(
          `${job.plan.files[f.outputs.file].input}: cell ${c.cell} (${c.name}): ${c.failure}`,
        );
    }
  }
  if (attempted === 0) return;
  throw new DeconvolutionError(
    `none of the ${attempted} cells could be deconvolved; ${failed.join('; ')}${attempted > failed.length ? '; …' : ''}`,
    'NoCellDeconvolved',
  );
}

/** Stages output_metadata.json from the files' fragments (in file order), one at a time. */
async function stageMetadata(store: JobStore, numFiles: number): Promise<StoredObject> {
  async function* fragments(): AsyncGenerator<Uint8Array> {
    for (let file = 0; file < numFiles; file++) {
      const fragment = await store.getWork(WORK.metadata(file));
      if (fragment === null) {
        throw new InternalError(
          `metadata fragment ${WORK.metadata(file)} is missing`,
          'MissingRecord',
        );
      }
      yield fragment;
    }
  }
  const sink = hashingSink(METADATA_NAME, store.workSink(WORK.staged(METADATA_NAME)));
  try {
    await writeMetadata(fragments(), sink);
  } catch (error) {
    await sink.abort();
    throw error;
  }
  return sink.stored();
}

/**
 * What follows the commit (the manifest written): the usage record is stored (once; a retry
 * gets the stored one), then the claim is released and the work area removed. Failures of these
 * two are returned, not thrown: the claim would expire and the lifecycle rule removes `work/`.
 */
async function afterCommit(
  store: JobStore,
  run: RunRef,
  usage: UsageRecord,
): Promise<{ usage: UsageRecord; workLeft: string | null }> {
  const stored = await store.recordUsage(usage);
  const problems: string[] = [];
  await store.release(run).catch((e: Error) => problems.push(`claim not released: ${e.message}`));
  await store.removeWork().catch((e: Error) => problems.push(e.message));
  return { usage: stored, workLeft: problems.length > 0 ? problems.join('; ') : null };
}

/** This run's own manifest at the location, with its usage.json: it has already committed. */
async function ownResult(
  store: JobStore,
  run: RunRef,
): Promise<{ manifest: Manifest; usage: UsageRecord | null } | null> {
  const manifest = await readManifest(store);
  if (manifest === null || manifest.executionName !== run.runId) return null;
  const bytes = await store.getOutput(USAGE_NAME);
  const usage =
    bytes === null ? null : (JSON.parse(new TextDecoder().decode(bytes)) as UsageRecord);
  return { manifest, usage };
}

/** The message of a Step Functions `Cause` (Lambda errors arrive as JSON, local ones as text). */
function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain-text cause
  }
  return cause;
}

/** What failStage did. */
interface FailureOutcome {
  /**
   * True when the run had committed (its manifest was written) before the failure: the result
   * stands, nothing is removed and no failure report is written.
   */
  complete: boolean;
  /** The failure report (null when `complete`). */
  report: FailureReport | null;
  usage: UsageRecord;
  /** Where failure.json and usage.json went (null: not written). */
  reportedAt: string | null;
  /** Whether this run held the output location (and so cleaned it up). */
  owned: boolean;
  /** Outputs this run had published and removed again. */
  unpublished: string[];
  workLeft: string | null;
}

/** The Map error when items failed; their own records then say what went wrong. */
const MAP_FAILED = 'States.ExceedToleratedFailureThreshold';

/** At most this many unreported chunks are listed in failure.json. */
const UNREPORTED_SHOWN = 5;

/**
 * Chunks without a result when the chunks Map failed and no stage recorded an error: their
 * invocations were ended from outside (Lambda's timeout, `Sandbox.Timedout`, or out of memory),
 * which no handler code can report, so failure.json names them instead of saying nothing.
 */
async function unreportedChunks(
  store: JobStore,
  job: JobRecord,
  at: Date,
): Promise<StageErrorRecord[]> {
  const reported = new Set(await store.listWork(WORK.chunks));
  return job.plan.items
    .filter((i) => !reported.has(WORK.chunkResult(i.file, i.chunk)))
    .slice(0, UNREPORTED_SHOWN)
    .map((i) => ({
      step: 'Deconvolve chunk',
      failedAt: at.toISOString(),
      file: job.plan.files[i.file].input,
      cells: [i.cellStart, i.cellEnd] as [number, number],
      error: 'ChunkDidNotReport',
      cause:
        `chunk ${i.chunk} of ${job.plan.files[i.file].input} (cells ${i.cellStart}–${i.cellEnd - 1}) ended without a result: ` +
        'its Lambda invocation was stopped from outside (its timeout or out of memory; see the function logs)',
    }));
}

/**
 * Record failure. When this run had committed, it only finishes what follows the commit. Else,
 * when it owns the output location, it removes whatever an unfinished publish put there (the
 * journal, manifest first; delete errors are retried and thrown), writes `failure.json` and
 * `usage.json` there (`writeReport`), records the usage as FAILED, releases the claim and
 * removes the work area. When another run owns the location, nothing there is touched and the
 * report goes to `fallback` (AWS: `outputs/<execution>/`).
 */
async function failStage(
  store: JobStore,
  args: {
    run: RunRef;
    error: { name: string; cause: string };
    /** The job's inputs when no job record exists (Plan failed early). */
    inputs?: string[];
    writeReport: boolean;
    fallback?: () => JobStore;
    startedAt: number;
    now?: () => Date;
  },
): Promise<FailureOutcome> {
  const now = args.now ?? (() => new Date());
  const job = await getRecord<JobRecord>(store, WORK.job);
  const files = job ? job.plan.files.length : (args.inputs?.length ?? 0);
  const cells = job ? job.plan.files.reduce((n, f) => n + f.numCells, 0) : 0;
  const usageNow = (status: UsageRecord['status']) => {
    const at = now();
    return store.readMeter().then((meter) =>
      buildUsage({
        run: args.run,
        status,
        files,
        cells,
        meter,
        self: { stage: 'recordFailure', ms: at.getTime() - args.startedAt },
        location: store.location,
        now: at,
      }),
    );
  };

  let owned = true;
  try {
    await store.claim(args.run);
  } catch (error) {
    // Held by another run (or not a location at all): not ours to touch.
    if (!(error instanceof InvalidInputError)) throw error;
    owned = false;
  }
  // Another run's complete result at the location (our Plan refused it, or --overwrite had not
  // begun to replace it: publishing removes the old manifest first): nothing there is touched.
  let foreign = false;
  if (owned) {
    const committed = await ownResult(store, args.run);
    if (committed !== null) {
      const after = await afterCommit(
        store,
        args.run,
        committed.usage ?? (await usageNow('SUCCEEDED')),
      );
      return { complete: true, report: null, reportedAt: null, owned, unpublished: [], ...after };
    }
    foreign = (await readManifest(store)) !== null;
  }
  const unpublished = owned && !foreign ? await unpublish(store) : [];

  const details: StageErrorRecord[] = [];
  for (const key of await store.listWork(WORK.errors)) {
    const d = await getRecord<StageErrorRecord>(store, key);
    if (d !== null) details.push(d);
  }
  details.sort((a, b) => (a.failedAt < b.failedAt ? -1 : a.failedAt > b.failedAt ? 1 : 0));
  if (args.error.name === MAP_FAILED && details.length === 0 && job !== null) {
    details.push(...(await unreportedChunks(store, job, now())));
  }
  const inputs = job?.inputs.map((i) => i.name) ?? args.inputs ?? [];
  // Records of attempts that were retried and then succeeded may be there too: the headline is
  // the latest record, and only when the caught error says that Map items failed.
  const headline = args.error.name === MAP_FAILED ? details.at(-1) : undefined;
  const cause = causeMessage(args.error.cause);
  const report: FailureReport = {
    status: 'FAILED',
    executionName: args.run.runId,
    executionId: args.run.executionId,
    error: headline?.error ?? args.error.name,
    cause: headline?.cause ?? cause,
    file: headline?.file ?? inputs.find((k) => cause.includes(k)) ?? null,
    details,
    inputs,
    failedAt: now().toISOString(),
  };
  const target = !args.writeReport ? null : owned && !foreign ? store : (args.fallback?.() ?? null);
  if (target !== null) await target.putOutput(FAILURE_NAME, jsonBytes(report));
  const usage = await store.recordUsage({
    ...(await usageNow('FAILED')),
    outputPrefix: target?.location ?? store.location,
  });
  if (target !== null) await target.putOutput(USAGE_NAME, jsonBytes(usage));
  const problems: string[] = [];
  if (owned) {
    await store
      .release(args.run)
      .catch((e: Error) => problems.push(`claim not released: ${e.message}`));
  }
  await store.removeWork().catch((e: Error) => problems.push(e.message));
  return {
    complete: false,
    report,
    usage,
    reportedAt: target?.location ?? null,
    owned,
    unpublished,
    workLeft: problems.length > 0 ? problems.join('; ') : null,
  };
}

export type {
  FailureOutcome,
  FailureReport,
  FileRecord,
  FinalizeReport,
  JobRecord,
  PlanRequest,
  StageErrorRecord,
  StageName,
};
export {
  assembleStage,
  causeMessage,
  chunkStage,
  failStage,
  finalizeStage,
  loadJob,
  planStage,
  STAGES,
};
