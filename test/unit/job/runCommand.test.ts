import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../bin/cli.js';
import type { ByteSource } from '../../../lib/bytes.js';
import { captureOutput } from '../../helpers/captureOutput.js';
import { describeShared, sharedPath } from '../../helpers/shared.js';
import { constantCellSet, fixtureCellSet } from './fixtures.js';

let dir: string;
let stderr: string[];
let stdout: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caiman-run-'));
  ({ stdout, stderr } = captureOutput());
});

afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

async function save(source: ByteSource, name: string): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, await source.read(0, await source.size()));
  return path;
}

const run = (...args: string[]) => main(['run', '--quiet', ...args]);
const part = (k: number) => sharedPath('data', `cellset_series_part${k}.isxd`);
const OUTPUTS = [
  'cellset_denoised.000.isxd',
  'footprints_cellset_denoised.000.svg',
  'manifest.json',
  'neural_events.000.isxd',
  'output_metadata.json',
  'preview_neural_events.000.svg',
  'report.html',
  'traces_cellset_denoised.000.svg',
  'usage.json',
];

describe('caiman-spikes run: bad input exits 2 naming the file or parameter and writes nothing', () => {
  it('a missing file', async () => {
    // Act
    const code = await run(join(dir, 'nope.isxd'), '--out', join(dir, 'out'));

    // Assess
    expect(code).toBe(2);
    expect(stderr.join('')).toContain('nope.isxd: no such file');
    expect(existsSync(join(dir, 'out'))).toBe(false); // the folder this run created is gone too
  });

  it('a file that is not .isxd', async () => {
    // Prepare
    writeFileSync(join(dir, 'cells.csv'), 'a,b\n');

    // Act
    const code = await run(join(dir, 'cells.csv'), '--out', join(dir, 'out'));

    // Assess
    expect(code).toBe(2);
    expect(stderr.join('')).toMatch(/cells\.csv: not an \.isxd cell set/);
  });

  it('a cell set with zero cells', async () => {
    // Prepare
    const path = await save(
      await fixtureCellSet('empty.isxd', { numCells: 0, names: [] }),
      'empty.isxd',
    );

    // Act
    const code = await run(path, '--out', join(dir, 'out'));

    // Assess
    expect(code).toBe(2);
    expect(stderr.join('')).toMatch(/empty\.isxd: the cell set has zero cells/);
    expect(existsSync(join(dir, 'out'))).toBe(false); // the folder this run created is gone too
  });

  it('a bad parameter', async () => {
    // Prepare
    const path = await save(await fixtureCellSet('a.isxd'), 'a.isxd');

    // Act
    const code = await run(path, '--out', join(dir, 'out'), '--noise-range', '0.4,0.2');

    // Assess
    expect(code).toBe(2);
    expect(stderr.join('')).toContain('parameter noise_range = "0.4,0.2" is invalid: expected');
  });

  it('a bad --params file value', async () => {
    // Prepare
    const path = await save(await fixtureCellSet('a.isxd'), 'a.isxd');
    writeFileSync(join(dir, 'params.json'), JSON.stringify({ p: 2, g: '0.9' }));

    // Act
    const code = await run(path, '--out', join(dir, 'out'), '--params', join(dir, 'params.json'));

    // Assess
    expect(code).toBe(2);
    expect(stderr.join('')).toContain('parameter g = [0.9]');
  });

  it('a job in which no cell can be deconvolved (constant trace, p = 2) leaves no output behind', async () => {
    // Prepare
    const path = await save(
      await fixtureCellSet('flat.isxd', { numCells: 1, flatCell: 0 }),
      'flat.isxd',
    );

    // Act
    const code = await run(path, '--out', join(dir, 'out'), '--p', '2');

    // Assess
    expect(code).toBe(2);
    expect(stderr.join('')).toMatch(
      /none of the 1 cells could be deconvolved; .*flat\.isxd: cell 0 \(C0\)/,
    );
    expect(existsSync(join(dir, 'out'))).toBe(false); // the folder this run created is gone too
  });

  it('a cell that cannot be deconvolved is reported, and the others are deconvolved', async () => {
    // Prepare
    const path = await save(await constantCellSet('flat.isxd'), 'flat.isxd');

    // Act
    const code = await run(path, '--out', join(dir, 'out'), '--p', '2');

    // Assess
    expect(code).toBe(0);
    expect(stdout.join('')).toContain('Deconvolved 2 of 3 cells');
    expect(stdout.join('')).toContain(
      '1 cell(s) could not be deconvolved and have a NaN trace and no events (flat)',
    );
    const metadata = JSON.parse(readFileSync(join(dir, 'out', 'output_metadata.json'), 'utf8'));
    expect(metadata['cellset_denoised.000'].deconvolution.cells[1].failure).toMatch(
      /decay root d = 0/,
    );
  });

  it.each<[string, (d: string) => string, RegExp]>([
    ['an existing file', (d) => join(d, 'file'), /--out .*file exists and is not a folder/],
    [
      'a path under a file',
      (d) => join(d, 'file', 'out'),
      /--out .*file\/out: its parent .*file exists and is not a folder/,
    ],
    [
      'a path two levels under a file',
      (d) => join(d, 'file', 'a', 'out'),
      /file\/a: cannot create the folder \(ENOTDIR\)/,
    ],
    // Node's recursive mkdir never returns here (procfs answers ENOENT): we must not hang.
    [
      'a path under /proc',
      () => '/proc/1/no-such/out',
      /\/proc\/1\/no-such: cannot create the folder \(ENOENT\)/,
    ],
  ])('--out naming %s: exit 2, one line, nothing written', async (_, outOf, message) => {
    // Prepare
    const path = await save(await fixtureCellSet('a.isxd'), 'a.isxd');
    writeFileSync(join(dir, 'file'), 'mine');
    const before = readdirSync(dir).sort();
    // Act
    const code = await run(path, '--out', outOf(dir));
    // Assess
    expect(code).toBe(2);
    expect(stderr.join('')).toMatch(message);
    expect(stderr.join('').trim().split('\n'), stderr.join('')).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('mine');
  });

  it.skipIf(process.getuid?.() === 0 || process.platform === 'win32')(
    '--out in a folder it may not write: exit 2, one line (skipped as root, which may write anywhere)',
    async () => {
      // Prepare
      const path = await save(await fixtureCellSet('a.isxd'), 'a.isxd');
      const locked = join(dir, 'locked');
      rmSync(locked, { force: true, recursive: true });
      (await import('node:fs')).mkdirSync(locked);
      chmodSync(locked, 0o555);
      // Act
      const code = await run(path, '--out', join(locked, 'out'));
      chmodSync(locked, 0o755);
      // Assess
      expect(code).toBe(2);
      expect(stderr.join('')).toMatch(/cannot create the staging folder \(EACCES\)/);
      expect(readdirSync(locked)).toEqual([]);
    },
  );

  it.each<[string, Parameters<typeof fixtureCellSet>[1], string]>([
    [
      'duplicate cell names',
      { names: ['a', 'b', 'a'] },
      'bad.isxd: cell names must be unique (event sets look cells up by name): "a" (cells 0 and 2) repeat a name',
    ],
    [
      'footprints of 0 pixels',
      { width: 0 },
      'bad.isxd: the footprints are 0 × 8 pixels (spacingInfo.numPixels): expected at least 1 × 1',
    ],
  ])(
    'a file with %s is refused at plan: exit 2, one line, no --out',
    async (_, options, message) => {
      // Prepare
      const path = await save(await fixtureCellSet('bad.isxd', options), 'bad.isxd');
      // Act
      const code = await run(path, '--out', join(dir, 'out'));
      // Assess
      expect(code).toBe(2);
      expect(stderr.join('')).toContain(message);
      expect(stderr.join('').trim().split('\n')).toHaveLength(1);
      expect(existsSync(join(dir, 'out'))).toBe(false);
    },
  );

  it("'cvxpy' on a file with dropped frames is refused at plan, naming the parameter and the file", async () => {
    // Prepare
    const path = await save(await fixtureCellSet('gaps.isxd', { dropped: [3, 7] }), 'gaps.isxd');
    // Act
    const code = await run(path, '--out', join(dir, 'out'), '--method-deconvolution', 'cvxpy');
    // Assess
    expect(code).toBe(2);
    expect(stderr.join('')).toContain(
      'parameter method_deconvolution = "cvxpy" is invalid: expected \'oasis\' for',
    );
    expect(stderr.join('')).toContain('gaps.isxd: its 2 dropped, cropped or blank frames are gaps');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('an existing output, unless --overwrite', async () => {
    // Prepare
    const path = await save(await fixtureCellSet('a.isxd'), 'a.isxd');
    const out = join(dir, 'out');
    expect(await run(path, '--out', out)).toBe(0);

    // Act
    const again = await run(path, '--out', out);
    const overwritten = await run(path, '--out', out, '--overwrite', '--p', '2');

    // Assess
    expect(again).toBe(2);
    expect(stderr.join('')).toMatch(
      /already holds a complete result \(manifest\.json\); pass --overwrite/,
    );
    expect(overwritten).toBe(0);
    expect(readdirSync(out).sort()).toEqual(OUTPUTS);
    const metadata = JSON.parse(readFileSync(join(out, 'output_metadata.json'), 'utf8'));
    expect(metadata['cellset_denoised.000'].deconvolution.params.p).toBe(2);
  });
});

describeShared('caiman-spikes run on the sample files', () => {
  it('rejects an event set, a corrupt footer and a broken series', async () => {
    // Prepare
    const corrupt = join(dir, 'corrupt.isxd');
    const bytes = readFileSync(part(1));
    bytes[bytes.length - 2] = 0x7f;
    writeFileSync(corrupt, bytes);
    const copy = join(dir, 'copy.isxd');
    copyFileSync(part(1), copy);

    // Act
    const codes = [
      await run(sharedPath('data', 'sample_eventset_msr_1.isxd'), '--out', join(dir, 'o1')),
      await run(corrupt, '--out', join(dir, 'o2')),
      await run(part(1), copy, '--out', join(dir, 'o3')),
    ];

    // Assess
    expect(codes).toEqual([2, 2, 2]);
    const err = stderr.join('');
    expect(err).toMatch(/sample_eventset_msr_1\.isxd: wrong kind of \.isxd file/);
    expect(err).toMatch(/corrupt\.isxd: footer length/);
    expect(err).toMatch(
      /cellset_series_part1\.isxd and .*copy\.isxd cannot form one series: they overlap in time/,
    );
    for (const o of ['o1', 'o2', 'o3']) expect(existsSync(join(dir, o))).toBe(false);
  });

  it('gives the same outputs on worker threads as in-process', async () => {
    // Act
    const inProcess = await run(part(2), part(1), '--out', join(dir, 'a'), '--workers', '0');
    const threaded = await run(part(2), part(1), '--out', join(dir, 'b'), '--workers', '2');

    // Assess
    expect([inProcess, threaded]).toEqual([0, 0]);
    const names = readdirSync(join(dir, 'a')).sort();
    expect(names).toHaveLength(14);
    expect(readdirSync(join(dir, 'b')).sort()).toEqual(names);
    for (const name of names.filter(
      (n) => n.endsWith('.isxd') || n.endsWith('.svg') || n.endsWith('.html'),
    )) {
      expect(readFileSync(join(dir, 'b', name)).equals(readFileSync(join(dir, 'a', name)))).toBe(
        true,
      );
    }
  });
});

describe("caiman-spikes run: 'auto' lags on a short file", () => {
  it('fits the default lags to a 5-frame file and says so; a given lags = 5 is refused', async () => {
    // Prepare
    const input = await save(await fixtureCellSet('short.isxd', { numTimes: 5 }), 'short.isxd');

    // Act
    const ok = await run(input, '--out', join(dir, 'out'));
    const refused = await run(input, '--out', join(dir, 'out2'), '--lags', '5');

    // Assess: lags < T holds with lags = T − 1 = 4, and the metadata names the rule.
    expect(ok).toBe(0);
    const meta = JSON.parse(readFileSync(join(dir, 'out', 'output_metadata.json'), 'utf8'));
    const dec = meta['cellset_denoised.000'].deconvolution;
    expect(dec.params.lags).toBeNull();
    expect(dec.lags.used).toBe(4);
    expect(dec.lags.rule).toBe('auto: 5, lowered to max(1, T − 1) for files of T ≤ 5 frames');
    expect(dec.cells.filter((c: { failure: unknown }) => c.failure === null)).toHaveLength(3);
    expect(refused).toBe(2);
    expect(stderr.join('')).toMatch(
      /parameter lags = 5 is invalid.*below the 5 frames of .*short\.isxd/,
    );
    expect(existsSync(join(dir, 'out2'))).toBe(false);
  });
});

describe('caiman-spikes run: options and run warnings (issue 13)', () => {
  const metadataOf = (out: string) =>
    JSON.parse(readFileSync(join(out, 'output_metadata.json'), 'utf8'))['cellset_denoised.000'];

  it('takes -p N as --p N and --tau-decay S, recording the g it gave', async () => {
    // Prepare
    const input = await save(await fixtureCellSet('a.isxd'), 'a.isxd');

    // Act
    const code = await run(
      input,
      '--out',
      join(dir, 'out'),
      '-p',
      '2',
      '--tau-decay',
      '0.4',
      '--tau-rise',
      '0.1',
    );

    // Assess
    expect(code, stderr.join('')).toBe(0);
    const dec = metadataOf(join(dir, 'out')).deconvolution;
    expect(dec.params).toMatchObject({ p: 2, tau_decay: 0.4, tau_rise: 0.1, g: null });
    const [d, r] = [Math.exp(-0.05 / 0.4), Math.exp(-0.05 / 0.1)];
    expect(dec.resolved.g.value).toEqual([d + r, -d * r]);
    expect(stdout.join('')).toMatch(/^Deconvolved 3 of 3 cells in 1 file\(s\) \(p = 2, oasis\)/);
  });

  it('refuses g together with --tau-decay, exit 2 naming the parameter', async () => {
    // Prepare
    const input = await save(await fixtureCellSet('a.isxd'), 'a.isxd');

    // Act
    const code = await run(input, '--out', join(dir, 'out'), '--g', '0.9', '--tau-decay', '0.4');

    // Assess
    expect(code).toBe(2);
    expect(stderr.join('')).toContain(
      'parameter tau_decay = 0.4 is invalid: expected either g or tau_decay, not both',
    );
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('warns when --accepted-only leaves no cell and does not claim to have deconvolved them', async () => {
    // Prepare
    const input = await save(
      await fixtureCellSet('u.isxd', { statuses: ['undecided', 'undecided', 'undecided'] }),
      'u.isxd',
    );

    // Act
    const code = await run(input, '--out', join(dir, 'out'), '--accepted-only');

    // Assess: exit 0 (nothing failed), the summary counts 0 and says why.
    expect(code).toBe(0);
    expect(stdout.join('')).toMatch(
      /^Deconvolved 0 of 3 cells \(3 skipped by --accepted-only\) in 1 file\(s\)/,
    );
    expect(stderr.join('')).toContain(
      'caiman-spikes: warning: --accepted-only accepted left no cell to deconvolve: none of the 3 cells is accepted (3 undecided)',
    );
  });

  it('caps --workers at the cores with a one-line note', async () => {
    // Prepare
    const input = await save(await fixtureCellSet('a.isxd'), 'a.isxd');
    const cores = (await import('node:os')).availableParallelism();

    // Act
    const code = await run(input, '--out', join(dir, 'out'), '--workers', String(cores + 62));

    // Assess
    expect(code).toBe(0);
    const notes = stderr
      .join('')
      .split('\n')
      .filter((l) => l.includes('--workers'));
    expect(notes).toEqual([
      `caiman-spikes: note: --workers ${cores + 62} capped at the ${cores} core(s) of this machine (more threads than cores only compete for them).`,
    ]);
    expect(stdout.join('')).toContain(`on ${cores} thread`);
  });

  it("takes one solver ('SCS', no fallback) for 'cvxpy' and says so in the metadata", async () => {
    // Prepare
    const input = await save(await fixtureCellSet('a.isxd', { numTimes: 60 }), 'a.isxd');

    // Act
    const code = await run(
      input,
      '--out',
      join(dir, 'out'),
      '--method-deconvolution',
      'cvxpy',
      '--solvers',
      'SCS',
    );

    // Assess
    expect(code, stderr.join('')).toBe(0);
    const dec = metadataOf(join(dir, 'out')).deconvolution;
    expect(dec.params.solvers).toEqual(['SCS', 'SCS']);
    expect(dec.resolved.solvers).toBe('SCS only (no fallback solver)');
  });

  it('the demo says that the default fudge factor shrinks τ on purpose', async () => {
    // Act
    const code = await run('--out', join(dir, 'demo'));

    // Assess
    expect(code, stderr.join('')).toBe(0);
    expect(stdout.join('')).toMatch(
      /Median estimated decay time 0\.\d{3} s \(true 0\.975 s\): the fudge factor 0\.96 \(the IDEAS default\) shrinks the estimated AR root, and so τ, on purpose \(use --fudge-factor 1 for the unshrunk estimate\)\./,
    );
  });
});
