/**
 * Runs the synthesized state machine locally with aws-local-stepfunctions, as AWS would run it:
 * each Lambda Task is bound to the real middy handler in this process and each DISTRIBUTED Map
 * is replaced by a Task of the same name whose local override emulates the Map Run. What the
 * harness makes faithful (each rule cites its AWS page at the code):
 * - Retry: the real Retry fields (IntervalSeconds, BackoffRate, MaxAttempts, MaxDelaySeconds,
 *   JitterStrategy FULL) with the real matching rules, waits scaled by `timeScale` and recorded;
 * - Lambda timeouts: the handler's context counts down from the function's configured Timeout
 *   and an invocation past it fails with Sandbox.Timedout (the handler is left running, as a
 *   frozen Lambda sandbox would be); TimeoutSeconds per attempt → States.Timeout;
 * - throttling injected per function → Lambda.TooManyRequestsException, handler never run;
 * - Map: MaxConcurrency (capped for the 2-core machine), ToleratedFailurePercentage/Count with
 *   no new item started once exceeded, ResultWriter's manifest.json and SUCCEEDED/FAILED/PENDING
 *   files in AWS's format;
 * - 256 KiB on every state input/output and Task payload/result → States.DataLimitExceeded;
 * - each invocation gets a fresh awsRequestId (a retry is a new invocation) and runs inside the
 *   IAM scope of its function (test/helpers/iamSimulation.ts).
 * Also: the S3-notification → trigger path, with a local StartExecution that follows AWS's
 * name/input idempotency rules.
 */
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context, S3Event } from 'aws-lambda';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import {
  ACCOUNT,
  type AslMachine,
  type AslState,
  type CfnTemplate,
  lambdaTasks,
  REGION,
} from './asl.js';
import { asFunction } from './iamSimulation.js';

/** An execution's event log entry (the library does not export the type). */
type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
type LocalHandler = (input: JsonValue) => Promise<JsonValue>;
/** A Lambda handler as middy exports it. */
type LambdaHandler = (event: never, context: Context) => Promise<unknown>;

/** Outcome of one local execution. */
interface ExecutionOutcome {
  name: string;
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error?: { name: string; message: string };
}

/** One wait before a retry (seconds as Step Functions would wait them, before scaling). */
interface RetryWait {
  state: string;
  /** The retry this wait precedes: 1 for the first retry of the state's retrier. */
  attempt: number;
  retrier: number;
  error: string;
  seconds: number;
}

/** One Lambda invocation (or throttled attempt). */
interface Invocation {
  state: string;
  function: string;
  awsRequestId: string;
  /** 0 for the first attempt of the Task, then 1, 2… across its retries. */
  attempt: number;
  outcome: 'succeeded' | 'failed' | 'throttled' | 'timedout';
  error?: string;
}

/** What a throttle predicate sees. */
interface ThrottleProbe {
  state: string;
  function: string;
  attempt: number;
  /** Invocations of this function so far in this execution (0 for the first). */
  count: number;
}

/** Step Functions' payload quota: 256 KiB of UTF-8 JSON per state input/output and task payload. */
const PAYLOAD_LIMIT_BYTES = 256 * 1024;
/** Local cap on concurrently running Map items (the machine has 2 cores). */
const DEFAULT_MAP_CONCURRENCY_CAP = 2;
/** Default scale of Retry waits: 1 s of Step Functions time is 1 ms here. */
const DEFAULT_TIME_SCALE = 1 / 1000;
/** The library's own Task timer, made inert: timeouts are applied per attempt by the override. */
const LIBRARY_TASK_TIMEOUT_SECONDS = 2_000_000;
/**
 * Function timeout when no template is given (seconds): Lambda's maximum. A template's function
 * without Timeout gets Lambda's default, 3 s.
 */
const NO_TEMPLATE_TIMEOUT = 900;
const LAMBDA_DEFAULT_TIMEOUT = 3;

