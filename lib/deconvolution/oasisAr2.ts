/**
 * AR(2) spike inference as CaImAn's `constrained_oasisAR2` computes it
 * (deconvolution-algorithms.md §6; Friedrich & Paninski, NIPS 2016):
 *
 *   minimise ½‖c − ỹ‖² + λ·Σ_t s_t  subject to  s_t = c_t − g₁c_{t−1} − g₂c_{t−2} ≥ 0,
 *
 * with ỹ = y − b. The calcium is c = K s, K the lower-triangular Toeplitz matrix of the
 * kernel h_k = (d^{k+1} − r^{k+1})/(d − r) (or (k+1)·d^{k+1} for a double root), where
 * d, r = (g₁ ± √(g₁² + 4g₂))/2 are the decay and rise roots.
 *
 * 1. Warm start (§6.2): the 5× decimated trace is solved as AR(1) with kernel d⁵; this
 *    gives the baseline b and λ, and a full-resolution AR(1) pass gives the candidate mask.
 * 2. Windowed NNLS (§6.3, §6.4): s is solved window by window (w = window frames, shift
 *    Δ = 100) as min ½‖K s − ỹ‖², s ≥ 0 on the mask, with the same K for every window.
 * 3. One baseline update (§6.5, max_iter = 1) and the optional L0 refit (§6.5.4).
 *
 * Apart from the decimated AR(1) call (float32, in oasisAr1) everything is float64.
 *
 * Speed (same optimum as CaImAn's dense per-window LU, to rounding):
 * - within a window K = scale·A⁻¹ (A the banded AR(2) matrix), so KᵀK is never formed: the
 *   least squares on a passive set is a chain of AR(2) segments, solved in O(|P|) by a
 *   Riccati sweep, and the NNLS gradient Kᵀ(ỹ − K s) is O(m) from the same segment tables
 *   (ar2Segments.ts, tabulated once per trace); Kᵀỹ is an O(w) recursion;
 * - the committed update ỹ −= K[:, 0:Δ]·s touches only the frames later windows read, as the
 *   free evolution of one AR(2) state (O(w), no recursion), and c is O(T);
 * - frames that enter a window for the first time are warm-started from the AR(1)
 *   candidate spikes that are local maxima (each window's optimum is unique: only the
 *   path changes);
 * - windows with an empty mask are skipped;
 * - the window buffers and the per-trace scratch (ỹ, mask, seed, y − b) are kept for the
 *   next trace of the same window size / at most the same length (fewer GC pauses).
 *
 * Observation weights (beyond CaImAn): frames with weight 0 are gaps and carry no data.
 * Windows that contain a gap use weighted least squares: KᵀWK is built and solved by the
 * same active-set path with an incremental Cholesky factor (nnls.ts); decimated blocks
 * average their observed frames. Null or all-one weights take the plain path unchanged.
 */
import { DeconvolutionError, InvalidParameterError } from '../errors.js';
import { Ar2SegmentSolver } from './ar2Segments.js';
import { estimateTimeConstant } from './arEstimation.js';
import type { NnlsWorkspace } from './nnls.js';
import { activeSetNnls, createNnlsWorkspace, NNLS_TOL, nnlsGram } from './nnls.js';
import { getSn } from './noise.js';
import { constrainedOasisAr1, oasisAr1 } from './oasisAr1.js';

/** §6 fixed settings. */
const DECIMATE = 5;
const SHIFT = 100;
const MIN_WINDOW = 200;
/** §6.5.4: L0 candidates are spikes above this size. */
const L0_CANDIDATE_MIN = 1e-6;
/** §6.5.4: final zeroing threshold (float32 epsilon). */
const L0_ZERO_BELOW = 1.1920929e-7;
const L0_FACTORS = [0.7, 0.8, 0.9, 1.0] as const;

