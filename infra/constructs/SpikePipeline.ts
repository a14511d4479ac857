/**
 * The workflow: Plan job → Deconvolve chunks (Distributed Map, items read from S3) → Assemble
 * files (Distributed Map, one item per file) → Finalize job, with a Catch on each of them to
 * Record failure → Fail. JSONPath only. State payloads carry keys and counts, never trace data;
 * Map results go to S3 (ResultWriterV2) and are discarded from the state.
 *
 * Sizing: lib/job/plan.ts CHUNK_LIMITS.lambda (the chunk size and why) sets the work of one
 * chunk Lambda; 1769 MB buys one full vCPU; the job streams cells in batches, so memory stays
 * far below it (the local job peaks at 100–120 MB RSS on 200–1 000 cells × 36 000 frames).
 *
 * Publishing (lib/job/publish.ts): Plan claims the output prefix, the Map tasks write only
 * under work/runs/<execution>/, and only Finalize (or Record failure, for failure.json) writes under
 * the output prefix, so a Lambda still running after its Map Run failed cannot touch it.
 */
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { FunctionName } from '../../functions/shared/workflow.js';
import { RUN_TIMEOUT_HOURS } from '../../functions/shared/workflow.js';
import type { DeploymentConfig } from '../config.js';
import { DATA_PREFIXES, type DataBuckets } from './DataBuckets.js';
import { SpikeFunction } from './SpikeFunction.js';
import type { UsageTable } from './UsageTable.js';

/** State names (they also key local overrides in the e2e harness). */
const STATE = {
  plan: 'Plan job',
  chunks: 'Deconvolve chunks',
  chunk: 'Deconvolve chunk',
  files: 'Assemble files',
  file: 'Assemble file',
  finalize: 'Finalize job',
  failure: 'Record failure',
  committed: 'Result published?',
  failed: 'Job failed',
  succeeded: 'Job succeeded',
} as const;

/**
 * Errors worth retrying a few times (Lambda service errors, S3 errors that outlived the SDK's
 * own retries). Never a timeout (a task that ran out of time would run out again) and never the
 * product's own errors (CaimanSpikesInternalError and the input errors are not transient).
 * Throttling has its own, much longer retrier (THROTTLE_RETRY), listed first: Step Functions
 * uses the first retrier whose ErrorEquals matches. The LambdaInvoke default retrier
 * (`retryOnServiceExceptions`) is off: these two are the whole Retry list of every task.
 * https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
 */
const TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  // The Lambda Invoke API call (not the function) timed out on the Step Functions side.
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
];

/**
 * The throttle retrier of every Lambda task: a throttled invocation did not run (nothing to
 * undo, nothing billed), so it is retried until capacity frees up. Other runs' chunks hold the
 * chunk function's reserved concurrency for minutes each (a chunk is planned to ≤ 5 minutes,
 * limit 15), so the retrier must outlast them rather than give up after the ~2 minutes of six
 * quick attempts.
 *
 * Step Functions waits IntervalSeconds × BackoffRate^(n-1) before retry n, capped at
 * MaxDelaySeconds; with JitterStrategy FULL the wait is uniform in [0, that cap], so many
 * throttled items do not retry in lockstep.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 *
 * Caps of the 30 retries: 2, 4, …, 256 s (8 retries, 510 s), then 22 × 300 s = 6 600 s: at most
 * 7 110 s ≈ 2 h of waiting; with full jitter the expected total is half, ≈ 59 minutes. A run
 * whose items stay throttled for longer than that fails (States.ALL is then caught).
 */
const THROTTLE_ERRORS = ['Lambda.TooManyRequestsException'];
const THROTTLE_RETRY = {
  errors: THROTTLE_ERRORS,
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxDelay: Duration.minutes(5),
  maxAttempts: 30,
  jitterStrategy: sfn.JitterType.FULL,
} satisfies sfn.RetryProps;

/** Prefix of the Distributed Map result files. */
const MAP_RESULTS_PREFIX = `${DATA_PREFIXES.work}map-results/`;

/**
 * ResultWriterV2 whose grant is limited to its prefix of the data bucket (the stock class grants
 * s3:PutObject/GetObject on "*" when the bucket is given as a path).
 */
class PrefixResultWriter extends sfn.ResultWriterV2 {
  constructor(
    private readonly buckets: DataBuckets,
    prefix: string,
  ) {
    super({ bucketNamePath: sfn.JsonPath.stringAt('$.bucket'), prefix });
  }

  override providePolicyStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        actions: [
          's3:PutObject',
          's3:GetObject',
          's3:ListMultipartUploadParts',
          's3:AbortMultipartUpload',
        ],
        resources: [this.buckets.data.arnForObjects(`${this.prefix ?? ''}*`)],
      }),
    ];
  }
}

