/**
 * Exact billing on DynamoDB (dynalite): the monthly total is added exactly once per execution
 * whatever write a crash follows, attempts that never report are billed at their timeout, and
 * normal attempts at the time they ran.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../../lib/job/usage.js';
import { synthTemplate } from '../../helpers/asl.js';
import { type LocalAws, startLocalAws, tableFromTemplate } from '../../helpers/localAws.js';

const TABLE = 'usage';
let aws: LocalAws;
let usage: typeof import('../../../functions/shared/usage.js');
let clients: typeof import('../../../functions/shared/clients.js');
let middleware: typeof import('../../../functions/shared/middleware.js');
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  aws = await startLocalAws();
  process.env.USAGE_TABLE = TABLE;
  const raw = new DynamoDBClient({});
  await raw.send(new CreateTableCommand(tableFromTemplate(synthTemplate(), TABLE)));
  doc = DynamoDBDocumentClient.from(raw);
  usage = await import('../../../functions/shared/usage.js');
  clients = await import('../../../functions/shared/clients.js');
  middleware = await import('../../../functions/shared/middleware.js');
}, 60_000);

afterAll(async () => {
  delete process.env.USAGE_TABLE;
  await aws?.close();
});

function record(executionName: string, account: string): UsageRecord {
  return {
    executionName,
    executionId: `arn:aws:states:us-east-1:123456789012:execution:sm:${executionName}`,
    account,
    month: '2026-12',
    status: 'SUCCEEDED',
    files: 2,
    cells: 30,
    computeMs: { deconvolveChunk: 7_200_000 },
    invocations: { deconvolveChunk: 4 },
    totalComputeMs: 7_200_000,
    computeHours: 2,
    credits: 1,
    outputPrefix: `outputs/${executionName}/`,
    recordedAt: '2026-12-02T12:00:00.000Z',
  };
}

const month = (account: string) => usage.monthTotals(account, '2026-12');

/** Fails the call in flight right after its `n`th successful DynamoDB write (1-based). */
function crashAfterWrite(n: number): () => void {
  let writes = 0;
  const name = `crash-after-${n}-${Math.random()}`;
  clients.dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const command = String(context.commandName);
      if (/^(Put|Update)/.test(command) && ++writes === n) {
        throw new Error(`injected crash after write ${n} (${command})`);
      }
      return result;
    },
    { step: 'initialize', name },
  );
  return () => clients.dynamodb.middlewareStack.remove(name);
}

describe('recordUsage', () => {
  it.each([1, 2, 3])(
    'adds the month exactly once when the first attempt dies after write %i',
    async (n) => {
      // Prepare
      const account = `crash-${n}`;
      const r = record(`exec-crash-${n}`, account);
      const restore = crashAfterWrite(n);
      // Act
      await expect(usage.recordUsage(r)).rejects.toThrow(`injected crash after write ${n}`);
      restore();
      const retry = await usage.recordUsage(r);
      const again = await usage.recordUsage({ ...r, credits: 99 });
      // Assess
      expect(retry.written).toBe(false);
      expect(again.usage.credits).toBe(1);
      const m = await month(account);
      expect(m).toMatchObject({
        executions: 1,
        succeeded: 1,
        credits: 1,
        computeMs: 7_200_000,
        files: 2,
        cells: 30,
      });
      const stored = await doc.send(
        new GetCommand({ TableName: TABLE, Key: { pk: `EXEC#${r.executionName}`, sk: 'USAGE' } }),
      );
      expect(stored.Item?.monthlyApplied).toBe(true);
    },
  );

  it('adds the month once when a second caller read the record before the first one marked it', async () => {
    // Prepare: A records everything; B had read monthlyApplied = false just before A's mark
    const r = record('exec-race', 'race');
    await usage.recordUsage(r);
    await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: 'EXEC#exec-race', sk: 'USAGE' },
        UpdateExpression: 'SET monthlyApplied = :no',
        ExpressionAttributeValues: { ':no': false },
      }),
    );
    // Act: B goes on from its stale read
    await usage.recordUsage(r);
    // Assess
    expect(await month('race')).toMatchObject({ executions: 1, credits: 1 });
  });

  it("spreads one account's month over shards and sums them", async () => {
    // Act
    const names = Array.from({ length: 40 }, (_, i) => `exec-shard-${i}`);
    for (const n of names) await usage.recordUsage(record(n, 'sharded'));
    // Assess
    const shards = new Set(names.map((n) => usage.monthShard('2026-12', n)));
    expect(shards.size).toBeGreaterThan(8);
    expect(shards.size).toBeLessThanOrEqual(usage.MONTH_SHARDS);
    expect(await month('sharded')).toMatchObject({ executions: 40, credits: 40 });
  });

  it('adds two executions of one month once each', async () => {
    // Act
    await usage.recordUsage(record('exec-a', 'two'));
    await usage.recordUsage(record('exec-a', 'two'));
    await usage.recordUsage({ ...record('exec-b', 'two'), status: 'FAILED', credits: 0.25 });
    // Assess
    expect(await month('two')).toMatchObject({
      executions: 2,
      succeeded: 1,
      failed: 1,
      credits: 1.25,
    });
  });
});