/** Options of {@link constrainedOasisAr2} (CaImAn's keyword arguments). */
interface Ar2Options {
  /** Estimate the baseline (bl not given). */
  optimizeB: boolean;
  /** Keep the baseline ≥ 0. */
  bNonneg: boolean;
  /** Number of isolated events for the decimated AR(1) g optimisation (0 = off, §6.2.3). */
  optimizeG: number;
  /** 1 = L1 (s_min null), 0 = L0 post-processing with s_min. */
  penalty: 0 | 1;
  /** L0 threshold: 0 automatic, > 0 minimum spike, < 0 |s_min|·sn·√(1 − d). */
  sMin: number | null;
  /** Per-frame weights: 1 observed, 0 gap. Null = all observed. */
  weights?: Uint8Array | null;
  /**
   * @internal Test oracle: solve every window with a gap by the dense weighted Gram KᵀWK
   * (Cholesky) instead of the segment sweep of ar2Segments.ts (6)–(8). Same optimum.
   */
  denseGaps?: boolean;
  /** @internal Test counters of the windowed NNLS (§6.3–§6.4), added to when given. */
  stats?: NnlsStats;
}

/** Counters of the windowed NNLS: blocks solved (non-empty mask) and active-set iterations. */
interface NnlsStats {
  /** NNLS blocks solved (windows and tail with a non-empty mask). */
  blocks: number;
  /** Outer active-set iterations over all blocks. */
  iterations: number;
  /** Most outer iterations of one block. */
  maxIterations: number;
}

/** Result of {@link constrainedOasisAr2}. */
interface Ar2Result {
  /** Calcium (baseline excluded, initial transient still included). */
  c: Float64Array;
  /** Activity s. */
  s: Float64Array;
  /** Baseline after the single update (0 when not optimised). */
  b: number;
  /** AR coefficients used (changed only by optimize_g). */
  g: [number, number];
  /** Sparsity weight λ after the baseline update. */
  lam: number;
  /** Decay root d = (g₁ + √(g₁² + 4g₂))/2 of the returned g (for the c1 removal). */
  d: number;
}

/**
 * Decay and rise roots d, r = (g₁ ± √(g₁² + 4g₂))/2 (§6.1), checked as CaImAn checks them:
 * real roots and d > 0, d ≠ 1 (ln d in the window size).
 *
 * @throws DeconvolutionError with code 'Ar2Roots'
 */
function ar2Roots(g1: number, g2: number): { d: number; r: number } {
  const disc = g1 * g1 + 4 * g2;
  if (!(disc >= 0)) {
    throw new DeconvolutionError(
      `AR(2) coefficients g = [${g1}, ${g2}] have complex roots: expected g1² + 4·g2 ≥ 0, got ${disc}`,
      'Ar2Roots',
    );
  }
  const root = Math.sqrt(disc);
  const d = (g1 + root) / 2;
  const r = (g1 - root) / 2;
  if (!(d > 0) || d === 1) {
    throw new DeconvolutionError(
      `AR(2) coefficients g = [${g1}, ${g2}] give decay root d = ${d}: expected 0 < d ≠ 1 (ln d sets the window)`,
      'Ar2Roots',
    );
  }
  return { d, r };
}

/**
 * g11_k for k = 1…n (§6.1), stored at index k − 1: (d^k − r^k)/(d − r), or k·d^k when d = r.
 *
 * @throws DeconvolutionError when d ≠ r and r ≤ 0 (ln r does not exist)
 */
function ar2Kernel(g1: number, g2: number, d: number, r: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const ld = Math.log(d);
  if (d === r) {
    for (let k = 1; k <= n; k++) out[k - 1] = k * Math.exp(k * ld);
    return out;
  }
  if (!(r > 0)) {
    throw new DeconvolutionError(
      `AR(2) coefficients g = [${g1}, ${g2}] give rise root r = ${r}: expected 0 < r (g2 < 0 with real roots)`,
      'Ar2Roots',
    );
  }
  const lr = Math.log(r);
  const inv = 1 / (d - r);
  for (let k = 1; k <= n; k++) out[k - 1] = (Math.exp(k * ld) - Math.exp(k * lr)) * inv;
  return out;
}

