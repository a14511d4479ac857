/**
 * End-to-end, Assemble joining chunk parts server side: a cell set cut into chunks whose
 * cell-set parts are ≥ 5 MiB is assembled as a multipart upload of UploadPartCopy parts (the
 * last, smaller part read and uploaded with the footer), with outputs byte-identical to an
 * execution whose Assemble streams every part through the function.
 *
 * s3rver answers UploadPartCopy with NotImplemented, so a middleware on the functions' S3 client
 * (functions/shared/clients.ts) stands in for it: each UploadPartCopy becomes a ranged GetObject
 * plus an UploadPart made with the test's own client (so it counts as server side). The same
 * middleware counts the commands and the bytes Assemble downloads and uploads. concatObjects is
 * also checked against a fake S3Sender, as copyObject is.
 */
import { GetObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssembleEvent } from '../../functions/assembleFile.js';
import { type LocalWorkflow, startWorkflow } from '../helpers/localWorkflow.js';
import type { ExecutionOutcome, LambdaHandler } from '../helpers/sfnHarness.js';
import { syntheticCellSet } from './syntheticCellSet.js';

const MiB = 1024 ** 2;
/** 190 cells of 4×4 pixels and 36 000 frames: 144 064 bytes each; chunks of 40 cells = 5.8 MB. */
const CELLS = 190;
const FRAMES = 36_000;
const CHUNK_CELLS = 40;
const CELL_BYTES = (16 + FRAMES) * 4;

let wf: LocalWorkflow;
let s3Module: typeof import('../../functions/shared/s3.js');

/** What Assemble sent, per execution: command counts and bytes down (GetObject) and up. */
interface Traffic {
  commands: Map<string, number>;
  down: number;
  up: number;
}
let current: Traffic | null = null;

function bodyBytes(body: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  return (body as { byteLength?: number } | undefined)?.byteLength ?? 0;
}

/** An Assemble handler that counts its traffic into `into`. */
function counted(handler: LambdaHandler, into: Traffic): LambdaHandler {
  return async (event, context) => {
    current = into;
    try {
      return await handler(event, context);
    } finally {
      current = null;
    }
  };
}

beforeAll(async () => {
  wf = await startWorkflow();
  s3Module = await import('../../functions/shared/s3.js');
  const { s3 } = await import('../../functions/shared/clients.js');
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? '';
      const input = args.input as Record<string, unknown>;
      const traffic = current;
      if (traffic) traffic.commands.set(name, (traffic.commands.get(name) ?? 0) + 1);
      if (name === 'UploadPartCopyCommand') {
        const source = decodeURI(String(input.CopySource));
        const slash = source.indexOf('/');
        const got = await wf.s3.send(
          new GetObjectCommand({
            Bucket: source.slice(0, slash),
            Key: source.slice(slash + 1),
            Range: String(input.CopySourceRange),
          }),
        );
        const up = await wf.s3.send(
          new UploadPartCommand({
            Bucket: String(input.Bucket),
            Key: String(input.Key),
            UploadId: String(input.UploadId),
            PartNumber: Number(input.PartNumber),
            Body: await got.Body!.transformToByteArray(),
          }),
        );
        return { output: { CopyPartResult: { ETag: up.ETag }, $metadata: {} }, response: {} };
      }
      if (traffic && (name === 'PutObjectCommand' || name === 'UploadPartCommand')) {
        traffic.up += bodyBytes(input.Body);
      }
      const out = await next(args);
      if (traffic && name === 'GetObjectCommand') {
        traffic.down += (out.output as { ContentLength?: number }).ContentLength ?? 0;
      }
      return out;
    },
    { step: 'initialize', name: 'emulateUploadPartCopy' },
  );
});

afterAll(async () => {
  delete process.env.CHUNK_MAX_CELLS;
  await wf?.close();
});

