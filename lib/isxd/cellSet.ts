/**
 * Inscopix cell sets (footer `"type": 1`, docs/isxd-format.md §5).
 *
 * Data section: cells back to back, cell i = footprint (H·W float32, row-major) ‖ trace
 * (T float32), so with B = 4·(W·H + T) cell i starts at i·B and its trace at i·B + 4·W·H (§5.1).
 * numCells = ⌊D / B⌋ must equal the lengths of CellNames, CellStatuses and CellColors (§5.6).
 * Writing follows §5.7: 18 footer keys, fileVersion 5, normalised timing, NaN (0x7FC00000) at
 * invalid samples, default names `C<i>` zero-padded (§5.3), status undecided, colour white.
 */
import type { ByteSink, ByteSource } from '../bytes.js';
import { InvalidParameterError, IsxdErrorCode, IsxdFormatError } from '../errors.js';
import { bytesOf, float32At, StagedSink } from './binary.js';
import { FooterFields, producerJson, spacingJson, timingJson } from './blocks.js';
import { type ContainerFooter, encodeFooter, readFooter, shortRead } from './container.js';
import {
  type JsonObject,
  type JsonValue,
  jsonArray,
  jsonBool,
  jsonFloat,
  jsonInt,
  jsonNull,
  jsonObject,
  jsonString,
} from './json.js';
import { toRatio } from './rational.js';
import {
  CELL_STATUSES,
  type CellStatus,
  cellStatusCode,
  DEFAULT_CELL_COLOR,
  DEFAULT_PRODUCER,
  type IsxdTime,
  invalidFrameIndices,
  normalizeTiming,
  type RatioLike,
  type SpacingInfo,
  type TimingInfo,
} from './types.js';

/** Cell-set type number (§4). */
const CELL_SET_TYPE = 1;
/** The footer schema version this library writes (§5.2). */
const CELL_SET_FILE_VERSION = 5;
/** NaN stored at invalid samples, as its bit pattern (§5.1). */
const NAN_BITS = 0x7fc00000;
const DEFAULT_BATCH_BYTES = 4 << 20;

/** Image metrics of one cell (§5.5). Float positions follow the float rule of §2.1. */
interface CellMetrics {
  readonly numComponents: number;
  readonly centroid: { readonly x: bigint; readonly y: bigint };
  readonly largestCentroid: { readonly x: bigint; readonly y: bigint };
  readonly totalArea: number;
  readonly largestArea: number;
  readonly maxContourWidth: number;
  readonly largestMaxContourWidth: number;
}

/** Everything a cell-set footer says (§5.2), decoded. */
interface CellSetHeader {
  readonly names: readonly string[];
  readonly statuses: readonly CellStatus[];
  /** 0xAARRGGBB per cell (an empty stored list reads as all white). */
  readonly colors: readonly number[];
  /** Per cell (an empty stored list reads as all true). */
  readonly activity: readonly boolean[];
  readonly timing: TimingInfo;
  readonly spacing: SpacingInfo;
  readonly isRoiSet: boolean;
  readonly dataType: string;
  readonly fileVersion: number;
  readonly efocusValues: readonly number[];
  readonly sizeGlobalCS: number;
  readonly matches: readonly number[];
  readonly pairScores: readonly number[];
  readonly centroidDistances: readonly number[];
  /** null, or one entry per cell (null = `{}`, no metrics). */
  readonly cellMetrics: readonly (CellMetrics | null)[] | null;
  /** Free-form, kept verbatim (§3.6). */
  readonly extraProperties: JsonValue;
  /** Kept verbatim (§3.5). */
  readonly producer: JsonValue;
}

/** Timing as a caller gives it; lists default to empty, start to 0/1 s (§3.3). */
interface TimingInput {
  readonly numTimes: number;
  readonly period: RatioLike;
  readonly start?: { readonly secsSinceEpoch: RatioLike; readonly utcOffset?: number };
  readonly dropped?: readonly number[];
  readonly cropped?: readonly (readonly [number, number])[];
  readonly blank?: readonly number[];
}

/** Spacing as a caller gives it; pixel size defaults to 3/1 µm, top-left to 0/1 (§3.4). */
interface SpacingInput {
  readonly numPixels: { readonly x: number; readonly y: number };
  readonly pixelSize?: { readonly x: RatioLike; readonly y: RatioLike };
  readonly topLeft?: { readonly x: RatioLike; readonly y: RatioLike };
}

