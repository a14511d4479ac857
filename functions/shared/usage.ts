/**
 * Usage accounting in DynamoDB (one table, pk/sk strings); the record itself is built by
 * lib/job/usage.ts. Every step is one single-item write that a retry may repeat (dynalite, the
 * local stand-in, has no transactions, and none is needed):
 *
 * - attempt  pk `EXEC#<execution>`, sk `ATTEMPT#<awsRequestId>`: `{ fn, provisionalMs }` put when
 *   an invocation starts (provisionalMs = the time it has left, i.e. its configured timeout),
 *   `ms` set when it ends, failed or not. The meter (readMeter) is the sum over attempts of `ms`,
 *   or, for an attempt that never reported, the time since its `startedAt`, at most
 *   `provisionalMs`: one killed by its timeout is billed at its configured timeout, one killed
 *   out of memory or still running after its Map Run failed the time it has run when the run
 *   is recorded. The caller's own attempt is left out: it adds its own time so far.
 * - record   pk `EXEC#<execution>`, sk `USAGE`: put once with `attribute_not_exists(pk)` and
 *   `monthlyApplied = false`; a retried Finalize / Record failure reuses the stored record.
 * - monthly  pk `ACCOUNT#<account>`, sk `MONTH#<yyyy-mm>#<k>` (k = shard of the execution
 *   name, {@link MONTH_SHARDS} of them; the month's totals are the sum over its shards,
 *   {@link monthTotals}): the record's totals are added with `ADD …, applied :name` under
 *   `NOT contains(applied, :name)`, so a repeat is refused; then the record gets
 *   `monthlyApplied = true`.
 *
 * Crash points: after the record put, a retry finds monthlyApplied false and applies the month
 * (once, by the condition); after the ADD, the retry's ADD is refused and it goes on. Two callers
 * at once (a Finalize retried while its first invocation still runs) are safe too: the name is
 * never taken out of `applied`, so the second ADD is always refused. That set grows by one name
 * (≤ 80 characters) per execution: 16 shards keep ~80 000 executions per account and month inside
 * DynamoDB's 400 KB item limit
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html).
 */
import { createHash, randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { InternalError } from '../../lib/errors.js';
import type { Meter } from '../../lib/job/store.js';
import type { UsageRecord } from '../../lib/job/usage.js';
import { ddb } from './clients.js';

const ATTEMPT = 'ATTEMPT#';

/** Items one account's month is spread over (module comment: the 400 KB item limit). */
const MONTH_SHARDS = 16;

/** The sort key of the month shard an execution is added to. */
function monthShard(month: string, executionName: string): string {
  const k = createHash('sha256').update(executionName).digest()[0] % MONTH_SHARDS;
  return `MONTH#${month}#${k}`;
}

function tableName(): string {
  const name = process.env.USAGE_TABLE;
  if (!name) throw new InternalError('environment variable USAGE_TABLE is not set', 'Config');
  return name;
}

const execKey = (executionName: string, sk: string) => ({ pk: `EXEC#${executionName}`, sk });
const wholeMs = (ms: number) => Math.max(0, Math.round(ms));

/**
 * Puts the provisional charge of an invocation that starts: its whole remaining time.
 * @param attemptId - the invocation's awsRequestId
 */
async function startAttempt(
  executionName: string,
  fn: string,
  attemptId: string,
  provisionalMs: number,
): Promise<void> {
  await ddb.send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...execKey(executionName, `${ATTEMPT}${attemptId}`),
        fn,
        provisionalMs: wholeMs(provisionalMs),
        startedAt: Date.now(),
      },
    }),
  );
}

/**
 * The charge of an attempt that has not reported: the time observed since it started, at most
 * its provisional charge (its configured timeout). One that Lambda ended at its timeout has run
 * that long by the time the run is recorded; an item still running after its Map Run failed
 * (AWS aborts the child execution, the invocation runs on) is billed what it has run so far.
 */
function openCharge(item: Record<string, unknown>, now: number): number {
  const provisional = Number(item.provisionalMs ?? 0);
  if (typeof item.startedAt !== 'number') return provisional;
  return Math.min(provisional, wholeMs(now - item.startedAt));
}

