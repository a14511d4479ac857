/**
 * S3 adapters for lib/bytes.ts. One module-scope S3Client built with the SDK's defaults (so the
 * standard AWS_ENDPOINT_URL_S3 / AWS_REQUEST_CHECKSUM_CALCULATION variables configure it).
 * A ByteSource reads with ranged GetObject (pinned to the ETag seen at plan time, so an input
 * replaced mid-run fails instead of mixing versions); a ByteSink streams through a lib-storage
 * Upload, so the object appears whole on `close` or not at all on `abort`.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ByteSink, ByteSource } from '../../lib/bytes.js';
import { InvalidInputError } from '../../lib/errors.js';

const s3 = new S3Client({});

/** Multipart part size of output uploads. */
const PART_SIZE = 8 * 1024 * 1024;

/** Size and checksum of an object as written. */
interface WrittenObject {
  key: string;
  size: number;
  sha256: string;
}

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

/** Size and ETag of an object; a missing object is an InvalidInputError naming the key. */
async function headObject(bucket: string, key: string): Promise<{ size: number; etag: string }> {
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { size: out.ContentLength ?? 0, etag: out.ETag ?? '' };
  } catch (error) {
    if (isMissing(error) || isForbidden(error)) {
      throw new InvalidInputError(
        `input ${key} does not exist in the data bucket (or is not readable)`,
        'MissingInput',
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * A ByteSource over one S3 object. `known` (from the plan) skips the HEAD and pins the ETag.
 * @param bucket - bucket name
 * @param key - object key, also the source's name in error messages
 */
function s3Source(bucket: string, key: string, known?: { size: number; etag: string }): ByteSource {
  let head: Promise<{ size: number; etag: string }> | null = known ? Promise.resolve(known) : null;
  const info = () => {
    head ??= headObject(bucket, key);
    return head;
  };
  return {
    name: key,
    size: async () => (await info()).size,
    async read(offset, length) {
      const { size, etag } = await info();
      const end = Math.min(offset + length, size);
      if (length <= 0 || offset >= end) return new Uint8Array(0);
      try {
        const out = await s3.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
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
 * A ByteSink streaming to one S3 object (multipart above 8 MiB). `written()` gives the size and
 * SHA-256 after `close`.
 */
function s3Sink(
  bucket: string,
  key: string,
  contentType = 'application/octet-stream',
): ByteSink & { written(): WrittenObject } {
  const body = new PassThrough();
  const hash = createHash('sha256');
  let size = 0;
  let digest = '';
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
      hash.update(chunk);
      size += chunk.byteLength;
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
      digest = hash.digest('hex');
    },
    async abort() {
      body.destroy();
      await upload.abort();
    },
    written: () => ({ key, size, sha256: digest }),
  };
}

/** Writes bytes in one PutObject and returns their size and SHA-256. */
async function putBytes(
  bucket: string,
  key: string,
  bytes: Uint8Array,
  contentType: string,
): Promise<WrittenObject> {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType }),
  );
  return { key, size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Writes a value as pretty JSON. */
async function putJson(bucket: string, key: string, value: unknown): Promise<WrittenObject> {
  const bytes = new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  return putBytes(bucket, key, bytes, 'application/json');
}

/** Reads a JSON object; null when it does not exist (404, or 403 for a caller without ListBucket). */
async function getJson(bucket: string, key: string): Promise<unknown> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = out.Body ? await out.Body.transformToString() : '';
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (isMissing(error) || isForbidden(error)) return null;
    if (error instanceof SyntaxError) {
      throw new InvalidInputError(`${key} is not valid JSON: ${error.message}`, 'BadJson', {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * True when the object exists. Uses a listing (the caller needs s3:ListBucket on the key's
 * prefix), because HEAD of a missing key is a 403 for callers without ListBucket.
 */
async function exists(bucket: string, key: string): Promise<boolean> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  return out.Contents?.[0]?.Key === key;
}

/** Every key under a prefix (all pages). */
async function listKeys(bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Deletes keys (missing ones are ignored), 1000 per request. */
async function deleteKeys(bucket: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }
}

export type { WrittenObject };
export { deleteKeys, exists, getJson, headObject, listKeys, putBytes, putJson, s3Sink, s3Source };
