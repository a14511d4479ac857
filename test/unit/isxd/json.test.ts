import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IsxdErrorCode, IsxdFormatError } from '../../../lib/errors.js';
import {
  compareCodePoints,
  dumpJson,
  formatDouble15g,
  jsonArray,
  jsonFloat,
  jsonInt,
  jsonObject,
  jsonString,
  parseJson,
  toPlain,
} from '../../../lib/isxd/json.js';

/** Exact value of a finite double as a / b (b a power of two). */
function exactRational(x: number): { a: bigint; b: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  let m = bits & ((1n << 52n) - 1n);
  let e = -1074;
  if (biased !== 0) {
    m |= 1n << 52n;
    e = biased - 1075;
  }
  return e >= 0 ? { a: m << BigInt(e), b: 1n } : { a: m, b: 1n << BigInt(-e) };
}

/** Decimal exponent X with 10^X ≤ a/b < 10^(X+1), found by exact comparisons. */
function decimalExponent(a: bigint, b: bigint): number {
  const ge = (k: number) => (k >= 0 ? a >= b * 10n ** BigInt(k) : a * 10n ** BigInt(-k) >= b);
  let k = Math.floor(Math.log10(Number(a) / Number(b)) || 0);
  if (!Number.isFinite(k)) k = -324;
  while (!ge(k)) k--;
  while (ge(k + 1)) k++;
  return k;
}

/**
 * Independent check of the `%.15g` rules (§2.1): the text is a multiple q of the 15-digit unit
 * u = 10^(X−14) of x, |x − t| ≤ u/2 with ties to even q, and the notation follows the exponent.
 */
function checkFormatted(x: number, text: string): string | null {
  if (!Number.isFinite(x)) return text === 'null' ? null : 'non-finite must be null';
  if (x === 0) return text === (Object.is(x, -0) ? '-0.0' : '0.0') ? null : 'zero form';
  const m = /^(-?)(\d)(?:\.(\d*[1-9]))?e([+-])(\d{2,3})$/.exec(text);
  const f = /^(-?)(\d+)(?:\.(\d*[1-9]))?$/.exec(text);
  if (x < 0 !== text.startsWith('-')) return 'sign';
  let digits: bigint;
  let exp10: number;
  let shownExponent: number;
  if (m !== null) {
    const frac = m[3] ?? '';
    digits = BigInt(m[2] + frac);
    exp10 = (m[4] === '-' ? -1 : 1) * Number(m[5]) - frac.length;
    shownExponent = (m[4] === '-' ? -1 : 1) * Number(m[5]);
    if (m[5].length === 3 && m[5][0] === '0') return 'exponent padded past 2 digits';
    if (shownExponent >= -4 && shownExponent < 15) return 'exponent form inside fixed range';
  } else if (f !== null) {
    const frac = f[3] ?? '';
    digits = BigInt(f[2] + frac);
    exp10 = -frac.length;
    if (f[2].length > 1 && f[2][0] === '0') return 'leading zero';
    const t = digits.toString();
    shownExponent = t.length - 1 + exp10;
    if (shownExponent < -4 || shownExponent >= 15) return 'fixed form outside fixed range';
  } else {
    return 'syntax';
  }
  const { a, b } = exactRational(x);
  const X = decimalExponent(a, b);
  const unitExp = X - 14;
  // t = digits·10^exp10 must be q·10^unitExp.
  let q: bigint;
  if (exp10 >= unitExp) q = digits * 10n ** BigInt(exp10 - unitExp);
  else {
    const scale = 10n ** BigInt(unitExp - exp10);
    if (digits % scale !== 0n) return 'more than 15 significant digits';
    q = digits / scale;
  }
  // 2·|x − q·u| vs u, scaled to integers: x = a/b, u = 10^unitExp.
  const [un, ud] = unitExp >= 0 ? [10n ** BigInt(unitExp), 1n] : [1n, 10n ** BigInt(-unitExp)];
  const diff = a * ud - q * un * b; // (x − t)·b·ud
  const twice = 2n * (diff < 0n ? -diff : diff);
  const unit = un * b;
  if (twice > unit) return 'not the nearest 15-digit value';
  if (twice === unit && q % 2n !== 0n) return 'tie not rounded to even';
  return null;
}

describe('formatDouble15g', () => {
  it('reproduces the test vectors of isxd-format.md §2.1', () => {
    // Prepare
    const vectors: [number, string][] = [
      [0, '0.0'],
      [-0, '-0.0'],
      [1, '1'],
      [0.1, '0.1'],
      [Math.fround(0.1), '0.100000001490116'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1e15, '1e+15'],
      [123456789012345, '123456789012345'],
      [1.2345678901234568e17, '1.23456789012346e+17'],
      [963.5777587890625, '963.577758789062'],
      [-822.9136962890625, '-822.913696289062'],
      [2.384185791015625e-7, '2.38418579101562e-07'],
      [Number.NaN, 'null'],
      [Number.POSITIVE_INFINITY, 'null'],
      [1e20, '1e+20'],
      [2.5, '2.5'],
      [5e-324, '4.94065645841247e-324'],
      [1.7976931348623157e308, '1.79769313486232e+308'],
      [999999999999999.9, '1e+15'],
    ];
    // Act
    const texts = vectors.map(([x]) => formatDouble15g(x));
    // Assess
    expect(texts).toEqual(vectors.map(([, t]) => t));
  });

  it('checker rejects toPrecision(15), which rounds exact ties up', () => {
    // Prepare
    const x = 963.5777587890625;
    // Act
    const verdict = checkFormatted(x, x.toPrecision(15));
    // Assess
    expect(verdict).toBe('tie not rounded to even');
  });

  it('gives the correctly rounded half-even 15-digit value for any double', () => {
    fc.assert(
      fc.property(fc.double(), (x) => checkFormatted(x, formatDouble15g(x)) === null),
      { seed: 20261125, numRuns: 4000 },
    );
  });

  it('gives the correctly rounded value for float32 values widened to double', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => checkFormatted(x, formatDouble15g(x)) === null),
      { seed: 7, numRuns: 4000 },
    );
  });

  it('parses back to the same 15-digit value (text → double → text is stable)', () => {
    fc.assert(
      // Below DBL_MAX: 1.79769313486232e+308 (DBL_MAX rounded to 15 digits) overflows, as in C.
      fc.property(fc.double({ noNaN: true, min: -1.7e308, max: 1.7e308 }), (x) => {
        const text = formatDouble15g(x);
        return formatDouble15g(Number(text)) === text;
      }),
      { seed: 3, numRuns: 3000 },
    );
  });
});

