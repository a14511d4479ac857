/**
 * End-to-end, the publish protocol on (local) AWS: a run's outputs appear under its prefix whole
 * or not at all. Failures injected in Assemble and in Finalize leave only failure.json and
 * usage.json; an Assemble that finishes after Record failure cannot write there; two
 * executions cannot share an outputPrefix; DeleteObjects' per-key errors are retried.
 */
import type { DeleteObjectsCommand, DeleteObjectsCommandOutput } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalWorkflow, startWorkflow } from '../helpers/localWorkflow.js';
import type { LambdaHandler } from '../helpers/sfnHarness.js';
import { syntheticCellSet } from './syntheticCellSet.js';

let wf: LocalWorkflow;
let s3Module: typeof import('../../functions/shared/s3.js');
const A = 'inputs/pp/a.isxd';
const B = 'inputs/pp/b.isxd';

beforeAll(async () => {
  wf = await startWorkflow();
  s3Module = await import('../../functions/shared/s3.js');
  // Two parts of one series: the same cells, the second starting after the first ends
  await wf.put(A, await syntheticCellSet({ numCells: 6, numTimes: 300, seed: 5 }));
  await wf.put(
    B,
    await syntheticCellSet({ numCells: 6, numTimes: 300, seed: 5, startSeconds: 100 }),
  );
});

afterAll(async () => {
  expect(wf.denials).toEqual([]);
  await wf?.close();
});

const injected = (message: string) =>
  Object.assign(new Error(message), { name: 'InjectedFailure' });

/** A gate a handler waits on until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void; opened: () => boolean } {
  let resolve!: () => void;
  let isOpen = false;
  const wait = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    wait,
    open: () => {
      isOpen = true;
      resolve();
    },
    opened: () => isOpen,
  };
}

describe('a failure injected in Assemble, with the other file’s Assemble finishing late', () => {
  let outcome: Awaited<ReturnType<LocalWorkflow['execute']>>;
  let late: Promise<unknown> | null = null;
  let lateResult: unknown;
  /** Keys the S3 client wrote after the failure was recorded. */
  const lateKeys: string[] = [];

  beforeAll(async () => {
    // File 0's Assemble runs for real, but its writes of the staged outputs are held until the
    // execution has failed and Record failure has cleaned up; file 1's Assemble fails.
    const lateGate = gate();
    // Reads (the input's raw traces for the traces preview, …) are not writes: not recorded.
    const isRead = (command: string) => /^(Get|Head|List)/.test(command);
    const holdStagedWrites =
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: unknown) => {
        const key = (args as { input: { Key?: string } }).input.Key ?? '';
        if (key.startsWith('work/runs/pp-assemble/outputs/')) await lateGate.wait;
        // Writes only (Assemble also reads its input, for the previews' and the report's raw traces).
        if (lateGate.opened() && !isRead(context.commandName ?? '')) lateKeys.push(key);
        return next(args);
      };
    s3Module.s3.middlewareStack.add(holdStagedWrites as never, {
      step: 'initialize',
      name: 'holdStagedWrites',
    });
    const assemble = wf.handlers.assembleFile;
    const assembleFile: LambdaHandler = async (event, context) => {
      const file = (event as unknown as { item: { file: number } }).item.file;
      if (file === 1) throw injected('assembly of file 1 failed on purpose');
      late = assemble(event, context);
      return late;
    };
    try {
      outcome = await wf.execute(
        'pp-assemble',
        { inputs: [A, B], outputPrefix: 'outputs/pp-assemble/' },
        { assembleFile },
      );
      lateGate.open();
      lateResult = await late;
    } finally {
      s3Module.s3.middlewareStack.remove('holdStagedWrites');
    }
  });

  it('fails and leaves only failure.json and usage.json, even after the late Assemble', async () => {
    // Act
    const files = await wf.list('outputs/pp-assemble/');
    const report = await wf.getJson<Record<string, unknown>>('outputs/pp-assemble/failure.json');
    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(lateResult).toEqual({ file: 0 }); // it really finished, after the failure was recorded
    expect(files).toEqual(['failure.json', 'usage.json']);
    // what it wrote after the failure went to the execution's work area only (its IAM role has
    // no access to outputs/ at all: see the infra test), which the lifecycle rule expires
    expect(lateKeys.length).toBeGreaterThan(0);
    expect(lateKeys.every((k) => k.startsWith('work/runs/pp-assemble/'))).toBe(true);
    // (Assemble stages the file's previews too)
    expect(await wf.list('work/runs/pp-assemble/outputs/')).toEqual([
      'cellset_denoised.000.isxd',
      'footprints_cellset_denoised.000.svg',
      'neural_events.000.isxd',
      'preview_neural_events.000.svg',
      'traces_cellset_denoised.000.svg',
    ]);
    // (the injected throw happens outside the stage, as a crash would: no error record, so the
    // report names the Map's error)
    expect(report).toMatchObject({
      status: 'FAILED',
      error: 'States.ExceedToleratedFailureThreshold',
    });
  });

  it('lets a new run use the prefix afterwards (the claim was released)', async () => {
    // Act
    const again = await wf.execute('pp-assemble-2', {
      inputs: [A, B],
      outputPrefix: 'outputs/pp-assemble/',
    });
    const files = await wf.list('outputs/pp-assemble/');
    // Assess
    expect(again.status).toBe('SUCCEEDED');
    expect(files).toContain('manifest.json');
    expect(files).not.toContain('failure.json');
  });
});

