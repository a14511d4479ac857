import { describe, expect, it } from 'vitest';
import { memorySource } from '../../../lib/bytes.js';
import { InvalidInputError } from '../../../lib/errors.js';
import { type CellSetHeaderInput, openCellSet } from '../../../lib/isxd/index.js';
import { checkCellSetInput } from '../../../lib/job/inputChecks.js';
import { makeCellSet } from '../../helpers/isxdFixtures.js';

const timing = { numTimes: 20, period: { num: 1, den: 10 } };

async function reader(header: CellSetHeaderInput, cells: number) {
  const { bytes } = await makeCellSet(header, cells);
  return openCellSet(memorySource('in.isxd', bytes));
}

describe('checkCellSetInput', () => {
  it('accepts a cell set of unique names and 1 × 1 footprints', async () => {
    // Prepare
    const r = await reader(
      { timing, spacing: { numPixels: { x: 1, y: 1 } }, names: ['a', 'b'] },
      2,
    );
    // Act
    const run = () => checkCellSetInput(r, 'in.isxd');
    // Assess
    expect(run).not.toThrow();
  });

  it('refuses 0 × 0 footprints, naming the file and the size', async () => {
    // Prepare
    const r = await reader({ timing, spacing: { numPixels: { x: 0, y: 0 } } }, 2);
    // Act
    const run = () => checkCellSetInput(r, 'in.isxd');
    // Assess
    expect(run).toThrow(InvalidInputError);
    expect(run).toThrow(
      'in.isxd: the footprints are 0 × 0 pixels (spacingInfo.numPixels): expected at least 1 × 1',
    );
  });

  it('refuses duplicate cell names, naming the cells (an empty name defaults to C<index>)', async () => {
    // Prepare: '' at index 1 becomes "C1", which cell 3 also uses.
    const names = ['x', '', 'x', 'C1', 'x'];
    const r = await reader({ timing, spacing: { numPixels: { x: 2, y: 1 } }, names }, 5);
    // Act
    const run = () => checkCellSetInput(r, 'in.isxd');
    // Assess
    expect(run).toThrow(
      'in.isxd: cell names must be unique (event sets look cells up by name): "x" (cells 0 and 2), "C1" (cells 1 and 3), "x" (cells 0 and 4) repeat a name',
    );
  });
});
