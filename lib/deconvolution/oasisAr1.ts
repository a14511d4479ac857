/**
 * OASIS for AR(1) calcium dynamics, as CaImAn's `constrained_oasisAR1` computes it
 * (../shared/docs/deconvolution-algorithms.md §4, §5; Friedrich, Zhou & Paninski 2017).
 *
 *   minimise ½‖c − ỹ‖² + λ·Σ_t s_t   s.t.  s_t = c_t − g·c_{t−1} ≥ s_min (or s_t = 0),  c₀ ≥ 0
 *
 * which equals an unpenalised fit to ỹ_t = y_t − b − λ(1−g) (t < T−1), ỹ_{T−1} = y_{T−1} − b − λ.
 * A pool (v, w, t, l) is a run of frames t … t+l−1 on which c decays freely, c_{t+k} = (v/w)·g^k,
 * with v = Σ_k g^k·m_k·ỹ_{t+k} and w = Σ_k g^{2k}·m_k (m = observation weight, 1 without gaps).
 * The noise constraint ‖y − c − b‖² = sn²·T fixes λ (and b when the baseline is unknown).
 *
 * CaImAn runs this in float32: pool values, g, λ, b, the RSS and all arrays are float32 and the
 * powers g^ℓ are float32. Here every stored scalar is rounded with `Math.fround` after each
 * operation; dot products and sums are accumulated in float64 and rounded once, except the
 * means, which follow numpy's float32 pairwise summation (§5.5). Degenerate kernels (g ≥ 1)
 * produce NaN/∞ as CaImAn does: max(0, x) in the inner solver maps NaN to 0, λ/b clamps let NaN
 * lose, and g^ℓ overflows at the float32 limit.
 *
 * Gaps (weights m_t = 0, beyond CaImAn): a gap frame adds to its pool's length but not to v or w,
 * so a pool made only of gaps has w = 0 and always merges with its neighbour; each pool also
 * keeps q = Σ_k g^k·m_k, the sensitivity of v to a uniform shift of ỹ. The noise target counts
 * observed frames only. Without weights (or all ones) the unweighted formulas run unchanged.
 */
import { InvalidParameterError } from '../errors.js';
import { optimizeG } from './optimizeG.js';

const f32 = Math.fround;

/** Relative tolerance of the noise constraint (§5.1, §5.2). */
const NOISE_TOL = 1e-4;
/** Σc at or below this ends the λ search (§5.1, §5.2). */
const MIN_TOTAL_CALCIUM = 1e-9;
/** Iteration cap of the unknown-baseline search (§5.2, `max_iter`). */
const MAX_ITER_BASELINE = 5;
/**
 * Safety cap of the known-baseline search, which CaImAn runs without a cap (§9.13); each step
 * meets the constraint to first order, so real traces need a handful of steps.
 */
const MAX_ITER_KNOWN_BASELINE = 1000;
/** Percentile of y used as the initial baseline (§5.2 step 1). */
const INITIAL_BASELINE_PERCENTILE = 15;

/** Options of {@link constrainedOasisAr1}, mirroring `constrained_oasisAR1`'s arguments (§5). */
interface Ar1Options {
  /** true when the baseline is unknown and estimated (§5.2); false: b = 0 (§5.1). */
  optimizeB: boolean;
  /** Keep the estimated baseline ≥ 0. */
  bNonneg: boolean;
  /** Number of pools used to refine g (0 = off); only in the baseline branch (§5.3). */
  optimizeG: number;
  /** 1 = L1 (s_min unset); 0 = L0 post-processing (§5.4). */
  penalty: 0 | 1;
  /** With penalty 0: 0 automatic, > 0 minimum jump, < 0 |sMin|·sn·√(1−g). */
  sMin: number;
  /** Optional observation mask: 1 = observed frame, 0 = gap (NaN frame). */
  weights?: Uint8Array | null;
}

/** Output of {@link constrainedOasisAr1}. */
interface Ar1Result {
  /** Calcium, before the c1 removal the caller applies (baseline not included). */
  c: Float64Array;
  /** Spikes: s₀ = 0, s_t = fl32(c_t − fl32(g·c_{t−1})). */
  s: Float64Array;
  /** Baseline (float32 value; 0 when optimizeB is false). */
  b: number;
  /** AR coefficient as used (float32 value; refined when optimizeG > 0). */
  g: number;
  /** Sparsity multiplier λ of the L1 stage. */
  lam: number;
}

