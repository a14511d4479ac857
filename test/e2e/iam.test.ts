/**
 * End-to-end IAM check: every SDK call the handlers (and the trigger) make is evaluated against
 * the synthesized policy of its function (test/helpers/iamSimulation.ts). A normal run is denied
 * nothing; with one permission removed from the template the call is denied and the run fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../helpers/asl.js';
import { iamRequests } from '../helpers/iamSimulation.js';
import { type LocalWorkflow, STATE_MACHINE_ARN, startWorkflow } from '../helpers/localWorkflow.js';
import { syntheticCellSet } from './syntheticCellSet.js';

let wf: LocalWorkflow;
const INPUT = 'inputs/iam/cells.isxd';

beforeAll(async () => {
  wf = await startWorkflow();
  await wf.put(INPUT, await syntheticCellSet({ numCells: 4, numTimes: 200, seed: 3 }));
});

afterAll(async () => {
  await wf?.close();
});

/** The template with the statements of `fn`'s policy that mention `resourcePart` removed. */
function without(template: CfnTemplate, fn: string, resourcePart: string): CfnTemplate {
  const t = structuredClone(template);
  for (const r of Object.values(t.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = JSON.stringify(r.Properties.Roles);
    if (!roles.includes(fn)) continue;
    const doc = r.Properties.PolicyDocument as { Statement: unknown[] };
    doc.Statement = doc.Statement.filter((s) => !JSON.stringify(s).includes(resourcePart));
  }
  return t;
}

describe('IAM simulation against the synthesized policies', () => {
  it('denies nothing in a normal run, and checks calls of every function', async () => {
    // Act
    const outcome = await wf.execute('iam-ok', {
      inputs: [INPUT],
      outputPrefix: 'outputs/iam-ok/',
    });
    const byFunction = new Set(
      wf.iam.checked.map((c) => c.function.replace(/^Pipeline|[0-9A-F]{8}$/g, '')),
    );
    const actions = new Set(wf.iam.checked.map((c) => c.action));
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(wf.denials).toEqual([]);
    expect([...byFunction].sort()).toEqual([
      'assembleFile',
      'deconvolveChunk',
      'finalizeJob',
      'planJob',
    ]);
    for (const a of [
      's3:GetObject',
      's3:PutObject',
      's3:ListBucket',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]) {
      expect(actions, a).toContain(a);
    }
  });

  it('denies the chunk function its read of inputs/ once that permission is removed, and the run fails', async () => {
    // Prepare
    wf.usePolicies(without(wf.template, 'deconvolveChunk', '/inputs/*'));
    try {
      // Act
      const outcome = await wf.execute('iam-denied', {
        inputs: [INPUT],
        outputPrefix: 'outputs/iam-denied/',
      });
      const report = await wf.getJson<Record<string, unknown>>('outputs/iam-denied/failure.json');
      // Assess
      expect(outcome.status).toBe('FAILED');
      expect(wf.denials.length).toBeGreaterThan(0);
      expect(wf.denials[0]).toMatchObject({
        action: 's3:GetObject',
        resource: `arn:aws:s3:::data/${INPUT}`,
        command: 'GetObjectCommand',
      });
      expect(wf.denials[0].function).toMatch(/deconvolveChunk/);
      expect(report).toMatchObject({ status: 'FAILED', error: 'AccessDenied' });
      expect(await wf.list('outputs/iam-denied/')).toEqual(['failure.json', 'usage.json']);
    } finally {
      wf.usePolicies(wf.template);
      wf.denials.splice(0);
    }
  });

  it('checks the trigger’s StartExecution against its policy', async () => {
    // Prepare
    const sfn = wf.stepFunctions(async (name) => ({ name, status: 'SUCCEEDED', output: null }));
    const event = {
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: 'data' }, object: { key: 'inbox/a.isxd', eTag: '"e"' } },
        },
      ],
    } as never;
    // Act
    const allowed = await wf.trigger(event, sfn);
    wf.usePolicies(without(wf.template, 'startFromUpload', 'states:StartExecution'));
    const denied = wf.trigger(event, wf.stepFunctions());
    // Assess
    expect(allowed.started).toHaveLength(1);
    await expect(denied).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(wf.denials).toEqual([
      expect.objectContaining({ action: 'states:StartExecution', resource: STATE_MACHINE_ARN }),
    ]);
    wf.usePolicies(wf.template);
    wf.denials.splice(0);
  });
});

describe('IAM actions of S3 calls', () => {
  it('maps versions, copies and batch deletes to the actions S3 authorizes them with', () => {
    // Act
    const versioned = iamRequests('s3', 'GetObjectCommand', {
      Bucket: 'b',
      Key: 'k',
      VersionId: 'v',
    });
    const copy = iamRequests('s3', 'UploadPartCopyCommand', {
      Bucket: 'b',
      Key: 'out/x',
      CopySource: 'b/work/a%20b?versionId=3',
    });
    const deletes = iamRequests('s3', 'DeleteObjectsCommand', {
      Bucket: 'b',
      Delete: { Objects: [{ Key: 'o/1' }, { Key: 'o/2' }] },
    });
    const list = iamRequests('s3', 'ListObjectsV2Command', { Bucket: 'b', Prefix: 'work/' });
    // Assess
    expect(versioned.map((r) => r.action)).toEqual(['s3:GetObjectVersion']);
    expect(copy.map((r) => [r.action, r.resource])).toEqual([
      ['s3:GetObjectVersion', 'arn:aws:s3:::b/work/a b'],
      ['s3:PutObject', 'arn:aws:s3:::b/out/x'],
    ]);
    expect(deletes.map((r) => [r.action, r.resource])).toEqual([
      ['s3:DeleteObject', 'arn:aws:s3:::b/o/1'],
      ['s3:DeleteObject', 'arn:aws:s3:::b/o/2'],
    ]);
    expect(list).toEqual([
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': 'work/' } },
    ]);
  });
});
