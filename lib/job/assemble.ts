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

async function copyAll(
  from: ByteSource,
  to: ByteSink,
  expected: number,
  what: string,
): Promise<void> {
  const size = await from.size();
  if (size !== expected) {
    throw new InvalidInputError(
      `${from.name}: ${what} holds ${size} bytes, expected ${expected}`,
      'PartSize',
    );
  }
  for (let at = 0; at < size; at += COPY_BYTES) {
    await to.write(await from.read(at, Math.min(COPY_BYTES, size - at)));
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

  for (const c of ordered) {
    await copyAll(
      await readPart('cellset', c.chunk),
      cellSetOut,
      c.cellSetPartBytes,
      `cell-set part ${c.chunk}`,
    );
  }
  const cellFooterBytes = buildCellSetFooter({ ...header, producer: undefined }, info.numCells);
  await cellSetOut.write(cellFooterBytes);
  await cellSetOut.close();

  for (const c of ordered) {
    await copyAll(
      await readPart('events', c.chunk),
      eventSetOut,
      c.eventPartBytes,
      `event part ${c.chunk}`,
    );
  }
  const eventCounts = ordered.flatMap((c) => c.eventCounts);
  const eventFooterBytes = buildEventSetFooter(
    { names: header.names, timing: header.timing, extraProperties: header.extraProperties },
    eventCounts,
    ordered.flatMap((c) => c.firstOffsetsUs.map((s) => BigInt(s))),
  );
  await eventSetOut.write(eventFooterBytes);
  await eventSetOut.close();

  const numEvents = eventCounts.reduce((a, b) => a + b, 0);
  return {
    file,
    cellSetName: cellSetOutputName(file),
    eventSetName: eventSetOutputName(file),
    cells: ordered.flatMap((c) => c.cells),
    eventCounts,
    numEvents,
    cellSetBytes: info.dataBytes + cellFooterBytes.byteLength,
    eventSetBytes: numEvents * 20 + eventFooterBytes.byteLength,
  };
}

export type { FileOutputs };
export { assembleFile };