interface RunOptions {
  executionName: string;
  handlers: Record<string, LambdaHandler>;
  /** The synthesized template: function timeouts (AWS::Lambda::Function Timeout). */
  template?: CfnTemplate;
  /** Scale of Retry waits (default 1/1000). */
  timeScale?: number;
  /**
   * Scale of the Lambda Timeout and the Task TimeoutSeconds (default 1: real seconds, which real
   * handlers on test data never reach). getRemainingTimeInMillis reports unscaled milliseconds.
   */
  deadlineScale?: number;
  /** Per handler name: a function Timeout (seconds) in place of the template's. */
  functionTimeouts?: Partial<Record<string, number>>;
  /** Cap on concurrently running Map items, applied under the Map's MaxConcurrency (default 2). */
  mapConcurrency?: number;
  /** Per handler name: whether an invocation is throttled. */
  throttle?: Partial<Record<string, (probe: ThrottleProbe) => boolean>>;
  /** Random numbers in [0, 1) for FULL jitter (default Math.random). */
  random?: () => number;
  /** Every Lambda task's payload, in the order invoked (to check what travels in the state). */
  payloads?: { state: string; payload: unknown }[];
  /** Every wait before a retry, in order. */
  waits?: RetryWait[];
  /** Every Lambda invocation, in order. */
  invocations?: Invocation[];
  /** Map Runs: state name → ResultWriter manifest key (when written). */
  mapRuns?: { state: string; manifestKey: string | null; failed: boolean }[];
}

/** An error as a Task surfaces it (name = Step Functions' Error, message = its Cause). */
function taskError(name: string, cause: string): Error {
  const e = new Error(cause);
  e.name = name;
  return e;
}

/**
 * States.DataLimitExceeded is terminal: States.ALL neither retries nor catches it.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 * https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (256 KiB)
 */
function dataLimitError(where: string, bytes: number): Error {
  const e = taskError(
    'States.DataLimitExceeded',
    `The state/task '${where}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} > ${PAYLOAD_LIMIT_BYTES}).`,
  );
  Object.assign(e, { isRetryable: false, isCatchable: false });
  return e;
}

function checkSize(where: string, value: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
  if (bytes > PAYLOAD_LIMIT_BYTES) throw dataLimitError(where, bytes);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

function lambdaContext(name: string, timeoutMs: number, deadline: number, scale: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () =>
      Math.max(0, Math.min(timeoutMs, Math.round((deadline - Date.now()) / scale))),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A context for calling a handler directly in a test (15 minutes, fresh request id). */
function fakeContext(name: string): Context {
  return lambdaContext(name, 900_000, Date.now() + 900_000, 1);
}

/** Reads `$.a.b` from the input or `$$.a.b` from the context (the paths the definition uses). */
function readPath(path: string, input: JsonValue, context: JsonValue): JsonValue {
  const [root, rest] = path.startsWith('$$') ? [context, path.slice(2)] : [input, path.slice(1)];
  let v: JsonValue = root;
  for (const part of rest.split('.').filter(Boolean)) {
    v = (v as Record<string, JsonValue> | null)?.[part] ?? null;
  }
  return v;
}

/** Applies a Parameters/ItemSelector template (keys ending in `.$` are paths). */
function applyTemplate(
  template: Record<string, unknown>,
  input: JsonValue,
  context: JsonValue,
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(template)) {
    if (k.endsWith('.$')) out[k.slice(0, -2)] = readPath(String(v), input, context);
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      out[k] = applyTemplate(v as Record<string, unknown>, input, context);
    } else out[k] = v as JsonValue;
  }
  return out;
}

/** Binds a logical id to its handler by prefix (`PipelineplanJob0B9560C7` → `planJob`). */
function handlerFor(
  functionId: string,
  handlers: Record<string, LambdaHandler>,
): [string, LambdaHandler] {
  const entry = Object.entries(handlers).find(([name]) => functionId.includes(name));
  if (!entry) throw new TypeError(`no local handler for function ${functionId}`);
  return entry;
}

/** A Retry field of a Task. */
interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxAttempts?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

/**
 * The retrier that applies to an error: the first whose ErrorEquals names it, or States.ALL,
 * or States.TaskFailed (any Task error but States.Timeout); States.ALL matches neither
 * States.DataLimitExceeded nor States.Runtime.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 */
