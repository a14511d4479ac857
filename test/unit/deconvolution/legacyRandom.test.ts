import { describe, expect, it } from 'vitest';
import { legacyRandomState } from '../../../lib/deconvolution/legacyRandom.js';
import { InvalidParameterError } from '../../../lib/errors.js';
import { genBenchTraces, genData } from '../../helpers/genData.js';
import { describeShared, readGolden } from '../../helpers/shared.js';

interface GoldenSource {
  kind: string;
  g: number[];
  sn: number;
  T: number;
  b: number;
  framerate: number;
  firerate: number;
  seed: number;
  scale: number;
  offset: number;
  drift?: string;
}
interface GoldenCase {
  id: string;
  dtype: 'float32' | 'float64';
  source: GoldenSource;
  trace: number[];
}

function checksum(traces: Float32Array[]): { sum: number; first: number; last: number } {
  let sum = 0;
  for (const trace of traces) for (let t = 0; t < trace.length; t++) sum += trace[t];
  const lastTrace = traces[traces.length - 1];
  return { sum, first: traces[0][0], last: lastTrace[lastTrace.length - 1] };
}

describe('legacyRandomState', () => {
  it('reproduces the MT19937 reference output for seed 5489', () => {
    // Prepare
    const rng = legacyRandomState(5489);
    // Act
    const words = [rng.nextUint32(), rng.nextUint32()];
    // Assess
    expect(words).toEqual([3499211612, 581869302]);
  });

  it('reproduces numpy uniforms and normals for seed 0', () => {
    // Prepare
    const uniforms = legacyRandomState(0);
    const normals = legacyRandomState(0);
    // Act
    const u = [uniforms.randomSample(), uniforms.randomSample(), uniforms.randomSample()];
    const z = [normals.standardNormal(), normals.standardNormal(), normals.standardNormal()];
    // Assess
    expect(u).toEqual([0.5488135039273248, 0.7151893663724195, 0.6027633760716439]);
    expect(z).toEqual([1.764052345967664, 0.4001572083672233, 0.9787379841057392]);
  });

  it('gives the seed-45 draws of the AR root fixes (algorithms doc §3 step 4)', () => {
    // Prepare
    const rng = legacyRandomState(45);
    // Act
    const z = new Float64Array(3);
    rng.fillNormal(z);
    // Assess
    expect(Array.from(z)).toEqual([0.026374772849561846, 0.26032170142265076, -0.395145541517793]);
    expect(0.95 + 0.01 * z[0]).toBe(0.9502637477284955);
    expect(0.95 + 0.01 * z[1]).toBe(0.9526032170142265);
    expect(0.15 + 0.01 * z[0]).toBe(0.1502637477284956);
    expect(0.15 + 0.01 * z[1]).toBe(0.1526032170142265);
    expect(0.15 + 0.01 * z[2]).toBe(0.14604854458482205);
  });

  it.each([-1, 1.5, 2 ** 32])('rejects seed %d with InvalidParameterError', (seed) => {
    // Act
    const act = () => legacyRandomState(seed);
    // Assess
    expect(act).toThrow(InvalidParameterError);
    try {
      act();
    } catch (error) {
      expect((error as InvalidParameterError).code).toBe('InvalidParameter');
      expect((error as InvalidParameterError).parameter).toBe('seed');
    }
  });
});

describe('genBenchTraces', () => {
  it('reproduces the anchor checksums of the p = 1 1000 × 2000 set', () => {
    // Act
    const traces = genBenchTraces(1, 1000, 2000);
    // Assess
    expect(traces).toHaveLength(1000);
    expect(checksum(traces)).toEqual({
      sum: 20654777.802080154,
      first: 9.783001899719238,
      last: 9.77857780456543,
    });
  });
});

describe('genData', () => {
  it('never updates calcium index 1 and follows the AR(1) recursion from index 2', () => {
    // Prepare
    const options = { g: [0.95], sn: 0.3, T: 500, b: 10, firerate: 2, framerate: 30, seed: 4 };
    // Act
    const { y, calcium, spikes } = genData(options);
    // Assess
    const c = calcium[0];
    const s = spikes[0];
    expect(c[0]).toBe(s[0]);
    expect(c[1]).toBe(s[1]);
    for (let t = 2; t < 500; t++) expect(c[t]).toBe(s[t] + 0.95 * c[t - 1]);
    let spikeCount = 0;
    for (let t = 0; t < 500; t++) spikeCount += s[t];
    expect(spikeCount).toBeGreaterThan(10);
    expect(y[0]).toHaveLength(500);
  });
});

describeShared('genData against the golden traces', () => {
  it('regenerates every gen_data trace of the goldens bit for bit', () => {
    // Prepare
    const files = [
      'oasis_p1.json',
      'oasis_p2.json',
      'estimation.json',
      'edge_cases.json',
      'cvx_reference.json',
    ];
    const cases = files.flatMap((f) =>
      readGolden<{ cases: GoldenCase[] }>(f).cases.filter((c) => c.source.kind === 'gen_data'),
    );
    const failures: string[] = [];
    for (const c of cases) {
      // Act
      const { y } = genData({ ...c.source, drift: c.source.drift === undefined ? 0 : 3 });
      const trace = c.dtype === 'float32' ? Float32Array.from(y[0]) : y[0];
      // Assess
      const same = trace.length === c.trace.length && trace.every((v, t) => v === c.trace[t]);
      if (!same) failures.push(c.id);
    }
    expect(cases.length).toBeGreaterThan(200);
    expect(failures).toEqual([]);
  });
});
