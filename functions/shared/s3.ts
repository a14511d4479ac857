/**
 * S3 adapters for lib/bytes.ts. One module-scope S3Client built with the SDK's defaults (so the
 * standard AWS_ENDPOINT_URL_S3 / AWS_REQUEST_CHECKSUM_CALCULATION variables configure it).
 * A ByteSource reads with ranged GetObject pinned to the VersionId and ETag seen at plan time
 * (a re-upload mid-run is not seen; an unversioned input replaced mid-run fails); a ByteSink streams through a lib-storage
 * Upload, so the object appears whole on `close` or not at all on `abort`.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ByteSink, ByteSource } from '../../lib/bytes.js';
import { InternalError, InvalidInputError } from '../../lib/errors.js';
import { s3 } from './clients.js';

/** The part of S3Client these helpers use (tests pass a fake). */
interface S3Sender {
  send: S3Client['send'];
}

/** Multipart part size of output uploads. */
const PART_SIZE = 8 * 1024 * 1024;

function isMissing(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NoSuchKey' ||
      error.name === 'NotFound' ||
      error.$metadata.httpStatusCode === 404)
  );
}

/** Without s3:ListBucket, S3 answers a GET/HEAD of a missing key with 403, not 404. */
function isForbidden(error: unknown): boolean {
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 403;
}

function isChanged(error: unknown): boolean {
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 412;
}

/** What pins one object's content: its size, ETag and (versioned bucket) VersionId. */
interface ObjectPin {
  size: number;
  etag: string;
  versionId?: string;
}

/**
 * Size, ETag and VersionId of an object (of `versionId` when given, else the current version);
 * a missing object is an InvalidInputError naming the key.
 */
async function headObject(bucket: string, key: string, versionId?: string): Promise<ObjectPin> {
  try {
    const out = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
    );
    const id = out.VersionId ?? versionId;
    // An unversioned bucket answers VersionId "null" (or nothing): only the ETag pins it.
    return {
      size: out.ContentLength ?? 0,
      etag: out.ETag ?? '',
      ...(id && id !== 'null' ? { versionId: id } : {}),
    };
  } catch (error) {
    if (isMissing(error) || isForbidden(error)) {
      const which = versionId ? ` (version ${versionId})` : '';
      throw new InvalidInputError(
        `input ${key}${which} does not exist in the data bucket (or is not readable)`,
        'MissingInput',
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * A ByteSource over one S3 object. `known` (from the plan) skips the HEAD and pins the content:
 * every ranged GET names its VersionId (so a re-upload during the run is not seen) and carries
 * If-Match with its ETag (so an unversioned object replaced mid-run fails instead of mixing).
 * @param bucket - bucket name
 * @param key - object key, also the source's name in error messages
 */
function s3Source(bucket: string, key: string, known?: ObjectPin): ByteSource {
  let head: Promise<ObjectPin> | null = known ? Promise.resolve(known) : null;
  const info = () => {
    head ??= headObject(bucket, key);
    return head;
  };
  return {
    name: key,
    size: async () => (await info()).size,
    async read(offset, length) {
      const { size, etag, versionId } = await info();
      const end = Math.min(offset + length, size);
      if (length <= 0 || offset >= end) return new Uint8Array(0);
      try {
        const out = await s3.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            VersionId: versionId,
            Range: `bytes=${offset}-${end - 1}`,
            IfMatch: etag || undefined,
          }),
        );
        return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      } catch (error) {
        if (isChanged(error)) {
          throw new InvalidInputError(
            `input ${key} changed during the run: expected ETag ${etag}`,
            'InputChanged',
            { cause: error },
          );
        }
        if (isMissing(error)) {
          throw new InvalidInputError(
            `input ${key} does not exist in the data bucket`,
            'MissingInput',
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    },
  };
}

/**
 * A ByteSink streaming to one S3 object (multipart above 8 MiB); the object appears whole on
 * `close`, or not at all on `abort`.
 */
function s3Sink(bucket: string, key: string, contentType = 'application/octet-stream'): ByteSink {
  const body = new PassThrough();
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType },
    partSize: PART_SIZE,
    queueSize: 2,
  });
  const done = upload.done();
  done.catch(() => undefined);
  return {
    async write(chunk) {
      // The stream keeps what it is given until the upload reads it, and callers may reuse
      // `chunk` once this resolves (ByteSink contract): hand it a copy.
      if (!body.write(Buffer.from(chunk))) {
        // a failed upload never drains: surface its error instead of waiting forever
        await Promise.race([once(body, 'drain'), done.then(() => undefined)]);
      }
    },
    async close() {
      body.end();
      await done;
    },
    async abort() {
      body.destroy();
      await upload.abort();
    },
  };
}