function matchingRetrier(retriers: Retrier[], error: string): number {
  const terminal = error === 'States.DataLimitExceeded' || error === 'States.Runtime';
  if (terminal) return -1;
  return retriers.findIndex((r) =>
    r.ErrorEquals.some(
      (e) =>
        e === error ||
        e === 'States.ALL' ||
        (e === 'States.TaskFailed' && error !== 'States.Timeout'),
    ),
  );
}

/**
 * The wait before retry number `retries + 1` of a retrier: IntervalSeconds (default 1) ×
 * BackoffRate (default 2) ^ retries, capped at MaxDelaySeconds, and with JitterStrategy FULL a
 * random duration in [0, that]. MaxAttempts defaults to 3; 0 never retries.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 */
function retryDelaySeconds(r: Retrier, retries: number, random: () => number): number {
  const base = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** retries;
  const capped = r.MaxDelaySeconds !== undefined ? Math.min(base, r.MaxDelaySeconds) : base;
  return r.JitterStrategy === 'FULL' ? random() * capped : capped;
}

/** Watches an execution's events and records the first state input/output over the quota. */
async function watchPayloads(
  events: AsyncGenerator<EventLog>,
  onExceeded: (error: Error) => void,
): Promise<void> {
  for await (const e of events) {
    if (e.type !== 'StateEntered' && e.type !== 'StateExited') continue;
    const value = e.type === 'StateEntered' ? e.state.input : e.state.output;
    try {
      checkSize(e.state.name, value);
    } catch (error) {
      onExceeded(error as Error);
    }
  }
}

/**
 * Runs one execution of the machine to completion.
 * @param machine - the definition from {@link stateMachineDefinition}
 * @param input - the execution input
 */
