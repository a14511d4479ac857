/**
 * Engine warm-up for a worker thread. V8 runs a function in its interpreter until it has counted
 * enough calls and loop iterations to compile it; the solver's loops over a 36 000-frame trace
 * run about 20× slower there, so a thread's first traces cost about 0.1–0.2 s more than the same
 * traces later (issue 14). A worker deconvolves a few short synthetic traces as soon as it starts,
 * while the main thread plans the job, so the solver is compiled when its first chunk arrives.
 * (On a thread that has nothing else to wait for the warm-up gains nothing: measured, it costs
 * as much CPU as it saves on the first real traces. So only workers run it.)
 *
 * The traces are AR(1) calcium shaped like the anchor's benchmark traces
 * (deconvolution-performance-anchor.md: g = 0.95, sn = 0.3, baseline 10, 0.5/30 spikes per
 * frame), float32 as cell sets are read, from a seeded stream. The engine keeps no state between
 * traces that changes a result (its scratch buffers are rewritten per trace), so a job's outputs
 * are the same with or without the warm-up.
 */
import { constrainedFoopsi } from '../deconvolution/constrainedFoopsi.js';
import type { FoopsiParams } from '../deconvolution/types.js';
import { mulberry32 } from '../random.js';

/** Frames of each warm-up trace (short: interpreted frames are the cost). */
const WARM_UP_FRAMES = 2000;
/** Traces deconvolved: enough calls for V8 to compile the solver's functions. */
const WARM_UP_TRACES = 24;
const SEED = 14;

/** One warm-up trace: y_t = 10 + c_t + 0.3·ε_t, c_t = 0.95·c_{t−1} + s_t, s_t ∈ {0, 1}. */
function warmUpTrace(rand: () => number): Float32Array {
  const y = new Float32Array(WARM_UP_FRAMES);
  let c = 0;
  for (let t = 0; t < WARM_UP_FRAMES; t++) {
    c = 0.95 * c + (rand() < 0.5 / 30 ? 1 : 0);
    // Box–Muller normal from two uniforms (1 − u keeps the log finite).
    const noise = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    y[t] = 10 + c + 0.3 * noise;
  }
  return y;
}

/**
 * Deconvolves {@link WARM_UP_TRACES} synthetic traces with `params` (the engine's keyword
 * arguments; {} = the IDEAS defaults) and discards the results.
 * @returns how many traces were deconvolved (all of them, unless the engine refused one)
 */
function warmUpEngine(params: Partial<FoopsiParams>): number {
  const rand = mulberry32(SEED);
  const out = { c: new Float64Array(WARM_UP_FRAMES), sp: new Float64Array(WARM_UP_FRAMES) };
  for (let i = 0; i < WARM_UP_TRACES; i++) constrainedFoopsi(warmUpTrace(rand), params, out);
  return WARM_UP_TRACES;
}

export { WARM_UP_FRAMES, WARM_UP_TRACES, warmUpEngine };
