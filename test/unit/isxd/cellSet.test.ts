import { describe, expect, it } from 'vitest';
import { memorySink, memorySource } from '../../../lib/bytes.js';
import { InvalidParameterError, IsxdErrorCode, IsxdFormatError } from '../../../lib/errors.js';
import {
  buildCellSetFooter,
  type CellSetHeaderInput,
  type CellSetReader,
  createCellSetWriter,
  defaultCellName,
  encodeFooter,
  jsonFloat,
  jsonInt,
  jsonNull,
  jsonString,
  openCellSet,
  toPlain,
} from '../../../lib/isxd/index.js';
import type { JsonObject, JsonValue } from '../../../lib/isxd/json.js';
import {
  concatBytes,
  editFooter,
  makeCellSet,
  readSample,
  recordingSource,
  SAMPLE_FILES,
  sameBytes,
  splitContainer,
} from '../../helpers/isxdFixtures.js';
import { describeShared } from '../../helpers/shared.js';

const INT64_MIN = -(2n ** 63n);

function member(root: JsonValue, ...path: string[]): JsonValue | undefined {
  let v: JsonValue | undefined = root;
  for (const key of path) v = v?.type === 'object' ? v.members.get(key) : undefined;
  return v;
}

function objectAt(root: JsonObject, key: string): JsonObject {
  const v = root.members.get(key);
  if (v?.type !== 'object') throw new IsxdFormatError('test', IsxdErrorCode.BadValue, key);
  return v;
}

async function open(bytes: Uint8Array, name = 'test.isxd'): Promise<CellSetReader> {
  return openCellSet(memorySource(name, bytes));
}

