/**
 * Footer JSON ⇄ typed values for the shared building blocks (docs/isxd-format.md §3): ratio
 * `{"den","num"}` (§3.1), time `{"secsSinceEpoch","utcOffset"}` (§3.2), `timingInfo` (§3.3),
 * `spacingInfo` (§3.4), `producer` (§3.5). Decoding validates kinds and ranges and reports the
 * JSON path, what was expected and what was found; `null` where a number is required is reported
 * as `NonFinite` (it is how writers store NaN / Infinity).
 */
import { type IsxdErrorCode as Code, IsxdErrorCode, IsxdFormatError } from '../errors.js';
import {
  type JsonObject,
  type JsonValue,
  jsonArray,
  jsonInt,
  jsonObject,
  jsonString,
} from './json.js';
import {
  article,
  type CroppedRange,
  FILE_TYPE_NAMES,
  type IsxdTime,
  type Ratio,
  type SpacingInfo,
  type TimingInfo,
} from './types.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function describe(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  switch (value.type) {
    case 'integer':
      return `integer ${value.value}`;
    case 'float':
      return `float ${value.value}`;
    case 'string':
      return `string ${JSON.stringify(value.value.slice(0, 40))}`;
    case 'boolean':
      return String(value.value);
    case 'array':
      return `array of ${value.items.length}`;
    case 'object':
      return 'object';
    case 'null':
      return 'null';
  }
}

/** Typed access to one file's footer, with errors that name the file and the JSON path. */
class FooterFields {
  constructor(readonly file: string) {}

  fail(code: Code, path: string, expected: string, value: JsonValue | undefined): never {
    throw new IsxdFormatError(this.file, code, `footer field ${path} is invalid`, {
      expected,
      actual: describe(value),
    });
  }

  object(value: JsonValue | undefined, path: string): JsonObject {
    if (value?.type !== 'object')
      return this.fail(IsxdErrorCode.BadValue, path, 'an object', value);
    return value;
  }

  /**
   * The footer root as an object whose `"type"` is `expected` (§4); anything else is
   * `WrongFileType`, naming the kind found.
   */
  fileRoot(root: JsonValue, expected: number): JsonObject {
    const want = `${article(FILE_TYPE_NAMES[expected])} (footer "type": ${expected})`;
    if (root.type !== 'object') {
      throw new IsxdFormatError(this.file, IsxdErrorCode.WrongFileType, 'footer is not an object', {
        expected: want,
        actual: describe(root),
      });
    }
    const type = root.members.get('type');
    if (type?.type !== 'integer' || type.value !== BigInt(expected)) {
      const found = type?.type === 'integer' ? FILE_TYPE_NAMES[Number(type.value)] : undefined;
      throw new IsxdFormatError(
        this.file,
        IsxdErrorCode.WrongFileType,
        'wrong kind of .isxd file',
        {
          expected: want,
          actual: `${found === undefined ? '' : `${article(found)}, `}"type": ${describe(type)}`,
        },
      );
    }
    return root;
  }

  member(obj: JsonObject, key: string, path: string): JsonValue {
    const value = obj.members.get(key);
    if (value === undefined) {
      throw new IsxdFormatError(this.file, IsxdErrorCode.MissingKey, `footer lacks ${path}`, {
        expected: `key "${key}"`,
        actual: 'no such key',
      });
    }
    return value;
  }

  array(value: JsonValue, path: string): JsonValue[] {
    if (value.type !== 'array') return this.fail(IsxdErrorCode.BadValue, path, 'an array', value);
    return value.items;
  }

  string(value: JsonValue, path: string): string {
    if (value.type !== 'string') return this.fail(IsxdErrorCode.BadValue, path, 'a string', value);
    return value.value;
  }

  bool(value: JsonValue, path: string): boolean {
    if (value.type !== 'boolean')
      return this.fail(IsxdErrorCode.BadValue, path, 'true or false', value);
    return value.value;
  }

