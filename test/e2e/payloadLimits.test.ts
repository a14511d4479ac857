/**
 * Plan-level check of the 256 KiB Step Functions payload limit: whatever the job size, each
 * state's input/output holds keys and counts only (the plan and the Map items live in S3).
 * (Every e2e run is also checked state by state: the harness fails an execution with
 * States.DataLimitExceeded on any state input/output or task payload/result over the limit.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type PlanState, planState } from '../../functions/planJob.js';
import { memorySource } from '../../lib/bytes.js';
import { parseJobOptions, parseToolParams } from '../../lib/job/params.js';
import { CHUNK_LIMITS, type JobPlan, planJob } from '../../lib/job/plan.js';
import type { JobRecord } from '../../lib/job/stages.js';
import { PAYLOAD_LIMIT_BYTES } from '../helpers/sfnHarness.js';
import { syntheticCellSet } from './syntheticCellSet.js';

const LIMIT = PAYLOAD_LIMIT_BYTES;
/** Step Functions truncates an error's Cause to 32 768 characters. */
const MAX_CAUSE = 'x'.repeat(32_768);

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

const execution = {
  executionName: `${'n'.repeat(63)}-0123456789abcdef`,
  executionId: `arn:aws:states:us-east-1:123456789012:execution:CaimanSpikes:${'n'.repeat(63)}-0123456789abcdef`,
};

/** The payloads of one execution of `plan`, as the state machine builds them. */
function payloads(input: Record<string, unknown>, plan: JobPlan) {
  const bucket = 'caimanspikes-bucketsdata941f65f0-0123456789ab';
  const stored: JobRecord = {
    version: 1,
    run: {
      runId: execution.executionName,
      executionId: execution.executionId,
      account: 'a'.repeat(128),
    },
    location: `s3://${bucket}/${String(input.outputPrefix)}`,
    plan,
    inputs: plan.files.map((f) => ({
      name: f.input,
      size: 1,
      version: '"0123456789abcdef0123456789abcdef"',
    })),
  };
  const state: PlanState = planState(execution, bucket, String(input.outputPrefix), stored);
  const error = { Error: 'IsxdFormatError', Cause: MAX_CAUSE };
  const itemPayload = (item: unknown) => ({
    executionName: state.executionName,
    executionId: state.executionId,
    bucket: state.bucket,
    item,
  });
  return {
    executionInput: bytes(input),
    planTaskInput: bytes({ ...execution, input }),
    stateAfterPlan: bytes(state),
    largestMapItem: Math.max(
      ...plan.items.map((i) => bytes(itemPayload(i))),
      bytes(itemPayload({ file: plan.files.length - 1 })),
    ),
    caughtAfterPlan: bytes({ ...input, error }),
    caughtLater: bytes({ ...state, error }),
    recordFailureInput: bytes({ ...execution, input, error }),
    planJson: bytes(stored),
  };
}

describe('state payloads stay within 256 KiB', () => {
  let series: JobPlan;
  let large: JobPlan;
  let seriesInput: Record<string, unknown>;
  let largeInput: Record<string, unknown>;

  beforeAll(async () => {
    const keys = Array.from(
      { length: 1000 },
      (_, i) => `inputs/long-series-name/session-${String(i).padStart(4, '0')}.isxd`,
    );
    const sources = await Promise.all(
      keys.map(async (key, i) =>
        memorySource(
          key,
          await syntheticCellSet({
            numCells: 1,
            numTimes: 10,
            width: 1,
            height: 1,
            seed: i,
            startSeconds: 10 * i,
          }),
        ),
      ),
    );
    seriesInput = {
      inputs: keys,
      params: { p: '2', noise_range: '0.25,0.5' },
      outputPrefix: 'outputs/long-series-name/',
    };
    const limits = CHUNK_LIMITS.lambda;
    series = await planJob(
      sources,
      parseToolParams(seriesInput.params as Record<string, unknown>),
      parseJobOptions({}),
      limits,
    );
    const big = await syntheticCellSet({
      numCells: 20_000,
      numTimes: 10,
      width: 1,
      height: 1,
      seed: 1,
    });
    largeInput = { inputs: ['inputs/big/cells.isxd'], outputPrefix: 'outputs/big/' };
    large = await planJob(
      [memorySource('inputs/big/cells.isxd', big)],
      parseToolParams({}),
      parseJobOptions({}),
      limits,
    );
  });

  it('for a series of 1 000 files', () => {
    // Act
    const p = payloads(seriesInput, series);
    // Assess
    expect(series.files).toHaveLength(1000);
    expect(series.items).toHaveLength(1000);
    for (const [name, size] of Object.entries(p)) {
      if (name !== 'planJson') expect(size, name).toBeLessThan(LIMIT);
    }
    expect(p.stateAfterPlan).toBeLessThan(1024);
    expect(p.largestMapItem).toBeLessThan(1024);
  });

  it('for a cell set of 20 000 cells, cut into chunks of at most 2 000 cells', () => {
    // Act
    const p = payloads(largeInput, large);
    // Assess
    expect(large.files[0].numCells).toBe(20_000);
    expect(large.items).toHaveLength(10);
    expect(
      large.items.every((i) => i.cellEnd - i.cellStart <= CHUNK_LIMITS.lambda.maxCellsPerChunk),
    ).toBe(true);
    for (const [name, size] of Object.entries(p)) {
      if (name !== 'planJson') expect(size, name).toBeLessThan(LIMIT);
    }
    // the plan itself (names, statuses of every cell) would not fit: it stays in S3
    expect(p.planJson).toBeGreaterThan(LIMIT);
    expect(p.stateAfterPlan).toBeLessThan(1024);
  });
});
