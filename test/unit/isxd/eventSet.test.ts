import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memorySink, memorySource } from '../../../lib/bytes.js';
import { InvalidParameterError, IsxdErrorCode, IsxdFormatError } from '../../../lib/errors.js';
import {
  buildEventSetFooter,
  createEventSetWriter,
  EVENT_PACKET_BYTES,
  type EventSetHeaderInput,
  type EventSetReader,
  encodeFooter,
  eventSetEndTime,
  eventSetTiming,
  frameOffsetMicros,
  jsonInt,
  jsonNull,
  openEventSet,
} from '../../../lib/isxd/index.js';
import type { JsonObject } from '../../../lib/isxd/json.js';
import {
  concatBytes,
  editFooter,
  makeEventSet,
  readSample,
  SAMPLE_FILES,
  sameBytes,
} from '../../helpers/isxdFixtures.js';
import { describeShared } from '../../helpers/shared.js';

async function open(bytes: Uint8Array, name = 'events.isxd'): Promise<EventSetReader> {
  return openEventSet(memorySource(name, bytes));
}

function packets(list: [offset: number, channel: number, amplitude: number][]): Uint8Array {
  const out = new Uint8Array(list.length * EVENT_PACKET_BYTES);
  const view = new DataView(out.buffer);
  list.forEach(([offset, channel, amplitude], k) => {
    view.setBigUint64(k * EVENT_PACKET_BYTES, BigInt(offset), true);
    view.setBigUint64(k * EVENT_PACKET_BYTES + 8, BigInt(channel), true);
    view.setFloat32(k * EVENT_PACKET_BYTES + 16, amplitude, true);
  });
  return out;
}

const header: EventSetHeaderInput = {
  names: ['C001', 'ναι', 'C003'],
  timing: {
    numTimes: 100,
    period: { num: 50, den: 1000 },
    start: { secsSinceEpoch: { num: 1724666920278n, den: 1000n } },
  },
};

