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

/**
 * Frames per chunk of the loops that hand back several sums: their stores run once per chunk,
 * starting before the first, so code compiled mid-loop has seen them (otherwise V8 re-enters that
 * code and deoptimizes at the stores on every call).
 */
const OSR_CHUNK = 4096;

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
  /** Optional caller buffers (length T) that receive c and s instead of fresh arrays. */
  out?: { c: Float64Array; s: Float64Array } | null;
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

/** {@link Ar1State} plus the solver's private buffers. */
interface State extends Ar1State {
  /** Cached end levels of the pools (see {@link Workspace}). */
  e: Float64Array;
  ws: Workspace;
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
  /** Cached end level of each pool on the stack, fl32(fl32(v/w)·g^ℓ) + s_min (§4 violation test). */
  e: Float64Array;
  /** Entries of h at and beyond this index are 0 (so a new table only clears what was written). */
  hDirty: number;
  /** g of the table in h (NaN: none), valid on [0, hValid): a given g is the same for every cell. */
  hG: number;
  hValid: number;
  /** Σc from the last {@link residual} call (the λ-search stopping test reads it). */
  totalC: number;
  /** Float64 sums handed back by the hot loops. */
  sums: Float64Array;
  /** Uncentred τ per frame, written by {@link reconstructMean} without gaps (§5.1 step 1). */
  tau: Float64Array;
  /** True while `tau` matches the pools (set by reconstructMean, cleared by a new solve / g). */
  tauReady: boolean;
  /** a = ‖τ‖², β = ⟨r, τ⟩ (float32) for `stepCentre`, from the last {@link residualForStep}. */
  stepA: number;
  stepBeta: number;
  stepCentre: number;
  stepReady: boolean;
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
    e: new Float64Array(cap),
    hDirty: 0,
    hG: Number.NaN,
    hValid: 0,
    totalC: 0,
    sums: new Float64Array(4),
    tau: new Float64Array(cap),
    tauReady: false,
    stepA: 0,
    stepBeta: 0,
    stepCentre: 0,
    stepReady: false,
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
function powTable(g: number, h: Float64Array, ws: Workspace): void {
  clearTail(h, powPrefix(g, h), ws);
}

/** h_k = fl32(g^k) up to the first k > 0 where it underflows to 0 (|g| < 1); returns that k. */
function powPrefix(g: number, h: Float64Array): number {
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
  return k;
}

/** h[k …) = 0, clearing only entries a previous table may have written; records the new extent. */
function clearTail(h: Float64Array, k: number, ws: Workspace): void {
  if (ws.hDirty > k) h.fill(0, k, Math.min(ws.hDirty, h.length));
  ws.hDirty = Math.max(k, h.length < ws.hDirty ? ws.hDirty : 0);
}

/** fl32(v/w) for float32 v, w ≠ 0 (v/1 = v exactly, so a single frame needs no division). */
function ratio(v: number, w: number): number {
  return w === 1 ? v : f32(v / w);
}

/**
 * Appends pool B = (v, w, q, start, l) after the first n pools, first merging it backwards into
 * its predecessor A while they violate (v_A/w_A)·g^{ℓ_A} + s_min > v_B/w_B (§4): v ← v_A + g^{ℓ_A}·v,
 * w ← w_A + g^{2ℓ_A}·w. Returns the new pool count. Shared by the forward pass and the warm restart.
 */
function pushPool(
  h: Float64Array,
  sMin: number,
  P: Pools,
  pe: Float64Array,
  gaps: boolean,
  n: number,
  v: number,
  w: number,
  q: number,
  start: number,
  l: number,
): number {
  const { v: pv, w: pw, q: pq, t: pt, l: pl } = P;
  // B's level v/w, one division per merged state (reused by the test and by the end level).
  let level = ratio(v, w);
  while (n > 0) {
    const wA = pw[n - 1];
    if (!(wA === 0 || w === 0 || pe[n - 1] > level)) break;
    n--;
    const lA = pl[n];
    const hA = h[lA];
    v = f32(pv[n] + f32(hA * v));
    w = f32(wA + f32(h[2 * lA] * w));
    if (gaps) q = f32(pq[n] + f32(hA * q));
    l += lA;
    start = pt[n];
    level = ratio(v, w);
  }
  pv[n] = v;
  pw[n] = w;
  pq[n] = q;
  pt[n] = start;
  pl[n] = l;
  pe[n] = w === 0 ? 0 : f32(f32(level * h[l]) + sMin);
  return n + 1;
}

/**
 * Forward pass of §4 on shifted data fl32(yt − shift) (yt float32 values; shift 0 leaves them
 * unchanged): one pool per frame, merged backwards while adjacent pools A (earlier) and B violate
 * (v_A/w_A)·g^{ℓ_A} + s_min > v_B/w_B. A's side of the test is cached per pool in `e`.
 */
function forwardPass(
  yt: ArrayLike<number>,
  m: Uint8Array | null,
  h: Float64Array,
  sMin: number,
  P: Pools,
  pe: Float64Array,
  shift: number,
): number {
  const T = yt.length;
  let n = 0;
  if (m === null) return forwardPassDense(yt, h, sMin, P, pe, shift);
  for (let t = 0; t < T; t++) {
    const obs = m[t] !== 0;
    n = pushPool(
      h,
      sMin,
      P,
      pe,
      true,
      n,
      obs ? f32(yt[t] - shift) : 0,
      obs ? 1 : 0,
      obs ? 1 : 0,
      t,
      1,
    );
  }
  return n;
}

/**
 * {@link forwardPass} without gaps: {@link pushPool} written out for pools (fl32(y_t − shift), 1,
 * 1, t, 1), with the top pool's end level kept in a local (same operations, same order, so the
 * same pools bit for bit; it saves the call and the store-to-load round trip of the test).
 */
function forwardPassDense(
  yt: ArrayLike<number>,
  h: Float64Array,
  sMin: number,
  P: Pools,
  pe: Float64Array,
  shift: number,
): number {
  const { v: pv, w: pw, t: pt, l: pl } = P;
  const T = yt.length;
  let n = 0;
  // End level of pool n − 1 (pe[n − 1]), −∞ while the stack is empty.
  let eTop = Number.NEGATIVE_INFINITY;
  for (let t = 0; t < T; t++) {
    let v = f32(yt[t] - shift);
    let w = 1;
    let l = 1;
    let start = t;
    let level = v;
    if (n > 0 && (pw[n - 1] === 0 || eTop > level)) {
      // Merge backwards while pool A = n − 1 and the new pool violate the constraint (§4).
      for (;;) {
        n--;
        const lA = pl[n];
        const hA = h[lA];
        v = f32(pv[n] + f32(hA * v));
        w = f32(pw[n] + f32(h[2 * lA] * w));
        l += lA;
        start = pt[n];
        level = ratio(v, w);
        if (n === 0) break;
        const wA = pw[n - 1];
        if (!(wA === 0 || w === 0 || pe[n - 1] > level)) break;
      }
    }
    pv[n] = v;
    pw[n] = w;
    pt[n] = start;
    pl[n] = l;
    eTop = w === 0 ? 0 : f32(f32(level * h[l]) + sMin);
    pe[n] = eTop;
    n++;
  }
  return n;
}

/** Warm restart of §4: walk the pools left to right, merging backwards while they violate. */
function warmRestart(
  h: Float64Array,
  sMin: number,
  P: Pools,
  pe: Float64Array,
  gaps: boolean,
): number {
  const { v: pv, w: pw, q: pq, t: pt, l: pl } = P;
  let n = 0;
  for (let i = 0; i < P.n; i++) {
    n = pushPool(h, sMin, P, pe, gaps, n, pv[i], pw[i], pq[i], pt[i], pl[i]);
  }
  return n;
}

/**
 * Without gaps: v_i ← fl32(v_i − fl32(φ·fl32(1 − g^{ℓ_i}))) for every pool (the last one's weight
 * is 1 when `lastWeightOne`, as §5.1 shifts it), fused with {@link warmRestart} (s_min = 0) in
 * one walk over the pools: the same operations in the same order as the two loops one after the
 * other, since pool i is read before the restart writes at index n ≤ i.
 */
function shiftRestartDense(
  h: Float64Array,
  P: Pools,
  pe: Float64Array,
  phi: number,
  lastWeightOne: boolean,
): number {
  const { v: pv, w: pw, t: pt, l: pl } = P;
  const count = P.n;
  let n = 0;
  let eTop = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    let l = pl[i];
    const weight = lastWeightOne && i === count - 1 ? 1 : f32(1 - h[l]);
    let v = f32(pv[i] - f32(phi * weight));
    let w = pw[i];
    let start = pt[i];
    let level = ratio(v, w);
    if (n > 0 && (pw[n - 1] === 0 || w === 0 || eTop > level)) {
      for (;;) {
        n--;
        const lA = pl[n];
        const hA = h[lA];
        v = f32(pv[n] + f32(hA * v));
        w = f32(pw[n] + f32(h[2 * lA] * w));
        l += lA;
        start = pt[n];
        level = ratio(v, w);
        if (n === 0) break;
        const wA = pw[n - 1];
        if (!(wA === 0 || w === 0 || pe[n - 1] > level)) break;
      }
    }
    pv[n] = v;
    pw[n] = w;
    pt[n] = start;
    pl[n] = l;
    // fl32(x + 0) = x + 0 for a float32 x (s_min = 0): the outer rounding of pushPool is exact.
    eTop = w === 0 ? 0 : f32(level * h[l]) + 0;
    pe[n] = eTop;
    n++;
  }
  return n;
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
function refitLastPool(S: State): void {
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
function shiftWeight(S: State, i: number): number {
  const P = S.pools;
  if (S.m === null) return f32(1 - S.h[P.l[i]]);
  return f32(f32(1 - S.g) * P.q[i]);
}

/** Last-pool correction (§5.2 step 3): v −= Δλ·g^ℓ, then refit its c from h. */
function lastPoolCorrection(S: State, dLam: number): void {
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
function tauProducts(S: State, r: Float64Array, centre: number): { a: number; beta: number } {
  const sums = S.ws.sums;
  if (S.m === null && S.ws.tauReady) tauFlat(S.ws.tau, r, centre, sums);
  else tauSums(S, r, centre, lastShiftWeight(S), sums);
  return { a: f32(sums[0]), beta: f32(sums[1]) };
}

/**
 * The loop of {@link tauProducts}; a and β (float64) go to sums[0], sums[1]. The hot loops of this
 * module are split from their callers' calls and allocations, so that code V8 compiles mid-loop
 * (on-stack replacement) never meets an operation it has not seen and deoptimizes on every call.
 */
function tauSums(
  S: State,
  r: Float64Array,
  centre: number,
  numLast: number,
  sums: Float64Array,
): void {
  const P = S.pools;
  const { g, m } = S;
  const last = P.n - 1;
  let a = 0;
  let beta = 0;
  for (let i = 0; i <= last; i++) {
    const w = P.w[i];
    const num = i === last ? numLast : shiftWeight(S, i);
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
  sums[0] = a;
  sums[1] = beta;
}

/** {@link tauSums} from the stored uncentred τ (no gaps): sums[0] = Σ τ², sums[1] = Σ r·τ. */
function tauFlat(raw: Float64Array, r: Float64Array, centre: number, sums: Float64Array): void {
  const T = r.length;
  let a = 0;
  let beta = 0;
  let t = 0;
  for (;;) {
    sums[0] = a;
    sums[1] = beta;
    if (t >= T) return;
    const end = Math.min(T, t + OSR_CHUNK);
    for (; t < end; t++) {
      const tau = centre === 0 ? raw[t] : f32(raw[t] - centre);
      a += tau * tau;
      beta += r[t] * tau;
    }
  }
}

/**
 * Σ over observed frames of (y − c − b)², rounded to float32; r receives the residual. The same
 * pass stores Σc (all frames, float64 accumulation, rounded to float32) in the workspace for the
 * stopping test of §5.1 / §5.2.
 */
function residual(S: State, b: number, r: Float64Array): number {
  const sums = S.ws.sums;
  residualSums(S.y, S.c, S.m, b, r, sums);
  S.ws.totalC = f32(sums[1]);
  return f32(sums[0]);
}

/** The loop of {@link residual}: Σr² to sums[0], Σc to sums[1] (float64). */
function residualSums(
  y: Float64Array,
  c: Float64Array,
  m: Uint8Array | null,
  b: number,
  r: Float64Array,
  sums: Float64Array,
): void {
  const T = c.length;
  let rss = 0;
  let total = 0;
  let t = 0;
  for (;;) {
    // The stores also run before the first chunk, so OSR-compiled code has seen them.
    sums[0] = rss;
    sums[1] = total;
    if (t >= T) return;
    const end = Math.min(T, t + OSR_CHUNK);
    if (m === null) {
      for (; t < end; t++) {
        const ct = c[t];
        const rt = f32(f32(y[t] - ct) - b);
        r[t] = rt;
        rss += rt * rt;
        total += ct;
      }
    } else {
      for (; t < end; t++) {
        total += c[t];
        if (m[t] === 0) {
          r[t] = 0;
          continue;
        }
        const rt = f32(f32(y[t] - c[t]) - b);
        r[t] = rt;
        rss += rt * rt;
      }
    }
  }
}

/** Σc of the c seen by the last {@link residual} call. */
function lastTotalCalcium(S: State): number {
  return S.ws.totalC;
}

/**
 * {@link reconstruct} with s_min = 0 (NaN levels → 0) fused with {@link meanResidual}: the mean
 * over observed frames of fl32(y − c), as numpy's float32 mean.
 */
function reconstructMean(S: State, scratch: Float64Array): number {
  if (S.m !== null) {
    reconstruct(S.pools, S.g, 0, S.c, true);
    return meanResidual(S, scratch);
  }
  reconstructResidual(S.pools, S.g, S.h, S.y, S.c, scratch, S.ws.tau);
  S.ws.tauReady = true;
  return f32(pairwiseSum32(scratch, 0, S.T) / S.T);
}

/**
 * c of §4 (levels max(0, v/w), NaN → 0), scratch = fl32(y − c) and the uncentred τ of
 * {@link tauSums} (the pool's (1 − g^ℓ)/w, 1/w for the last, times g^k), without gaps: the two
 * float32 decay chains of each pool run side by side.
 */
function reconstructResidual(
  P: Pools,
  g: number,
  h: Float64Array,
  y: Float64Array,
  c: Float64Array,
  scratch: Float64Array,
  tau: Float64Array,
): void {
  const { v: pv, w: pw, t: pt, l: pl } = P;
  const zeroStays = g > 0 && g < Number.POSITIVE_INFINITY;
  const last = P.n - 1;
  for (let i = 0; i <= last; i++) {
    const w = pw[i];
    const level = w === 0 ? 0 : f32(pv[i] / w);
    let ct = nonneg(level);
    const t0 = pt[i];
    const t1 = t0 + pl[i];
    const num = i === last ? 1 : f32(1 - h[pl[i]]);
    let raw = w === 0 ? 0 : f32(num / w);
    if (ct === 0 && zeroStays) {
      // fl32(g·0) = +0 for finite g > 0: the pool is 0 throughout.
      c[t0] = 0;
      scratch[t0] = y[t0];
      tau[t0] = raw;
      for (let t = t0 + 1; t < t1; t++) {
        raw = f32(g * raw);
        c[t] = 0;
        scratch[t] = y[t];
        tau[t] = raw;
      }
      continue;
    }
    c[t0] = ct;
    scratch[t0] = f32(y[t0] - ct);
    tau[t0] = raw;
    for (let t = t0 + 1; t < t1; t++) {
      ct = f32(g * ct);
      raw = f32(g * raw);
      c[t] = ct;
      scratch[t] = f32(y[t] - ct);
      tau[t] = raw;
    }
  }
}

/** mean over observed frames of fl32(y − c), as numpy's float32 mean (pairwise sum). */
function meanResidual(S: State, scratch: Float64Array): number {
  const n = observedResidual(S.y, S.c, S.m, scratch);
  return f32(pairwiseSum32(scratch, 0, n) / n);
}

/** scratch[0:n] = fl32(y − c) over the observed frames, in order; returns n. */
function observedResidual(
  y: Float64Array,
  c: Float64Array,
  m: Uint8Array | null,
  scratch: Float64Array,
): number {
  const T = c.length;
  let n = 0;
  if (m === null) {
    for (let t = 0; t < T; t++) scratch[t] = f32(y[t] - c[t]);
    n = T;
  } else {
    for (let t = 0; t < T; t++) if (m[t] !== 0) scratch[n++] = f32(y[t] - c[t]);
  }
  return n;
}

/** Block size of numpy's pairwise summation. */
const PAIRWISE_BLOCK = 128;

/**
 * numpy's pairwise summation of a[start … start+n) in float32: sequential below 8 terms, eight
 * running sums up to 128 terms, otherwise halves split at a multiple of 8. Same sums as
 * linalg.pairwiseSum(…, true), kept separate on purpose: this one only ever sees Float64Array,
 * which keeps it monomorphic in V8 (the shared one made the AR(1) solve ~30 % slower).
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

/** Size of the sample that brackets the order statistics in {@link percentile}. */
const PERCENTILE_SAMPLE = 256;
/** Scratch for the strided sample of {@link percentile}. */
const percentileSample = new Float64Array(PERCENTILE_SAMPLE);

/**
 * numpy's linear-interpolation percentile (position q/100·(n−1) in the sorted data), O(T): the
 * order statistics a = x_(lo) and b = x_(lo+1) by value. Long traces first bracket them between two
 * order statistics of a strided sample and select inside the (small) bracket; when the bracket misses,
 * the data hold NaN, or a or b is zero (whose sign would depend on the selection order), the
 * quickselect over all the data decides instead.
 * @param scratch - receives the observed values with gaps, or a copy for the fallback (length ≥ T)
 * @param buffer - bracket scratch (length ≥ T)
 */
function percentile(
  y: Float64Array,
  m: Uint8Array | null,
  q: number,
  scratch: Float64Array,
  buffer: Float64Array,
  sums: Float64Array,
): number {
  // Without gaps the data are y itself: it is only copied (to be reordered) if the fallback runs.
  const n = m === null ? y.length : gatherObserved(y, m, scratch);
  const data = m === null ? y : scratch;
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  let a = Number.NaN;
  let b = Number.NaN;
  if (n >= 4 * PERCENTILE_SAMPLE) {
    const sample = percentileSample;
    for (let j = 0; j < PERCENTILE_SAMPLE; j++)
      sample[j] = data[Math.floor((j * n) / PERCENTILE_SAMPLE)];
    const S = PERCENTILE_SAMPLE;
    const p = lo / n;
    const margin = Math.ceil(3 * Math.sqrt(S * p * (1 - p))) + 2;
    // The two bracket ends are order statistics of the sample: select the upper one, then the
    // lower one among the values below it (no full sort).
    const iHigh = Math.min(S - 1, Math.ceil((S * (lo + 2)) / n) + margin);
    const iLow = Math.max(0, Math.floor(S * p) - margin);
    const high = select(sample, S, iHigh);
    const low = iLow < iHigh ? select(sample, iHigh, iLow) : high;
    const count = bracket(data, n, low, high, buffer, sums);
    const below = sums[0];
    const k = lo - below;
    const need = lo + 1 < n ? 2 : 1;
    if (sums[1] === 0 && k >= 0 && k + need <= count) {
      a = select(buffer, count, k);
      b = need === 2 ? minFrom(buffer, k + 1, count) : a;
    }
  }
  if (!(a !== 0 && b !== 0 && !Number.isNaN(a) && !Number.isNaN(b))) {
    const work = scratch;
    if (m === null) work.set(y.subarray(0, n));
    a = select(work, n, lo);
    b = lo + 1 < n ? minFrom(work, lo + 1, n) : a;
  }
  const frac = pos - lo;
  const diff = b - a;
  return frac >= 0.5 ? b - diff * (1 - frac) : a + diff * frac;
}

/** work[0:n] = the observed values of y, in order; returns n. */
function gatherObserved(y: Float64Array, m: Uint8Array | null, work: Float64Array): number {
  let n = 0;
  for (let t = 0; t < y.length; t++) if (m === null || m[t] !== 0) work[n++] = y[t];
  return n;
}

/**
 * Copies the x in [low, high] to out and returns their count; sums[0] = #{x < low},
 * sums[1] = #NaN (stored per chunk, see {@link OSR_CHUNK}).
 */
function bracket(
  x: Float64Array,
  n: number,
  low: number,
  high: number,
  out: Float64Array,
  sums: Float64Array,
): number {
  let below = 0;
  let nan = 0;
  let count = 0;
  let i = 0;
  for (;;) {
    sums[0] = below;
    sums[1] = nan;
    if (i >= n) return count;
    const end = Math.min(n, i + OSR_CHUNK);
    for (; i < end; i++) {
      const v = x[i];
      if (v < low) below++;
      else if (v <= high) out[count++] = v;
      else if (Number.isNaN(v)) nan++;
    }
  }
}

/** min of a[from:to] (to > from). */
function minFrom(a: Float64Array, from: number, to: number): number {
  let b = a[from];
  for (let i = from + 1; i < to; i++) if (a[i] < b) b = a[i];
  return b;
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
function solveKnownBaseline(S: State, thresh: number): number {
  const { g, y, m, r } = S;
  const P = S.pools;
  P.n = forwardPass(y, m, S.h, 0, P, S.e, 0);
  reconstruct(P, g, 0, S.c, true);
  let rss = residual(S, 0, r);
  let lam = 0;
  const target = thresh * (1 - NOISE_TOL);
  for (let it = 0; it < MAX_ITER_KNOWN_BASELINE; it++) {
    if (!(rss < target && lastTotalCalcium(S) > MIN_TOTAL_CALCIUM)) break;
    const { a, beta } = tauProducts(S, r, 0);
    const gamma = f32(rss - thresh);
    const delta = noiseStep(a, beta, gamma);
    lam = f32(lam + delta);
    if (S.m === null) {
      P.n = shiftRestartDense(S.h, P, S.e, delta, true);
    } else {
      const last = P.n - 1;
      for (let i = 0; i < last; i++) P.v[i] = f32(P.v[i] - f32(delta * shiftWeight(S, i)));
      P.v[last] = f32(P.v[last] - f32(delta * lastShiftWeight(S)));
      P.n = warmRestart(S.h, 0, P, S.e, true);
    }
    reconstruct(P, g, 0, S.c, true);
    rss = residual(S, 0, r);
  }
  return lam;
}

/**
 * Sensitivity of the last pool's v to λ: 1 without gaps ((1−g^ℓ) + g^ℓ); with gaps
 * (1 − g)·q + m_{T−1}·g^{ℓ−1}·g.
 */
function lastShiftWeight(S: State): number {
  if (S.m === null) return 1;
  const P = S.pools;
  const i = P.n - 1;
  const hl = S.m[S.T - 1] === 0 ? 0 : S.h[P.l[i]];
  return f32(shiftWeight(S, i) + hl);
}

/** The mean of τ subtracted in §5.2 step 5.2: Σ (shift weight)²/w over pools, / (n_obs·(1 − g)). */
function tauCentre(S: State): number {
  const { h, m, nObs } = S;
  const { l, q, w, n } = S.pools;
  const omg = f32(1 - S.g);
  const denominator = nObs * omg;
  let centre = 0;
  // The result is formed once per chunk of pools, the first time before any (see OSR_CHUNK): code
  // V8 compiles mid-loop has seen it, instead of deoptimizing there on every call.
  let i = 0;
  for (;;) {
    const result = f32(centre / denominator);
    if (i >= n) return result;
    const end = Math.min(n, i + OSR_CHUNK);
    if (m === null) {
      for (; i < end; i++) {
        const sw = 1 - h[l[i]];
        if (w[i] !== 0) centre += (sw * sw) / w[i];
      }
    } else {
      for (; i < end; i++) {
        const sw = omg * q[i];
        if (w[i] !== 0) centre += (sw * sw) / w[i];
      }
    }
  }
}

function residualForStep(S: State, b: number, r: Float64Array): number {
  const ws = S.ws;
  if (S.m !== null || !ws.tauReady) {
    ws.stepReady = false;
    return residual(S, b, r);
  }
  const centre = tauCentre(S);
  const sums = ws.sums;
  residualTauSums(S.y, S.c, b, r, ws.tau, centre, sums);
  ws.totalC = f32(sums[1]);
  ws.stepA = f32(sums[2]);
  ws.stepBeta = f32(sums[3]);
  ws.stepCentre = centre;
  ws.stepReady = true;
  return f32(sums[0]);
}

/** {@link residualSums} (no gaps) fused with {@link tauFlat}: Σr², Σc, Στ², Σrτ to sums[0…3]. */
function residualTauSums(
  y: Float64Array,
  c: Float64Array,
  b: number,
  r: Float64Array,
  raw: Float64Array,
  centre: number,
  sums: Float64Array,
): void {
  const T = c.length;
  let rss = 0;
  let total = 0;
  let a = 0;
  let beta = 0;
  let t = 0;
  for (;;) {
    sums[0] = rss;
    sums[1] = total;
    sums[2] = a;
    sums[3] = beta;
    if (t >= T) return;
    const end = Math.min(T, t + OSR_CHUNK);
    for (; t < end; t++) {
      const ct = c[t];
      const rt = f32(f32(y[t] - ct) - b);
      r[t] = rt;
      rss += rt * rt;
      total += ct;
      const tau = centre === 0 ? raw[t] : f32(raw[t] - centre);
      a += tau * tau;
      beta += rt * tau;
    }
  }
}

/** §5.2: unknown baseline, at most five steps of the offset u = b + λ(1−g) plus rebases. */
function solveUnknownBaseline(
  S: State,
  thresh: number,
  opts: Ar1Options,
): { b: number; lam: number } {
  const { y, m } = S;
  const P = S.pools;
  const rebase = (mean: number): number => (opts.bNonneg ? atLeast(mean, 0) : mean);
  const { r, aux: yb } = S;
  let b0 = f32(percentile(y, m, INITIAL_BASELINE_PERCENTILE, yb, r, S.ws.sums));
  if (opts.bNonneg && b0 < 0) b0 = 0;
  P.n = forwardPass(y, m, S.h, 0, P, S.e, b0);
  let b = rebase(reconstructMean(S, yb));
  let lam = f32(f32(b0 - b) / f32(1 - S.g));
  lastPoolCorrection(S, lam);
  let rss = residualForStep(S, b, r);
  let gConverged = false;
  for (let count = 0; count < MAX_ITER_BASELINE; ) {
    if (!(Math.abs(rss - thresh) > NOISE_TOL * thresh && lastTotalCalcium(S) > MIN_TOTAL_CALCIUM))
      break;
    count++;
    const g = S.g;
    const omg = f32(1 - g);
    const ws = S.ws;
    // residualForStep computed the centre of these very pools (nothing changed them since).
    const centre = ws.stepReady ? ws.stepCentre : tauCentre(S);
    const { a, beta } =
      ws.stepReady && Object.is(centre, ws.stepCentre)
        ? { a: ws.stepA, beta: ws.stepBeta }
        : tauProducts(S, r, centre);
    const gamma = f32(rss - thresh);
    let phi = noiseStep(a, beta, gamma);
    if (opts.bNonneg) phi = atLeast(phi, f32(-b / omg));
    b = f32(b + f32(phi * omg));
    if (S.m === null) {
      P.n = shiftRestartDense(S.h, P, S.e, phi, false);
    } else {
      for (let i = 0; i < P.n; i++) P.v[i] = f32(P.v[i] - f32(phi * shiftWeight(S, i)));
      P.n = warmRestart(S.h, 0, P, S.e, true);
    }
    const delta = f32(rebase(reconstructMean(S, yb)) - b);
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
    rss = residualForStep(S, b, r);
  }
  return { b, lam };
}

/**
 * §5.3 step 5: adopt a refined g. Rebuild h, recompute every pool from the data
 * (v = ⟨h, y_seg⟩ − (b/(1−g) + λ)(1 − g^ℓ), w = ⟨h, h⟩), subtract λ·g^ℓ more from the last pool,
 * warm restart and reconstruct.
 */
function adoptG(S: State, g: number, b: number, lam: number): void {
  S.ws.tauReady = false;
  S.ws.hG = Number.NaN; // h is rewritten below (exp/log powers, not powTable's)
  S.g = f32(g);
  const h = S.h;
  // The O(T) loops are functions of their own (see tauSums: OSR-compiled code would meet the
  // calls below without feedback and deoptimize on every call).
  clearTail(h, expPowers(S.g, h), S.ws);
  refitPools(S, h, f32(f32(b / f32(1 - S.g)) + lam));
  lastPoolCorrection(S, lam);
  const P = S.pools;
  P.n = warmRestart(h, 0, P, S.e, S.m !== null);
  reconstruct(P, S.g, 0, S.c);
}

/** h_k = fl32(exp(k·ln g)) up to the first 0 (§5.3 step 5); returns that k. */
function expPowers(g: number, h: Float64Array): number {
  const lnG = Math.log(g);
  let k = 0;
  for (; k < h.length; k++) {
    h[k] = f32(Math.exp(lnG * k));
    if (h[k] === 0) break;
  }
  return k;
}

/** Every pool's v, w, q recomputed from the data with the new h (§5.3 step 5). */
function refitPools(S: State, h: Float64Array, shift: number): void {
  const P = S.pools;
  const { y, m } = S;
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
}

/**
 * §5.4, s_min = 0: greedy spike addition. Candidates are the L1 jumps at pool starts, added in
 * decreasing size; each splits its pool and refits both halves until RSS < thresh.
 */
function greedyL0(S: State, yb: Float64Array, thresh: number): void {
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
  // RSS = fl32(yᵀy), then updated in float32 as each split goes (§5.4 step 4, §5.5): the stop
  // decision follows this running float32 value, whose rounding (an ulp of ‖y‖², not of the
  // residual) decides the last spike on long traces with drift. Each span's rᵀr is summed in
  // float64 and rounded once (CaImAn's OpenBLAS sdot summation order is not reproduced).
  // (The O(T) sum is its own function: code V8 compiles mid-loop there would otherwise enter the
  // split loop below without feedback for its calls and deoptimize on every call.)
  const sq = observedSumSquares(yb, m, T);
  let rss = f32(sq);
  // Float64 Σ r² (r = fl32(c − y), t order, from 0) of each current segment, keyed by the
  // candidate opening it (+1; 0 for the first segment): a span's RSS before its split is the sum
  // stored when it was made, so only the refit pass touches its frames. On c = 0 the first
  // segment's sum is sq (r = −y, the same products in the same order).
  const segSum = new Float64Array(nCand + 1);
  segSum[0] = sq;
  const sums = S.ws.sums;
  for (const i of order) {
    let lo = i - 1;
    while (lo >= 0 && active[lo] === 0) lo--;
    let hi = i + 1;
    while (hi < nCand && active[hi] === 0) hi++;
    const start = lo < 0 ? 0 : pos[lo];
    const end = hi >= nCand ? T : pos[hi];
    active[i] = 1;
    rss = f32(rss - f32(segSum[lo + 1]));
    if (m === null) {
      splitRefitDense(yb, h, c, start, pos[i], end, sums);
    } else {
      fitSegmentRss(yb, m, h, c, start, pos[i], 0, sums);
      const left = sums[0];
      fitSegmentRss(yb, m, h, c, pos[i], end, left, sums);
      sums[2] = sums[1];
      sums[1] = sums[0];
      sums[0] = left;
    }
    segSum[lo + 1] = sums[0];
    segSum[i + 1] = sums[1];
    // sums[2]: Σ r² over the whole span in t order, as one pass after both refits would sum it.
    rss = f32(rss + f32(sums[2]));
    if (rss < thresh) break;
  }
}

/** Σ over observed frames of yb_t², float64 in t order. */
function observedSumSquares(yb: Float64Array, m: Uint8Array | null, T: number): number {
  let sq = 0;
  for (let t = 0; t < T; t++) if (m === null || m[t] !== 0) sq += yb[t] * yb[t];
  return sq;
}

/**
 * Without gaps, the two {@link fitSegmentRss} calls of a split at `pos` in three loops instead of
 * four: the right half's ⟨h, y⟩, ⟨h, h⟩ sums run in the same loop as the left half's refit and
 * RSS (independent chains, each summed in its own t order, so the same values). sums[0], sums[1]:
 * Σ r² of the left and right half from 0; sums[2]: Σ r² over [start, end) in t order.
 */
function splitRefitDense(
  yb: Float64Array,
  h: Float64Array,
  c: Float64Array,
  start: number,
  pos: number,
  end: number,
  sums: Float64Array,
): void {
  const nL = pos - start;
  const nR = end - pos;
  let vL = 0;
  let wL = 0;
  for (let k = 0; k < nL; k++) {
    const hk = h[k];
    vL += hk * yb[start + k];
    wL += hk * hk;
  }
  const levelL = wL === 0 ? 0 : f32(nonneg(f32(vL)) / f32(wL));
  let ownL = 0;
  let vR = 0;
  let wR = 0;
  const both = Math.min(nL, nR);
  let k = 0;
  for (; k < both; k++) {
    const ct = f32(levelL * h[k]);
    c[start + k] = ct;
    const r = f32(ct - yb[start + k]);
    ownL += r * r;
    const hk = h[k];
    vR += hk * yb[pos + k];
    wR += hk * hk;
  }
  for (let j = k; j < nL; j++) {
    const ct = f32(levelL * h[j]);
    c[start + j] = ct;
    const r = f32(ct - yb[start + j]);
    ownL += r * r;
  }
  for (let j = k; j < nR; j++) {
    const hk = h[j];
    vR += hk * yb[pos + j];
    wR += hk * hk;
  }
  const levelR = wR === 0 ? 0 : f32(nonneg(f32(vR)) / f32(wR));
  let ownR = 0;
  let total = ownL;
  for (let j = 0; j < nR; j++) {
    const ct = f32(levelR * h[j]);
    c[pos + j] = ct;
    const r = f32(ct - yb[pos + j]);
    ownR += r * r;
    total += r * r;
  }
  sums[0] = ownL;
  sums[1] = ownR;
  sums[2] = total;
}

/**
 * Closed-form refit of one free-decay segment [start, end) (level max(0, ⟨h, y⟩)/⟨h, h⟩,
 * c = level·h_k), then over the observed frames of the refit span
 * r = fl32(c − y): sums[0] = Σ r² from 0 and sums[1] = carry + Σ r², both float64 in t order.
 */
function fitSegmentRss(
  yb: Float64Array,
  m: Uint8Array | null,
  h: Float64Array,
  c: Float64Array,
  start: number,
  end: number,
  carry: number,
  sums: Float64Array,
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
  let own = 0;
  let cont = carry;
  for (let t = start; t < end; t++) {
    const ct = f32(level * h[t - start]);
    c[t] = ct;
    if (m !== null && m[t] === 0) continue;
    const r = f32(ct - yb[t]); // residual r = c − y, a float32 array
    own += r * r;
    cont += r * r;
  }
  sums[0] = own;
  sums[1] = cont;
}

/** s₀ = 0, s_t = fl32(c_t − fl32(g·c_{t−1})) (§4 "Spikes"). */
function spikes(c: Float64Array, g: number, into?: Float64Array): Float64Array {
  const s = into ?? new Float64Array(c.length);
  if (c.length > 0) s[0] = 0;
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

/** out = fl32(y), 0 at gaps. */
function copyFloat32(y: ArrayLike<number>, m: Uint8Array | null, out: Float64Array): void {
  for (let t = 0; t < out.length; t++) out[t] = m !== null && m[t] === 0 ? 0 : f32(y[t]);
}

function makeState(
  y: ArrayLike<number>,
  g: number,
  weights?: Uint8Array | null,
  cOut?: Float64Array,
): State {
  const T = y.length;
  if (T === 0) throw new InvalidParameterError('y', 'an empty trace', 'at least one frame');
  const { m, nObs } = normaliseWeights(weights, T);
  const ws = workspace(T);
  const yf = ws.y.subarray(0, T);
  copyFloat32(y, m, yf);
  const g32 = f32(g);
  const h = ws.h.subarray(0, 2 * T + 1);
  // Same g as the last table (a given g is shared by every cell): h_k = fl32(g^k) does not depend
  // on T, so the table is reused when it covers 2T + 1 entries.
  if (!(ws.hG === g32 && ws.hValid >= h.length)) {
    powTable(g32, h, ws);
    ws.hG = g32;
    ws.hValid = h.length;
  }
  ws.pools.n = 0;
  ws.tauReady = false;
  ws.stepReady = false;
  return {
    y: yf,
    T,
    g: g32,
    h,
    pools: ws.pools,
    c: cOut === undefined ? new Float64Array(T) : cOut.fill(0),
    r: ws.r.subarray(0, T),
    aux: ws.aux.subarray(0, T),
    m,
    nObs,
    e: ws.e,
    ws,
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
  const S = makeState(y, g, opts.weights, opts.out?.c);
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
      S.pools.n = forwardPass(yb, S.m, S.h, theta, S.pools, S.e, 0);
      reconstruct(S.pools, S.g, theta, S.c);
    }
  }
  return { c: S.c, s: spikes(S.c, S.g, opts.out?.s), b, g: S.g, lam };
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
  S.pools.n = forwardPass(yt, S.m, S.h, f32(sMin), S.pools, S.e, 0);
  reconstruct(S.pools, S.g, f32(sMin), S.c);
  return { c: S.c, s: spikes(S.c, S.g) };
}

export type { Ar1Options, Ar1Result, Ar1State, Pools };
export { constrainedOasisAr1, oasisAr1 };
