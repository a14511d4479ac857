/**
 * The job's storage port. Every stage (stages.ts) reads and writes only through a JobStore, so
 * the same stages run on a laptop and on AWS:
 *
 * - the **work area** is private to one run: the job record, chunk parts and results, staged
 *   outputs, error records (local: a staging folder beside --out; AWS: `work/runs/<execution>/`);
 * - the **output location** receives results only when Finalize publishes them
 *   (publish.ts), `manifest.json` last (local: the --out folder; AWS: the output prefix);
 * - the **claim** makes one run at a time own the output location (local: the staging folder,
 *   created exclusively; AWS: a conditional DynamoDB put);
 * - the **inputs** are opened through it (local files, S3 objects pinned to their version);
 * - the **usage ledger** meters compute per stage and stores the run's usage record once.
 *
 * Adapters: bin/fileStore.ts (folders), functions/shared/s3Store.ts (S3 + DynamoDB).
 */
import type { ByteSink, ByteSource } from '../bytes.js';
import type { StageName } from './stages.js';
import type { UsageRecord } from './usage.js';

/** Who runs: the execution (AWS) or the local run, and whom it bills. */
interface RunRef {
  /** Execution name (AWS) or `local-…` (the CLI). */
  runId: string;
  /** Execution ARN (AWS) or `local:<host>:<pid>`. */
  executionId: string;
  account: string;
}

/** One input as the plan pinned it. */
interface InputRef {
  /** Path or S3 key (also its name in messages). */
  name: string;
  size: number;
  /** What pins this exact content: the S3 ETag, or the file's mtime. */
  version: string;
  /** The S3 object version read at Plan (versioned buckets): every later read names it. */
  versionId?: string;
}

/** A file written whole, as the manifest lists it. */
interface StoredObject {
  name: string;
  size: number;
  sha256: string;
}

/** Compute time and invocations per stage, so far. */
interface Meter {
  computeMs: Record<string, number>;
  invocations: Record<string, number>;
}

/** Where each record of the work area lives (keys relative to the work area). */
const WORK = {
  /** The job record (plan, pinned inputs, run). */
  job: 'plan.json',
  /** The Distributed Map items (one per chunk) and the per-file items. */
  items: 'items.json',
  files: 'files.json',
  part: (kind: 'cellset' | 'events', file: number, chunk: number) =>
    `parts/${file}/${chunk}.${kind}`,
  chunks: 'chunks/',
  chunkResult: (file: number, chunk: number) => `chunks/${file}/${chunk}.json`,
  fileOutputs: (file: number) => `files/${file}.json`,
  /** A file's entries of output_metadata.json (finalize.ts metadataFragment). */
  metadata: (file: number) => `metadata/${file}.part`,
  /** A file's fragment of report.html (report/fragment.ts). */
  report: (file: number) => `report/${file}.part`,
  /** An output staged for publishing. */
  staged: (name: string) => `outputs/${name}`,
  /** What Finalize is publishing (so cleanup after a crash knows what to remove). */
  publishing: 'publishing.json',
  errors: 'errors/',
  error: (label: string) => `errors/${label}.json`,
} as const;

/**
 * Joins work objects into one without their bytes passing through the caller (S3: a multipart
 * upload whose parts are UploadPartCopy of the objects). Offered by stores that can (optional).
 */
interface WorkConcat {
  /** Whether objects of these sizes (in order), then a small tail, can be joined. */
  fits(sizes: number[]): boolean;
  /**
   * Writes work object `to` = parts ‖ tail, whole or absent (nothing is left on failure).
   * The parts' sizes were checked by the caller and `fits` holds for them.
   */
  concat(parts: { key: string; size: number }[], tail: Uint8Array, to: string): Promise<void>;
}

/** The port. Names passed to the output methods are plain file names (no folders). */
interface JobStore {
  /** The output location as the user names it: a folder, or s3://bucket/prefix/. */
  readonly location: string;

  // Work area
  /** A sink whose object appears whole on close (a part or a staged output). */
  workSink(key: string): ByteSink;
  /** Opens a work object written before (size and ranged reads). */
  workSource(key: string): Promise<ByteSource>;
  putWork(key: string, bytes: Uint8Array): Promise<void>;
  /** The object's bytes, or null when it does not exist. */
  getWork(key: string): Promise<Uint8Array | null>;
  /** Keys under a prefix of the work area. */
  listWork(prefix: string): Promise<string[]>;
  /** Removes the whole work area (checked). */
  removeWork(): Promise<void>;
  /** Optional: joins work objects server side (Assemble uses it when it fits, else streams). */
  readonly concatWork?: WorkConcat;
  /**
   * Optional: from now on every write to the work area and every publish fails, so a stage
   * still running after its run was stopped cannot leave anything behind (cleanup still works).
   */
  seal?(): void;

  // Claim of the output location
  /**
   * Makes `run` the only run working on the output location (idempotent for the same run).
   * @throws InvalidInputError (code OutputBusy) naming the location and the run holding it
   */
  claim(run: RunRef): Promise<void>;
  /** Gives the claim up if `run` holds it (else does nothing). */
  release(run: RunRef): Promise<void>;

  // Output location
  /** Names of the files directly in the output location. */
  listOutputs(): Promise<string[]>;
  getOutput(name: string): Promise<Uint8Array | null>;
  /** Moves (local) or copies (S3) a staged work object to the output location, whole. */
  publish(stagedKey: string, name: string, size: number): Promise<void>;
  /** Writes a small output whole. */
  putOutput(name: string, bytes: Uint8Array): Promise<void>;
  /**
   * Removes outputs (missing ones are fine). Errors are retried and, when they persist, thrown:
   * never ignored.
   */
  removeOutputs(names: string[]): Promise<void>;

  // Inputs
  /** Size and version of an input (a missing one is an InvalidInputError naming it). */
  statInput(name: string): Promise<InputRef>;
  /** A source reading exactly the pinned version. */
  openInput(ref: InputRef): ByteSource;

  // Usage ledger
  /** Adds one invocation of `stage` that took `ms`. */
  meter(stage: StageName, ms: number): Promise<void>;
  readMeter(): Promise<Meter>;
  /**
   * Stores the run's usage record once; returns the record stored (the given one, or the one
   * an earlier attempt stored).
   */
  recordUsage(usage: UsageRecord): Promise<UsageRecord>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Pretty JSON with a final newline, as every JSON record and output is written. */
function jsonBytes(value: unknown, indent = 2): Uint8Array {
  return encoder.encode(`${JSON.stringify(value, null, indent)}\n`);
}

async function putRecord(store: JobStore, key: string, value: unknown): Promise<void> {
  await store.putWork(key, jsonBytes(value));
}

/** A JSON record of the work area, or null when it does not exist. */
async function getRecord<T>(store: JobStore, key: string): Promise<T | null> {
  const bytes = await store.getWork(key);
  return bytes === null ? null : (JSON.parse(decoder.decode(bytes)) as T);
}

export type { InputRef, JobStore, Meter, RunRef, StoredObject, WorkConcat };
export { getRecord, jsonBytes, putRecord, WORK };