/** §6.2.1: float32 block means of 5 frames (observed frames only when weighted). */
function decimateTrace(
  y: Float32Array | Float64Array,
  weights: Uint8Array | null,
): { ybar: Float32Array; wbar: Uint8Array | null } {
  const n = Math.floor(y.length / DECIMATE);
  const ybar = new Float32Array(n);
  const wbar = weights ? new Uint8Array(n) : null;
  for (let j = 0; j < n; j++) {
    let sum = 0;
    let count = 0;
    for (let q = 0; q < DECIMATE; q++) {
      const t = j * DECIMATE + q;
      if (weights && weights[t] === 0) continue;
      sum = Math.fround(sum + Math.fround(y[t]));
      count++;
    }
    if (wbar) wbar[j] = count > 0 ? 1 : 0;
    ybar[j] = count > 0 ? Math.fround(sum / count) : 0;
  }
  return { ybar, wbar };
}

/**
 * §6.2.6: frames with s_t > max(s)/10, widened by ±2 and clipped to [0, T). Also returns
 * those AR(1) spikes (0 elsewhere) as a feasible NNLS warm start.
 */
function candidateMask(s: Float64Array, mask: Uint8Array, seed: Float64Array): void {
  const T = s.length;
  mask.fill(0);
  let smax = Number.NEGATIVE_INFINITY;
  for (let t = 0; t < T; t++) if (s[t] > smax) smax = s[t];
  const cut = smax / 10;
  for (let t = 0; t < T; t++) {
    seed[t] = 0;
    if (s[t] > cut) {
      // Only the local maxima seed the NNLS: fewer wrong guesses to drop (same optimum).
      if ((t === 0 || s[t] >= s[t - 1]) && (t === T - 1 || s[t] >= s[t + 1])) seed[t] = s[t];
      const lo = Math.max(0, t - 2);
      const hi = Math.min(T - 1, t + 2);
      for (let q = lo; q <= hi; q++) mask[q] = 1;
    }
  }
}

/** Per-trace scratch: ỹ, mask, seed and y − b (float32). */
interface TraceScratch {
  yt: Float64Array;
  seed: Float64Array;
  mask: Uint8Array;
  yb: Float32Array;
}

/** Scratch kept for the next trace (fewer large allocations, hence fewer GC pauses). */
let scratch: TraceScratch | null = null;

/** Scratch views of length T (contents undefined: callers overwrite every entry). */
function traceScratch(T: number): TraceScratch {
  if (!scratch || scratch.yt.length < T) {
    scratch = {
      yt: new Float64Array(T),
      seed: new Float64Array(T),
      mask: new Uint8Array(T),
      yb: new Float32Array(T),
    };
  }
  return {
    yt: scratch.yt.subarray(0, T),
    seed: scratch.seed.subarray(0, T),
    mask: scratch.mask.subarray(0, T),
    yb: scratch.yb.subarray(0, T),
  };
}

/**
 * The window kernel as an AR(2) filter: K = scale·A⁻¹ with (A c)_t = c_t − g₁c_{t−1} − g₂c_{t−2}
 * (scale 1 for distinct roots, d for the double root, whose g11 is scaled by d, §6.1).
 * So K·x is a forward and Kᵀ·x a backward recursion, O(w) each.
 */
interface Ar2Filter {
  g1: number;
  g2: number;
  scale: number;
}

/** Buffers of the windowed NNLS, kept for the next trace of the same window size. */
interface WindowBuffers {
  /** Window frame of each masked variable. */
  pos: Int32Array;
  /** The block's variables (s at pos). */
  sc: Float64Array;
  /** Least squares on P and ℓ for the unweighted windows. */
  segments: Ar2SegmentSolver;
  /** KᵀWỹ of a window with a gap (dense path). */
  rhs: Float64Array;
  /** ident[a] = a (the weighted Gram block is already masked). */
  ident: Int32Array;
  /** KᵀWK of a window with a gap (m × m for its m masked frames), grown as needed. */
  wgram: Float64Array | null;
  ws: NnlsWorkspace;
}

/**
 * One NNLS block (§6.3 step 4.1 or 5): variables at frames start + j, j < n, that are in
 * the mask, with the kernel matrix K[:n,:n] (whose Gram matrix is the lower-right n × n
 * block of KᵀK) and right-hand side K[:n,:n]ᵀ·ỹ[start:start+n], solved segment by segment
 * (ar2Segments.ts (1)–(5)). With a gap in the block, the weighted problem KᵀWK, KᵀWỹ is
 * solved segment by segment too (ar2Segments.ts (6)–(8)); with `dense` (test oracle) the
 * weighted Gram is built and solved by Cholesky (nnls.ts) instead. Returns the number of
 * active-set iterations (0 for an empty mask).
 */
