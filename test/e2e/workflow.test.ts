/**
 * End-to-end: the synthesized state machine, run by aws-local-stepfunctions with every Lambda
 * Task bound to its real handler, against s3rver and dynalite on 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../helpers/asl.js';
import type { LocalAws } from '../helpers/localAws.js';
import { type LocalWorkflow, startWorkflow, TABLE } from '../helpers/localWorkflow.js';
import {
  asS3Notification,
  type ExecutionOutcome,
  type JsonValue,
  type LambdaHandler,
  notificationFilters,
} from '../helpers/sfnHarness.js';
import { describeShared, sharedPath } from '../helpers/shared.js';
import { syntheticCellSet } from './syntheticCellSet.js';

const run = promisify(execFile);

let wf: LocalWorkflow;
let template: CfnTemplate;
let local: LocalAws;
let ddb: DynamoDBDocumentClient;
let handlers: Record<string, LambdaHandler>;

const put = (key: string, body: Uint8Array | string) => wf.put(key, body);
const get = (key: string) => wf.get(key);
const getJson = <T>(key: string) => wf.getJson<T>(key);
const list = (prefix: string) => wf.list(prefix);
const execute = (name: string, input: JsonValue) => wf.execute(name, input);

/** The Map item payloads a state of an execution received. */
function itemsOf(name: string, state: string): { item: Record<string, number> }[] {
  return (wf.payloads.get(name) ?? [])
    .filter((p) => p.state === state)
    .map((p) => p.payload as { item: Record<string, number> })
    .sort((a, b) => a.item.file - b.item.file || (a.item.chunk ?? 0) - (b.item.chunk ?? 0));
}