async function runExecution(
  machine: AslMachine,
  input: JsonValue,
  options: RunOptions,
): Promise<ExecutionOutcome> {
  const s3 = new S3Client({});
  const functionIds = lambdaTasks(machine);
  const overrides: Record<string, LocalHandler> = {};
  const timeScale = options.timeScale ?? DEFAULT_TIME_SCALE;
  const deadlineScale = options.deadlineScale ?? 1;
  const random = options.random ?? Math.random;
  const invocationCounts = new Map<string, number>();
  /** The first payload over the quota in any state of this execution (terminal). */
  let limitError: Error | null = null;
  const aborts: (() => void)[] = [];
  const exceeded = (error: Error) => {
    if (limitError) return;
    limitError = error;
    for (const abort of aborts) abort();
  };
  const executionId = `arn:aws:states:${REGION}:${ACCOUNT}:execution:CaimanSpikes:${options.executionName}`;
  const context = {
    Execution: {
      Id: executionId,
      Name: options.executionName,
      Input: input,
      StartTime: new Date().toISOString(),
    },
  } as const;
  checkSize('execution input', input);

  const functionTimeoutSeconds = (functionId: string): number => {
    if (!options.template) return NO_TEMPLATE_TIMEOUT;
    const t = options.template.Resources[functionId]?.Properties.Timeout;
    return typeof t === 'number' ? t : LAMBDA_DEFAULT_TIMEOUT;
  };

  /**
   * One Lambda invocation as Step Functions' lambda:invoke sees it. A throttled invocation
   * never runs (Lambda.TooManyRequestsException); a handler error surfaces as its errorType
   * with the JSON error payload as Cause; past the function timeout Lambda reports
   * Sandbox.Timedout and the handler is left running.
   * https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
   * https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
   * https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
   */
  const invoke = async (
    state: string,
    functionId: string,
    fnName: string,
    handler: LambdaHandler,
    payload: JsonValue,
    attempt: number,
    timeoutSeconds: number | undefined,
  ): Promise<JsonValue> => {
    // let the payload watcher see the state's input before anything runs
    await new Promise((r) => setImmediate(r));
    if (limitError) throw limitError;
    checkSize(state, payload);
    options.payloads?.push({ state, payload });
    const count = invocationCounts.get(fnName) ?? 0;
    invocationCounts.set(fnName, count + 1);
    const record: Invocation = {
      state,
      function: fnName,
      awsRequestId: '',
      attempt,
      outcome: 'succeeded',
    };
    options.invocations?.push(record);
    if (options.throttle?.[fnName]?.({ state, function: fnName, attempt, count })) {
      record.outcome = 'throttled';
      record.error = 'Lambda.TooManyRequestsException';
      throw taskError(
        'Lambda.TooManyRequestsException',
        'Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException)',
      );
    }
    const lambdaTimeout = options.functionTimeouts?.[fnName] ?? functionTimeoutSeconds(functionId);
    const deadline = Date.now() + lambdaTimeout * 1000 * deadlineScale;
    const ctx = lambdaContext(fnName, lambdaTimeout * 1000, deadline, deadlineScale);
    record.awsRequestId = ctx.awsRequestId;
    const timers: NodeJS.Timeout[] = [];
    const timeout = (ms: number, error: () => Error) =>
      new Promise<never>((_, reject) => {
        timers.push(setTimeout(() => reject(error()), Math.max(0, ms)));
      });
    const running = asFunction(functionId, () => handler(payload as never, ctx));
    running.catch(() => undefined); // a handler left running may fail later, unobserved
    const races: Promise<unknown>[] = [
      running,
      timeout(deadline - Date.now(), () =>
        taskError(
          'Sandbox.Timedout',
          JSON.stringify({
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${ctx.awsRequestId} Error: Task timed out after ${lambdaTimeout.toFixed(2)} seconds`,
          }),
        ),
      ),
    ];
    if (timeoutSeconds !== undefined) {
      races.push(
        timeout(timeoutSeconds * 1000 * deadlineScale, () =>
          taskError('States.Timeout', 'Task timed out'),
        ),
      );
    }
    try {
      const result = (await Promise.race(races)) as JsonValue;
      checkSize(state, result);
      return result;
    } catch (error) {
      const e = error as Error;
      if (e.name === 'Sandbox.Timedout' || e.name === 'States.Timeout') {
        record.outcome = 'timedout';
        record.error = e.name;
        throw e;
      }
      if (e.name === 'States.DataLimitExceeded') throw e;
      record.outcome = 'failed';
      record.error = e.name;
      throw taskError(
        e.name,
        JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }),
      );
    } finally {
      for (const t of timers) clearTimeout(t);
    }
  };

  /** A Task's attempts under its Retry field (the library sees no Retry). */
  const withRetry =
    (state: string, retriers: Retrier[], attemptOnce: (attempt: number) => Promise<JsonValue>) =>
    async (): Promise<JsonValue> => {
      const retries = retriers.map(() => 0);
      for (let attempt = 0; ; attempt++) {
        try {
          return await attemptOnce(attempt);
        } catch (error) {
          const name = (error as Error).name;
          const i = matchingRetrier(retriers, name);
          const r = retriers[i];
          if (i < 0 || retries[i] >= (r.MaxAttempts ?? 3) || limitError) throw error;
          const seconds = retryDelaySeconds(r, retries[i], random);
          retries[i]++;
          options.waits?.push({ state, attempt: retries[i], retrier: i, error: name, seconds });
          await sleep(seconds * 1000 * timeScale);
        }
      }
    };

  const rewrite = (m: AslMachine): AslMachine => {
    const states: Record<string, AslState> = {};
    for (const [name, state] of Object.entries(m.States)) {
      if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
        const { ProcessorConfig: _mode, ...processor } = state.ItemProcessor;
        const child = rewrite(processor);
        overrides[name] = (i) => distributedMap(name, state, child, i);
        const {
          ItemProcessor: _p,
          ItemReader: _r,
          ItemSelector: _s,
          ResultWriter: _w,
          MaxConcurrency: _c,
          ToleratedFailurePercentage: _tp,
          ToleratedFailureCount: _tc,
          ...kept
        } = state;
        states[name] = {
          ...kept,
          Type: 'Task',
          Resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:local-distributed-map`,
          TimeoutSeconds: LIBRARY_TASK_TIMEOUT_SECONDS,
        };
        continue;
      }
      if (state.Type === 'Task') {
        const functionId = functionIds.get(name) ?? '';
        const [fnName, h] = handlerFor(functionId, options.handlers);
        const { Retry, TimeoutSeconds, ...kept } = state;
        const retriers = (Retry ?? []) as Retrier[];
        const timeoutSeconds = typeof TimeoutSeconds === 'number' ? TimeoutSeconds : undefined;
        const isInvoke = state.Resource?.endsWith(':states:::lambda:invoke');
        overrides[name] = (i) =>
          withRetry(name, retriers, async (attempt) => {
            const payload = isInvoke ? (i as { Payload: JsonValue }).Payload : i;
            const out = await invoke(name, functionId, fnName, h, payload, attempt, timeoutSeconds);
            return isInvoke ? { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: out } : out;
          })();
        states[name] = { ...kept, TimeoutSeconds: LIBRARY_TASK_TIMEOUT_SECONDS };
        continue;
      }
      states[name] = state;
    }
    return { ...m, States: states };
  };

  /** Runs a (child) machine, watching its state payloads; rejects with the library's error. */
  const runMachine = async (sm: StateMachine, machineInput: JsonValue): Promise<JsonValue> => {
    const execution = sm.run(machineInput, {
      overrides: { taskResourceLocalHandlers: overrides },
      context: context as unknown as Record<string, unknown>,
    });
    aborts.push(execution.abort);
    void watchPayloads(execution.eventLogs, exceeded);
    try {
      return await execution.result;
    } catch (error) {
      if (limitError) throw limitError;
      throw error;
    }
  };

  const distributedMap = async (
    stateName: string,
    state: AslState,
    child: AslMachine,
    stateInput: JsonValue,
  ): Promise<JsonValue> => {
    await new Promise((r) => setImmediate(r));
    if (limitError) throw limitError;
    const reader = state.ItemReader as { Parameters: Record<string, unknown> };
    const where = applyTemplate(reader.Parameters, stateInput, context as unknown as JsonValue);
    const got = await s3.send(
      new GetObjectCommand({ Bucket: String(where.Bucket), Key: String(where.Key) }),
    );
    const items = JSON.parse(await got.Body!.transformToString()) as JsonValue[];
    const selector = (state.ItemSelector ?? null) as Record<string, unknown> | null;
    const childMachine = new StateMachine(child as unknown as StateMachineDefinition, {
      validationOptions: { checkArn: false },
    });
    const mapRunId = randomUUID();
    const label = stateName.replace(/[^A-Za-z0-9_-]/g, '');
    const mapRunArn = `arn:aws:states:${REGION}:${ACCOUNT}:mapRun:CaimanSpikes/${label}:${mapRunId}`;
    const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:CaimanSpikes/${label}`;
    type Child = {
      input: JsonValue;
      status: 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
      output?: JsonValue;
      error?: string;
      cause?: string;
      start?: Date;
      stop?: Date;
    };
    const children: Child[] = items.map((value, index) => {
      const itemContext = {
        ...context,
        Map: { Item: { Index: index, Value: value } },
      } as unknown as JsonValue;
      const childInput = selector ? applyTemplate(selector, stateInput, itemContext) : value;
      return { input: childInput, status: 'PENDING' };
    });
    let failures = 0;
    // The Map Run fails as soon as the failed items exceed ToleratedFailureCount or
    // ToleratedFailurePercentage (either; 0 tolerated when neither is set). Step Functions then
    // starts no further child execution and stops the running ones, but a Lambda invocation
    // already under way runs to its end (nothing can stop it), so its handler is left running.
    // https://docs.aws.amazon.com/step-functions/latest/dg/state-map-tolerated-failure.html
    const pct = state.ToleratedFailurePercentage as number | undefined;
    const cnt = state.ToleratedFailureCount as number | undefined;
    const overThreshold = () =>
      (pct !== undefined && (failures * 100) / Math.max(1, items.length) > pct) ||
      (cnt !== undefined && failures > cnt) ||
      (pct === undefined && cnt === undefined && failures > 0);
    let mapFailed: (() => void) | null = null;
    const failedEarly = new Promise<void>((resolve) => {
      mapFailed = resolve;
    });
    const maxConcurrency = Number(state.MaxConcurrency ?? 0) || items.length;
    const workers = Math.max(
      1,
      Math.min(maxConcurrency, options.mapConcurrency ?? DEFAULT_MAP_CONCURRENCY_CAP, items.length),
    );
    let next = 0;
    const worker = async () => {
      while (next < items.length && !overThreshold() && !limitError) {
        const index = next++;
        const c = children[index];
        c.status = 'RUNNING';
        c.start = new Date();
        try {
          checkSize(`${stateName} item ${index}`, c.input);
          c.output = await runMachine(childMachine, c.input);
          c.status = 'SUCCEEDED';
        } catch (error) {
          const cause = (error as { cause?: { name?: string; message?: string } }).cause ?? error;
          c.status = 'FAILED';
          c.error = (cause as Error).name ?? 'States.TaskFailed';
          c.cause = (cause as Error).message ?? '';
          failures++;
          if (overThreshold()) mapFailed?.();
        } finally {
          c.stop = new Date();
        }
      }
    };
    await Promise.race([Promise.all(Array.from({ length: workers }, worker)), failedEarly]);
    if (limitError) throw limitError;
    const failed = overThreshold();
    for (const c of children) if (c.status === 'RUNNING') c.status = 'ABORTED';
    const writer = state.ResultWriter as { Parameters: Record<string, unknown> } | undefined;
    let details: JsonValue = null;
    let manifestKey: string | null = null;
    if (writer) {
      const w = applyTemplate(writer.Parameters, stateInput, context as unknown as JsonValue);
      const bucket = String(w.Bucket);
      const prefix = `${String(w.Prefix ?? '').replace(/\/?$/, '/')}${mapRunId}/`;
      manifestKey = `${prefix}manifest.json`;
      // Export of a Map Run's results: child executions grouped by status in
      // SUCCEEDED_n.json / FAILED_n.json / PENDING_n.json, and manifest.json listing them.
      // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html
      const entry = (c: Child, index: number) => ({
        ExecutionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:CaimanSpikes/${label}:${mapRunId}-${index}`,
        Input: JSON.stringify(c.input),
        InputDetails: { Included: true },
        Name: `${mapRunId}-${index}`,
        ...(c.status === 'SUCCEEDED'
          ? { Output: JSON.stringify(c.output), OutputDetails: { Included: true } }
          : {}),
        ...(c.status === 'FAILED' ? { Error: c.error, Cause: c.cause } : {}),
        RedriveCount: 0,
        RedriveStatus: 'NOT_REDRIVABLE',
        ...(c.start ? { StartDate: c.start.toISOString() } : {}),
        StateMachineArn: stateMachineArn,
        Status: c.status,
        ...(c.stop ? { StopDate: c.stop.toISOString() } : {}),
      });
      const groups: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { Key: string; Size: number }[]> = {
        FAILED: [],
        PENDING: [],
        SUCCEEDED: [],
      };
      for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
        const members = children
          .map((c, index) => ({ c, index }))
          .filter(({ c }) =>
            status === 'FAILED'
              ? c.status === 'FAILED' || c.status === 'ABORTED'
              : c.status === status,
          );
        if (members.length === 0) continue;
        const key = `${prefix}${status}_0.json`;
        const body = JSON.stringify(members.map(({ c, index }) => entry(c, index)));
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        groups[status].push({ Key: key, Size: Buffer.byteLength(body) });
      }
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: manifestKey,
          Body: JSON.stringify({
            DestinationBucket: bucket,
            MapRunArn: mapRunArn,
            ResultFiles: groups,
          }),
        }),
      );
      details = { Bucket: bucket, Key: manifestKey };
    }
    options.mapRuns?.push({ state: stateName, manifestKey, failed });
    if (failed) {
      throw taskError(
        'States.ExceedToleratedFailureThreshold',
        `The specified tolerated failure threshold was exceeded (${failures} of ${items.length} items failed)`,
      );
    }
    return writer
      ? { MapRunArn: mapRunArn, ResultWriterDetails: details }
      : children.map((c) => c.output ?? null);
  };

  const rewritten = rewrite(machine);
  const sm = new StateMachine(rewritten as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: false },
  });
  try {
    const output = await runMachine(sm, input);
    await new Promise((r) => setImmediate(r));
    if (limitError) throw limitError;
    return { name: options.executionName, status: 'SUCCEEDED', output };
  } catch (error) {
    const failure = limitError ?? (error instanceof ExecutionError ? error.cause : null);
    if (!failure) throw error;
    const cause = failure as { name?: string; message?: string };
    return {
      name: options.executionName,
      status: 'FAILED',
      output: null,
      error: { name: cause.name ?? 'Unknown', message: cause.message ?? '' },
    };
  }
}