/**
 * What a writer needs; every list is optional and, when given, has one entry per cell. Omitted
 * values take the official writer's defaults (§5.7). A decoded {@link CellSetHeader} fits.
 */
interface CellSetHeaderInput {
  readonly timing: TimingInput;
  readonly spacing: SpacingInput;
  readonly names?: readonly string[];
  readonly statuses?: readonly CellStatus[];
  readonly colors?: readonly number[];
  readonly activity?: readonly boolean[];
  readonly isRoiSet?: boolean;
  readonly dataType?: string;
  readonly efocusValues?: readonly number[];
  readonly sizeGlobalCS?: number;
  readonly matches?: readonly number[];
  readonly pairScores?: readonly number[];
  readonly centroidDistances?: readonly number[];
  readonly cellMetrics?: readonly (CellMetrics | null)[] | null;
  readonly extraProperties?: JsonValue;
  readonly producer?: JsonValue;
}

/** Per-cell overrides for {@link CellSetWriter.addCell}. */
interface CellMeta {
  readonly name?: string;
  readonly status?: CellStatus;
  readonly color?: number;
  readonly active?: boolean;
}

/** One decoded cell. `footprint` is row-major H·W; views may share the read buffer. */
interface CellRecord {
  readonly index: number;
  readonly footprint: Float32Array;
  readonly trace: Float32Array;
}

/** Random and streaming access to a cell set's cells; the footer is read once on open. */
interface CellSetReader {
  readonly kind: 'cellset';
  /** Source name. */
  readonly file: string;
  readonly header: CellSetHeader;
  /** The raw footer as parsed (lossless). */
  readonly footer: JsonValue;
  readonly numCells: number;
  readonly numTimes: number;
  /** W = numPixels.x (columns). */
  readonly width: number;
  /** H = numPixels.y (rows). */
  readonly height: number;
  /** B = 4·(W·H + T). */
  readonly bytesPerCell: number;
  readonly dataSize: number;
  readonly fileSize: number;
  /** Cell i's B raw bytes (footprint ‖ trace), one ranged read. */
  readCellBytes(index: number): Promise<Uint8Array>;
  readCell(index: number): Promise<CellRecord>;
  readFootprint(index: number): Promise<Float32Array>;
  readTrace(index: number): Promise<Float32Array>;
  /** Cells [start, end) in order, read in batches of about `batchBytes` (default 4 MiB). */
  cells(options?: {
    start?: number;
    end?: number;
    batchBytes?: number;
  }): AsyncGenerator<CellRecord>;
}

/** Streaming writer: cells in index order, then {@link finish} appends the footer. */
interface CellSetWriter {
  /** Cells written so far. */
  readonly numCells: number;
  /** Writes a footprint (W·H) and a trace (T); invalid samples are stored as NaN. */
  addCell(footprint: Float32Array, trace: Float32Array, meta?: CellMeta): Promise<void>;
  /** Writes one cell's B raw bytes verbatim (for copying cells byte-exactly). */
  addCellBytes(bytes: Uint8Array, meta?: CellMeta): Promise<void>;
  /** Appends the footer and closes the sink. */
  finish(): Promise<void>;
  /** Aborts the sink (no output appears). */
  abort(): Promise<void>;
}

// ---------------------------------------------------------------- reading

function decodeMetrics(f: FooterFields, value: JsonValue, path: string): CellMetrics | null {
  if (value.type === 'object' && value.members.size === 0) return null;
  const items = f.array(value, path);
  if (items.length === 0) return null;
  if (items.length !== 7) f.fail(IsxdErrorCode.BadValue, path, '{} or a 7-element array', value);
  const point = (v: JsonValue, p: string) => f.xy(v, p, (w, q) => f.bigint(w, q));
  return {
    numComponents: f.uint(items[0], `${path}[0]`),
    centroid: point(items[1], `${path}[1]`),
    largestCentroid: point(items[2], `${path}[2]`),
    totalArea: f.float(items[3], `${path}[3]`),
    largestArea: f.float(items[4], `${path}[4]`),
    maxContourWidth: f.float(items[5], `${path}[5]`),
    largestMaxContourWidth: f.float(items[6], `${path}[6]`),
  };
}