describe('Assemble on parts of at least 5 MiB', () => {
  const joined: Traffic = { commands: new Map(), down: 0, up: 0 };
  const streamed: Traffic = { commands: new Map(), down: 0, up: 0 };
  let join: ExecutionOutcome;
  let stream: ExecutionOutcome;

  beforeAll(async () => {
    await wf.put(
      'inputs/mp/cells.isxd',
      await syntheticCellSet({ numCells: CELLS, numTimes: FRAMES, seed: 3 }),
    );
    const { wrapHandler } = await import('../../functions/shared/middleware.js');
    const { s3JobStore } = await import('../../functions/shared/s3Store.js');
    const { cachedJob } = await import('../../functions/shared/plans.js');
    const { assembleStage } = await import('../../lib/job/stages.js');
    // The streaming baseline: the same stage over the same store, without concatWork.
    const streaming = wrapHandler('assembleFile', async (event: AssembleEvent, _c: Context) => {
      const { concatWork: _joins, ...store } = s3JobStore({
        bucket: event.bucket,
        executionName: event.executionName,
      });
      await assembleStage(store, await cachedJob(event.executionName, store), event.item.file);
      return { file: event.item.file };
    });
    process.env.CHUNK_MAX_CELLS = String(CHUNK_CELLS);
    join = await wf.execute(
      'mp-join',
      { inputs: ['inputs/mp/cells.isxd'], outputPrefix: 'outputs/mp-join/' },
      { assembleFile: counted(wf.handlers.assembleFile, joined) },
    );
    stream = await wf.execute(
      'mp-stream',
      { inputs: ['inputs/mp/cells.isxd'], outputPrefix: 'outputs/mp-stream/' },
      { assembleFile: counted(streaming as LambdaHandler, streamed) },
    );
    delete process.env.CHUNK_MAX_CELLS;
  }, 300_000);

  it('copies the full cell-set parts with UploadPartCopy and streams nothing it can copy', async () => {
    // Assess
    expect(join.status, JSON.stringify(join.error)).toBe('SUCCEEDED');
    expect(stream.status, JSON.stringify(stream.error)).toBe('SUCCEEDED');
    // 5 chunks (40, 40, 40, 40, 30 cells): parts 0–3 copied, part 4 (4.3 MB) goes with the footer
    expect(joined.commands.get('UploadPartCopyCommand')).toBe(4);
    expect(joined.commands.get('AbortMultipartUploadCommand') ?? 0).toBe(0);
    expect(streamed.commands.get('UploadPartCopyCommand') ?? 0).toBe(0);
    // What the copy saved: exactly the four copied parts were not uploaded by the function.
    expect(streamed.up - joined.up).toBe(4 * CHUNK_CELLS * CELL_BYTES);
    expect(4 * CHUNK_CELLS * CELL_BYTES).toBeGreaterThan(4 * 5 * MiB);
  });

  it('writes outputs byte-identical to the streamed assembly, manifest included', async () => {
    // Prepare
    const names = (await wf.list('outputs/mp-stream/')).filter((n) => n !== 'usage.json');
    type Entry = { name: string; size: number; sha256: string };
    const manifest = async (p: string) =>
      (await wf.getJson<{ outputs: Entry[] }>(`${p}manifest.json`))!.outputs.filter(
        (o) => o.name !== 'usage.json',
      );
    // Assess
    expect(names).toHaveLength(8);
    expect((await wf.list('outputs/mp-join/')).filter((n) => n !== 'usage.json')).toEqual(names);
    for (const n of names.filter((x) => x !== 'manifest.json')) {
      const a = Buffer.from((await wf.get(`outputs/mp-stream/${n}`))!);
      const b = Buffer.from((await wf.get(`outputs/mp-join/${n}`))!);
      expect(b.equals(a), n).toBe(true);
    }
    expect(await manifest('outputs/mp-join/')).toEqual(await manifest('outputs/mp-stream/'));
    const cellSet = (await manifest('outputs/mp-join/')).find(
      (o) => o.name === 'cellset_denoised.000.isxd',
    );
    expect(cellSet!.size).toBeGreaterThan(CELLS * CELL_BYTES);
  });
});

describe('concatPlan', () => {
  it('copies the leading parts within 5 MiB–5 GiB and uploads a small rest with the tail', () => {
    // Act / Assess
    const six = 6 * MiB;
    expect(s3Module.concatPlan([six, six, six])).toEqual({ copied: 3 });
    expect(s3Module.concatPlan([six, six, MiB])).toEqual({ copied: 2 });
    expect(s3Module.concatPlan([5 * MiB, 5 * MiB - 1])).toEqual({ copied: 1 });
    expect(s3Module.concatPlan([5 * MiB - 1])).toBeNull();
    expect(s3Module.concatPlan([six, MiB, six])).toBeNull();
    expect(s3Module.concatPlan([six, 3 * MiB, 3 * MiB])).toBeNull();
    expect(s3Module.concatPlan([5 * 1024 ** 3 + 1])).toBeNull();
    expect(s3Module.concatPlan(Array(9_999).fill(six))).toEqual({ copied: 9_999 });
    expect(s3Module.concatPlan(Array(10_000).fill(six))).toBeNull();
  });
});

