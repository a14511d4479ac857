/**
 * Structured solves of the reduced KKT systems of the 'cvxpy' SOCPs, O(T·p²) to factor
 * and O(T·p) per solve.
 *
 * The interior-point Newton system  [0 Gkᵀ; Gk −W²]·(x, z) = (bx, bz)  reduces to
 *
 *   H·x = bx + GkᵀW⁻²bz,  z = W⁻²(Gk·x − bz),  H = GkᵀW⁻²Gk.
 *
 * With the layout of problem.ts, W⁻² on the SOC block is β⁻²(I + 4‖w̄‖²vvᵀ − 2(vw̄ᵀ + w̄vᵀ)),
 * v = Jw̄, so
 *
 *   H = H₀ + U·C·Uᵀ,  U = [Gk_socᵀv, Gk_socᵀw̄],  C = β⁻²[[4‖w̄‖², −2], [−2, 0]],
 *
 * where H₀ = GᵀD_sG + β⁻²I on the c block (banded, bandwidth p) bordered by at most three
 * dense columns (b, c1, t). H₀ is solved by a banded Cholesky factorisation and a Schur
 * complement on the border; the rank-2 term by Sherman–Morrison–Woodbury. The same
 * machinery with D = 1, β = 1, U = 0 solves (I + GkᵀGk) for the ADMM method.
 */
import type { ConeDims, NtScaling } from './cones.js';
import { applyWsq } from './cones.js';
import type { ConeProblem } from './problem.js';
import { gkMul, gkTMul } from './problem.js';

/**
 * In-place banded Cholesky: a[i·(bw+1) + k] = A[i][i−k] becomes L[i][i−k], except that the
 * diagonal slot holds 1/L[i][i] (solves then multiply instead of divide).
 */
function bandCholesky(a: Float64Array, n: number, bw: number): void {
  const w = bw + 1;
  let maxDiag = 0;
  for (let i = 0; i < n; i++) if (a[i * w] > maxDiag) maxDiag = a[i * w];
  const floor = maxDiag * 1e-300 + Number.MIN_VALUE;
  for (let i = 0; i < n; i++) {
    const lo = Math.max(i - bw, 0);
    for (let j = lo; j < i; j++) {
      let v = a[i * w + (i - j)];
      const lo2 = Math.max(j - bw, lo);
      for (let l = lo2; l < j; l++) v -= a[i * w + (i - l)] * a[j * w + (j - l)];
      a[i * w + (i - j)] = v * a[j * w];
    }
    let dgl = a[i * w];
    for (let l = lo; l < i; l++) dgl -= a[i * w + (i - l)] * a[i * w + (i - l)];
    a[i * w] = 1 / Math.sqrt(Math.max(dgl, floor));
  }
}

