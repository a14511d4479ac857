import { describe, expect, it } from 'vitest';
import { constrainedFoopsi, parseSolvers } from '../../../lib/deconvolution/constrainedFoopsi.js';
import { DeconvolutionError, InvalidParameterError } from '../../../lib/errors.js';
import { genData } from '../../helpers/genData.js';
import { correlation as corr } from '../../helpers/numeric.js';

/** Seeded AR(1)/AR(2) trace: y = b + c + sn·noise, with known spikes (xorshift + Box–Muller). */
function synthetic(T: number, g: number[], sn: number, seed: number, rate = 0.03) {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const s = new Float64Array(T);
  const c = new Float64Array(T);
  const y = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    s[t] = uniform() < rate ? 1 + uniform() : 0;
    c[t] = s[t] + (t > 0 ? g[0] * c[t - 1] : 0) + (t > 1 && g.length > 1 ? g[1] * c[t - 2] : 0);
    y[t] = 2 + c[t] + sn * normal();
  }
  return { s, c, y };
}

describe('constrainedFoopsi', () => {
  it.each([
    { p: 1, g: [0.95] },
    { p: 2, g: [1.7, -0.71] },
  ])('recovers the calcium of a high-SNR AR($p) trace with everything estimated', ({ p, g }) => {
    // Prepare: CaImAn's generator, sn 0.1 (SNR 10); fudge_factor 1, CaImAn's own default
    // (IDEAS' 0.96 deliberately shrinks g).
    for (const seed of [1, 2]) {
      const { y, calcium } = genData({
        g,
        sn: 0.1,
        T: 5000,
        b: 10,
        firerate: 0.5,
        framerate: 30,
        seed,
      });
      // Act
      const r = constrainedFoopsi(Float32Array.from(y[0]), { p, fudge_factor: 1 });
      // Assess
      expect(corr(r.c, calcium[0])).toBeGreaterThan(0.99);
      expect(r.g).toHaveLength(p);
      expect(r.bl).toBeGreaterThan(9.5);
      expect(r.bl).toBeLessThan(10.5);
      expect(r.c[0]).toBe(0);
    }
  });

  it('treats NaN frames as gaps: NaN in c, 0 in sp, and the rest still recovered', () => {
    // Prepare: knock out 5 % of the frames, as dropped frames are stored
    const { c, y } = synthetic(3000, [0.95], 0.05, 3);
    const gappy = Float32Array.from(y);
    const isGap = (t: number) => t % 20 === 7 || (t >= 1000 && t < 1010);
    for (let t = 0; t < gappy.length; t++) if (isGap(t)) gappy[t] = Number.NaN;
    // Act
    const r = constrainedFoopsi(gappy, { p: 1 });
    // Assess
    for (let t = 0; t < gappy.length; t++) {
      if (isGap(t)) {
        expect(Number.isNaN(r.c[t])).toBe(true);
        expect(r.sp[t]).toBe(0);
      } else {
        expect(Number.isFinite(r.c[t])).toBe(true);
      }
    }
    expect(Number.isFinite(r.sn) && r.sn > 0).toBe(true);
    expect(corr(r.c, c, isGap)).toBeGreaterThan(0.98);
  });

  it('gives the same result on a clean trace whether or not gap handling could apply', () => {
    const { y } = synthetic(500, [0.9], 0.1, 5);
    const a = constrainedFoopsi(Float32Array.from(y), { p: 1 });
    const b = constrainedFoopsi(Float32Array.from(y), { p: 1 });
    expect(Array.from(a.c)).toEqual(Array.from(b.c));
  });

  it.each([
    { label: 'AR(1)', params: { p: 1 } },
    { label: 'AR(1) with NaN gaps and s_min', params: { p: 1, s_min: 0 }, gaps: true },
    { label: 'AR(2)', params: { p: 2 } },
    { label: 'p = 0', params: { p: 0 } },
  ])(
    'writes c and sp into caller buffers when given, with the same values ($label)',
    ({ params, gaps }) => {
      // Prepare: buffers longer than T and dirty from a previous trace
      const { y } = synthetic(800, params.p === 2 ? [1.7, -0.71] : [0.95], 0.1, 11);
      const trace = Float32Array.from(y);
      if (gaps) for (const t of [0, 5, 6, 400]) trace[t] = Number.NaN;
      const out = { c: new Float64Array(900).fill(7), sp: new Float64Array(900).fill(-7) };

      // Act
      const fresh = constrainedFoopsi(trace, params);
      const inPlace = constrainedFoopsi(trace, params, out);

      // Assess
      expect(inPlace.c.buffer).toBe(out.c.buffer);
      expect(inPlace.sp.buffer).toBe(out.sp.buffer);
      expect(inPlace.c).toHaveLength(800);
      expect(Array.from(inPlace.c)).toEqual(Array.from(fresh.c));
      expect(Array.from(inPlace.sp)).toEqual(Array.from(fresh.sp));
      expect(inPlace.lam).toBe(fresh.lam);
      expect(() =>
        constrainedFoopsi(trace, params, { c: new Float64Array(10), sp: out.sp }),
      ).toThrow(InvalidParameterError);
    },
  );

  it('passes the trace through for p = 0 (c = sp = max(y, 0))', () => {
    const y = Float32Array.from([-1, 0.5, 2, -3, 4]);
    const r = constrainedFoopsi(y, { p: 0, sn: 1 });
    expect(Array.from(r.c)).toEqual([0, 0.5, 2, 0, 4]);
    expect(Array.from(r.sp)).toEqual([0, 0.5, 2, 0, 4]);
    expect(r.lam).toBeNull();
  });

  it('rejects parameters CaImAn cannot use, naming the parameter', () => {
    const y = Float32Array.from({ length: 300 }, (_, t) => Math.sin(t / 7));
    const cases: [Record<string, unknown>, string][] = [
      [{ p: null }, 'p'],
      [{ p: 3 }, 'p'],
      [{ method_deconvolution: 'foo' }, 'method_deconvolution'],
      [{ method_deconvolution: 'cvx' }, 'method_deconvolution'],
      [{ noise_method: 'max' }, 'noise_method'],
      [{ p: 2, g: [0.9] }, 'g'],
    ];
    for (const [params, name] of cases) {
      let caught: unknown;
      try {
        constrainedFoopsi(y, params);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(InvalidParameterError);
      expect((caught as InvalidParameterError).parameter).toBe(name);
    }
  });

  it('fails clearly on an all-NaN trace', () => {
    expect(() => constrainedFoopsi(new Float32Array(50).fill(Number.NaN))).toThrow(
      DeconvolutionError,
    );
  });
});

describe('parseSolvers', () => {
  it("splits the tool's string and defaults the fallback", () => {
    expect(parseSolvers('ECOS,SCS')).toEqual(['ECOS', 'SCS']);
    expect(parseSolvers(['scs', 'cvxopt'])).toEqual(['SCS', 'CVXOPT']);
    expect(parseSolvers('ECOS')).toEqual(['ECOS', 'SCS']);
    expect(() => parseSolvers('E,C')).toThrow(InvalidParameterError);
  });
});
