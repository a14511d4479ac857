import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../../lib/errors.js';
import {
  addRatios,
  ceilQuotient,
  compareRatios,
  exactRatio,
  frameOffsetMicros,
  gcd,
  plainRatio,
  ratio,
  ratioSign,
  ratioToNumber,
  reduceRatio,
  scaleRatio,
  subtractRatios,
} from '../../../lib/isxd/rational.js';

describe('ratio', () => {
  it('keeps the ratio unreduced and converts to a double', () => {
    // Act
    const r = ratio(100, 1000);
    // Assess
    expect(r).toEqual({ num: 100n, den: 1000n });
    expect(ratioToNumber(r)).toBe(0.1);
  });

  it.each([
    [1.5, 1],
    [1, 0],
    [Number.NaN, 1],
  ])('rejects num %s / den %s', (num, den) => {
    // Act
    const act = () => ratio(num, den, 'timing.period');
    // Assess
    expect(act).toThrow(InvalidParameterError);
  });
});

describe('gcd and reduceRatio', () => {
  it('gives a non-negative gcd and keeps the sign on the denominator', () => {
    // Act
    const g = gcd(-12n, 18n);
    const r = reduceRatio({ num: 6n, den: -4n });
    // Assess
    expect(g).toBe(6n);
    expect(gcd(0n, 0n)).toBe(0n);
    expect(r).toEqual({ num: 3n, den: -2n });
    expect(reduceRatio({ num: 0n, den: 5n })).toEqual({ num: 0n, den: 1n });
  });
});

describe('addRatios', () => {
  it('sums over the lcm of the denominators without reducing (isxd-format.md §6.3)', () => {
    // Act
    const sameDen = addRatios({ num: 2n, den: 10n }, { num: 3n, den: 10n });
    const otherDen = addRatios({ num: 1n, den: 4n }, { num: 1n, den: 6n });
    const difference = subtractRatios({ num: 1n, den: 4n }, { num: 1n, den: 6n });
    // Assess
    expect(sameDen).toEqual({ num: 5n, den: 10n });
    expect(otherDen).toEqual({ num: 5n, den: 12n });
    expect(difference).toEqual({ num: 1n, den: 12n });
  });

  it('is exact for any sign of the denominators', () => {
    // Prepare
    const part = fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n });
    const den = part.filter((d) => d !== 0n);
    fc.assert(
      fc.property(part, den, part, den, (a, b, c, d) => {
        // Act
        const sum = addRatios({ num: a, den: b }, { num: c, den: d });
        // Assess: a/b + c/d = (a·d + c·b) / (b·d)
        return sum.num * b * d === (a * d + c * b) * sum.den;
      }),
    );
  });
});

describe('compareRatios, ratioSign and ceilQuotient', () => {
  it('compare exactly whatever the signs', () => {
    // Act
    const less = compareRatios({ num: 1n, den: 3n }, { num: 1n, den: 2n });
    const negativeDen = compareRatios({ num: -1n, den: -3n }, { num: 1n, den: 3n });
    // Assess
    expect(less).toBe(-1);
    expect(negativeDen).toBe(0);
    expect(ratioSign({ num: 1n, den: -2n })).toBe(-1);
    expect(ratioSign({ num: 0n, den: -2n })).toBe(0);
  });

  it('rounds the quotient up exactly', () => {
    // Act
    const q = ceilQuotient({ num: 7n, den: 2n }, { num: 1n, den: 1n });
    // Assess
    expect(q).toBe(4n);
    expect(ceilQuotient({ num: 6n, den: 2n }, { num: 3n, den: 2n })).toBe(2n);
    expect(ceilQuotient({ num: -7n, den: 2n }, { num: 1n, den: 1n })).toBe(-3n);
    expect(ceilQuotient({ num: 7n, den: 2n }, { num: 1n, den: -1n })).toBe(-3n);
  });
});

describe('plain and exact forms', () => {
  it('writes parts beyond 2^53 as decimal strings and reads them back', () => {
    // Prepare
    const big = 2n ** 60n + 1n;
    // Act
    const plain = plainRatio({ num: big, den: 1000n });
    // Assess
    expect(plain).toEqual({ num: '1152921504606846977', den: 1000 });
    expect(exactRatio(plain)).toEqual({ num: big, den: 1000n });
    expect(ratioToNumber(plain)).toBe(Number(big) / 1000);
  });

  it('scales a period into a duration', () => {
    // Act
    const d = scaleRatio({ num: 50n, den: 1000n }, 12);
    // Assess
    expect(d).toEqual({ num: 600n, den: 1000n });
  });
});

describe('frameOffsetMicros', () => {
  it('rounds k·period·10⁶ half up, in every ratio form', () => {
    // Act
    const thirds = [0, 1, 2, 3].map((k) => frameOffsetMicros(k, { num: 1, den: 30 }));
    const half = frameOffsetMicros(1, { num: 1n, den: 2_000_000n });
    const plain = frameOffsetMicros(3, { num: '1', den: '30' });
    // Assess
    expect(thirds).toEqual([0, 33333, 66667, 100000]);
    expect(half).toBe(1);
    expect(plain).toBe(100000);
  });
});
