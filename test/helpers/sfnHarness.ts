/**
 * Runs the synthesized state machine locally with aws-local-stepfunctions: each Lambda Task is
 * bound to the real middy handler in this process, and each DISTRIBUTED Map is replaced by a Task
 * of the same name whose local override emulates it (items from S3 via ItemReader, ItemSelector,
 * one child run of the ItemProcessor per item, ToleratedFailurePercentage →
 * States.ExceedToleratedFailureThreshold as soon as it is exceeded, with the items still running
 * left running, ResultWriter files under its prefix). Retry intervals
 * are overridden to 0 and Tasks get a 600 s local timeout instead of the library's 60 s default.
 * Also: the S3-notification → trigger path, with a fake Step Functions client that refuses a
 * second StartExecution with the same name, as the service does.
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

const LOCAL_TASK_TIMEOUT_SECONDS = 600;

function fakeContext(name: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 900_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
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

interface RunOptions {
  executionName: string;
  handlers: Record<string, LambdaHandler>;
  /** Limit on concurrently running Map items (the machine has 2 cores). */
  mapConcurrency?: number;
  /** Every Lambda task's payload, in the order invoked (to check what travels in the state). */
  payloads?: { state: string; payload: unknown }[];
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
  const retry: Record<string, number> = {};
  const executionId = `arn:aws:states:${REGION}:${ACCOUNT}:execution:CaimanSpikes:${options.executionName}`;
  const context = {
    Execution: {
      Id: executionId,
      Name: options.executionName,
      Input: input,
      StartTime: new Date().toISOString(),
    },
  } as const;

  const rewrite = (m: AslMachine): AslMachine => {
    const states: Record<string, AslState> = {};
    for (const [name, state] of Object.entries(m.States)) {
      retry[name] = 0;
      if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
        const { ProcessorConfig: _mode, ...processor } = state.ItemProcessor;
        const child = rewrite(processor);
        overrides[name] = (i) => distributedMap(state, child, i);
        const {
          ItemProcessor: _p,
          ItemReader: _r,
          ItemSelector: _s,
          ResultWriter: _w,
          MaxConcurrency: _c,
          ...kept
        } = state;
        states[name] = {
          ...kept,
          Type: 'Task',
          Resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:local-distributed-map`,
          TimeoutSeconds: LOCAL_TASK_TIMEOUT_SECONDS,
        };
        continue;
      }
      if (state.Type === 'Task') {
        const [fnName, h] = handlerFor(functionIds.get(name) ?? '', options.handlers);
        overrides[name] = state.Resource?.endsWith(':states:::lambda:invoke')
          ? async (i) => {
              const payload = (i as { Payload: never }).Payload;
              options.payloads?.push({ state: name, payload });
              return {
                StatusCode: 200,
                ExecutedVersion: '$LATEST',
                Payload: (await h(payload, fakeContext(fnName))) as JsonValue,
              };
            }
          : async (i) => {
              options.payloads?.push({ state: name, payload: i });
              return (await h(i as never, fakeContext(fnName))) as JsonValue;
            };
        states[name] = {
          ...state,
          TimeoutSeconds: state.TimeoutSeconds ?? LOCAL_TASK_TIMEOUT_SECONDS,
        };
        continue;
      }
      states[name] = state;
    }
    return { ...m, States: states };
  };

  const distributedMap = async (
    state: AslState,
    child: AslMachine,
    stateInput: JsonValue,
  ): Promise<JsonValue> => {
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
    const results: JsonValue[] = new Array(items.length);
    const failures: { index: number; error: unknown }[] = [];
    // The Map Run fails as soon as more items failed than tolerated; Step Functions then starts
    // no further child execution and aborts the running ones, but a Lambda invocation already
    // under way runs to its end (nothing can stop it), so its handler is left running here too.
    // https://docs.aws.amazon.com/step-functions/latest/apireference/API_MapRunExecutionCounts.html
    const tolerated = Math.floor(
      (items.length * Number(state.ToleratedFailurePercentage ?? 0)) / 100,
    );
    let mapFailed: (() => void) | null = null;
    const failedEarly = new Promise<void>((resolve) => {
      mapFailed = resolve;
    });
    let next = 0;
    const worker = async () => {
      while (next < items.length && failures.length <= tolerated) {
        const index = next++;
        const itemContext = {
          ...context,
          Map: { Item: { Index: index, Value: items[index] } },
        } as unknown as JsonValue;
        const childInput = selector
          ? applyTemplate(selector, stateInput, itemContext)
          : items[index];
        try {
          results[index] = await childMachine.run(childInput, {
            overrides: { taskResourceLocalHandlers: overrides, retryIntervalOverrides: retry },
            context: context as unknown as Record<string, unknown>,
          }).result;
        } catch (error) {
          failures.push({ index, error });
          if (failures.length > tolerated) mapFailed?.();
        }
      }
    };
    await Promise.race([
      Promise.all(Array.from({ length: options.mapConcurrency ?? 2 }, worker)),
      failedEarly,
    ]);
    const writer = state.ResultWriter as { Parameters: Record<string, unknown> } | undefined;
    const mapRunId = randomUUID();
    let details: JsonValue = null;
    if (writer) {
      const w = applyTemplate(writer.Parameters, stateInput, context as unknown as JsonValue);
      const key = `${String(w.Prefix ?? '')}${mapRunId}/`;
      const body = results.map((output, index) => ({ index, output }));
      await s3.send(
        new PutObjectCommand({
          Bucket: String(w.Bucket),
          Key: `${key}SUCCEEDED_0.json`,
          Body: JSON.stringify(body),
        }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: String(w.Bucket),
          Key: `${key}manifest.json`,
          Body: JSON.stringify({
            MapRunArn: mapRunId,
            ResultFiles: { SUCCEEDED: [{ Key: `${key}SUCCEEDED_0.json` }] },
          }),
        }),
      );
      details = { Bucket: String(w.Bucket), Key: `${key}manifest.json` };
    }
    if (failures.length > tolerated) {
      const e = new Error(
        `The specified tolerated failure threshold was exceeded (${failures.length} of ${items.length} items failed)`,
      );
      e.name = 'States.ExceedToleratedFailureThreshold';
      throw e;
    }
    return writer ? { MapRunArn: mapRunId, ResultWriterDetails: details } : results;
  };

  const rewritten = rewrite(machine);
  const sm = new StateMachine(rewritten as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: false },
  });
  try {
    const output = await sm.run(input, {
      overrides: { taskResourceLocalHandlers: overrides, retryIntervalOverrides: retry },
      context: context as unknown as Record<string, unknown>,
    }).result;
    return { name: options.executionName, status: 'SUCCEEDED', output };
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    const cause = error.cause as { name?: string; message?: string } | undefined;
    return {
      name: options.executionName,
      status: 'FAILED',
      output: null,
      error: { name: cause?.name ?? 'Unknown', message: cause?.message ?? error.message },
    };
  }
}

/** A Step Functions client for the trigger: StartExecution runs the machine locally. */
function localStepFunctions(run: (name: string, input: JsonValue) => Promise<ExecutionOutcome>) {
  const executions = new Map<string, Promise<ExecutionOutcome>>();
  return {
    executions,
    async send(command: StartExecutionCommand): Promise<{ executionArn: string }> {
      const name = command.input.name ?? randomUUID();
      if (executions.has(name)) {
        const e = new Error(`Execution Already Exists: '${name}'`);
        e.name = 'ExecutionAlreadyExists';
        throw e;
      }
      executions.set(name, run(name, JSON.parse(command.input.input ?? '{}') as JsonValue));
      return { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:CaimanSpikes:${name}` };
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

export type { ExecutionOutcome, JsonValue, LambdaHandler };
export { asS3Notification, fakeContext, localStepFunctions, notificationFilters, runExecution };
