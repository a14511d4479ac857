/**
 * mulberry32: a small, fast, seeded uniform generator on [0, 1) for synthetic data (demo cell
 * sets, tests). Not numpy's stream: CaImAn's generator lives in lib/deconvolution/legacyRandom.ts.
 */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export { mulberry32 };