describeShared('event set samples (../shared/data)', () => {
  const facts = [
    {
      file: SAMPLE_FILES.eventsetMsr1,
      names: ['C001', 'C014', 'C030', 'C114', 'C175'],
      counts: [2072, 2984, 2141, 3544, 2763],
      start: { num: 1724666920278n, den: 1000n },
      end: { num: 1724667523568n, den: 1000n },
      step: { num: 603240466n, den: 12074000000n },
      numTimes: 12075,
      first: [99924n, 49962n, 49962n, 49962n, 149886n],
      last: [603240466n, 603090580n, 603240466n, 603240466n, 603090580n],
      dataSize: 270080,
      footer: 1412,
      offGrid: 274,
    },
    {
      file: SAMPLE_FILES.eventsetMsr2,
      names: ['C005', 'C015', 'C058', 'C135', 'C193'],
      counts: [2608, 2739, 2634, 3419, 2395],
      start: { num: 1724919751321n, den: 1000n },
      end: { num: 1724920356660n, den: 1000n },
      step: { num: 605289613n, den: 12115000000n },
      numTimes: 12116,
      first: [49962n, 49962n, 549582n, 49962n, 249810n],
      last: [605239651n, 605239651n, 605139727n, 605139727n, 605239651n],
      dataSize: 275900,
      footer: 1413,
      offGrid: 258,
    },
  ];

  it.each(facts)('reads the facts of $file stated in data/README.md', async (f) => {
    // Prepare
    const bytes = readSample(f.file);
    // Act
    const reader = await open(bytes, f.file);
    const cells = await reader.readAll();
    // Assess
    expect(reader.header.names).toEqual(f.names);
    expect(reader.header.numSamples).toEqual(f.counts);
    expect(await reader.countPackets()).toEqual(f.counts);
    expect(cells.map((c) => c.offsets.length)).toEqual(f.counts);
    expect(reader.timing.start.secsSinceEpoch).toEqual(f.start);
    expect(reader.timing.end.secsSinceEpoch).toEqual(f.end);
    expect(reader.timing.period).toEqual(f.step);
    expect(reader.timing.numTimes).toBe(f.numTimes);
    expect(reader.header.signalSteps).toEqual(Array(5).fill(f.step));
    expect(reader.header.signalTypes).toEqual([0, 0, 0, 0, 0]);
    expect(reader.header.startOffsets).toEqual(f.first);
    expect(reader.header.metrics).toBeNull();
    expect(reader.header.extraProperties).toEqual(jsonNull());
    expect([reader.dataSize, reader.fileSize - reader.dataSize - 9]).toEqual([
      f.dataSize,
      f.footer,
    ]);
    expect(cells.map((c) => c.offsets[0])).toEqual(f.first);
    expect(cells.map((c) => c.offsets[c.offsets.length - 1])).toEqual(f.last);
    const amplitudes = cells.flatMap((c) => Array.from(c.amplitudes));
    expect(Math.min(...amplitudes)).toBeGreaterThan(3.7e-6);
    expect(Math.max(...amplitudes)).toBeLessThan(675);
    let offGrid = 0;
    for (const c of cells) {
      for (const o of c.offsetsMicros) {
        const frame = Math.round(o / (Number(f.step.num) / Number(f.step.den) / 1e-6));
        const grid = frameOffsetMicros(frame, f.step);
        if (grid !== o) {
          expect(grid - o).toBe(1);
          offGrid++;
        }
      }
    }
    expect(offGrid).toBe(f.offGrid);
  });

  it.each(facts)('rewrites $file byte-identically from decoded events and timing', async (f) => {
    // Prepare
    const bytes = readSample(f.file);
    const reader = await open(bytes, f.file);
    const sink = memorySink();
    const writer = createEventSetWriter(sink, {
      names: reader.header.names,
      timing: {
        numTimes: reader.timing.numTimes,
        period: reader.header.signalSteps[0],
        start: reader.timing.start,
      },
      extraProperties: reader.header.extraProperties,
      producer: reader.header.producer,
    });
    // Act
    for (const cell of await reader.readAll()) await writer.addCell(cell.offsets, cell.amplitudes);
    await writer.finish();
    // Assess
    expect(sameBytes(sink.bytes(), bytes)).toBe(true);
  });

  it.each(facts)('rewrites $file byte-identically from its stored footer', async (f) => {
    // Prepare
    const bytes = readSample(f.file);
    const reader = await open(bytes, f.file);
    // Act
    const rewritten = concatBytes(bytes.subarray(0, reader.dataSize), encodeFooter(reader.footer));
    // Assess
    expect(sameBytes(rewritten, bytes)).toBe(true);
  });

  it('reads one cell with one ranged read when packets are grouped by channel', async () => {
    // Prepare
    const reader = await open(readSample(SAMPLE_FILES.eventsetMsr1));
    const all = await reader.readAll();
    // Act
    const cell = await reader.readCell(3);
    // Assess
    expect(Array.from(cell.offsets)).toEqual(Array.from(all[3].offsets));
    expect(Array.from(cell.amplitudes)).toEqual(Array.from(all[3].amplitudes));
    expect(cell.name).toBe('C114');
  });

  it('refuses a cell set where an event set is expected', async () => {
    // Act
    const result = open(readSample(SAMPLE_FILES.cellsetPart1), 'part1.isxd');
    // Assess
    await expect(result).rejects.toMatchObject({
      code: IsxdErrorCode.WrongFileType,
      file: 'part1.isxd',
    });
    await expect(result).rejects.toThrow(/cell set/);
  });

  it.each<[string, (root: JsonObject) => void, string]>([
    [
      'the legacy layout (no fileType)',
      (r) => r.members.delete('fileType'),
      IsxdErrorCode.WrongFileType,
    ],
    ['fileVersion 0', (r) => r.members.set('fileVersion', jsonInt(0)), IsxdErrorCode.OutOfRange],
    [
      'a short numSamples',
      (r) => r.members.set('numSamples', { type: 'array', items: [jsonInt(1)] }),
      IsxdErrorCode.BadValue,
    ],
    [
      'one global time',
      (r) => {
        const times = r.members.get('global times');
        if (times?.type === 'array') times.items.pop();
      },
      IsxdErrorCode.BadValue,
    ],
    ['a missing channel list', (r) => r.members.delete('channel list'), IsxdErrorCode.MissingKey],
    [
      'a metrics entry of 3 numbers',
      (r) =>
        r.members.set('metrics', {
          type: 'array',
          items: [{ type: 'array', items: [jsonInt(1), jsonInt(2), jsonInt(3)] }],
        }),
      IsxdErrorCode.BadValue,
    ],
  ])('refuses a footer with %s', async (_, edit, code) => {
    // Prepare
    const bytes = editFooter(readSample(SAMPLE_FILES.eventsetMsr2), edit);
    // Act
    const result = open(bytes, 'edited.isxd');
    // Assess
    await expect(result).rejects.toBeInstanceOf(IsxdFormatError);
    await expect(result).rejects.toMatchObject({ code, file: 'edited.isxd' });
  });
});

