/**
 * What a cell set must satisfy to be a job input, beyond being a readable cell set
 * (lib/isxd): checked at Plan on the footer only, so a bad file is refused before any work,
 * naming the file and what is wrong, expected vs actual.
 * - at least one cell;
 * - footprints of at least 1 × 1 pixel (a 0 × 0 image has no footprint to carry over);
 * - unique cell names (event-set channels are looked up by name, so two cells of one name
 *   would merge in every reader of the outputs).
 */
import { InvalidInputError } from '../errors.js';
import type { CellSetReader } from '../isxd/index.js';

/** At most this many duplicated names are listed in the message. */
const SHOWN_DUPLICATES = 3;

/**
 * @param reader - the opened cell set (footer decoded)
 * @param file - its name in messages
 * @throws InvalidInputError `ZeroCells`, `EmptyFootprints` or `DuplicateCellNames`
 */
function checkCellSetInput(reader: CellSetReader, file: string): void {
  if (reader.numCells === 0) {
    throw new InvalidInputError(
      `${file}: the cell set has zero cells: nothing to deconvolve`,
      'ZeroCells',
    );
  }
  if (reader.width === 0 || reader.height === 0) {
    throw new InvalidInputError(
      `${file}: the footprints are ${reader.width} × ${reader.height} pixels (spacingInfo.numPixels): expected at least 1 × 1`,
      'EmptyFootprints',
    );
  }
  const first = new Map<string, number>();
  const duplicates: string[] = [];
  let count = 0;
  reader.header.names.forEach((name, cell) => {
    const seen = first.get(name);
    if (seen === undefined) {
      first.set(name, cell);
      return;
    }
    count++;
    if (duplicates.length < SHOWN_DUPLICATES)
      duplicates.push(`${JSON.stringify(name)} (cells ${seen} and ${cell})`);
  });
  if (count > 0) {
    const more = count > duplicates.length ? ` and ${count - duplicates.length} more` : '';
    throw new InvalidInputError(
      `${file}: cell names must be unique (event sets look cells up by name): ${duplicates.join(', ')}${more} repeat a name`,
      'DuplicateCellNames',
    );
  }
}

export { checkCellSetInput };
