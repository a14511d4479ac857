/**
 * Usage accounting in DynamoDB (one table, pk/sk strings); the record itself is built by
 * lib/job/usage.ts:
 * - meter     pk `EXEC#<execution name>`, sk `METER`: `ADD ms_<function> :ms, n_<function> :1`
 *   after every task invocation (atomic counters, attempts included);
 * - record    pk `EXEC#<execution name>`, sk `USAGE`: written once with
 *   `attribute_not_exists(pk)`, so a retried Finalize / Record failure never bills twice;
 * - monthly   pk `ACCOUNT#<account>`, sk `MONTH#<yyyy-mm>`: `ADD` totals, applied only by the
 *   invocation whose conditional put of the record succeeded.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { InternalError } from '../../lib/errors.js';
import type { Meter } from '../../lib/job/store.js';
import type { UsageRecord } from '../../lib/job/usage.js';
import { ddb } from './clients.js';

function tableName(): string {
  const name = process.env.USAGE_TABLE;
  if (!name) throw new InternalError('environment variable USAGE_TABLE is not set', 'Config');
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
async function readMeter(executionName: string): Promise<Meter> {
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

export { meterCompute, readMeter, recordUsage, tableName };
