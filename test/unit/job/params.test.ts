import { describe, expect, it } from 'vitest';
import { DEFAULT_FOOPSI_PARAMS } from '../../../lib/deconvolution/types.js';
import { InvalidParameterError } from '../../../lib/errors.js';
import {
  DEFAULT_TOOL_PARAMS,
  gFromTau,
  jobOptionHelp,
  lagsFor,
  parseJobOptions,
  parseToolParams,
  TOOL_PARAM_NAMES,
  toFoopsiParams,
  toolParamHelp,
} from '../../../lib/job/params.js';

function parameterError(raw: Record<string, unknown>): InvalidParameterError {
  try {
    parseToolParams(raw);
  } catch (err) {
    if (err instanceof InvalidParameterError) return err;
    throw err;
  }
  throw new InvalidParameterError('test', raw, 'parseToolParams to throw');
}

describe('parseToolParams', () => {
  it('takes the tool defaults when nothing is given', () => {
    // Act
    const params = parseToolParams({});

    // Assess
    expect(params).toEqual(DEFAULT_TOOL_PARAMS);
    expect(params.fudge_factor).toBe(0.96);
  });

  it('accepts the strings the original tool accepts', () => {
    // Act
    const params = parseToolParams({
      bl: 'auto',
      c1: '0.5',
      g: '1.7, -0.71',
      sn: 'auto',
      p: '2',
      bas_nonneg: 'false',
      noise_method: 'mean',
      noise_range: '0.1,0.4',
      s_min: '-3',
      optimize_g: 'true',
      fudge_factor: '1',
      lags: '4',
      solvers: 'SCS,ECOS',
    });

    // Assess
    expect(params).toMatchObject({
      bl: null,
      c1: 0.5,
      g: [1.7, -0.71],
      sn: null,
      p: 2,
      bas_nonneg: false,
      noise_range: [0.1, 0.4],
      s_min: -3,
      optimize_g: 1,
      fudge_factor: 1,
      lags: 4,
      solvers: ['SCS', 'ECOS'],
    });
    expect(toFoopsiParams(params, lagsFor(params, 100))).toMatchObject({
      solvers: ['SCS', 'ECOS'],
      lags: 4,
    });
  });

  it('accepts JSON types (numbers, booleans, lists)', () => {
    // Act
    const params = parseToolParams({
      g: [0.9],
      noise_range: [0.25, 0.5],
      bas_nonneg: true,
      optimize_g: 5,
      sn: 0.3,
    });

    // Assess
    expect(params).toMatchObject({
      g: [0.9],
      noise_range: [0.25, 0.5],
      bas_nonneg: true,
      optimize_g: 5,
      sn: 0.3,
    });
  });

  it.each([
    [{ noise_range: '0.4,0.2' }, 'noise_range'],
    [{ noise_range: '0.25,0.6' }, 'noise_range'],
    [{ noise_range: '0.25' }, 'noise_range'],
    [{ lags: '0' }, 'lags'],
    [{ lags: '2.5' }, 'lags'],
    [{ p: '3' }, 'p'],
    [{ sn: '-1' }, 'sn'],
    [{ bl: 'abc' }, 'bl'],
    [{ g: '5,10', p: 2 }, 'g'],
    [{ g: '0.9', p: 2 }, 'g'],
    [{ g: '1.0,-0.5', p: 2 }, 'g'],
    [{ g: '1.05' }, 'g'],
    [{ method_deconvolution: 'cvx' }, 'method_deconvolution'],
    [{ noise_method: 'max' }, 'noise_method'],
    [{ fudge_factor: '0' }, 'fudge_factor'],
    [{ solvers: 'ECOS,XYZ' }, 'solvers'],
    [{ solvers: 'ECOS,SCS,CVXOPT' }, 'solvers'],
    [{ tau_decay: '0' }, 'tau_decay'],
    [{ tau_decay: '-0.4' }, 'tau_decay'],
    [{ tau_decay: 'fast' }, 'tau_decay'],
    [{ tau_decay: 0.4, p: 0 }, 'tau_decay'],
    [{ tau_rise: '0' }, 'tau_rise'],
    [{ bas_nonneg: 'maybe' }, 'bas_nonneg'],
    [{ unknown_key: 1 }, 'unknown_key'],
  ])('rejects %j naming %s, the value and the valid range', (raw, parameter) => {
    // Act
    const err = parameterError(raw);

    // Assess
    expect(err.code).toBe('InvalidParameter');
    expect(err.parameter).toBe(parameter);
    expect(err.message).toContain(`parameter ${parameter} = `);
    expect(err.message).toContain('expected');
  });

  it('quotes the valid band for noise_range', () => {
    // Act
    const err = parameterError({ noise_range: '0.4,0.2' });

    // Assess
    expect(err.message).toContain('0 ≤ fmin < fmax ≤ 0.5');
    expect(err.value).toBe('0.4,0.2');
  });
});