describe('a failure injected in Finalize while it publishes', () => {
  it('removes what it had published and leaves only failure.json and usage.json', async () => {
    // Prepare: the third CopyObject of the publish fails (not retried: thrown before the SDK's retry step)
    let copies = 0;
    const failThirdCopy = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      const input = (args as { input: { CopySource?: string } }).input;
      if (input.CopySource !== undefined && ++copies === 3)
        throw injected('copy 3 failed on purpose');
      return next(args);
    };
    s3Module.s3.middlewareStack.add(failThirdCopy as never, {
      step: 'initialize',
      name: 'failThirdCopy',
    });
    // Act
    let outcome: Awaited<ReturnType<LocalWorkflow['execute']>>;
    try {
      outcome = await wf.execute('pp-finalize', {
        inputs: [A, B],
        outputPrefix: 'outputs/pp-finalize/',
      });
    } finally {
      s3Module.s3.middlewareStack.remove('failThirdCopy');
    }
    // Assess
    expect(copies).toBeGreaterThanOrEqual(3);
    expect(outcome.status).toBe('FAILED');
    expect(await wf.list('outputs/pp-finalize/')).toEqual(['failure.json', 'usage.json']);
    expect(await wf.getJson('outputs/pp-finalize/failure.json')).toMatchObject({
      error: 'InjectedFailure',
      cause: expect.stringContaining('copy 3 failed on purpose'),
    });
  });
});

describe('two executions given one outputPrefix', () => {
  it('fails the second at Plan naming the prefix, and the first publishes untouched', async () => {
    // Prepare: the first run is held in its chunks until the second has failed
    const held = gate();
    const entered = gate();
    const chunk = wf.handlers.deconvolveChunk;
    const deconvolveChunk: LambdaHandler = async (event, context) => {
      entered.open();
      await held.wait;
      return chunk(event, context);
    };
    const input = { inputs: [A, B], outputPrefix: 'outputs/pp-shared/' };
    // Act
    const first = wf.execute('pp-first', input, { deconvolveChunk });
    await entered.wait; // the first run has planned (and claimed the prefix)
    const second = await wf.execute('pp-second', input);
    held.open();
    const firstOutcome = await first;
    // Assess
    expect(second.status).toBe('FAILED');
    const report = await wf.getJson<Record<string, unknown>>('outputs/pp-second/failure.json');
    expect(report).toMatchObject({ error: 'InvalidInputError' });
    expect(String(report?.cause)).toMatch(
      /outputPrefix outputs\/pp-shared\/ is in use by execution pp-first/,
    );
    expect(firstOutcome.status).toBe('SUCCEEDED');
    const files = await wf.list('outputs/pp-shared/');
    expect(files).toContain('manifest.json');
    expect(files).not.toContain('failure.json');
    expect(files).toHaveLength(14);
  });
});

