/**
 * numpy's legacy `RandomState` stream, bit for bit (deconvolution-performance-anchor.md,
 * "Benchmark inputs"):
 *
 * - MT19937 seeded by `init_genrand`: mt₀ = seed, mt_i = 1812433253·(mt_{i−1} ⊕ (mt_{i−1} ≫ 30)) + i
 *   mod 2³²;
 * - uniforms on [0, 1) with 53 bits: (a≫5 · 2²⁶ + b≫6) / 2⁵³ from two consecutive outputs;
 * - standard normals by the polar method: x₁, x₂ = 2u − 1 until 0 < r² = x₁² + x₂² < 1,
 *   f = √(−2 ln r² / r²), return f·x₂ and keep f·x₁ for the next call.
 *
 * Uniforms are exact. ln is evaluated correctly rounded (double-double series); the C
 * library numpy calls misrounds about 0.08 % of its arguments, so roughly 4 in 10 000
 * normals can differ from numpy by one ulp in float64 (none of the anchor's float32 sets
 * and none of the golden gen_data traces is affected). V8's Math.log would change ~3 %.
 *
 * CaImAn uses it for the seed-45 root fixes of §3 step 4, and its test generator for the
 * traces (test/helpers/genData.ts).
 */
import { InvalidParameterError } from '../errors.js';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** A seeded legacy stream (numpy `np.random.seed(seed)` then draws). */
interface LegacyRandomState {
  /** Next raw 32-bit MT19937 output (unsigned). */
  nextUint32(): number;
  /** Next uniform on [0, 1) (`np.random.rand`, `random_sample`). */
  randomSample(): number;
  /** Next standard normal (`np.random.randn`, `standard_normal`, legacy polar method). */
  standardNormal(): number;
  /** Fills out with consecutive uniforms. */
  fillUniform(out: Float64Array): void;
  /** Fills out with consecutive standard normals. */
  fillNormal(out: Float64Array): void;
}

const SPLITTER = 134217729; // 2^27 + 1, Veltkamp split
const LN2_HI = Math.LN2; // ln 2 rounded to double; LN2_LO is the remainder
const LN2_LO = 2.3190468138462996e-17;
const SQRT2 = Math.SQRT2;
/** Terms of atanh(s)/s = Σ u^n/(2n+1), u = s²: the first four in double-double. */
const SERIES_TERMS = 24;
const DD_TERMS = 4;
const inverseOddHi = new Float64Array(DD_TERMS);
const inverseOddLo = new Float64Array(DD_TERMS);

/** Scratch for the double-double helpers: [hi, lo]. */
const dd = new Float64Array(2);

/** Exact product a·b = dd[0] + dd[1] (Dekker). */
function twoProduct(a: number, b: number): void {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  dd[0] = p;
  dd[1] = ah * bh - p + ah * bl + al * bh + al * bl;
}

/** Exact sum a + b = dd[0] + dd[1] (Knuth). */
function twoSum(a: number, b: number): void {
  const s = a + b;
  const bb = s - a;
  dd[0] = s;
  dd[1] = a - (s - bb) + (b - bb);
}

for (let n = 0; n < DD_TERMS; n++) {
  const d = 2 * n + 1;
  const hi = 1 / d;
  twoProduct(hi, d);
  inverseOddHi[n] = hi;
  inverseOddLo[n] = (1 - dd[0] - dd[1]) / d;
}

/**
 * Natural logarithm rounded (to within ~1e-24 relative before the final rounding) to the
 * nearest double, as the C library's `log` used by numpy returns it; V8's Math.log is off
 * by one ulp for about 3 % of arguments, which would change the normals.
 * ln x = k·ln2 + 2·atanh(s), x = 2^k·m, m ∈ [√½, √2), s = (m − 1)/(m + 1), in double-double.
 */