describe('kinetics in seconds (tau_decay, tau_rise)', () => {
  it.each([
    [
      { g: '0.9', tau_decay: '0.4' },
      'tau_decay',
      /either g or tau_decay, not both \(g = 0.9 is given\)/,
    ],
    [{ tau_rise: '0.1', p: 2 }, 'tau_rise', /together with tau_decay/],
    [
      { tau_decay: '0.4', tau_rise: '0.1' },
      'tau_rise',
      /p = 2 \(a rise time needs an AR\(2\) kernel; p = 1\)/,
    ],
    [
      { tau_decay: '0.4', p: 2 },
      'tau_rise',
      /a rise time in seconds with p = 2 and tau_decay = 0.4 s/,
    ],
    [{ tau_decay: '0.4', tau_rise: '0.4', p: 2 }, 'tau_rise', /below tau_decay = 0.4 s/],
    [{ tau_decay: '0.4', tau_rise: '0.5', p: 2 }, 'tau_rise', /below tau_decay = 0.4 s/],
  ])('rejects %j naming %s with what was expected', (raw, parameter, expected) => {
    // Act
    const err = parameterError(raw);

    // Assess
    expect(err.parameter).toBe(parameter);
    expect(err.message).toMatch(new RegExp(`^parameter ${parameter} = .* is invalid: expected `));
    expect(err.message).toMatch(expected);
  });

  it('takes strings (CLI) and numbers (job file) and converts with the period', () => {
    // Act
    const one = parseToolParams({ tau_decay: '0.4' });
    const two = parseToolParams({ p: 2, tau_decay: 0.4, tau_rise: 0.1 });

    // Assess
    expect(one).toMatchObject({ tau_decay: 0.4, tau_rise: null, g: null });
    expect(gFromTau(one, 0.05)).toEqual([Math.exp(-0.125)]);
    const [d, r] = [Math.exp(-0.125), Math.exp(-0.5)];
    expect(gFromTau(two, 0.05)).toEqual([d + r, -d * r]);
    expect(gFromTau(parseToolParams({}), 0.05)).toBeNull();
    // The pair's roots are d and r again: τ = −Δt/ln(root) gives 0.4 s and 0.1 s back.
    const [g1, g2] = gFromTau(two, 0.05) as number[];
    const disc = Math.sqrt(g1 * g1 + 4 * g2);
    expect(-0.05 / Math.log((g1 + disc) / 2)).toBeCloseTo(0.4, 12);
    expect(-0.05 / Math.log((g1 - disc) / 2)).toBeCloseTo(0.1, 12);
  });

  it("refuses kinetics the file's frame period cannot represent, naming the file and the bound", () => {
    // τ_d = 1e8 s at 20 Hz: g = 1 − 5e-10 is 1 in float32 (every cell would fail as "overflow");
    // τ_r = 1e-6 s: the rise root exp(−5e4) is 0 (AR(2) needs 0 < r).
    const long = parseToolParams({ tau_decay: 1e8 });
    const sharp = parseToolParams({ p: 2, tau_decay: 0.4, tau_rise: 1e-6 });
    const attempt = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as InvalidParameterError;
      }
      throw new Error('expected a refusal');
    };
    const a = attempt(() => gFromTau(long, 0.05, 'p1.isxd'));
    expect(a.parameter).toBe('tau_decay');
    expect(a.message).toMatch(/a decay time below 8\.39e\+5 s for p1\.isxd \(frame period 0\.05 s/);
    const b = attempt(() => gFromTau(sharp, 0.05, 'p1.isxd'));
    expect(b.parameter).toBe('tau_rise');
    expect(b.message).toMatch(/a rise time above 0\.000572 s for p1\.isxd/);
    // Just inside both bounds: a decaying kernel with 0 < r < d < 1.
    expect(gFromTau(parseToolParams({ tau_decay: 8e5 }), 0.05)?.[0]).toBeLessThan(1);
    const [g1, g2] = gFromTau(parseToolParams({ p: 2, tau_decay: 0.4, tau_rise: 6e-4 }), 0.05)!;
    expect(g2).toBeLessThan(0);
    expect(g1).toBeGreaterThan(0);
  });
});

