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

export { correlation, maxAbs };