describeShared('cell set samples (../shared/data)', () => {
  const facts = [
    {
      file: SAMPLE_FILES.cellsetPart1,
      numTimes: 100,
      start: { num: 0n, den: 1n },
      producer: [1, 9, 6],
      dataSize: 12984,
      footer: 4193,
      size: 17186,
      metricsWithOnes: [1, 5],
    },
    {
      file: SAMPLE_FILES.cellsetPart2,
      numTimes: 95,
      start: { num: 30100n, den: 1000n },
      producer: [1, 8, 0],
      dataSize: 12864,
      footer: 4187,
      size: 17060,
      metricsWithOnes: [0, 1, 2, 3, 4],
    },
  ];

  it.each(facts)('reads the facts of $file stated in data/README.md', async (f) => {
    // Prepare
    const bytes = readSample(f.file);
    // Act
    const reader = await open(bytes, f.file);
    const h = reader.header;
    // Assess
    expect(bytes.byteLength).toBe(f.size);
    expect(reader.numCells).toBe(6);
    expect(h.names).toEqual(['C0', 'C1', 'C2', 'C3', 'C4', 'C5']);
    expect(h.statuses).toEqual(Array(6).fill('undecided'));
    expect(h.colors).toEqual(Array(6).fill(4294967295));
    expect(h.activity).toEqual(Array(6).fill(true));
    expect([reader.width, reader.height, reader.numTimes]).toEqual([21, 21, f.numTimes]);
    expect(reader.bytesPerCell).toBe(4 * (441 + f.numTimes));
    expect(reader.dataSize).toBe(f.dataSize);
    expect(reader.fileSize - reader.dataSize - 9).toBe(f.footer);
    expect(h.timing.period).toEqual({ num: 100n, den: 1000n });
    expect(h.timing.start).toEqual({ secsSinceEpoch: f.start, utcOffset: 0 });
    expect([h.timing.dropped, h.timing.cropped, h.timing.blank]).toEqual([[], [], []]);
    expect(h.spacing).toEqual({
      numPixels: { x: 21, y: 21 },
      pixelSize: { x: { num: 6n, den: 1n }, y: { num: 6n, den: 1n } },
      topLeft: { x: { num: 156n, den: 1n }, y: { num: 216n, den: 1n } },
    });
    expect(h.fileVersion).toBe(5);
    expect(h.dataType).toBe('float');
    expect(toPlain(h.producer)).toEqual({ name: 'isxcore', version: f.producer });
    expect(toPlain(h.extraProperties)).toEqual({
      idps: {
        cellset: { method: 'cnmfe', type: 'analog', units: 'dF over noise' },
        mc_padding: false,
        pre_mc: { height: 64, topLeft: { x: 0, y: 0 }, width: 60 },
        spatialDownsampling: 2,
        temporalDownsampling: 1,
      },
    });
    expect(h.cellMetrics).toHaveLength(6);
    expect(h.cellMetrics?.[0]?.centroid).toEqual({ x: INT64_MIN, y: INT64_MIN });
    const ones = (h.cellMetrics ?? []).flatMap((m, i) => (m?.maxContourWidth === 1 ? [i] : []));
    expect(ones).toEqual(f.metricsWithOnes);
  });

  it.each(facts)('finds no NaN and the documented value ranges in $file', async (f) => {
    // Prepare
    const reader = await open(readSample(f.file), f.file);
    let traceMin = Infinity;
    let traceMax = -Infinity;
    let footMax = 0;
    const nonZero: number[] = [];
    // Act
    for await (const cell of reader.cells({ batchBytes: 5000 })) {
      for (const v of cell.trace) {
        expect(Number.isNaN(v)).toBe(false);
        traceMin = Math.min(traceMin, v);
        traceMax = Math.max(traceMax, v);
      }
      nonZero.push(cell.footprint.filter((v) => v !== 0).length);
      for (const v of cell.footprint) footMax = Math.max(footMax, v);
    }
    // Assess
    expect(traceMin).toBeGreaterThan(-5);
    expect(traceMax).toBeLessThan(16);
    expect(traceMax).toBeGreaterThan(5);
    expect(footMax).toBeGreaterThan(0.3);
    expect(footMax).toBeLessThan(0.4);
    expect(Math.min(...nonZero)).toBeGreaterThanOrEqual(52);
    expect(Math.max(...nonZero)).toBeLessThanOrEqual(250);
  });

  it.each(facts)('rewrites $file byte-identically from its decoded fields', async (f) => {
    // Prepare
    const bytes = readSample(f.file);
    const reader = await open(bytes, f.file);
    const sink = memorySink();
    const writer = createCellSetWriter(sink, reader.header);
    // Act
    for await (const cell of reader.cells()) await writer.addCell(cell.footprint, cell.trace);
    await writer.finish();
    // Assess
    expect(sink.closed).toBe(true);
    expect(sameBytes(sink.bytes(), bytes)).toBe(true);
  });

  it.each(facts)(
    'rewrites $file byte-identically from its stored footer and from chunks',
    async (f) => {
      // Prepare
      const bytes = readSample(f.file);
      const reader = await open(bytes, f.file);
      const chunks = [];
      for (let i = 0; i < reader.numCells; i++) chunks.push(await reader.readCellBytes(i));
      // Act
      const fromStored = concatBytes(...chunks, encodeFooter(reader.footer));
      const fromBuilt = concatBytes(...chunks, buildCellSetFooter(reader.header, reader.numCells));
      // Assess
      expect(sameBytes(fromStored, bytes)).toBe(true);
      expect(sameBytes(fromBuilt, bytes)).toBe(true);
    },
  );

  it('reads one trace with one ranged read at i·B + 4·W·H', async () => {
    // Prepare
    const bytes = readSample(SAMPLE_FILES.cellsetPart1);
    const source = recordingSource('part1', bytes);
    const reader = await openCellSet(source);
    const all = [];
    for await (const cell of reader.cells()) all.push(Array.from(cell.trace));
    source.reads.length = 0;
    // Act
    const trace = await reader.readTrace(4);
    // Assess
    expect(source.reads).toEqual([{ offset: 4 * 2164 + 4 * 441, length: 400 }]);
    expect(Array.from(trace)).toEqual(all[4]);
  });

  it('copies misaligned bytes before viewing them as float32', async () => {
    // Prepare
    const bytes = readSample(SAMPLE_FILES.cellsetPart2);
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const aligned = await open(bytes);
    const misaligned = await open(shifted.subarray(1));
    // Act
    const a = await aligned.readCell(3);
    const b = await misaligned.readCell(3);
    // Assess
    expect(Array.from(b.trace)).toEqual(Array.from(a.trace));
    expect(Array.from(b.footprint)).toEqual(Array.from(a.footprint));
  });

  it('refuses an event set where a cell set is expected', async () => {
    // Act
    const result = open(readSample(SAMPLE_FILES.eventsetMsr1), 'msr1.isxd');
    // Assess
    await expect(result).rejects.toBeInstanceOf(IsxdFormatError);
    await expect(result).rejects.toMatchObject({
      code: IsxdErrorCode.WrongFileType,
      file: 'msr1.isxd',
    });
    await expect(result).rejects.toThrow(/event set/);
  });

  it('refuses a data section one cell short of the footer', async () => {
    // Prepare
    const bytes = readSample(SAMPLE_FILES.cellsetPart1);
    const { data, root } = splitContainer(bytes);
    const short = concatBytes(data.subarray(0, data.byteLength - 2164), encodeFooter(root));
    // Act
    const result = open(short, 'short.isxd');
    // Assess
    await expect(result).rejects.toMatchObject({
      code: IsxdErrorCode.CellCountMismatch,
      file: 'short.isxd',
    });
  });

  it.each<[string, (root: JsonObject) => void, string]>([
    [
      'a null period (NaN)',
      (r) => objectAt(objectAt(r, 'timingInfo'), 'period').members.set('num', jsonNull()),
      IsxdErrorCode.NonFinite,
    ],
    [
      'an overflowing numTimes',
      (r) => objectAt(r, 'timingInfo').members.set('numTimes', jsonFloat(Infinity)),
      IsxdErrorCode.NonFinite,
    ],
    ['a missing spacingInfo', (r) => r.members.delete('spacingInfo'), IsxdErrorCode.MissingKey],
    [
      'a status of 3',
      (r) => {
        const statuses = r.members.get('CellStatuses');
        if (statuses?.type === 'array') statuses.items[2] = jsonInt(3);
      },
      IsxdErrorCode.OutOfRange,
    ],
    [
      'a string dataType replaced by a number',
      (r) => r.members.set('dataType', jsonInt(1)),
      IsxdErrorCode.BadValue,
    ],
    [
      'a bad cropped range',
      (r) =>
        objectAt(r, 'timingInfo').members.set('cropped', {
          type: 'array',
          items: [jsonString('3 to 4')],
        }),
      IsxdErrorCode.BadValue,
    ],
    ['type 0 (a movie)', (r) => r.members.set('type', jsonInt(0)), IsxdErrorCode.WrongFileType],
  ])('refuses a footer with %s', async (_, edit, code) => {
    // Prepare
    const bytes = editFooter(readSample(SAMPLE_FILES.cellsetPart1), edit);
    // Act
    const result = open(bytes, 'edited.isxd');
    // Assess
    await expect(result).rejects.toBeInstanceOf(IsxdFormatError);
    await expect(result).rejects.toMatchObject({ code, file: 'edited.isxd' });
  });
});