describe('solvers', () => {
  it('takes one name as that solver only (no fallback solver)', () => {
    expect(parseToolParams({ solvers: 'scs' }).solvers).toEqual(['SCS', 'SCS']);
    expect(parseToolParams({ solvers: ['ECOS'] }).solvers).toEqual(['ECOS', 'ECOS']);
    expect(parseToolParams({ solvers: 'SCS,ECOS' }).solvers).toEqual(['SCS', 'ECOS']);
  });
});

describe('the parameter table', () => {
  it("takes every default from the engine's, in the tool's order", () => {
    // Assess
    expect(TOOL_PARAM_NAMES.slice(0, 5)).toEqual(['bl', 'c1', 'g', 'sn', 'p']);
    expect(toFoopsiParams(DEFAULT_TOOL_PARAMS, lagsFor(DEFAULT_TOOL_PARAMS, 1000))).toEqual(
      DEFAULT_FOOPSI_PARAMS,
    );
  });

  it("fits 'auto' lags to short files and never changes a given lags", () => {
    // Assess: lags < T (contract §11.4) without the user choosing it; 5 from 6 frames on.
    const auto = parseToolParams({});
    expect(auto.lags).toBeNull();
    expect([1, 2, 3, 5, 6, 36000].map((T) => lagsFor(auto, T))).toEqual([1, 1, 2, 4, 5, 5]);
    expect(lagsFor(parseToolParams({ lags: 'auto' }), 4)).toBe(3);
    expect(lagsFor(parseToolParams({ lags: 5 }), 4)).toBe(5);
    expect(lagsFor(parseToolParams({ lags: '7' }), 36000)).toBe(7);
  });

  it('writes a help line with its default for every parameter', () => {
    // Act
    const lines = TOOL_PARAM_NAMES.map(toolParamHelp);

    // Assess
    expect(lines.every((l) => / \(default: \S+\)$/.test(l))).toBe(true);
    expect(toolParamHelp('noise_range')).toContain('≤ 0.5 (default: 0.25,0.5)');
    expect(toolParamHelp('bl')).toContain('(default: auto)');
    expect(toolParamHelp('tau_decay')).toMatch(
      /^decay time constant in s instead of g.*\(default: none\)$/,
    );
  });
});

describe('parseJobOptions', () => {
  it('defaults to the original behaviour', () => {
    expect(parseJobOptions({})).toEqual({
      acceptedOnly: 'off',
      eventThresholdSn: null,
      csv: false,
    });
  });

  it('reads --accepted-only (flag alone = accepted) and --event-threshold-sn', () => {
    expect(parseJobOptions({ acceptedOnly: true, eventThresholdSn: '3' })).toEqual({
      acceptedOnly: 'accepted',
      eventThresholdSn: 3,
      csv: false,
    });
    expect(parseJobOptions({ acceptedOnly: 'accepted+undecided' }).acceptedOnly).toBe(
      'accepted+undecided',
    );
  });

  it('reads csv (a flag, or a boolean-like in the job file) from the options table', () => {
    expect(parseJobOptions({ csv: true }).csv).toBe(true);
    expect(parseJobOptions({ csv: 'false' }).csv).toBe(false);
    expect(parseJobOptions({ csv: 'yes' }).csv).toBe(true);
    expect(() => parseJobOptions({ csv: 'sometimes' })).toThrowError(
      'parameter csv = "sometimes" is invalid: expected true or false',
    );
    expect(jobOptionHelp('csv')).toMatch(/neural_events\.kkk\.csv .* \(default: false\)$/);
  });

  it('rejects a bad mode or a negative threshold', () => {
    expect(() => parseJobOptions({ acceptedOnly: 'all' })).toThrow(InvalidParameterError);
    expect(() => parseJobOptions({ eventThresholdSn: '-1' })).toThrowError(/event-threshold-sn/);
  });
});
