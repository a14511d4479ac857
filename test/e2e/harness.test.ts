/**
 * The local Step Functions/Lambda harness itself (test/helpers/sfnHarness.ts) on small
 * synthetic machines: retry schedules follow the Retry fields, throttling is retried by its
 * retrier, a handler past its function timeout is Sandbox.Timedout (not retried unless listed),
 * TimeoutSeconds gives States.Timeout, StartExecution's name/input rules, the Map Run's
 * failure threshold and ResultWriter files, and the 256 KiB payload quota.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AslMachine, CfnTemplate } from '../helpers/asl.js';
import { type LocalAws, startLocalAws } from '../helpers/localAws.js';
import { type LocalWorkflow, startWorkflow } from '../helpers/localWorkflow.js';
import {
  type ExecutionOutcome,
  type Invocation,
  type JsonValue,
  type LambdaHandler,
  localStepFunctions,
  type RetryWait,
  type RunOptions,
  runExecution,
  throttleRate,
} from '../helpers/sfnHarness.js';
import { syntheticCellSet } from './syntheticCellSet.js';

const FN = 'arn:aws:lambda:us-east-1:123456789012:function:FnworkAB12';
/** The one function: 10 s timeout. */
const TEMPLATE: CfnTemplate = {
  Resources: { FnworkAB12: { Type: 'AWS::Lambda::Function', Properties: { Timeout: 10 } } },
};

const named = (name: string, message = name) => Object.assign(new Error(message), { name });

/** A machine of one Lambda Task (lambda:invoke) with the given fields. */
function oneTask(fields: Record<string, unknown>): AslMachine {
  return {
    StartAt: 'Work',
    States: {
      Work: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: FN, 'Payload.$': '$' },
        OutputPath: '$.Payload',
        End: true,
        ...fields,
      },
    },
  };
}

async function run(
  machine: AslMachine,
  work: LambdaHandler,
  extra: Partial<RunOptions> = {},
  input: JsonValue = {},
): Promise<{ outcome: ExecutionOutcome; waits: RetryWait[]; invocations: Invocation[] }> {
  const waits: RetryWait[] = [];
  const invocations: Invocation[] = [];
  const outcome = await runExecution(machine, input, {
    executionName: 'h',
    handlers: { work },
    template: TEMPLATE,
    waits,
    invocations,
    ...extra,
  });
  return { outcome, waits, invocations };
}

/** A handler failing with `error` for its first `n` calls, then returning {ok: calls}. */
function failing(n: number, error: string): LambdaHandler & { calls: number } {
  const h = (async () => {
    h.calls++;
    if (h.calls <= n) throw named(error);
    return { ok: h.calls };
  }) as unknown as LambdaHandler & { calls: number };
  h.calls = 0;
  return h;
}

