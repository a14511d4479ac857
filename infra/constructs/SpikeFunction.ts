/**
 * A NodejsFunction with the project's pinned defaults: Node.js 22 on arm64, ESM bundle built by
 * the local esbuild (AWS SDK bundled at the pinned versions), X-Ray tracing, source maps,
 * Powertools logger settings, a log group with a retention, and the data bucket / usage table
 * names in the environment.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FunctionName } from '../../functions/shared/workflow.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Handler files in functions/ (one per stage, plus the trigger). */
type HandlerName = FunctionName;

interface SpikeFunctionProps {
  /** functions/<handler>.ts */
  handler: HandlerName;
  memorySize: number;
  timeout: Duration;
  environment?: Record<string, string>;
  description: string;
  /** Reserved concurrency (its share of the account's pool, and its ceiling); none by default. */
  reservedConcurrentExecutions?: number;
}

/** One Lambda of the pipeline. */
class SpikeFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: SpikeFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: join(repoRoot, 'functions', `${props.handler}.ts`),
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: join(repoRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      description: props.description,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      logGroup,
      // X-Ray traces of every invocation (the state machine traces too).
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'caiman-spikes',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        // The AWS SDK is bundled at the versions the tests ran (package-lock.json), not taken
        // from the runtime, whose copy changes without notice.
        externalModules: [],
        banner:
          "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);",
      },
    });
  }
}

export type { HandlerName, SpikeFunctionProps };
export { SpikeFunction };
