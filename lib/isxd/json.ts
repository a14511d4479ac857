/**
 * Lossless JSON for `.isxd` footers (docs/isxd-format.md §2).
 *
 * Parsing keeps what `JSON.parse` loses: whether a number token was a float (`.`, `e`, `E`, or
 * outside the int64/uint64 range) and the exact value of integers beyond 2^53 (BigInt).
 * Dumping reproduces nlohmann/json 2.0.1 `dump(4)` byte for byte (§2.1): 4-space indent, one
 * member per line, keys sorted by UTF-8 bytes (= code points), empty `{}` / `[]`, minimal string
 * escapes, integers in plain decimal, floats as C `%.15g` rounded half-even on the exact binary
 * value, `0.0` / `-0.0` for zeros, and `null` for NaN / ±Infinity. No trailing newline.
 */
import { IsxdErrorCode, IsxdFormatError } from '../errors.js';

/** A footer JSON value; numbers keep their integer/float kind (§2.1). */
type JsonValue =
  | { readonly type: 'null' }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'integer'; readonly value: bigint }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'array'; readonly items: JsonValue[] }
  | { readonly type: 'object'; readonly members: Map<string, JsonValue> };

type JsonObject = Extract<JsonValue, { type: 'object' }>;
type JsonArray = Extract<JsonValue, { type: 'array' }>;

const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;
const MAX_DEPTH = 512;

const JSON_NULL: JsonValue = Object.freeze({ type: 'null' });

/** JSON `null`. */
function jsonNull(): JsonValue {
  return JSON_NULL;
}
/** JSON boolean. */
function jsonBool(value: boolean): JsonValue {
  return { type: 'boolean', value };
}
/** JSON integer (written in plain decimal). */
function jsonInt(value: bigint | number): JsonValue {
  return { type: 'integer', value: typeof value === 'bigint' ? value : BigInt(value) };
}
/** JSON float (written with the `%.15g` rule; non-finite becomes `null`). */
function jsonFloat(value: number): JsonValue {
  return { type: 'float', value };
}
/** JSON string. */
function jsonString(value: string): JsonValue {
  return { type: 'string', value };
}
/** JSON array. */
function jsonArray(items: JsonValue[]): JsonValue {
  return { type: 'array', items };
}
/** JSON object from entries (key order is irrelevant: the writer sorts). */
function jsonObject(
  entries: Iterable<[string, JsonValue]> | Record<string, JsonValue>,
): JsonObject {
  const members =
    Symbol.iterator in entries
      ? new Map(entries as Iterable<[string, JsonValue]>)
      : new Map(Object.entries(entries));
  return { type: 'object', members };
}

// ---------------------------------------------------------------- parsing (§2.2)

class Parser {
  private at = 0;
  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  parseDocument(): JsonValue {
    this.skipWs();
    const value = this.parseValue(0);
    this.skipWs();
    if (this.at !== this.text.length) this.fail('unexpected text after the JSON value');
    return value;
  }

  private fail(what: string): never {
    throw new IsxdFormatError(
      this.file,
      IsxdErrorCode.FooterJson,
      `footer is not valid JSON: ${what}`,
      {
        expected: 'strict JSON (RFC 8259)',
        actual: `character ${this.at} of ${this.text.length}`,
        offset: this.at,
      },
    );
  }

  private skipWs(): void {
    const t = this.text;
    while (this.at < t.length) {
      const c = t.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.at++;
    }
  }

  private parseValue(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const c = this.text.charCodeAt(this.at);
    if (c === 0x7b) return this.parseObject(depth);
    if (c === 0x5b) return this.parseArray(depth);
    if (c === 0x22) return jsonString(this.parseString());
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
    if (this.text.startsWith('true', this.at)) {
      this.at += 4;
      return jsonBool(true);
    }
    if (this.text.startsWith('false', this.at)) {
      this.at += 5;
      return jsonBool(false);
    }
    if (this.text.startsWith('null', this.at)) {
      this.at += 4;
      return JSON_NULL;
    }
    return this.fail(Number.isNaN(c) ? 'unexpected end' : 'unexpected character');
  }

  private parseObject(depth: number): JsonValue {
    this.at++;
    const members = new Map<string, JsonValue>();
    this.skipWs();
    if (this.text.charCodeAt(this.at) === 0x7d) {
      this.at++;
      return { type: 'object', members };
    }
    for (;;) {
      this.skipWs();
      if (this.text.charCodeAt(this.at) !== 0x22) this.fail('expected a string key');
      const key = this.parseString();
      this.skipWs();
      if (this.text.charCodeAt(this.at) !== 0x3a) this.fail("expected ':'");
      this.at++;
      this.skipWs();
      members.set(key, this.parseValue(depth + 1));
      this.skipWs();
      const c = this.text.charCodeAt(this.at++);
      if (c === 0x7d) return { type: 'object', members };
      if (c !== 0x2c) {
        this.at--;
        this.fail("expected ',' or '}'");
      }
    }
  }

