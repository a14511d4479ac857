/**
 * The synthesized workflow on local AWS for e2e tests (loopback only): the template and its
 * state machine, s3rver + dynalite with the usage table, the real handlers, and helpers to put,
 * get and list objects and run executions (with handler overrides and harness options). Every
 * SDK call of a handler (and of the trigger, through `trigger`) is checked against that
 * function's synthesized IAM policy; denied calls fail and are listed in `denials`.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import * as clients from '../../functions/shared/clients.js';
import {
  type AslMachine,
  type CfnTemplate,
  lambdaTasks,
  stateMachineDefinition,
  synthTemplate,
} from './asl.js';
import { functionIdentities } from './iamPolicies.js';
import { asFunction, type Denial, type IamSimulator, iamSimulator } from './iamSimulation.js';
import { type LocalAws, startLocalAws, tableFromTemplate } from './localAws.js';
import {
  type ExecutionOutcome,
  type JsonValue,
  type LambdaHandler,
  localStepFunctions,
  type RunOptions,
  runExecution,
} from './sfnHarness.js';

const TABLE = 'usage';
/** The state machine's local name (STATE_MACHINE_ARN of the trigger ends with it). */
const STATE_MACHINE_NAME = 'CaimanSpikes';
const STATE_MACHINE_ARN = `arn:aws:states:us-east-1:123456789012:stateMachine:${STATE_MACHINE_NAME}`;

/** Harness options of one execution (see sfnHarness RunOptions). */
type ExecuteOptions = Omit<RunOptions, 'executionName' | 'handlers' | 'template' | 'payloads'>;

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
    options?: ExecuteOptions,
  ): Promise<ExecutionOutcome>;
  /** Every Lambda task payload of each execution run through `execute`, by execution name. */
  payloads: Map<string, { state: string; payload: unknown }[]>;
  /** A local Step Functions for the trigger: StartExecution runs `execute` (IAM-checked). */
  stepFunctions(
    run?: (name: string, input: JsonValue) => Promise<ExecutionOutcome>,
  ): ReturnType<typeof localStepFunctions>;
  /** Runs the trigger's startFromUpload as an invocation of its function (IAM scope). */
  trigger(
    event: S3Event,
    sfn: ReturnType<typeof localStepFunctions>,
  ): Promise<{ started: string[]; duplicates: string[]; ignored: string[] }>;
  /** SDK calls denied by the IAM simulation so far (e2e tests assert none). */
  denials: Denial[];
  iam: IamSimulator;
  /** Checks IAM against another template's policies from now on (e.g. one permission removed). */
  usePolicies(template: CfnTemplate): void;
  close(): Promise<void>;
}

/** Logical id of the function whose handler is `name` (ids embed the handler name). */
function functionId(template: CfnTemplate, name: string): string {
  const id = Object.keys(template.Resources).find(
    (k) => template.Resources[k].Type === 'AWS::Lambda::Function' && k.includes(name),
  );
  if (!id) throw new TypeError(`no function ${name} in the template`);
  return id;
}

/**
 * Starts local AWS and binds the synthesized workflow to the real handlers.
 * @param options.iam - check every SDK call against the synthesized IAM policies (default true)
 */
async function startWorkflow(options: { iam?: boolean } = {}): Promise<LocalWorkflow> {
  const template = synthTemplate();
  const machine = stateMachineDefinition(template);
  const local = await startLocalAws('data');
  process.env.USAGE_TABLE = TABLE;
  process.env.STATE_MACHINE_ARN = STATE_MACHINE_ARN;
  const names = { bucket: local.bucket, table: TABLE, stateMachineName: STATE_MACHINE_NAME };
  const identities = functionIdentities(template, names);
  const iam = iamSimulator(identities);
  if (options.iam !== false) {
    iam.install([
      ['s3', clients.s3],
      ['dynamodb', clients.dynamodb],
      ['states', clients.sfn],
    ]);
  }
  // every Lambda Task's function must have its identity
  for (const id of lambdaTasks(machine).values()) {
    if (!identities.has(id)) throw new TypeError(`no IAM identity for ${id}`);
  }
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
  const wf: LocalWorkflow = {
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
    execute(name, input, override = {}, runOptions = {}) {
      const seen: { state: string; payload: unknown }[] = [];
      payloads.set(name, seen);
      return runExecution(machine, input, {
        ...runOptions,
        executionName: name,
        handlers: { ...handlers, ...override } as Record<string, LambdaHandler>,
        template,
        payloads: seen,
      });
    },
    stepFunctions(run) {
      return localStepFunctions(run ?? ((name, input) => wf.execute(name, input)), {
        authorize: (input) => iam.authorize('states', 'StartExecutionCommand', input),
      });
    },
    async trigger(event, sfn) {
      const { startFromUpload } = await import('../../functions/startFromUpload.js');
      return asFunction(functionId(template, 'startFromUpload'), () => startFromUpload(event, sfn));
    },
    denials: iam.denials,
    iam,
    usePolicies(t) {
      const next = functionIdentities(t, names);
      identities.clear();
      for (const [k, v] of next) identities.set(k, v);
      iam.clearCache();
    },
    async close() {
      iam.uninstall();
      await local.close();
    },
  };
  return wf;
}

export type { ExecuteOptions, LocalWorkflow };
export { STATE_MACHINE_ARN, startWorkflow, TABLE };