/** Pool stack in preallocated typed arrays (capacity T). */
interface Pools {
  v: Float64Array;
  w: Float64Array;
  /** q = Σ_k g^k·m_k, used only with weights. */
  q: Float64Array;
  t: Int32Array;
  l: Int32Array;
  n: number;
}

/** Working state of one solve. */
interface Ar1State {
  y: Float64Array;
  T: number;
  g: number;
  /** h_k = fl32(g^k), k = 0 … 2T (§5 setup; 2ℓ for merged w). */
  h: Float64Array;
  pools: Pools;
  c: Float64Array;
  /** Residual and auxiliary scratch (length T). */
  r: Float64Array;
  aux: Float64Array;
  m: Uint8Array | null;
  /** Number of observed frames. */
  nObs: number;
}

/**
 * Scratch buffers shared by successive solves (grow-only, capacity in frames). The solver is
 * synchronous and never re-entered, so one set serves every call; only c and s are fresh.
 */
interface Workspace {
  capacity: number;
  pools: Pools;
  y: Float64Array;
  h: Float64Array;
  r: Float64Array;
  aux: Float64Array;
}

let shared: Workspace | null = null;

function workspace(T: number): Workspace {
  if (shared !== null && shared.capacity >= T) return shared;
  const cap = Math.max(T, 16);
  shared = {
    capacity: cap,
    pools: {
      v: new Float64Array(cap),
      w: new Float64Array(cap),
      q: new Float64Array(cap),
      t: new Int32Array(cap),
      l: new Int32Array(cap),
      n: 0,
    },
    y: new Float64Array(cap),
    h: new Float64Array(2 * cap + 1),
    r: new Float64Array(cap),
    aux: new Float64Array(cap),
  };
  return shared;
}

/** Powers between exact re-anchors in {@link powTable} (float64 drift ≤ 64 ulp, far below fl32). */
const POW_ANCHOR = 64;

/**
 * h_k = fl32(g^k) for k < h.length (the float32 power table of §5 setup). Float64 products re-anchored
 * with an exact power every {@link POW_ANCHOR} steps; once the float32 value underflows to 0 the
 * rest of the table is 0.
 */
function powTable(g: number, h: Float64Array): void {
  const n = h.length;
  let p = 1;
  let k = 0;
  for (; k < n; k++) {
    if (k % POW_ANCHOR === 0) p = g ** k;
    else p *= g;
    const hk = f32(p);
    h[k] = hk;
    if (hk === 0 && Math.abs(g) < 1 && k > 0) break;
  }
  h.fill(0, k);
}

/** True when pools A (earlier) and B violate: (v_A/w_A)·g^{ℓ_A} + s_min > v_B/w_B (§4). */
function violates(
  vA: number,
  wA: number,
  hlA: number,
  sMin: number,
  vB: number,
  wB: number,
): boolean {
  if (wA === 0 || wB === 0) return true;
  return f32(f32(f32(vA / wA) * hlA) + sMin) > f32(vB / wB);
}

/**
 * Forward pass of §4 on shifted data yt (float32 values): one pool per frame, merged backwards
 * while adjacent pools violate the minimum jump sMin.
 */
function forwardPass(
  yt: ArrayLike<number>,
  m: Uint8Array | null,
  h: Float64Array,
  sMin: number,
  P: Pools,
): void {
  const T = yt.length;
  const { v: pv, w: pw, q: pq, t: pt, l: pl } = P;
  let n = 0;
  for (let t = 0; t < T; t++) {
    const obs = m === null || m[t] !== 0;
    let v = obs ? yt[t] : 0;
    let w = obs ? 1 : 0;
    let q = obs ? 1 : 0;
    let l = 1;
    let start = t;
    while (n > 0) {
      const lA = pl[n - 1];
      const hA = h[lA];
      if (!violates(pv[n - 1], pw[n - 1], hA, sMin, v, w)) break;
      n--;
      v = f32(pv[n] + f32(hA * v));
      w = f32(pw[n] + f32(h[2 * lA] * w));
      q = f32(pq[n] + f32(hA * q));
      l += lA;
      start = pt[n];
    }
    pv[n] = v;
    pw[n] = w;
    pq[n] = q;
    pt[n] = start;
    pl[n] = l;
    n++;
  }
  P.n = n;
}

