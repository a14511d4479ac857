/**
 * CDK app entry (`npx cdk synth` / `npx cdk deploy`, see cdk.json): one CaimanSpikesStack,
 * checked by cdk-nag's AwsSolutions pack. The account and region come from the CLI's
 * environment at deploy time; synthesis needs neither.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CaimanSpikesStack } from './CaimanSpikesStack.js';

const app = new App();
new CaimanSpikesStack(app, 'CaimanSpikes', {
  description: 'CaImAn spike extraction for Inscopix cell sets (caiman-spikes)',
  env:
    process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
      ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
      : undefined,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
