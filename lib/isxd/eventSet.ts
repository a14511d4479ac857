/**
 * Inscopix event sets (footer `"type": 5`, `"fileType": 1`, docs/isxd-format.md §6).
 *
 * Data section: 20-byte LE packets (u64 µs after `global times[0]`, u64 channel, f32 amplitude;
 * eventPackets.ts), written cell by cell with ascending times (§6.1). Readers group packets by channel, sort by time
 * and collapse duplicate times keeping the packet read last (§6.4). The footer's end time is
 * end = trunc(double(start + p·N) · 1000) / 1000 with the sum formed as an unreduced rational (§6.3);
 * the derived frame count is N = ⌈(end − start) / p⌉ with p the smallest positive signal step (§6.4).
 * Events on frame i sit at round(i·p·10⁶) µs (rational.ts `frameOffsetMicros`).
 * Packets are decoded through eventPackets.ts word views; amplitude bits are copied, never
 * re-encoded.
 */
import type { ByteSink, ByteSource } from '../bytes.js';
import { InvalidParameterError, IsxdErrorCode, IsxdFormatError } from '../errors.js';
import { StagedSink } from './binary.js';
import { FooterFields, producerJson, ratioJson, timeJson } from './blocks.js';
import { type ContainerFooter, encodeFooter, readFooter, shortRead } from './container.js';
import {
  EVENT_PACKET_BYTES,
  EVENT_PACKET_WORDS,
  EventPacketWriter,
  eventPacketWords,
  PACKET_WORD,
  packetChannel,
} from './eventPackets.js';
import {
  type JsonValue,
  jsonArray,
  jsonFloat,
  jsonInt,
  jsonNull,
  jsonObject,
  jsonString,
} from './json.js';
import {
  addRatios,
  ceilQuotient,
  compareRatios,
  ratioSign,
  ratioToNumber,
  scaleRatio,
  subtractRatios,
  toRatio,
} from './rational.js';
import { DEFAULT_PRODUCER, type IsxdTime, type Ratio, type RatioLike } from './types.js';

/** Event-set type number (§4). */
const EVENT_SET_TYPE = 5;
/** The data layout this module reads and writes (§6.2 `fileType`). */
const EVENT_FILE_TYPE = 1;
/** The footer schema version the official writer emits (§6.2). */
const EVENT_SET_FILE_VERSION = 2;
const SCAN_PACKETS = 1 << 16;
const TWO_32 = 2 ** 32;

/** Everything an event-set footer says (§6.2), decoded; per-channel arrays have one entry per name. */
interface EventSetHeader {
  /** `channel list`: cell names by channel index. */
  readonly names: readonly string[];
  /** Packets written per channel (informational). */
  readonly numSamples: readonly number[];
  /** µs offset of each channel's first written packet, 0 if none (informational). */
  readonly startOffsets: readonly bigint[];
  /** `global times`: [start, end, …]. */
  readonly globalTimes: readonly IsxdTime[];
  readonly signalSteps: readonly Ratio[];
  readonly signalTypes: readonly number[];
  /** null, or per channel null (`{}`) or ≥ 9 floats (§6.5; stored null reads as NaN). */
  readonly metrics: readonly (readonly number[] | null)[] | null;
  readonly extraProperties: JsonValue;
  readonly producer: JsonValue;
  readonly fileVersion: number;
}

/** Timing an event set reports (§6.4). */
interface EventSetTiming {
  readonly start: IsxdTime;
  readonly end: IsxdTime;
  /** Smallest positive signal step, or 1/1000 s. */
  readonly period: Ratio;
  /** ⌈(end − start) / period⌉. */
  readonly numTimes: number;
}

/** One cell's events: sorted by time, duplicate times collapsed (last packet wins). */
interface EventCell {
  readonly index: number;
  readonly name: string;
  /** µs after the start, exact. */
  readonly offsets: BigUint64Array;
  /** The same offsets as doubles (exact below 2^53 µs ≈ 285 years). */
  readonly offsetsMicros: Float64Array;
  readonly amplitudes: Float32Array;
}

