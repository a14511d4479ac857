/**
 * Object versions end to end (s3rver with emulated versioning, test/helpers/versioning.ts): a run
 * reads the version of its input that Plan pinned even when the input is re-uploaded between Plan
 * and the chunks; an input or a job file named with a versionId is read at that version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellSetOutputName, eventSetOutputName } from '../../lib/job/outputs.js';
import { type LocalWorkflow, startWorkflow } from '../helpers/localWorkflow.js';
import type { ExecutionOutcome, JsonValue, LambdaHandler } from '../helpers/sfnHarness.js';
import { addVersioning, latestVersion, VERSIONS_PREFIX } from '../helpers/versioning.js';
import { syntheticCellSet } from './syntheticCellSet.js';

const INPUT = 'inputs/versioned.isxd';
const OUTPUTS = [cellSetOutputName(0), eventSetOutputName(0)];

let wf: LocalWorkflow;
let first: Uint8Array;
let second: Uint8Array;
let firstVersion: string;
const removers: (() => void)[] = [];

/** The two output cell sets of a run, by name. */
async function outputsOf(prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of OUTPUTS) {
    const bytes = await wf.get(`${prefix}${name}`);
    expect(bytes, `${prefix}${name}`).not.toBeNull();
    out[name] = Buffer.from(bytes as Uint8Array).toString('base64');
  }
  return out;
}

async function run(
  name: string,
  input: JsonValue,
  override?: Partial<Record<string, LambdaHandler>>,
): Promise<ExecutionOutcome> {
  const outcome = await wf.execute(name, input, override);
  expect(outcome.error, name).toBeUndefined();
  expect(outcome.status, name).toBe('SUCCEEDED');
  return outcome;
}

beforeAll(async () => {
  wf = await startWorkflow();
  const { s3 } = await import('../../functions/shared/clients.js');
  const prefixes = ['inbox/', 'inputs/', 'jobs/'];
  removers.push(addVersioning(s3, prefixes), addVersioning(wf.s3, prefixes));
  first = await syntheticCellSet({ numCells: 5, numTimes: 400, seed: 11 });
  second = await syntheticCellSet({ numCells: 5, numTimes: 400, seed: 12 });
  await wf.put(INPUT, first);
  firstVersion = latestVersion(INPUT) as string;
  await run('reference', { inputs: [INPUT], outputPrefix: 'outputs/reference/' });
}, 120_000);

afterAll(async () => {
  for (const remove of removers) remove();
  await wf?.close();
});

describe('object versions', () => {
  it('reads the version pinned at Plan although the input is re-uploaded before the chunks', async () => {
    // Prepare
    let reuploaded = false;
    const chunk: LambdaHandler = async (event, context) => {
      if (!reuploaded) {
        reuploaded = true;
        await wf.put(INPUT, second);
      }
      return wf.handlers.deconvolveChunk(event, context);
    };
    // Act
    await run(
      'pinned',
      { inputs: [INPUT], outputPrefix: 'outputs/pinned/' },
      { deconvolveChunk: chunk },
    );
    // Assess
    expect(reuploaded).toBe(true);
    expect(latestVersion(INPUT)).not.toBe(firstVersion);
    expect(await outputsOf('outputs/pinned/')).toEqual(await outputsOf('outputs/reference/'));
    // the current version is the second one, whose outputs differ
    await run('current', { inputs: [INPUT], outputPrefix: 'outputs/current/' });
    expect(await outputsOf('outputs/current/')).not.toEqual(await outputsOf('outputs/reference/'));
    // the manifest names the exact version read
    const manifest = await wf.getJson<{ inputs: { name: string; versionId?: string }[] }>(
      'outputs/pinned/manifest.json',
    );
    expect(manifest?.inputs).toEqual([
      expect.objectContaining({ name: INPUT, versionId: firstVersion }),
    ]);
  });

  it('reads an input named with a versionId at that version', async () => {
    // Prepare: the current version is the second one (previous test or this put)
    await wf.put(INPUT, second);
    // Act
    await run('named', {
      inputs: [{ key: INPUT, versionId: firstVersion }],
      outputPrefix: 'outputs/named/',
    });
    // Assess
    expect(await outputsOf('outputs/named/')).toEqual(await outputsOf('outputs/reference/'));
  });

  it('reads the job file at the version its upload event named', async () => {
    // Prepare
    const key = 'jobs/versioned.json';
    await wf.put(
      key,
      JSON.stringify({
        inputs: [{ key: INPUT, versionId: firstVersion }],
        outputPrefix: 'outputs/job-v1/',
      }),
    );
    const v1 = latestVersion(key) as string;
    await wf.put(key, JSON.stringify({ inputs: [INPUT], outputPrefix: 'outputs/job-v2/' }));
    // Act
    await run('job-v1', { jobFile: { key, versionId: v1 } });
    // Assess
    expect(await wf.list('outputs/job-v2/')).toEqual([]);
    expect(await outputsOf('outputs/job-v1/')).toEqual(await outputsOf('outputs/reference/'));
  });

  it('keeps every version under the hidden prefix and never lists it as an input', async () => {
    // Assess
    const hidden = await wf.list(`${VERSIONS_PREFIX}${INPUT}/`);
    expect(hidden.length).toBeGreaterThanOrEqual(3);
    expect(hidden).toContain(firstVersion);
  });
});