describe('retries', () => {
  it('wait IntervalSeconds × BackoffRate^n capped at MaxDelaySeconds, each a new invocation', async () => {
    // Prepare
    const h = failing(3, 'Transient');
    const machine = oneTask({
      Retry: [
        {
          ErrorEquals: ['Transient'],
          IntervalSeconds: 2,
          BackoffRate: 2,
          MaxAttempts: 4,
          MaxDelaySeconds: 5,
        },
      ],
    });
    // Act
    const { outcome, waits, invocations } = await run(machine, h);
    // Assess
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { ok: 4 } });
    expect(waits.map((w) => [w.attempt, w.error, w.seconds])).toEqual([
      [1, 'Transient', 2],
      [2, 'Transient', 4],
      [3, 'Transient', 5],
    ]);
    expect(invocations.map((i) => i.outcome)).toEqual(['failed', 'failed', 'failed', 'succeeded']);
    expect(new Set(invocations.map((i) => i.awsRequestId)).size).toBe(4);
  });

  it('give up after MaxAttempts retries, and FULL jitter draws in [0, delay]', async () => {
    // Prepare
    const h = failing(99, 'Transient');
    const machine = oneTask({
      Retry: [
        {
          ErrorEquals: ['Transient'],
          IntervalSeconds: 3,
          BackoffRate: 3,
          MaxAttempts: 2,
          JitterStrategy: 'FULL',
        },
      ],
    });
    // Act
    const { outcome, waits } = await run(machine, h, { random: () => 0.5 });
    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error?.name).toBe('Transient');
    expect(JSON.parse(outcome.error!.message)).toMatchObject({ errorType: 'Transient' });
    expect(waits.map((w) => w.seconds)).toEqual([1.5, 4.5]);
    expect(h.calls).toBe(3);
  });

  it('use only the first matching retrier, counting attempts per retrier', async () => {
    // Prepare: A is matched by the first retrier (1 attempt); States.ALL after it never applies to A
    const h = failing(99, 'A');
    const machine = oneTask({
      Retry: [
        { ErrorEquals: ['A'], IntervalSeconds: 1, MaxAttempts: 1 },
        { ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 5 },
      ],
    });
    // Act
    const { outcome, waits } = await run(machine, h);
    // Assess
    expect(outcome.error?.name).toBe('A');
    expect(waits.map((w) => [w.retrier, w.seconds])).toEqual([[0, 1]]);
    expect(h.calls).toBe(2);
  });

  it('recover a throttled function within its retrier, the handler running only once', async () => {
    // Prepare
    const h = failing(0, 'never');
    const machine = oneTask({
      Retry: [
        { ErrorEquals: ['Lambda.TooManyRequestsException'], IntervalSeconds: 1, MaxAttempts: 3 },
      ],
    });
    // Act
    const { outcome, invocations, waits } = await run(machine, h, {
      throttle: { work: (p) => p.count < 2 },
    });
    // Assess
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { ok: 1 } });
    expect(invocations.map((i) => i.outcome)).toEqual(['throttled', 'throttled', 'succeeded']);
    expect(waits.map((w) => [w.error, w.seconds])).toEqual([
      ['Lambda.TooManyRequestsException', 1],
      ['Lambda.TooManyRequestsException', 2],
    ]);
    expect(h.calls).toBe(1);
  });
});

describe('throttling at a rate', () => {
  it('is reproducible from its seed and throttles about that share of invocations', () => {
    // Prepare
    const probe = { state: 's', function: 'f', attempt: 0, count: 0 };
    const draw = (seed: number) => {
      const t = throttleRate(0.3, seed);
      return Array.from({ length: 1000 }, () => t(probe));
    };
    // Act
    const a = draw(7);
    const b = draw(7);
    const c = draw(8);
    // Assess
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const share = a.filter(Boolean).length / a.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
  });
});

describe('timeouts', () => {
  it('end a handler past its function Timeout with Sandbox.Timedout, not retried unless listed', async () => {
    // Prepare: 10 s timeout at 1/500 → 20 ms; the handler needs 150 ms and is left running
    let remainingAtStart = 0;
    let finished = false;
    const slow: LambdaHandler = async (_e, context: Context) => {
      remainingAtStart = context.getRemainingTimeInMillis();
      await new Promise((r) => setTimeout(r, 150));
      finished = true;
      return { done: true };
    };
    const machine = oneTask({
      Retry: [{ ErrorEquals: ['Lambda.TooManyRequestsException'], MaxAttempts: 6 }],
    });
    // Act
    const { outcome, invocations, waits } = await run(machine, slow, { deadlineScale: 1 / 500 });
    const finishedWhenFailed = finished;
    await new Promise((r) => setTimeout(r, 250));
    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error?.name).toBe('Sandbox.Timedout');
    expect(JSON.parse(outcome.error!.message).errorMessage).toMatch(
      /Task timed out after 10\.00 seconds$/,
    );
    expect(invocations.map((i) => i.outcome)).toEqual(['timedout']);
    expect(waits).toEqual([]);
    expect(remainingAtStart).toBeGreaterThan(5000);
    expect(remainingAtStart).toBeLessThanOrEqual(10_000);
    expect(finishedWhenFailed).toBe(false);
    expect(finished).toBe(true);
  });

  it('fail a Task past TimeoutSeconds with States.Timeout, which States.TaskFailed does not retry', async () => {
    // Prepare: TimeoutSeconds 2 (4 ms at 1/500) before the 10 s function timeout
    const slow: LambdaHandler = async () => {
      await new Promise((r) => setTimeout(r, 100));
      return {};
    };
    const machine = oneTask({
      TimeoutSeconds: 2,
      Retry: [{ ErrorEquals: ['States.TaskFailed'], MaxAttempts: 3 }],
    });
    // Act
    const { outcome, invocations } = await run(machine, slow, { deadlineScale: 1 / 500 });
    // Assess
    expect(outcome.error?.name).toBe('States.Timeout');
    expect(invocations).toHaveLength(1);
  });
});

