/**
 * Cell sets too large to hold in memory, for plan tests (the plan reads footers only): the
 * writer's output is counted but only its tail (the footer and what precedes it within 1 MiB)
 * is kept; reads elsewhere return zeros. Also written as a sparse file for CLI tests.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { ByteSink, ByteSource } from '../../../lib/bytes.js';
import { createCellSetWriter } from '../../../lib/isxd/index.js';

const TAIL_BYTES = 1024 * 1024;

/** A cell set of `numCells` zero traces of `numTimes` frames, 4×4 footprints: size and tail. */
async function footerOnlyBytes(
  numCells: number,
  numTimes: number,
): Promise<{ size: number; tailOffset: number; tail: Uint8Array }> {
  let size = 0;
  let kept: { offset: number; bytes: Uint8Array }[] = [];
  const sink: ByteSink = {
    async write(chunk) {
      kept.push({ offset: size, bytes: chunk.slice() });
      size += chunk.length;
      // drop chunks that ended more than TAIL_BYTES before the end
      while (kept.length > 1 && size - kept[1].offset >= TAIL_BYTES) kept = kept.slice(1);
    },
    async close() {},
    async abort() {},
  };
  const writer = createCellSetWriter(sink, {
    timing: { numTimes, period: { num: 50, den: 1000 } },
    spacing: { numPixels: { x: 4, y: 4 } },
  });
  const fp = new Float32Array(16);
  fp[5] = 1;
  const trace = new Float32Array(numTimes);
  for (let i = 0; i < numCells; i++) await writer.addCell(fp, trace);
  await writer.finish();
  const tailOffset = kept[0].offset;
  const tail = new Uint8Array(size - tailOffset);
  for (const k of kept) tail.set(k.bytes, k.offset - tailOffset);
  return { size, tailOffset, tail };
}

/** A ByteSource over such a cell set: the tail is real, everything before it zeros. */
async function footerOnlyCellSet(
  name: string,
  numCells: number,
  numTimes: number,
): Promise<ByteSource> {
  const { size, tailOffset, tail } = await footerOnlyBytes(numCells, numTimes);
  return {
    name,
    size: async () => size,
    async read(offset, length) {
      const end = Math.min(size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      for (let i = Math.max(offset, tailOffset); i < end; i++)
        out[i - offset] = tail[i - tailOffset];
      return out;
    },
  } as ByteSource;
}

/** The same cell set as a sparse file at `path` (only the tail is written). */
async function writeFooterOnlyFile(
  path: string,
  numCells: number,
  numTimes: number,
): Promise<void> {
  const { size, tailOffset, tail } = await footerOnlyBytes(numCells, numTimes);
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    writeSync(fd, tail, 0, tail.length, tailOffset);
  } finally {
    closeSync(fd);
  }
}

export { footerOnlyCellSet, writeFooterOnlyFile };
