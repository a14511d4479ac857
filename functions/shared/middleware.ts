/**
 * The only middy + Powertools logger setup. Every handler is `wrapHandler(name, fn)`: the
 * logger gets the Lambda context and, for state-machine tasks, the execution id on every line;
 * compute time is metered per execution (functions/shared/usage.ts) whether the task succeeds
 * or fails; a task failure is logged and rethrown unchanged so Step Functions matches its
 * `name` in Retry/Catch.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { meterCompute } from './usage.js';
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
  const meter = async (event: unknown, ms: number) => {
    const execution = executionOf(event);
    if (!execution) return;
    try {
      await meterCompute(execution.executionName, name, ms);
    } catch (error) {
      logger.error('could not meter compute time', { error: error as Error });
    }
  };
  return middy<E, R, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({
      before: async (request) => {
        request.internal.startedAt = Date.now();
        const execution = executionOf(request.event);
        if (execution) logger.appendKeys({ executionId: execution.executionId });
        logger.info(`${name} started`);
      },
      after: async (request) => {
        const ms = elapsed(request.internal);
        await meter(request.event, ms);
        logger.info(`${name} finished`, { ms });
      },
      onError: async (request) => {
        const error = request.error;
        logger.error(`${name} failed`, { error: error as Error });
        await meter(request.event, elapsed(request.internal));
      },
    })
    .handler(fn);
}

export type { ExecutionRef };
export { logger, wrapHandler };