/** Writes bytes in one PutObject. */
async function putBytes(
  bucket: string,
  key: string,
  bytes: Uint8Array,
  contentType: string,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType }),
  );
}

/**
 * An object's bytes (of `versionId` when given); null when it does not exist (404, or 403 for a
 * caller without ListBucket).
 */
async function getBytes(
  bucket: string,
  key: string,
  versionId?: string,
): Promise<Uint8Array | null> {
  try {
    const out = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
    );
    return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
  } catch (error) {
    if (isMissing(error) || isForbidden(error)) return null;
    throw error;
  }
}

/** Reads a JSON object (of `versionId` when given); null when it does not exist. */
async function getJson(bucket: string, key: string, versionId?: string): Promise<unknown> {
  const bytes = await getBytes(bucket, key, versionId);
  if (bytes === null) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch (error) {
    throw new InvalidInputError(
      `${key} is not valid JSON: ${(error as Error).message}`,
      'BadJson',
      {
        cause: error,
      },
    );
  }
}

/**
 * Every key under a prefix (all pages). With `delimiter` '/', only the objects directly under
 * it (not those of deeper "folders", e.g. another run's outputPrefix nested inside this one).
 */
async function listKeys(bucket: string, prefix: string, delimiter?: '/'): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        Delimiter: delimiter,
        ContinuationToken: token,
      }),
    );
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Attempts of a DeleteObjects key that S3 reports as not deleted, and the first wait (doubling). */
const DELETE_ATTEMPTS = 5;
const DELETE_BACKOFF_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Deletes keys (missing ones count as deleted), 1 000 per request. DeleteObjects answers 200
 * even when some keys were not deleted and lists them under `Errors` (the SDK does not retry
 * those); such keys are retried with exponential backoff and full jitter, and if they still fail
 * an InternalError names them. See the DeleteObjects API reference ("Errors" in the response):
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 */
async function deleteKeys(bucket: string, keys: string[], client: S3Sender = s3): Promise<void> {
  let pending = keys;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const failed: { Key?: string; Code?: string; Message?: string }[] = [];
    for (let i = 0; i < pending.length; i += 1000) {
      const batch = pending.slice(i, i + 1000);
      const out = await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      failed.push(...(out.Errors ?? []));
    }
    if (failed.length === 0) return;
    if (attempt >= DELETE_ATTEMPTS) {
      const shown = failed
        .slice(0, 5)
        .map((e) => `${e.Key} (${e.Code}: ${e.Message})`)
        .join(', ');
      throw new InternalError(
        `could not delete ${failed.length} object(s) from s3://${bucket} after ${attempt} attempts: ${shown}`,
        'DeleteFailed',
      );
    }
    await sleep(Math.random() * DELETE_BACKOFF_MS * 2 ** (attempt - 1));
    pending = failed.map((e) => e.Key).filter((k): k is string => typeof k === 'string');
  }
}

/**
 * CopyObject copies up to 5 GB in one request; larger objects need a multipart upload of
 * UploadPartCopy ranges (parts 5 MiB … 5 GiB, at most 10 000). See "Copying objects"
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/copy-object.html
 */
const COPY_OBJECT_MAX_BYTES = 5 * 1000 ** 3;
const COPY_PART_BYTES = 1024 ** 3;

/** One finished part of a multipart upload. */
type UploadedPart = { ETag?: string; PartNumber: number };

/**
 * A multipart upload to `to` whose parts `uploadParts` sends (given the UploadId), completed in
 * part-number order, or aborted on any failure: the object appears whole or not at all.
 */
async function multipartUpload(
  client: S3Sender,
  bucket: string,
  to: string,
  contentType: string,
  uploadParts: (uploadId: string | undefined) => Promise<UploadedPart[]>,
): Promise<void> {
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: to, ContentType: contentType }),
  );
  try {
    const parts = await uploadParts(UploadId);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: to,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (error) {
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: to, UploadId }))
      .catch(() => {});
    throw error;
  }
}

