/**
 * S3 → Lambda triggers: `jobs/*.json` starts a series run, `inbox/*.isxd` a one-file run
 * (functions/startFromUpload.ts). The trigger may only start executions of this state machine.
 *
 * S3 invokes the trigger asynchronously: Lambda retries a failed event twice and keeps it up to
 * 6 hours, then drops it silently unless an on-failure destination is set. Here the retries are
 * 2 and the age limit 1 hour, and an event that still fails goes to an encrypted SQS queue kept
 * 14 days (the SQS maximum): nothing is lost, and the record says which upload did not start.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DATA_PREFIXES, type DataBuckets } from './DataBuckets.js';
import { SpikeFunction } from './SpikeFunction.js';

interface TriggersProps {
  buckets: DataBuckets;
  stateMachine: sfn.StateMachine;
}

/** Upload triggers of the data bucket. */
class Triggers extends Construct {
  readonly startFromUpload: SpikeFunction;
  /** Events the trigger could not handle after its retries (on-failure destination). */
  readonly failedEvents: sqs.Queue;

  constructor(scope: Construct, id: string, props: TriggersProps) {
    super(scope, id);
    this.startFromUpload = new SpikeFunction(this, 'startFromUpload', {
      handler: 'startFromUpload',
      memorySize: 256,
      timeout: Duration.seconds(30),
      description: 'Start a run when a job file or a cell set is uploaded',
      environment: { STATE_MACHINE_ARN: props.stateMachine.stateMachineArn },
    });
    props.stateMachine.grantStartExecution(this.startFromUpload);
    this.failedEvents = new sqs.Queue(this, 'FailedEvents', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.startFromUpload.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      onFailure: new destinations.SqsDestination(this.failedEvents),
    });
    const destination = new s3n.LambdaDestination(this.startFromUpload);
    const data = props.buckets.data;
    data.addEventNotification(s3.EventType.OBJECT_CREATED, destination, {
      prefix: DATA_PREFIXES.jobs,
      suffix: '.json',
    });
    // No suffix filter: S3 matches suffixes case-sensitively, the trigger's code (the one
    // rule) takes `.isxd` in any case and ignores the rest.
    data.addEventNotification(s3.EventType.OBJECT_CREATED, destination, {
      prefix: DATA_PREFIXES.inbox,
    });
  }
}

export type { TriggersProps };
export { Triggers };
