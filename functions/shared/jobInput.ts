/**
 * The execution input of the workflow (README "Starting a run") and where a run keeps its
 * objects in the data bucket:
 * - `inputs/…` and `inbox/…` input cell sets (read only), `jobs/NAME.json` job files (read only);
 * - `work/runs/<execution>/…` intermediates (plan, items, chunk parts, results; expired by lifecycle);
 * - `outputs/…` results; a run is complete only when its `manifest.json` exists.
 *
 * Execution input, one of:
 * - inline job `{ inputs: ["inputs/a.isxd", …], params?, options?, outputPrefix?, account? }`; an
 *   input may be `{ key, versionId }` to read that object version (versioned bucket); `params`
 *   and `options` (acceptedOnly, eventThresholdSn, csv, …) are validated by Plan with
 *   lib/job/params.ts (parseToolParams, parseJobOptions: one table of names, defaults, ranges);
 * - job file   `{ jobFile: { key: "jobs/NAME.json", versionId? }, account? }` (the file holds an
 *   inline job; this is what an upload to jobs/ starts).
 *
 * `params` is checked by Plan against the one parameter table (lib/job/params.ts
 * parseToolParams), as the CLI's flags are: the tool's names, and `tau_decay` / `tau_rise`
 * (seconds, instead of g; converted with each file's frame period).
 */
import { z } from 'zod';
import { InternalError, InvalidInputError } from '../../lib/errors.js';
import { getJson } from './s3.js';
import { DATA_PREFIXES } from './workflow.js';

const PREFIX = DATA_PREFIXES;

/** An input: its key, or its key and the object version to read (versioned bucket). */
const inputRef = z.union([
  z.string().min(1),
  z.strictObject({ key: z.string().min(1), versionId: z.string().min(1).optional() }),
]);

const inlineJob = z.strictObject({
  inputs: z.array(inputRef).min(1).max(10_000),
  params: z.record(z.string(), z.unknown()).optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  outputPrefix: z.string().min(1).optional(),
  account: z.string().min(1).max(128).optional(),
  source: z.record(z.string(), z.unknown()).optional(),
});
const jobFileRef = z.strictObject({
  jobFile: z.strictObject({ key: z.string().min(1), versionId: z.string().optional() }),
  account: z.string().min(1).max(128).optional(),
});

/** A job with every default applied. */
interface ResolvedJob {
  inputs: string[];
  /** Input key → the object version the run reads (the rest: the version current at Plan). */
  inputVersions: Record<string, string>;
  params: Record<string, unknown>;
  options: Record<string, unknown>;
  outputPrefix: string;
  account: string;
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

function checkKey(key: string, what: string, prefix: string, suffix?: RegExp): void {
  if (!key.startsWith(prefix) || key.includes('..') || key.includes('//')) {
    throw new InvalidInputError(`${what} "${key}" must be a key under ${prefix}`, 'BadKey');
  }
  if (suffix && !suffix.test(key)) {
    throw new InvalidInputError(`${what} "${key}" must end with ${suffix.source}`, 'BadKey');
  }
}

/**
 * Validates the execution input (reading the job file if given) and applies the defaults:
 * output prefix `outputs/<execution name>/`, account = the AWS account of the execution.
 * @param raw - the execution input
 * @param ctx - the data bucket and the execution (name and ARN)
 */
async function resolveJob(
  raw: unknown,
  ctx: { bucket: string; executionName: string; executionId: string },
): Promise<ResolvedJob> {
  let job: z.infer<typeof inlineJob>;
  let account: string | undefined;
  const ref = jobFileRef.safeParse(raw);
  if (ref.success) {
    const key = ref.data.jobFile.key;
    checkKey(key, 'job file', PREFIX.jobs, /\.json$/);
    // The job file as uploaded, even if it was replaced since (versioned bucket).
    const body = await getJson(ctx.bucket, key, ref.data.jobFile.versionId);
    if (body === null)
      throw new InvalidInputError(`job file ${key} does not exist`, 'MissingInput');
    const parsed = inlineJob.safeParse(body);
    if (!parsed.success) {
      throw new InvalidInputError(`job file ${key} is invalid: ${issues(parsed.error)}`, 'BadJob');
    }
    job = parsed.data;
    account = ref.data.account ?? job.account;
  } else {
    const parsed = inlineJob.safeParse(raw);
    if (!parsed.success) {
      throw new InvalidInputError(
        `execution input is invalid: ${issues(parsed.error)}; expected {"inputs": ["inputs/….isxd"], "params"?, "options"?, "outputPrefix"?} or {"jobFile": {"key": "jobs/….json"}}`,
        'BadJob',
      );
    }
    job = parsed.data;
    account = job.account;
  }
  const inputs = job.inputs.map((i) => (typeof i === 'string' ? i : i.key));
  for (const [i, k] of inputs.entries()) {
    const under = k.startsWith(PREFIX.inbox) ? PREFIX.inbox : PREFIX.inputs;
    checkKey(k, `inputs[${i}]`, under, /\.isxd$/i);
  }
  const inputVersions = versionsOf(job);
  const outputPrefix = job.outputPrefix ?? `${PREFIX.outputs}${ctx.executionName}/`;
  checkKey(outputPrefix, 'outputPrefix', PREFIX.outputs, /\/$/);
  return {
    inputs,
    inputVersions,
    params: job.params ?? {},
    options: job.options ?? {},
    outputPrefix,
    account: account ?? accountOf(ctx.executionId),
  };
}

/**
 * The versions the job names: `{key, versionId}` inputs, and the uploaded object of a one-file
 * run started by the trigger (`source: {key, versionId}`).
 * @throws InvalidInputError when one key is given two different versions
 */
function versionsOf(job: z.infer<typeof inlineJob>): Record<string, string> {
  const named: [string, string][] = [];
  for (const i of job.inputs) {
    if (typeof i !== 'string' && i.versionId) named.push([i.key, i.versionId]);
  }
  const source = job.source;
  if (source && typeof source.key === 'string' && typeof source.versionId === 'string') {
    named.push([source.key, source.versionId]);
  }
  const versions: Record<string, string> = {};
  for (const [key, versionId] of named) {
    if (versions[key] !== undefined && versions[key] !== versionId) {
      throw new InvalidInputError(
        `input ${key} is given two versions (${versions[key]}, ${versionId}): a run reads one`,
        'BadJob',
      );
    }
    versions[key] = versionId;
  }
  return versions;
}

/** The default account billed: the AWS account of the execution ARN (its 5th field). */
function accountOf(executionId: string): string {
  return executionId.split(':')[4] || 'unknown';
}

/** The data bucket (set by the stack on every function). */
function dataBucket(): string {
  const name = process.env.DATA_BUCKET;
  if (!name) throw new InternalError('environment variable DATA_BUCKET is not set', 'Config');
  return name;
}

export type { ResolvedJob };
export { accountOf, dataBucket, PREFIX, resolveJob };