function solveBlock(
  yt: Float64Array,
  s: Float64Array,
  mask: Uint8Array,
  weights: Uint8Array | null,
  h: Float64Array,
  start: number,
  n: number,
  buf: WindowBuffers,
  dense: boolean,
): number {
  const { pos, sc } = buf;
  // The masked frames (branch-free: mask is 0 or 1).
  let m = 0;
  for (let j = 0; j < n; j++) {
    pos[m] = j;
    m += mask[start + j];
  }
  if (m === 0) return 0;
  let gap = false;
  if (weights) {
    for (let k = 0; k < n; k++) {
      if (weights[start + k] === 0) {
        gap = true;
        break;
      }
    }
  }
  for (let a = 0; a < m; a++) sc[a] = s[start + pos[a]];
  let iterations: number;
  if (!gap) {
    buf.segments.setWindow(yt, start, n, pos, m);
    iterations = activeSetNnls(m, sc, buf.segments, buf.ws);
  } else if (!dense) {
    buf.segments.setWindow(yt, start, n, pos, m, weights);
    iterations = activeSetNnls(m, sc, buf.segments, buf.ws);
  } else {
    iterations = solveDense(yt, weights as Uint8Array, h, start, n, m, buf);
  }
  // Frames off the mask are never set, so they are still 0.
  for (let a = 0; a < m; a++) s[start + pos[a]] = sc[a];
  return iterations;
}

/**
 * The weighted block of {@link solveBlock} by the dense path: KᵀWK and KᵀWỹ on the m masked
 * frames buf.pos, NNLS by Cholesky, warm start and solution in buf.sc. Returns the iterations.
 */
function solveDense(
  yt: Float64Array,
  wts: Uint8Array,
  h: Float64Array,
  start: number,
  n: number,
  m: number,
  buf: WindowBuffers,
): number {
  const { pos, rhs, sc } = buf;
  // KᵀWK on the m masked frames only (m ≪ w for a sparse mask, so not w × w).
  if (!buf.wgram || buf.wgram.length < m * m) buf.wgram = new Float64Array(m * m);
  const wg = buf.wgram;
  for (let a = 0; a < m; a++) {
    const j = pos[a];
    let v = 0;
    for (let k = j; k < n; k++) if (wts[start + k] === 1) v += h[k - j] * yt[start + k];
    rhs[a] = v;
    for (let q = a; q < m; q++) {
      const jq = pos[q];
      let gv = 0;
      for (let k = jq; k < n; k++) if (wts[start + k] === 1) gv += h[k - j] * h[k - jq];
      wg[a * m + q] = gv;
      wg[q * m + a] = gv;
    }
  }
  return nnlsGram(wg, m, buf.ident, m, rhs, sc, buf.ws);
}

/** Buffers of the last window size, reused by the next trace (every field is rewritten before use). */
let cachedBuffers: WindowBuffers | null = null;

/** Window buffers for window size w (reused across traces of the same w). */
function windowBuffers(w: number): WindowBuffers {
  if (cachedBuffers && cachedBuffers.pos.length === w) return cachedBuffers;
  const ident = new Int32Array(w);
  for (let a = 0; a < w; a++) ident[a] = a;
  cachedBuffers = {
    pos: new Int32Array(w),
    sc: new Float64Array(w),
    segments: new Ar2SegmentSolver(w),
    rhs: new Float64Array(w),
    ident,
    wgram: null,
    ws: createNnlsWorkspace(w),
  };
  return cachedBuffers;
}

/**
 * §6.3 `onnls`: windowed NNLS of ỹ on the mask. Returns s (length T). ỹ is consumed: each
 * window's committed spikes are subtracted only from the frames later windows read.
 */
