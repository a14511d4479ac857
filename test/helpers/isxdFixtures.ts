/**
 * Test fixtures for lib/isxd: a seeded PRNG, synthetic cell sets / event sets written through the
 * library's own writers, a ByteSource that records its reads, and sample-file loading from
 * ../shared (never copied into the repo).
 */
import { readFileSync } from 'node:fs';
import { type ByteSource, memorySink, memorySource } from '../../lib/bytes.js';
import { IsxdErrorCode, IsxdFormatError } from '../../lib/errors.js';
import { encodeFooter } from '../../lib/isxd/container.js';
import {
  type CellSetHeaderInput,
  createCellSetWriter,
  createEventSetWriter,
  type EventSetHeaderInput,
} from '../../lib/isxd/index.js';
import { type JsonObject, parseJson } from '../../lib/isxd/json.js';
import { mulberry32 as seededRandom } from '../../lib/random.js';
import { sharedPath } from './shared.js';

/** The four sample files in ../shared/data. */
const SAMPLE_FILES = {
  cellsetPart1: 'cellset_series_part1.isxd',
  cellsetPart2: 'cellset_series_part2.isxd',
  eventsetMsr1: 'sample_eventset_msr_1.isxd',
  eventsetMsr2: 'sample_eventset_msr_2.isxd',
} as const;

/** Bytes of a sample file from ../shared/data. */
function readSample(file: string): Uint8Array {
  return new Uint8Array(readFileSync(sharedPath('data', file)));
}

/** A ByteSource that records every read (to check read counts and allocation bounds). */
function recordingSource(
  name: string,
  bytes: Uint8Array,
): ByteSource & { reads: { offset: number; length: number }[] } {
  const inner = memorySource(name, bytes);
  const reads: { offset: number; length: number }[] = [];
  return {
    name,
    reads,
    size: () => inner.size(),
    read: (offset, length) => {
      reads.push({ offset, length });
      return inner.read(offset, length);
    },
  };
}

/** Splits a container into its data section and parsed footer (test-side, no validation). */
function splitContainer(bytes: Uint8Array): { data: Uint8Array; root: JsonObject } {
  const length = Number(
    new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(bytes.byteLength - 8, true),
  );
  const dataSize = bytes.byteLength - 9 - length;
  const text = new TextDecoder().decode(bytes.subarray(dataSize, dataSize + length));
  const root = parseJson(text, 'fixture');
  if (root.type !== 'object')
    throw new IsxdFormatError('fixture', IsxdErrorCode.WrongFileType, 'footer is not an object');
  return { data: bytes.subarray(0, dataSize), root };
}

/** The same file with its footer edited in place (`edit` mutates the parsed root). */
function editFooter(bytes: Uint8Array, edit: (root: JsonObject) => void): Uint8Array {
  const { data, root } = splitContainer(bytes);
  edit(root);
  return concatBytes(data, encodeFooter(root));
}

/** a ‖ b. */
function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Equal bytes? */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A synthetic cell: seeded footprint and trace. */
function syntheticCell(
  random: () => number,
  pixels: number,
  numTimes: number,
): { footprint: Float32Array; trace: Float32Array } {
  const footprint = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) footprint[i] = random() < 0.3 ? random() : 0;
  const trace = new Float32Array(numTimes);
  for (let t = 0; t < numTimes; t++) trace[t] = (random() - 0.2) * 10;
  return { footprint, trace };
}

/** Writes a synthetic cell set with `numCells` seeded cells; returns the file and the cells. */
async function makeCellSet(
  header: CellSetHeaderInput,
  numCells: number,
  seed = 1,
): Promise<{ bytes: Uint8Array; cells: { footprint: Float32Array; trace: Float32Array }[] }> {
  const random = seededRandom(seed);
  const pixels = header.spacing.numPixels.x * header.spacing.numPixels.y;
  const sink = memorySink();
  const writer = createCellSetWriter(sink, header);
  const cells = [];
  for (let i = 0; i < numCells; i++) {
    const cell = syntheticCell(random, pixels, header.timing.numTimes);
    cells.push(cell);
    await writer.addCell(cell.footprint, cell.trace);
  }
  await writer.finish();
  return { bytes: sink.bytes(), cells };
}

/** Writes an event set from per-cell (offsets, amplitudes). */
async function makeEventSet(
  header: EventSetHeaderInput,
  cells: { offsets: number[]; amplitudes: number[] }[],
): Promise<Uint8Array> {
  const sink = memorySink();
  const writer = createEventSetWriter(sink, header);
  for (const c of cells) await writer.addCell(c.offsets, c.amplitudes);
  await writer.finish();
  return sink.bytes();
}

export {
  concatBytes,
  editFooter,
  makeCellSet,
  makeEventSet,
  readSample,
  recordingSource,
  SAMPLE_FILES,
  sameBytes,
  seededRandom,
  splitContainer,
  syntheticCell,
};
