import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYMENT_DEFAULTS, deploymentConfig } from '../../infra/config.js';
import {
  type AslMachine,
  type AslState,
  allStates,
  type CfnTemplate,
  lambdaTasks,
  stateMachineDefinition,
  synthTemplate,
} from '../helpers/asl.js';

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

/** `{"Fn::GetAtt": [id, "Arn"]}` → `<id.Arn>`, joins flattened, so ARNs read as text. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Fn::GetAtt' in v) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Ref' in v) return `<${v.Ref as string}>`;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(text).join(sep);
  }
  return JSON.stringify(value);
}

const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

let template: CfnTemplate;
let nagError: unknown;
let t: Template;
let machine: AslMachine;

/** Logical id of the resource whose id starts with `prefix`. */
function idOf(type: string, prefix: string): string {
  const ids = Object.keys(template.Resources).filter(
    (id) => template.Resources[id].Type === type && id.startsWith(prefix),
  );
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** Every IAM statement attached to the role of a function. */
function statementsOf(functionPrefix: string): Statement[] {
  const fn = template.Resources[idOf('AWS::Lambda::Function', functionPrefix)];
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
  return Object.values(template.Resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        (r.Properties.Roles as { Ref: string }[]).some((x) => x.Ref === roleId),
    )
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** action → sorted resources (as text), for S3 and DynamoDB actions. */
function grants(functionPrefix: string): Record<string, string[]> {
  const data = idOf('AWS::S3::Bucket', 'BucketsData');
  const out: Record<string, string[]> = {};
  for (const s of statementsOf(functionPrefix)) {
    for (const action of list(s.Action)) {
      if (!/^(s3|dynamodb|states):/.test(action)) continue;
      for (const r of list(s.Resource)) {
        let res = text(r).replace(`<${data}.Arn>`, 'data');
        if (s.Condition) res += ` if ${JSON.stringify(s.Condition)}`;
        out[action] = [...(out[action] ?? []), res].sort();
      }
    }
  }
  return out;
}

function stateNamed(name: string): AslState {
  const walk = (m: AslMachine): AslState | undefined =>
    m.States[name] ??
    Object.values(m.States)
      .map((s) => (s.ItemProcessor ? walk(s.ItemProcessor) : undefined))
      .find(Boolean);
  const found = walk(machine);
  expect(found, `state ${name}`).toBeDefined();
  return found as AslState;
}

beforeAll(() => {
  try {
    template = synthTemplate({ nag: true });
  } catch (error) {
    nagError = error;
    template = synthTemplate();
  }
  t = Template.fromJSON(template);
  machine = stateMachineDefinition(template);
});

describe('CaimanSpikesStack', () => {
  it('passes the cdk-nag AwsSolutions pack (every acknowledgement carries a reason)', () => {
    // Assess
    expect(nagError).toBeUndefined();
  });

  describe('data bucket', () => {
    it('is encrypted, private, versioned and logs access', () => {
      // Assess
      t.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'data/' }),
      });
    });

    it('expires intermediates under work/ and aborts stale multipart uploads', () => {
      // Prepare
      const data = template.Resources[idOf('AWS::S3::Bucket', 'BucketsData')];
      const rules = (data.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] })
        .Rules;
      // Assess
      expect(rules).toContainEqual(
        expect.objectContaining({ Prefix: 'work/', ExpirationInDays: 7, Status: 'Enabled' }),
      );
      expect(rules).toContainEqual(
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
      );
    });

    it('denies every request not made over TLS, on both buckets', () => {
      // Prepare
      const policies = Object.values(template.Resources).filter(
        (r) => r.Type === 'AWS::S3::BucketPolicy',
      );
      // Assess
      expect(policies).toHaveLength(2);
      for (const p of policies) {
        const statements = (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
        expect(statements).toContainEqual(
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        );
      }
    });
  });

  describe('functions', () => {
    const names = [
      'PipelineplanJob',
      'PipelinedeconvolveChunk',
      'PipelineassembleFile',
      'PipelinefinalizeJob',
      'PipelinerecordFailure',
      'TriggersstartFromUpload',
    ];

    it.each(names)('%s runs the esbuild bundle on Node.js 22 / arm64 with a log group', (name) => {
      // Prepare
      const fn = template.Resources[idOf('AWS::Lambda::Function', name)];
      // Assess
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: expect.anything() },
      });
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'caiman-spikes',
        NODE_OPTIONS: '--enable-source-maps',
      });
    });

    it('sizes the chunk function for one full vCPU and the 15-minute limit', () => {
      // Prepare
      const fn = template.Resources[idOf('AWS::Lambda::Function', 'PipelinedeconvolveChunk')];
      // Assess
      expect(fn.Properties).toMatchObject({ MemorySize: 1769, Timeout: 900 });
    });
  });

  describe('state machine', () => {
    it('runs Plan → Distributed Map of chunks → Distributed Map of files → Finalize', () => {
      // Assess
      expect(machine.StartAt).toBe('Plan job');
      expect(machine.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
      expect(machine.States['Plan job'].Next).toBe('Deconvolve chunks');
      expect(machine.States['Deconvolve chunks'].Next).toBe('Assemble files');
      expect(machine.States['Assemble files'].Next).toBe('Finalize job');
      expect(machine.States['Finalize job'].Next).toBe('Job succeeded');
      expect(machine.States['Job succeeded'].Type).toBe('Succeed');
    });

    it.each([
      ['Deconvolve chunks', '$.itemsKey', 'Deconvolve chunk'],
      ['Assemble files', '$.filesKey', 'Assemble file'],
    ])(
      '%s is a Distributed Map reading its items from S3, results to S3 only',
      (name, key, task) => {
        // Prepare
        const map = machine.States[name];
        // Assess
        expect(map.Type).toBe('Map');
        expect(map.ItemProcessor?.ProcessorConfig).toEqual({
          Mode: 'DISTRIBUTED',
          ExecutionType: 'STANDARD',
        });
        expect(map.ItemReader).toEqual({
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { 'Bucket.$': '$.bucket', 'Key.$': key },
        });
        expect(map.ResultWriter).toMatchObject({
          Parameters: { 'Bucket.$': '$.bucket', Prefix: 'work/map-results/' },
        });
        expect(map.ResultPath).toBeNull();
        expect(map.ItemsPath).toBeUndefined();
        expect(map.ItemSelector).toEqual({
          'executionName.$': '$.executionName',
          'executionId.$': '$.executionId',
          'bucket.$': '$.bucket',
          'item.$': '$$.Map.Item.Value',
        });
        expect(map.ItemProcessor?.StartAt).toBe(task);
      },
    );

    it('retries Map items on throttling and transient S3 errors, never on product errors', () => {
      // Prepare
      const retried = (stateNamed('Deconvolve chunk').Retry as { ErrorEquals: string[] }[]).flatMap(
        (r) => r.ErrorEquals,
      );
      // Assess
      expect(retried).toEqual(
        expect.arrayContaining([
          'Lambda.TooManyRequestsException',
          'Lambda.ServiceException',
          'SlowDown',
        ]),
      );
      expect(retried).not.toContain('States.ALL');
      expect(retried).not.toContain('IsxdFormatError');
    });

    it.each(['Plan job', 'Deconvolve chunks', 'Assemble files', 'Finalize job'])(
      '%s catches every error into Record failure → Fail (or Succeed once committed)',
      (name) => {
        // Assess
        expect(machine.States[name].Catch).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Record failure' },
        ]);
        expect(machine.States['Record failure'].Next).toBe('Result published?');
        const choice = machine.States['Result published?'] as unknown as {
          Choices: { Variable: string; StringEquals: string; Next: string }[];
          Default: string;
        };
        expect(choice.Choices).toEqual([
          { Variable: '$.status', StringEquals: 'SUCCEEDED', Next: 'Job succeeded' },
        ]);
        expect(choice.Default).toBe('Job failed');
        expect(machine.States['Job failed'].Type).toBe('Fail');
      },
    );

    it('retries Plan, Finalize and Record failure on transient errors, never on a timeout', () => {
      // Assess
      for (const name of ['Plan job', 'Finalize job', 'Record failure', 'Deconvolve chunk']) {
        const retry = (stateNamed(name).Retry ?? []) as { ErrorEquals: string[] }[];
        const errors = retry.flatMap((r) => r.ErrorEquals);
        expect(errors, name).toContain('Lambda.ServiceException');
        expect(errors, name).not.toContain('TimeoutError');
        expect(errors, name).not.toContain('States.Timeout');
        expect(errors, name).not.toContain('States.ALL');
      }
      const errorsOf = (name: string) =>
        (stateNamed(name).Retry as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
      expect(errorsOf('Record failure')).toContain('CaimanSpikesInternalError');
      expect(errorsOf('Deconvolve chunk')).not.toContain('CaimanSpikesInternalError');
    });

    it('passes only keys and the execution to the tasks, never trace data', () => {
      // Assess
      expect(machine.States['Plan job'].Parameters).toMatchObject({
        Payload: {
          'executionName.$': '$$.Execution.Name',
          'executionId.$': '$$.Execution.Id',
          'input.$': '$',
        },
      });
      expect(machine.States['Record failure'].Parameters).toMatchObject({
        Payload: { 'input.$': '$$.Execution.Input', 'error.$': '$.error' },
      });
    });

    it('logs every execution event and traces with X-Ray', () => {
      // Assess
      t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
        TracingConfiguration: { Enabled: true },
      });
    });

    it('traces every function with X-Ray', () => {
      // Act
      const functions = Object.values(template.Resources).filter(
        (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Runtime === 'nodejs22.x',
      );
      // Assess
      expect(functions).toHaveLength(6);
      for (const f of functions) expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    });

    it('gives every Task a timeout a minute past its function timeout', () => {
      // Act
      const functionTimeout = (state: string) => {
        const id = lambdaTasks(machine).get(state) ?? '';
        return template.Resources[id].Properties.Timeout as number;
      };
      // Assess
      for (const name of [
        'Plan job',
        'Deconvolve chunk',
        'Assemble file',
        'Finalize job',
        'Record failure',
      ]) {
        expect(stateNamed(name).TimeoutSeconds, name).toBe(functionTimeout(name) + 60);
      }
    });
  });

  describe('triggers', () => {
    it('calls the trigger for job files under jobs/ and anything under inbox/ (never inputs/)', () => {
      // Prepare
      const trigger = idOf('AWS::Lambda::Function', 'TriggersstartFromUpload');
      // Assess
      t.hasResourceProperties('Custom::S3BucketNotifications', {
        NotificationConfiguration: {
          LambdaFunctionConfigurations: [
            {
              Events: ['s3:ObjectCreated:*'],
              Filter: {
                Key: {
                  FilterRules: [
                    { Name: 'suffix', Value: '.json' },
                    { Name: 'prefix', Value: 'jobs/' },
                  ],
                },
              },
              LambdaFunctionArn: { 'Fn::GetAtt': [trigger, 'Arn'] },
            },
            {
              Events: ['s3:ObjectCreated:*'],
              Filter: {
                Key: {
                  FilterRules: [{ Name: 'prefix', Value: 'inbox/' }],
                },
              },
              LambdaFunctionArn: { 'Fn::GetAtt': [trigger, 'Arn'] },
            },
          ],
        },
      });
    });
  });

  describe('throttling', () => {
    const chunkFunction = () =>
      template.Resources[idOf('AWS::Lambda::Function', 'PipelinedeconvolveChunk')];

    it('reserves concurrency for the chunk function at or above the chunks Map MaxConcurrency', () => {
      // Prepare
      const reserved = chunkFunction().Properties.ReservedConcurrentExecutions as number;
      // Assess
      expect(reserved).toBe(DEPLOYMENT_DEFAULTS.chunkConcurrency);
      expect(machine.States['Deconvolve chunks'].MaxConcurrency).toBe(
        DEPLOYMENT_DEFAULTS.chunkMapConcurrency,
      );
      expect(machine.States['Deconvolve chunks'].MaxConcurrency as number).toBeLessThanOrEqual(
        reserved,
      );
      expect(machine.States['Assemble files'].MaxConcurrency).toBe(
        DEPLOYMENT_DEFAULTS.fileMapConcurrency,
      );
    });

    it('ships cdk.json with the same settings as the defaults', () => {
      // Prepare
      const cdk = JSON.parse(readFileSync('cdk.json', 'utf8')) as {
        context: Record<string, unknown>;
      };
      // Assess
      for (const [key, value] of Object.entries(DEPLOYMENT_DEFAULTS)) {
        expect(cdk.context[key], key).toBe(value);
      }
    });

    it('takes the settings from the CDK context and refuses a Map wider than the reservation', () => {
      // Prepare
      const nodeWith = (context: Record<string, unknown>) => new App({ context }).node;
      // Assess
      expect(
        deploymentConfig(nodeWith({ chunkConcurrency: '300', chunkMapConcurrency: 250 })),
      ).toEqual({ chunkConcurrency: 300, chunkMapConcurrency: 250, fileMapConcurrency: 50 });
      expect(() =>
        deploymentConfig(nodeWith({ chunkConcurrency: 100, chunkMapConcurrency: 150 })),
      ).toThrow(/chunkMapConcurrency \(150\) must not exceed chunkConcurrency \(100\)/);
      expect(() => deploymentConfig(nodeWith({ fileMapConcurrency: 0 }))).toThrow(
        /fileMapConcurrency = 0 must be a positive integer/,
      );
    });

    it.each(['Plan job', 'Deconvolve chunk', 'Assemble file', 'Finalize job', 'Record failure'])(
      '%s retries throttling first, with capped, fully jittered backoff for about an hour',
      (name) => {
        // Prepare
        const retry = stateNamed(name).Retry as Record<string, unknown>[];
        // Assess
        expect(retry[0]).toEqual({
          ErrorEquals: ['Lambda.TooManyRequestsException'],
          IntervalSeconds: 2,
          BackoffRate: 2,
          MaxDelaySeconds: 300,
          MaxAttempts: 30,
          JitterStrategy: 'FULL',
        });
        const caps = Array.from({ length: 30 }, (_, n) => Math.min(300, 2 * 2 ** n));
        const worst = caps.reduce((a, b) => a + b, 0);
        expect(worst).toBe(7110);
        // full jitter: each wait uniform in [0, cap], so the expected total is half of it
        expect(worst / 2 / 60).toBeGreaterThan(55);
        for (const r of retry.slice(1)) {
          expect(r.ErrorEquals).not.toContain('Lambda.TooManyRequestsException');
        }
      },
    );

    it('never retries a timeout in any Retry of any state', () => {
      // Prepare
      const retried = allStates(machine).flatMap(([, state]) =>
        ((state.Retry ?? []) as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals),
      );
      // Assess
      expect(retried.length).toBeGreaterThan(10);
      for (const e of ['TimeoutError', 'Sandbox.Timedout', 'States.Timeout', 'States.ALL']) {
        expect(retried).not.toContain(e);
      }
    });
  });

  describe('trigger failures', () => {
    it('sends events the trigger still fails on after 2 retries to an encrypted 14-day queue', () => {
      // Prepare
      const queue = idOf('AWS::SQS::Queue', 'TriggersFailedEvents');
      const trigger = idOf('AWS::Lambda::Function', 'TriggersstartFromUpload');
      // Assess
      t.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: trigger },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } },
        },
      });
      const sends = statementsOf('TriggersstartFromUpload').filter((s) =>
        list(s.Action).includes('sqs:SendMessage'),
      );
      expect(sends.map((s) => list(s.Resource).map(text))).toEqual([[`<${queue}.Arn>`]]);
    });
  });

  describe('usage table', () => {
    it('is an on-demand TableV2 keyed by pk/sk with point-in-time recovery', () => {
      // Assess
      t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        Replicas: [
          Match.objectLike({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      });
    });
  });

  describe('least-privilege IAM', () => {
    const table = () => `<${idOf('AWS::DynamoDB::GlobalTable', 'UsageTable')}.Arn>`;

    it.each([
      [
        'PipelineplanJob',
        {
          's3:GetObject': ['data/inbox/*', 'data/inputs/*', 'data/jobs/*'],
          's3:GetObjectVersion': ['data/inbox/*', 'data/inputs/*', 'data/jobs/*'],
          's3:PutObject': ['data/work/*'],
        },
        ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      ],
      [
        'PipelinedeconvolveChunk',
        {
          's3:GetObject': ['data/inbox/*', 'data/inputs/*', 'data/work/*'],
          's3:GetObjectVersion': ['data/inbox/*', 'data/inputs/*'],
          's3:PutObject': ['data/work/*'],
        },
        ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      ],
      [
        // Assemble stages its outputs in work/: no access to outputs/ at all, so a late
        // invocation (after its Map Run failed) cannot write there.
        'PipelineassembleFile',
        {
          's3:GetObject': ['data/inbox/*', 'data/inputs/*', 'data/work/*'],
          's3:GetObjectVersion': ['data/inbox/*', 'data/inputs/*'],
          's3:PutObject': ['data/work/*'],
        },
        ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      ],
      [
        // Finalize reads no input: no object version of anything.
        'PipelinefinalizeJob',
        {
          's3:GetObject': ['data/outputs/*', 'data/work/*'],
          's3:PutObject': ['data/outputs/*', 'data/work/*'],
          's3:DeleteObject': ['data/outputs/*', 'data/work/*'],
        },
        [
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
      ],
      [
        // Record failure re-reads the job file (at its version) to find the output prefix.
        'PipelinerecordFailure',
        {
          's3:GetObject': ['data/jobs/*', 'data/outputs/*', 'data/work/*'],
          's3:GetObjectVersion': ['data/jobs/*'],
          's3:PutObject': ['data/outputs/*'],
          's3:DeleteObject': ['data/outputs/*', 'data/work/*'],
        },
        [
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
      ],
    ])('%s touches only its prefixes and the usage table', (fn, s3, dynamo) => {
      // Act
      const g = grants(fn);
      // Assess
      for (const [action, resources] of Object.entries(s3)) expect(g[action]).toEqual(resources);
      const s3Actions = Object.keys(g).filter(
        (a) => a.startsWith('s3:') && a !== 's3:AbortMultipartUpload' && a !== 's3:ListBucket',
      );
      expect(s3Actions.sort()).toEqual(Object.keys(s3).sort());
      const ddbActions = Object.keys(g).filter((a) => a.startsWith('dynamodb:'));
      expect(ddbActions.sort()).toEqual(dynamo);
      for (const a of ddbActions) expect(g[a]).toEqual([table()]);
      expect(Object.keys(g).some((a) => a.startsWith('states:'))).toBe(false);
    });

    it.each([
      ['PipelineplanJob', ['outputs/*']],
      ['PipelinerecordFailure', ['outputs/*', 'work/*']],
      ['PipelinedeconvolveChunk', []],
      ['PipelineassembleFile', []],
      ['PipelinefinalizeJob', ['outputs/*', 'work/*']],
    ])('lets %s list keys only under %j', (fn, prefixes) => {
      // Act
      const g = grants(fn);
      // Assess
      expect(g['s3:ListBucket'] ?? []).toEqual(
        prefixes.map((p) => `data if {"StringLike":{"s3:prefix":["${p}"]}}`),
      );
    });

    it('lets the trigger only start executions of this state machine', () => {
      // Act
      const g = grants('TriggersstartFromUpload');
      // Assess
      expect(g).toEqual({
        'states:StartExecution': [
          `<${idOf('AWS::StepFunctions::StateMachine', 'PipelineStateMachine')}>`,
        ],
      });
    });

    it('lets the state machine read work/ (Map items) and write only work/map-results/', () => {
      // Prepare
      const role = idOf('AWS::IAM::Role', 'PipelineStateMachineRole');
      const g: Record<string, string[]> = {};
      for (const r of Object.values(template.Resources)) {
        if (r.Type !== 'AWS::IAM::Policy') continue;
        if (!(r.Properties.Roles as { Ref: string }[]).some((x) => x.Ref === role)) continue;
        for (const s of (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
          for (const a of list(s.Action).filter((x) => x.startsWith('s3:'))) {
            const res = list(s.Resource).map((x) =>
              text(x).replace(/^<BucketsData[0-9A-F]+\.Arn>/, 'data'),
            );
            g[a] = [...(g[a] ?? []), ...res].sort();
          }
        }
      }
      // Assess
      expect(g['s3:GetObject']).toEqual(['data/work/*', 'data/work/map-results/*']);
      expect(g['s3:PutObject']).toEqual(['data/work/map-results/*']);
    });

    it('grants no S3 or DynamoDB action on "*" and no wildcard action anywhere', () => {
      // Prepare
      const statements = Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy')
        .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
      // Assess
      for (const s of statements) {
        for (const a of list(s.Action)) expect(a).not.toMatch(/^[a-z0-9]+:\*$|^\*$/);
        if (
          list(s.Action).some((a) => /^(s3|dynamodb):/.test(a)) &&
          !list(s.Action).includes('s3:PutBucketNotification')
        ) {
          expect(list(s.Resource).map(text)).not.toContain('*');
        }
      }
    });
  });
});