/** Access to an event set; the footer is read once on open. */
interface EventSetReader {
  readonly kind: 'eventset';
  readonly file: string;
  readonly header: EventSetHeader;
  readonly footer: JsonValue;
  readonly timing: EventSetTiming;
  readonly numCells: number;
  readonly numPackets: number;
  readonly dataSize: number;
  readonly fileSize: number;
  /** Packets per channel, counted from the data (validates every channel index). */
  countPackets(): Promise<number[]>;
  /** One cell's events (one ranged read when the packets are grouped as numSamples says). */
  readCell(index: number): Promise<EventCell>;
  /** Every cell's events from one pass over the data. */
  readAll(): Promise<EventCell[]>;
}

/** Writer input (§6.7). The timing is the cell set's: start, period, numTimes. */
interface EventSetHeaderInput {
  readonly names: readonly string[];
  readonly timing: {
    readonly numTimes: number;
    readonly period: RatioLike;
    readonly start?: { readonly secsSinceEpoch: RatioLike; readonly utcOffset?: number };
  };
  /** Overrides the §6.3 end time (to copy a stored one). */
  readonly end?: IsxdTime;
  readonly metrics?: readonly (readonly number[] | null)[] | null;
  readonly extraProperties?: JsonValue;
  readonly producer?: JsonValue;
}

/** Streaming writer: one `addCell` per name, in channel order, then `finish`. */
interface EventSetWriter {
  readonly numCells: number;
  /** Writes one cell's events (offsets in µs after the start, written in the given order). */
  addCell(
    offsets: BigUint64Array | Float64Array | readonly number[] | readonly bigint[],
    amplitudes: Float32Array | readonly number[],
  ): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

// ---------------------------------------------------------------- timing (§6.3, §6.4)

/**
 * `global times[1]` as the official writer derives it (§6.3): the unreduced rational
 * start + p·N, converted part by part to doubles, divided, ×1000, truncated; den 1000.
 */
function eventSetEndTime(start: IsxdTime, period: Ratio, numTimes: number): IsxdTime {
  const end = addRatios(start.secsSinceEpoch, scaleRatio(period, numTimes));
  const ms = Math.trunc(ratioToNumber(end) * 1000);
  return { secsSinceEpoch: { num: BigInt(ms), den: 1000n }, utcOffset: start.utcOffset };
}

/** The timing readers report (§6.4). */
function eventSetTiming(header: EventSetHeader): EventSetTiming {
  const [start, end] = header.globalTimes;
  const steps = header.signalSteps;
  let period: Ratio | undefined = steps[0];
  for (const step of steps)
    if (ratioSign(step) > 0 && period !== undefined && compareRatios(step, period) < 0)
      period = step;
  if (period === undefined || ratioSign(period) <= 0) period = { num: 1n, den: 1000n };
  const frames = ceilQuotient(subtractRatios(end.secsSinceEpoch, start.secsSinceEpoch), period);
  return { start, end, period, numTimes: frames > 0n ? Number(frames) : 0 };
}

// ---------------------------------------------------------------- reading

function decodeEventSetHeader(root: JsonValue, file: string): EventSetHeader {
  const f = new FooterFields(file);
  const obj = f.fileRoot(root, EVENT_SET_TYPE);
  const get = (key: string) => f.member(obj, key, key);
  const fileTypeValue = obj.members.get('fileType');
  const fileType = fileTypeValue === undefined ? 0 : f.uint(fileTypeValue, 'fileType');
  if (fileType !== EVENT_FILE_TYPE) {
    throw new IsxdFormatError(file, IsxdErrorCode.WrongFileType, 'unsupported event-set layout', {
      expected: '"fileType": 1 (20-byte packets)',
      actual: fileType === 0 ? 'the legacy layout (no fileType or 0)' : `"fileType": ${fileType}`,
    });
  }
  const fileVersion = f.uint(get('fileVersion'), 'fileVersion');
  if (fileVersion < 1)
    f.fail(IsxdErrorCode.OutOfRange, 'fileVersion', 'at least 1', get('fileVersion'));
  const names = f
    .array(get('channel list'), 'channel list')
    .map((v, i) => f.string(v, `channel list[${i}]`));
  const perChannel = <T>(key: string, read: (v: JsonValue, path: string) => T): T[] => {
    const items = f.array(get(key), key);
    if (items.length < names.length)
      f.fail(IsxdErrorCode.BadValue, key, `${names.length} entries (one per channel)`, get(key));
    return items.map((v, i) => read(v, `${key}[${i}]`));
  };
  const numSamples = perChannel('numSamples', (v, p) => f.uint(v, p));
  const startOffsets = perChannel('startOffsets', (v, p) => f.uintBig(v, p));
  const signalTypes = perChannel('signalTypes', (v, p) => f.uint(v, p, 255));
  const signalSteps = perChannel('signalSteps', (v, p) => f.ratio(v, p));
  const times = f.array(get('global times'), 'global times');
  if (times.length < 2)
    f.fail(IsxdErrorCode.BadValue, 'global times', '[start, end]', get('global times'));
  const globalTimes = times.map((v, i) => f.time(v, `global times[${i}]`));
  const metricsValue = obj.members.get('metrics');
  let metrics: (number[] | null)[] | null = null;
  if (metricsValue !== undefined && metricsValue.type !== 'null') {
    metrics = f.array(metricsValue, 'metrics').map((v, i) => {
      const path = `metrics[${i}]`;
      if (v.type === 'object' && v.members.size === 0) return null;
      const items = f.array(v, path);
      if (items.length === 0) return null;
      if (items.length < 9) f.fail(IsxdErrorCode.BadValue, path, '{} or at least 9 numbers', v);
      return items.map((w, k) => f.float(w, `${path}[${k}]`));
    });
  }
  return {
    names,
    numSamples,
    startOffsets,
    globalTimes,
    signalSteps,
    signalTypes,
    metrics,
    extraProperties: obj.members.get('extraProperties') ?? jsonNull(),
    producer: obj.members.get('producer') ?? jsonNull(),
    fileVersion,
  };
}

/** Per-channel packet storage while decoding: offsets as (lo, hi) u32 pairs, LE u64. */
interface Bucket {
  words: Uint32Array;
  amplitudes: Float32Array;
  /** The amplitudes' bits (copies float32 payloads exactly). */
  amplitudeBits: Uint32Array;
  filled: number;
}

class EventSetFileReader implements EventSetReader {
  readonly kind = 'eventset';
  readonly file: string;
  readonly header: EventSetHeader;
  readonly footer: JsonValue;
  readonly timing: EventSetTiming;
  readonly numCells: number;
  readonly numPackets: number;
  readonly dataSize: number;
  readonly fileSize: number;