  bigint(value: JsonValue, path: string): bigint {
    if (value.type === 'null' || (value.type === 'float' && !Number.isFinite(value.value)))
      return this.fail(IsxdErrorCode.NonFinite, path, 'a finite integer', value);
    if (value.type !== 'integer')
      return this.fail(IsxdErrorCode.BadValue, path, 'an integer', value);
    return value.value;
  }

  /** An integer in [min, max] (both safe integers) as a number. */
  int(value: JsonValue, path: string, min: number, max: number): number {
    const v = this.bigint(value, path);
    if (v < BigInt(min) || v > BigInt(max))
      return this.fail(IsxdErrorCode.OutOfRange, path, `an integer in [${min}, ${max}]`, value);
    return Number(v);
  }

  uint(value: JsonValue, path: string, max = Number.MAX_SAFE_INTEGER): number {
    return this.int(value, path, 0, max);
  }

  uintBig(value: JsonValue, path: string): bigint {
    const v = this.bigint(value, path);
    if (v < 0n) return this.fail(IsxdErrorCode.OutOfRange, path, 'a non-negative integer', value);
    return v;
  }

  /** A float-typed field (integers allowed; `null` reads as NaN, as the official reader does). */
  float(value: JsonValue, path: string): number {
    if (value.type === 'null') return Number.NaN;
    if (value.type === 'integer') return Number(value.value);
    if (value.type !== 'float') return this.fail(IsxdErrorCode.BadValue, path, 'a number', value);
    return value.value;
  }

  ratio(value: JsonValue, path: string): Ratio {
    const obj = this.object(value, path);
    const num = this.bigint(this.member(obj, 'num', `${path}.num`), `${path}.num`);
    const denValue = this.member(obj, 'den', `${path}.den`);
    const den = this.bigint(denValue, `${path}.den`);
    if (den === 0n) return this.fail(IsxdErrorCode.BadValue, `${path}.den`, 'non-zero', denValue);
    return { num, den };
  }

  time(value: JsonValue, path: string): IsxdTime {
    const obj = this.object(value, path);
    const secsSinceEpoch = this.ratio(
      this.member(obj, 'secsSinceEpoch', `${path}.secsSinceEpoch`),
      `${path}.secsSinceEpoch`,
    );
    const utcOffset = this.int(
      this.member(obj, 'utcOffset', `${path}.utcOffset`),
      `${path}.utcOffset`,
      INT32_MIN,
      INT32_MAX,
    );
    return { secsSinceEpoch, utcOffset };
  }

  uintList(obj: JsonObject, key: string, path: string): number[] {
    const value = obj.members.get(key);
    if (value === undefined) return [];
    return this.array(value, path).map((v, i) => this.uint(v, `${path}[${i}]`));
  }

  timing(value: JsonValue, path: string): TimingInfo {
    const obj = this.object(value, path);
    const numTimes = this.uint(
      this.member(obj, 'numTimes', `${path}.numTimes`),
      `${path}.numTimes`,
      2 ** 32 - 1,
    );
    const period = this.ratio(this.member(obj, 'period', `${path}.period`), `${path}.period`);
    // A frame period ≤ 0 makes every sample time (and the AR time constants) meaningless.
    if (period.num === 0n || period.num < 0n !== period.den < 0n) {
      throw new IsxdFormatError(
        this.file,
        IsxdErrorCode.OutOfRange,
        `footer field ${path}.period is invalid`,
        {
          expected: 'a positive frame period (num/den > 0 seconds)',
          actual: `${period.num}/${period.den}`,
        },
      );
    }
    const start = this.time(this.member(obj, 'start', `${path}.start`), `${path}.start`);
    const croppedValue = obj.members.get('cropped');
    const cropped =
      croppedValue === undefined
        ? []
        : this.array(croppedValue, `${path}.cropped`).map((v, i) =>
            this.croppedRange(v, `${path}.cropped[${i}]`),
          );
    return {
      numTimes,
      period,
      start,
      dropped: this.uintList(obj, 'dropped', `${path}.dropped`),
      cropped,
      blank: this.uintList(obj, 'blank', `${path}.blank`),
    };
  }

