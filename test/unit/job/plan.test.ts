import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ByteSource, memorySink, memorySource } from '../../../lib/bytes.js';
import {
  InvalidInputError,
  InvalidParameterError,
  InvalidSeriesError,
  IsxdFormatError,
} from '../../../lib/errors.js';
import {
  type CellSetHeaderInput,
  createCellSetWriter,
  openCellSet,
} from '../../../lib/isxd/index.js';
import {
  ARM64_SAFETY_FACTOR,
  CHUNK_BUDGET_SECONDS,
  CHUNK_OVERHEAD_SECONDS,
  cellsWithinBudget,
  chunkSeconds,
  LOCAL_CHUNK_OVERHEAD_SECONDS,
  traceSeconds,
} from '../../../lib/job/costModel.js';
import { DEFAULT_JOB_OPTIONS, parseToolParams } from '../../../lib/job/params.js';
import { CHUNK_LIMITS, planJob } from '../../../lib/job/plan.js';
import { describeShared, sharedPath } from '../../helpers/shared.js';
import { fixtureCellSet } from './fixtures.js';
import { footerOnlyCellSet } from './footerOnly.js';

const params = parseToolParams({});
const part = (k: 1 | 2) =>
  memorySource(
    `part${k}.isxd`,
    new Uint8Array(readFileSync(sharedPath('data', `cellset_series_part${k}.isxd`))),
  );

/** Part 2 rewritten with a changed header (cells copied byte for byte). */
async function part2With(
  name: string,
  change: (h: CellSetHeaderInput) => CellSetHeaderInput,
): Promise<ByteSource> {
  const input = await openCellSet(part(2));
  const sink = memorySink();
  const writer = createCellSetWriter(sink, change(input.header));
  for (let i = 0; i < input.numCells; i++) await writer.addCellBytes(await input.readCellBytes(i));
  await writer.finish();
  return memorySource(name, sink.bytes());
}