  constructor(
    private readonly source: ByteSource,
    container: ContainerFooter,
  ) {
    this.file = source.name;
    this.footer = container.root;
    this.header = decodeEventSetHeader(container.root, this.file);
    this.timing = eventSetTiming(this.header);
    this.numCells = this.header.names.length;
    this.dataSize = container.dataSize;
    this.fileSize = container.fileSize;
    if (this.dataSize % EVENT_PACKET_BYTES !== 0) {
      throw new IsxdFormatError(
        this.file,
        IsxdErrorCode.DataSize,
        'data section is not whole packets',
        {
          expected: `a multiple of ${EVENT_PACKET_BYTES} bytes`,
          actual: `${this.dataSize} bytes`,
        },
      );
    }
    this.numPackets = this.dataSize / EVENT_PACKET_BYTES;
  }

  /** Packets [first, end) as u32 words (eventPackets.ts `eventPacketWords`). */
  private async *batches(first = 0, end = this.numPackets): AsyncGenerator<Uint32Array> {
    for (let p = first; p < end; p += SCAN_PACKETS) {
      const count = Math.min(SCAN_PACKETS, end - p);
      const at = p * EVENT_PACKET_BYTES;
      const bytes = await this.source.read(at, count * EVENT_PACKET_BYTES);
      if (bytes.byteLength !== count * EVENT_PACKET_BYTES)
        throw shortRead(this.file, at, count * EVENT_PACKET_BYTES, bytes.byteLength);
      yield eventPacketWords(bytes);
    }
  }