describe('StartExecution with a name already used', () => {
  it('returns the same execution while it is open with the same input, else ExecutionAlreadyExists', async () => {
    // Prepare
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let runs = 0;
    const sfn = localStepFunctions(async (name) => {
      runs++;
      await gate;
      return { name, status: 'SUCCEEDED', output: null };
    });
    const start = (input: string) =>
      sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn', name: 'x', input }));
    // Act
    const first = await start('{"a":1}');
    const same = await start('{"a":1}');
    const different = start('{"a":2}');
    await expect(different).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    release();
    await sfn.executions.get('x');
    await new Promise((r) => setImmediate(r));
    const closed = start('{"a":1}');
    // Assess
    expect(same.executionArn).toBe(first.executionArn);
    await expect(closed).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    expect(runs).toBe(1);
  });
});

describe('payload quota', () => {
  it('fails the execution with States.DataLimitExceeded, which Catch States.ALL does not catch', async () => {
    // Prepare
    const big: LambdaHandler = async () => ({ blob: 'x'.repeat(300 * 1024) });
    const machine = oneTask({
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
      Next: 'Done',
    });
    delete machine.States.Work.End;
    machine.States.Caught = { Type: 'Succeed' };
    machine.States.Done = { Type: 'Succeed' };
    // Act
    const { outcome } = await run(machine, big);
    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error?.name).toBe('States.DataLimitExceeded');
  });

  it('checks state outputs too: two 150 KiB results merged by ResultPath stop the run', async () => {
    // Prepare
    const h = (async () => 'y'.repeat(150 * 1024)) as LambdaHandler;
    const task = (next: string | null, resultPath: string) => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: FN, Payload: {} },
      ResultSelector: { 'v.$': '$.Payload' },
      ResultPath: resultPath,
      ...(next ? { Next: next } : { End: true }),
    });
    const machine: AslMachine = {
      StartAt: 'A',
      States: { A: task('B', '$.a'), B: task('C', '$.b'), C: task(null, '$.c') },
    };
    const calls: Invocation[] = [];
    // Act
    const { outcome } = await run(machine, h, { invocations: calls });
    // Assess: B's output (input + a + b) is over 256 KiB, so C never runs
    expect(outcome.error?.name).toBe('States.DataLimitExceeded');
    expect(calls.map((i) => i.state)).toEqual(['A', 'B']);
  });
});

