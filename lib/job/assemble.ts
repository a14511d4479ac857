/**
 * Assemble step of the job: a file's two outputs are the concatenation of its chunks' parts
 * (in chunk order) followed by a footer (isxd-format.md §1):
 *
 *   cellset_denoised.kkk.isxd = part₀ ‖ part₁ ‖ … ‖ buildCellSetFooter(input header)
 *   neural_events.kkk.isxd    = part₀ ‖ part₁ ‖ … ‖ buildEventSetFooter(names, timing, counts)
 *
 * The cell-set footer is rebuilt from the input's decoded header, so names, statuses, colours,
 * timing (dropped / cropped / blank), spacing, metrics and extraProperties carry over (the
 * footprints are byte-identical, so the metrics still hold); only the producer is ours. The
 * event-set footer copies the input's extraProperties (null if absent: contract §11.10).
 */
import { BufferPool, type ByteSink, type ByteSource, readIntoBuffer } from '../bytes.js';
import { InvalidInputError } from '../errors.js';
import {
  buildCellSetFooter,
  buildEventSetFooter,
  EVENT_PACKET_BYTES,
  openCellSet,
} from '../isxd/index.js';
import type { CellSummary, ChunkResult } from './deconvolveChunk.js';
import { cellSetOutputName, eventSetOutputName } from './outputs.js';
import type { JobPlan } from './plan.js';

/** What one input produced. */
interface FileOutputs {
  file: number;
  /** cellset_denoised.kkk.isxd */
  cellSetName: string;
  /** neural_events.kkk.isxd */
  eventSetName: string;
  cells: CellSummary[];
  /** Events per cell (all cells, in cell order). */
  eventCounts: number[];
  numEvents: number;
  cellSetBytes: number;
  eventSetBytes: number;
}

const COPY_BYTES = 4 * 1024 * 1024;
/** Copy buffers reused from part to part and file to file (fresh pages cost more than the copy). */
const copyBuffers = new BufferPool(COPY_BYTES);

/**
 * Writes the parts to `to` in order, `COPY_BYTES` at a time, reading the next piece while the
 * current one is written. Each part's size is checked before it is read.
 */
async function copyParts(
  parts: { open: () => Promise<ByteSource>; expected: () => Promise<number>; what: string }[],
  to: ByteSink,
): Promise<void> {
  // Two reused buffers: piece k+1 is read into one while piece k is written from the other.
  const buffers = [copyBuffers.take(), copyBuffers.take()];
  let turn = 0;
  async function* pieces(): AsyncGenerator<Uint8Array> {
    for (const part of parts) {
      // The chunk's result first: the part is whole once its chunk has reported.
      const expected = await part.expected();
      const from = await part.open();
      const size = await from.size();
      if (size !== expected) {
        throw new InvalidInputError(
          `${from.name}: ${part.what} holds ${size} bytes, expected ${expected}`,
          'PartSize',
        );
      }
      for (let at = 0; at < size; at += COPY_BYTES) {
        const piece = buffers[turn].subarray(0, Math.min(COPY_BYTES, size - at));
        turn ^= 1;
        const got = await readIntoBuffer(from, at, piece);
        if (got !== piece.byteLength) {
          throw new InvalidInputError(
            `${from.name}: ${part.what} ended at byte ${at + got}, expected ${expected}`,
            'PartSize',
          );
        }
        yield piece;
      }
    }
  }
  const source = pieces();
  let next = source.next();
  try {
    for (;;) {
      const piece = await next;
      if (piece.done) return;
      next = source.next();
      // Observed below; keeps a failed read-ahead from being reported as unhandled meanwhile.
      next.catch(() => {});
      await to.write(piece.value);
    }
  } finally {
    await next.catch(() => {});
    await source.return(undefined);
    for (const b of buffers) copyBuffers.give(b);
  }
}

/**
 * Chunk k's result from {@link FileChunks}. A list must hold each of the file's chunks exactly once.
 *
 * @throws InvalidInputError naming the chunks expected and those given
 */
function chunkLookup(
  input: string,
  file: number,
  numChunks: number,
  chunks: FileChunks,
): (chunk: number) => Promise<ChunkResult> {
  if (typeof chunks === 'function') return chunks;
  const ordered = [...chunks].sort((a, b) => a.chunk - b.chunk);
  if (ordered.length !== numChunks || ordered.some((c, i) => c.chunk !== i || c.file !== file)) {
    throw new InvalidInputError(
      `${input}: expected chunks 0…${numChunks - 1}, got ${ordered.map((c) => c.chunk).join(', ')}`,
      'MissingChunks',
    );
  }
  return async (k) => ordered[k];
}

