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
import { DEFAULT_JOB_OPTIONS, parseToolParams } from '../../../lib/job/params.js';
import { planJob } from '../../../lib/job/plan.js';
import { describeShared, sharedPath } from '../../helpers/shared.js';
import { fixtureCellSet } from './fixtures.js';

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
    expect(plan.items).toEqual([
      { file: 0, chunk: 0, numChunks: 2, cellStart: 0, cellEnd: 4 },
      { file: 0, chunk: 1, numChunks: 2, cellStart: 4, cellEnd: 6 },
      { file: 1, chunk: 0, numChunks: 2, cellStart: 0, cellEnd: 4 },
      { file: 1, chunk: 1, numChunks: 2, cellStart: 4, cellEnd: 6 },
    ]);
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