describe('a Distributed Map Run', () => {
  let local: LocalAws;
  const s3 = () => new S3Client({});
  const getJson = async <T>(key: string): Promise<T> => {
    const out = await s3().send(new GetObjectCommand({ Bucket: local.bucket, Key: key }));
    return JSON.parse(await out.Body!.transformToString()) as T;
  };

  beforeAll(async () => {
    local = await startLocalAws('harness');
    await s3().send(
      new PutObjectCommand({
        Bucket: local.bucket,
        Key: 'items.json',
        Body: JSON.stringify([0, 1, 2, 3, 4]),
      }),
    );
  });
  afterAll(async () => {
    await local?.close();
  });

  const mapMachine = (fields: Record<string, unknown>): AslMachine => ({
    StartAt: 'Map',
    States: {
      Map: {
        Type: 'Map',
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { 'Bucket.$': '$.bucket', Key: 'items.json' },
        },
        ItemSelector: { 'value.$': '$$.Map.Item.Value' },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED' },
          StartAt: 'Item',
          States: {
            Item: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke',
              Parameters: { FunctionName: FN, 'Payload.$': '$' },
              OutputPath: '$.Payload',
              End: true,
            },
          },
        },
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { 'Bucket.$': '$.bucket', Prefix: 'results' },
        },
        End: true,
        ...fields,
      },
    },
  });

  it('stops starting items once the tolerated failures are exceeded and writes AWS result files', async () => {
    // Prepare: items 1 and 2 fail; 1 failure tolerated; one item at a time
    const seen: number[] = [];
    const item: LambdaHandler = async (event) => {
      const { value } = event as { value: number };
      seen.push(value);
      if (value === 1 || value === 2) throw named('ItemFailed', `item ${value} failed`);
      return { doubled: value * 2 };
    };
    const mapRuns: NonNullable<RunOptions['mapRuns']> = [];
    // Act
    const { outcome } = await run(
      mapMachine({ MaxConcurrency: 1, ToleratedFailureCount: 1 }),
      item,
      { mapRuns },
      { bucket: local.bucket },
    );
    const manifest = await getJson<{
      DestinationBucket: string;
      MapRunArn: string;
      ResultFiles: Record<'FAILED' | 'PENDING' | 'SUCCEEDED', { Key: string; Size: number }[]>;
    }>(mapRuns[0].manifestKey!);
    const files = Object.fromEntries(
      await Promise.all(
        (['SUCCEEDED', 'FAILED', 'PENDING'] as const).map(async (s) => [
          s,
          await getJson<Record<string, unknown>[]>(manifest.ResultFiles[s][0].Key),
        ]),
      ),
    ) as Record<string, Record<string, unknown>[]>;
    // Assess
    expect(outcome.error?.name).toBe('States.ExceedToleratedFailureThreshold');
    expect(seen).toEqual([0, 1, 2]);
    expect(manifest.DestinationBucket).toBe(local.bucket);
    expect(manifest.MapRunArn).toMatch(/^arn:aws:states:us-east-1:123456789012:mapRun:/);
    expect(mapRuns[0].manifestKey).toMatch(/^results\/[0-9a-f-]{36}\/manifest\.json$/);
    for (const s of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
      const [f] = manifest.ResultFiles[s];
      expect(f.Key).toBe(mapRuns[0].manifestKey!.replace('manifest.json', `${s}_0.json`));
      expect(f.Size).toBe(Buffer.byteLength(JSON.stringify(files[s])));
    }
    expect(files.SUCCEEDED).toEqual([
      expect.objectContaining({
        Status: 'SUCCEEDED',
        Input: '{"value":0}',
        Output: '{"doubled":0}',
        ExecutionArn: expect.stringMatching(/^arn:aws:states:.*:execution:/),
        StartDate: expect.any(String),
        StopDate: expect.any(String),
      }),
    ]);
    expect(files.FAILED.map((e) => [e.Status, e.Input, e.Error])).toEqual([
      ['FAILED', '{"value":1}', 'ItemFailed'],
      ['FAILED', '{"value":2}', 'ItemFailed'],
    ]);
    expect(JSON.parse(String(files.FAILED[0].Cause))).toMatchObject({
      errorMessage: 'item 1 failed',
    });
    expect(files.PENDING.map((e) => [e.Status, e.Input])).toEqual([
      ['PENDING', '{"value":3}'],
      ['PENDING', '{"value":4}'],
    ]);
  });

  it('tolerates failures up to ToleratedFailurePercentage and returns the MapRunArn', async () => {
    // Prepare: 2 of 5 items fail = 40 %, tolerated at 40 %
    const item: LambdaHandler = async (event) => {
      const { value } = event as { value: number };
      if (value % 2 === 1) throw named('ItemFailed');
      return value;
    };
    // Act
    const { outcome } = await run(
      mapMachine({ ToleratedFailurePercentage: 40 }),
      item,
      {},
      { bucket: local.bucket },
    );
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.output).toMatchObject({
      MapRunArn: expect.stringMatching(/:mapRun:/),
      ResultWriterDetails: { Bucket: local.bucket, Key: expect.stringMatching(/manifest\.json$/) },
    });
  });
});

