import { describe, expect, it } from 'vitest';
import { memorySink, memorySource } from '../../../lib/bytes.js';
import { openCellSet, openEventSet } from '../../../lib/isxd/index.js';
import { deconvolveChunk, frameOffsets, timeConstants } from '../../../lib/job/deconvolveChunk.js';
import { DEFAULT_JOB_OPTIONS, parseToolParams } from '../../../lib/job/params.js';
import { planJob } from '../../../lib/job/plan.js';
import {
  DEFAULT_SYNTHETIC_SPEC,
  scoreRecovery,
  writeSyntheticCellSet,
} from '../../../lib/job/synthetic.js';
import { fixtureCellSet } from './fixtures.js';
import { memoryRuntime } from './memoryRuntime.js';

describe('deconvolveChunk', () => {
  it('writes NaN at dropped frames, estimates on the valid ones and puts no event there', async () => {
    // Prepare
    const dropped = [10, 11, 150];
    const input = await fixtureCellSet('dropped.isxd', { dropped });
    const plan = await planJob([input], parseToolParams({}), DEFAULT_JOB_OPTIONS);
    const cellSetPart = memorySink();
    const eventPart = memorySink();

    // Act
    const result = await deconvolveChunk(plan, plan.items[0], input, cellSetPart, eventPart);

    // Assess
    const bytes = cellSetPart.bytes();
    expect(bytes.byteLength).toBe(result.cellSetPartBytes);
    expect(result.cellSetPartBytes).toBe(3 * 4 * (64 + 300));
    const view = new DataView(bytes.buffer);
    for (let cell = 0; cell < 3; cell++) {
      for (let t = 0; t < 300; t++) {
        const v = view.getFloat32(cell * 4 * 364 + 4 * (64 + t), true);
        expect(Number.isNaN(v)).toBe(dropped.includes(t));
      }
      expect(result.cells[cell].sn).toBeGreaterThan(0);
    }
    const packets = eventPart.bytes();
    expect(packets.byteLength).toBe(20 * result.eventCounts.reduce((a, b) => a + b, 0));
    const pv = new DataView(packets.buffer);
    for (let o = 0; o < packets.byteLength; o += 20) {
      const frame = Math.round(pv.getUint32(o, true) / 50_000);
      expect(dropped).not.toContain(frame);
      expect(pv.getFloat32(o + 16, true)).toBeGreaterThan(0);
    }
    expect(result.eventCounts.every((n) => n > 0)).toBe(true);
  });

  it('copies footprints byte for byte', async () => {
    // Prepare
    const input = await fixtureCellSet('fp.isxd');
    const plan = await planJob([input], parseToolParams({}), DEFAULT_JOB_OPTIONS);
    const part = memorySink();

    // Act
    await deconvolveChunk(plan, plan.items[0], input, part, memorySink());

    // Assess
    const reader = await openCellSet(input);
    for (let i = 0; i < 3; i++) {
      const expected = (await reader.readCellBytes(i)).subarray(0, 256);
      expect(
        Buffer.from(part.bytes().subarray(i * 1456, i * 1456 + 256)).equals(Buffer.from(expected)),
      ).toBe(true);
    }
  });
});

describe('frameOffsets', () => {
  it('is round(t·period·10⁶) rounding half up, exactly, for every frame', () => {
    // Prepare
    const periods = [
      { num: 603240466, den: 12074000000 },
      { num: 1, den: 30 },
      { num: 100, den: 1000 },
      { num: 7, den: 1000 },
      { num: '1', den: '3' },
    ];

    // Act / Assess
    for (const period of periods) {
      const T = 200_000;
      const offsets = frameOffsets(T, period);
      expect(offsets.length).toBe(T);
      const num = BigInt(period.num);
      const den = BigInt(period.den);
      for (let t = 0; t < T; t += 997) {
        const exact = (2n * BigInt(t) * num * 1_000_000n + den) / (2n * den);
        expect(offsets[t]).toBe(Number(exact));
      }
    }
    expect(Array.from(frameOffsets(4, { num: 1, den: 30 }))).toEqual([0, 33333, 66667, 100000]);
  });
});

describe('timeConstants', () => {
  it('converts AR roots to seconds: τ = −Δ/ln(root)', () => {
    expect(timeConstants([0.95], 0.05)[0]).toBeCloseTo(-0.05 / Math.log(0.95), 12);
    const [decay, rise] = timeConstants([1.7, -0.71], 0.1);
    const d = (1.7 + Math.sqrt(1.7 ** 2 - 4 * 0.71)) / 2;
    const r = (1.7 - Math.sqrt(1.7 ** 2 - 4 * 0.71)) / 2;
    expect(decay).toBeCloseTo(-0.1 / Math.log(d), 12);
    expect(rise).toBeCloseTo(-0.1 / Math.log(r), 12);
  });
});

describe('synthetic default input', () => {
  it('is deterministic', async () => {
    // Prepare
    const a = memorySink();
    const b = memorySink();

    // Act
    await writeSyntheticCellSet(a, { numCells: 3, numTimes: 400 });
    await writeSyntheticCellSet(b, { numCells: 3, numTimes: 400 });

    // Assess
    expect(Buffer.from(a.bytes()).equals(Buffer.from(b.bytes()))).toBe(true);
  });

  it('is recovered by the job: every true spike found, NaN at its invalid frames', async () => {
    // Prepare
    const sink = memorySink();
    const truth = await writeSyntheticCellSet(sink, { numCells: 6, numTimes: 1200 });
    const rt = memoryRuntime([memorySource('synthetic.isxd', sink.bytes())]);

    // Act
    const report = await rt.run(parseToolParams({}), DEFAULT_JOB_OPTIONS);

    // Assess
    const events = await (
      await openEventSet(
        memorySource('e', rt.outputs.get('neural_events.000.isxd') ?? new Uint8Array()),
      )
    ).readAll();
    const period = 1e6 / DEFAULT_SYNTHETIC_SPEC.frameRate;
    const frames = events.map((e) => ({
      frames: Array.from(e.offsetsMicros, (us) => Math.round(us / period)),
      amplitudes: e.amplitudes,
    }));
    const score = scoreRecovery(truth, frames, [0, 1, 2, 3, 4, 5]);
    expect(score.trueSpikes).toBeGreaterThan(100);
    expect(score.recall).toBeGreaterThan(0.95);
    expect(score.amplitudePrecision).toBeGreaterThan(0.7);
    const out = await openCellSet(
      memorySource('c', rt.outputs.get('cellset_denoised.000.isxd') ?? new Uint8Array()),
    );
    const trace = await out.readTrace(0);
    for (let t = 0; t < trace.length; t++)
      expect(Number.isNaN(trace[t])).toBe(truth.invalidFrames.includes(t));
    for (const f of frames) for (const t of f.frames) expect(truth.invalidFrames).not.toContain(t);
    expect(report.files[0].outputs.cells.map((c) => c.status)).toEqual(truth.statuses);
  });
});