/**
 * A throttle predicate that throttles each invocation with probability `rate`, drawn from a
 * seeded generator (mulberry32), so a fault-injection run is reproducible.
 */
function throttleRate(rate: number, seed = 1): (probe: ThrottleProbe) => boolean {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => next() < rate;
}

/** The IAM check of StartExecution (the trigger calls this fake, not the SDK client). */
type StartAuthorizer = (input: Record<string, unknown>) => Promise<void>;

/**
 * A Step Functions client for the trigger: StartExecution runs the machine locally. A name
 * already used: while that execution is open and the input is identical, the call succeeds and
 * returns the same executionArn (nothing new runs); with a different input, or once the
 * execution has closed, it fails with ExecutionAlreadyExists.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
 */
function localStepFunctions(
  run: (name: string, input: JsonValue) => Promise<ExecutionOutcome>,
  options: { authorize?: StartAuthorizer } = {},
) {
  const executions = new Map<string, Promise<ExecutionOutcome>>();
  const inputs = new Map<string, string>();
  const open = new Set<string>();
  return {
    executions,
    async send(command: StartExecutionCommand): Promise<{ executionArn: string }> {
      await options.authorize?.(command.input as unknown as Record<string, unknown>);
      const name = command.input.name ?? randomUUID();
      const input = command.input.input ?? '{}';
      const executionArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:CaimanSpikes:${name}`;
      if (executions.has(name)) {
        if (open.has(name) && inputs.get(name) === input) return { executionArn };
        const e = new Error(`Execution Already Exists: '${executionArn}'`);
        e.name = 'ExecutionAlreadyExists';
        throw e;
      }
      inputs.set(name, input);
      open.add(name);
      const outcome = run(name, JSON.parse(input) as JsonValue);
      executions.set(name, outcome);
      void outcome.finally(() => open.delete(name)).catch(() => undefined);
      return { executionArn };
    },
  };
}

/** The data bucket's notification filters from the template (prefix/suffix per rule). */
function notificationFilters(template: CfnTemplate): { prefix: string; suffix: string }[] {
  const out: { prefix: string; suffix: string }[] = [];
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'Custom::S3BucketNotifications') continue;
    const config = r.Properties.NotificationConfiguration as {
      LambdaFunctionConfigurations?: {
        Filter?: { Key?: { FilterRules?: { Name: string; Value: string }[] } };
      }[];
    };
    for (const c of config.LambdaFunctionConfigurations ?? []) {
      const rules = c.Filter?.Key?.FilterRules ?? [];
      out.push({
        prefix: rules.find((x) => x.Name.toLowerCase() === 'prefix')?.Value ?? '',
        suffix: rules.find((x) => x.Name.toLowerCase() === 'suffix')?.Value ?? '',
      });
    }
  }
  return out;
}

/**
 * Filters an s3rver event as S3 would (created objects matching a rule) and URL-encodes its keys
 * as S3 does; null when no record passes.
 */
function asS3Notification(
  event: S3Event,
  filters: { prefix: string; suffix: string }[],
): S3Event | null {
  const records = event.Records.filter(
    (r) =>
      r.eventName.startsWith('ObjectCreated:') &&
      filters.some(
        (f) => r.s3.object.key.startsWith(f.prefix) && r.s3.object.key.endsWith(f.suffix),
      ),
  ).map((r) => ({
    ...r,
    s3: {
      ...r.s3,
      object: {
        ...r.s3.object,
        key: encodeURIComponent(r.s3.object.key).replace(/%2F/g, '/').replace(/%20/g, '+'),
      },
    },
  }));
  return records.length > 0 ? { Records: records } : null;
}

export type {
  ExecutionOutcome,
  Invocation,
  JsonValue,
  LambdaHandler,
  RetryWait,
  RunOptions,
  ThrottleProbe,
};
export {
  asS3Notification,
  fakeContext,
  localStepFunctions,
  matchingRetrier,
  notificationFilters,
  PAYLOAD_LIMIT_BYTES,
  retryDelaySeconds,
  runExecution,
  throttleRate,
};