describe('concatObjects', () => {
  type Sent = { name: string; input: Record<string, unknown> };
  const fake = (sent: Sent[], failOn?: string) => ({
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      sent.push({ name, input: command.input });
      if (name === failOn) throw Object.assign(new Error('injected'), { name: 'InternalError' });
      if (name === 'CreateMultipartUploadCommand') return { UploadId: 'u1' };
      if (name === 'UploadPartCopyCommand') {
        return { CopyPartResult: { ETag: `"c${command.input.PartNumber}"` } };
      }
      if (name === 'GetObjectCommand') {
        return { Body: { transformToByteArray: async () => new Uint8Array([7, 8, 9]) } };
      }
      if (name === 'UploadPartCommand') return { ETag: `"u${command.input.PartNumber}"` };
      return {};
    },
  });
  const parts = [
    { key: 'work/r/parts/0/0.cellset', size: 6 * MiB },
    { key: 'work/r/parts/0/1.cellset', size: 7 * MiB },
    { key: 'work/r/parts/0/2.cellset', size: 3 },
  ];

  it('copies the full parts, uploads the rest with the tail as the last part, then completes', async () => {
    // Prepare
    const sent: Sent[] = [];
    // Act
    await s3Module.concatObjects(
      'data',
      parts,
      new Uint8Array([1, 2]),
      'work/r/outputs/c.isxd',
      'application/octet-stream',
      fake(sent) as never,
    );
    // Assess
    expect(sent.map((c) => c.name)).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCopyCommand',
      'UploadPartCopyCommand',
      'GetObjectCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
    ]);
    const copies = sent.filter((c) => c.name === 'UploadPartCopyCommand').map((c) => c.input);
    expect(copies.map((c) => [c.PartNumber, c.CopySource, c.CopySourceRange])).toEqual([
      [1, 'data/work/r/parts/0/0.cellset', `bytes=0-${6 * MiB - 1}`],
      [2, 'data/work/r/parts/0/1.cellset', `bytes=0-${7 * MiB - 1}`],
    ]);
    const last = sent.find((c) => c.name === 'UploadPartCommand')!.input;
    expect([last.PartNumber, Array.from(last.Body as Uint8Array)]).toEqual([3, [7, 8, 9, 1, 2]]);
    expect(sent.at(-1)!.input.MultipartUpload).toEqual({
      Parts: [
        { ETag: '"c1"', PartNumber: 1 },
        { ETag: '"c2"', PartNumber: 2 },
        { ETag: '"u3"', PartNumber: 3 },
      ],
    });
  });

  it('aborts the upload when a copy fails (whole or absent)', async () => {
    // Prepare
    const sent: Sent[] = [];
    // Act
    const run = s3Module.concatObjects(
      'data',
      parts,
      new Uint8Array([1]),
      'work/r/outputs/c.isxd',
      'application/octet-stream',
      fake(sent, 'UploadPartCopyCommand') as never,
    );
    // Assess
    await expect(run).rejects.toThrow('injected');
    expect(sent.map((c) => c.name)).not.toContain('CompleteMultipartUploadCommand');
    expect(sent.at(-1)).toEqual({
      name: 'AbortMultipartUploadCommand',
      input: { Bucket: 'data', Key: 'work/r/outputs/c.isxd', UploadId: 'u1' },
    });
  });

  it('refuses sizes concatPlan refuses, sending nothing', async () => {
    // Prepare
    const sent: Sent[] = [];
    // Act
    const run = s3Module.concatObjects(
      'data',
      [{ key: 'a', size: MiB }],
      new Uint8Array(1),
      'b',
      'x',
      fake(sent) as never,
    );
    // Assess
    await expect(run).rejects.toMatchObject({ code: 'Invariant' });
    expect(sent).toEqual([]);
  });
});
