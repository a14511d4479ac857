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
import type { ByteSink, ByteSource } from '../bytes.js';
import { InvalidInputError } from '../errors.js';
import { buildCellSetFooter, buildEventSetFooter, openCellSet } from '../isxd/index.js';
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

/**
 * Writes the parts to `to` in order, `COPY_BYTES` at a time, reading the next piece while the
 * current one is written. Each part's size is checked before it is read.
 */
async function copyParts(
  parts: { open: () => Promise<ByteSource>; expected: number; what: string }[],
  to: ByteSink,
): Promise<void> {
  async function* pieces(): AsyncGenerator<Uint8Array> {
    for (const part of parts) {
      const from = await part.open();
      const size = await from.size();
      if (size !== part.expected) {
        throw new InvalidInputError(
          `${from.name}: ${part.what} holds ${size} bytes, expected ${part.expected}`,
          'PartSize',
        );
      }
      for (let at = 0; at < size; at += COPY_BYTES) {
        yield await from.read(at, Math.min(COPY_BYTES, size - at));
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
  }
}

/**
 * Concatenates a file's chunk parts and appends the footers, then closes both sinks (aborts
 * them on failure).
 *
 * @param source - the input cell set (its footer is read again, losslessly).
 * @param chunks - every ChunkResult of this file, in any order.
 * @param readPart - opens a chunk's cell-set or event part.
 * @throws InvalidInputError when chunks are missing or a part has the wrong size.
 */
async function assembleFile(
  plan: JobPlan,
  file: number,
  source: ByteSource,
  chunks: ChunkResult[],
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
  chunks: ChunkResult[],
  readPart: (kind: 'cellset' | 'events', chunk: number) => Promise<ByteSource>,
  cellSetOut: ByteSink,
  eventSetOut: ByteSink,
): Promise<FileOutputs> {
  const info = plan.files[file];
  const items = plan.items.filter((it) => it.file === file);
  const ordered = [...chunks].sort((a, b) => a.chunk - b.chunk);
  if (ordered.length !== items.length || ordered.some((c, i) => c.chunk !== i || c.file !== file)) {
    throw new InvalidInputError(
      `${info.input}: expected chunks 0…${items.length - 1}, got ${ordered.map((c) => c.chunk).join(', ')}`,
      'MissingChunks',
    );
  }
  const input = await openCellSet(source);
  const { header } = input;

  // The two outputs are written side by side.
  const writeCellSet = async () => {
    await copyParts(
      ordered.map((c) => ({
        open: () => readPart('cellset', c.chunk),
        expected: c.cellSetPartBytes,
        what: `cell-set part ${c.chunk}`,
      })),
      cellSetOut,
    );
    const footer = buildCellSetFooter({ ...header, producer: undefined }, info.numCells);
    await cellSetOut.write(footer);
    await cellSetOut.close();
    return footer.byteLength;
  };
  const eventCounts = ordered.flatMap((c) => c.eventCounts);
  const writeEventSet = async () => {
    await copyParts(
      ordered.map((c) => ({
        open: () => readPart('events', c.chunk),
        expected: c.eventPartBytes,
        what: `event part ${c.chunk}`,
      })),
      eventSetOut,
    );
    const footer = buildEventSetFooter(
      { names: header.names, timing: header.timing, extraProperties: header.extraProperties },
      eventCounts,
      ordered.flatMap((c) => c.firstOffsetsUs.map((s) => BigInt(s))),
    );
    await eventSetOut.write(footer);
    await eventSetOut.close();
    return footer.byteLength;
  };
  const [cellFooter, eventFooter] = await Promise.allSettled([writeCellSet(), writeEventSet()]);
  if (cellFooter.status === 'rejected') throw cellFooter.reason;
  if (eventFooter.status === 'rejected') throw eventFooter.reason;

  const numEvents = eventCounts.reduce((a, b) => a + b, 0);
  return {
    file,
    cellSetName: cellSetOutputName(file),
    eventSetName: eventSetOutputName(file),
    cells: ordered.flatMap((c) => c.cells),
    eventCounts,
    numEvents,
    cellSetBytes: info.dataBytes + cellFooter.value,
    eventSetBytes: numEvents * 20 + eventFooter.value,
  };
}

export type { FileOutputs };
export { assembleFile };