/**
 * Every ChunkResult of a file, in any order, or a lookup that resolves chunk k's result once
 * that chunk is done (so a local run assembles while later chunks are still deconvolving).
 */
type FileChunks = ChunkResult[] | ((chunk: number) => Promise<ChunkResult>);

/**
 * Concatenates a file's chunk parts and appends the footers, then closes both sinks (aborts
 * them on failure). Parts are copied in chunk order as soon as each chunk's result is known;
 * the footers, which need every chunk's event counts, come last.
 *
 * @param source - the input cell set (its footer is read again, losslessly).
 * @param chunks - the file's chunk results (see {@link FileChunks}).
 * @param readPart - opens a chunk's cell-set or event part.
 * @throws InvalidInputError when chunks are missing or a part has the wrong size.
 */
async function assembleFile(
  plan: JobPlan,
  file: number,
  source: ByteSource,
  chunks: FileChunks,
  readPart: (kind: 'cellset' | 'events', chunk: number) => Promise<ByteSource>,
  cellSetOut: ByteSink,
  eventSetOut: ByteSink,
): Promise<FileOutputs> {
  try {
    return await assemble(plan, file, source, chunks, readPart, cellSetOut, eventSetOut);
  } catch (err) {
    await cellSetOut.abort();
    await eventSetOut.abort();
    throw err;
  }
}

async function assemble(
  plan: JobPlan,
  file: number,
  source: ByteSource,
  chunks: FileChunks,
  readPart: (kind: 'cellset' | 'events', chunk: number) => Promise<ByteSource>,
  cellSetOut: ByteSink,
  eventSetOut: ByteSink,
): Promise<FileOutputs> {
  const info = plan.files[file];
  const numChunks = plan.items.filter((it) => it.file === file).length;
  const result = chunkLookup(info.input, file, numChunks, chunks);
  const input = await openCellSet(source);
  const { header } = input;
  const chunkNumbers = Array.from({ length: numChunks }, (_, k) => k);
  // Every chunk's result, in order (the footers need them all); awaited where they are needed.
  const allChunks = Promise.all(chunkNumbers.map(result));
  allChunks.catch(() => {});

  // The two outputs are written side by side.
  const writeCellSet = async () => {
    await copyParts(
      chunkNumbers.map((k) => ({
        open: () => readPart('cellset', k),
        expected: () => result(k).then((c) => c.cellSetPartBytes),
        what: `cell-set part ${k}`,
      })),
      cellSetOut,
    );
    const footer = buildCellSetFooter({ ...header, producer: undefined }, info.numCells);
    await cellSetOut.write(footer);
    await cellSetOut.close();
    return footer.byteLength;
  };
  const writeEventSet = async () => {
    await copyParts(
      chunkNumbers.map((k) => ({
        open: () => readPart('events', k),
        expected: () => result(k).then((c) => c.eventPartBytes),
        what: `event part ${k}`,
      })),
      eventSetOut,
    );
    const done = await allChunks;
    const footer = buildEventSetFooter(
      { names: header.names, timing: header.timing, extraProperties: header.extraProperties },
      done.flatMap((c) => c.eventCounts),
      done.flatMap((c) => c.firstOffsetsUs.map((s) => BigInt(s))),
    );
    await eventSetOut.write(footer);
    await eventSetOut.close();
    return footer.byteLength;
  };
  const [cellFooter, eventFooter] = await Promise.allSettled([writeCellSet(), writeEventSet()]);
  if (cellFooter.status === 'rejected') throw cellFooter.reason;
  if (eventFooter.status === 'rejected') throw eventFooter.reason;

  const ordered = await allChunks;
  const eventCounts = ordered.flatMap((c) => c.eventCounts);
  const numEvents = eventCounts.reduce((a, b) => a + b, 0);
  return {
    file,
    cellSetName: cellSetOutputName(file),
    eventSetName: eventSetOutputName(file),
    cells: ordered.flatMap((c) => c.cells),
    eventCounts,
    numEvents,
    cellSetBytes: info.dataBytes + cellFooter.value,
    eventSetBytes: numEvents * EVENT_PACKET_BYTES + eventFooter.value,
  };
}

export type { FileChunks, FileOutputs };
export { assembleFile };