describe('eventSetEndTime (§6.3)', () => {
  it('truncates the double result to whole milliseconds (143 × 7 ms → 1000 ms, not 1001)', () => {
    // Act
    const end = eventSetEndTime(
      { secsSinceEpoch: { num: 0n, den: 1n }, utcOffset: 5 },
      { num: 7n, den: 1000n },
      143,
    );
    // Assess
    expect(end).toEqual({ secsSinceEpoch: { num: 1000n, den: 1000n }, utcOffset: 5 });
  });

  it('uses the shared denominator when start and period have the same one', () => {
    // Act
    const end = eventSetEndTime(
      { secsSinceEpoch: { num: 30100n, den: 1000n }, utcOffset: 0 },
      { num: 100n, den: 1000n },
      95,
    );
    // Assess
    expect(end.secsSinceEpoch).toEqual({ num: 39600n, den: 1000n });
  });
});

describe('eventSetTiming (§6.4)', () => {
  it('derives 27 frames for period 1/3856 s and 29 frames, as the doc predicts', async () => {
    // Prepare
    const bytes = await makeEventSet(
      { names: ['a'], timing: { numTimes: 29, period: { num: 1, den: 3856 } } },
      [{ offsets: [], amplitudes: [] }],
    );
    // Act
    const reader = await open(bytes);
    // Assess
    expect(reader.timing.numTimes).toBe(27);
  });

  it('takes the smallest positive step and falls back to 1 ms when entry 0 is zero', () => {
    // Prepare
    const base = (steps: { num: bigint; den: bigint }[]) => ({
      names: ['a', 'b', 'c'],
      numSamples: [0, 0, 0],
      startOffsets: [0n, 0n, 0n],
      globalTimes: [
        { secsSinceEpoch: { num: 0n, den: 1n }, utcOffset: 0 },
        { secsSinceEpoch: { num: 1n, den: 1n }, utcOffset: 0 },
      ],
      signalSteps: steps,
      signalTypes: [0, 0, 0],
      metrics: null,
      extraProperties: jsonNull(),
      producer: jsonNull(),
      fileVersion: 2,
    });
    // Act
    const smallest = eventSetTiming(
      base([
        { num: 1n, den: 10n },
        { num: 1n, den: 20n },
        { num: 0n, den: 1n },
      ]),
    );
    const fallback = eventSetTiming(
      base([
        { num: 0n, den: 1n },
        { num: 1n, den: 20n },
        { num: 1n, den: 10n },
      ]),
    );
    // Assess
    expect([smallest.period, smallest.numTimes]).toEqual([{ num: 1n, den: 20n }, 20]);
    expect([fallback.period, fallback.numTimes]).toEqual([{ num: 1n, den: 1000n }, 1000]);
  });
});

