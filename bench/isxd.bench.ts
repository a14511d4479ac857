/**
 * `npm run bench:isxd`: streams a cell set of N cells × T frames with W×H footprints
 * (default 1000 × 10 000, 64×64 ≈ 56 MB) to a temp dir through createCellSetWriter + fileSink,
 * reads it back through openCellSet + fileSource (streaming and random access), and prints
 * throughput as MB/s and as a ratio to plain FileHandle writes/reads of the same bytes measured in
 * the same run (each phase best of two runs), plus the peak RSS. Random access is reported as
 * the time to read every trace one readTrace at a time, extrapolated from 200 reads. Options: --cells N --frames T --size W (square footprints).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileSink, fileSource } from '../bin/fileSource.js';
import { createCellSetWriter, openCellSet } from '../lib/isxd/index.js';

const { values } = parseArgs({
  options: {
    cells: { type: 'string', default: '1000' },
    frames: { type: 'string', default: '10000' },
    size: { type: 'string', default: '64' },
  },
});
const numCells = Number(values.cells);
const numTimes = Number(values.frames);
const side = Number(values.size);
const pixels = side * side;
const bytesPerCell = 4 * (pixels + numTimes);
const dataBytes = numCells * bytesPerCell;
const MB = 1e6;

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function baselineWrite(path: string): Promise<number> {
  const chunk = new Uint8Array(1 << 20).fill(7);
  const start = process.hrtime.bigint();
  const handle = await open(path, 'w');
  for (let done = 0; done < dataBytes; done += chunk.byteLength)
    await handle.write(chunk, 0, Math.min(chunk.byteLength, dataBytes - done));
  await handle.close();
  return seconds(start);
}

async function baselineRead(path: string): Promise<number> {
  const chunk = Buffer.allocUnsafe(8 << 20);
  const start = process.hrtime.bigint();
  const handle = await open(path, 'r');
  let sum = 0;
  for (let at = 0; ; ) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.byteLength, at);
    if (bytesRead === 0) break;
    sum += chunk[0];
    at += bytesRead;
  }
  await handle.close();
  return sum >= 0 ? seconds(start) : 0;
}

async function libraryWrite(path: string): Promise<number> {
  const footprint = new Float32Array(pixels);
  const trace = new Float32Array(numTimes);
  for (let i = 0; i < pixels; i++) footprint[i] = i % 97 === 0 ? 0.25 : 0;
  for (let t = 0; t < numTimes; t++) trace[t] = Math.sin(t / 10);
  const start = process.hrtime.bigint();
  const writer = createCellSetWriter(fileSink(path), {
    timing: { numTimes, period: { num: 50, den: 1000 }, dropped: [3, 500] },
    spacing: { numPixels: { x: side, y: side } },
  });
  for (let c = 0; c < numCells; c++) {
    trace[0] = c;
    await writer.addCell(footprint, trace);
  }
  await writer.finish();
  return seconds(start);
}

async function libraryRead(
  path: string,
): Promise<{ stream: number; random: number; checksum: number }> {
  const source = fileSource(path);
  let checksum = 0;
  let start = process.hrtime.bigint();
  const reader = await openCellSet(source);
  for await (const cell of reader.cells()) checksum += cell.trace[0] + cell.footprint[0];
  const stream = seconds(start);
  const picks = Math.min(200, reader.numCells);
  start = process.hrtime.bigint();
  for (let k = 0; k < picks; k++) {
    const trace = await reader.readTrace((k * 7919) % reader.numCells);
    checksum += trace[1];
  }
  const random = seconds(start) * (reader.numCells / picks);
  await source.close();
  return { stream, random, checksum };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'isxd-bench-'));
  try {
    const rawPath = join(dir, 'raw.bin');
    const cellPath = join(dir, 'cells.isxd');
    const best = async (run: () => Promise<number>) => Math.min(await run(), await run());
    const rawWrite = await best(() => baselineWrite(rawPath));
    const rawRead = await best(() => baselineRead(rawPath));
    rmSync(rawPath);
    const rssBefore = peakRssMB();
    const write = await best(() => libraryWrite(cellPath));
    const rssWrite = peakRssMB();
    const first = await libraryRead(cellPath);
    const second = await libraryRead(cellPath);
    const read = {
      stream: Math.min(first.stream, second.stream),
      random: Math.min(first.random, second.random),
      checksum: second.checksum,
    };
    const rate = (s: number) => (dataBytes / MB / s).toFixed(0).padStart(6);
    const traceBytes = numCells * 4 * numTimes;
    const traceRate = (s: number) => (traceBytes / MB / s).toFixed(0).padStart(6);
    const rows = [
      ['plain FileHandle write (baseline)', rate(rawWrite), '1.00'],
      ['createCellSetWriter → fileSink', rate(write), (rawWrite / write).toFixed(2)],
      ['plain FileHandle read (baseline)', rate(rawRead), '1.00'],
      ['openCellSet + cells() stream', rate(read.stream), (rawRead / read.stream).toFixed(2)],
      [
        'readTrace, every trace (trace bytes/s)',
        traceRate(read.random),
        (rawRead / ((read.random * dataBytes) / traceBytes)).toFixed(2),
      ],
    ];
    process.stdout.write(
      `isxd bench: ${numCells} cells × ${numTimes} frames, ${side}×${side} footprints, ${(dataBytes / MB).toFixed(1)} MB data\n`,
    );
    for (const [label, mbs, ratio] of rows)
      process.stdout.write(`  ${label.padEnd(40)} ${mbs} MB/s   ×${ratio} of baseline speed\n`);
    process.stdout.write(
      `  peak RSS ${peakRssMB().toFixed(0)} MB (limit 200 MB): ${rssBefore.toFixed(0)} MB after the baselines, ${rssWrite.toFixed(0)} MB after writing; checksum ${read.checksum}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
