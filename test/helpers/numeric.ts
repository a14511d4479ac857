/** Small numeric helpers shared by the tests. */

/** Pearson correlation of a and b, over the indices where `skip` (if given) is false. */
function correlation(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  skip?: (i: number) => boolean,
): number {
  let n = 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    if (skip?.(i)) continue;
    ma += a[i];
    mb += b[i];
    n++;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    if (skip?.(i)) continue;
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  if (saa === 0 && sbb === 0) return 1;
  return sab / Math.sqrt(saa * sbb);
}

/** max |a_i| over the finite entries. */
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i])) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * x = A⁻¹·b by Gaussian elimination with partial pivoting (dense test reference; A and b are
 * overwritten).
 */
function gaussSolve(A: number[][], b: number[]): number[] {
  const k = b.length;
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]];
    [b[c], b[p]] = [b[p], b[c]];
    for (let r = c + 1; r < k; r++) {
      const f = A[r][c] / A[c][c];
      for (let q = c; q < k; q++) A[r][q] -= f * A[c][q];
      b[r] -= f * b[c];
    }
  }
  for (let r = k - 1; r >= 0; r--) {
    for (let q = r + 1; q < k; q++) b[r] -= A[r][q] * b[q];
    b[r] /= A[r][r];
  }
  return b;
}

export { correlation, gaussSolve, maxAbs };
