import { describe, expect, it } from 'vitest';
import {
  ARM64_SAFETY_FACTOR,
  CHUNK_BUDGET_SECONDS,
  CHUNK_OVERHEAD_SECONDS,
  cellsWithinBudget,
  chargedSolves,
  chunkSeconds,
  costEngine,
  LOCAL_CHUNK_OVERHEAD_SECONDS,
  OASIS_OPTIONS_FACTOR,
  PER_TRACE,
  traceSeconds,
} from '../../../lib/job/costModel.js';
import { parseToolParams } from '../../../lib/job/params.js';

const at = (raw: Record<string, unknown>) => parseToolParams(raw);

describe('costModel: per-trace seconds', () => {
  it('prices the engine the parameters select', () => {
    // Act / Assess
    expect(costEngine(at({}))).toBe('oasis-p1');
    expect(costEngine(at({ p: 2 }))).toBe('oasis-p2');
    expect(costEngine(at({ p: 0 }))).toBe('oasis-p1');
    expect(costEngine(at({ method_deconvolution: 'cvxpy' }))).toBe('ECOS-p1');
    expect(costEngine(at({ method_deconvolution: 'cvxpy', solvers: 'SCS,ECOS', p: 2 }))).toBe(
      'SCS-p2',
    );
    expect(costEngine(at({ method_deconvolution: 'cvxpy', solvers: 'CVXOPT,SCS' }))).toBe(
      'CVXOPT-p1',
    );
  });

  it('prices p = 0 (noise estimate and pass-through) as one oasis AR(1) solve, whatever the method', () => {
    // Prepare
    const p0 = at({ p: 0, method_deconvolution: 'cvxpy', solvers: 'SCS,ECOS' });
    // Act
    const seconds = traceSeconds(p0, 100_000, ARM64_SAFETY_FACTOR);
    // Assess
    expect(costEngine(p0)).toBe('oasis-p1');
    expect(chargedSolves(p0)).toBe(1);
    expect(seconds).toBeCloseTo(traceSeconds(at({}), 100_000, ARM64_SAFETY_FACTOR), 12);
    expect(seconds).toBeLessThan(0.1);
  });

  it('is a·T^b per solve, times the solves charged and the target factor', () => {
    // Arrange
    const scs = at({ method_deconvolution: 'cvxpy', solvers: 'SCS,ECOS' });
    const { a, b } = PER_TRACE['SCS-p1'];

    // Act
    const local = traceSeconds(scs, 36000);
    const lambda = traceSeconds(scs, 36000, ARM64_SAFETY_FACTOR);

    // Assess: primary and fallback (2 solves) by SCS
    expect(chargedSolves(scs)).toBe(2);
    expect(local).toBeCloseTo(2 * a * 36000 ** b, 12);
    expect(local).toBeCloseTo(33.5, 0);
    expect(lambda).toBeCloseTo(ARM64_SAFETY_FACTOR * local, 12);
  });

  it("prices 'ECOS,SCS' as ECOS (the second solver runs only after a solver error)", () => {
    // Act
    const ecosScs = traceSeconds(at({ method_deconvolution: 'cvxpy', solvers: 'ECOS,SCS' }), 36000);
    const scsEcos = traceSeconds(at({ method_deconvolution: 'cvxpy', solvers: 'SCS,ECOS' }), 36000);

    // Assess
    const { a, b } = PER_TRACE['ECOS-p1'];
    expect(ecosScs).toBeCloseTo(2 * a * 36000 ** b, 12);
    expect(scsEcos / ecosScs).toBeGreaterThan(50);
  });

  it('multiplies OASIS by optimize_g and s_min = 0, not cvxpy', () => {
    // Arrange
    const base = traceSeconds(at({}), 36000);

    // Act / Assess
    expect(traceSeconds(at({ optimize_g: 1 }), 36000)).toBeCloseTo(
      base * OASIS_OPTIONS_FACTOR.optimize_g,
      12,
    );
    expect(traceSeconds(at({ optimize_g: 1, s_min: 0 }), 36000)).toBeCloseTo(
      base * OASIS_OPTIONS_FACTOR.optimize_g * OASIS_OPTIONS_FACTOR.s_min0,
      12,
    );
    expect(chargedSolves(at({ method_deconvolution: 'cvxpy', optimize_g: 1, s_min: 0 }))).toBe(2);
  });
});

describe('costModel: chunks and the budget', () => {
  it('a chunk is the overhead plus its traces', () => {
    expect(chunkSeconds(2.5, 4)).toBe(CHUNK_OVERHEAD_SECONDS + 10);
  });

  it('fits ⌊(budget − overhead) / perTrace⌋ cells, 0 when one does not fit', () => {
    // Act / Assess
    expect(CHUNK_BUDGET_SECONDS).toBe(300);
    expect(cellsWithinBudget(10, 300)).toBe(Math.floor((300 - CHUNK_OVERHEAD_SECONDS) / 10));
    expect(cellsWithinBudget(300 - CHUNK_OVERHEAD_SECONDS, 300)).toBe(1);
    expect(cellsWithinBudget(300 - CHUNK_OVERHEAD_SECONDS + 0.001, 300)).toBe(0);
    expect(cellsWithinBudget(0, 300)).toBe(Number.POSITIVE_INFINITY);
    expect(cellsWithinBudget(10, 300, LOCAL_CHUNK_OVERHEAD_SECONDS)).toBe(29);
    expect(chunkSeconds(2.5, 4, LOCAL_CHUNK_OVERHEAD_SECONDS)).toBeCloseTo(10.01, 12);
  });
});
