/**
 * S3 object versioning for s3rver, which has none: a middleware on an S3Client (the functions'
 * one in functions/shared/clients.ts, and the test's own) that emulates a versioned bucket for
 * keys under chosen prefixes. Every client a test versions shares one registry, so what one
 * client puts the other reads.
 *
 * - PutObject: the object is written as usual (the current version) and also under the hidden key
 *   `.versions/<key>/<id>`; the output carries `VersionId: <id>`.
 * - GetObject / HeadObject with VersionId: read the hidden key, output `VersionId` echoed.
 * - GetObject / HeadObject without it: the current object, output `VersionId` = the latest id.
 *
 * The middleware runs late in the initialize step (priority low), so middleware that checks the
 * call as the handler made it (e.g. the IAM simulation) sees the original key and VersionId.
 * Multipart uploads are not versioned (inputs are put whole in tests).
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** Hidden prefix of stored versions. */
const VERSIONS_PREFIX = '.versions/';

/** key → VersionId of its current version (shared by every versioned client). */
const latest = new Map<string, string>();

interface VersionedCall {
  Bucket?: string;
  Key?: string;
  VersionId?: string;
  Body?: unknown;
}

async function bodyBytes(body: unknown): Promise<Uint8Array | string> {
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  const chunks: Uint8Array[] = [];
  for await (const c of body as AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  }
  return Buffer.concat(chunks);
}

/**
 * Versions the keys under `prefixes` for `client`; returns the function that removes it.
 * @param client - an S3Client (the middleware stack is the client's, shared by its commands)
 * @param prefixes - e.g. ['inbox/', 'inputs/', 'jobs/']
 */
function addVersioning(client: S3Client, prefixes: readonly string[]): () => void {
  const name = `emulated-versioning-${randomUUID()}`;
  const versioned = (key: string | undefined) =>
    typeof key === 'string' && prefixes.some((p) => key.startsWith(p));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      const input = args.input as VersionedCall;
      if (!versioned(input.Key)) return next(args);
      const key = input.Key as string;
      if (command === 'PutObjectCommand') {
        const id = randomUUID().replace(/-/g, '');
        const body = await bodyBytes(input.Body);
        const out = await next({ ...args, input: { ...input, Body: body } as typeof args.input });
        await client.send(
          new PutObjectCommand({
            Bucket: input.Bucket,
            Key: `${VERSIONS_PREFIX}${key}/${id}`,
            Body: body,
          }),
        );
        latest.set(key, id);
        (out.output as { VersionId?: string }).VersionId = id;
        return out;
      }
      if (command === 'GetObjectCommand' || command === 'HeadObjectCommand') {
        const { VersionId, ...rest } = input;
        const out = await next(
          VersionId
            ? {
                ...args,
                input: {
                  ...rest,
                  Key: `${VERSIONS_PREFIX}${key}/${VersionId}`,
                } as typeof args.input,
              }
            : args,
        );
        const id = VersionId ?? latest.get(key);
        if (id) (out.output as { VersionId?: string }).VersionId = id;
        return out;
      }
      return next(args);
    },
    { step: 'initialize', priority: 'low', name },
  );
  return () => {
    client.middlewareStack.remove(name);
  };
}

/** The current VersionId of a versioned key (what a notification event would carry). */
function latestVersion(key: string): string | undefined {
  return latest.get(key);
}

export { addVersioning, latestVersion, VERSIONS_PREFIX };