/**
 * Decodes and validates a cell-set footer (§5.2, §5.6), version-gated keys included.
 * @throws IsxdFormatError `WrongFileType`, `MissingKey`, `BadValue`, `OutOfRange`, `NonFinite`
 */
function decodeCellSetHeader(root: JsonValue, file: string): CellSetHeader {
  const f = new FooterFields(file);
  const obj: JsonObject = f.fileRoot(root, CELL_SET_TYPE);
  const get = (key: string) => f.member(obj, key, key);
  const dataType = f.string(get('dataType'), 'dataType');
  const fileVersion = f.uint(get('fileVersion'), 'fileVersion');
  const timing = f.timing(get('timingInfo'), 'timingInfo');
  const spacing = f.spacing(get('spacingInfo'), 'spacingInfo');
  const names = f
    .array(get('CellNames'), 'CellNames')
    .map((v, i) => f.string(v, `CellNames[${i}]`));
  const statuses = f
    .array(get('CellStatuses'), 'CellStatuses')
    .map((v, i) => CELL_STATUSES[f.uint(v, `CellStatuses[${i}]`, 2)]);
  const isRoiSet = f.bool(get('isRoiSet'), 'isRoiSet');
  let activity: boolean[] = [];
  if (fileVersion >= 1)
    activity = f
      .array(get('CellActivity'), 'CellActivity')
      .map((v, i) => f.bool(v, `CellActivity[${i}]`));
  // The official reader does not check CellActivity's length (§5.7 "Not checked"); it is
  // read as one flag per cell: a missing entry is its default `true`, an extra one is dropped.
  if (activity.length !== names.length) activity = names.map((_, i) => activity[i] ?? true);
  let colors: number[] = [];
  if (fileVersion >= 2)
    colors = f
      .array(get('CellColors'), 'CellColors')
      .map((v, i) => f.uint(v, `CellColors[${i}]`, 0xffffffff));
  if (colors.length === 0) colors = names.map(() => DEFAULT_CELL_COLOR);
  const floats = (key: string) => f.array(get(key), key).map((v, i) => f.float(v, `${key}[${i}]`));
  let sizeGlobalCS = 0;
  let matches: number[] = [];
  let pairScores: number[] = [];
  let centroidDistances: number[] = [];
  if (fileVersion >= 3) {
    sizeGlobalCS = f.uint(get('SizeGlobalCS'), 'SizeGlobalCS');
    matches = f
      .array(get('Matches'), 'Matches')
      .map((v, i) => f.int(v, `Matches[${i}]`, -32768, 32767));
    pairScores = floats('PairScores');
    centroidDistances = floats('CentroidDistances');
  }
  let cellMetrics: (CellMetrics | null)[] | null = null;
  const metricsValue = obj.members.get('cellMetrics');
  if (fileVersion >= 4 && metricsValue !== undefined && metricsValue.type !== 'null') {
    cellMetrics = f
      .array(metricsValue, 'cellMetrics')
      .map((v, i) => decodeMetrics(f, v, `cellMetrics[${i}]`));
  }
  const efocus = obj.members.get('efocusValues');
  const efocusValues =
    efocus === undefined
      ? [0]
      : f.array(efocus, 'efocusValues').map((v, i) => f.uint(v, `efocusValues[${i}]`, 65535));
  return {
    names,
    statuses,
    colors,
    activity,
    timing,
    spacing,
    isRoiSet,
    dataType,
    fileVersion,
    efocusValues,
    sizeGlobalCS,
    matches,
    pairScores,
    centroidDistances,
    cellMetrics,
    extraProperties:
      (fileVersion >= 5 ? obj.members.get('extraProperties') : undefined) ?? jsonNull(),
    producer: obj.members.get('producer') ?? jsonNull(),
  };
}

class CellSetFileReader implements CellSetReader {
  readonly kind = 'cellset';
  readonly file: string;
  readonly header: CellSetHeader;
  readonly footer: JsonValue;
  readonly numCells: number;
  readonly numTimes: number;
  readonly width: number;
  readonly height: number;
  readonly bytesPerCell: number;
  readonly dataSize: number;
  readonly fileSize: number;
  private readonly pixels: number;

