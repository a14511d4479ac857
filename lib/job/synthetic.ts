/**
 * The embedded default input: a deterministic synthetic cell set with known spikes, so that
 * `caiman-spikes run` with no file demonstrates the job and measures how well it recovers them.
 *
 * Each cell i has a Gaussian footprint and an AR(1) trace (deconvolution-algorithms.md
 * notation):
 *   s_t ~ Bernoulli(rate·Δ)·U(0.7, 1.3),  c_t = g·c_{t−1} + s_t,  y_t = b + c_t + sn·ε_t,
 * with g = 0.95 (τ = −Δ/ln g ≈ 0.97 s at 20 Hz), b = 1, sn = 0.15, ε ~ N(0, 1). A few frames are
 * dropped, blank and cropped (NaN in the file) and two cells are rejected, so the demo exercises
 * those paths too. Random numbers come from a seeded mulberry32 stream.
 */
import type { ByteSink } from '../bytes.js';
import { type CellStatus, createCellSetWriter, jsonObject, jsonString } from '../isxd/index.js';
import { mulberry32 } from '../random.js';

/** Shape of the synthetic recording. */
interface SyntheticSpec {
  numCells: number;
  numTimes: number;
  /** Frames per second. */
  frameRate: number;
  width: number;
  height: number;
  g: number;
  sn: number;
  baseline: number;
  /** Spikes per second per cell. */
  rate: number;
  seed: number;
}

/** What was generated. */
interface SyntheticTruth {
  spec: SyntheticSpec;
  /** Spike frames per cell (valid frames only). */
  spikes: Int32Array[];
  statuses: CellStatus[];
  /** Dropped, blank and cropped frames. */
  invalidFrames: number[];
}

/** Recovery of the true spikes by the detected events. */
interface RecoveryScore {
  trueSpikes: number;
  events: number;
  /** True spikes with an event within ±tolerance frames. */
  recall: number;
  /** Events within ±tolerance frames of a true spike. */
  precision: number;
  /** Share of the total event amplitude that lies within ±tolerance frames of a true spike. */
  amplitudePrecision: number;
  tolerance: number;
}

const DEFAULT_SYNTHETIC_SPEC: SyntheticSpec = {
  numCells: 16,
  numTimes: 3000,
  frameRate: 20,
  width: 48,
  height: 40,
  g: 0.95,
  sn: 0.15,
  baseline: 1,
  rate: 0.4,
  seed: 20240501,
};

/**
 * Writes the synthetic cell set to `sink` and returns the ground truth.
 *
 * @param spec - overrides of {@link DEFAULT_SYNTHETIC_SPEC}.
 */
async function writeSyntheticCellSet(
  sink: ByteSink,
  spec: Partial<SyntheticSpec> = {},
): Promise<SyntheticTruth> {
  const S = { ...DEFAULT_SYNTHETIC_SPEC, ...spec };
  const rand = mulberry32(S.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const T = S.numTimes;
  const dropped = [Math.floor(T * 0.3), Math.floor(T * 0.3) + 1];
  const blank = [Math.floor(T * 0.6)];
  const cropped: [number, number][] = [[Math.floor(T * 0.8), Math.floor(T * 0.8) + 9]];
  const invalid = new Uint8Array(T);
  for (const t of [...dropped, ...blank]) invalid[t] = 1;
  for (const [a, b] of cropped) invalid.fill(1, a, b + 1);
  const statuses: CellStatus[] = Array.from({ length: S.numCells }, (_, i) =>
    i >= S.numCells - 2 ? 'rejected' : i >= S.numCells - 4 ? 'undecided' : 'accepted',
  );
  const writer = createCellSetWriter(sink, {
    timing: {
      numTimes: T,
      period: { num: 1000, den: Math.round(1000 * S.frameRate) },
      dropped,
      blank,
      cropped,
    },
    spacing: { numPixels: { x: S.width, y: S.height } },
    statuses,
    extraProperties: jsonObject({
      idps: jsonObject({
        cellset: jsonObject({ method: jsonString('synthetic'), units: jsonString('a.u.') }),
      }),
    }),
  });
  const spikes: Int32Array[] = [];
  const footprint = new Float32Array(S.width * S.height);
  const trace = new Float32Array(T);
  try {
    for (let i = 0; i < S.numCells; i++) {
      const cx = 4 + rand() * (S.width - 8);
      const cy = 4 + rand() * (S.height - 8);
      const sigma = 1.5 + rand();
      for (let y = 0; y < S.height; y++) {
        for (let x = 0; x < S.width; x++) {
          const v = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma));
          footprint[y * S.width + x] = v > 0.05 ? v : 0;
        }
      }
      const frames: number[] = [];
      let c = 0;
      for (let t = 0; t < T; t++) {
        let s = 0;
        if (rand() < S.rate / S.frameRate) s = 0.7 + 0.6 * rand();
        c = S.g * c + s;
        if (s > 0 && !invalid[t]) frames.push(t);
        trace[t] = S.baseline + c + S.sn * normal();
      }
      spikes.push(Int32Array.from(frames));
      await writer.addCell(footprint, trace);
    }
    await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  const invalidFrames: number[] = [];
  for (let t = 0; t < T; t++) if (invalid[t]) invalidFrames.push(t);
  return { spec: S, spikes, statuses, invalidFrames };
}

/**
 * Scores detected events against the true spikes of the cells in `cells`.
 *
 * @param events - per cell, event frames (ascending) and amplitudes.
 * @param tolerance - frames of slack either side.
 */
function scoreRecovery(
  truth: SyntheticTruth,
  events: { frames: ArrayLike<number>; amplitudes: ArrayLike<number> }[],
  cells: number[],
  tolerance = 2,
): RecoveryScore {
  let trueSpikes = 0;
  let found = 0;
  let nEvents = 0;
  let near = 0;
  let amp = 0;
  let ampNear = 0;
  for (const i of cells) {
    const spikes = truth.spikes[i];
    const { frames, amplitudes } = events[i];
    const hit = new Uint8Array(truth.spec.numTimes + 2 * tolerance + 1);
    for (const t of spikes)
      for (let d = -tolerance; d <= tolerance; d++) hit[t + d + tolerance] = 1;
    const evHit = new Uint8Array(truth.spec.numTimes + 2 * tolerance + 1);
    for (let k = 0; k < frames.length; k++) {
      const t = frames[k];
      for (let d = -tolerance; d <= tolerance; d++) evHit[t + d + tolerance] = 1;
      nEvents++;
      amp += amplitudes[k];
      if (hit[t + tolerance]) {
        near++;
        ampNear += amplitudes[k];
      }
    }
    trueSpikes += spikes.length;
    for (const t of spikes) if (evHit[t + tolerance]) found++;
  }
  return {
    trueSpikes,
    events: nEvents,
    recall: trueSpikes > 0 ? found / trueSpikes : Number.NaN,
    precision: nEvents > 0 ? near / nEvents : Number.NaN,
    amplitudePrecision: amp > 0 ? ampNear / amp : Number.NaN,
    tolerance,
  };
}

export type { RecoveryScore, SyntheticSpec, SyntheticTruth };
export { DEFAULT_SYNTHETIC_SPEC, mulberry32, scoreRecovery, writeSyntheticCellSet };