describe('the attempt meter', () => {
  const context = (awsRequestId: string, remainingMs: number) =>
    ({ awsRequestId, getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;
  const event = (executionName: string) => ({
    executionName,
    executionId: `arn:x:${executionName}`,
  });

  it('bills an attempt that never finishes at its timeout once it has run that long, and a finished one at its time', async () => {
    // Prepare
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const killed = middleware.wrapHandler('deconvolveChunk', async () => {
      started();
      await new Promise(() => {}); // never settles: a timeout or an out-of-memory kill
    });
    const normal = middleware.wrapHandler('deconvolveChunk', async () => 'ok');
    // Act
    void killed(event('exec-meter'), context('killed-1', 900_000));
    await running;
    await normal(event('exec-meter'), context('normal-1', 900_000));
    // read as Record failure would after the killed attempt's timeout, and right away
    const meter = await usage.readMeter('exec-meter', undefined, Date.now() + 900_001);
    const early = await usage.readMeter('exec-meter');
    // Assess
    expect(meter.invocations).toEqual({ deconvolveChunk: 2 });
    // still running: billed what it has run so far, not its whole timeout
    expect(early.computeMs.deconvolveChunk).toBeLessThan(60_000);
    const normalMs = meter.computeMs.deconvolveChunk - 900_000;
    expect(normalMs).toBeGreaterThanOrEqual(0);
    expect(normalMs).toBeLessThan(900_000);
    const item = await doc.send(
      new GetCommand({
        TableName: TABLE,
        Key: { pk: 'EXEC#exec-meter', sk: 'ATTEMPT#normal-1' },
      }),
    );
    expect(item.Item).toEqual({
      pk: 'EXEC#exec-meter',
      sk: 'ATTEMPT#normal-1',
      fn: 'deconvolveChunk',
      provisionalMs: 900_000,
      startedAt: expect.any(Number),
      ms: normalMs,
    });
  });

  it('bills a failed attempt at its time and leaves the reader’s own attempt out', async () => {
    // Prepare
    const failing = middleware.wrapHandler('assembleFile', async () => {
      throw new Error('boom');
    });
    let meterSeenInside: Awaited<ReturnType<typeof usage.readMeter>> | null = null;
    const finalize = middleware.wrapHandler('finalizeJob', async (_e: unknown, ctx: Context) => {
      meterSeenInside = await usage.readMeter('exec-self', ctx.awsRequestId);
      return 'done';
    });
    // Act
    await expect(failing(event('exec-self'), context('fail-1', 60_000))).rejects.toThrow('boom');
    await finalize(event('exec-self'), context('final-1', 900_000));
    const after = await usage.readMeter('exec-self');
    // Assess
    expect(meterSeenInside).not.toBeNull();
    const inside = meterSeenInside as unknown as Awaited<ReturnType<typeof usage.readMeter>>;
    expect(inside.invocations).toEqual({ assembleFile: 1 });
    expect(inside.computeMs.assembleFile).toBeLessThan(60_000);
    expect(after.invocations).toEqual({ assembleFile: 1, finalizeJob: 1 });
    expect(after.computeMs.finalizeJob).toBeLessThan(900_000);
  });

  it('sums every attempt of a run, per function', async () => {
    // Prepare
    const writes = Array.from({ length: 120 }, (_, i) =>
      usage.meterCompute('exec-many', i % 2 === 0 ? 'deconvolveChunk' : 'assembleFile', 1000 + i),
    );
    await Promise.all(writes);
    // Act
    const meter = await usage.readMeter('exec-many');
    // Assess
    expect(meter.invocations).toEqual({ deconvolveChunk: 60, assembleFile: 60 });
    const even = Array.from({ length: 60 }, (_, k) => 1000 + 2 * k).reduce((a, b) => a + b, 0);
    expect(meter.computeMs.deconvolveChunk).toBe(even);
    expect(meter.computeMs.assembleFile).toBe(even + 60);
  });
});