  private channelAt(words: Uint32Array, w: number, packet: number): number {
    const channel = packetChannel(words, w);
    if (channel >= this.numCells) {
      throw new IsxdFormatError(
        this.file,
        IsxdErrorCode.OutOfRange,
        `packet ${packet} names a channel that does not exist`,
        {
          expected: `a channel index below ${this.numCells}`,
          actual: String(channel),
          offset: packet * EVENT_PACKET_BYTES + 8,
        },
      );
    }
    return channel;
  }

  async countPackets(): Promise<number[]> {
    const counts = new Array<number>(this.numCells).fill(0);
    let packet = 0;
    for await (const words of this.batches()) {
      for (let w = 0; w < words.length; w += EVENT_PACKET_WORDS, packet++)
        counts[this.channelAt(words, w, packet)]++;
    }
    return counts;
  }

  private fill(words: Uint32Array, w: number, bucket: Bucket): void {
    const k = bucket.filled++;
    bucket.words[2 * k] = words[w + PACKET_WORD.offsetLo];
    bucket.words[2 * k + 1] = words[w + PACKET_WORD.offsetHi];
    bucket.amplitudeBits[k] = words[w + PACKET_WORD.amplitude];
  }

  private finishCell(index: number, bucket: Bucket): EventCell {
    const n = bucket.filled;
    const { words, amplitudes } = bucket;
    let sorted = true;
    for (let k = 1; k < n && sorted; k++) {
      const hiA = words[2 * k - 1];
      const hiB = words[2 * k + 1];
      sorted = hiA < hiB || (hiA === hiB && words[2 * k - 2] < words[2 * k]);
    }
    let outWords = words;
    let outAmp = amplitudes;
    if (!sorted) {
      const key = (k: number) => words[2 * k + 1] * TWO_32 + words[2 * k];
      const exact = (k: number) => (BigInt(words[2 * k + 1]) << 32n) | BigInt(words[2 * k]);
      const order = Array.from({ length: n }, (_, k) => k).sort((x, y) => {
        const d = key(x) - key(y);
        if (d !== 0) return d;
        const e = exact(x) - exact(y);
        return e === 0n ? x - y : e < 0n ? -1 : 1;
      });
      const keep = order.filter(
        (k, j) => j + 1 === order.length || exact(order[j + 1]) !== exact(k),
      ); // §6.4 last wins
      outWords = new Uint32Array(2 * keep.length);
      outAmp = new Float32Array(keep.length);
      keep.forEach((k, j) => {
        outWords[2 * j] = words[2 * k];
        outWords[2 * j + 1] = words[2 * k + 1];
        outAmp[j] = amplitudes[k];
      });
    }
    const m = outAmp.length;
    const offsetsMicros = new Float64Array(m);
    for (let k = 0; k < m; k++) offsetsMicros[k] = outWords[2 * k + 1] * TWO_32 + outWords[2 * k];
    return {
      index,
      name: this.header.names[index],
      offsets: new BigUint64Array(outWords.buffer, outWords.byteOffset, m),
      offsetsMicros,
      amplitudes: outAmp,
    };
  }

  private bucket(count: number): Bucket {
    const amplitudes = new Float32Array(count);
    return {
      words: new Uint32Array(2 * count),
      amplitudes,
      amplitudeBits: new Uint32Array(amplitudes.buffer),
      filled: 0,
    };
  }

  async readAll(): Promise<EventCell[]> {
    const buckets = (await this.countPackets()).map((n) => this.bucket(n));
    let packet = 0;
    for await (const words of this.batches()) {
      for (let w = 0; w < words.length; w += EVENT_PACKET_WORDS, packet++)
        this.fill(words, w, buckets[this.channelAt(words, w, packet)]);
    }
    return buckets.map((b, i) => this.finishCell(i, b));
  }

