/**
 * The only middy + Powertools logger setup. Every handler is `wrapHandler(name, fn)`: the
 * logger gets the Lambda context and, for state-machine tasks, the execution id on every line;
 * compute time is metered per execution and attempt (functions/shared/usage.ts: a provisional
 * charge of the whole remaining time when the attempt starts, replaced by the time it ran when it
 * ends, succeeded or failed); a task failure is logged and rethrown unchanged so Step Functions matches its
 * `name` in Retry/Catch.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { endAttempt, startAttempt } from './usage.js';
import type { FunctionName } from './workflow.js';

/** Module-scope logger shared by all handlers of one bundle. */
const logger = new Logger({ serviceName: 'caiman-spikes' });

/** Fields every state-machine task payload carries. */
interface ExecutionRef {
  executionName: string;
  executionId: string;
}

function executionOf(event: unknown): ExecutionRef | null {
  if (typeof event !== 'object' || event === null) return null;
  const e = event as Partial<ExecutionRef>;
  return typeof e.executionName === 'string' && typeof e.executionId === 'string'
    ? { executionName: e.executionName, executionId: e.executionId }
    : null;
}

/**
 * Wraps a task function as a Lambda handler.
 * @param name - the function's name in the usage record
 * @param fn - the business function (parse the event, call one stage, shape the result)
 */
function wrapHandler<E, R>(name: FunctionName, fn: (event: E, context: Context) => Promise<R>) {
  const elapsed = (internal: Record<string, unknown>) =>
    Date.now() - (typeof internal.startedAt === 'number' ? internal.startedAt : Date.now());
  /** Metering never fails a task: a lost meter write is logged. */
  const safely = async (what: string, write: () => Promise<void>) => {
    try {
      await write();
    } catch (error) {
      logger.error(`could not ${what}`, { error: error as Error });
    }
  };
  const attemptOf = (internal: Record<string, unknown>) => String(internal.attemptId);
  const end = async (request: { event: unknown; internal: Record<string, unknown> }) => {
    const execution = executionOf(request.event);
    const ms = elapsed(request.internal);
    if (execution) {
      await safely('meter compute time', () =>
        endAttempt(execution.executionName, name, attemptOf(request.internal), ms),
      );
    }
    return ms;
  };
  // timeoutEarlyInMillis 0: no middy timer. Its default (5 ms before the deadline) throws an
  // error named TimeoutError, which would race Lambda's own Sandbox.Timedout and make the same
  // overrun look like a different error from attempt to attempt; Lambda ends the invocation.
  return middy<E, R, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({
      before: async (request) => {
        request.internal.startedAt = Date.now();
        request.internal.attemptId = request.context?.awsRequestId || randomUUID();
        const execution = executionOf(request.event);
        if (execution) {
          logger.appendKeys({ executionId: execution.executionId });
          // The provisional charge: what this attempt costs if it never reports (killed by its
          // timeout or out of memory), i.e. the whole time it has left.
          const left = request.context?.getRemainingTimeInMillis?.() ?? 0;
          await safely('meter the attempt', () =>
            startAttempt(execution.executionName, name, attemptOf(request.internal), left),
          );
        }
        logger.info(`${name} started`);
      },
      after: async (request) => {
        const ms = await end(request);
        logger.info(`${name} finished`, { ms });
      },
      onError: async (request) => {
        const error = request.error;
        logger.error(`${name} failed`, { error: error as Error });
        await end(request);
      },
    })
    .handler(fn);
}

export type { ExecutionRef };
export { logger, wrapHandler };