/** Warm restart of §4: walk the pools left to right, merging backwards while they violate. */
function warmRestart(h: Float64Array, sMin: number, P: Pools): void {
  const { v: pv, w: pw, q: pq, t: pt, l: pl } = P;
  let n = 0;
  for (let i = 0; i < P.n; i++) {
    let v = pv[i];
    let w = pw[i];
    let q = pq[i];
    let l = pl[i];
    let start = pt[i];
    while (n > 0) {
      const lA = pl[n - 1];
      const hA = h[lA];
      if (!violates(pv[n - 1], pw[n - 1], hA, sMin, v, w)) break;
      n--;
      v = f32(pv[n] + f32(hA * v));
      w = f32(pw[n] + f32(h[2 * lA] * w));
      q = f32(pq[n] + f32(hA * q));
      l += lA;
      start = pt[n];
    }
    pv[n] = v;
    pw[n] = w;
    pq[n] = q;
    pt[n] = start;
    pl[n] = l;
    n++;
  }
  P.n = n;
}

/**
 * Reconstruction of §4: the first pool's level is clipped at 0, later levels below sMin become
 * 0 (sMin = 0: max(0, v/w) everywhere); inside a pool c_{t+1} = fl32(g·c_t).
 */
function reconstruct(P: Pools, g: number, sMin: number, c: Float64Array, nanToZero = false): void {
  const { v: pv, w: pw, t: pt, l: pl } = P;
  for (let i = 0; i < P.n; i++) {
    const ratio = pw[i] === 0 ? 0 : f32(pv[i] / pw[i]);
    const floor = i === 0 ? 0 : sMin;
    const level = nanToZero ? (ratio > floor ? ratio : 0) : ratio < floor ? 0 : ratio;
    const t0 = pt[i];
    const t1 = t0 + pl[i];
    c[t0] = level;
    for (let t = t0 + 1; t < t1; t++) c[t] = f32(g * c[t - 1]);
  }
}

/** max(0, x) with NaN mapped to 0, as the compiled `max(0, x)` of CaImAn behaves. */
function nonneg(x: number): number {
  // biome-ignore lint/complexity/useMathMinMax: Math.max(NaN, 0) is NaN; this must give 0.
  return x > 0 ? x : 0;
}

/** max(x, lo) where a NaN x loses (compiled-max semantics). */
function atLeast(x: number, lo: number): number {
  // biome-ignore lint/complexity/useMathMinMax: Math.max keeps NaN; a NaN x must lose here.
  return x > lo ? x : lo;
}

/** Last pool's c rebuilt from the h table: c_{t+k} = fl32(max(0, v)/w)·h_k (§5.2 step 3). */
function refitLastPool(S: Ar1State): void {
  const P = S.pools;
  const i = P.n - 1;
  const level = P.w[i] === 0 ? 0 : f32(nonneg(P.v[i]) / P.w[i]);
  const t0 = P.t[i];
  const l = P.l[i];
  const { c, h } = S;
  for (let k = 0; k < l; k++) c[t0 + k] = f32(level * h[k]);
}

/**
 * Sensitivity of a pool's v to a unit shift of the non-last data, (1 − g^ℓ) without gaps and
 * (1 − g)·q with gaps.
 */
function shiftWeight(S: Ar1State, i: number): number {
  const P = S.pools;
  if (S.m === null) return f32(1 - S.h[P.l[i]]);
  return f32(f32(1 - S.g) * P.q[i]);
}

/** Last-pool correction (§5.2 step 3): v −= Δλ·g^ℓ, then refit its c from h. */
function lastPoolCorrection(S: Ar1State, dLam: number): void {
  const P = S.pools;
  const i = P.n - 1;
  const { m } = S;
  let hl = S.h[P.l[i]];
  if (m !== null && m[S.T - 1] === 0) hl = 0;
  P.v[i] = f32(P.v[i] - f32(dLam * hl));
  refitLastPool(S);
}