  constructor(
    private readonly source: ByteSource,
    container: ContainerFooter,
  ) {
    this.file = source.name;
    this.footer = container.root;
    this.header = decodeCellSetHeader(container.root, this.file);
    const { timing, spacing, names, statuses, colors } = this.header;
    this.width = spacing.numPixels.x;
    this.height = spacing.numPixels.y;
    this.numTimes = timing.numTimes;
    this.dataSize = container.dataSize;
    this.fileSize = container.fileSize;
    const bytesPerCell = 4n * (BigInt(this.width) * BigInt(this.height) + BigInt(this.numTimes));
    if (bytesPerCell === 0n) {
      throw new IsxdFormatError(this.file, IsxdErrorCode.BadValue, 'cells would have no bytes', {
        expected: 'numPixels.x·numPixels.y + numTimes > 0',
        actual: '0',
      });
    }
    const numCells = BigInt(this.dataSize) / bytesPerCell;
    const lists: [string, number][] = [
      ['CellNames', names.length],
      ['CellStatuses', statuses.length],
      ['CellColors', colors.length],
    ];
    for (const [key, length] of lists) {
      if (BigInt(length) !== numCells) {
        throw new IsxdFormatError(
          this.file,
          IsxdErrorCode.CellCountMismatch,
          `data section does not match the footer's ${key}`,
          {
            expected: `${length} cells of ${bytesPerCell} bytes (4·(${this.width}·${this.height} + ${this.numTimes}))`,
            actual: `a ${this.dataSize}-byte data section holding ${numCells} cells`,
          },
        );
      }
    }
    // The official reader tolerates slack smaller than one cell (floor(D / B), §5.1); we do
    // not: slack means the footer's geometry (numTimes, numPixels) or the data section is
    // wrong, and reading on would misalign every trace.
    if (numCells * bytesPerCell !== BigInt(this.dataSize)) {
      throw new IsxdFormatError(
        this.file,
        IsxdErrorCode.DataSize,
        "data section size does not match the footer's geometry",
        {
          expected: `${numCells * bytesPerCell} bytes (${numCells} cells × 4·(${this.width}·${this.height} + ${this.numTimes}))`,
          actual: `${this.dataSize} bytes (${BigInt(this.dataSize) - numCells * bytesPerCell} too many)`,
        },
      );
    }
    this.numCells = Number(numCells);
    this.bytesPerCell = Number(bytesPerCell);
    this.pixels = this.width * this.height;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.numCells)
      throw new InvalidParameterError('cell index', index, `an integer in [0, ${this.numCells})`);
  }

  private async readRange(first: number, count: number): Promise<Uint8Array> {
    const offset = first * this.bytesPerCell;
    const length = count * this.bytesPerCell;
    const bytes = await this.source.read(offset, length);
    if (bytes.byteLength !== length) throw shortRead(this.file, offset, length, bytes.byteLength);
    return bytes;
  }

  private record(index: number, bytes: Uint8Array, at: number): CellRecord {
    return {
      index,
      footprint: float32At(bytes, at, this.pixels),
      trace: float32At(bytes, at + 4 * this.pixels, this.numTimes),
    };
  }

  async readCellBytes(index: number): Promise<Uint8Array> {
    this.checkIndex(index);
    return this.readRange(index, 1);
  }

  async readCell(index: number): Promise<CellRecord> {
    return this.record(index, await this.readCellBytes(index), 0);
  }

  async readFootprint(index: number): Promise<Float32Array> {
    this.checkIndex(index);
    const offset = index * this.bytesPerCell;
    const bytes = await this.source.read(offset, 4 * this.pixels);
    if (bytes.byteLength !== 4 * this.pixels)
      throw shortRead(this.file, offset, 4 * this.pixels, bytes.byteLength);
    return float32At(bytes, 0, this.pixels);
  }

  async readTrace(index: number): Promise<Float32Array> {
    this.checkIndex(index);
    const offset = index * this.bytesPerCell + 4 * this.pixels;
    const bytes = await this.source.read(offset, 4 * this.numTimes);
    if (bytes.byteLength !== 4 * this.numTimes)
      throw shortRead(this.file, offset, 4 * this.numTimes, bytes.byteLength);
    return float32At(bytes, 0, this.numTimes);
  }

  async *cells(
    options: { start?: number; end?: number; batchBytes?: number } = {},
  ): AsyncGenerator<CellRecord> {
    const start = options.start ?? 0;
    const end = options.end ?? this.numCells;
    if (start < end) {
      this.checkIndex(start);
      this.checkIndex(end - 1);
    }
    const perBatch = Math.max(
      1,
      Math.floor((options.batchBytes ?? DEFAULT_BATCH_BYTES) / this.bytesPerCell),
    );
    for (let first = start; first < end; first += perBatch) {
      const count = Math.min(perBatch, end - first);
      const bytes = await this.readRange(first, count);
      for (let k = 0; k < count; k++) yield this.record(first + k, bytes, k * this.bytesPerCell);
    }
  }
}