async function usageRecord(name: string): Promise<Record<string, unknown> | undefined> {
  const out = await ddb.send(
    new GetCommand({
      TableName: TABLE,
      Key: { pk: `EXEC#${name}`, sk: 'USAGE' },
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  wf = await startWorkflow();
  ({ template, local, ddb, handlers } = wf);
  process.env.STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:CaimanSpikes';
});

afterAll(async () => {
  delete process.env.CHUNK_MAX_CELLS;
  expect(wf.denials).toEqual([]);
  await wf?.close();
});

describeShared('workflow on the two-file series from ../shared/data', () => {
  const parts = ['cellset_series_part1.isxd', 'cellset_series_part2.isxd'];
  let outcome: ExecutionOutcome;
  let cliDir: string;

  beforeAll(async () => {
    for (const p of parts) await put(`inputs/series/${p}`, readFileSync(sharedPath('data', p)));
    cliDir = mkdtempSync(join(tmpdir(), 'cli-out-'));
    const [o] = await Promise.all([
      execute('series-1', {
        inputs: parts.map((p) => `inputs/series/${p}`),
        outputPrefix: 'outputs/series/',
        account: 'lab-a',
      }),
      run(process.execPath, [
        'bin/caiman-spikes.mjs',
        'run',
        ...parts.map((p) => sharedPath('data', p)),
        '--out',
        cliDir,
      ]),
    ]);
    outcome = o;
  });

  afterAll(() => rmSync(cliDir, { recursive: true, force: true }));

  it('succeeds and writes the same outputs as the local CLI run, byte for byte', async () => {
    // Prepare
    const cliFiles = readdirSync(cliDir).sort();
    // Act
    const cloudFiles = await list('outputs/series/');
    // Assess
    expect(outcome.status, JSON.stringify(await getJson('outputs/series/failure.json'))).toBe(
      'SUCCEEDED',
    );
    expect(cliFiles).toHaveLength(14);
    expect(cloudFiles).toEqual(cliFiles);
    // Differences by design: each input is named by its path locally and by its S3 key in the
    // cloud (output_metadata.json, report.html), and the run's identity and compute differ (usage.json).
    const localNames = (b: Buffer) =>
      b.toString('utf8').replaceAll(`${sharedPath('data')}/`, 'inputs/series/');
    for (const f of cliFiles.filter((n) => n !== 'usage.json' && n !== 'manifest.json')) {
      const cloud = Buffer.from((await get(`outputs/series/${f}`))!);
      const cli = readFileSync(join(cliDir, f));
      if (f === 'output_metadata.json' || f === 'report.html')
        expect(cloud.toString('utf8'), f).toBe(localNames(cli));
      else expect(sha256(cloud), f).toBe(sha256(cli));
    }
    // The two manifests list the same files, with the same sizes and SHA-256 but for those two.
    type Entry = { name: string; size: number; sha256: string };
    const cloudManifest = await getJson<{ outputs: Entry[] }>('outputs/series/manifest.json');
    const cliManifest = JSON.parse(readFileSync(join(cliDir, 'manifest.json'), 'utf8')) as {
      outputs: Entry[];
      inputs: { name: string }[];
    };
    const same = (o: Entry) =>
      o.name !== 'usage.json' && o.name !== 'output_metadata.json' && o.name !== 'report.html';
    expect(cloudManifest!.outputs.map((o) => o.name)).toEqual(
      cliManifest.outputs.map((o) => o.name),
    );
    expect(cloudManifest!.outputs.filter(same)).toEqual(cliManifest.outputs.filter(same));
    expect(cliManifest.inputs.map((i) => i.name)).toEqual(parts.map((p) => sharedPath('data', p)));
  });

  it('lists every output with its size and SHA-256 in manifest.json', async () => {
    // Act
    const manifest = await getJson<{ outputs: { name: string; size: number; sha256: string }[] }>(
      'outputs/series/manifest.json',
    );
    // Assess
    expect(manifest!.outputs.map((o) => o.name)).toEqual(
      (await list('outputs/series/')).filter((n) => n !== 'manifest.json'),
    );
    for (const o of manifest!.outputs) {
      const bytes = await get(`outputs/series/${o.name}`);
      expect({ name: o.name, size: bytes!.byteLength, sha256: sha256(bytes!) }).toEqual(o);
    }
  });

  it('records usage once: per-function compute, credits = 0.5 × hours, and the monthly total', async () => {
    // Act
    const record = await usageRecord('series-1');
    const usageJson = await getJson<Record<string, unknown>>('outputs/series/usage.json');
    const month = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'ACCOUNT#lab-a' },
      }),
    );
    // Assess
    expect(record).toMatchObject({ status: 'SUCCEEDED', files: 2, cells: 12, account: 'lab-a' });
    const ms = record!.computeMs as Record<string, number>;
    expect(Object.keys(ms).sort()).toEqual([
      'assembleFile',
      'deconvolveChunk',
      'finalizeJob',
      'planJob',
    ]);
    expect(record!.invocations).toMatchObject({
      planJob: 1,
      deconvolveChunk: 2,
      assembleFile: 2,
      finalizeJob: 1,
    });
    const total = Object.values(ms).reduce((a, b) => a + b, 0);
    expect(record!.totalComputeMs).toBe(total);
    expect(record!.credits).toBeCloseTo((0.5 * total) / 3_600_000, 15);
    const { pk: _pk, sk: _sk, monthlyApplied, ...stored } = record!;
    expect(usageJson).toEqual(stored);
    expect(monthlyApplied).toBe(true);
    expect(month.Items).toHaveLength(1);
    expect(month.Items![0]).toMatchObject({ executions: 1, succeeded: 1, files: 2, cells: 12 });
  });

  it('leaves no trace data in any state payload (Map items carry keys and cell ranges only)', () => {
    // Act
    const chunks = itemsOf('series-1', 'Deconvolve chunk');
    // Assess
    expect(chunks.map((p) => p.item)).toMatchObject([
      { file: 0, chunk: 0, numChunks: 1, cellStart: 0, cellEnd: 6 },
      { file: 1, chunk: 0, numChunks: 1, cellStart: 0, cellEnd: 6 },
    ]);
    for (const { payload } of wf.payloads.get('series-1')!) {
      expect(JSON.stringify(payload).length).toBeLessThan(1024);
    }
  });

  it('leaves no work area behind once the run has published', async () => {
    // Act
    const work = await list('work/runs/series-1/');
    // Assess
    expect(work).toEqual([]);
  });
});