describe('parseJson / dumpJson', () => {
  it('keeps int64 extremes and the float flag of 0.0 exactly', () => {
    // Prepare
    const text =
      '{"a": -9223372036854775808, "b": 18446744073709551615, "c": 0.0, "d": 1, "e": 1E2}';
    // Act
    const value = parseJson(text, 'mem');
    // Assess
    expect(dumpJson(value)).toBe(
      '{\n    "a": -9223372036854775808,\n    "b": 18446744073709551615,\n    "c": 0.0,\n    "d": 1,\n    "e": 100\n}',
    );
  });

  it('treats integers beyond uint64 as floats', () => {
    // Act
    const value = parseJson('18446744073709551616', 'mem');
    // Assess
    expect(value).toEqual({ type: 'float', value: 2 ** 64 });
  });

  it('sorts keys by UTF-8 bytes, not UTF-16 units, and writes empty containers inline', () => {
    // Prepare
    const value = jsonObject({
      '\u{1F600}': jsonInt(1),
      '\uE000': jsonInt(2),
      cellMetrics: jsonArray([]),
      CellActivity: jsonObject({}),
      'channel list': jsonInt(3),
    });
    // Act
    const text = dumpJson(value);
    // Assess
    expect(text).toBe(
      '{\n    "CellActivity": {},\n    "cellMetrics": [],\n    "channel list": 3,\n    "\uE000": 2,\n    "\u{1F600}": 1\n}',
    );
    expect(compareCodePoints('\u{1F600}', '\uE000')).toBeGreaterThan(0);
  });

  it('escapes only quote, backslash and control characters; writes non-ASCII raw', () => {
    // Prepare
    const value = jsonString('a"b\\c/\u007f\u0001\b\f\n\r\t\u0000é名');
    // Act
    const text = dumpJson(value);
    // Assess
    expect(text).toBe('"a\\"b\\\\c/\u007f\\u0001\\b\\f\\n\\r\\t\\u0000é名"');
    expect(parseJson(text, 'mem')).toEqual(value);
  });

  it('nests arrays with 4-space indentation and writes non-finite floats as null', () => {
    // Prepare
    const value = jsonArray([jsonArray([jsonFloat(Number.NaN), jsonFloat(-0)]), jsonInt(-5)]);
    // Act
    const text = dumpJson(value);
    // Assess
    expect(text).toBe('[\n    [\n        null,\n        -0.0\n    ],\n    -5\n]');
  });

  it('round-trips random documents through dump and parse', () => {
    const leaf = fc.oneof(
      fc.boolean().map((b) => ({ type: 'boolean' as const, value: b })),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }).map((v) => jsonInt(v)),
      fc.double({ noNaN: true, min: -1.7e308, max: 1.7e308 }).map((v) => jsonFloat(v)),
      fc.string({ unit: 'binary' }).map((s) => jsonString(s.replace(/[\uD800-\uDFFF]/g, ''))),
    );
    const doc = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', maxDepth: 3 }, leaf, tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 4 }).map((items) => jsonArray(items as never)),
      object: fc
        .dictionary(fc.string(), tie('value'), { maxKeys: 4 })
        .map((o) => jsonObject(o as never)),
    })).value;
    fc.assert(
      fc.property(doc, (value) => {
        const text = dumpJson(value as never);
        return dumpJson(parseJson(text, 'mem')) === text;
      }),
      { seed: 11, numRuns: 100 },
    );
  });

  it.each([
    ['trailing comma', '{"a": 1,}'],
    ['NaN literal', '{"a": NaN}'],
    ['comment', '[1] // c'],
    ['raw control character', '{"a": "x\ny"}'],
    ['empty text', ''],
    ['leading zero', '[01]'],
    ['bad escape', '"\\x"'],
    ['nesting deeper than 512', `${'['.repeat(600)}${']'.repeat(600)}`],
  ])('rejects a %s with FooterJson', (_, text) => {
    // Act
    const act = () => parseJson(text, 'bad.isxd');
    // Assess
    expect(act).toThrow(IsxdFormatError);
    expect(act).toThrow(
      expect.objectContaining({ code: IsxdErrorCode.FooterJson, file: 'bad.isxd' }),
    );
  });

  it('reads a float beyond the double range as Infinity (strtod) and dumps it as null', () => {
    // Act
    const value = parseJson('[1e400, -1e400]', 'big.isxd');
    // Assess
    expect(value).toEqual(jsonArray([jsonFloat(Infinity), jsonFloat(-Infinity)]));
    expect(dumpJson(value)).toBe('[\n    null,\n    null\n]');
  });

  it('converts to plain JS with unsafe integers as strings', () => {
    // Act
    const plain = toPlain(parseJson('{"b": [1, 9007199254740993], "a": 0.5}', 'mem'));
    // Assess
    expect(plain).toEqual({ a: 0.5, b: [1, '9007199254740993'] });
  });
});