function windowedNnls(
  yt: Float64Array,
  mask: Uint8Array,
  weights: Uint8Array | null,
  h: Float64Array,
  filter: Ar2Filter,
  w: number,
  seed: Float64Array,
  dense: boolean,
  stats: NnlsStats | null,
): Float64Array {
  const T = yt.length;
  const s = new Float64Array(T);
  const shift = Math.min(w, SHIFT);
  const buf = windowBuffers(w);
  const { g1, g2, scale } = filter;
  buf.segments.setKernel(g1, g2, scale);
  const end = Math.max(1, T - w);
  let i = 0;
  let last = 0;
  for (; i < end; i += shift) {
    last = i;
    // Warm start of the frames no earlier window has seen (the unique optimum is unchanged):
    // they are still 0, and the seed is 0 off the mask.
    const from = i === 0 ? 0 : i + w - shift;
    s.set(seed.subarray(from, i + w), from);
    count(stats, solveBlock(yt, s, mask, weights, h, i, w, buf, dense));
    // §6.3 step 4.2: ỹ[i:i+w] −= K[:, 0:Δ]·s[i:i+Δ]; frames before i + Δ are never read again.
    buf.segments.subtractCommitted(yt, s, i, shift, w);
  }
  const tailStart = last + shift;
  const n = T - tailStart;
  if (n > 0) {
    const from = Math.max(tailStart, last + w);
    if (from < T) s.set(seed.subarray(from, T), from);
    count(stats, solveBlock(yt, s, mask, weights, h, tailStart, n, buf, dense));
  }
  return s;
}

/** Adds one block's iterations to the test counters (a block with an empty mask takes 0). */
function count(stats: NnlsStats | null, iterations: number): void {
  if (!stats || iterations === 0) return;
  stats.blocks++;
  stats.iterations += iterations;
  if (iterations > stats.maxIterations) stats.maxIterations = iterations;
}

/**
 * §6.3 step 6: c_τ = Σ_{s_t > 1e-9, τ−w < t ≤ τ} s_t·h_{τ−t} (kernel truncated at w).
 * For a decaying kernel (d < 1) this is the AR(2) recursion of the full convolution minus
 * that of the expired part, both O(T), using h_k = g₁h_{k−1} + g₂h_{k−2} (k ≥ 2):
 *   f_τ = g₁f_{τ−1} + g₂f_{τ−2} + h₀x_τ + (h₁ − g₁h₀)x_{τ−1},
 *   e_τ = g₁e_{τ−1} + g₂e_{τ−2} + h_w·x_{τ−w} + g₂h_{w−1}·x_{τ−w−1},  c = f − e.
 * Otherwise (exploding kernels) the direct O(T·w) sum.
 */
function calciumFromSpikes(
  s: Float64Array,
  h: Float64Array,
  w: number,
  filter: Ar2Filter,
  d: number,
): Float64Array {
  const T = s.length;
  const c = new Float64Array(T);
  if (!(d < 1) || w < 2) {
    for (let t = 0; t < T; t++) {
      const st = s[t];
      if (!(st > NNLS_TOL)) continue;
      const kmax = Math.min(w, T - t);
      for (let k = 0; k < kmax; k++) c[t + k] += st * h[k];
    }
    return c;
  }
  const { g1, g2 } = filter;
  const h0 = h[0];
  const h1 = h[1] - g1 * h[0];
  const hw = g1 * h[w - 1] + g2 * h[w - 2];
  const hw1 = g2 * h[w - 1];
  let f1 = 0;
  let f2 = 0;
  let e1 = 0;
  let e2 = 0;
  // x_t = s_t where s_t > 1e-9, else 0; xPrev = x_{t−1}, xw/xw1 = x_{t−w}, x_{t−w−1}.
  let xPrev = 0;
  let xw1 = 0;
  for (let t = 0; t < T; t++) {
    const st = s[t];
    const xt = st > NNLS_TOL ? st : 0;
    let xw = 0;
    if (t >= w) {
      const sw = s[t - w];
      xw = sw > NNLS_TOL ? sw : 0;
    }
    // g₁·(previous) added last: the dependency chain is one multiply-add per frame.
    const f = h0 * xt + h1 * xPrev + g2 * f2 + g1 * f1;
    const e = hw * xw + hw1 * xw1 + g2 * e2 + g1 * e1;
    xPrev = xt;
    xw1 = xw;
    c[t] = f - e;
    f2 = f1;
    f1 = f;
    e2 = e1;
    e1 = e;
  }
  return c;
}