  async readCell(index: number): Promise<EventCell> {
    if (!Number.isInteger(index) || index < 0 || index >= this.numCells)
      throw new InvalidParameterError('cell index', index, `an integer in [0, ${this.numCells})`);
    const counts = this.header.numSamples;
    let first = 0;
    let total = 0;
    for (let i = 0; i < this.numCells; i++) {
      if (i === index) first = total;
      total += counts[i];
    }
    if (total === this.numPackets) {
      const bucket = this.bucket(counts[index]);
      let grouped = true;
      let packet = first;
      for await (const words of this.batches(first, first + counts[index])) {
        for (let w = 0; w < words.length && grouped; w += EVENT_PACKET_WORDS, packet++) {
          grouped = this.channelAt(words, w, packet) === index;
          if (grouped) this.fill(words, w, bucket);
        }
      }
      if (grouped) return this.finishCell(index, bucket);
    }
    const bucket = this.bucket((await this.countPackets())[index]);
    let packet = 0;
    for await (const words of this.batches()) {
      for (let w = 0; w < words.length; w += EVENT_PACKET_WORDS, packet++)
        if (this.channelAt(words, w, packet) === index) this.fill(words, w, bucket);
    }
    return this.finishCell(index, bucket);
  }
}

/**
 * Opens an event set (`"type": 5`, `"fileType": 1`): footer only, validated as in §6.6.
 * @throws IsxdFormatError naming the file and what is wrong
 */
async function openEventSet(source: ByteSource): Promise<EventSetReader> {
  return new EventSetFileReader(source, await readFooter(source));
}

/** {@link openEventSet} over a footer already read with `readFooter`. */
function eventSetFromFooter(source: ByteSource, footer: ContainerFooter): EventSetReader {
  return new EventSetFileReader(source, footer);
}

// ---------------------------------------------------------------- writing (§6.7)

function toStart(input: EventSetHeaderInput['timing']['start']): IsxdTime {
  const utcOffset = input?.utcOffset ?? 0;
  if (!Number.isInteger(utcOffset) || Math.abs(utcOffset) > 2 ** 31 - 1)
    throw new InvalidParameterError('timing.start.utcOffset', utcOffset, 'an int32');
  return {
    secsSinceEpoch: toRatio(input?.secsSinceEpoch ?? { num: 0, den: 1 }, 'timing.start'),
    utcOffset,
  };
}

function toMicros(value: bigint | number, parameter: string): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value >= 1n << 64n)
      throw new InvalidParameterError(parameter, value, 'a uint64 µs offset');
    return value;
  }
  if (!Number.isSafeInteger(value) || value < 0)
    throw new InvalidParameterError(parameter, value, 'a non-negative integer µs offset');
  return BigInt(value);
}

/** Validated start, period and §6.3 end of a writer header. */
function eventTimes(header: EventSetHeaderInput): {
  period: Ratio;
  start: IsxdTime;
  end: IsxdTime;
} {
  const { numTimes } = header.timing;
  if (!Number.isSafeInteger(numTimes) || numTimes < 0)
    throw new InvalidParameterError('timing.numTimes', numTimes, 'a non-negative integer');
  const period = toRatio(header.timing.period, 'timing.period');
  const start = toStart(header.timing.start);
  return { period, start, end: header.end ?? eventSetEndTime(start, period, numTimes) };
}

/**
 * The footer bytes of an event set whose cells have `counts[i]` packets, the first at
 * `firstOffsets[i]` µs (0 when none), as the official writer builds it (§6.7). Append it to a
 * data section produced elsewhere.
 * @throws InvalidParameterError when a list does not have one entry per name or a value is invalid
 */
function buildEventSetFooter(
  header: EventSetHeaderInput,
  counts: readonly number[],
  firstOffsets: readonly (bigint | number)[],
): Uint8Array {
  const n = header.names.length;
  if (counts.length !== n)
    throw new InvalidParameterError('counts.length', counts.length, `${n} (one per name)`);
  if (firstOffsets.length !== n)
    throw new InvalidParameterError(
      'firstOffsets.length',
      firstOffsets.length,
      `${n} (one per name)`,
    );
  counts.forEach((c, i) => {
    if (!Number.isSafeInteger(c) || c < 0)
      throw new InvalidParameterError(`counts[${i}]`, c, 'a non-negative integer');
  });
  const { period, start, end } = eventTimes(header);
  const metrics = header.metrics ?? null;
  const root = jsonObject({
    'channel list': jsonArray(header.names.map(jsonString)),
    extraProperties: header.extraProperties ?? jsonNull(),
    fileType: jsonInt(EVENT_FILE_TYPE),
    fileVersion: jsonInt(EVENT_SET_FILE_VERSION),
    'global times': jsonArray([timeJson(start), timeJson(end)]),
    metrics:
      metrics === null
        ? jsonNull()
        : jsonArray(
            metrics.map((m) => (m === null ? jsonObject({}) : jsonArray(m.map(jsonFloat)))),
          ),
    numSamples: jsonArray(counts.map((c) => jsonInt(c))),
    producer: header.producer ?? producerJson(DEFAULT_PRODUCER.name, DEFAULT_PRODUCER.version),
    signalSteps: jsonArray(header.names.map(() => ratioJson(period))),
    signalTypes: jsonArray(header.names.map(() => jsonInt(0))),
    startOffsets: jsonArray(firstOffsets.map((o, i) => jsonInt(toMicros(o, `firstOffsets[${i}]`)))),
    type: jsonInt(EVENT_SET_TYPE),
  });
  return encodeFooter(root);
}