/** Solves L·Lᵀ·x = x in place with a factor from bandCholesky. */
function bandSolve(l: Float64Array, n: number, bw: number, x: Float64Array): void {
  const w = bw + 1;
  if (bw === 1) {
    let prev = x[0] * l[0];
    x[0] = prev;
    for (let i = 1; i < n; i++) {
      prev = (x[i] - l[i * 2 + 1] * prev) * l[i * 2];
      x[i] = prev;
    }
    let next = x[n - 1] * l[(n - 1) * 2];
    x[n - 1] = next;
    for (let i = n - 2; i >= 0; i--) {
      next = (x[i] - l[(i + 1) * 2 + 1] * next) * l[i * 2];
      x[i] = next;
    }
    return;
  }
  if (bw === 2 && n >= 2) {
    // L[i] = (1/L_ii, L_{i,i−1}, L_{i,i−2}) at l[3i], l[3i+1], l[3i+2]
    let p2 = x[0] * l[0];
    let p1 = (x[1] - l[4] * p2) * l[3];
    x[0] = p2;
    x[1] = p1;
    for (let i = 2; i < n; i++) {
      const v = (x[i] - l[3 * i + 1] * p1 - l[3 * i + 2] * p2) * l[3 * i];
      x[i] = v;
      p2 = p1;
      p1 = v;
    }
    let n1 = x[n - 1] * l[3 * (n - 1)];
    let n2 = (x[n - 2] - l[3 * (n - 1) + 1] * n1) * l[3 * (n - 2)];
    x[n - 1] = n1;
    x[n - 2] = n2;
    for (let i = n - 3; i >= 0; i--) {
      const v = (x[i] - l[3 * (i + 1) + 1] * n2 - l[3 * (i + 2) + 2] * n1) * l[3 * i];
      x[i] = v;
      n1 = n2;
      n2 = v;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    let v = x[i];
    const lo = Math.max(i - bw, 0);
    for (let j = lo; j < i; j++) v -= l[i * w + (i - j)] * x[j];
    x[i] = v * l[i * w];
  }
  for (let i = n - 1; i >= 0; i--) {
    let v = x[i];
    const hi = Math.min(i + bw, n - 1);
    for (let j = i + 1; j <= hi; j++) v -= l[j * w + (j - i)] * x[j];
    x[i] = v * l[i * w];
  }
}

/** Solves the small dense system A·x = b (row-major k×k) by Gaussian elimination. */
function denseSolve(A: Float64Array, k: number, b: Float64Array, work: Float64Array): void {
  const M = work;
  M.set(A);
  for (let col = 0; col < k; col++) {
    let piv = col;
    for (let r = col + 1; r < k; r++)
      if (Math.abs(M[r * k + col]) > Math.abs(M[piv * k + col])) piv = r;
    if (piv !== col) {
      for (let c = 0; c < k; c++) {
        const tmp = M[col * k + c];
        M[col * k + c] = M[piv * k + c];
        M[piv * k + c] = tmp;
      }
      const tb = b[col];
      b[col] = b[piv];
      b[piv] = tb;
    }
    const d = M[col * k + col];
    for (let r = col + 1; r < k; r++) {
      const f = M[r * k + col] / d;
      if (f === 0) continue;
      for (let c = col; c < k; c++) M[r * k + c] -= f * M[col * k + c];
      b[r] -= f * b[col];
    }
  }
  for (let r = k - 1; r >= 0; r--) {
    let v = b[r];
    for (let c = r + 1; c < k; c++) v -= M[r * k + c] * b[c];
    b[r] = v / M[r * k + r];
  }
}

/** Iterative refinement stops once ‖KKT residual‖∞ ≤ REFINE_TOL·‖rhs‖∞. */
const REFINE_TOL = 1e-13;

/**
 * Factorisation of H = H₀ + U·C·Uᵀ (see module TSDoc) with preallocated work space.
 * `factor` then any number of `solveH` / `solveKkt` calls.
 */
class StructuredKkt {
  private readonly P: ConeProblem;
  private readonly dims: ConeDims;
  private readonly band: Float64Array;
  private readonly ext: number[];
  private readonly border: Float64Array[];
  private readonly borderSolved: Float64Array[];
  private readonly schur: Float64Array;
  private readonly work: Float64Array;
  private readonly U: Float64Array[];
  private readonly Y: Float64Array[];
  private readonly K: Float64Array;
  private rank = 0;
  private readonly tmpE: Float64Array;
  private readonly rhsN: Float64Array;
  private readonly tmpM: Float64Array;
  private readonly resN: Float64Array;
  private readonly resM: Float64Array;
  private readonly dx: Float64Array;
  private readonly dz: Float64Array;
  private sc: NtScaling | null = null;
  private readonly sumD: number;
  private readonly sumD2: number;

  constructor(P: ConeProblem) {
    this.P = P;
    this.dims = { nl: P.nl, m: P.m };
    const { T, p, n, m } = P;
    this.band = new Float64Array(T * (p + 1));
    this.ext = [P.idxB, P.idxC1, P.idxT].filter((i) => i >= 0);
    const ne = this.ext.length;
    this.border = this.ext.map(() => new Float64Array(T));
    this.borderSolved = this.ext.map(() => new Float64Array(T));
    this.schur = new Float64Array(ne * ne);
    this.work = new Float64Array(ne * ne);
    this.U = [new Float64Array(n), new Float64Array(n)];
    this.Y = [new Float64Array(n), new Float64Array(n)];
    this.K = new Float64Array(4);
    this.tmpE = new Float64Array(ne);
    this.rhsN = new Float64Array(n);
    this.tmpM = new Float64Array(m);
    this.resN = new Float64Array(n);
    this.resM = new Float64Array(m);
    this.dx = new Float64Array(n);
    this.dz = new Float64Array(m);
    let s1 = 0;
    let s2 = 0;
    for (let t = 0; t < T; t++) {
      s1 += P.decay[t];
      s2 += P.decay[t] * P.decay[t];
    }
    this.sumD = s1;
    this.sumD2 = s2;
  }

  /**
   * Factors H for diagonal weights dLin (the ℝ₊ rows' W⁻², length nl), a ridge `shift`
   * added to the c block, and the SOC scaling (β, w̄); `soc = false` means W = I on the
   * SOC block without the rank-2 term (used by ADMM with dLin = 1, shift = 1).
   */
  factor(dLin: Float64Array, shift: number, sc: NtScaling, soc: boolean): void {
    const { P, band, ext } = this;
    const { T, p, g, decay } = P;
    const w = p + 1;
    const ib2 = soc ? 1 / (sc.beta * sc.beta) : 1;
    band.fill(0);
    // GᵀD_sG: accumulate row r of G (entries g̃₀ = 1, g̃_a = −g_a at column r−a)
    for (let r = 0; r < T; r++) {
      const Dr = dLin[r];
      const amax = Math.min(r, p);
      for (let a = 0; a <= amax; a++) {
        const ga = a === 0 ? 1 : -g[a - 1];
        const i = r - a;
        for (let b = a; b <= amax; b++) {
          const gb = b === 0 ? 1 : -g[b - 1];
          band[i * w + (b - a)] += Dr * ga * gb;
        }
      }
    }
    for (let i = 0; i < T; i++) band[i * w] += ib2 + shift;
    bandCholesky(band, T, p);
    const ne = ext.length;
    let row = T;
    const dB = P.idxB >= 0 ? dLin[row++] : 0;
    const dC1 = P.idxC1 >= 0 ? dLin[row++] : 0;
    for (let e = 0; e < ne; e++) {
      const col = this.border[e];
      const idx = ext[e];
      if (idx === P.idxB) col.fill(ib2);
      else if (idx === P.idxC1) for (let t = 0; t < T; t++) col[t] = ib2 * decay[t];
      else col.fill(0);
      const sol = this.borderSolved[e];
      sol.set(col);
      bandSolve(band, T, p, sol);
    }
    for (let e = 0; e < ne; e++) {
      for (let f = 0; f < ne; f++) {
        const ie = ext[e];
        const jf = ext[f];
        let v = 0;
        if (ie === P.idxB && jf === P.idxB) v = dB + T * ib2;
        else if (ie === P.idxC1 && jf === P.idxC1) v = dC1 + this.sumD2 * ib2;
        else if ((ie === P.idxB && jf === P.idxC1) || (ie === P.idxC1 && jf === P.idxB))
          v = this.sumD * ib2;
        else if (ie === P.idxT && jf === P.idxT) v = ib2;
        const be = this.border[e];
        const sf = this.borderSolved[f];
        let dot = 0;
        for (let t = 0; t < T; t++) dot += be[t] * sf[t];
        this.schur[e * ne + f] = v - dot + (e === f ? shift : 0);
      }
    }
    this.rank = 0;
    if (soc) {
      this.sc = sc;
      const wb = sc.wbar;
      let ww = 0;
      for (let i = 0; i < wb.length; i++) ww += wb[i] * wb[i];
      // a = Gk_socᵀ v (v = Jw̄), b = Gk_socᵀ w̄; Gk_socᵀu = (u₁, Σu₁, dᵀu₁, −u₀)
      const [ua, ub] = this.U;
      ua.fill(0);
      ub.fill(0);
      let s = 0;
      let sd = 0;
      for (let t = 0; t < T; t++) {
        const v = wb[t + 1];
        ua[t] = -v;
        ub[t] = v;
        s += v;
        sd += v * decay[t];
      }
      if (P.idxB >= 0) {
        ua[P.idxB] = -s;
        ub[P.idxB] = s;
      }
      if (P.idxC1 >= 0) {
        ua[P.idxC1] = -sd;
        ub[P.idxC1] = sd;
      }
      if (P.idxT >= 0) {
        ua[P.idxT] = -wb[0];
        ub[P.idxT] = -wb[0];
      }
      this.solveH0(ua, this.Y[0]);
      this.solveH0(ub, this.Y[1]);
      // K = C⁻¹ + UᵀY, C⁻¹ = β²[[0, −½], [−½, −‖w̄‖²]]
      const b2 = 1 / ib2;
      const alpha = 4 * ww;
      const dot = (x: Float64Array, y: Float64Array): number => {
        let v = 0;
        for (let i = 0; i < x.length; i++) v += x[i] * y[i];
        return v;
      };
      this.K[0] = dot(ua, this.Y[0]);
      this.K[1] = -0.5 * b2 + dot(ua, this.Y[1]);
      this.K[2] = -0.5 * b2 + dot(ub, this.Y[0]);
      this.K[3] = (-alpha / 4) * b2 + dot(ub, this.Y[1]);
      this.rank = 2;
    }
  }

  /** out = H₀⁻¹·r (out may not alias r). */
  private solveH0(r: Float64Array, out: Float64Array): void {
    const { P, ext, band } = this;
    const { T, p } = P;
    out.set(r);
    bandSolve(band, T, p, out);
    const ne = ext.length;
    if (ne === 0) return;
    const rz = this.tmpE;
    const [b0, b1, b2] = this.border;
    let d0 = 0;
    let d1 = 0;
    let d2 = 0;
    if (ne === 1) for (let t = 0; t < T; t++) d0 += b0[t] * out[t];
    else if (ne === 2)
      for (let t = 0; t < T; t++) {
        d0 += b0[t] * out[t];
        d1 += b1[t] * out[t];
      }
    else
      for (let t = 0; t < T; t++) {
        d0 += b0[t] * out[t];
        d1 += b1[t] * out[t];
        d2 += b2[t] * out[t];
      }
    rz[0] = r[ext[0]] - d0;
    if (ne > 1) rz[1] = r[ext[1]] - d1;
    if (ne > 2) rz[2] = r[ext[2]] - d2;
    denseSolve(this.schur, ne, rz, this.work);
    const [s0, s1, s2] = this.borderSolved;
    const x0 = rz[0];
    if (ne === 1) for (let t = 0; t < T; t++) out[t] -= s0[t] * x0;
    else if (ne === 2) {
      const x1 = rz[1];
      for (let t = 0; t < T; t++) out[t] -= s0[t] * x0 + s1[t] * x1;
    } else {
      const x1 = rz[1];
      const x2 = rz[2];
      for (let t = 0; t < T; t++) out[t] -= s0[t] * x0 + s1[t] * x1 + s2[t] * x2;
    }
    for (let e = 0; e < ne; e++) out[ext[e]] = rz[e];
  }

  /** out = H⁻¹·r by Sherman–Morrison–Woodbury on top of H₀. */
  solveH(r: Float64Array, out: Float64Array): void {
    this.solveH0(r, out);
    if (this.rank === 0) return;
    const [ua, ub] = this.U;
    let pa = 0;
    let pb = 0;
    for (let i = 0; i < out.length; i++) {
      pa += ua[i] * out[i];
      pb += ub[i] * out[i];
    }
    const K = this.K;
    const det = K[0] * K[3] - K[1] * K[2];
    const wa = (K[3] * pa - K[1] * pb) / det;
    const wb = (-K[2] * pa + K[0] * pb) / det;
    const [ya, yb] = this.Y;
    for (let i = 0; i < out.length; i++) out[i] -= ya[i] * wa + yb[i] * wb;
  }

  /**
   * Solves [0 Gkᵀ; Gk −W²]·(x, z) = (bx, bz) with up to `refine` steps of iterative
   * refinement (stopped once the residual is below REFINE_TOL relative, and undone when a
   * step increases it).
   */
  solveKkt(
    bx: Float64Array,
    bz: Float64Array,
    x: Float64Array,
    z: Float64Array,
    refine: number,
  ): void {
    this.solveOnce(bx, bz, x, z);
    const { resN, resM, dx, dz, tmpM } = this;
    let scale = 0;
    for (let i = 0; i < bx.length; i++) scale = Math.max(scale, Math.abs(bx[i]));
    for (let i = 0; i < bz.length; i++) scale = Math.max(scale, Math.abs(bz[i]));
    const tol = REFINE_TOL * scale;
    let prevNorm = Number.POSITIVE_INFINITY;
    for (let it = 0; it <= refine; it++) {
      // residuals: bx − Gkᵀz, bz − Gk x + W²z
      gkTMul(this.P, z, resN);
      for (let i = 0; i < resN.length; i++) resN[i] = bx[i] - resN[i];
      gkMul(this.P, x, resM);
      applyWsq(this.dims, this.sc as NtScaling, z, tmpM, false);
      let norm = 0;
      for (let i = 0; i < resM.length; i++) {
        resM[i] = bz[i] - resM[i] + tmpM[i];
        norm = Math.max(norm, Math.abs(resM[i]));
      }
      for (let i = 0; i < resN.length; i++) norm = Math.max(norm, Math.abs(resN[i]));
      if (norm <= tol) break;
      if (!(norm < prevNorm)) {
        // the last correction made things worse (ill-conditioned factor): undo it
        for (let i = 0; i < x.length; i++) x[i] -= dx[i];
        for (let i = 0; i < z.length; i++) z[i] -= dz[i];
        break;
      }
      if (it === refine) break;
      prevNorm = norm;
      this.solveOnce(resN, resM, dx, dz);
      for (let i = 0; i < x.length; i++) x[i] += dx[i];
      for (let i = 0; i < z.length; i++) z[i] += dz[i];
    }
  }

  private solveOnce(bx: Float64Array, bz: Float64Array, x: Float64Array, z: Float64Array): void {
    const { rhsN, tmpM } = this;
    applyWsq(this.dims, this.sc as NtScaling, bz, tmpM, true);
    gkTMul(this.P, tmpM, rhsN);
    for (let i = 0; i < rhsN.length; i++) rhsN[i] += bx[i];
    this.solveH(rhsN, x);
    gkMul(this.P, x, tmpM);
    for (let i = 0; i < tmpM.length; i++) tmpM[i] -= bz[i];
    applyWsq(this.dims, this.sc as NtScaling, tmpM, z, true);
  }
}

export { bandCholesky, bandSolve, denseSolve, StructuredKkt };