/** Inputs of the L0 pool refit (§6.5.4), fixed for one trace. */
interface RefitContext {
  /** y′ = y − b. */
  yp: Float64Array;
  weights: Uint8Array | null;
  /** a_j = g11_{j+1}. */
  a: Float64Array;
  /** e_j = g₂·a_{j−1}, e₀ = 0. */
  e: Float64Array;
  /** A_j = Σ_{i≤j} a_i². */
  A: Float64Array;
  /** B_j = Σ_{i≤j} a_i·e_i. */
  B: Float64Array;
  d: number;
}

/**
 * Pool refit with threshold θ (§6.5.4): pools start where s > θ; the first pool is pure
 * d-decay, later ones follow the AR(2) free evolution from (c_{f−1}, c_f). Writes c and
 * returns the RSS ‖y′ − c‖² (observed frames only).
 */
function l0Refit(ctx: RefitContext, s: Float64Array, theta: number, c: Float64Array): number {
  const { yp, weights, a, e, A, B, d } = ctx;
  const T = yp.length;
  c.fill(0);
  let f = 0;
  while (f < T && !(s[f] > theta)) f++;
  let num = 0;
  let den = 0;
  let dk = 1;
  for (let k = 0; k < f; k++) {
    if (!weights || weights[k] === 1) {
      num += dk * yp[k];
      den += dk * dk;
    }
    dk *= d;
  }
  const level = weights ? (den > 0 ? num / den : 0) : (num * (1 - d * d)) / (1 - d ** (2 * f));
  const lv = Number.isNaN(level) ? 0 : Math.max(level, 0);
  dk = 1;
  for (let k = 0; k < f; k++) {
    c[k] = lv * dk;
    dk *= d;
  }
  while (f < T) {
    let next = f + 1;
    while (next < T && !(s[next] > theta)) next++;
    const len = next - f;
    const cprev = c[f === 0 ? T - 1 : f - 1];
    let ay = 0;
    let cf: number;
    if (!weights) {
      for (let j = 0; j < len; j++) ay += a[j] * yp[f + j];
      cf = (ay - B[len - 1] * cprev) / A[len - 1];
    } else {
      let aa = 0;
      let ae = 0;
      for (let j = 0; j < len; j++) {
        if (weights[f + j] === 0) continue;
        ay += a[j] * yp[f + j];
        aa += a[j] * a[j];
        ae += a[j] * e[j];
      }
      cf = aa > 0 ? (ay - ae * cprev) / aa : 0;
    }
    c[f] = cf;
    for (let j = 1; j < len; j++) c[f + j] = a[j] * cf + e[j] * cprev;
    f = next;
  }
  let rss = 0;
  for (let t = 0; t < T; t++) {
    if (weights && weights[t] === 0) continue;
    const r = yp[t] - c[t];
    rss += r * r;
  }
  return rss;
}

/** s = (0, 0, c₂ − g₁c₁ − g₂c₀, …) (§6.5.4). */
function spikesFromCalcium(c: Float64Array, g1: number, g2: number, s: Float64Array): void {
  const T = c.length;
  if (T > 0) s[0] = 0;
  if (T > 1) s[1] = 0;
  for (let t = 2; t < T; t++) s[t] = c[t] - g1 * c[t - 1] - g2 * c[t - 2];
}