describeShared('planJob on the sample series', () => {
  it('orders the series chronologically and keeps the user order for outputs', async () => {
    // Act
    const plan = await planJob([part(2), part(1)], params, DEFAULT_JOB_OPTIONS, {
      maxCellsPerChunk: 4,
    });

    // Assess
    expect(plan.chronological).toEqual([1, 0]);
    expect(plan.files.map((f) => [f.input, f.numTimes])).toEqual([
      ['part2.isxd', 95],
      ['part1.isxd', 100],
    ]);
    const secs = (T: number, n: number) =>
      Math.round(chunkSeconds(traceSeconds(params, T), n, LOCAL_CHUNK_OVERHEAD_SECONDS) * 1000) /
      1000;
    expect(plan.items).toEqual([
      { file: 0, chunk: 0, numChunks: 2, cellStart: 0, cellEnd: 4, predictedSeconds: secs(95, 4) },
      { file: 0, chunk: 1, numChunks: 2, cellStart: 4, cellEnd: 6, predictedSeconds: secs(95, 2) },
      { file: 1, chunk: 0, numChunks: 2, cellStart: 0, cellEnd: 4, predictedSeconds: secs(100, 4) },
      { file: 1, chunk: 1, numChunks: 2, cellStart: 4, cellEnd: 6, predictedSeconds: secs(100, 2) },
    ]);
    expect(plan.predictedSeconds).toBeCloseTo(
      secs(95, 4) + secs(95, 2) + secs(100, 4) + secs(100, 2),
      9,
    );
    expect(plan.warnings).toBeUndefined();
    expect(plan.files[0].period).toEqual({ num: 100, den: 1000 });
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('cuts chunks by bytes', async () => {
    // Act: 2144 bytes per cell of part 2
    const plan = await planJob([part(2)], params, DEFAULT_JOB_OPTIONS, { maxChunkBytes: 5000 });

    // Assess
    expect(plan.items.map((i) => i.cellEnd - i.cellStart)).toEqual([2, 2, 2]);
  });

  it.each([
    [
      'names',
      (h: CellSetHeaderInput) => ({ ...h, names: ['C0', 'C1', 'X2', 'C3', 'C4', 'C5'] }),
      /cell names differ at cell 2: "C2" vs "X2"/,
    ],
    [
      'statuses',
      (h: CellSetHeaderInput) => ({
        ...h,
        statuses: [
          'accepted',
          'undecided',
          'undecided',
          'undecided',
          'undecided',
          'undecided',
        ] as const,
      }),
      /cell statuses differ at cell 0/,
    ],
    [
      'period',
      (h: CellSetHeaderInput) => ({
        ...h,
        timing: { ...h.timing, period: { num: 50, den: 1000 } },
      }),
      /frame periods differ: 0.1 s vs 0.05 s/,
    ],
    [
      'field of view',
      (h: CellSetHeaderInput) => ({
        ...h,
        spacing: { ...h.spacing, topLeft: { x: { num: 0, den: 1 }, y: { num: 0, den: 1 } } },
      }),
      /fields of view differ/,
    ],
    [
      'overlap',
      (h: CellSetHeaderInput) => ({
        ...h,
        timing: { ...h.timing, start: { secsSinceEpoch: { num: 9, den: 1 } } },
      }),
      /overlap in time: the first covers 0 s to 10 s, the second starts at 9 s/,
    ],
  ])('rejects a series whose %s differ, naming both files', async (_what, change, message) => {
    // Prepare
    const bad = await part2With('bad.isxd', change);

    // Act
    const plan = planJob([part(1), bad], params, DEFAULT_JOB_OPTIONS);

    // Assess
    await expect(plan).rejects.toBeInstanceOf(InvalidSeriesError);
    await expect(plan).rejects.toMatchObject({
      code: 'InvalidSeries',
      files: ['part1.isxd', 'bad.isxd'],
    });
    await expect(plan).rejects.toThrow(message);
  });

  it('rejects a series with different cell counts', async () => {
    // Prepare
    const other = await fixtureCellSet('three.isxd', {
      numTimes: 100,
      start: { num: 50, den: 1 },
      period: { num: 100, den: 1000 },
    });

    // Act
    const plan = planJob([part(1), other], params, DEFAULT_JOB_OPTIONS);

    // Assess
    await expect(plan).rejects.toThrow(
      /part1\.isxd and three\.isxd cannot form one series: cell counts differ: 6 vs 3/,
    );
  });

  it('rejects an event set as input', async () => {
    // Prepare
    const events = memorySource(
      'events.isxd',
      new Uint8Array(readFileSync(sharedPath('data', 'sample_eventset_msr_1.isxd'))),
    );

    // Act
    const plan = planJob([events], params, DEFAULT_JOB_OPTIONS);

    // Assess
    await expect(plan).rejects.toBeInstanceOf(IsxdFormatError);
    await expect(plan).rejects.toMatchObject({ code: 'WrongFileType', file: 'events.isxd' });
  });

  it('rejects a corrupt footer length', async () => {
    // Prepare
    const bytes = new Uint8Array(readFileSync(sharedPath('data', 'cellset_series_part1.isxd')));
    bytes[bytes.length - 2] = 0x7f;

    // Act
    const plan = planJob([memorySource('corrupt.isxd', bytes)], params, DEFAULT_JOB_OPTIONS);

    // Assess
    await expect(plan).rejects.toMatchObject({
      name: 'IsxdFormatError',
      code: 'FooterLength',
      file: 'corrupt.isxd',
    });
  });

  it('rejects lags not below the frame count', async () => {
    // Act
    const plan = planJob([part(2)], parseToolParams({ lags: 95 }), DEFAULT_JOB_OPTIONS);

    // Assess
    await expect(plan).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(plan).rejects.toMatchObject({ parameter: 'lags' });
  });
});

describe('planJob inputs', () => {
  it('rejects zero inputs and zero cells', async () => {
    // Prepare
    const empty = await fixtureCellSet('empty.isxd', { numCells: 0, names: [] });

    // Act / Assess
    await expect(planJob([], params, DEFAULT_JOB_OPTIONS)).rejects.toMatchObject({
      code: 'NoInput',
    });
    await expect(planJob([empty], params, DEFAULT_JOB_OPTIONS)).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(planJob([empty], params, DEFAULT_JOB_OPTIONS)).rejects.toThrow(
      /empty\.isxd: the cell set has zero cells/,
    );
  });

  it('rejects bytes that are not an .isxd file', async () => {
    // Act
    const plan = planJob(
      [memorySource('notes.isxd', new TextEncoder().encode('hello, world'))],
      params,
      DEFAULT_JOB_OPTIONS,
    );

    // Assess
    await expect(plan).rejects.toBeInstanceOf(IsxdFormatError);
  });
});

describe('planJob: chunks cut to the predicted time budget', () => {
  const scsEcos = parseToolParams({ method_deconvolution: 'cvxpy', solvers: 'SCS,ECOS' });

  it('2 000 cells × 36 000 frames, cvxpy SCS,ECOS on Lambda: ⌊(budget − overhead) / perTrace⌋ cells per chunk, each under the budget', async () => {
    // Arrange
    const source = await footerOnlyCellSet('big.isxd', 2000, 36000);
    const perTrace = traceSeconds(scsEcos, 36000, ARM64_SAFETY_FACTOR);
    const perChunk = Math.floor((CHUNK_BUDGET_SECONDS - CHUNK_OVERHEAD_SECONDS) / perTrace);

    // Act
    const plan = await planJob([source], scsEcos, DEFAULT_JOB_OPTIONS, CHUNK_LIMITS.lambda);

    // Assess: SCS-p1 2·a·36000^b·3 ≈ 100 s per trace: 2 cells, 1 000 chunks
    expect(perChunk).toBe(2);
    expect(plan.items).toHaveLength(Math.ceil(2000 / perChunk));
    expect(plan.items.every((it) => it.cellEnd - it.cellStart === perChunk)).toBe(true);
    expect(Math.max(...plan.items.map((it) => it.predictedSeconds))).toBeLessThanOrEqual(
      CHUNK_BUDGET_SECONDS,
    );
    expect(plan.items[0].predictedSeconds).toBeCloseTo(
      CHUNK_OVERHEAD_SECONDS + perChunk * perTrace,
      2,
    );
    expect(plan.predictedSeconds).toBeCloseTo(1000 * (CHUNK_OVERHEAD_SECONDS + 2 * perTrace), 0);
  });

  it('oasis p = 1 on the same set gives few big chunks (the byte limit binds)', async () => {
    // Arrange
    const source = await footerOnlyCellSet('big.isxd', 2000, 36000);
    const oasis = parseToolParams({});

    // Act
    const plan = await planJob([source], oasis, DEFAULT_JOB_OPTIONS, CHUNK_LIMITS.lambda);

    // Assess: 64 MiB / (36 000·4 + 16·4 bytes) = 465 cells; time fits thousands
    const bytesPerCell = 36000 * 4 + 16 * 4;
    const perChunk = Math.floor(CHUNK_LIMITS.lambda.maxChunkBytes / bytesPerCell);
    expect(perChunk).toBe(465);
    expect(
      cellsWithinBudget(traceSeconds(oasis, 36000, ARM64_SAFETY_FACTOR), CHUNK_BUDGET_SECONDS),
    ).toBeGreaterThan(perChunk);
    expect(plan.items.map((it) => it.cellEnd - it.cellStart)).toEqual([465, 465, 465, 465, 140]);
    expect(plan.items[0].predictedSeconds).toBeLessThan(30);
  });

  it('refuses at the Lambda target a single trace predicted over the budget, naming solvers', async () => {
    // Arrange: SCS at 100 000 frames ≈ 2·88 s·3 ≈ 530 s per trace
    const source = await footerOnlyCellSet('long.isxd', 3, 100000);
    const perTrace = traceSeconds(scsEcos, 100000, ARM64_SAFETY_FACTOR);
    expect(perTrace).toBeGreaterThan(CHUNK_BUDGET_SECONDS);

    // Act
    const planned = planJob([source], scsEcos, DEFAULT_JOB_OPTIONS, CHUNK_LIMITS.lambda);

    // Assess
    await expect(planned).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(planned).rejects.toMatchObject({ parameter: 'solvers', value: 'SCS,ECOS' });
    await expect(planned).rejects.toThrow(
      new RegExp(
        `one trace of long\\.isxd \\(100000 frames\\) is predicted to take ${Math.round(CHUNK_OVERHEAD_SECONDS + perTrace)} s .* over the 300 s chunk budget; use solvers 'ECOS,SCS'`,
      ),
    );
  });

  it('names method_deconvolution when the interior-point method is over the budget', async () => {
    // Arrange: a tiny hard budget makes ECOS at 36 000 frames too slow
    const source = await footerOnlyCellSet('mid.isxd', 2, 36000);
    const ecos = parseToolParams({ method_deconvolution: 'cvxpy' });

    // Act
    const planned = planJob([source], ecos, DEFAULT_JOB_OPTIONS, {
      ...CHUNK_LIMITS.lambda,
      budgetSeconds: CHUNK_OVERHEAD_SECONDS + 0.1,
    });

    // Assess
    await expect(planned).rejects.toMatchObject({ parameter: 'method_deconvolution' });
    await expect(planned).rejects.toThrow(/use method_deconvolution 'oasis'/);
  });

  it('locally the same trace is a warning and one cell per chunk', async () => {
    // Arrange
    const source = await footerOnlyCellSet('long.isxd', 3, 100000);

    // Act: local speed (factor 1) with a soft budget below one trace
    const plan = await planJob([source], scsEcos, DEFAULT_JOB_OPTIONS, {
      ...CHUNK_LIMITS.local,
      budgetSeconds: 60,
    });

    // Assess
    expect(plan.items.map((it) => it.cellEnd - it.cellStart)).toEqual([1, 1, 1]);
    expect(plan.warnings).toHaveLength(1);
    expect(plan.warnings?.[0]).toMatch(/long\.isxd \(100000 frames\).*over the 60 s chunk budget/);
  });
});