/**
 * τ = −∂c/∂λ, pool by pool (§5.1 step 1): non-last pools g^k·(1 − g^ℓ)/w, the last pool g^k/w
 * (repeated float32 multiplication), minus `centre` (§5.2 step 5.2; 0 for §5.1), 0 at gaps and in
 * all-gap pools. Returns a = ‖τ‖² and β = ⟨r, τ⟩ (§5.1 step 2) without storing τ.
 */
function tauProducts(S: Ar1State, r: Float64Array, centre: number): { a: number; beta: number } {
  const P = S.pools;
  const { g, m } = S;
  const last = P.n - 1;
  let a = 0;
  let beta = 0;
  for (let i = 0; i <= last; i++) {
    const w = P.w[i];
    const num = i === last ? lastShiftWeight(S) : shiftWeight(S, i);
    const t0 = P.t[i];
    const t1 = t0 + P.l[i];
    let raw = w === 0 ? 0 : f32(num / w);
    for (let t = t0; t < t1; t++) {
      if (t > t0) raw = f32(g * raw);
      let tau = centre === 0 ? raw : f32(raw - centre);
      if (m !== null && m[t] === 0) tau = 0;
      a += tau * tau;
      beta += r[t] * tau;
    }
  }
  return { a: f32(a), beta: f32(beta) };
}

/** Σ over observed frames of (y − c − b)², rounded to float32; r receives the residual. */
function residual(S: Ar1State, b: number, r: Float64Array): number {
  const { y, c, m, T } = S;
  let rss = 0;
  if (m === null) {
    for (let t = 0; t < T; t++) {
      const rt = f32(f32(y[t] - c[t]) - b);
      r[t] = rt;
      rss += rt * rt;
    }
    return f32(rss);
  }
  for (let t = 0; t < T; t++) {
    if (m !== null && m[t] === 0) {
      r[t] = 0;
      continue;
    }
    const rt = f32(f32(y[t] - c[t]) - b);
    r[t] = rt;
    rss += rt * rt;
  }
  return f32(rss);
}

/** Σc in float32 (float64 accumulation). */
function totalCalcium(c: Float64Array): number {
  let s = 0;
  for (let t = 0; t < c.length; t++) s += c[t];
  return f32(s);
}

/** mean over observed frames of fl32(y − c), as numpy's float32 mean (pairwise sum). */
function meanResidual(S: Ar1State, scratch: Float64Array): number {
  const { y, c, m, T } = S;
  let n = 0;
  if (m === null) {
    for (let t = 0; t < T; t++) scratch[t] = f32(y[t] - c[t]);
    n = T;
  } else {
    for (let t = 0; t < T; t++) if (m[t] !== 0) scratch[n++] = f32(y[t] - c[t]);
  }
  return f32(pairwiseSum32(scratch, 0, n) / n);
}

/** Block size of numpy's pairwise summation. */
const PAIRWISE_BLOCK = 128;

/**
 * numpy's pairwise summation of a[start … start+n) in float32: sequential below 8 terms, eight
 * running sums up to 128 terms, otherwise halves split at a multiple of 8.
 */
function pairwiseSum32(a: Float64Array, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = f32(res + a[start + i]);
    return res;
  }
  if (n <= PAIRWISE_BLOCK) {
    let r0 = a[start];
    let r1 = a[start + 1];
    let r2 = a[start + 2];
    let r3 = a[start + 3];
    let r4 = a[start + 4];
    let r5 = a[start + 5];
    let r6 = a[start + 6];
    let r7 = a[start + 7];
    const end8 = n - (n % 8);
    let i = 8;
    for (; i < end8; i += 8) {
      const k = start + i;
      r0 = f32(r0 + a[k]);
      r1 = f32(r1 + a[k + 1]);
      r2 = f32(r2 + a[k + 2]);
      r3 = f32(r3 + a[k + 3]);
      r4 = f32(r4 + a[k + 4]);
      r5 = f32(r5 + a[k + 5]);
      r6 = f32(r6 + a[k + 6]);
      r7 = f32(r7 + a[k + 7]);
    }
    let res = f32(f32(f32(r0 + r1) + f32(r2 + r3)) + f32(f32(r4 + r5) + f32(r6 + r7)));
    for (; i < n; i++) res = f32(res + a[start + i]);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f32(pairwiseSum32(a, start, n2) + pairwiseSum32(a, start + n2, n - n2));
}