/** §6.5.4: L0 stage. Returns the new c and overwrites s. */
function l0Stage(
  ctx: RefitContext,
  c: Float64Array,
  s: Float64Array,
  g1: number,
  g2: number,
  sMin: number,
  sn: number,
  thresh: number,
): Float64Array {
  const T = c.length;
  let out = c;
  if (sMin === 0) {
    let n = 0;
    for (let t = 0; t < T; t++) if (s[t] > L0_CANDIDATE_MIN) n++;
    const sizes = new Float64Array(n);
    n = 0;
    for (let t = 0; t < T; t++) if (s[t] > L0_CANDIDATE_MIN) sizes[n++] = s[t];
    sizes.sort();
    if (n > 0) {
      const trial = new Float64Array(T);
      const best = new Float64Array(T);
      let lo = 0;
      let hi = n - 1;
      let i = Math.floor(hi / 2);
      for (;;) {
        const rss = l0Refit(ctx, s, sizes[i], trial);
        if (rss < thresh) {
          best.set(trial);
          lo = i;
          if (i === hi) break;
          i = Math.floor((lo + hi + 1) / 2);
        } else {
          if (i === hi || i === 0) break;
          hi = i;
          i = Math.floor((lo + hi) / 2);
        }
      }
      if (i > 0) {
        out = best;
        spikesFromCalcium(out, g1, g2, s);
      }
    }
  } else {
    const theta = sMin > 0 ? sMin : Math.abs(sMin) * sn * Math.sqrt(1 - ctx.d);
    out = new Float64Array(T);
    for (const factor of L0_FACTORS) {
      l0Refit(ctx, s, factor * theta, out);
      spikesFromCalcium(out, g1, g2, s);
    }
  }
  for (let t = 0; t < T; t++) if (s[t] < L0_ZERO_BELOW) s[t] = 0;
  return out;
}

/** Weights that mark at least one gap, else null (so all-one weights take the plain path). */
function effectiveWeights(weights: Uint8Array | null | undefined, T: number): Uint8Array | null {
  if (!weights) return null;
  if (weights.length !== T) {
    throw new InvalidParameterError(
      'weights',
      `Uint8Array(${weights.length})`,
      `one 0/1 weight per frame (length ${T})`,
    );
  }
  for (let t = 0; t < T; t++) if (weights[t] === 0) return weights;
  return null;
}

/**
 * CaImAn's `constrained_oasisAR2` (§6) with decimate 5, shift 100, max_iter 1.
 *
 * @param y - fl32(trace), or fl32(trace − bl) with optimizeB false
 * @param g - AR coefficients [g₁, g₂] (float64)
 * @param sn - noise standard deviation
 * @param opts - baseline, g optimisation and penalty options
 * @returns c (initial transient not yet removed), s, b, g, λ and the decay root d
 * @throws DeconvolutionError where CaImAn raises: complex roots, d ≤ 0, r ≤ 0 with
 *   distinct roots, T < 5
 */