/** Replaces an attempt's provisional charge by the time it actually ran. */
async function endAttempt(
  executionName: string,
  fn: string,
  attemptId: string,
  ms: number,
): Promise<void> {
  await ddb.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: execKey(executionName, `${ATTEMPT}${attemptId}`),
      UpdateExpression: 'SET #ms = :ms, fn = :fn',
      ExpressionAttributeNames: { '#ms': 'ms' },
      ExpressionAttributeValues: { ':ms': wholeMs(ms), ':fn': fn },
    }),
  );
}

/** Adds one finished invocation of `fn` that took `ms` (JobStore.meter). */
async function meterCompute(executionName: string, fn: string, ms: number): Promise<void> {
  await endAttempt(executionName, fn, randomUUID(), ms);
}

/**
 * The execution's meter: milliseconds and invocations per function, over every attempt but
 * `exclude` (the caller's own, still running).
 */
async function readMeter(
  executionName: string,
  exclude?: string,
  now = Date.now(),
): Promise<Meter> {
  const computeMs: Record<string, number> = {};
  const invocations: Record<string, number> = {};
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ddb.send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :attempt)',
        ExpressionAttributeValues: { ':pk': `EXEC#${executionName}`, ':attempt': ATTEMPT },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      if (exclude !== undefined && item.sk === `${ATTEMPT}${exclude}`) continue;
      const fn = String(item.fn);
      const ms = typeof item.ms === 'number' ? item.ms : openCharge(item, now);
      computeMs[fn] = (computeMs[fn] ?? 0) + ms;
      invocations[fn] = (invocations[fn] ?? 0) + 1;
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return { computeMs, invocations };
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

/** Adds a record's totals to its month, unless this execution's were added already. */
async function applyMonthly(usage: UsageRecord): Promise<void> {
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { pk: `ACCOUNT#${usage.account}`, sk: monthShard(usage.month, usage.executionName) },
        UpdateExpression:
          'ADD executions :one, credits :credits, computeMs :ms, files :files, cells :cells, #st :one, applied :name',
        ConditionExpression: 'NOT contains(applied, :execution)',
        ExpressionAttributeNames: { '#st': usage.status === 'SUCCEEDED' ? 'succeeded' : 'failed' },
        ExpressionAttributeValues: {
          ':one': 1,
          ':credits': usage.credits,
          ':ms': usage.totalComputeMs,
          ':files': usage.files,
          ':cells': usage.cells,
          ':name': new Set([usage.executionName]),
          ':execution': usage.executionName,
        },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/**
 * Stores the record once and adds it to the account's month exactly once, whatever attempt of
 * whichever caller dies between the writes (see the module comment). Returns the stored record:
 * the given one if this call wrote it, the one an earlier attempt wrote otherwise.
 */
async function recordUsage(usage: UsageRecord): Promise<{ written: boolean; usage: UsageRecord }> {
  const key = execKey(usage.executionName, 'USAGE');
  let stored = usage;
  let applied = false;
  let written = true;
  try {
    await ddb.send(
      new PutCommand({
        TableName: tableName(),
        Item: { ...key, ...usage, monthlyApplied: false },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    written = false;
    const existing = await ddb.send(
      new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }),
    );
    const { pk: _pk, sk: _sk, monthlyApplied, ...rest } = existing.Item ?? {};
    stored = rest as UsageRecord;
    applied = monthlyApplied === true;
  }
  if (!applied) {
    await applyMonthly(stored);
    await ddb.send(
      new UpdateCommand({
        TableName: tableName(),
        Key: key,
        UpdateExpression: 'SET monthlyApplied = :yes',
        ExpressionAttributeValues: { ':yes': true },
      }),
    );
  }
  return { written, usage: stored };
}

/** Monthly totals of an account: the sum of the month's shards (numbers only). */
async function monthTotals(account: string, month: string): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ddb.send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :month)',
        ExpressionAttributeValues: { ':pk': `ACCOUNT#${account}`, ':month': `MONTH#${month}#` },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      for (const [k, v] of Object.entries(item)) {
        if (typeof v === 'number') totals[k] = (totals[k] ?? 0) + v;
      }
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return totals;
}

export {
  endAttempt,
  MONTH_SHARDS,
  meterCompute,
  monthShard,
  monthTotals,
  readMeter,
  recordUsage,
  startAttempt,
  tableName,
};
