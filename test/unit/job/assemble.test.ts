/**
 * The per-file assembly (stages.ts assembleStage over assemble.ts and finalize.ts describeFile)
 * with the memory store: outputs joined by the store (concatWork) are byte for byte those of
 * the streamed copy; each file's previews and metadata fragment are staged by Assemble, and
 * Finalize only joins the fragments into output_metadata.json.
 */
import { describe, expect, it } from 'vitest';
import { memorySource } from '../../../lib/bytes.js';
import { InternalError } from '../../../lib/errors.js';
import { metadataFragment, writeMetadata } from '../../../lib/job/finalize.js';
import { DEFAULT_JOB_OPTIONS, parseToolParams } from '../../../lib/job/params.js';
import { assembleStage, chunkStage, finalizeStage, planStage } from '../../../lib/job/stages.js';
import { WORK } from '../../../lib/job/store.js';
import { syntheticCellSet } from '../../e2e/syntheticCellSet.js';
import { type MemoryStore, memoryStore } from '../../helpers/memoryStore.js';

const RUN = { runId: 'asm-run', executionId: 'local:asm', account: 'test' };
/** 4 cells of 4×4 pixels and 300 frames: (16 + 300) · 4 · 4 = 5 056 bytes per cell-set part. */
const CELLS_PER_CHUNK = 4;
const JOIN_MIN = 5_000;

async function inputs(numCells: number[]) {
  return Promise.all(
    numCells.map(async (n, k) =>
      memorySource(
        `in${k}.isxd`,
        await syntheticCellSet({ numCells: n, numTimes: 300, seed: 11, startSeconds: 60 * k }),
      ),
    ),
  );
}

/** Plan, every chunk, every file's assembly, finalize: the stages in order, on one store. */
async function runStages(store: MemoryStore, names: string[]) {
  const job = await planStage(store, {
    run: RUN,
    inputs: names,
    params: parseToolParams({}),
    options: DEFAULT_JOB_OPTIONS,
    limits: { maxCellsPerChunk: CELLS_PER_CHUNK },
    existsHint: 'pass --overwrite',
  });
  for (const item of job.plan.items) await chunkStage(store, job, item);
  const files = [];
  for (const f of job.plan.files) files.push(await assembleStage(store, job, f.index));
  const work = new Map(store.work);
  const report = await finalizeStage(store, job, { startedAt: Date.now(), now: () => new Date(0) });
  return { job, files, work, report };
}

const withoutUsage = (outputs: Map<string, Uint8Array>) =>
  new Map([...outputs].filter(([n]) => n !== 'usage.json' && n !== 'manifest.json'));

