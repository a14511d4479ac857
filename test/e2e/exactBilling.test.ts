/**
 * Exact billing end to end: Finalize dies right after it stored the usage record (before the
 * monthly total); Record failure, which finds the run committed, completes the month: the
 * execution succeeds and the month counts it exactly once.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalWorkflow, startWorkflow, TABLE } from '../helpers/localWorkflow.js';
import type { LambdaHandler } from '../helpers/sfnHarness.js';
import { syntheticCellSet } from './syntheticCellSet.js';

let wf: LocalWorkflow;
let clients: typeof import('../../functions/shared/clients.js');

beforeAll(async () => {
  wf = await startWorkflow();
  clients = await import('../../functions/shared/clients.js');
  await wf.put(
    'inputs/billed.isxd',
    await syntheticCellSet({ numCells: 4, numTimes: 300, seed: 3 }),
  );
}, 120_000);

afterAll(async () => {
  await wf?.close();
});

describe('exact billing', () => {
  it('adds the month once when Finalize dies between the record and the monthly total', async () => {
    // Prepare: Finalize's first usage-record put succeeds, then the invocation "times out"
    let crashed = false;
    const name = 'crash-after-record';
    const finalize: LambdaHandler = async (event, context) => {
      clients.dynamodb.middlewareStack.add(
        (next) => async (args) => {
          const result = await next(args);
          const item = (args.input as { Item?: { sk?: unknown } }).Item;
          const sk = item?.sk as { S?: string } | string | undefined;
          if (!crashed && (sk === 'USAGE' || (typeof sk === 'object' && sk?.S === 'USAGE'))) {
            crashed = true;
            throw Object.assign(new Error('Task timed out'), { name: 'Sandbox.Timedout' });
          }
          return result;
        },
        { step: 'build', name },
      );
      try {
        return await wf.handlers.finalizeJob(event, context);
      } finally {
        clients.dynamodb.middlewareStack.remove(name);
      }
    };
    // Act
    const outcome = await wf.execute(
      'billed-1',
      { inputs: ['inputs/billed.isxd'], outputPrefix: 'outputs/billed/', account: 'lab-billed' },
      { finalizeJob: finalize },
    );
    // Assess
    expect(crashed).toBe(true);
    expect(outcome.status).toBe('SUCCEEDED');
    const record = await wf.ddb.send(
      new GetCommand({ TableName: TABLE, Key: { pk: 'EXEC#billed-1', sk: 'USAGE' } }),
    );
    expect(record.Item).toMatchObject({ status: 'SUCCEEDED', monthlyApplied: true, cells: 4 });
    const { monthTotals } = await import('../../functions/shared/usage.js');
    const month = await monthTotals('lab-billed', String(record.Item?.month));
    expect(month).toMatchObject({
      executions: 1,
      succeeded: 1,
      cells: 4,
      files: 1,
      credits: record.Item?.credits,
      computeMs: record.Item?.totalComputeMs,
    });
    expect(await wf.list('outputs/billed/')).toContain('manifest.json');
  });
});