describe('workflow on a large synthetic cell set', () => {
  let split: ExecutionOutcome;
  let whole: ExecutionOutcome;

  beforeAll(async () => {
    await put(
      'inputs/big/cells.isxd',
      await syntheticCellSet({ numCells: 40, numTimes: 400, seed: 7 }),
    );
    process.env.CHUNK_MAX_CELLS = '9';
    split = await execute('big-split', {
      inputs: ['inputs/big/cells.isxd'],
      outputPrefix: 'outputs/big-split/',
    });
    process.env.CHUNK_MAX_CELLS = '100000';
    whole = await execute('big-whole', {
      inputs: ['inputs/big/cells.isxd'],
      outputPrefix: 'outputs/big-whole/',
    });
    delete process.env.CHUNK_MAX_CELLS;
  });

  it('splits the cell set into several chunks', async () => {
    // Act
    const items = itemsOf('big-split', 'Deconvolve chunk').map((p) => p.item);
    // Assess
    expect(split.status).toBe('SUCCEEDED');
    expect(items.map((i) => [i.cellStart, i.cellEnd])).toEqual([
      [0, 9],
      [9, 18],
      [18, 27],
      [27, 36],
      [36, 40],
    ]);
    expect(itemsOf('big-whole', 'Deconvolve chunk')).toHaveLength(1);
  });

  it('writes outputs byte-identical to the unsplit run', async () => {
    // Prepare
    const names = (await list('outputs/big-whole/')).filter(
      (n) => n !== 'manifest.json' && n !== 'usage.json',
    );
    // Assess
    expect(whole.status).toBe('SUCCEEDED');
    expect(names).toHaveLength(7);
    expect(
      (await list('outputs/big-split/')).filter((n) => n !== 'manifest.json' && n !== 'usage.json'),
    ).toEqual(names);
    for (const n of names) {
      expect(sha256((await get(`outputs/big-split/${n}`))!), n).toBe(
        sha256((await get(`outputs/big-whole/${n}`))!),
      );
    }
  });
});

describeShared('workflow on a corrupt input', () => {
  let outcome: ExecutionOutcome;

  beforeAll(async () => {
    const good = readFileSync(sharedPath('data', 'cellset_series_part1.isxd'));
    await put('inputs/bad/good.isxd', good);
    await put('inputs/bad/truncated.isxd', good.subarray(0, 9000));
    outcome = await execute('corrupt-1', {
      inputs: ['inputs/bad/good.isxd', 'inputs/bad/truncated.isxd'],
      outputPrefix: 'outputs/bad/',
    });
  });

  it('fails with a failure report naming the file and the cause', async () => {
    // Act
    const report = await getJson<Record<string, unknown>>('outputs/bad/failure.json');
    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error?.name).toBe('JobFailed');
    expect(report).toMatchObject({
      status: 'FAILED',
      error: 'IsxdFormatError',
      file: 'inputs/bad/truncated.isxd',
    });
    expect(String(report!.cause)).toContain('inputs/bad/truncated.isxd');
  });

  it('leaves nothing that looks like a complete run', async () => {
    // Act
    const files = await list('outputs/bad/');
    // Assess
    expect(files).toEqual(['failure.json', 'usage.json']);
  });

  it('records the usage consumed, status FAILED', async () => {
    // Act
    const record = await usageRecord('corrupt-1');
    // Assess
    expect(record).toMatchObject({ status: 'FAILED', files: 2, cells: 0 });
    expect(Object.keys(record!.computeMs as object).sort()).toEqual(['planJob', 'recordFailure']);
    expect(record!.credits as number).toBeGreaterThanOrEqual(0);
    expect(await getJson('outputs/bad/usage.json')).toMatchObject({
      status: 'FAILED',
      executionName: 'corrupt-1',
    });
  });
});

describe('console-started executions with an invalid input', () => {
  it.each([
    ['bad-key', { inputs: ['data/x.isxd'] }, 'InvalidInputError', 'inputs[0]'],
    ['bad-shape', { files: ['inputs/x.isxd'] }, 'InvalidInputError', 'expected {"inputs"'],
    [
      'bad-param',
      { inputs: ['inputs/x.isxd'], params: { p: 'two' } },
      'InvalidParameterError',
      'parameter p',
    ],
  ])(
    '%s fails in Plan with a report that says what is wrong',
    async (name, input, error, detail) => {
      // Act
      const outcome = await execute(name, input);
      const report = await getJson<Record<string, unknown>>(`outputs/${name}/failure.json`);
      // Assess
      expect(outcome.status).toBe('FAILED');
      expect(report).toMatchObject({ status: 'FAILED', error });
      expect(String(report!.cause)).toContain(detail);
      expect(await usageRecord(name)).toMatchObject({
        status: 'FAILED',
        files: name === 'bad-param' ? 1 : 0,
      });
    },
  );
});

