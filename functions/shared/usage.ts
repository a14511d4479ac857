/**
 * Usage accounting in DynamoDB (one table, pk/sk strings):
 * - meter     pk `EXEC#<execution name>`, sk `METER`: `ADD ms_<function> :ms, n_<function> :1`
 *   after every task invocation (atomic counters, attempts included);
 * - record    pk `EXEC#<execution name>`, sk `USAGE`: written once with
 *   `attribute_not_exists(pk)`, so a retried Finalize / Record failure never bills twice;
 * - monthly   pk `ACCOUNT#<account>`, sk `MONTH#<yyyy-mm>`: `ADD` totals, applied only by the
 *   invocation whose conditional put of the record succeeded.
 *
 * credits = 0.5 × compute hours, compute hours = Σ_function ms / 3 600 000 (the IDEAS price).
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { InvalidInputError } from '../../lib/errors.js';

const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));

/** Credits billed per compute hour. */
const CREDITS_PER_COMPUTE_HOUR = 0.5;
const MS_PER_HOUR = 3_600_000;

/** The per-execution usage record (also written to `<outputPrefix>usage.json`). */
interface UsageRecord {
  executionName: string;
  executionId: string;
  account: string;
  month: string;
  status: 'SUCCEEDED' | 'FAILED';
  files: number;
  cells: number;
  computeMs: Record<string, number>;
  invocations: Record<string, number>;
  totalComputeMs: number;
  computeHours: number;
  credits: number;
  outputPrefix: string;
  recordedAt: string;
}

function tableName(): string {
  const name = process.env.USAGE_TABLE;
  if (!name) throw new InvalidInputError('environment variable USAGE_TABLE is not set', 'Config');
  return name;
}

/** Adds `ms` of compute time of function `fn` to the execution's meter (atomic ADD). */
async function meterCompute(executionName: string, fn: string, ms: number): Promise<void> {
  await ddb.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { pk: `EXEC#${executionName}`, sk: 'METER' },
      UpdateExpression: 'ADD #ms :ms, #n :one',
      ExpressionAttributeNames: { '#ms': `ms_${fn}`, '#n': `n_${fn}` },
      ExpressionAttributeValues: { ':ms': Math.max(0, Math.round(ms)), ':one': 1 },
    }),
  );
}

/** The execution's meter so far: milliseconds and invocations per function. */
async function readMeter(
  executionName: string,
): Promise<{ computeMs: Record<string, number>; invocations: Record<string, number> }> {
  const out = await ddb.send(
    new GetCommand({
      TableName: tableName(),
      Key: { pk: `EXEC#${executionName}`, sk: 'METER' },
      ConsistentRead: true,
    }),
  );
  const computeMs: Record<string, number> = {};
  const invocations: Record<string, number> = {};
  for (const [k, v] of Object.entries(out.Item ?? {})) {
    if (typeof v !== 'number') continue;
    if (k.startsWith('ms_')) computeMs[k.slice(3)] = v;
    if (k.startsWith('n_')) invocations[k.slice(2)] = v;
  }
  return { computeMs, invocations };
}

/**
 * Builds the usage record from the meter plus the caller's own time so far (the caller is the
 * last task, so its own meter entry is not written yet).
 */
function buildUsage(args: {
  executionName: string;
  executionId: string;
  account: string;
  status: UsageRecord['status'];
  files: number;
  cells: number;
  meter: { computeMs: Record<string, number>; invocations: Record<string, number> };
  self: { fn: string; ms: number };
  outputPrefix: string;
  now: Date;
}): UsageRecord {
  const computeMs = { ...args.meter.computeMs };
  const invocations = { ...args.meter.invocations };
  computeMs[args.self.fn] = (computeMs[args.self.fn] ?? 0) + Math.round(args.self.ms);
  invocations[args.self.fn] = (invocations[args.self.fn] ?? 0) + 1;
  const totalComputeMs = Object.values(computeMs).reduce((a, b) => a + b, 0);
  const computeHours = totalComputeMs / MS_PER_HOUR;
  return {
    executionName: args.executionName,
    executionId: args.executionId,
    account: args.account,
    month: args.now.toISOString().slice(0, 7),
    status: args.status,
    files: args.files,
    cells: args.cells,
    computeMs,
    invocations,
    totalComputeMs,
    computeHours,
    credits: CREDITS_PER_COMPUTE_HOUR * computeHours,
    outputPrefix: args.outputPrefix,
    recordedAt: args.now.toISOString(),
  };
}

/**
 * Writes the record once. Returns the record that is stored: the given one if this call wrote
 * it (and then also added it to the account's monthly total), the existing one otherwise.
 */
async function recordUsage(usage: UsageRecord): Promise<{ written: boolean; usage: UsageRecord }> {
  const key = { pk: `EXEC#${usage.executionName}`, sk: 'USAGE' };
  try {
    await ddb.send(
      new PutCommand({
        TableName: tableName(),
        Item: { ...key, ...usage },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = await ddb.send(
      new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }),
    );
    const { pk: _pk, sk: _sk, ...stored } = existing.Item ?? {};
    return { written: false, usage: stored as UsageRecord };
  }
  await ddb.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { pk: `ACCOUNT#${usage.account}`, sk: `MONTH#${usage.month}` },
      UpdateExpression:
        'ADD executions :one, credits :credits, computeMs :ms, files :files, cells :cells, #st :one',
      ExpressionAttributeNames: { '#st': usage.status === 'SUCCEEDED' ? 'succeeded' : 'failed' },
      ExpressionAttributeValues: {
        ':one': 1,
        ':credits': usage.credits,
        ':ms': usage.totalComputeMs,
        ':files': usage.files,
        ':cells': usage.cells,
      },
    }),
  );
  return { written: true, usage };
}

export type { UsageRecord };
export { buildUsage, CREDITS_PER_COMPUTE_HOUR, meterCompute, readMeter, recordUsage };
