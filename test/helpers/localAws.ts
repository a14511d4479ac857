/**
 * Local AWS for e2e tests, loopback only: s3rver (S3, with S3 event records) and dynalite
 * (DynamoDB) on 127.0.0.1 ephemeral ports. The handlers' SDK clients are configured only through
 * the SDK's standard environment variables set here, so `await import()` the handlers after
 * `startLocalAws()`. Works around s3rver's single-DES continuation tokens (local-aws-stack.md §4).
 */
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { S3Event } from 'aws-lambda';
import S3rver from 's3rver';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: {
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}) => Server;

type CipherFactory = (alg: string, key: Buffer, iv: Buffer, options?: unknown) => unknown;

let desPatched = false;
/** Triple DES with K1 = K2 = K3 is single DES, which OpenSSL 3 only has in its legacy provider. */
function patchDes(): void {
  if (desPatched) return;
  desPatched = true;
  const c = crypto as unknown as Record<'createCipheriv' | 'createDecipheriv', CipherFactory>;
  for (const fn of ['createCipheriv', 'createDecipheriv'] as const) {
    const original = c[fn].bind(crypto);
    c[fn] = (alg, key, iv, options) =>
      alg === 'des'
        ? original('des-ede3-cbc', Buffer.concat([key, key, key]), iv, options)
        : original(alg, key, iv, options);
  }
}

/** Running local services. */
interface LocalAws {
  bucket: string;
  s3Endpoint: string;
  dynamoEndpoint: string;
  /** S3 event notifications (every Put/Post/Copy/Delete, unfiltered, keys not URL-encoded). */
  onS3Event(listener: (event: S3Event) => void): void;
  close(): Promise<void>;
}

const ENV_KEYS = [
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_REQUEST_CHECKSUM_CALCULATION',
  'AWS_RESPONSE_CHECKSUM_VALIDATION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
  'AWS_EC2_METADATA_DISABLED',
  'DATA_BUCKET',
  'USAGE_TABLE',
  'STATE_MACHINE_ARN',
  'POWERTOOLS_LOG_LEVEL',
] as const;

/**
 * Starts s3rver and dynalite, creates the bucket, and points the SDK at them.
 * @param bucket - data bucket name
 */
async function startLocalAws(bucket = 'data'): Promise<LocalAws> {
  patchDes();
  const dir = mkdtempSync(join(tmpdir(), 's3rver-'));
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const s3Address = await s3.run();
  const ddb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => ddb.listen(0, '127.0.0.1', resolve));
  const ddbAddress = ddb.address();
  const ddbPort = typeof ddbAddress === 'object' && ddbAddress ? ddbAddress.port : 0;
  const saved = new Map(ENV_KEYS.map((k) => [k, process.env[k]]));
  const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;
  const dynamoEndpoint = `http://127.0.0.1:${ddbPort}`;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    DATA_BUCKET: bucket,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  return {
    bucket,
    s3Endpoint,
    dynamoEndpoint,
    onS3Event: (listener) => {
      (s3 as unknown as { on(e: 'event', l: (event: S3Event) => void): void }).on(
        'event',
        listener,
      );
    },
    async close() {
      await s3.close();
      await new Promise<void>((resolve) => ddb.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}

/** CreateTable input from the template's TableV2 (`AWS::DynamoDB::GlobalTable`). */
function tableFromTemplate(
  template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> },
  tableName: string,
): CreateTableCommandInput {
  const table = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::DynamoDB::GlobalTable',
  );
  if (!table) throw new TypeError('no AWS::DynamoDB::GlobalTable in the template');
  return {
    TableName: tableName,
    KeySchema: table.Properties.KeySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: table.Properties
      .AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

export type { LocalAws };
export { startLocalAws, tableFromTemplate };