describe('the synthesized machine under injected faults', () => {
  let wf: LocalWorkflow;
  const INPUT = 'inputs/faults/cells.isxd';

  beforeAll(async () => {
    wf = await startWorkflow();
    await wf.put(INPUT, await syntheticCellSet({ numCells: 12, numTimes: 200, seed: 11 }));
    process.env.CHUNK_MAX_CELLS = '2';
  });
  afterAll(async () => {
    delete process.env.CHUNK_MAX_CELLS;
    expect(wf.denials).toEqual([]);
    await wf?.close();
  });

  it('succeeds with 30 % of chunk invocations throttled, waiting as its retrier says', async () => {
    // Prepare
    const waits: RetryWait[] = [];
    const invocations: Invocation[] = [];
    const retrier = (
      wf.machine.States['Deconvolve chunks'].ItemProcessor!.States['Deconvolve chunk'].Retry as {
        ErrorEquals: string[];
      }[]
    ).find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'));
    // Act
    const outcome = await wf.execute(
      'faults-throttle',
      { inputs: [INPUT], outputPrefix: 'outputs/faults-throttle/' },
      {},
      { throttle: { deconvolveChunk: throttleRate(0.3, 42) }, waits, invocations, random: () => 1 },
    );
    const chunk = invocations.filter((i) => i.function === 'deconvolveChunk');
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(retrier).toBeDefined();
    expect(chunk.filter((i) => i.outcome === 'succeeded')).toHaveLength(6);
    expect(chunk.filter((i) => i.outcome === 'throttled').length).toBeGreaterThan(0);
    const r = retrier as {
      IntervalSeconds?: number;
      BackoffRate?: number;
      MaxDelaySeconds?: number;
    };
    for (const w of waits.filter((x) => x.state === 'Deconvolve chunk')) {
      const full = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** (w.attempt - 1);
      expect(w.seconds).toBe(Math.min(full, r.MaxDelaySeconds ?? full));
    }
    expect(await wf.list('outputs/faults-throttle/')).toContain('manifest.json');
  });

  it('fails a chunk past its timeout with Sandbox.Timedout after one attempt, publishing nothing', async () => {
    // Prepare: chunk 0 of the file overruns the (shortened) 1 s function timeout
    const invocations: Invocation[] = [];
    const real = wf.handlers.deconvolveChunk;
    const overrun: LambdaHandler = async (event, context) => {
      const { item } = event as unknown as { item: { chunk: number } };
      if (item.chunk === 0) await new Promise((r) => setTimeout(r, 1500));
      return real(event, context);
    };
    // Act
    const outcome = await wf.execute(
      'faults-timeout',
      { inputs: [INPUT], outputPrefix: 'outputs/faults-timeout/' },
      { deconvolveChunk: overrun },
      { functionTimeouts: { deconvolveChunk: 1 }, invocations },
    );
    const report = await wf.getJson<Record<string, unknown>>('outputs/faults-timeout/failure.json');
    // Assess
    expect(outcome.status).toBe('FAILED');
    const timedOut = invocations.filter((i) => i.outcome === 'timedout');
    expect(timedOut.map((i) => [i.function, i.error])).toEqual([
      ['deconvolveChunk', 'Sandbox.Timedout'],
    ]);
    expect(
      invocations.filter(
        (i) => i.function === 'deconvolveChunk' && i.attempt > 0 && i.outcome !== 'throttled',
      ),
    ).toEqual([]);
    expect(report).toMatchObject({ status: 'FAILED' });
    expect(await wf.list('outputs/faults-timeout/')).toEqual(['failure.json', 'usage.json']);
  });
});
