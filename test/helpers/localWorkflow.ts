/**
 * The synthesized workflow on local AWS for e2e tests (loopback only): the template and its
 * state machine, s3rver + dynalite with the usage table, the real handlers, and helpers to put,
 * get and list objects and run executions (with handler overrides).
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AslMachine, type CfnTemplate, stateMachineDefinition, synthTemplate } from './asl.js';
import { type LocalAws, startLocalAws, tableFromTemplate } from './localAws.js';
import {
  type ExecutionOutcome,
  type JsonValue,
  type LambdaHandler,
  runExecution,
} from './sfnHarness.js';

const TABLE = 'usage';

interface LocalWorkflow {
  template: CfnTemplate;
  machine: AslMachine;
  local: LocalAws;
  s3: S3Client;
  ddb: DynamoDBDocumentClient;
  handlers: Record<string, LambdaHandler>;
  put(key: string, body: Uint8Array | string): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
  getJson<T>(key: string): Promise<T | null>;
  /** Keys under a prefix, relative to it, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Runs an execution (with handler overrides); its task payloads go to `payloads`. */
  execute(
    name: string,
    input: JsonValue,
    override?: Partial<Record<string, LambdaHandler>>,
  ): Promise<ExecutionOutcome>;
  /** Every Lambda task payload of each execution run through `execute`, by execution name. */
  payloads: Map<string, { state: string; payload: unknown }[]>;
  close(): Promise<void>;
}

async function startWorkflow(): Promise<LocalWorkflow> {
  const template = synthTemplate();
  const machine = stateMachineDefinition(template);
  const local = await startLocalAws('data');
  process.env.USAGE_TABLE = TABLE;
  const s3 = new S3Client({});
  const raw = new DynamoDBClient({});
  await raw.send(new CreateTableCommand(tableFromTemplate(template, TABLE)));
  const ddb = DynamoDBDocumentClient.from(raw);
  const handlers = {
    planJob: (await import('../../functions/planJob.js')).handler,
    deconvolveChunk: (await import('../../functions/deconvolveChunk.js')).handler,
    assembleFile: (await import('../../functions/assembleFile.js')).handler,
    finalizeJob: (await import('../../functions/finalizeJob.js')).handler,
    recordFailure: (await import('../../functions/recordFailure.js')).handler,
  } as Record<string, LambdaHandler>;
  const get = async (key: string) => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: local.bucket, Key: key }));
      return (await out.Body?.transformToByteArray()) ?? null;
    } catch {
      return null;
    }
  };
  const payloads = new Map<string, { state: string; payload: unknown }[]>();
  return {
    template,
    payloads,
    machine,
    local,
    s3,
    ddb,
    handlers,
    async put(key, body) {
      await s3.send(new PutObjectCommand({ Bucket: local.bucket, Key: key, Body: body }));
    },
    get,
    async getJson<T>(key: string) {
      const bytes = await get(key);
      return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as T) : null;
    },
    async list(prefix) {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: local.bucket, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => (o.Key ?? '').slice(prefix.length)).sort();
    },
    execute(name, input, override = {}) {
      const seen: { state: string; payload: unknown }[] = [];
      payloads.set(name, seen);
      return runExecution(machine, input, {
        executionName: name,
        handlers: { ...handlers, ...override } as Record<string, LambdaHandler>,
        payloads: seen,
      });
    },
    close: () => local.close(),
  };
}

export type { LocalWorkflow };
export { startWorkflow, TABLE };
