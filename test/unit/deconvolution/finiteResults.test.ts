/**
 * Property: an ok result of constrainedFoopsi never holds ±Infinity or NaN outside the NaN
 * frames of its input, whatever the kernel (given or estimated), fudge factor, scale or gaps;
 * every input it cannot deconvolve is refused with a clear error (InvalidParameterError naming
 * the parameter, or DeconvolutionError) instead.
 */
import { describe, expect, it } from 'vitest';
import { constrainedFoopsi } from '../../../lib/deconvolution/constrainedFoopsi.js';
import type { FoopsiParams } from '../../../lib/deconvolution/types.js';
import { DeconvolutionError, InvalidParameterError } from '../../../lib/errors.js';
import { mulberry32 } from '../../../lib/random.js';
import { genData } from '../../helpers/genData.js';

const CASES = 400;

/** One random case: a trace and the parameters it is deconvolved with. */
function randomCase(seed: number): {
  trace: Float32Array | Float64Array;
  params: Partial<FoopsiParams>;
} {
  const rand = mulberry32(seed);
  const p = rand() < 0.5 ? 1 : 2;
  const T = 30 + Math.floor(rand() * 600);
  const truth = p === 1 ? [0.5 + 0.49 * rand()] : [1.3 + 0.4 * rand(), -0.42 - 0.1 * rand()];
  const { y } = genData({
    g: truth,
    sn: 0.05 + rand(),
    T,
    b: 2 * rand() - 0.5,
    firerate: 1,
    framerate: 30,
    seed,
  });
  // Scales from 1e-30 to 1e40 (beyond float32 for float64 traces).
  const scale = 10 ** (-30 + 70 * rand());
  const float32 = rand() < 0.5;
  const trace = float32 ? new Float32Array(T) : new Float64Array(T);
  for (let t = 0; t < T; t++) trace[t] = y[0][t] * scale;
  if (rand() < 0.3) for (let k = 0; k < T / 10; k++) trace[Math.floor(rand() * T)] = Number.NaN;
  const params: Partial<FoopsiParams> = { p, fudge_factor: 0.5 + rand() };
  const kernel = rand();
  // A given kernel a third of the time, anywhere from decaying to exploding.
  if (kernel < 0.33)
    params.g = p === 1 ? [2 * rand() - 0.5] : [2.5 * rand() - 0.5, 1.2 * rand() - 0.9];
  if (rand() < 0.2) params.optimize_g = 1 + Math.floor(rand() * 4);
  if (rand() < 0.2) params.s_min = 0;
  if (rand() < 0.2) params.bas_nonneg = false;
  return { trace, params };
}

describe('constrainedFoopsi never returns a non-finite ok result', () => {
  it(`holds on ${CASES} random kernels, fudge factors, scales and gaps`, () => {
    // Prepare
    const bad: string[] = [];
    const unclear: string[] = [];
    let ok = 0;
    let refused = 0;
    // Act
    for (let seed = 1; seed <= CASES; seed++) {
      const { trace, params } = randomCase(seed);
      let r: ReturnType<typeof constrainedFoopsi>;
      try {
        r = constrainedFoopsi(trace, params);
      } catch (err) {
        if (err instanceof DeconvolutionError || err instanceof InvalidParameterError) refused++;
        else unclear.push(`seed ${seed}: ${String(err)}`);
        continue;
      }
      ok++;
      const scalars = {
        bl: r.bl,
        c1: r.c1,
        sn: r.sn,
        lam: r.lam ?? 0,
        g: r.g.reduce((a, b) => a + b, 0),
      };
      const what = `${trace.constructor.name} max ${Math.max(
        ...Array.from(trace)
          .filter((v) => !Number.isNaN(v))
          .map(Math.abs),
      ).toExponential(2)}, ${JSON.stringify(params)}`;
      for (const [k, v] of Object.entries(scalars))
        if (!Number.isFinite(v)) bad.push(`seed ${seed}: ${k} = ${v} (${what})`);
      for (let t = 0; t < trace.length; t++) {
        if (Number.isNaN(trace[t])) continue;
        if (!Number.isFinite(r.c[t]) || !Number.isFinite(r.sp[t])) {
          bad.push(
            `seed ${seed}: frame ${t} c = ${r.c[t]}, sp = ${r.sp[t]} (${JSON.stringify(params)})`,
          );
          break;
        }
      }
    }
    // Assess
    expect(bad).toEqual([]);
    expect(unclear).toEqual([]);
    // Both branches are exercised: most cases deconvolve, and the exploding ones are refused.
    expect(ok).toBeGreaterThan(CASES / 2);
    expect(refused).toBeGreaterThan(CASES / 20);
  });

  it.each<[string, Partial<FoopsiParams>, RegExp]>([
    [
      'p = 1, g = 1.5',
      { p: 1, g: [1.5] },
      /parameter g = .*1\.5.*decaying AR kernel.*modulus 1\.5/,
    ],
    [
      'p = 2, g = [1.2, 0.1] (a root above 1)',
      { p: 2, g: [1.2, 0.1] },
      /parameter g = .*decaying AR kernel/,
    ],
    [
      'p = 2 given 3 coefficients',
      { p: 2, g: [0.5, 0.1, 0.05] },
      /parameter g = .*expected 2 AR coefficients for p = 2/,
    ],
    [
      'p = 1 given 2 coefficients',
      { p: 1, g: [1.7, -0.71] },
      /expected 1 AR coefficient for p = 1 \(2 given: use p = 2\)/,
    ],
  ])('refuses a given kernel: %s', (_, params, message) => {
    // Prepare
    const trace = Float32Array.from(
      genData({ g: [0.9], sn: 0.2, T: 300, b: 1, firerate: 1, framerate: 30, seed: 3 }).y[0],
    );
    // Act
    const run = () => constrainedFoopsi(trace, params);
    // Assess
    expect(run).toThrow(InvalidParameterError);
    expect(run).toThrow(message);
  });

  it('refuses an estimated kernel pushed past 1 by the fudge factor, naming fudge_factor', () => {
    // Prepare
    const trace = Float32Array.from(
      genData({ g: [0.95], sn: 0.1, T: 2000, b: 1, firerate: 1, framerate: 30, seed: 5 }).y[0],
    );
    // Act
    const run = () => constrainedFoopsi(trace, { p: 1, fudge_factor: 1.2 });
    // Assess
    expect(run).toThrow(DeconvolutionError);
    expect(run).toThrow(/estimated AR kernel g = \[1\.1\d+\] does not decay .*fudge_factor = 1\.2/);
  });

  it('refuses an infinite sample, naming the frame', () => {
    // Prepare
    const trace = Float32Array.from(
      genData({ g: [0.9], sn: 0.2, T: 300, b: 1, firerate: 1, framerate: 30, seed: 3 }).y[0],
    );
    trace[17] = Number.NEGATIVE_INFINITY;
    // Act
    const run = () => constrainedFoopsi(trace, { p: 2 });
    // Assess
    expect(run).toThrow(DeconvolutionError);
    expect(run).toThrow('sample 17 of the trace is -Infinity: expected finite fluorescence');
  });

  it('refuses a float64 trace beyond the float32 range that OASIS works in', () => {
    // Prepare
    const trace = Float64Array.from(
      genData({ g: [0.9], sn: 0.2, T: 300, b: 1, firerate: 1, framerate: 30, seed: 3 }).y[0],
      (v) => v * 1e39,
    );
    // Act
    const run = () => constrainedFoopsi(trace, { p: 1 });
    // Assess
    expect(run).toThrow(DeconvolutionError);
    expect(run).toThrow(/beyond the float32 range/);
  });
});