/**
 * Opens a cell set: two ranged reads for the footer, then validation (§5.6). Cell data is read
 * only on request.
 * @throws IsxdFormatError naming the file and what is wrong
 */
async function openCellSet(source: ByteSource): Promise<CellSetReader> {
  return new CellSetFileReader(source, await readFooter(source));
}

/** {@link openCellSet} over a footer already read with `readFooter`. */
function cellSetFromFooter(source: ByteSource, footer: ContainerFooter): CellSetReader {
  return new CellSetFileReader(source, footer);
}

// ---------------------------------------------------------------- writing

/** Default name of cell i among n (§5.3): `C` + i zero-padded to the digits of n − 1 (1 if n ≤ 10). */
function defaultCellName(index: number, numCells: number): string {
  const width = numCells <= 10 ? 1 : String(numCells - 1).length;
  return `C${String(index).padStart(width, '0')}`;
}

function checkLength(
  parameter: string,
  list: readonly unknown[] | undefined,
  numCells: number,
): void {
  if (list !== undefined && list.length !== numCells)
    throw new InvalidParameterError(
      `${parameter}.length`,
      list.length,
      `${numCells} (one per cell)`,
    );
}

function checkUint(parameter: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new InvalidParameterError(parameter, value, `an integer in [0, ${max}]`);
}

/** Timing from caller input, validated and normalised (§3.3). */
function toTiming(input: TimingInput): TimingInfo {
  checkUint('timing.numTimes', input.numTimes, 2 ** 32 - 1);
  const start: IsxdTime = {
    secsSinceEpoch: toRatio(input.start?.secsSinceEpoch ?? { num: 0, den: 1 }, 'timing.start'),
    utcOffset: input.start?.utcOffset ?? 0,
  };
  if (!Number.isInteger(start.utcOffset) || Math.abs(start.utcOffset) > 2 ** 31 - 1)
    throw new InvalidParameterError('timing.start.utcOffset', start.utcOffset, 'an int32');
  const lists = {
    dropped: [...(input.dropped ?? [])],
    blank: [...(input.blank ?? [])],
    cropped: (input.cropped ?? []).map(([a, b]) => [a, b] as const),
  };
  for (const [k, i] of lists.dropped.entries())
    checkUint(`timing.dropped[${k}]`, i, Number.MAX_SAFE_INTEGER);
  for (const [k, i] of lists.blank.entries())
    checkUint(`timing.blank[${k}]`, i, Number.MAX_SAFE_INTEGER);
  lists.cropped.forEach(([a, b], k) => {
    checkUint(`timing.cropped[${k}][0]`, a, Number.MAX_SAFE_INTEGER);
    checkUint(`timing.cropped[${k}][1]`, b, Number.MAX_SAFE_INTEGER);
  });
  return normalizeTiming({
    numTimes: input.numTimes,
    period: toRatio(input.period, 'timing.period'),
    start,
    ...lists,
  });
}

function toSpacing(input: SpacingInput): SpacingInfo {
  checkUint('spacing.numPixels.x', input.numPixels.x, 2 ** 32 - 1);
  checkUint('spacing.numPixels.y', input.numPixels.y, 2 ** 32 - 1);
  const size = input.pixelSize ?? { x: { num: 3, den: 1 }, y: { num: 3, den: 1 } };
  const topLeft = input.topLeft ?? { x: { num: 0, den: 1 }, y: { num: 0, den: 1 } };
  return {
    numPixels: { x: input.numPixels.x, y: input.numPixels.y },
    pixelSize: {
      x: toRatio(size.x, 'spacing.pixelSize.x'),
      y: toRatio(size.y, 'spacing.pixelSize.y'),
    },
    topLeft: {
      x: toRatio(topLeft.x, 'spacing.topLeft.x'),
      y: toRatio(topLeft.y, 'spacing.topLeft.y'),
    },
  };
}