describe('assembleStage', () => {
  it('joins parts through the store when their sizes fit, with the bytes of the streamed copy', async () => {
    // Prepare: 8 cells → two full cell-set parts (joined); the event parts are smaller (streamed)
    const src = await inputs([8]);
    const streamed = memoryStore(src);
    const joined = memoryStore(src, 'mem://out/', { concatMinPartBytes: JOIN_MIN });
    // Act
    const a = await runStages(streamed, ['in0.isxd']);
    const b = await runStages(joined, ['in0.isxd']);
    // Assess
    expect(joined.joins).toEqual([
      {
        parts: [WORK.part('cellset', 0, 0), WORK.part('cellset', 0, 1)],
        to: WORK.staged('cellset_denoised.000.isxd'),
      },
    ]);
    expect(streamed.joins).toEqual([]);
    const left = withoutUsage(streamed.outputs);
    const right = withoutUsage(joined.outputs);
    expect([...right.keys()].sort()).toEqual([...left.keys()].sort());
    expect(left.size).toBe(7);
    for (const [name, bytes] of left)
      expect(Buffer.from(right.get(name)!).equals(bytes), name).toBe(true);
    // The manifest's sizes and SHA-256 of the joined output were taken by reading it back.
    expect(b.report.manifest.outputs.filter((o) => o.name !== 'usage.json')).toEqual(
      a.report.manifest.outputs.filter((o) => o.name !== 'usage.json'),
    );
    expect(b.files[0].staged[0].size).toBe(
      joined.outputs.get('cellset_denoised.000.isxd')!.byteLength,
    );
  });

  it('streams every part when one is below the store minimum (the last, smaller chunk)', async () => {
    // Prepare: 10 cells → parts of 4, 4 and 2 cells
    const src = await inputs([10]);
    const streamed = memoryStore(src);
    const store = memoryStore(src, 'mem://out/', { concatMinPartBytes: JOIN_MIN });
    // Act
    await runStages(streamed, ['in0.isxd']);
    await runStages(store, ['in0.isxd']);
    // Assess
    expect(store.joins).toEqual([]);
    for (const [name, bytes] of withoutUsage(streamed.outputs)) {
      expect(Buffer.from(store.outputs.get(name)!).equals(bytes), name).toBe(true);
    }
  });

  it('checks every part against its chunk result before joining (PartSize), and joins nothing', async () => {
    // Prepare: the second cell-set part reads back one byte short
    const src = await inputs([8]);
    const store = memoryStore(src, 'mem://out/', { concatMinPartBytes: JOIN_MIN });
    const job = await planStage(store, {
      run: RUN,
      inputs: ['in0.isxd'],
      params: parseToolParams({}),
      options: DEFAULT_JOB_OPTIONS,
      limits: { maxCellsPerChunk: CELLS_PER_CHUNK },
      existsHint: '',
    });
    for (const item of job.plan.items) await chunkStage(store, job, item);
    const short = WORK.part('cellset', 0, 1);
    store.onWorkSource = (key, s) =>
      key === short ? { ...s, size: async () => (await s.size()) - 1 } : s;
    // Act
    const run = assembleStage(store, job, 0);
    // Assess
    // Our own work area broke, not the user's input: an internal fault (exit 1).
    await expect(run).rejects.toBeInstanceOf(InternalError);
    await expect(run).rejects.toMatchObject({
      code: 'PartSize',
      name: 'CaimanSpikesInternalError',
    });
    expect(store.joins).toEqual([]);
    expect(store.work.has(WORK.staged('cellset_denoised.000.isxd'))).toBe(false);
    expect(store.work.has(WORK.fileOutputs(0))).toBe(false);
  });

  it("reads each chunk record once (records carry their cells' report parts)", async () => {
    // Prepare: 8 cells in two chunks, both outputs streamed
    const src = await inputs([8]);
    const store = memoryStore(src);
    const job = await planStage(store, {
      run: RUN,
      inputs: ['in0.isxd'],
      params: parseToolParams({}),
      options: DEFAULT_JOB_OPTIONS,
      limits: { maxCellsPerChunk: CELLS_PER_CHUNK },
      existsHint: '',
    });
    for (const item of job.plan.items) await chunkStage(store, job, item);
    const gets = new Map<string, number>();
    const getWork = store.getWork.bind(store);
    store.getWork = (key: string) => {
      gets.set(key, (gets.get(key) ?? 0) + 1);
      return getWork(key);
    };
    // Act
    await assembleStage(store, job, 0);
    // Assess
    expect([...gets].filter(([k]) => k.startsWith('chunks/'))).toEqual([
      [WORK.chunkResult(0, 0), 1],
      [WORK.chunkResult(0, 1), 1],
    ]);
  });

  it('reports a footer the writer refuses (our own counts) as an internal fault, not bad input', async () => {
    // Prepare: chunk 1's record loses one cell's event count (a broken invariant of ours)
    const src = await inputs([8]);
    const store = memoryStore(src);
    const job = await planStage(store, {
      run: RUN,
      inputs: ['in0.isxd'],
      params: parseToolParams({}),
      options: DEFAULT_JOB_OPTIONS,
      limits: { maxCellsPerChunk: CELLS_PER_CHUNK },
      existsHint: '',
    });
    for (const item of job.plan.items) await chunkStage(store, job, item);
    const key = WORK.chunkResult(0, 1);
    const record = JSON.parse(new TextDecoder().decode(store.work.get(key)));
    record.eventCounts.pop();
    store.work.set(key, new TextEncoder().encode(JSON.stringify(record)));
    // Act
    const run = assembleStage(store, job, 0);
    // Assess: the writer's InvalidParameterError (counts.length) becomes an InternalError (exit 1)
    await expect(run).rejects.toBeInstanceOf(InternalError);
    await expect(run).rejects.toThrow(
      /in0\.isxd: the output footer could not be built: .*counts\.length/,
    );
  });

  it('leaves no staged output, previews or fragment when the join fails', async () => {
    // Prepare
    const src = await inputs([8]);
    const store = memoryStore(src, 'mem://out/', { concatMinPartBytes: JOIN_MIN });
    store.failJoins = Object.assign(new Error('injected'), { name: 'InjectedFailure' });
    const job = await planStage(store, {
      run: RUN,
      inputs: ['in0.isxd'],
      params: parseToolParams({}),
      options: DEFAULT_JOB_OPTIONS,
      limits: { maxCellsPerChunk: CELLS_PER_CHUNK },
      existsHint: '',
    });
    for (const item of job.plan.items) await chunkStage(store, job, item);
    // Act
    const run = assembleStage(store, job, 0);
    // Assess
    await expect(run).rejects.toMatchObject({ name: 'InjectedFailure' });
    const staged = [...store.work.keys()].filter(
      (k) => k.startsWith('outputs/cellset') || k.endsWith('.svg') || k.startsWith('metadata/'),
    );
    expect(staged).toEqual([]);
  });

  it("stages each file's previews and metadata fragment; Finalize only joins the fragments", async () => {
    // Prepare
    const src = await inputs([5, 5]);
    const store = memoryStore(src);
    // Act
    const { files, work } = await runStages(store, ['in0.isxd', 'in1.isxd']);
    // Assess: after Assemble, before Finalize, the work area held every preview and fragment
    for (const k of ['000', '001']) {
      for (const name of [
        `traces_cellset_denoised.${k}.svg`,
        `footprints_cellset_denoised.${k}.svg`,
        `preview_neural_events.${k}.svg`,
      ]) {
        expect(work.has(WORK.staged(name)), name).toBe(true);
        expect(Buffer.from(store.outputs.get(name)!).equals(work.get(WORK.staged(name))!)).toBe(
          true,
        );
      }
    }
    expect(files.map((f) => f.staged.map((s) => s.name))).toEqual([
      [
        'cellset_denoised.000.isxd',
        'neural_events.000.isxd',
        'traces_cellset_denoised.000.svg',
        'footprints_cellset_denoised.000.svg',
        'preview_neural_events.000.svg',
      ],
      [
        'cellset_denoised.001.isxd',
        'neural_events.001.isxd',
        'traces_cellset_denoised.001.svg',
        'footprints_cellset_denoised.001.svg',
        'preview_neural_events.001.svg',
      ],
    ]);
    const text = new TextDecoder().decode(store.outputs.get('output_metadata.json'));
    const metadata = JSON.parse(text) as Record<string, { metrics: Record<string, number> }>;
    expect(Object.keys(metadata)).toEqual([
      'cellset_denoised.000',
      'neural_events.000',
      'cellset_denoised.001',
      'neural_events.001',
    ]);
    expect(metadata['neural_events.001'].metrics).toEqual({
      total_num_cells: 5,
      total_num_events: files[1].outputs.numEvents,
    });
    expect(files[1].outputs.numEvents).toBeGreaterThan(0);
    expect(text).toBe(JSON.stringify(metadata, null, 4));
  });
});

describe('metadataFragment and writeMetadata', () => {
  it('write the bytes of JSON.stringify(merged, null, 4), whatever the nesting', async () => {
    // Prepare
    const a = {
      'cellset_denoised.000': { e: {}, l: [], n: null, s: 'two\nlines "q"', x: [1, [2, { y: 3 }]] },
      'neural_events.000': { deep: { deeper: { deepest: [{}, []] } } },
    };
    const b = { 'cellset_denoised.001': { v: 1.5e-7, t: true } };
    const chunks: Uint8Array[] = [];
    const sink = {
      write: async (c: Uint8Array) => {
        chunks.push(c.slice());
      },
      close: async () => {},
      abort: async () => {},
    };
    // Act
    await writeMetadata([metadataFragment(a), metadataFragment(b)], sink);
    const none: Uint8Array[] = [];
    await writeMetadata([], {
      ...sink,
      write: async (c) => {
        none.push(c.slice());
      },
    });
    // Assess
    expect(Buffer.concat(chunks).toString('utf8')).toBe(JSON.stringify({ ...a, ...b }, null, 4));
    expect(Buffer.concat(none).toString('utf8')).toBe('{}');
  });
});