  private parseArray(depth: number): JsonValue {
    this.at++;
    const items: JsonValue[] = [];
    this.skipWs();
    if (this.text.charCodeAt(this.at) === 0x5d) {
      this.at++;
      return { type: 'array', items };
    }
    for (;;) {
      this.skipWs();
      items.push(this.parseValue(depth + 1));
      this.skipWs();
      const c = this.text.charCodeAt(this.at++);
      if (c === 0x5d) return { type: 'array', items };
      if (c !== 0x2c) {
        this.at--;
        this.fail("expected ',' or ']'");
      }
    }
  }

  private parseString(): string {
    const t = this.text;
    this.at++;
    let out = '';
    let runStart = this.at;
    for (;;) {
      if (this.at >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(this.at);
      if (c === 0x22) {
        out += t.slice(runStart, this.at);
        this.at++;
        return out;
      }
      if (c < 0x20) this.fail('raw control character in a string');
      if (c !== 0x5c) {
        this.at++;
        continue;
      }
      out += t.slice(runStart, this.at);
      const e = t.charAt(this.at + 1);
      this.at += 2;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = t.slice(this.at, this.at + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
          out += String.fromCharCode(Number.parseInt(hex, 16));
          this.at += 4;
          break;
        }
        default:
          this.at -= 2;
          this.fail('bad escape');
      }
      runStart = this.at;
    }
  }

  private parseNumber(): JsonValue {
    const t = this.text;
    const start = this.at;
    let isFloat = false;
    if (t.charCodeAt(this.at) === 0x2d) this.at++;
    const digits = () => {
      const from = this.at;
      while (this.at < t.length && t.charCodeAt(this.at) >= 0x30 && t.charCodeAt(this.at) <= 0x39)
        this.at++;
      if (this.at === from) this.fail('expected a digit');
    };
    if (t.charCodeAt(this.at) === 0x30) this.at++;
    else digits();
    if (t.charCodeAt(this.at) === 0x2e) {
      isFloat = true;
      this.at++;
      digits();
    }
    const e = t.charCodeAt(this.at);
    if (e === 0x65 || e === 0x45) {
      isFloat = true;
      this.at++;
      const s = t.charCodeAt(this.at);
      if (s === 0x2b || s === 0x2d) this.at++;
      digits();
    }
    const token = t.slice(start, this.at);
    // int64 / uint64 need at most 20 digits and a sign; longer integer tokens are floats (§2.1).
    if (!isFloat && token.length <= 21) {
      const big = BigInt(token);
      if (big >= INT64_MIN && big <= UINT64_MAX) return { type: 'integer', value: big };
    }
    // Like strtod, a float token beyond the double range reads as ±Infinity (dumped as null).
    return { type: 'float', value: Number(token) };
  }
}

/**
 * Parses footer text losslessly.
 * @param text - the footer JSON text (already UTF-8 decoded)
 * @param file - file name for error messages
 * @throws IsxdFormatError `FooterJson` (syntax)
 */
function parseJson(text: string, file: string): JsonValue {
  return new Parser(text, file).parseDocument();
}

// ---------------------------------------------------------------- writing (§2.1)

const DV = new DataView(new ArrayBuffer(8));

/**
 * C `printf("%.15g")` of a double as nlohmann 2.0.1 writes it (§2.1): exact decimal expansion of
 * m·2^k, 15 significant digits rounded half-even, fixed notation for −4 ≤ X < 15, otherwise
 * `d.ddde±XX`; trailing zeros stripped; zero as `0.0` / `-0.0`; non-finite as `null`.
 */
function formatDouble15g(x: number): string {
  if (!Number.isFinite(x)) return 'null';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  DV.setFloat64(0, Math.abs(x));
  const hi = DV.getUint32(0);
  const lo = DV.getUint32(4);
  const biased = hi >>> 20;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2 = -1074;
  if (biased !== 0) {
    mantissa |= 1n << 52n;
    e2 = biased - 1075;
  }
  // |x| = digits · 10^-k exactly, because 2^-j = 5^j / 10^j.
  const digits =
    e2 >= 0 ? (mantissa << BigInt(e2)).toString() : (mantissa * 5n ** BigInt(-e2)).toString();
  const k = e2 >= 0 ? 0 : -e2;
  let exponent = digits.length - 1 - k;
  let sig: string;
  if (digits.length <= 15) {
    sig = digits;
  } else {
    let q = BigInt(digits.slice(0, 15));
    const first = digits.charCodeAt(15) - 48;
    let up = first > 5;
    if (first === 5) up = /[1-9]/.test(digits.slice(16)) || (q & 1n) === 1n;
    if (up) q += 1n;
    sig = q.toString();
    if (sig.length === 16) {
      sig = sig.slice(0, 15);
      exponent += 1;
    }
  }
  sig = sig.replace(/0+$/, '');
  if (exponent < -4 || exponent >= 15) {
    const mant = sig.length > 1 ? `${sig[0]}.${sig.slice(1)}` : sig;
    const expAbs = Math.abs(exponent).toString().padStart(2, '0');
    return `${sign}${mant}e${exponent < 0 ? '-' : '+'}${expAbs}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${sig}`;
  if (sig.length <= exponent + 1) return `${sign}${sig.padEnd(exponent + 1, '0')}`;
  return `${sign}${sig.slice(0, exponent + 1)}.${sig.slice(exponent + 1)}`;
}

/** Orders strings by code point, which is UTF-8 byte order (§2.1 key order). */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa !== sb) return sa ? 1 : -1;
    return ca - cb;
  }
  return a.length - b.length;
}