function metricsJson(m: CellMetrics | null): JsonValue {
  if (m === null) return jsonObject({});
  const point = (p: { x: bigint; y: bigint }) => jsonObject({ x: jsonInt(p.x), y: jsonInt(p.y) });
  return jsonArray([
    jsonInt(m.numComponents),
    point(m.centroid),
    point(m.largestCentroid),
    jsonFloat(m.totalArea),
    jsonFloat(m.largestArea),
    jsonFloat(m.maxContourWidth),
    jsonFloat(m.largestMaxContourWidth),
  ]);
}

/**
 * The footer bytes (JSON ‖ NUL ‖ u64 length) of a cell set with `numCells` cells, as the official
 * writer builds it (§5.7). Append it to a data section produced elsewhere (e.g. in chunks).
 * @throws InvalidParameterError when a list does not have one entry per cell or a value is out of range
 */
function buildCellSetFooter(header: CellSetHeaderInput, numCells: number): Uint8Array {
  checkUint('numCells', numCells, 2 ** 32 - 1);
  for (const key of ['names', 'statuses', 'colors', 'activity'] as const)
    checkLength(key, header[key], numCells);
  const timing = toTiming(header.timing);
  const spacing = toSpacing(header.spacing);
  const names = Array.from({ length: numCells }, (_, i) => {
    const name = header.names?.[i] ?? '';
    return name === '' ? defaultCellName(i, numCells) : name;
  });
  const statuses = Array.from({ length: numCells }, (_, i) => {
    const code = cellStatusCode(header.statuses?.[i] ?? 'undecided');
    if (code < 0)
      throw new InvalidParameterError(
        `statuses[${i}]`,
        header.statuses?.[i],
        'accepted, undecided or rejected',
      );
    return jsonInt(code);
  });
  const colors = Array.from({ length: numCells }, (_, i) => {
    const color = header.colors?.[i] ?? DEFAULT_CELL_COLOR;
    checkUint(`colors[${i}]`, color, 0xffffffff);
    return jsonInt(color);
  });
  const activity = Array.from({ length: numCells }, (_, i) =>
    jsonBool(header.activity?.[i] ?? true),
  );
  const efocus = header.efocusValues ?? [0];
  for (const [i, v] of efocus.entries()) checkUint(`efocusValues[${i}]`, v, 65535);
  const matches = header.matches ?? [];
  matches.forEach((v, i) => {
    if (!Number.isInteger(v) || v < -32768 || v > 32767)
      throw new InvalidParameterError(`matches[${i}]`, v, 'an int16');
  });
  const sizeGlobalCS = header.sizeGlobalCS ?? 0;
  checkUint('sizeGlobalCS', sizeGlobalCS, 2 ** 32 - 1);
  const metrics = header.cellMetrics ?? null;
  const root = jsonObject({
    CellActivity: jsonArray(activity),
    CellColors: jsonArray(colors),
    CellNames: jsonArray(names.map(jsonString)),
    CellStatuses: jsonArray(statuses),
    CentroidDistances: jsonArray((header.centroidDistances ?? []).map(jsonFloat)),
    Matches: jsonArray(matches.map((v) => jsonInt(v))),
    PairScores: jsonArray((header.pairScores ?? []).map(jsonFloat)),
    SizeGlobalCS: jsonInt(sizeGlobalCS),
    cellMetrics: metrics === null ? jsonNull() : jsonArray(metrics.map(metricsJson)),
    dataType: jsonString(header.dataType ?? 'float'),
    efocusValues: jsonArray(efocus.map((v) => jsonInt(v))),
    extraProperties: header.extraProperties ?? jsonNull(),
    fileVersion: jsonInt(CELL_SET_FILE_VERSION),
    isRoiSet: jsonBool(header.isRoiSet ?? false),
    producer: header.producer ?? producerJson(DEFAULT_PRODUCER.name, DEFAULT_PRODUCER.version),
    spacingInfo: spacingJson(spacing),
    timingInfo: timingJson(timing),
    type: jsonInt(CELL_SET_TYPE),
  });
  return encodeFooter(root);
}

class CellSetStreamWriter implements CellSetWriter {
  numCells = 0;
  private readonly out: StagedSink;
  private readonly pixels: number;
  private readonly numTimes: number;
  private readonly invalid: Int32Array;
  private readonly scratch: Float32Array;
  private readonly scratchBits: DataView;
  private readonly names: string[] = [];
  private readonly statuses: CellStatus[] = [];
  private readonly colors: number[] = [];
  private readonly activity: boolean[] = [];
  private done = false;