interface SpikePipelineProps {
  buckets: DataBuckets;
  usage: UsageTable;
  /** Reserved concurrency and Map concurrencies (infra/config.ts, from the CDK context). */
  config: DeploymentConfig;
}

/** The Lambda functions and the state machine of one run. */
class SpikePipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<Exclude<FunctionName, 'startFromUpload'>, lambda.IFunction>;

  constructor(scope: Construct, id: string, props: SpikePipelineProps) {
    super(scope, id);
    const { buckets, usage, config } = props;
    const environment = {
      DATA_BUCKET: buckets.data.bucketName,
      USAGE_TABLE: usage.table.tableName,
    };
    const fn = (
      handler: FunctionName,
      memorySize: number,
      minutes: number,
      description: string,
      reservedConcurrentExecutions?: number,
    ) => {
      const f = new SpikeFunction(this, handler, {
        handler,
        memorySize,
        timeout: Duration.minutes(minutes),
        environment,
        description,
        reservedConcurrentExecutions,
      });
      // The compute meter: one attempt item per invocation (functions/shared/usage.ts).
      usage.table.grant(f, 'dynamodb:PutItem', 'dynamodb:UpdateItem');
      return f;
    };
    const plan = fn('planJob', 1024, 5, 'Validate the job, read footers, cut chunks');
    const chunk = fn(
      'deconvolveChunk',
      1769,
      15,
      'Deconvolve one chunk of cells',
      config.chunkConcurrency,
    );
    const file = fn('assembleFile', 1024, 15, "Assemble one file's outputs from its chunks");
    const finalize = fn('finalizeJob', 1769, 15, 'Metadata, previews, usage, manifest');
    const failure = fn('recordFailure', 512, 2, 'Failure report, cleanup, usage');
    this.functions = {
      planJob: plan,
      deconvolveChunk: chunk,
      assembleFile: file,
      finalizeJob: finalize,
      recordFailure: failure,
    };

    const { inbox, inputs, jobs, work, outputs } = DATA_PREFIXES;
    // Inputs and job files are read at the version pinned at Plan (s3:GetObjectVersion).
    buckets.grantPrefix(plan, inbox, 'read', 'readVersion');
    buckets.grantPrefix(plan, inputs, 'read', 'readVersion');
    buckets.grantPrefix(plan, jobs, 'read', 'readVersion');
    buckets.grantPrefix(plan, work, 'write');
    buckets.grantList(plan, outputs);
    buckets.grantPrefix(chunk, inbox, 'read', 'readVersion');
    buckets.grantPrefix(chunk, inputs, 'read', 'readVersion');
    buckets.grantPrefix(chunk, work, 'read', 'write');
    // Assemble stages its outputs in work/: it has no access to outputs/ at all.
    buckets.grantPrefix(file, inbox, 'read', 'readVersion');
    buckets.grantPrefix(file, inputs, 'read', 'readVersion');
    buckets.grantPrefix(file, work, 'read', 'write');
    buckets.grantPrefix(finalize, work, 'read', 'write', 'delete');
    buckets.grantPrefix(finalize, outputs, 'read', 'write', 'delete');
    buckets.grantList(finalize, work);
    buckets.grantList(finalize, outputs);
    buckets.grantPrefix(failure, jobs, 'read', 'readVersion');
    buckets.grantPrefix(failure, work, 'read', 'delete');
    buckets.grantPrefix(failure, outputs, 'read', 'write', 'delete');
    buckets.grantList(failure, work);
    buckets.grantList(failure, outputs);
    // Claims of output prefixes (functions/shared/claims.ts) and the usage record (PutItem is
    // granted to every function above).
    usage.table.grant(plan, 'dynamodb:GetItem');
    // … and the meter's attempt items, read back by a Query of the execution's partition.
    usage.table.grant(finalize, 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:Query');
    usage.table.grant(failure, 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:Query');

    /**
     * TimeoutSeconds of a task: its function's timeout plus a minute. Lambda ends an invocation
     * at the function timeout and reports Sandbox.Timedout, which is not retried; this is only
     * the backstop for an invocation that never answers (then States.Timeout, not retried
     * either). https://docs.aws.amazon.com/step-functions/latest/dg/sfn-best-practices.html
     */
    const taskTimeout = (f: lambda.IFunction) =>
      sfn.Timeout.duration(
        Duration.seconds(((f as lambda.Function).timeout?.toSeconds() ?? 3) + 60),
      );
    const execution = {
      executionName: sfn.JsonPath.stringAt('$$.Execution.Name'),
      executionId: sfn.JsonPath.stringAt('$$.Execution.Id'),
    };
    const succeeded = new sfn.Succeed(this, STATE.succeeded);
    const recordFailure = new tasks.LambdaInvoke(this, STATE.failure, {
      lambdaFunction: failure,
      retryOnServiceExceptions: false,
      taskTimeout: taskTimeout(failure),
      payload: sfn.TaskInput.fromObject({
        ...execution,
        input: sfn.JsonPath.objectAt('$$.Execution.Input'),
        error: sfn.JsonPath.objectAt('$.error'),
      }),
      outputPath: '$.Payload',
    })
      // Record failure is idempotent (claim, unpublish, usage written once): retry it on
      // anything transient and on its own delete failures, or a claim and junk would remain.
      .addRetry(THROTTLE_RETRY)
      .addRetry({
        errors: [...TRANSIENT_ERRORS, 'CaimanSpikesInternalError'],
        interval: Duration.seconds(5),
        maxAttempts: 3,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      })
      .next(
        // A run that failed after its manifest was written (e.g. Finalize timed out in its
        // last step) has a complete result: it ends in Succeed.
        new sfn.Choice(this, STATE.committed)
          .when(sfn.Condition.stringEquals('$.status', 'SUCCEEDED'), succeeded)
          .otherwise(
            new sfn.Fail(this, STATE.failed, {
              error: 'JobFailed',
              cause: 'The run failed: see failure.json under its output prefix',
            }),
          ),
      );
    /** Plan and Finalize are idempotent too (claims and publish journal). */
    const retryTransient = (task: tasks.LambdaInvoke): tasks.LambdaInvoke => {
      task.addRetry(THROTTLE_RETRY);
      task.addRetry({
        errors: TRANSIENT_ERRORS,
        interval: Duration.seconds(2),
        maxAttempts: 3,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      return task;
    };
    const catchToFailure = <T extends sfn.TaskStateBase | sfn.DistributedMap>(state: T): T => {
      state.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
      return state;
    };

    const planTask = catchToFailure(
      retryTransient(
        new tasks.LambdaInvoke(this, STATE.plan, {
          lambdaFunction: plan,
          retryOnServiceExceptions: false,
          taskTimeout: taskTimeout(plan),
          payload: sfn.TaskInput.fromObject({
            ...execution,
            input: sfn.JsonPath.objectAt('$'),
          }),
          outputPath: '$.Payload',
        }),
      ),
    );

    const itemMap = (name: string, keyPath: string, maxConcurrency: number) =>
      new sfn.DistributedMap(this, name, {
        itemReader: new sfn.S3JsonItemReader({
          bucketNamePath: sfn.JsonPath.stringAt('$.bucket'),
          key: sfn.JsonPath.stringAt(keyPath),
        }),
        itemSelector: {
          executionName: sfn.JsonPath.stringAt('$.executionName'),
          executionId: sfn.JsonPath.stringAt('$.executionId'),
          bucket: sfn.JsonPath.stringAt('$.bucket'),
          item: sfn.JsonPath.objectAt('$$.Map.Item.Value'),
        },
        maxConcurrency,
        toleratedFailurePercentage: 0,
        resultWriterV2: new PrefixResultWriter(buckets, MAP_RESULTS_PREFIX),
        resultPath: sfn.JsonPath.DISCARD,
      });
    const itemTask = (name: string, f: lambda.IFunction) =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: f,
        retryOnServiceExceptions: false,
        taskTimeout: taskTimeout(f),
        outputPath: '$.Payload',
      })
        .addRetry(THROTTLE_RETRY)
        .addRetry({
          errors: TRANSIENT_ERRORS,
          interval: Duration.seconds(2),
          maxAttempts: 6,
          backoffRate: 2,
          jitterStrategy: sfn.JitterType.FULL,
        });

    // MaxConcurrency ≤ the chunk function's reserved concurrency (checked in infra/config.ts):
    // one run alone never throttles itself; concurrent runs share the reserved pool and wait in
    // THROTTLE_RETRY.
    const chunksMap = catchToFailure(
      itemMap(STATE.chunks, '$.itemsKey', config.chunkMapConcurrency),
    );
    chunksMap.itemProcessor(itemTask(STATE.chunk, chunk));
    const filesMap = catchToFailure(itemMap(STATE.files, '$.filesKey', config.fileMapConcurrency));
    filesMap.itemProcessor(itemTask(STATE.file, file));
    const finalizeTask = catchToFailure(
      retryTransient(
        new tasks.LambdaInvoke(this, STATE.finalize, {
          lambdaFunction: finalize,
          retryOnServiceExceptions: false,
          taskTimeout: taskTimeout(finalize),
          outputPath: '$.Payload',
        }),
      ),
    );

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        sfn.Chain.start(planTask).next(chunksMap).next(filesMap).next(finalizeTask).next(succeeded),
      ),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: Duration.hours(RUN_TIMEOUT_HOURS),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    buckets.grantPrefix(this.stateMachine, work, 'read');
  }
}

export type { SpikePipelineProps };
export {
  MAP_RESULTS_PREFIX,
  SpikePipeline,
  STATE,
  THROTTLE_ERRORS,
  THROTTLE_RETRY,
  TRANSIENT_ERRORS,
};
