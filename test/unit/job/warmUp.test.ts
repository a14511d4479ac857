/**
 * The worker's engine warm-up (lib/job/warmUp.ts): it runs its traces through the engine, and a
 * trace deconvolved after it gives exactly what it gave before (no state carried over).
 */
import { describe, expect, it } from 'vitest';
import { constrainedFoopsi } from '../../../lib/deconvolution/constrainedFoopsi.js';
import { WARM_UP_TRACES, warmUpEngine } from '../../../lib/job/warmUp.js';
import { genBenchTraces } from '../../helpers/genData.js';

describe('warmUpEngine', () => {
  it('deconvolves its traces and changes no later result, bit for bit', () => {
    // Prepare: results of two orders before any warm-up, with other g tables in between
    const [y] = genBenchTraces(1, 1, 2000);
    const [y2] = genBenchTraces(2, 1, 2000);
    const before = constrainedFoopsi(y, {});
    const before2 = constrainedFoopsi(y2, { p: 2 });
    // Act
    const n1 = warmUpEngine({});
    const n2 = warmUpEngine({ p: 2 });
    const after = constrainedFoopsi(y, {});
    const after2 = constrainedFoopsi(y2, { p: 2 });
    // Assess
    expect([n1, n2]).toEqual([WARM_UP_TRACES, WARM_UP_TRACES]);
    for (const [a, b] of [
      [before, after],
      [before2, after2],
    ]) {
      expect(Buffer.from(b.c.buffer, b.c.byteOffset, b.c.byteLength)).toEqual(
        Buffer.from(a.c.buffer, a.c.byteOffset, a.c.byteLength),
      );
      expect(Array.from(b.sp)).toEqual(Array.from(a.sp));
      expect([b.bl, b.c1, b.sn, b.lam, ...b.g]).toEqual([a.bl, a.c1, a.sn, a.lam, ...a.g]);
    }
  });
});