describe('event sets written from scratch', () => {
  it('round-trips events, empty cells and non-ASCII names; the derived frame count matches', async () => {
    // Prepare
    const cells = [
      {
        offsets: [0, frameOffsetMicros(3, { num: 50, den: 1000 }), 4_950_000],
        amplitudes: [1.5, 2.25, 1e-6],
      },
      { offsets: [], amplitudes: [] },
      { offsets: [2 ** 40], amplitudes: [-3] },
    ];
    // Act
    const bytes = await makeEventSet(header, cells);
    const reader = await open(bytes);
    const read = await reader.readAll();
    // Assess
    expect(reader.header.names).toEqual(header.names);
    expect(reader.header.numSamples).toEqual([3, 0, 1]);
    expect(reader.header.startOffsets).toEqual([0n, 0n, 2n ** 40n]);
    expect(reader.timing.numTimes).toBe(100);
    expect(reader.timing.end.secsSinceEpoch).toEqual({ num: 1724666925278n, den: 1000n });
    expect(read.map((c) => Array.from(c.offsetsMicros))).toEqual(cells.map((c) => c.offsets));
    expect(read.map((c) => Array.from(c.amplitudes))).toEqual(
      cells.map((c) => c.amplitudes.map(Math.fround)),
    );
    expect(read[0].offsets[1]).toBe(150_000n);
    expect((await reader.readCell(1)).offsets.length).toBe(0);
  });

  it('round-trips 10 001 cells, most of them empty', async () => {
    // Prepare
    const names = Array.from({ length: 10_001 }, (_, i) => `細胞${i}`);
    const cells = names.map((_, i) =>
      i % 1000 === 0
        ? { offsets: [i, i + 50_000], amplitudes: [i / 7, 1] }
        : { offsets: [], amplitudes: [] },
    );
    // Act
    const bytes = await makeEventSet({ ...header, names }, cells);
    const reader = await open(bytes);
    const read = await reader.readAll();
    // Assess
    expect(reader.numCells).toBe(10_001);
    expect(reader.numPackets).toBe(22);
    expect(reader.header.names[10_000]).toBe('細胞10000');
    expect(read.map((c) => Array.from(c.offsetsMicros))).toEqual(cells.map((c) => c.offsets));
    expect(read.map((c) => Array.from(c.amplitudes))).toEqual(
      cells.map((c) => c.amplitudes.map(Math.fround)),
    );
    expect(reader.header.startOffsets[9000]).toBe(9000n);
    expect(Array.from((await reader.readCell(10_000)).offsets)).toEqual([10_000n, 60_000n]);
  });

  it('sorts packets and collapses duplicate times keeping the packet read last', async () => {
    // Prepare
    const data = packets([
      [300, 1, 1],
      [100, 0, 2],
      [200, 1, 3],
      [300, 1, 4],
      [100, 1, 5],
      [200, 1, 6],
    ]);
    const bytes = concatBytes(
      data,
      buildEventSetFooter({ ...header, names: ['a', 'b'] }, [1, 5], [100, 300]),
    );
    // Act
    const reader = await open(bytes);
    const all = await reader.readAll();
    const one = await reader.readCell(1);
    // Assess
    expect(Array.from(all[1].offsets)).toEqual([100n, 200n, 300n]);
    expect(Array.from(all[1].amplitudes)).toEqual([5, 6, 4]);
    expect(Array.from(one.amplitudes)).toEqual([5, 6, 4]);
    expect(Array.from(all[0].amplitudes)).toEqual([2]);
  });

  it('refuses a data section that is not whole packets, and a channel out of range', async () => {
    // Prepare
    const footer = buildEventSetFooter({ ...header, names: ['a'] }, [1], [0]);
    const partial = concatBytes(packets([[1, 0, 1]]).subarray(0, 19), footer);
    const badChannel = concatBytes(packets([[1, 4, 1]]), footer);
    // Act
    const partialResult = open(partial, 'partial.isxd');
    const channelResult = (await open(badChannel, 'channel.isxd')).readAll();
    // Assess
    await expect(partialResult).rejects.toMatchObject({
      code: IsxdErrorCode.DataSize,
      file: 'partial.isxd',
    });
    await expect(channelResult).rejects.toMatchObject({
      code: IsxdErrorCode.OutOfRange,
      file: 'channel.isxd',
    });
  });

  it('rejects negative or fractional offsets and a wrong number of cells', async () => {
    // Prepare
    const writer = createEventSetWriter(memorySink(), { ...header, names: ['a', 'b'] });
    // Act
    const negative = writer.addCell([-1], [1]);
    const fractional = writer.addCell([1.5], [1]);
    await writer.addCell([1], [1]);
    const early = writer.finish();
    // Assess
    await expect(negative).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(fractional).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(early).rejects.toMatchObject({ parameter: 'cells written' });
  });

  it('computes frame offsets equal to exact BigInt rounding for random periods', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.bigInt({ min: 0n, max: 2n ** 40n }),
        fc.bigInt({ min: 1n, max: 2n ** 45n }),
        (frame, num, den) => {
          const exact = (2n * BigInt(frame) * num * 1_000_000n + den) / (2n * den);
          return frameOffsetMicros(frame, { num, den }) === Number(exact);
        },
      ),
      { seed: 17, numRuns: 3000 },
    );
  });

  it('computes frame offsets as round(i·period·1e6) µs', () => {
    // Act
    const offsets = [0, 1, 2, 241].map((i) =>
      frameOffsetMicros(i, { num: 603240466, den: 12074000000 }),
    );
    // Assess
    expect(offsets).toEqual([0, 49962, 99924, 12040828]);
  });
});
