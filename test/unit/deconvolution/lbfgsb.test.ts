import { describe, expect, it } from 'vitest';
import { lbfgsb } from '../../../lib/deconvolution/lbfgsb.js';

/** Extended Rosenbrock Σ a(x_{i+1} − x_i²)² + (1 − x_i)² and its gradient. */
function rosenbrock(a: number) {
  return (x: Float64Array, g: Float64Array): number => {
    let f = 0;
    g.fill(0);
    for (let i = 0; i + 1 < x.length; i++) {
      const u = x[i + 1] - x[i] * x[i];
      const v = 1 - x[i];
      f += a * u * u + v * v;
      g[i] += -4 * a * u * x[i] - 2 * v;
      g[i + 1] += 2 * a * u;
    }
    return f;
  };
}

const INF = Number.POSITIVE_INFINITY;
const opts = (maxIter: number) => ({ maxIter, pgtol: 1e-8, ftol: 1e-12 });

/**
 * Expected iterates from scipy 1.17.1: minimize(fun, x0, jac=True, method='L-BFGS-B', bounds,
 * options={'maxiter': maxIter, 'gtol': 1e-8, 'ftol': 1e-12}) on Rosenbrock with a = 100.
 */
describe('lbfgsb', () => {
  it("stops after maxIter iterations at scipy's 5th iterate (unconstrained)", () => {
    // Act
    const r = lbfgsb(
      rosenbrock(100),
      Float64Array.of(-1.2, 1),
      Float64Array.of(-INF, -INF),
      Float64Array.of(INF, INF),
      opts(5),
    );
    // Assess
    expect(r.status).toBe('maxIter');
    expect(r.nIter).toBe(5);
    expect(r.x[0]).toBeCloseTo(-1.021385160033696, 11);
    expect(r.x[1]).toBeCloseTo(1.0392943881350645, 11);
  });

  it('converges to the minimiser like scipy (38 iterations, unconstrained)', () => {
    // Act
    const r = lbfgsb(
      rosenbrock(100),
      Float64Array.of(-1.2, 1),
      Float64Array.of(-INF, -INF),
      Float64Array.of(INF, INF),
      opts(100),
    );
    // Assess
    expect(r.status).toBe('pgtol');
    expect(r.nIter).toBe(38);
    expect(r.x[0]).toBeCloseTo(0.9999999999864378, 9);
    expect(r.x[1]).toBeCloseTo(0.9999999999717798, 9);
  });

  it('ends on the active bound x₀ = 0.5 at the constrained minimiser (0.5, 0.25)', () => {
    // Act
    const r = lbfgsb(
      rosenbrock(100),
      Float64Array.of(-1.2, 1),
      Float64Array.of(-2, -INF),
      Float64Array.of(0.5, 0.3),
      opts(100),
    );
    // Assess
    expect(r.status).toBe('pgtol');
    expect(r.x[0]).toBe(0.5);
    expect(r.x[1]).toBeCloseTo(0.25, 9);
  });

  it("matches scipy's 4th iterate with mixed bounds in 3 variables", () => {
    // Act
    const r = lbfgsb(
      rosenbrock(100),
      Float64Array.of(0.3, -0.4, 1.7),
      Float64Array.of(0, -1, -INF),
      Float64Array.of(INF, 1, INF),
      opts(4),
    );
    // Assess
    expect(r.nIter).toBe(4);
    expect(r.x[0]).toBeCloseTo(0.09902569926365777, 11);
    expect(r.x[1]).toBeCloseTo(0.0055151474839982405, 11);
    expect(r.x[2]).toBeCloseTo(0.004425717468106882, 11);
  });

  it('returns the start when its projected gradient is already below pgtol', () => {
    // Act
    const r = lbfgsb(
      rosenbrock(100),
      Float64Array.of(3, 1),
      Float64Array.of(-INF, -INF),
      Float64Array.of(1, 1),
      opts(10),
    );
    // Assess: at the corner (1, 1) after clipping, ∇f = 0.
    expect(r.status).toBe('pgtol');
    expect(r.nIter).toBe(0);
    expect(Array.from(r.x)).toEqual([1, 1]);
  });
});
