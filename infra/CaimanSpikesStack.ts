/**
 * The caiman-spikes stack: data buckets, usage table, the pipeline (functions + state machine)
 * and the upload triggers. It only composes constructs, declares outputs and states, with a
 * reason each, the cdk-nag AwsSolutions findings it accepts.
 */
import {
  type CfnElement,
  CfnOutput,
  Stack,
  type StackProps,
  Token,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { deploymentConfig } from './config.js';
import { DATA_PREFIXES, DataBuckets } from './constructs/DataBuckets.js';
import { MAP_RESULTS_PREFIX, SpikePipeline } from './constructs/SpikePipeline.js';
import { Triggers } from './constructs/Triggers.js';
import { UsageTable } from './constructs/UsageTable.js';

/** Serverless CaImAn spike extraction. */
class CaimanSpikesStack extends Stack {
  readonly buckets: DataBuckets;
  readonly usage: UsageTable;
  readonly pipeline: SpikePipeline;
  readonly triggers: Triggers;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.buckets = new DataBuckets(this, 'Buckets');
    this.usage = new UsageTable(this, 'Usage');
    this.pipeline = new SpikePipeline(this, 'Pipeline', {
      buckets: this.buckets,
      usage: this.usage,
      config: deploymentConfig(this.node),
    });
    this.triggers = new Triggers(this, 'Triggers', {
      buckets: this.buckets,
      stateMachine: this.pipeline.stateMachine,
    });
    new CfnOutput(this, 'DataBucketName', { value: this.buckets.data.bucketName });
    new CfnOutput(this, 'StateMachineArn', { value: this.pipeline.stateMachine.stateMachineArn });
    new CfnOutput(this, 'UsageTableName', { value: this.usage.table.tableName });
    this.suppressNagFindings();
  }

  /** Acknowledges, finding by finding, the AwsSolutions rules this design accepts. */
  private suppressNagFindings(): void {
    const ack = (finding: string, reason: string) =>
      Validations.of(this).acknowledge({ id: `AwsSolutions::${finding}`, reason });
    const ref = (c: { node: { defaultChild?: unknown } }) =>
      this.getLogicalId(c.node.defaultChild as CfnElement);
    const data = ref(this.buckets.data);
    for (const prefix of [...Object.values(DATA_PREFIXES), MAP_RESULTS_PREFIX]) {
      ack(
        `AwsSolutions-IAM5[Resource::<${data}.Arn>/${prefix}*]`,
        `Object access is limited to the ${prefix} prefix of the data bucket; object keys under it are per run and not known in advance.`,
      );
    }
    for (const f of Object.values(this.pipeline.functions)) {
      ack(
        `AwsSolutions-IAM5[Resource::<${ref(f)}.Arn>:*]`,
        'Step Functions may invoke this pipeline function with any version qualifier (CDK LambdaInvoke grant); no other function.',
      );
    }
    const region = Token.isUnresolved(this.region) ? '<AWS::Region>' : this.region;
    const account = Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account;
    const sm = ref(this.pipeline.stateMachine);
    const executions = `arn:<AWS::Partition>:states:${region}:${account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${sm}"}]}]}`;
    for (const suffix of [':*', '/*:*']) {
      ack(
        `AwsSolutions-IAM5[Resource::${executions}${suffix}]`,
        'The Distributed Map describes and stops its own child executions and map runs, whose ARNs carry run ids.',
      );
    }
    ack(
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray trace delivery and the S3 notification configuration handler only accept "*" (CDK defaults).',
    );
    ack(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only lets a function write its own CloudWatch logs.',
    );
    ack(
      'AwsSolutions-SQS3',
      "The trigger's failed-events queue is itself the dead-letter store (a Lambda on-failure destination); nothing consumes it automatically.",
    );
    ack(
      'AwsSolutions-L1',
      'Node.js 22 is pinned on purpose: the handlers are bundled (esbuild target node22) and tested for it.',
    );
  }
}

export { CaimanSpikesStack };
