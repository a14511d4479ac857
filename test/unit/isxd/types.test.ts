import { describe, expect, it } from 'vitest';
import {
  invalidFrameIndices,
  invalidFrameMask,
  normalizeTiming,
  type TimingInfo,
} from '../../../lib/isxd/types.js';

const base: TimingInfo = {
  numTimes: 12,
  period: { num: 100n, den: 1000n },
  start: { secsSinceEpoch: { num: 0n, den: 1n }, utcOffset: 0 },
  dropped: [],
  cropped: [],
  blank: [],
};

describe('normalizeTiming', () => {
  it('sorts and merges touching cropped ranges (§3.3 example)', () => {
    // Act
    const timing = normalizeTiming({
      ...base,
      cropped: [
        [6, 7],
        [5, 5],
      ],
    });
    // Assess
    expect(timing.cropped).toEqual([[5, 7]]);
  });

  it('keeps separate ranges apart and merges overlapping ones', () => {
    // Act
    const timing = normalizeTiming({
      ...base,
      cropped: [
        [9, 10],
        [1, 2],
        [2, 4],
        [6, 6],
      ],
    });
    // Assess
    expect(timing.cropped).toEqual([
      [1, 4],
      [6, 6],
      [9, 10],
    ]);
  });

  it('drops cropped indices from blank, and cropped or blank ones from dropped, keeping duplicates', () => {
    // Act
    const timing = normalizeTiming({
      ...base,
      cropped: [[2, 3]],
      blank: [8, 3, 1],
      dropped: [9, 1, 2, 9, 0],
    });
    // Assess
    expect(timing.blank).toEqual([1, 8]);
    expect(timing.dropped).toEqual([0, 9, 9]);
  });
});

describe('invalidFrameMask', () => {
  it('marks dropped, cropped and blank samples below numTimes', () => {
    // Prepare
    const timing = {
      ...base,
      numTimes: 8,
      dropped: [0, 20],
      cropped: [
        [3, 4],
        [7, 30],
      ] as const,
      blank: [5],
    };
    // Act
    const mask = invalidFrameMask(timing);
    const indices = invalidFrameIndices(timing);
    // Assess
    expect(Array.from(mask)).toEqual([1, 0, 0, 1, 1, 1, 0, 1]);
    expect(Array.from(indices)).toEqual([0, 3, 4, 5, 7]);
  });
});

describe('invalidFrameIndices', () => {
  it('agrees with the mask on random seeded timings', () => {
    // Prepare
    let seed = 12345;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let trial = 0; trial < 200; trial++) {
      const numTimes = 1 + next(40);
      const list = () => Array.from({ length: next(6) }, () => next(50));
      const cropped = Array.from({ length: next(4) }, () => {
        const a = next(45);
        return [a, a + next(8)] as const;
      });
      const timing = { ...base, numTimes, dropped: list(), blank: list(), cropped };
      // Act
      const indices = invalidFrameIndices(timing);
      // Assess
      const mask = invalidFrameMask(timing);
      expect(Array.from(indices)).toEqual(Array.from(mask.keys()).filter((i) => mask[i] === 1));
    }
  });

  it('does not allocate numTimes for a huge frame count', () => {
    // Act
    const indices = invalidFrameIndices({
      ...base,
      numTimes: 2 ** 32 - 1,
      dropped: [7],
      cropped: [[2, 3]],
    });
    // Assess
    expect(Array.from(indices)).toEqual([2, 3, 7]);
  });
});
