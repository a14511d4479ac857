/** Small seeded cell sets for job tests, written with the .isxd library. */
import { type ByteSource, memorySink, memorySource } from '../../../lib/bytes.js';
import { type CellStatus, createCellSetWriter } from '../../../lib/isxd/index.js';
import { mulberry32 } from '../../../lib/job/synthetic.js';

interface FixtureOptions {
  numTimes?: number;
  names?: string[];
  statuses?: CellStatus[];
  period?: { num: number; den: number };
  start?: { num: number; den: number };
  width?: number;
  dropped?: number[];
  /** Cell whose trace is constant. */
  flatCell?: number;
  numCells?: number;
}

/** A cell set of noisy AR(1) traces (seeded), 8×8 footprints. */
async function fixtureCellSet(name: string, o: FixtureOptions = {}): Promise<ByteSource> {
  const T = o.numTimes ?? 300;
  const n = o.numCells ?? o.names?.length ?? 3;
  const width = o.width ?? 8;
  const sink = memorySink();
  const writer = createCellSetWriter(sink, {
    timing: {
      numTimes: T,
      period: o.period ?? { num: 50, den: 1000 },
      start: { secsSinceEpoch: o.start ?? { num: 0, den: 1 } },
      dropped: o.dropped,
    },
    spacing: { numPixels: { x: width, y: 8 } },
    names: o.names ?? Array.from({ length: n }, (_, i) => `C${i}`),
    statuses: o.statuses ?? Array.from({ length: n }, () => 'accepted' as CellStatus),
  });
  const rand = mulberry32(7);
  const footprint = new Float32Array(width * 8);
  const trace = new Float32Array(T);
  for (let i = 0; i < n; i++) {
    footprint.fill(0);
    footprint[(i % 8) * width + 3] = 1;
    footprint[(i % 8) * width + 4] = 0.5;
    let c = 0;
    for (let t = 0; t < T; t++) {
      c = 0.9 * c + (rand() < 0.03 ? 1 : 0);
      trace[t] = i === o.flatCell ? 2 : 1 + c + 0.1 * (rand() - 0.5);
    }
    await writer.addCell(footprint, trace);
  }
  await writer.finish();
  return memorySource(name, sink.bytes());
}

/** Three cells, the middle one ("flat", rejected) constant. */
function constantCellSet(name: string): Promise<ByteSource> {
  return fixtureCellSet(name, {
    names: ['a', 'flat', 'c'],
    statuses: ['accepted', 'rejected', 'undecided'],
    flatCell: 1,
  });
}

export type { FixtureOptions };
export { constantCellSet, fixtureCellSet };