/** Copies one object within the bucket (server side), whole or not at all. */
async function copyObject(
  bucket: string,
  from: string,
  to: string,
  size: number,
  contentType: string,
  client: S3Sender = s3,
): Promise<void> {
  const CopySource = encodeURI(`${bucket}/${from}`);
  if (size <= COPY_OBJECT_MAX_BYTES) {
    await client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: to,
        CopySource,
        ContentType: contentType,
        MetadataDirective: 'REPLACE',
      }),
    );
    return;
  }
  await multipartUpload(client, bucket, to, contentType, async (UploadId) => {
    const parts: UploadedPart[] = [];
    for (let at = 0, n = 1; at < size; at += COPY_PART_BYTES, n++) {
      const end = Math.min(size, at + COPY_PART_BYTES) - 1;
      const out = await client.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: to,
          UploadId,
          PartNumber: n,
          CopySource,
          CopySourceRange: `bytes=${at}-${end}`,
        }),
      );
      parts.push({ ETag: out.CopyPartResult?.ETag, PartNumber: n });
    }
    return parts;
  });
}

/**
 * Multipart upload limits: parts of 5 MiB to 5 GiB, except the last part, which has no minimum;
 * at most 10 000 parts. See "Amazon S3 multipart upload limits"
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
 */
const MULTIPART = {
  minPartBytes: 5 * 1024 ** 2,
  maxPartBytes: 5 * 1024 ** 3,
  maxParts: 10_000,
} as const;
/** UploadPartCopy requests in flight at once. */
const CONCAT_COPIES = 4;

/**
 * How objects of these sizes (in order), then a small tail, are joined: the first `copied` as
 * UploadPartCopy parts (each within the part limits); the rest, read and uploaded together
 * with the tail as the last part, must then be under the part minimum (so at most ~5 MiB passes
 * through). Null when that cannot be done (no object to copy, or too much left to upload).
 */
function concatPlan(sizes: number[]): { copied: number } | null {
  let copied = 0;
  while (
    copied < sizes.length &&
    sizes[copied] >= MULTIPART.minPartBytes &&
    sizes[copied] <= MULTIPART.maxPartBytes
  ) {
    copied++;
  }
  const rest = sizes.slice(copied).reduce((a, b) => a + b, 0);
  if (copied === 0 || rest >= MULTIPART.minPartBytes || copied + 1 > MULTIPART.maxParts) {
    return null;
  }
  return { copied };
}

/**
 * Writes `to` = the objects `parts` (in order) ‖ `tail` as one multipart upload whose parts are
 * UploadPartCopy of the objects (server side); the objects {@link concatPlan} leaves over are
 * read and uploaded with the tail as the last part. Whole or absent: on any failure the upload
 * is aborted. Each copied part is pinned to its checked size (CopySourceRange).
 * @throws InternalError when concatPlan refuses these sizes (the caller checks first)
 */
async function concatObjects(
  bucket: string,
  parts: { key: string; size: number }[],
  tail: Uint8Array,
  to: string,
  contentType: string,
  client: S3Sender = s3,
): Promise<void> {
  const plan = concatPlan(parts.map((p) => p.size));
  if (plan === null) {
    throw new InternalError(`${to}: these parts cannot be joined server side`, 'Invariant');
  }
  await multipartUpload(client, bucket, to, contentType, async (UploadId) => {
    const done: UploadedPart[] = [];
    let next = 0;
    const copier = async () => {
      while (next < plan.copied) {
        const k = next++;
        const out = await client.send(
          new UploadPartCopyCommand({
            Bucket: bucket,
            Key: to,
            UploadId,
            PartNumber: k + 1,
            CopySource: encodeURI(`${bucket}/${parts[k].key}`),
            CopySourceRange: `bytes=0-${parts[k].size - 1}`,
          }),
        );
        done[k] = { ETag: out.CopyPartResult?.ETag, PartNumber: k + 1 };
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCAT_COPIES, plan.copied) }, copier));
    const rest = parts.slice(plan.copied);
    const last = new Uint8Array(rest.reduce((n, p) => n + p.size, 0) + tail.byteLength);
    let at = 0;
    for (const p of rest) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: p.key }));
      const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      if (bytes.byteLength !== p.size) {
        throw new InternalError(
          `${p.key}: holds ${bytes.byteLength} bytes, expected ${p.size}`,
          'PartSize',
        );
      }
      last.set(bytes, at);
      at += bytes.byteLength;
    }
    last.set(tail, at);
    const lastNumber = plan.copied + 1;
    const uploaded = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: to,
        UploadId,
        PartNumber: lastNumber,
        Body: last,
      }),
    );
    done.push({ ETag: uploaded.ETag, PartNumber: lastNumber });
    return done;
  });
}

export type { ObjectPin, S3Sender };
export {
  COPY_OBJECT_MAX_BYTES,
  concatObjects,
  concatPlan,
  copyObject,
  deleteKeys,
  getBytes,
  getJson,
  headObject,
  listKeys,
  putBytes,
  s3,
  s3Sink,
  s3Source,
};