  constructor(
    private readonly sink: ByteSink,
    private readonly header: CellSetHeaderInput,
  ) {
    const timing = toTiming(header.timing);
    const spacing = toSpacing(header.spacing);
    this.pixels = spacing.numPixels.x * spacing.numPixels.y;
    this.numTimes = timing.numTimes;
    if (this.pixels + this.numTimes === 0)
      throw new InvalidParameterError('spacing.numPixels and timing.numTimes', 0, 'W·H + T > 0');
    this.invalid = invalidFrameIndices(timing);
    this.scratch = new Float32Array(this.invalid.length > 0 ? this.numTimes : 0);
    this.scratchBits = new DataView(this.scratch.buffer);
    this.out = new StagedSink(sink);
  }

  private remember(meta: CellMeta | undefined): void {
    const i = this.numCells;
    const h = this.header;
    this.names.push(meta?.name ?? h.names?.[i] ?? '');
    this.statuses.push(meta?.status ?? h.statuses?.[i] ?? 'undecided');
    this.colors.push(meta?.color ?? h.colors?.[i] ?? DEFAULT_CELL_COLOR);
    this.activity.push(meta?.active ?? h.activity?.[i] ?? true);
    this.numCells++;
  }

  private checkOpen(): void {
    if (this.done) throw new InvalidParameterError('writer', 'finished', 'an open cell-set writer');
  }

  async addCell(footprint: Float32Array, trace: Float32Array, meta?: CellMeta): Promise<void> {
    this.checkOpen();
    if (footprint.length !== this.pixels)
      throw new InvalidParameterError(
        `footprint of cell ${this.numCells}`,
        `length ${footprint.length}`,
        `${this.pixels} values (W·H)`,
      );
    if (trace.length !== this.numTimes)
      throw new InvalidParameterError(
        `trace of cell ${this.numCells}`,
        `length ${trace.length}`,
        `${this.numTimes} values (numTimes)`,
      );
    await this.out.append(bytesOf(footprint));
    if (this.invalid.length === 0) {
      await this.out.append(bytesOf(trace));
    } else {
      this.scratch.set(trace);
      for (let k = 0; k < this.invalid.length; k++)
        this.scratchBits.setUint32(4 * this.invalid[k], NAN_BITS, true); // §5.1 NaN at invalid samples
      await this.out.append(bytesOf(this.scratch));
    }
    this.remember(meta);
  }

  async addCellBytes(bytes: Uint8Array, meta?: CellMeta): Promise<void> {
    this.checkOpen();
    const expected = 4 * (this.pixels + this.numTimes);
    if (bytes.byteLength !== expected)
      throw new InvalidParameterError(
        `bytes of cell ${this.numCells}`,
        `length ${bytes.byteLength}`,
        `${expected} (4·(W·H + T))`,
      );
    await this.out.append(bytes);
    this.remember(meta);
  }

  async finish(): Promise<void> {
    this.checkOpen();
    const h = this.header;
    for (const key of ['names', 'statuses', 'colors', 'activity'] as const)
      checkLength(`header.${key}`, h[key], this.numCells);
    const footer = buildCellSetFooter(
      {
        ...h,
        names: this.names,
        statuses: this.statuses,
        colors: this.colors,
        activity: this.activity,
      },
      this.numCells,
    );
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
 * A streaming cell-set writer (§5.7): give cells in index order, then `finish()`.
 * @throws InvalidParameterError for an invalid header
 */
function createCellSetWriter(sink: ByteSink, header: CellSetHeaderInput): CellSetWriter {
  return new CellSetStreamWriter(sink, header);
}

export type {
  CellMeta,
  CellMetrics,
  CellRecord,
  CellSetHeader,
  CellSetHeaderInput,
  CellSetReader,
  CellSetWriter,
  SpacingInput,
  TimingInput,
};
export {
  buildCellSetFooter,
  CELL_SET_FILE_VERSION,
  CELL_SET_TYPE,
  cellSetFromFooter,
  createCellSetWriter,
  decodeCellSetHeader,
  defaultCellName,
  openCellSet,
  toSpacing,
  toTiming,
};
