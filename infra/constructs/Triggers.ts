/**
 * S3 → Lambda triggers: `jobs/*.json` starts a series run, `inbox/*.isxd` a one-file run
 * (functions/startFromUpload.ts). The trigger may only start executions of this state machine.
 */
import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
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
