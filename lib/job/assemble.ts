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
 *
 * An output is streamed through the function (COPY_BYTES at a time), or, when the store can
 * join objects itself (JobStore.concatWork: on S3 a multipart upload of UploadPartCopy parts),
 * joined server side without its bytes passing through.
 */
import { BufferPool, type ByteSink, type ByteSource, readIntoBuffer } from '../bytes.js';
import { CaimanSpikesError, InternalError } from '../errors.js';
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
 * The part's size, checked against its chunk's result.
 * @throws InternalError (PartSize) when they differ: the work area is the product's own, not
 *   the user's input, so a part that does not match its chunk's record is a fault of ours
 */
async function checkPartSize(from: ByteSource, expected: number, what: string): Promise<number> {
  const size = await from.size();
  if (size !== expected) {
    throw new InternalError(
      `${from.name}: ${what} holds ${size} bytes, expected ${expected}`,
      'PartSize',
    );
  }
  return size;
}

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
      const size = await checkPartSize(from, expected, part.what);
      for (let at = 0; at < size; at += COPY_BYTES) {
        const piece = buffers[turn].subarray(0, Math.min(COPY_BYTES, size - at));
        turn ^= 1;
        const got = await readIntoBuffer(from, at, piece);
        if (got !== piece.byteLength) {
          throw new InternalError(
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
 * Builds an output footer. The input's header was validated at Plan and the counts are our own,
 * so a writer's refusal here (its InvalidParameterError) is a fault of the product: exit 1.
 */
function ourFooter(input: string, build: () => Uint8Array): Uint8Array {
  try {
    return build();
  } catch (err) {
    if (!(err instanceof CaimanSpikesError)) throw err;
    throw new InternalError(
      `${input}: the output footer could not be built: ${err.message}`,
      'Invariant',
      {
        cause: err,
      },
    );
  }
}

/**
 * Chunk k's result from {@link FileChunks}. A list must hold each of the file's chunks exactly once.
 *
 * @throws InternalError naming the chunks expected and those given
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
    throw new InternalError(
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

/** The parts of one output: `cellset` or `events`. */
type PartKind = 'cellset' | 'events';

/**
 * Where one output goes. It is streamed through `sink()`, unless `concat` is given and `fits`
 * its parts' sizes: then the store joins the parts and the footer itself (server side).
 */
interface OutputTarget {
  /** Opens the sink of a streamed copy (only when the output is streamed). */
  sink(): ByteSink;
  concat?: {
    /** Whether parts of these sizes (chunk order), then a footer, can be joined. */
    fits(sizes: number[]): boolean;
    /** Writes the output = parts (sizes checked) ‖ footer, whole or absent. */
    run(sizes: number[], footer: Uint8Array): Promise<void>;
  };
}

/**
 * Concatenates a file's chunk parts and appends the footers. A streamed output copies its parts
 * in chunk order as soon as each chunk's result is known and closes its sink (aborts it on
 * failure); the footers, which need every chunk's event counts, come last. A joined output
 * waits for every chunk's result, checks every part's size, then lets the store join them.
 *
 * @param source - the input cell set (its footer is read again, losslessly).
 * @param chunks - the file's chunk results (see {@link FileChunks}).
 * @param readPart - opens a chunk's cell-set or event part.
 * @throws InternalError when chunks are missing or a part has the wrong size.
 */
async function assembleFile(
  plan: JobPlan,
  file: number,
  source: ByteSource,
  chunks: FileChunks,
  readPart: (kind: PartKind, chunk: number) => Promise<ByteSource>,
  targets: Record<PartKind, OutputTarget>,
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

  /** Writes one output; returns its footer's size. */
  const write = async (kind: PartKind, footerOf: () => Promise<Uint8Array>): Promise<number> => {
    const target = targets[kind];
    const what = kind === 'cellset' ? 'cell-set part' : 'event part';
    const expected = (k: number) =>
      result(k).then((c) => (kind === 'cellset' ? c.cellSetPartBytes : c.eventPartBytes));
    if (target.concat) {
      const sizes = (await allChunks).map((c) =>
        kind === 'cellset' ? c.cellSetPartBytes : c.eventPartBytes,
      );
      if (target.concat.fits(sizes)) {
        await Promise.all(
          chunkNumbers.map(async (k) =>
            checkPartSize(await readPart(kind, k), sizes[k], `${what} ${k}`),
          ),
        );
        const footer = await footerOf();
        await target.concat.run(sizes, footer);
        return footer.byteLength;
      }
    }
    const sink = target.sink();
    try {
      await copyParts(
        chunkNumbers.map((k) => ({
          open: () => readPart(kind, k),
          expected: () => expected(k),
          what: `${what} ${k}`,
        })),
        sink,
      );
      const footer = await footerOf();
      await sink.write(footer);
      await sink.close();
      return footer.byteLength;
    } catch (err) {
      await sink.abort();
      throw err;
    }
  };
  // The two outputs are written side by side.
  const [cellFooter, eventFooter] = await Promise.allSettled([
    write('cellset', async () =>
      ourFooter(info.input, () =>
        buildCellSetFooter({ ...header, producer: undefined }, info.numCells),
      ),
    ),
    write('events', async () => {
      const done = await allChunks;
      return ourFooter(info.input, () =>
        buildEventSetFooter(
          { names: header.names, timing: header.timing, extraProperties: header.extraProperties },
          done.flatMap((c) => c.eventCounts),
          done.flatMap((c) => c.firstOffsetsUs.map((s) => BigInt(s))),
        ),
      );
    }),
  ]);
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

export type { FileChunks, FileOutputs, OutputTarget, PartKind };
export { assembleFile };
