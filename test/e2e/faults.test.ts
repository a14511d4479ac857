/**
 * Issue 11's acceptance, end to end under injected faults (the synthesized machine on the
 * faithful harness: real retry schedules, function timeouts, throttling, IAM checks). Every case
 * asserts what is published (a whole result with manifest.json, or only failure.json and
 * usage.json) and that usage is recorded exactly once: one USAGE record, and the account's
 * month counting the execution once with the record's compute (each case bills its own account).
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellSetOutputName, eventSetOutputName } from '../../lib/job/outputs.js';
import { type LocalWorkflow, startWorkflow, TABLE } from '../helpers/localWorkflow.js';
import {
  asS3Notification,
  type Invocation,
  type LambdaHandler,
  notificationFilters,
  throttleRate,
} from '../helpers/sfnHarness.js';
import { addVersioning, latestVersion } from '../helpers/versioning.js';
import { syntheticCellSet } from './syntheticCellSet.js';

let wf: LocalWorkflow;
let clients: typeof import('../../functions/shared/clients.js');
const removers: (() => void)[] = [];
const INPUT = 'inputs/faults/cells.isxd';
const CHUNKS = 6; // 12 cells, CHUNK_MAX_CELLS = 2

/** The one usage record of an execution, checked against its account's month. */
async function billedOnce(name: string): Promise<Record<string, unknown>> {
  const items = await wf.ddb.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': `EXEC#${name}` },
      ConsistentRead: true,
    }),
  );
  const records = (items.Items ?? []).filter((i) => i.sk === 'USAGE');
  expect(records, `${name}: one usage record`).toHaveLength(1);
  const record = records[0];
  expect(record.monthlyApplied).toBe(true);
  const { monthTotals } = await import('../../functions/shared/usage.js');
  const month = await monthTotals(String(record.account), String(record.month));
  expect(month, `${name}: the month counts it once`).toMatchObject({
    executions: 1,
    [record.status === 'SUCCEEDED' ? 'succeeded' : 'failed']: 1,
    computeMs: record.totalComputeMs,
    credits: record.credits,
  });
  return record;
}

const whole = async (prefix: string) => {
  const files = await wf.list(prefix);
  expect(files).toContain('manifest.json');
  expect(files).toContain(cellSetOutputName(0));
  return files;
};
const failedOnly = async (prefix: string) =>
  expect(await wf.list(prefix)).toEqual(['failure.json', 'usage.json']);

beforeAll(async () => {
  wf = await startWorkflow();
  clients = await import('../../functions/shared/clients.js');
  const versioned = ['inbox/', 'inputs/', 'jobs/'];
  removers.push(addVersioning(clients.s3, versioned), addVersioning(wf.s3, versioned));
  await wf.put(INPUT, await syntheticCellSet({ numCells: 12, numTimes: 200, seed: 11 }));
  process.env.CHUNK_MAX_CELLS = '2';
}, 120_000);

afterAll(async () => {
  delete process.env.CHUNK_MAX_CELLS;
  for (const remove of removers) remove();
  expect(wf.denials).toEqual([]);
  await wf?.close();
});