const ESCAPES: Record<number, string> = {
  34: '\\"',
  92: '\\\\',
  8: '\\b',
  12: '\\f',
  10: '\\n',
  13: '\\r',
  9: '\\t',
};

function escapeString(s: string): string {
  let out = '';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(runStart, i);
    out += ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, '0')}`;
    runStart = i + 1;
  }
  return runStart === 0 ? s : out + s.slice(runStart);
}

const INDENTS: string[] = [''];

function indent(depth: number): string {
  while (INDENTS.length <= depth) INDENTS.push(' '.repeat(4 * INDENTS.length));
  return INDENTS[depth];
}

function dumpScalar(value: JsonValue): string {
  switch (value.type) {
    case 'null':
      return 'null';
    case 'boolean':
      return value.value ? 'true' : 'false';
    case 'integer':
      return value.value.toString();
    case 'float':
      return formatDouble15g(value.value);
    case 'string':
      return `"${escapeString(value.value)}"`;
    default:
      return '';
  }
}

function dumpValue(value: JsonValue, depth: number): string {
  if (value.type === 'array') {
    const n = value.items.length;
    if (n === 0) return '[]';
    const sep = `,\n${indent(depth + 1)}`;
    let text = `[\n${indent(depth + 1)}${dumpValue(value.items[0], depth + 1)}`;
    for (let i = 1; i < n; i++) text += sep + dumpValue(value.items[i], depth + 1);
    return `${text}\n${indent(depth)}]`;
  }
  if (value.type === 'object') {
    if (value.members.size === 0) return '{}';
    const keys = [...value.members.keys()].sort(compareCodePoints);
    const sep = `,\n${indent(depth + 1)}`;
    let text = `{\n${indent(depth + 1)}`;
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) text += sep;
      const member = value.members.get(keys[i]) as JsonValue;
      text += `"${escapeString(keys[i])}": ${dumpValue(member, depth + 1)}`;
    }
    return `${text}\n${indent(depth)}}`;
  }
  return dumpScalar(value);
}

/** Pretty-prints like nlohmann 2.0.1 `dump(4)` (§2.1), as a JS string. */
function dumpJson(value: JsonValue): string {
  return dumpValue(value, 0);
}

/**
 * Converts to plain JS for display (`--json` output): integers become numbers when safe,
 * else decimal strings; non-finite floats become null; objects keep sorted keys.
 */
function toPlain(value: JsonValue): unknown {
  switch (value.type) {
    case 'null':
      return null;
    case 'boolean':
    case 'string':
      return value.value;
    case 'integer':
      return bigintToPlain(value.value);
    case 'float':
      return Number.isFinite(value.value) ? value.value : null;
    case 'array':
      return value.items.map(toPlain);
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of [...value.members.keys()].sort(compareCodePoints))
        out[key] = toPlain(value.members.get(key) as JsonValue);
      return out;
    }
  }
}

/** A bigint as a JSON-safe value: a number when it is a safe integer, else its decimal string. */
function bigintToPlain(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

/** Deep structural equality (number kinds included). */
function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'null':
      return true;
    case 'boolean':
    case 'integer':
    case 'string':
      return a.value === (b as typeof a).value;
    case 'float':
      return Object.is(a.value, (b as typeof a).value);
    case 'array': {
      const bi = (b as JsonArray).items;
      return a.items.length === bi.length && a.items.every((v, i) => jsonEqual(v, bi[i]));
    }
    case 'object': {
      const bm = (b as JsonObject).members;
      if (a.members.size !== bm.size) return false;
      for (const [k, v] of a.members) {
        const w = bm.get(k);
        if (w === undefined || !jsonEqual(v, w)) return false;
      }
      return true;
    }
  }
}

export type { JsonArray, JsonObject, JsonValue };
export {
  bigintToPlain,
  compareCodePoints,
  dumpJson,
  formatDouble15g,
  jsonArray,
  jsonBool,
  jsonEqual,
  jsonFloat,
  jsonInt,
  jsonNull,
  jsonObject,
  jsonString,
  parseJson,
  toPlain,
};