describeShared('workflow when a cell cannot be deconvolved', () => {
  let outcome: ExecutionOutcome;
  let allNan: ExecutionOutcome;

  beforeAll(async () => {
    // cell 0 of part 2: every trace sample NaN (footprint 21 × 21 floats, then 95 trace floats)
    const bad = new Uint8Array(readFileSync(sharedPath('data', 'cellset_series_part2.isxd')));
    const view = new DataView(bad.buffer);
    for (let t = 0; t < 95; t++) view.setFloat32((441 + t) * 4, Number.NaN, true);
    // every cell of part 2 all NaN
    const worse = new Uint8Array(bad);
    const cells = new DataView(worse.buffer);
    for (let cell = 0; cell < 6; cell++)
      for (let t = 0; t < 95; t++) cells.setFloat32((cell * 536 + 441 + t) * 4, Number.NaN, true);
    await put(
      'inputs/nan/part1.isxd',
      readFileSync(sharedPath('data', 'cellset_series_part1.isxd')),
    );
    await put('inputs/nan/part2.isxd', bad);
    await put('inputs/nan/all-nan.isxd', worse);
    outcome = await execute('nan-1', {
      inputs: ['inputs/nan/part1.isxd', 'inputs/nan/part2.isxd'],
      outputPrefix: 'outputs/nan/',
    });
    allNan = await execute('nan-2', {
      inputs: ['inputs/nan/all-nan.isxd'],
      outputPrefix: 'outputs/nan-all/',
    });
  });

  it('succeeds, with a NaN trace, no events and the reason for that cell only', async () => {
    // Act
    const metadata = await getJson<
      Record<string, { deconvolution: { cells: Record<string, unknown>[] } }>
    >('outputs/nan/output_metadata.json');
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    const cells = metadata!['cellset_denoised.001'].deconvolution.cells;
    expect(cells[0]).toMatchObject({ name: 'C0', num_events: 0 });
    expect(String(cells[0].failure)).toContain('all 95 samples of the trace are NaN');
    expect(cells.slice(1).map((c) => c.failure)).toEqual([null, null, null, null, null]);
    expect(await list('outputs/nan/')).toContain('manifest.json');
  });

  it('fails a run in which no cell can be deconvolved, naming the cells, and bills it', async () => {
    // Act
    const report = await getJson<Record<string, unknown>>('outputs/nan-all/failure.json');
    const record = await usageRecord('nan-2');
    // Assess
    expect(allNan.status).toBe('FAILED');
    expect(report).toMatchObject({ error: 'DeconvolutionError' });
    expect(String(report!.cause)).toContain('none of the 6 cells could be deconvolved');
    expect(String(report!.cause)).toContain('inputs/nan/all-nan.isxd: cell 0 (C0)');
    expect(await list('outputs/nan-all/')).toEqual(['failure.json', 'usage.json']);
    expect(record).toMatchObject({ status: 'FAILED', files: 1, cells: 6 });
    expect(record!.invocations).toMatchObject({ planJob: 1, deconvolveChunk: 1, recordFailure: 1 });
  });
});

describeShared('workflow when Finalize dies after writing the manifest', () => {
  let outcome: ExecutionOutcome;

  beforeAll(async () => {
    await put(
      'inputs/crash/part1.isxd',
      readFileSync(sharedPath('data', 'cellset_series_part1.isxd')),
    );
    const finalize = handlers.finalizeJob;
    const crashing: LambdaHandler = async (event, context) => {
      await finalize(event, context);
      const error = new Error('simulated crash after the manifest was written');
      error.name = 'SimulatedCrash';
      throw error;
    };
    outcome = await wf.execute(
      'crash-1',
      { inputs: ['inputs/crash/part1.isxd'], outputPrefix: 'outputs/crash/' },
      { finalizeJob: crashing },
    );
  });

  it('keeps the committed result (the manifest is the commit) and ends in Succeed', async () => {
    // Act
    const files = await list('outputs/crash/');
    const manifest = await getJson<{ outputs: { name: string }[] }>('outputs/crash/manifest.json');
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(files).not.toContain('failure.json');
    expect(files).toEqual([...manifest!.outputs.map((o) => o.name), 'manifest.json'].sort());
    expect(await list('work/runs/crash-1/')).toEqual([]);
  });

  it('keeps the single usage record Finalize already wrote (never billed twice)', async () => {
    // Act
    const records = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'EXEC#crash-1' },
      }),
    );
    // Assess
    const usage = records.Items!.filter((i) => i.sk === 'USAGE');
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect(await getJson('outputs/crash/usage.json')).toMatchObject({
      executionName: 'crash-1',
      status: 'SUCCEEDED',
      totalComputeMs: usage[0].totalComputeMs,
    });
  });
});

