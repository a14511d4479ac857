/**
 * The JobStore of a workflow execution (lib/job/store.ts) on S3 and DynamoDB:
 *
 *   work area        s3://<data bucket>/work/<execution name>/…   (expired by lifecycle too)
 *   output location  s3://<data bucket>/<outputPrefix>            (written only by Finalize,
 *                                                                  or failure.json by Record failure)
 *   claim            usage table, pk OUTPUT#<bucket>/<prefix>     (claims.ts)
 *   usage ledger     usage table, EXEC#<execution name> ATTEMPT#… / USAGE (usage.ts)
 *
 * Inputs are read with ranged GETs pinned to the VersionId (versioned bucket) and ETag seen at
 * Plan (s3.ts); Plan reads the version the run was started for, when the input names one. Work
 * objects are joined server side (concatWork: UploadPartCopy) when their sizes allow.
 */
import { InternalError, InvalidInputError } from '../../lib/errors.js';
import type { JobStore } from '../../lib/job/store.js';
import { claimPrefix, releasePrefix } from './claims.js';
import { PREFIX } from './jobInput.js';
import {
  concatObjects,
  concatPlan,
  copyObject,
  deleteKeys,
  getBytes,
  headObject,
  listKeys,
  putBytes,
  s3Sink,
  s3Source,
} from './s3.js';
import { meterCompute, readMeter, recordUsage } from './usage.js';

const CONTENT_TYPES: Record<string, string> = {
  json: 'application/json',
  svg: 'image/svg+xml',
  csv: 'text/csv',
  html: 'text/html; charset=utf-8',
  isxd: 'application/octet-stream',
};

function contentType(name: string): string {
  return CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}

/**
 * `work/runs/<execution>/`: where one execution keeps its intermediates (beside
 * `work/map-results/`, which no execution name can then collide with).
 */
function workRoot(executionName: string): string {
  return `${PREFIX.work}runs/${executionName}/`;
}

/** The output prefix of a store location `s3://<bucket>/<prefix>`. */
function prefixOf(bucket: string, location: string): string {
  const head = `s3://${bucket}/`;
  if (!location.startsWith(head)) {
    throw new InternalError(`location ${location} is not in bucket ${bucket}`, 'Invariant');
  }
  return location.slice(head.length);
}

/**
 * @param where.outputPrefix - the run's output prefix (omit for a store that only touches the
 *   work area, e.g. to read the job record before the prefix is known)
 * @param where.attemptId - the running attempt of Finalize / Record failure
 */
function s3JobStore(where: {
  bucket: string;
  executionName: string;
  outputPrefix?: string;
  /** The caller's own attempt (awsRequestId), left out of readMeter: it adds its own time. */
  attemptId?: string;
  /** Input key → the VersionId the run was started for (Plan pins it; default: current). */
  inputVersions?: Readonly<Record<string, string>>;
}): JobStore {
  const { bucket, executionName } = where;
  const root = workRoot(executionName);
  const prefix = () => {
    if (where.outputPrefix === undefined) {
      throw new InternalError('this store has no output prefix', 'NoOutputPrefix');
    }
    return where.outputPrefix;
  };
  const work = (key: string) => `${root}${key}`;
  return {
    location:
      where.outputPrefix === undefined ? `s3://${bucket}/` : `s3://${bucket}/${where.outputPrefix}`,

    workSink: (key) => s3Sink(bucket, work(key), contentType(key)),
    async workSource(key) {
      // A work object this run wrote that is gone is our fault, not a missing input.
      const head = await headObject(bucket, work(key)).catch((error) => {
        if (!(error instanceof InvalidInputError)) throw error;
        throw new InternalError(`work object ${work(key)} is missing`, 'MissingRecord', {
          cause: error,
        });
      });
      // The run's own objects are read at their ETag only (no s3:GetObjectVersion on work/).
      return s3Source(bucket, work(key), { size: head.size, etag: head.etag });
    },
    async putWork(key, bytes) {
      await putBytes(bucket, work(key), bytes, contentType(key));
    },
    getWork: (key) => getBytes(bucket, work(key)),
    concatWork: {
      fits: (sizes) => concatPlan(sizes) !== null,
      concat: (parts, tail, to) =>
        concatObjects(
          bucket,
          parts.map((p) => ({ key: work(p.key), size: p.size })),
          tail,
          work(to),
          contentType(to),
        ),
    },
    async listWork(sub) {
      return (await listKeys(bucket, work(sub))).map((k) => k.slice(root.length));
    },
    async removeWork() {
      await deleteKeys(bucket, await listKeys(bucket, root));
    },

    claim: (run) => claimPrefix(bucket, prefix(), run),
    release: (run) => releasePrefix(bucket, prefix(), run),

    async listOutputs() {
      const p = prefix();
      return (await listKeys(bucket, p, '/')).map((k) => k.slice(p.length));
    },
    getOutput: (name) => getBytes(bucket, `${prefix()}${name}`),
    publish: (stagedKey, name, size) =>
      copyObject(bucket, work(stagedKey), `${prefix()}${name}`, size, contentType(name)),
    async putOutput(name, bytes) {
      await putBytes(bucket, `${prefix()}${name}`, bytes, contentType(name));
    },
    removeOutputs: (names) =>
      deleteKeys(
        bucket,
        names.map((n) => `${prefix()}${n}`),
      ),

    async statInput(key) {
      const pin = await headObject(bucket, key, where.inputVersions?.[key]);
      return {
        name: key,
        size: pin.size,
        version: pin.etag,
        ...(pin.versionId ? { versionId: pin.versionId } : {}),
      };
    },
    openInput: (ref) =>
      s3Source(bucket, ref.name, { size: ref.size, etag: ref.version, versionId: ref.versionId }),

    meter: (stage, ms) => meterCompute(executionName, stage, ms),
    readMeter: () => readMeter(executionName, where.attemptId),
    recordUsage: async (usage) => (await recordUsage(usage)).usage,
  };
}

export { prefixOf, s3JobStore, workRoot };
