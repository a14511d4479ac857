/**
 * The synthesized template and its state machine definition for tests: in-process synthesis
 * with bundling skipped (and optionally the cdk-nag AwsSolutions checks), into a temporary
 * outdir that is removed; `Fn::Join` definitions resolved to plain ASL; Lambda Tasks mapped to
 * the logical ids of their functions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CaimanSpikesStack } from '../../infra/CaimanSpikesStack.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
  [k: string]: unknown;
}
interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  [k: string]: unknown;
}

/** ASL as far as the tests need it. */
interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ItemProcessor?: AslMachine & { ProcessorConfig?: { Mode?: string } };
  Iterator?: AslMachine;
  Branches?: AslMachine[];
  [k: string]: unknown;
}
interface AslMachine {
  StartAt: string;
  States: Record<string, AslState>;
  [k: string]: unknown;
}

/**
 * Synthesizes the stack in memory (no bundling, no network) and returns its template.
 * @param options.nag - also run cdk-nag's AwsSolutions pack (synthesis throws on a finding)
 */
function synthTemplate(options: { nag?: boolean } = {}): CfnTemplate {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-test-'));
  try {
    const app = new App({
      outdir,
      context: {
        'aws:cdk:bundling-stacks': [],
        '@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2': true,
      },
    });
    const stack = new CaimanSpikesStack(app, 'CaimanSpikes', {
      env: { account: ACCOUNT, region: REGION },
    });
    if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function resolveIntrinsic(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Ref' in v) {
    const ref = v.Ref as string;
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::Region') return REGION;
    if (ref === 'AWS::AccountId') return ACCOUNT;
    return `ref-${ref}`;
  }
  if ('Fn::GetAtt' in v) {
    const [id] = v['Fn::GetAtt'] as [string, string];
    return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
  }
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(resolveIntrinsic).join(sep);
  }
  throw new TypeError(`unsupported intrinsic ${JSON.stringify(value)}`);
}

/** The (only) state machine's definition as plain ASL. */
function stateMachineDefinition(template: CfnTemplate): AslMachine {
  const sm = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine',
  );
  if (!sm) throw new TypeError('no state machine in the template');
  return JSON.parse(resolveIntrinsic(sm.Properties.DefinitionString)) as AslMachine;
}

/** Every state of a machine, nested processors included: [name, state]. */
function allStates(machine: AslMachine): [string, AslState][] {
  const out: [string, AslState][] = [];
  for (const [name, state] of Object.entries(machine.States)) {
    out.push([name, state]);
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) out.push(...allStates(inner));
    for (const b of state.Branches ?? []) out.push(...allStates(b));
  }
  return out;
}

/** Lambda Tasks: state name → logical id of the invoked function. */
function lambdaTasks(machine: AslMachine): Map<string, string> {
  const tasks = new Map<string, string>();
  for (const [name, state] of allStates(machine)) {
    if (state.Type !== 'Task' || !state.Resource) continue;
    const fn =
      state.Resource.endsWith(':states:::lambda:invoke') && state.Parameters
        ? String(state.Parameters.FunctionName)
        : state.Resource;
    const id = fn.slice(fn.lastIndexOf(':') + 1);
    tasks.set(name, id);
  }
  return tasks;
}

export type { AslMachine, AslState, CfnResource, CfnTemplate };
export { ACCOUNT, allStates, lambdaTasks, REGION, stateMachineDefinition, synthTemplate };