describeShared('upload triggers', () => {
  const filters = () => notificationFilters(template);

  /** Uploads an object and returns the S3 notification(s) it produced, as S3 would deliver them. */
  async function uploadEvents(key: string, body: Uint8Array | string): Promise<S3Event[]> {
    const events: S3Event[] = [];
    const raw: S3Event[] = [];
    const listener = (e: S3Event) => {
      raw.push(e);
      const n = asS3Notification(e, filters());
      if (n?.Records.some((r) => decodeURIComponent(r.s3.object.key.replace(/\+/g, ' ')) === key))
        events.push(n);
    };
    local.onS3Event(listener);
    await put(key, body);
    // s3rver emits its event once the object is stored; wait for it (filtered or not)
    for (let i = 0; i < 100 && raw.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(raw.length).toBeGreaterThan(0);
    return events;
  }

  async function upload(key: string, body: Uint8Array | string): Promise<S3Event> {
    const events = await uploadEvents(key, body);
    expect(events).toHaveLength(1);
    return events[0];
  }

  it('starts nothing for parts of a series uploaded under inputs/', async () => {
    // Act
    const events = await uploadEvents(
      'inputs/later/part1.isxd',
      readFileSync(sharedPath('data', 'cellset_series_part1.isxd')),
    );
    // Assess
    expect(events).toEqual([]);
  });

  it('takes a cell set under inbox/ whatever the case of its extension, and ignores the rest', async () => {
    // Prepare
    const sfn = wf.stepFunctions(async (name) => ({ name, status: 'SUCCEEDED', output: null }));
    const upper = await upload('inbox/UPPER.ISXD', 'x');
    const notes = await upload('inbox/notes.txt', 'x');
    // Act
    const a = await wf.trigger(upper, sfn);
    const b = await wf.trigger(notes, sfn);
    // Assess
    expect(a.started).toHaveLength(1);
    expect(b).toEqual({ started: [], duplicates: [], ignored: ['inbox/notes.txt'] });
  });

  it('runs one file with default parameters when a cell set is uploaded under inbox/', async () => {
    // Prepare
    const sfn = wf.stepFunctions();
    const event = await upload(
      'inbox/single/my part1.isxd',
      readFileSync(sharedPath('data', 'cellset_series_part1.isxd')),
    );
    // Act
    const started = await wf.trigger(event, sfn);
    const [name] = started.started;
    const outcome = await sfn.executions.get(name)!;
    // Assess
    expect(name).toMatch(/^my_part1-[0-9a-f]{16}$/);
    expect(outcome.status).toBe('SUCCEEDED');
    expect(await list(`outputs/${name}/`)).toEqual([
      'cellset_denoised.000.isxd',
      'footprints_cellset_denoised.000.svg',
      'manifest.json',
      'neural_events.000.isxd',
      'output_metadata.json',
      'preview_neural_events.000.svg',
      'report.html',
      'traces_cellset_denoised.000.svg',
      'usage.json',
    ]);
  });

  it('starts one execution and bills once when the same job-file event arrives twice', async () => {
    // (StartExecution with the same name and input while the first is still running succeeds
    // and returns the same execution, as AWS documents; the trigger counts it as started.)
    // Prepare
    await put('inputs/dup/a.isxd', readFileSync(sharedPath('data', 'cellset_series_part2.isxd')));
    const sfn = wf.stepFunctions();
    const event = await upload(
      'jobs/dup.json',
      JSON.stringify({ inputs: ['inputs/dup/a.isxd'], account: 'lab-dup', params: { p: '1' } }),
    );
    // Act
    const first = await wf.trigger(event, sfn);
    const second = await wf.trigger(event, sfn);
    const outcome = await sfn.executions.get(first.started[0])!;
    const third = await wf.trigger(event, sfn);
    const records = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `EXEC#${first.started[0]}` },
      }),
    );
    const month = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'ACCOUNT#lab-dup' },
      }),
    );
    // Assess
    expect(first.started).toHaveLength(1);
    expect(second).toEqual({ started: first.started, duplicates: [], ignored: [] });
    expect(third).toEqual({ started: [], duplicates: first.started, ignored: [] });
    expect(sfn.executions.size).toBe(1);
    expect(outcome.status).toBe('SUCCEEDED');
    expect(records.Items!.filter((i) => i.sk === 'USAGE')).toHaveLength(1);
    expect(month.Items![0]).toMatchObject({ executions: 1 });
  });
});