describe('faults injected into a run', () => {
  it('30 % of chunk invocations throttled: the run waits them out and succeeds; throttles are not billed', async () => {
    // Prepare
    const invocations: Invocation[] = [];
    // Act
    const outcome = await wf.execute(
      'fault-throttle',
      { inputs: [INPUT], outputPrefix: 'outputs/fault-throttle/', account: 'acct-throttle' },
      {},
      { throttle: { deconvolveChunk: throttleRate(0.3, 7) }, invocations },
    );
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    const chunk = invocations.filter((i) => i.function === 'deconvolveChunk');
    expect(chunk.filter((i) => i.outcome === 'throttled').length).toBeGreaterThanOrEqual(2);
    expect(chunk.filter((i) => i.outcome === 'succeeded')).toHaveLength(CHUNKS);
    await whole('outputs/fault-throttle/');
    const record = await billedOnce('fault-throttle');
    // a throttled invocation never ran: only the six that ran are billed
    expect(record.invocations).toMatchObject({ deconvolveChunk: CHUNKS });
  });

  it('one chunk past its timeout: killed once (Sandbox.Timedout, not retried), nothing published, billed at its timeout', async () => {
    // Prepare: chunk 0's read of its cells (the input from byte 0) never answers, so the
    // invocation runs into its (shortened, 2 s) function timeout, as a stuck Lambda would.
    const invocations: Invocation[] = [];
    const stall = 'stall-chunk-0';
    clients.s3.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: string; Range?: string };
        if (input.Key === INPUT && input.Range?.startsWith('bytes=0-')) {
          await new Promise(() => {});
        }
        return next(args);
      },
      { step: 'initialize', name: stall },
    );
    // Act
    const outcome = await wf
      .execute(
        'fault-timeout',
        { inputs: [INPUT], outputPrefix: 'outputs/fault-timeout/', account: 'acct-timeout' },
        {},
        { functionTimeouts: { deconvolveChunk: 2 }, invocations },
      )
      .finally(() => clients.s3.middlewareStack.remove(stall));
    // Assess
    expect(outcome.status).toBe('FAILED');
    const timedOut = invocations.filter((i) => i.outcome === 'timedout');
    expect(timedOut.map((i) => [i.function, i.attempt, i.error])).toEqual([
      ['deconvolveChunk', 0, 'Sandbox.Timedout'],
    ]);
    const report = await wf.getJson<Record<string, unknown>>('outputs/fault-timeout/failure.json');
    expect(report).toMatchObject({
      status: 'FAILED',
      error: 'ChunkDidNotReport',
      file: INPUT,
      details: [expect.objectContaining({ step: 'Deconvolve chunk', cells: [0, 2] })],
    });
    expect(String(report?.cause)).toContain('stopped from outside (its timeout or out of memory');
    await failedOnly('outputs/fault-timeout/');
    const record = await billedOnce('fault-timeout');
    // the killed attempt never reported (no `ms`): billed at its configured 2 s timeout
    const attempts = await wf.ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :a)',
        ExpressionAttributeValues: { ':p': 'EXEC#fault-timeout', ':a': 'ATTEMPT#' },
        ConsistentRead: true,
      }),
    );
    const chunkAttempts = (attempts.Items ?? []).filter((i) => i.fn === 'deconvolveChunk');
    const open = chunkAttempts.filter((i) => typeof i.ms !== 'number');
    expect(open).toHaveLength(1);
    expect(open[0].provisionalMs).toBeGreaterThan(1900);
    expect(open[0].provisionalMs).toBeLessThanOrEqual(2000);
    const reported = chunkAttempts.reduce((n, i) => n + (typeof i.ms === 'number' ? i.ms : 0), 0);
    expect((record.computeMs as Record<string, number>).deconvolveChunk).toBe(
      reported + open[0].provisionalMs,
    );
  });

  it('a crash between the usage record and the monthly total, then the retry: the month counts the run once', async () => {
    // Prepare: Finalize's first monthly update fails as a transient service error would
    // (after the record was stored); Step Functions retries Finalize, which completes the month.
    let crashes = 0;
    const crash = 'crash-before-month';
    clients.dynamodb.middlewareStack.add(
      (next) => async (args) => {
        const key = (args.input as { Key?: { pk?: { S?: string } | string } }).Key?.pk;
        const pk = typeof key === 'string' ? key : key?.S;
        if (crashes === 0 && pk === 'ACCOUNT#acct-crash') {
          crashes++;
          throw Object.assign(new Error('the function died here'), { name: 'ServiceUnavailable' });
        }
        return next(args);
      },
      { step: 'initialize', name: crash },
    );
    const invocations: Invocation[] = [];
    // Act
    const outcome = await wf
      .execute(
        'fault-crash',
        { inputs: [INPUT], outputPrefix: 'outputs/fault-crash/', account: 'acct-crash' },
        {},
        { invocations },
      )
      .finally(() => clients.dynamodb.middlewareStack.remove(crash));
    // Assess
    expect(crashes).toBe(1);
    expect(outcome.status).toBe('SUCCEEDED');
    expect(invocations.filter((i) => i.function === 'finalizeJob').map((i) => i.outcome)).toEqual([
      'failed',
      'succeeded',
    ]);
    await whole('outputs/fault-crash/');
    await billedOnce('fault-crash');
  });

  it('duplicate S3 events start one run, which reads the version it was started for despite a re-upload', async () => {
    // Prepare: v1 uploaded under inbox/; its event delivered twice; v2 uploaded during the run.
    const key = 'inbox/dup/cells.isxd';
    const v1 = await syntheticCellSet({ numCells: 4, numTimes: 300, seed: 21 });
    const v2 = await syntheticCellSet({ numCells: 4, numTimes: 300, seed: 22 });
    await wf.put(key, v1);
    await wf.put('inputs/dup/reference.isxd', v1);
    const event = (versionId: string): S3Event =>
      asS3Notification(
        {
          Records: [
            {
              eventName: 'ObjectCreated:Put',
              s3: {
                bucket: { name: wf.local.bucket },
                object: { key, versionId, size: v1.byteLength, eTag: 'x' },
              },
            },
          ],
        } as unknown as S3Event,
        notificationFilters(wf.template),
      ) as S3Event;
    const first = latestVersion(key) as string;
    let reuploaded = false;
    const chunk: LambdaHandler = async (e, context) => {
      if (!reuploaded) {
        reuploaded = true;
        await wf.put(key, v2);
      }
      return wf.handlers.deconvolveChunk(e, context);
    };
    const sfn = wf.stepFunctions((name, input) =>
      wf.execute(name, input, { deconvolveChunk: chunk }),
    );
    // Act
    const a = await wf.trigger(event(first), sfn);
    const b = await wf.trigger(event(first), sfn);
    const [name] = a.started;
    const outcome = await sfn.executions.get(name)!;
    const reference = await wf.execute('dup-reference', {
      inputs: ['inputs/dup/reference.isxd'],
      outputPrefix: 'outputs/dup-reference/',
      account: 'acct-reference',
    });
    // Assess
    expect(sfn.executions.size).toBe(1);
    expect([...b.started, ...b.duplicates]).toEqual([name]);
    expect(reuploaded).toBe(true);
    expect(latestVersion(key)).not.toBe(first);
    expect(outcome.status).toBe('SUCCEEDED');
    expect(reference.status).toBe('SUCCEEDED');
    for (const out of [cellSetOutputName(0), eventSetOutputName(0)]) {
      expect(
        Buffer.from((await wf.get(`outputs/${name}/${out}`)) ?? []).equals(
          Buffer.from((await wf.get(`outputs/dup-reference/${out}`)) ?? []),
        ),
        out,
      ).toBe(true);
    }
    const manifest = await wf.getJson<{ inputs: { versionId?: string }[] }>(
      `outputs/${name}/manifest.json`,
    );
    expect(manifest?.inputs.map((i) => i.versionId)).toEqual([first]);
    await whole(`outputs/${name}/`);
    await billedOnce(name);
  });

  it('parts uploaded under inputs/ start no run, even if their event reached the trigger', async () => {
    // Prepare
    const sfn = wf.stepFunctions();
    const raw = {
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          s3: {
            bucket: { name: wf.local.bucket },
            object: { key: 'inputs/series/part1.isxd', size: 1, eTag: 'x' },
          },
        },
      ],
    } as unknown as S3Event;
    // Act
    const filtered = asS3Notification(raw, notificationFilters(wf.template));
    const handled = await wf.trigger(raw, sfn);
    // Assess
    expect(filtered).toBeNull();
    expect(handled.started).toEqual([]);
    expect(sfn.executions.size).toBe(0);
  });
});
