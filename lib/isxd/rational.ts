/**
 * Exact rational time (docs/isxd-format.md §3.1): a ratio a/b with bigint parts and b ≠ 0. Every
 * time, period and duration of the project goes through these rules:
 *
 *   gcd(a, b) ≥ 0 by Euclid;  reduce(a/b) = (a/g)/(b/g), g = gcd(a, b)  (the sign stays on b);
 *   a/b + c/d = (a·L/b + c·L/d) / L with L = lcm(b, d) (L = b when b = d; not reduced, §6.3);
 *   k·(a/b) = (k·a)/b;   sign(a/b − c/d) = sign((a·d − c·b)·b·d);   ⌈(a/b) / (c/d)⌉ exactly;
 *   seconds(a/b) = double(a) / double(b);
 *   µs offset of frame k for a period p = a/b: round(k·p·10⁶) = ⌊(2·k·a·10⁶ + b) / (2·b)⌋ (b > 0).
 *
 * The plain form {num, den} is JSON-safe: each part is a number, or its decimal string beyond
 * 2^53. Functions that only read a ratio accept it in any of the three forms ({@link AnyRatio}).
 */
import { InvalidParameterError } from '../errors.js';
import { bigintToPlain } from './json.js';
import type { Ratio, RatioLike } from './types.js';

/** A ratio in JSON-safe form: numbers, or decimal strings beyond 2^53. */
interface PlainRatio {
  readonly num: number | string;
  readonly den: number | string;
}

/** A ratio in any of its three forms (for read-only uses). */
type AnyRatio = Ratio | RatioLike | PlainRatio;

const MICROS_PER_SECOND = 1_000_000;

/** gcd(a, b) ≥ 0 (0 only for gcd(0, 0)). */
function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

function gcdNumber(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

function toBigInt(value: bigint | number, parameter: string): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) throw new InvalidParameterError(parameter, value, 'an integer');
  return BigInt(value);
}

/**
 * A validated ratio from bigint or integer parts (kept unreduced).
 * @throws InvalidParameterError when a part is not an integer or den is not positive
 */
function ratio(num: bigint | number, den: bigint | number, parameter = 'ratio'): Ratio {
  const r = { num: toBigInt(num, `${parameter}.num`), den: toBigInt(den, `${parameter}.den`) };
  if (r.den <= 0n) throw new InvalidParameterError(`${parameter}.den`, den, 'a positive integer');
  return r;
}

/** {@link ratio} of a {@link RatioLike}. */
function toRatio(value: RatioLike, parameter = 'ratio'): Ratio {
  return ratio(value.num, value.den, parameter);
}

/** The exact ratio of any form, parts unchanged (no validation: the parts must be integers). */
function exactRatio(r: AnyRatio): Ratio {
  return { num: BigInt(r.num), den: BigInt(r.den) };
}

/** The JSON-safe form of a ratio. */
function plainRatio(r: Ratio): PlainRatio {
  return { num: bigintToPlain(r.num), den: bigintToPlain(r.den) };
}

/** num/den as a double (seconds, for a time or a period). */
function ratioToNumber(r: AnyRatio): number {
  return Number(r.num) / Number(r.den);
}

/** r in lowest terms; the denominator keeps its sign. */
function reduceRatio(r: Ratio): Ratio {
  const g = gcd(r.num, r.den) || 1n;
  return { num: r.num / g, den: r.den / g };
}

/** a + b over lcm(a.den, b.den), not reduced (the official writer's sum, §6.3). */
function addRatios(a: Ratio, b: Ratio): Ratio {
  if (a.den === b.den) return { num: a.num + b.num, den: a.den };
  const den = (a.den / gcd(a.den, b.den)) * b.den;
  return { num: a.num * (den / a.den) + b.num * (den / b.den), den };
}

/** a − b, as {@link addRatios}. */
function subtractRatios(a: Ratio, b: Ratio): Ratio {
  return addRatios(a, { num: -b.num, den: b.den });
}

/** k·r, not reduced (a duration: k periods). */
function scaleRatio(r: Ratio, k: bigint | number): Ratio {
  return { num: r.num * BigInt(k), den: r.den };
}

/** Sign of r: −1, 0 or 1. */
function ratioSign(r: Ratio): number {
  if (r.num === 0n) return 0;
  return r.num > 0n === r.den > 0n ? 1 : -1;
}

/** Sign of a − b. */
function compareRatios(a: Ratio, b: Ratio): number {
  const d = (a.num * b.den - b.num * a.den) * (a.den * b.den > 0n ? 1n : -1n);
  return d === 0n ? 0 : d > 0n ? 1 : -1;
}

/** ⌈a / b⌉ exactly (b ≠ 0). */
function ceilQuotient(a: Ratio, b: Ratio): bigint {
  let num = a.num * b.den;
  let den = a.den * b.num;
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  // BigInt division truncates toward zero, which is the ceiling for num ≤ 0.
  return num <= 0n ? num / den : (num + den - 1n) / den;
}

/**
 * µs offset of frame k: round(k·period·10⁶), exact rational rounding half up. Uses exact double
 * arithmetic when every intermediate is a safe integer (after cancelling gcd(10⁶, den)), BigInt
 * otherwise.
 */
function frameOffsetMicros(frame: number, period: AnyRatio): number {
  const num = Number(period.num);
  const den = Number(period.den);
  if (Number.isSafeInteger(num) && Number.isSafeInteger(den) && num >= 0 && den > 0) {
    const g = gcdNumber(MICROS_PER_SECOND, den);
    // round(k·num·10⁶/den) = ⌊(2·k·num·(10⁶/g) + den/g) / (2·den/g)⌋
    const a = 2 * frame * num * (MICROS_PER_SECOND / g) + den / g;
    const b = (2 * den) / g;
    if (Number.isSafeInteger(a)) {
      let q = Math.floor(a / b);
      if (q * b > a) q--;
      else if ((q + 1) * b <= a) q++;
      return q;
    }
  }
  const bigNum = BigInt(frame) * BigInt(period.num) * BigInt(MICROS_PER_SECOND);
  const bigDen = BigInt(period.den);
  return Number((2n * bigNum + bigDen) / (2n * bigDen));
}

export type { AnyRatio, PlainRatio };
export {
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
  toRatio,
};