/** numpy's linear-interpolation percentile (position q/100·(n−1) in the sorted data), O(T). */
function percentile(
  y: Float64Array,
  m: Uint8Array | null,
  q: number,
  scratch: Float64Array,
): number {
  let n = 0;
  const work = scratch;
  for (let t = 0; t < y.length; t++) if (m === null || m[t] !== 0) work[n++] = y[t];
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const a = select(work, n, lo);
  let b = a;
  if (lo + 1 < n) {
    b = work[lo + 1];
    for (let i = lo + 2; i < n; i++) if (work[i] < b) b = work[i];
  }
  const frac = pos - lo;
  const diff = b - a;
  return frac >= 0.5 ? b - diff * (1 - frac) : a + diff * frac;
}

/**
 * k-th smallest of a[0 … n) by quickselect (Hoare partition, median-of-three pivot); afterwards
 * a[k] holds it and a[k+1 …) only larger-or-equal values.
 */
function select(a: Float64Array, n: number, k: number): number {
  let left = 0;
  let right = n - 1;
  while (right > left) {
    const mid = (left + right) >>> 1;
    if (a[mid] < a[left]) swap(a, mid, left);
    if (a[right] < a[left]) swap(a, right, left);
    if (a[right] < a[mid]) swap(a, right, mid);
    const pivot = a[mid];
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return a[k];
}

function swap(a: Float64Array, i: number, j: number): void {
  const x = a[i];
  a[i] = a[j];
  a[j] = x;
}

/** Step Δ solving ‖r + Δτ‖² = thresh (§5.1 step 3); −β/a when the discriminant is ≤ 0. */
function noiseStep(a: number, beta: number, gamma: number): number {
  const disc = f32(f32(beta * beta) - f32(a * gamma));
  if (disc > 0) return f32(f32(-beta + f32(Math.sqrt(disc))) / a);
  return f32(-beta / a);
}

/** §5.1: known baseline (b = 0), λ raised until RSS reaches thresh. */
function solveKnownBaseline(S: Ar1State, thresh: number): number {
  const { g, y, m, r } = S;
  const P = S.pools;
  forwardPass(y, m, S.h, 0, P);
  reconstruct(P, g, 0, S.c, true);
  let rss = residual(S, 0, r);
  let lam = 0;
  const target = thresh * (1 - NOISE_TOL);
  for (let it = 0; it < MAX_ITER_KNOWN_BASELINE; it++) {
    if (!(rss < target && totalCalcium(S.c) > MIN_TOTAL_CALCIUM)) break;
    const { a, beta } = tauProducts(S, r, 0);
    const gamma = f32(rss - thresh);
    const delta = noiseStep(a, beta, gamma);
    lam = f32(lam + delta);
    const last = P.n - 1;
    for (let i = 0; i < last; i++) P.v[i] = f32(P.v[i] - f32(delta * shiftWeight(S, i)));
    P.v[last] = f32(P.v[last] - f32(delta * lastShiftWeight(S)));
    warmRestart(S.h, 0, P);
    reconstruct(P, g, 0, S.c, true);
    rss = residual(S, 0, r);
  }
  return lam;
}

/**
 * Sensitivity of the last pool's v to λ: 1 without gaps ((1−g^ℓ) + g^ℓ); with gaps
 * (1 − g)·q + m_{T−1}·g^{ℓ−1}·g.
 */
function lastShiftWeight(S: Ar1State): number {
  if (S.m === null) return 1;
  const P = S.pools;
  const i = P.n - 1;
  const hl = S.m[S.T - 1] === 0 ? 0 : S.h[P.l[i]];
  return f32(shiftWeight(S, i) + hl);
}

/** §5.2: unknown baseline, at most five steps of the offset u = b + λ(1−g) plus rebases. */
function solveUnknownBaseline(
  S: Ar1State,
  thresh: number,
  opts: Ar1Options,
): { b: number; lam: number } {
  const { T, y, m } = S;
  const P = S.pools;
  const rebase = (mean: number): number => (opts.bNonneg ? atLeast(mean, 0) : mean);
  const { r, aux: yb } = S;
  let b0 = f32(percentile(y, m, INITIAL_BASELINE_PERCENTILE, yb));
  if (opts.bNonneg && b0 < 0) b0 = 0;
  for (let t = 0; t < T; t++) yb[t] = f32(y[t] - b0);
  forwardPass(yb, m, S.h, 0, P);
  reconstruct(P, S.g, 0, S.c, true);
  let b = rebase(meanResidual(S, yb));
  let lam = f32(f32(b0 - b) / f32(1 - S.g));
  lastPoolCorrection(S, lam);
  let rss = residual(S, b, r);
  let gConverged = false;
  for (let count = 0; count < MAX_ITER_BASELINE; ) {
    if (!(Math.abs(rss - thresh) > NOISE_TOL * thresh && totalCalcium(S.c) > MIN_TOTAL_CALCIUM))
      break;
    count++;
    const g = S.g;
    const omg = f32(1 - g);
    let centre = 0;
    for (let i = 0; i < P.n; i++) {
      const sw = S.m === null ? 1 - S.h[P.l[i]] : omg * P.q[i];
      if (P.w[i] !== 0) centre += (sw * sw) / P.w[i];
    }
    centre = f32(centre / (S.nObs * omg));
    const { a, beta } = tauProducts(S, r, centre);
    const gamma = f32(rss - thresh);
    let phi = noiseStep(a, beta, gamma);
    if (opts.bNonneg) phi = atLeast(phi, f32(-b / omg));
    b = f32(b + f32(phi * omg));
    for (let i = 0; i < P.n; i++) P.v[i] = f32(P.v[i] - f32(phi * shiftWeight(S, i)));
    warmRestart(S.h, 0, P);
    reconstruct(P, g, 0, S.c, true);
    const delta = f32(rebase(meanResidual(S, yb)) - b);
    b = f32(b + delta);
    const dLam = f32(-delta / omg);
    lam = f32(lam + dLam);
    lastPoolCorrection(S, dLam);
    if (opts.optimizeG > 0 && count < 4 && !gConverged) {
      const res = optimizeG(S, b, lam, opts.optimizeG, opts.bNonneg);
      gConverged = Math.abs(res.g - g) < 1e-3;
      b = res.b;
      adoptG(S, res.g, b, lam);
      const d2 = f32(rebase(meanResidual(S, yb)) - b);
      b = f32(b + d2);
      const dl2 = f32(-d2 / f32(1 - S.g));
      lam = f32(lam + dl2);
      lastPoolCorrection(S, dl2);
    }
    rss = residual(S, b, r);
  }
  return { b, lam };
}

/**
 * §5.3 step 5: adopt a refined g. Rebuild h, recompute every pool from the data
 * (v = ⟨h, y_seg⟩ − (b/(1−g) + λ)(1 − g^ℓ), w = ⟨h, h⟩), subtract λ·g^ℓ more from the last pool,
 * warm restart and reconstruct.
 */
function adoptG(S: Ar1State, g: number, b: number, lam: number): void {
  S.g = f32(g);
  const h = S.h;
  const lnG = Math.log(S.g);
  let k = 0;
  for (; k < h.length; k++) {
    h[k] = f32(Math.exp(lnG * k));
    if (h[k] === 0) break;
  }
  h.fill(0, k);
  const P = S.pools;
  const { y, m } = S;
  const shift = f32(f32(b / f32(1 - S.g)) + lam);
  for (let i = 0; i < P.n; i++) {
    const t0 = P.t[i];
    const l = P.l[i];
    let v = 0;
    let w = 0;
    let q = 0;
    for (let k = 0; k < l; k++) {
      if (m !== null && m[t0 + k] === 0) continue;
      v += h[k] * y[t0 + k];
      w += h[k] * h[k];
      q += h[k];
    }
    P.q[i] = f32(q);
    const sw = m === null ? f32(1 - h[l]) : f32(f32(1 - S.g) * P.q[i]);
    P.v[i] = f32(f32(v) - f32(shift * sw));
    P.w[i] = f32(w);
  }
  lastPoolCorrection(S, lam);
  warmRestart(h, 0, P);
  reconstruct(P, S.g, 0, S.c);
}

/**
 * §5.4, s_min = 0: greedy spike addition. Candidates are the L1 jumps at pool starts, added in
 * decreasing size; each splits its pool and refits both halves until RSS < thresh.
 */
function greedyL0(S: Ar1State, yb: Float64Array, thresh: number): void {
  const P = S.pools;
  const { c, h, m, T } = S;
  const nCand = P.n - 1;
  c.fill(0);
  if (nCand <= 0) return;
  const sigma = new Float64Array(nCand);
  const pos = new Int32Array(nCand);
  for (let i = 0; i < nCand; i++) {
    const prev = P.w[i] === 0 ? 0 : f32(f32(P.v[i] / P.w[i]) * h[P.l[i]]);
    const next = P.w[i + 1] === 0 ? 0 : f32(P.v[i + 1] / P.w[i + 1]);
    sigma[i] = f32(next - prev);
    pos[i] = P.t[i + 1];
  }
  const order = Array.from({ length: nCand }, (_, i) => i);
  order.sort((i, j) => sigma[i] - sigma[j] || i - j);
  order.reverse();
  const active = new Uint8Array(nCand);
  let rss = 0;
  for (let t = 0; t < T; t++) if (m === null || m[t] !== 0) rss += yb[t] * yb[t];
  for (const i of order) {
    let lo = i - 1;
    while (lo >= 0 && active[lo] === 0) lo--;
    let hi = i + 1;
    while (hi < nCand && active[hi] === 0) hi++;
    const start = lo < 0 ? 0 : pos[lo];
    const end = hi >= nCand ? T : pos[hi];
    active[i] = 1;
    rss -= spanRss(yb, c, m, start, end);
    fitSegment(yb, m, h, c, start, pos[i]);
    fitSegment(yb, m, h, c, pos[i], end);
    rss += spanRss(yb, c, m, start, end);
    if (rss < thresh) break;
  }
}

function spanRss(
  yb: Float64Array,
  c: Float64Array,
  m: Uint8Array | null,
  start: number,
  end: number,
): number {
  let s = 0;
  for (let t = start; t < end; t++) {
    if (m !== null && m[t] === 0) continue;
    const r = c[t] - yb[t];
    s += r * r;
  }
  return s;
}

/** Closed-form refit of one free-decay segment: level max(0, ⟨h, y⟩)/⟨h, h⟩, c = level·h_k. */
function fitSegment(
  yb: Float64Array,
  m: Uint8Array | null,
  h: Float64Array,
  c: Float64Array,
  start: number,
  end: number,
): void {
  let v = 0;
  let w = 0;
  for (let t = start; t < end; t++) {
    if (m !== null && m[t] === 0) continue;
    const hk = h[t - start];
    v += hk * yb[t];
    w += hk * hk;
  }
  const level = w === 0 ? 0 : f32(nonneg(f32(v)) / f32(w));
  for (let t = start; t < end; t++) c[t] = f32(level * h[t - start]);
}

/** s₀ = 0, s_t = fl32(c_t − fl32(g·c_{t−1})) (§4 "Spikes"). */
function spikes(c: Float64Array, g: number): Float64Array {
  const s = new Float64Array(c.length);
  for (let t = 1; t < c.length; t++) s[t] = f32(c[t] - f32(g * c[t - 1]));
  return s;
}

function normaliseWeights(
  weights: Uint8Array | null | undefined,
  T: number,
): { m: Uint8Array | null; nObs: number } {
  if (weights === null || weights === undefined) return { m: null, nObs: T };
  if (weights.length !== T)
    throw new InvalidParameterError('weights', `length ${weights.length}`, `length ${T}`);
  let nObs = 0;
  for (let t = 0; t < T; t++) if (weights[t] !== 0) nObs++;
  if (nObs === T) return { m: null, nObs: T };
  if (nObs === 0)
    throw new InvalidParameterError('weights', 'no observed frame', 'at least one frame with 1');
  return { m: weights, nObs };
}

function makeState(y: ArrayLike<number>, g: number, weights?: Uint8Array | null): Ar1State {
  const T = y.length;
  if (T === 0) throw new InvalidParameterError('y', 'an empty trace', 'at least one frame');
  const { m, nObs } = normaliseWeights(weights, T);
  const ws = workspace(T);
  const yf = ws.y.subarray(0, T);
  for (let t = 0; t < T; t++) yf[t] = m !== null && m[t] === 0 ? 0 : f32(y[t]);
  const g32 = f32(g);
  const h = ws.h.subarray(0, 2 * T + 1);
  powTable(g32, h);
  ws.pools.n = 0;
  return {
    y: yf,
    T,
    g: g32,
    h,
    pools: ws.pools,
    c: new Float64Array(T),
    r: ws.r.subarray(0, T),
    aux: ws.aux.subarray(0, T),
    m,
    nObs,
  };
}

/**
 * Noise-constrained OASIS for AR(1), as `constrained_foopsi` calls CaImAn's
 * `constrained_oasisAR1` (§5): λ (and the baseline b when `optimizeB`) are adjusted until
 * ‖y − c − b‖² ≈ sn²·T, then optionally the L0 post-processing of §5.4 replaces c.
 *
 * @param y - the trace, already float32-valued (fl32(y) or fl32(y − bl)).
 * @param g - AR coefficient g₁ (rounded to float32 here).
 * @param sn - noise standard deviation (rounded to float32 here).
 * @param opts - baseline, optimize_g, penalty and s_min settings, optional gap mask.
 * @returns c before the c1 removal, spikes s, baseline b, g and λ.
 * @example
 * ```ts
 * const { c, s, b, lam } = constrainedOasisAr1(y32, 0.95, 0.2, {
 *   optimizeB: true, bNonneg: true, optimizeG: 0, penalty: 1, sMin: 0,
 * });
 * ```
 */
function constrainedOasisAr1(
  y: Float32Array | Float64Array,
  g: number,
  sn: number,
  opts: Ar1Options,
): Ar1Result {
  const S = makeState(y, g, opts.weights);
  const sn32 = f32(sn);
  const thresh = f32(f32(sn32 * sn32) * S.nObs);
  let b = 0;
  let lam: number;
  if (opts.optimizeB) {
    const res = solveUnknownBaseline(S, thresh, opts);
    b = res.b;
    lam = res.lam;
  } else {
    lam = solveKnownBaseline(S, thresh);
  }
  if (opts.penalty === 0) {
    const yb = S.aux;
    for (let t = 0; t < S.T; t++) yb[t] = f32(S.y[t] - b);
    if (opts.sMin === 0) {
      greedyL0(S, yb, thresh);
    } else {
      const theta =
        opts.sMin > 0
          ? f32(opts.sMin)
          : f32(f32(f32(-opts.sMin) * sn32) * f32(Math.sqrt(f32(1 - S.g))));
      forwardPass(yb, S.m, S.h, theta, S.pools);
      reconstruct(S.pools, S.g, theta, S.c);
    }
  }
  return { c: S.c, s: spikes(S.c, S.g), b, g: S.g, lam };
}

/**
 * The general pool pass of §4 with a fixed λ and minimum jump sMin: ỹ_t = y_t − λ(1−g),
 * ỹ_{T−1} = y_{T−1} − λ, pools merged while the jump is below sMin; the first pool's level is
 * clipped at 0 and later levels below sMin become 0. Used by the AR(2) warm start (§6.2).
 *
 * @param y - float32-valued trace (baseline removed).
 * @param g - AR coefficient (rounded to float32 here).
 * @param lam - sparsity weight λ.
 * @param sMin - minimum spike size (0 for plain L1).
 * @param weights - optional gap mask (1 observed, 0 gap).
 * @returns calcium c and spikes s (s₀ = 0).
 */
function oasisAr1(
  y: Float32Array | Float64Array,
  g: number,
  lam: number,
  sMin: number,
  weights?: Uint8Array | null,
): { c: Float64Array; s: Float64Array } {
  const S = makeState(y, g, weights);
  const { T } = S;
  const lam32 = f32(lam);
  const shift = f32(lam32 * f32(1 - S.g));
  const yt = S.aux;
  for (let t = 0; t < T - 1; t++) yt[t] = f32(S.y[t] - shift);
  yt[T - 1] = f32(S.y[T - 1] - lam32);
  forwardPass(yt, S.m, S.h, f32(sMin), S.pools);
  reconstruct(S.pools, S.g, f32(sMin), S.c);
  return { c: S.c, s: spikes(S.c, S.g) };
}

export type { Ar1Options, Ar1Result, Ar1State, Pools };
export { constrainedOasisAr1, oasisAr1 };
