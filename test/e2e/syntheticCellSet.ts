/**
 * Seeded synthetic cell sets for the e2e tests: each cell has a small Gaussian footprint and an
 * AR(1) calcium trace c_t = g·c_{t−1} + s_t (s_t Bernoulli spikes) plus Gaussian noise, written
 * with lib/isxd's streaming writer into memory.
 */
import { memorySink } from '../../lib/bytes.js';
import { createCellSetWriter } from '../../lib/isxd/index.js';
import { mulberry32 as prng } from '../../lib/random.js';

interface SyntheticOptions {
  numCells: number;
  numTimes: number;
  width?: number;
  height?: number;
  seed: number;
  /** Start in seconds since the epoch (integer). */
  startSeconds?: number;
  /** Frame period in ms. */
  periodMs?: number;
}

/** The bytes of a synthetic `.isxd` cell set. */
async function syntheticCellSet(o: SyntheticOptions): Promise<Uint8Array> {
  const width = o.width ?? 4;
  const height = o.height ?? 4;
  const rand = prng(o.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const sink = memorySink();
  const writer = createCellSetWriter(sink, {
    timing: {
      numTimes: o.numTimes,
      period: { num: o.periodMs ?? 100, den: 1000 },
      start: { secsSinceEpoch: { num: o.startSeconds ?? 0, den: 1 }, utcOffset: 0 },
    },
    spacing: { numPixels: { x: width, y: height } },
  });
  const footprint = new Float32Array(width * height);
  const trace = new Float32Array(o.numTimes);
  for (let cell = 0; cell < o.numCells; cell++) {
    const cx = rand() * width;
    const cy = rand() * height;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        footprint[y * width + x] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 2);
      }
    }
    let c = 0;
    for (let t = 0; t < o.numTimes; t++) {
      c = 0.9 * c + (rand() < 0.05 ? 1 + rand() : 0);
      trace[t] = 2 * c + 0.1 * gauss();
    }
    await writer.addCell(footprint, trace);
  }
  await writer.finish();
  return sink.bytes();
}

export type { SyntheticOptions };
export { syntheticCellSet };