describe('DeleteObjects reporting a key it did not delete', () => {
  it('is retried until the key is gone (cleanup after a failed publish)', async () => {
    // Prepare: the third CopyObject of the publish fails; then the first DeleteObjects naming
    // the already published cell set leaves it in place and reports it under Errors, as S3 does
    // for a key it could not delete.
    const prefix = 'outputs/pp-delete/';
    let copies = 0;
    const failThirdCopy = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      const input = (args as { input: { CopySource?: string } }).input;
      if (input.CopySource !== undefined && ++copies === 3) throw injected('copy 3 failed');
      return next(args);
    };
    const attempts: number[] = [];
    const target = `${prefix}cellset_denoised.000.isxd`;
    const refuseOnce =
      (next: (args: unknown) => Promise<{ output: DeleteObjectsCommandOutput }>) =>
      async (args: unknown) => {
        const input = (args as { input: { Delete?: { Objects?: { Key?: string }[] } } }).input;
        const objects = input.Delete?.Objects ?? [];
        const refused = objects.find((o) => o.Key === target);
        if (refused === undefined) return next(args);
        attempts.push(objects.length);
        if (attempts.length > 1) return next(args);
        input.Delete!.Objects = objects.filter((o) => o !== refused);
        const result =
          input.Delete!.Objects.length > 0 ? await next(args) : { output: { $metadata: {} } };
        (result.output as DeleteObjectsCommandOutput).Errors = [
          { Key: target, Code: 'InternalError', Message: 'We encountered an internal error.' },
        ];
        return result;
      };
    s3Module.s3.middlewareStack.add(failThirdCopy as never, { step: 'initialize', name: 'copy3' });
    s3Module.s3.middlewareStack.add(refuseOnce as never, { step: 'initialize', name: 'refuse' });
    // Act
    let outcome: Awaited<ReturnType<LocalWorkflow['execute']>>;
    try {
      outcome = await wf.execute('pp-delete', { inputs: [A], outputPrefix: prefix });
    } finally {
      s3Module.s3.middlewareStack.remove('copy3');
      s3Module.s3.middlewareStack.remove('refuse');
    }
    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(attempts).toHaveLength(2);
    expect(await wf.list(prefix)).toEqual(['failure.json', 'usage.json']);
    expect(await wf.getJson(`${prefix}usage.json`)).toMatchObject({ status: 'FAILED' });
  });
});

describe('deleteKeys', () => {
  it('surfaces keys S3 keeps refusing to delete, naming them, after retrying', async () => {
    // Prepare: a client whose DeleteObjects never deletes one key
    const calls: string[][] = [];
    const client = {
      send: async (command: DeleteObjectsCommand) => {
        const keys = (command.input.Delete?.Objects ?? []).map((o) => o.Key ?? '');
        calls.push(keys);
        return {
          Errors: keys
            .filter((k) => k === 'o/manifest.json')
            .map((Key) => ({ Key, Code: 'AccessDenied', Message: 'Access Denied' })),
        };
      },
    };
    // Act
    const run = s3Module.deleteKeys('data', ['o/a.svg', 'o/manifest.json'], client as never);
    // Assess
    await expect(run).rejects.toMatchObject({
      name: 'CaimanSpikesInternalError',
      code: 'DeleteFailed',
    });
    await expect(run).rejects.toThrow(/o\/manifest\.json \(AccessDenied: Access Denied\)/);
    expect(calls).toEqual([['o/a.svg', 'o/manifest.json'], ...Array(4).fill(['o/manifest.json'])]);
  });
});

describe('copyObject', () => {
  it('copies objects over 5 GB as a multipart upload of UploadPartCopy ranges', async () => {
    // Prepare
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    const client = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        if (command.constructor.name === 'CreateMultipartUploadCommand') return { UploadId: 'u1' };
        if (command.constructor.name === 'UploadPartCopyCommand')
          return { CopyPartResult: { ETag: `"e${sent.length}"` } };
        return {};
      },
    };
    const size = 6 * 1024 ** 3 + 5;
    // Act
    await s3Module.copyObject(
      'data',
      'work/x/outputs/c.isxd',
      'outputs/p/c.isxd',
      size,
      'application/octet-stream',
      client as never,
    );
    // Assess
    const parts = sent.filter((c) => c.name === 'UploadPartCopyCommand');
    expect(sent[0].name).toBe('CreateMultipartUploadCommand');
    expect(parts.map((p) => p.input.CopySourceRange)).toEqual([
      ...Array.from({ length: 6 }, (_, k) => `bytes=${k * 1024 ** 3}-${(k + 1) * 1024 ** 3 - 1}`),
      `bytes=${6 * 1024 ** 3}-${size - 1}`,
    ]);
    expect(sent.at(-1)?.name).toBe('CompleteMultipartUploadCommand');
    const last = sent[sent.length - 1];
    expect((last.input.MultipartUpload as { Parts: unknown[] }).Parts).toHaveLength(7);
    // and one CopyObject at or below the limit
    sent.length = 0;
    await s3Module.copyObject(
      'data',
      'a',
      'b',
      s3Module.COPY_OBJECT_MAX_BYTES,
      'x',
      client as never,
    );
    expect(sent.map((c) => c.name)).toEqual(['CopyObjectCommand']);
  });
});