function log(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return Math.log(x);
  let k = Math.floor(Math.log2(x));
  let m = x * 2 ** -k;
  while (m >= 2) {
    m /= 2;
    k++;
  }
  while (m < 1) {
    m *= 2;
    k--;
  }
  if (m > SQRT2) {
    m /= 2;
    k++;
  }
  // s = (m − 1)/(m + 1); m − 1 is exact (Sterbenz), m + 1 as a double-double.
  const num = m - 1;
  twoSum(m, 1);
  const denHi = dd[0];
  const denLo = dd[1];
  const sHi = num / denHi;
  twoProduct(sHi, denHi);
  const sLo = (num - dd[0] - dd[1] - sHi * denLo) / denHi;
  // u = s² as a double-double.
  twoProduct(sHi, sHi);
  const uHi = dd[0] + (dd[1] + 2 * sHi * sLo);
  const uLo = dd[1] + 2 * sHi * sLo - (uHi - dd[0]);
  // Tail Σ_{n ≥ DD_TERMS} u^{n−DD_TERMS}/(2n+1) in double, then Horner in double-double.
  let tail = 0;
  for (let n = SERIES_TERMS; n >= DD_TERMS; n--) tail = tail * uHi + 1 / (2 * n + 1);
  let accHi = tail;
  let accLo = 0;
  for (let n = DD_TERMS - 1; n >= 0; n--) {
    twoProduct(accHi, uHi);
    const pLo = dd[1] + accHi * uLo + accLo * uHi;
    const pHi = dd[0];
    twoSum(pHi, inverseOddHi[n]);
    const sum = dd[0];
    const err = dd[1] + pLo + inverseOddLo[n];
    accHi = sum + err;
    accLo = err - (accHi - sum);
  }
  // ln m = 2·s·P(u).
  twoProduct(sHi, accHi);
  let lnmHi = 2 * dd[0];
  let lnmLo = 2 * (dd[1] + sHi * accLo + sLo * accHi);
  const t = lnmHi + lnmLo;
  lnmLo -= t - lnmHi;
  lnmHi = t;
  if (k === 0) return lnmHi + lnmLo;
  twoProduct(k, LN2_HI);
  const kHi = dd[0];
  const kLo = dd[1] + k * LN2_LO;
  twoSum(kHi, lnmHi);
  return dd[0] + (dd[1] + kLo + lnmLo);
}

/**
 * A legacy numpy stream seeded like `np.random.seed(seed)` with an integer seed.
 * @param seed - integer in [0, 2³² − 1]
 * @throws InvalidParameterError (parameter `seed`) outside that range
 */
function legacyRandomState(seed: number): LegacyRandomState {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new InvalidParameterError('seed', seed, 'an integer in [0, 2^32 - 1]');
  }
  const mt = new Uint32Array(N);
  mt[0] = seed >>> 0;
  for (let i = 1; i < N; i++) {
    const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
    mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
  }
  let index = N;
  let hasGauss = false;
  let gauss = 0;

  function twist(): void {
    let kk = 0;
    let y: number;
    for (; kk < N - M; kk++) {
      y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < N - 1; kk++) {
      y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    index = 0;
  }

  function nextUint32(): number {
    if (index >= N) twist();
    let y = mt[index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  function randomSample(): number {
    const a = nextUint32() >>> 5;
    const b = nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  function standardNormal(): number {
    if (hasGauss) {
      hasGauss = false;
      return gauss;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * randomSample() - 1;
      x2 = 2 * randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * log(r2)) / r2);
    gauss = f * x1;
    hasGauss = true;
    return f * x2;
  }

  return {
    nextUint32,
    randomSample,
    standardNormal,
    fillUniform(out) {
      for (let i = 0; i < out.length; i++) out[i] = randomSample();
    },
    fillNormal(out) {
      for (let i = 0; i < out.length; i++) out[i] = standardNormal();
    },
  };
}

export type { LegacyRandomState };
export { legacyRandomState };