function constrainedOasisAr2(
  y: Float32Array | Float64Array,
  g: [number, number],
  sn: number,
  opts: Ar2Options,
): Ar2Result {
  const T = y.length;
  let g1 = g[0];
  let g2 = g[1];
  if (g.length < 2 || !Number.isFinite(g1) || !Number.isFinite(g2)) {
    throw new DeconvolutionError(
      `AR(2) needs two finite coefficients: got g = [${g.join(', ')}]`,
      'Ar2Roots',
    );
  }
  let { d, r } = ar2Roots(g1, g2);
  const window = Math.floor(Math.min(T, Math.max(MIN_WINDOW, -5 / Math.log(d))));
  // L1 needs the kernel over one window only; the L0 refit needs all T terms.
  const kernelLength = opts.penalty === 0 ? T : window;
  let g11 = ar2Kernel(g1, g2, d, r, kernelLength);
  if (T < DECIMATE) {
    throw new DeconvolutionError(
      `AR(2) needs at least ${DECIMATE} frames (the ${DECIMATE}× decimated trace is empty): got T = ${T}`,
      'TraceTooShort',
    );
  }
  const weights = effectiveWeights(opts.weights, T);
  const { ybar, wbar } = decimateTrace(y, weights);
  const ar1 = constrainedOasisAr1(ybar, Math.fround(d ** DECIMATE), sn / Math.sqrt(DECIMATE), {
    optimizeB: opts.optimizeB,
    bNonneg: opts.bNonneg,
    optimizeG: opts.optimizeG,
    penalty: 1,
    sMin: 0,
    weights: wbar,
  });
  let b = ar1.b;
  const a = ar1.g;
  const lam1 = ar1.lam;
  const { yt, mask, seed, yb } = traceScratch(T);
  if (weights) for (let t = 0; t < T; t++) yb[t] = weights[t] === 0 ? 0 : y[t] - b;
  else for (let t = 0; t < T; t++) yb[t] = y[t] - b;
  let sAr1: Float64Array;
  if (opts.optimizeG > 0) {
    d = a ** (1 / DECIMATE);
    sAr1 = oasisAr1(yb, d, (lam1 * (1 - a)) / (1 - d), 0, weights).s;
    const s32 = Float32Array.from(sAr1);
    const snS = getSn(s32, [0.25, 0.5], 'logmexp');
    r = estimateTimeConstant(s32, 1, snS, 5, 0.98)[0];
    g1 = d + r;
    g2 = -d * r;
    if (!(r > 0)) {
      throw new DeconvolutionError(
        `optimize_g gave rise root r = ${r} for g = [${g1}, ${g2}]: expected 0 < r`,
        'Ar2Roots',
      );
    }
    g11 = ar2Kernel(g1, g2, d, r, kernelLength);
  } else {
    sAr1 = oasisAr1(yb, Math.fround(d), (lam1 * (1 - a)) / (1 - d), 0, weights).s;
  }
  const fLam = 1 - g1 - g2;
  let lam = (lam1 * (1 - d ** DECIMATE)) / fLam;
  candidateMask(sAr1, mask, seed);
  if (opts.bNonneg && b < 0) b = 0;

  // §6.3 step 3: ỹ = (y − b) − λ·f_λ, last two frames λ(1 − g₁) and λ.
  const off = lam * fLam;
  if (weights) for (let t = 0; t < T; t++) yt[t] = weights[t] === 0 ? 0 : y[t] - b - off;
  else for (let t = 0; t < T; t++) yt[t] = y[t] - b - off;
  if (T >= 2) yt[T - 2] = weights && weights[T - 2] === 0 ? 0 : y[T - 2] - b - lam * (1 - g1);
  yt[T - 1] = weights && weights[T - 1] === 0 ? 0 : y[T - 1] - b - lam;
  const w = Math.min(T, window);
  const h = g11.subarray(0, w);
  const filter: Ar2Filter = { g1, g2, scale: d === r ? d : 1 };
  const s = windowedNnls(
    yt,
    mask,
    weights,
    h,
    filter,
    w,
    seed,
    opts.denseGaps === true,
    opts.stats ?? null,
  );
  let c = calciumFromSpikes(s, h, w, filter, d);

  let nObs = T;
  if (opts.optimizeB) {
    let sum = 0;
    nObs = 0;
    for (let t = 0; t < T; t++) {
      if (weights && weights[t] === 0) continue;
      sum += y[t] - c[t];
      nObs++;
    }
    const mean = sum / nObs;
    const floor = opts.bNonneg ? 0 : Number.NEGATIVE_INFINITY;
    const delta = Math.max(mean, floor) - b;
    b += delta;
    lam -= delta / fLam;
  } else if (weights) {
    nObs = 0;
    for (let t = 0; t < T; t++) if (weights[t] === 1) nObs++;
  }

  if (opts.penalty === 0) {
    const yp = new Float64Array(T);
    for (let t = 0; t < T; t++) yp[t] = weights && weights[t] === 0 ? 0 : y[t] - b;
    const aK = g11;
    const e = new Float64Array(T);
    const A = new Float64Array(T);
    const B = new Float64Array(T);
    let accA = 0;
    let accB = 0;
    for (let j = 0; j < T; j++) {
      e[j] = j === 0 ? 0 : g2 * aK[j - 1];
      accA += aK[j] * aK[j];
      accB += aK[j] * e[j];
      A[j] = accA;
      B[j] = accB;
    }
    const ctx: RefitContext = { yp, weights, a: aK, e, A, B, d };
    c = l0Stage(ctx, c, s, g1, g2, opts.sMin ?? 0, sn, sn * sn * nObs);
  }
  const dOut = (g1 + Math.sqrt(g1 * g1 + 4 * g2)) / 2;
  return { c, s, b, g: [g1, g2], lam, d: dOut };
}

export type { Ar2Options, Ar2Result, NnlsStats };
export { ar2Kernel, ar2Roots, constrainedOasisAr2 };