class EventSetStreamWriter implements EventSetWriter {
  numCells = 0;
  private readonly out: StagedSink;
  private readonly counts: number[] = [];
  private readonly firstOffsets: bigint[] = [];
  private readonly packets = new EventPacketWriter();
  private done = false;

  constructor(
    private readonly sink: ByteSink,
    private readonly header: EventSetHeaderInput,
  ) {
    eventTimes(header);
    this.out = new StagedSink(sink);
  }

  async addCell(
    offsets: BigUint64Array | Float64Array | readonly number[] | readonly bigint[],
    amplitudes: Float32Array | readonly number[],
  ): Promise<void> {
    const cell = this.numCells;
    if (this.done || cell >= this.header.names.length)
      throw new InvalidParameterError(
        'addCell',
        cell,
        `at most ${this.header.names.length} cells before finish`,
      );
    const n = offsets.length;
    if (amplitudes.length !== n)
      throw new InvalidParameterError(
        `amplitudes of cell ${cell}`,
        `length ${amplitudes.length}`,
        `${n} (one per offset)`,
      );
    const packets = this.packets;
    packets.clear();
    packets.reserve(n);
    let first = 0n;
    for (let k = 0; k < n; k++) {
      const o = offsets[k];
      if (typeof o === 'bigint') {
        const micros = toMicros(o, `offsets of cell ${cell}[${k}]`);
        packets.pushExact(micros, cell, amplitudes[k]);
        if (k === 0) first = micros;
      } else {
        if (!Number.isSafeInteger(o) || o < 0) toMicros(o, `offsets of cell ${cell}[${k}]`);
        packets.push(o, cell, amplitudes[k]);
        if (k === 0) first = BigInt(o);
      }
    }
    await this.out.append(packets.held());
    this.counts.push(n);
    this.firstOffsets.push(first);
    this.numCells++;
  }

  async finish(): Promise<void> {
    if (this.done)
      throw new InvalidParameterError('writer', 'finished', 'an open event-set writer');
    if (this.numCells !== this.header.names.length)
      throw new InvalidParameterError(
        'cells written',
        this.numCells,
        `${this.header.names.length} (one per name)`,
      );
    const footer = buildEventSetFooter(this.header, this.counts, this.firstOffsets);
    this.done = true;
    await this.out.append(footer);
    await this.out.flush();
    await this.sink.close();
  }

  async abort(): Promise<void> {
    this.done = true;
    await this.sink.abort();
  }
}

/**
 * A streaming event-set writer (§6.7): one `addCell` per name in channel order, then `finish()`.
 * @throws InvalidParameterError for an invalid header
 */
function createEventSetWriter(sink: ByteSink, header: EventSetHeaderInput): EventSetWriter {
  return new EventSetStreamWriter(sink, header);
}

export type {
  EventCell,
  EventSetHeader,
  EventSetHeaderInput,
  EventSetReader,
  EventSetTiming,
  EventSetWriter,
};
export {
  buildEventSetFooter,
  createEventSetWriter,
  decodeEventSetHeader,
  EVENT_SET_FILE_VERSION,
  EVENT_SET_TYPE,
  eventSetEndTime,
  eventSetFromFooter,
  eventSetTiming,
  openEventSet,
};
