import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../bin/cli.js';
import { fileSink, fileSource } from '../../../bin/fileSource.js';
import { readSample, SAMPLE_FILES } from '../../helpers/isxdFixtures.js';
import { describeShared, sharedPath } from '../../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'isxd-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describeShared('caiman-spikes inspect', () => {
  const cellset = sharedPath('data', SAMPLE_FILES.cellsetPart2);
  const eventset = sharedPath('data', SAMPLE_FILES.eventsetMsr1);

  it('prints one JSON object per file with the documented fields', async () => {
    // Act
    const { code, stdout, stderr } = await run(['inspect', '--json', cellset, eventset]);
    // Assess
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const [c, e] = JSON.parse(stdout);
    expect(c).toMatchObject({
      file: cellset,
      kind: 'cellset',
      numCells: 6,
      cellNames: ['C0', 'C1', 'C2', 'C3', 'C4', 'C5'],
      cellStatuses: Array(6).fill('undecided'),
      numTimes: 95,
      period: { num: 100, den: 1000 },
      frameRate: 10,
      start: {
        secsSinceEpoch: { num: 30100, den: 1000 },
        utcOffset: 0,
        iso: '1970-01-01T00:00:30.100Z',
      },
      numPixels: { x: 21, y: 21 },
      pixelSize: { x: { num: 6, den: 1 }, y: { num: 6, den: 1 } },
      pixelSizeUm: { x: 6, y: 6 },
      topLeftUm: { x: 156, y: 216 },
      extraProperties: { idps: { cellset: { method: 'cnmfe' } } },
    });
    expect(e).toMatchObject({
      file: eventset,
      kind: 'eventset',
      numCells: 5,
      cellNames: ['C001', 'C014', 'C030', 'C114', 'C175'],
      numTimes: 12075,
      period: { num: 603240466, den: 12074000000 },
      start: { secsSinceEpoch: { num: 1724666920278, den: 1000 }, utcOffset: 0 },
      eventCounts: [2072, 2984, 2141, 3544, 2763],
      extraProperties: null,
    });
  });

  it('prints a readable summary and exits 2 after reporting a bad file', async () => {
    // Prepare
    const bad = join(dir, 'truncated.isxd');
    writeFileSync(bad, readSample(SAMPLE_FILES.cellsetPart1).subarray(0, 9000));
    // Act
    const { code, stdout, stderr } = await run(['inspect', bad, cellset]);
    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(`${bad}: footer length`);
    expect(stdout).toContain(cellset);
    expect(stdout).toMatch(/frame rate\s+10 Hz/);
    expect(stdout).toMatch(
      /field of view\s+21 × 21 px \(x × y\), pixel 6 × 6 µm, 126 × 126 µm, top-left \(156, 216\) µm/,
    );
    expect(stdout).toMatch(/statuses\s+6 undecided/);
  });

  it('reports a missing file as bad input', async () => {
    // Act
    const { code, stdout, stderr } = await run(['inspect', '--json', join(dir, 'missing.isxd')]);
    // Assess
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toEqual([]);
    expect(stderr).toContain('cannot open');
  });
});

describe('fileSource / fileSink', () => {
  it('writes through a partial file that appears only on close, and reads ranges back', async () => {
    // Prepare
    const path = join(dir, 'out.bin');
    const sink = fileSink(path);
    // Act
    await sink.write(new Uint8Array([1, 2, 3]));
    await sink.write(new Uint8Array([4, 5]));
    await sink.close();
    const source = fileSource(path);
    const size = await source.size();
    const middle = await source.read(1, 3);
    const past = await source.read(4, 100);
    await source.close();
    // Assess
    expect(size).toBe(5);
    expect(Array.from(middle)).toEqual([2, 3, 4]);
    expect(Array.from(past)).toEqual([5]);
  });

  it('leaves nothing behind on abort', async () => {
    // Prepare
    const path = join(dir, 'aborted.bin');
    const sink = fileSink(path);
    await sink.write(new Uint8Array([1]));
    // Act
    await sink.abort();
    // Assess
    await expect(fileSource(path).size()).rejects.toMatchObject({ code: 'FileNotReadable' });
    await expect(fileSource(`${path}.partial-${process.pid}`).size()).rejects.toMatchObject({
      code: 'FileNotReadable',
    });
  });
});

describe('fileSink errors', () => {
  it('reports a directory that does not exist as FileNotWritable', async () => {
    // Prepare
    const sink = fileSink(join(dir, 'no', 'such', 'dir', 'x.isxd'));
    // Act
    const result = sink.write(new Uint8Array(1));
    // Assess
    await expect(result).rejects.toMatchObject({
      name: 'InvalidInputError',
      code: 'FileNotWritable',
    });
    await sink.abort();
  });
});