describe('cell sets written from scratch', () => {
  const header: CellSetHeaderInput = {
    timing: {
      numTimes: 12,
      period: { num: 50, den: 1000 },
      start: { secsSinceEpoch: { num: 1724666920278n, den: 1000n }, utcOffset: -25200 },
      dropped: [9, 1],
      cropped: [
        [5, 6],
        [4, 4],
      ],
      blank: [11, 5],
    },
    spacing: { numPixels: { x: 3, y: 2 } },
    names: ['細胞-α', '', 'C 😀 "quoted"'],
    statuses: ['accepted', 'undecided', 'rejected'],
    colors: [0xff00ff00, 0, 4294967295],
  };

  it('round-trips values exactly and stores NaN bits 0x7FC00000 at invalid samples', async () => {
    // Prepare
    const { bytes, cells } = await makeCellSet(header, 3, 42);
    // Act
    const reader = await open(bytes);
    const read = [];
    for await (const cell of reader.cells({ batchBytes: 1 })) read.push(cell);
    // Assess
    expect(reader.numCells).toBe(3);
    expect(reader.header.names).toEqual(['細胞-α', 'C1', 'C 😀 "quoted"']);
    expect(reader.header.statuses).toEqual(['accepted', 'undecided', 'rejected']);
    expect(reader.header.colors).toEqual([0xff00ff00, 0, 4294967295]);
    expect(reader.header.timing.cropped).toEqual([[4, 6]]);
    expect(reader.header.timing.blank).toEqual([11]);
    expect(reader.header.timing.dropped).toEqual([1, 9]);
    expect(reader.header.timing.start.utcOffset).toBe(-25200);
    const invalid = new Set([1, 4, 5, 6, 9, 11]);
    read.forEach((cell, i) => {
      expect(Array.from(cell.footprint)).toEqual(Array.from(cells[i].footprint));
      const bits = new Uint32Array(cell.trace.buffer, cell.trace.byteOffset, cell.trace.length);
      for (let t = 0; t < 12; t++) {
        if (invalid.has(t)) expect(bits[t]).toBe(0x7fc00000);
        else expect(cell.trace[t]).toBe(cells[i].trace[t]);
      }
    });
  });

  it.each<[string, (data: Uint8Array, root: JsonObject) => Uint8Array, RegExp]>([
    // B = 4·(3·2 + 12) = 72 bytes per cell, 3 cells = 216 bytes.
    [
      '4 slack bytes after the cells',
      (d) => concatBytes(d, new Uint8Array(4)),
      /216 bytes.*220 bytes \(4 too many\)/,
    ],
    [
      'junk bytes before a valid file',
      (d) => concatBytes(new Uint8Array(8), d),
      /216 bytes.*224 bytes \(8 too many\)/,
    ],
    [
      'a footer numTimes one frame short',
      (d, r) => {
        objectAt(r, 'timingInfo').members.set('numTimes', jsonInt(11));
        return d;
      },
      // B' = 4·(6 + 11) = 68: 216 bytes = 3 cells and 12 bytes more.
      /204 bytes \(3 cells × 4·\(3·2 \+ 11\)\).*216 bytes \(12 too many\)/,
    ],
    [
      'a footer numPixels one pixel short',
      (d, r) => {
        objectAt(objectAt(r, 'spacingInfo'), 'numPixels').members.set('y', jsonInt(1));
        return d;
      },
      // B' = 4·(3 + 12) = 60: 216 bytes = 3 cells and 36 bytes more.
      /180 bytes .*216 bytes \(36 too many\)/,
    ],
  ])('refuses %s, naming the expected and actual data size', async (_, mutate, message) => {
    // Prepare
    const { bytes } = await makeCellSet(header, 3, 7);
    const { data, root } = splitContainer(bytes);
    const data2 = mutate(data, root);
    const edited = concatBytes(data2, encodeFooter(root));
    // Act
    const result = open(edited, 'geometry.isxd');
    // Assess
    await expect(result).rejects.toMatchObject({
      code: IsxdErrorCode.DataSize,
      file: 'geometry.isxd',
    });
    await expect(result).rejects.toThrow(message);
    await expect(result).rejects.toThrow(/^geometry\.isxd: data section size does not match/);
  });

  it.each<[string, number, number]>([
    ['zero', 0, 1000],
    ['negative', -50, 1000],
    ['negative (in the denominator)', 50, -1000],
  ])('refuses a %s frame period at open, naming the file and the value', async (_, num, den) => {
    // Prepare
    const { bytes } = await makeCellSet(header, 3, 7);
    const edited = editFooter(bytes, (r) => {
      const period = objectAt(objectAt(r, 'timingInfo'), 'period');
      period.members.set('num', jsonInt(num));
      period.members.set('den', jsonInt(den));
    });
    // Act
    const result = open(edited, 'period.isxd');
    // Assess
    await expect(result).rejects.toMatchObject({
      code: IsxdErrorCode.OutOfRange,
      file: 'period.isxd',
    });
    await expect(result).rejects.toThrow(
      `period.isxd: footer field timingInfo.period is invalid; expected a positive frame period (num/den > 0 seconds); got ${num}/${den}`,
    );
  });

  it('writes all 18 keys with fileVersion 5 and the official defaults', async () => {
    // Prepare
    const { bytes } = await makeCellSet(
      {
        timing: { numTimes: 2, period: { num: 1, den: 10 } },
        spacing: { numPixels: { x: 1, y: 1 } },
      },
      2,
    );
    // Act
    const { root } = splitContainer(bytes);
    // Assess
    expect([...root.members.keys()].sort()).toEqual(
      [
        'CellActivity',
        'CellColors',
        'CellNames',
        'CellStatuses',
        'CentroidDistances',
        'Matches',
        'PairScores',
        'SizeGlobalCS',
        'cellMetrics',
        'dataType',
        'efocusValues',
        'extraProperties',
        'fileVersion',
        'isRoiSet',
        'producer',
        'spacingInfo',
        'timingInfo',
        'type',
      ].sort(),
    );
    expect(toPlain(root)).toMatchObject({
      CellActivity: [true, true],
      CellColors: [4294967295, 4294967295],
      CellNames: ['C0', 'C1'],
      CellStatuses: [1, 1],
      SizeGlobalCS: 0,
      cellMetrics: null,
      dataType: 'float',
      efocusValues: [0],
      extraProperties: null,
      fileVersion: 5,
      isRoiSet: false,
      type: 1,
      spacingInfo: { pixelSize: { x: { num: 3, den: 1 } }, topLeft: { y: { num: 0, den: 1 } } },
      timingInfo: {
        blank: [],
        cropped: [],
        dropped: [],
        start: { secsSinceEpoch: { num: 0, den: 1 }, utcOffset: 0 },
      },
    });
    expect(member(root, 'timingInfo', 'period')).toEqual({
      type: 'object',
      members: new Map([
        ['den', jsonInt(10)],
        ['num', jsonInt(1)],
      ]),
    });
  });

  it('round-trips 10 001 cells with zero-padded default names', async () => {
    // Prepare
    const small = {
      timing: { numTimes: 3, period: { num: 1, den: 20 } },
      spacing: { numPixels: { x: 2, y: 1 } },
    };
    const { bytes, cells } = await makeCellSet(small, 10_001, 9);
    // Act
    const reader = await open(bytes);
    let count = 0;
    let same = true;
    for await (const cell of reader.cells()) {
      same &&= cell.trace.every((v, t) => v === cells[cell.index].trace[t]);
      count++;
    }
    // Assess
    expect(count).toBe(10_001);
    expect(same).toBe(true);
    expect(reader.header.names[0]).toBe('C00000');
    expect(reader.header.names[10_000]).toBe('C10000');
    expect(Array.from(await reader.readTrace(7777))).toEqual(Array.from(cells[7777].trace));
  });

  it.each([
    [0, 10, 'C0'],
    [9, 10, 'C9'],
    [0, 11, 'C00'],
    [10, 11, 'C10'],
    [99, 100, 'C99'],
    [0, 101, 'C000'],
    [100, 101, 'C100'],
  ])('names cell %i of %i %s (§5.3)', (index, count, name) => {
    // Act & Assess
    expect(defaultCellName(index, count)).toBe(name);
  });

  it('assembles the same file from chunks plus buildCellSetFooter as the streaming writer', async () => {
    // Prepare
    const { bytes } = await makeCellSet(header, 3, 5);
    const reader = await open(bytes);
    const chunks = [];
    for (let i = 0; i < 3; i++) chunks.push(await reader.readCellBytes(i));
    // Act
    const assembled = concatBytes(...chunks, buildCellSetFooter(header, 3));
    // Assess
    expect(sameBytes(assembled, bytes)).toBe(true);
  });

  it('applies per-cell metadata given to addCell', async () => {
    // Prepare
    const sink = memorySink();
    const writer = createCellSetWriter(sink, {
      timing: { numTimes: 1, period: { num: 1, den: 1 } },
      spacing: { numPixels: { x: 1, y: 1 } },
    });
    // Act
    await writer.addCell(new Float32Array([1]), new Float32Array([2]), {
      name: 'A',
      status: 'rejected',
      active: false,
    });
    await writer.addCellBytes(new Uint8Array(8), { color: 7 });
    await writer.finish();
    const reader = await open(sink.bytes());
    // Assess
    expect(reader.header.names).toEqual(['A', 'C1']);
    expect(reader.header.statuses).toEqual(['rejected', 'undecided']);
    expect(reader.header.activity).toEqual([false, true]);
    expect(reader.header.colors).toEqual([4294967295, 7]);
  });

  it.each<[string, boolean[], boolean[]]>([
    ['shorter than the cells (missing entries are true)', [false], [false, true, true]],
    [
      'longer than the cells (extra entries dropped)',
      [false, true, false, false],
      [false, true, false],
    ],
  ])(
    'reads a CellActivity %s, as the official reader does, and writes one per cell',
    async (_, given, read) => {
      // Prepare
      const { bytes } = await makeCellSet(header, 3, 7);
      const edited = editFooter(bytes, (r) =>
        r.members.set('CellActivity', {
          type: 'array',
          items: given.map((b) => ({ type: 'boolean', value: b })),
        }),
      );
      // Act
      const reader = await open(edited, 'activity.isxd');
      const footer = buildCellSetFooter(reader.header, reader.numCells);
      const rewritten = await open(concatBytes(splitContainer(edited).data, footer));
      // Assess
      expect(reader.header.activity).toEqual(read);
      expect(rewritten.header.activity).toEqual(read);
    },
  );

  it('rejects a footprint of the wrong size and a header list of the wrong length', async () => {
    // Prepare
    const sink = memorySink();
    const writer = createCellSetWriter(sink, { ...header, names: ['only one'] });
    // Act
    const badCell = writer.addCell(new Float32Array(5), new Float32Array(12));
    await writer.addCell(new Float32Array(6), new Float32Array(12));
    await writer.addCell(new Float32Array(6), new Float32Array(12));
    const badFinish = writer.finish();
    // Assess
    await expect(badCell).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(badFinish).rejects.toMatchObject({ parameter: 'header.names.length' });
    expect(() =>
      buildCellSetFooter(
        { ...header, timing: { ...header.timing, period: { num: 1, den: 0 } } },
        3,
      ),
    ).toThrow(InvalidParameterError);
  });
});