  croppedRange(value: JsonValue, path: string): CroppedRange {
    const text = this.string(value, path);
    const m = /^(\d{1,15})(?: - (\d{1,15}))?$/.exec(text);
    if (m === null)
      return this.fail(IsxdErrorCode.BadValue, path, '"first - last" or "index"', value);
    const first = Number(m[1]);
    return [first, m[2] === undefined ? first : Number(m[2])];
  }

  xy<T>(value: JsonValue, path: string, read: (v: JsonValue, p: string) => T): { x: T; y: T } {
    const obj = this.object(value, path);
    return {
      x: read(this.member(obj, 'x', `${path}.x`), `${path}.x`),
      y: read(this.member(obj, 'y', `${path}.y`), `${path}.y`),
    };
  }

  spacing(value: JsonValue, path: string): SpacingInfo {
    const obj = this.object(value, path);
    const sub = (key: string) => this.member(obj, key, `${path}.${key}`);
    const dim = (v: JsonValue, p: string) => this.uint(v, p, 2 ** 32 - 1);
    const rat = (v: JsonValue, p: string) => this.ratio(v, p);
    return {
      numPixels: this.xy(sub('numPixels'), `${path}.numPixels`, dim),
      pixelSize: this.xy(sub('pixelSize'), `${path}.pixelSize`, rat),
      topLeft: this.xy(sub('topLeft'), `${path}.topLeft`, rat),
    };
  }
}

/** `{"den", "num"}` (§3.1). */
function ratioJson(r: Ratio): JsonValue {
  return jsonObject({ den: jsonInt(r.den), num: jsonInt(r.num) });
}

/** `{"secsSinceEpoch", "utcOffset"}` (§3.2). */
function timeJson(t: IsxdTime): JsonValue {
  return jsonObject({
    secsSinceEpoch: ratioJson(t.secsSinceEpoch),
    utcOffset: jsonInt(t.utcOffset),
  });
}

/** The cropped-range text: `"first - last"`, or `"n"` for one index (§3.3). */
function croppedText([first, last]: CroppedRange): string {
  return first === last ? `${first}` : `${first} - ${last}`;
}

/** All six `timingInfo` keys (§3.3); normalise first for byte compatibility. */
function timingJson(t: TimingInfo): JsonValue {
  return jsonObject({
    blank: jsonArray(t.blank.map((i) => jsonInt(i))),
    cropped: jsonArray(t.cropped.map((r) => jsonString(croppedText(r)))),
    dropped: jsonArray(t.dropped.map((i) => jsonInt(i))),
    numTimes: jsonInt(t.numTimes),
    period: ratioJson(t.period),
    start: timeJson(t.start),
  });
}

/** `spacingInfo` (§3.4). */
function spacingJson(s: SpacingInfo): JsonValue {
  return jsonObject({
    numPixels: jsonObject({ x: jsonInt(s.numPixels.x), y: jsonInt(s.numPixels.y) }),
    pixelSize: jsonObject({ x: ratioJson(s.pixelSize.x), y: ratioJson(s.pixelSize.y) }),
    topLeft: jsonObject({ x: ratioJson(s.topLeft.x), y: ratioJson(s.topLeft.y) }),
  });
}

/** `{"name", "version": [major, minor, patch]}` (§3.5). */
function producerJson(name: string, version: readonly number[]): JsonValue {
  return jsonObject({ name: jsonString(name), version: jsonArray(version.map((v) => jsonInt(v))) });
}

export { croppedText, FooterFields, producerJson, ratioJson, spacingJson, timeJson, timingJson };
