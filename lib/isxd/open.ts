/**
 * Opens any supported `.isxd` file by its footer `"type"` (docs/isxd-format.md §4): 1 → cell set
 * (§5), 5 → event set (§6). The footer is read once (two ranged reads, §1).
 */
import type { ByteSource } from '../bytes.js';
import { IsxdErrorCode, IsxdFormatError } from '../errors.js';
import { CELL_SET_TYPE, type CellSetReader, cellSetFromFooter } from './cellSet.js';
import { readFooter } from './container.js';
import { EVENT_SET_TYPE, type EventSetReader, eventSetFromFooter } from './eventSet.js';
import { article, FILE_TYPE_NAMES } from './types.js';

/** A reader of either supported kind; switch on `kind`. */
type IsxdReader = CellSetReader | EventSetReader;

/**
 * Opens a cell set or an event set.
 * @throws IsxdFormatError `WrongFileType` for movies, images and other kinds, or any read error
 */
async function openIsxd(source: ByteSource): Promise<IsxdReader> {
  const footer = await readFooter(source);
  const type = footer.root.type === 'object' ? footer.root.members.get('type') : undefined;
  if (type?.type === 'integer' && type.value === BigInt(CELL_SET_TYPE))
    return cellSetFromFooter(source, footer);
  if (type?.type === 'integer' && type.value === BigInt(EVENT_SET_TYPE))
    return eventSetFromFooter(source, footer);
  const name = type?.type === 'integer' ? FILE_TYPE_NAMES[Number(type.value)] : undefined;
  throw new IsxdFormatError(
    source.name,
    IsxdErrorCode.WrongFileType,
    'not a cell set or an event set',
    {
      expected: 'footer "type" 1 (cell set) or 5 (event set)',
      actual:
        type === undefined
          ? 'no "type" key'
          : `${name === undefined ? '' : `${article(name)}, `}"type" ${type.type === 'integer' ? type.value : type.type}`,
    },
  );
}

export type { IsxdReader };
export { openIsxd };
