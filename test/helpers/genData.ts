/**
 * CaImAn's test-trace generator `gen_data` (shared/golden/README.md, "How the traces were
 * made"; shared/docs/deconvolution-performance-anchor.md, "Benchmark inputs"), on numpy's
 * legacy stream (lib/deconvolution/legacyRandom.ts):
 *
 *   seed(seed);  S = rand(n, T) < firerate/framerate;
 *   C = S;  C_i += g₁·C_{i−1} (+ g₂·C_{i−2}) for i = 2…T−1  (index 1 is never updated);
 *   Y = b + C + sn·randn(n, T);  y = scale·Y + offset  (optionally fl32(fl32(y) + ramp)).
 *
 * All n·T uniforms are drawn first (row-major), then all n·T normals.
 */
import { legacyRandomState } from '../../lib/deconvolution/legacyRandom.js';

/** Parameters of {@link genData} (the golden `source` record of kind `gen_data`). */
interface GenDataOptions {
  /** AR coefficients (g₁) or (g₁, g₂). */
  g: readonly number[];
  /** Noise standard deviation. */
  sn: number;
  /** Frames per trace. */
  T: number;
  /** Baseline. */
  b: number;
  /** Spike rate in Hz. */
  firerate: number;
  /** Frame rate in Hz. */
  framerate: number;
  /** Legacy numpy seed. */
  seed: number;
  /** Number of traces (default 1). */
  n?: number;
  /** Multiplier applied after the noise (default 1). */
  scale?: number;
  /** Offset added after the scale (default 0). */
  offset?: number;
  /**
   * End value of a ramp r = numpy `linspace(0, drift, T)` added as the golden `edge/linear_drift`
   * case does (drift 3): y = fl32(fl32(y) + r), so y is then float32-valued.
   */
  drift?: number;
}

/** Output of {@link genData}: float64 traces and the ground truth, one entry per trace. */
interface GenDataResult {
  /** Fluorescence y = scale·(b + C + sn·noise) + offset (cast to float32 for float32 cases). */
  y: Float64Array[];
  /** True calcium C. */
  calcium: Float64Array[];
  /** True spikes S (1 where a spike fired). */
  spikes: Uint8Array[];
}

/**
 * CaImAn's `gen_data` on the legacy numpy stream.
 * @param options - generator parameters
 */
function genData(options: GenDataOptions): GenDataResult {
  const { g, sn, T, b, firerate, framerate, seed } = options;
  const n = options.n ?? 1;
  const scale = options.scale ?? 1;
  const offset = options.offset ?? 0;
  const drift = options.drift ?? 0;
  const step = T > 1 ? drift / (T - 1) : 0;
  const rng = legacyRandomState(seed);
  const rate = firerate / framerate;
  const spikes: Uint8Array[] = [];
  const calcium: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    const s = new Uint8Array(T);
    const c = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      s[t] = rng.randomSample() < rate ? 1 : 0;
      c[t] = s[t];
    }
    for (let t = 2; t < T; t++) {
      c[t] += g.length > 1 ? g[0] * c[t - 1] + g[1] * c[t - 2] : g[0] * c[t - 1];
    }
    spikes.push(s);
    calcium.push(c);
  }
  const y: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    const trace = new Float64Array(T);
    const c = calcium[k];
    for (let t = 0; t < T; t++) {
      const value = b + c[t] + sn * rng.standardNormal();
      trace[t] = scale === 1 && offset === 0 ? value : scale * value + offset;
      if (drift !== 0)
        trace[t] = Math.fround(Math.fround(trace[t]) + (t === T - 1 ? drift : t * step));
    }
    y.push(trace);
  }
  return { y, calcium, spikes };
}

/** Seeds and kernels of the benchmark sets (anchor doc, "Benchmark inputs"). */
const BENCH_KERNELS = { 1: [0.95], 2: [1.7, -0.71] } as const;

/**
 * The anchor's benchmark traces: gen_data with b = 10, sn = 0.3, firerate 0.5, framerate 30,
 * seed 1000 + T (p = 1, g = 0.95) or 2000 + T (p = 2, g = (1.7, −0.71)), cast to float32.
 * @param p - 1 or 2
 * @param n - number of traces
 * @param T - frames per trace
 * @returns n float32 traces, views into one contiguous row-major n × T buffer
 */
function genBenchTraces(p: 1 | 2, n: number, T: number): Float32Array[] {
  const { y } = genData({
    g: BENCH_KERNELS[p],
    sn: 0.3,
    T,
    b: 10,
    firerate: 0.5,
    framerate: 30,
    seed: (p === 1 ? 1000 : 2000) + T,
    n,
  });
  const data = new Float32Array(n * T);
  const traces: Float32Array[] = [];
  for (let k = 0; k < n; k++) {
    data.set(y[k], k * T);
    traces.push(data.subarray(k * T, (k + 1) * T));
  }
  return traces;
}

export type { GenDataOptions, GenDataResult };
export { genBenchTraces, genData };
