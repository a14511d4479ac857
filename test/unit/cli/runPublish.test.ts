/**
 * `caiman-spikes run` as a process: outputs are published whole or not at all. A signal at any
 * moment before publishing leaves --out as it was; --overwrite replaces a result as a whole;
 * two runs cannot share one --out.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stagingFolder } from '../../../bin/fileStore.js';
import { syntheticCellSet } from '../../e2e/syntheticCellSet.js';

const LAUNCHER = fileURLToPath(new URL('../../../bin/caiman-spikes.mjs', import.meta.url));
const PAUSE = fileURLToPath(new URL('../../helpers/pauseAt.mjs', import.meta.url));

let dir: string;
let input: string;
let input2: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'caiman-publish-'));
  // 40 cells × 16 000 frames: 2.6 MB, so two chunks and a worker thread by default
  input = join(dir, 'a.isxd');
  writeFileSync(input, await syntheticCellSet({ numCells: 40, numTimes: 16_000, seed: 3 }));
  input2 = join(dir, 'b.isxd');
  writeFileSync(
    input2,
    await syntheticCellSet({ numCells: 40, numTimes: 16_000, seed: 3, startSeconds: 10_000 }),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** name → SHA-256 of every file under `root` (recursively), to compare folders exactly. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out[path.slice(root.length + 1)] = createHash('sha256')
      .update(readFileSync(path))
      .digest('hex');
  }
  return out;
}

function runSync(...args: string[]) {
  return spawnSync(process.execPath, [LAUNCHER, 'run', ...args], { encoding: 'utf8' });
}

/** Starts a run that pauses at `moment`; resolves once it has. */
async function startPaused(
  moment: string,
  args: string[],
  pauseMs = 60_000,
): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', PAUSE, LAUNCHER, 'run', ...args], {
    env: { ...process.env, PAUSE_AT: moment, PAUSE_MS: String(pauseMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  child.stdout!.resume();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never paused at ${moment}:\n${err}`)), 20_000);
    child.stderr!.on('data', () => {
      if (err.includes(`PAUSED ${moment}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`exited before pausing at ${moment}:\n${err}`)));
  });
  return { child, stderr: () => err };
}

/** owner.json of a run that died: pid 2^22 + 1 is beyond Linux's pid_max, so never alive. */
function writeDeadOwner(staging: string): void {
  writeFileSync(
    join(staging, 'owner.json'),
    JSON.stringify({
      runId: 'dead',
      executionId: 'x',
      account: 'local',
      pid: 4_194_305,
      host: hostname(),
    }),
  );
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );

describe('caiman-spikes run stopped by a signal', () => {
  const moments = ['planning', 'deconvolving', 'assembling', 'previews'] as const;
  const cases = moments.flatMap((m) =>
    (['SIGINT', 'SIGTERM'] as const).map((s) => [m, s] as const),
  );

  it.each(cases)(
    'at %s by %s leaves --out exactly as it was',
    async (moment, signal) => {
      // Prepare: --out holds an earlier result and a file of the user's
      const parent = mkdtempSync(join(dir, 'sig-'));
      const out = join(parent, 'out');
      expect(runSync(input, '--out', out, '--quiet').status).toBe(0);
      writeFileSync(join(out, 'notes.txt'), 'mine');
      const before = snapshot(parent);
      const workers = moment === 'deconvolving' ? ['--workers', '1'] : [];
      const { child, stderr } = await startPaused(moment, [
        input,
        '--out',
        out,
        '--overwrite',
        ...workers,
      ]);

      // Act
      child.kill(signal);
      const { code, signal: killedBy } = await exited(child);

      // Assess
      expect({ code, killedBy }).toEqual({ code: signal === 'SIGINT' ? 130 : 143, killedBy: null });
      expect(stderr()).toContain(`stopped by ${signal}`);
      expect(stderr()).toContain(`removed the staging folder ${stagingFolder(out)}`);
      expect(snapshot(parent)).toEqual(before);
    },
    30_000,
  );

  it('while publishing lets the publish finish (two signals): the result is complete', async () => {
    // Prepare
    const out = join(mkdtempSync(join(dir, 'pub-')), 'out');
    const { child, stderr } = await startPaused('publishing', [input, '--out', out], 1500);

    // Act
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGINT');
    const { code } = await exited(child);

    // Assess
    expect(code).toBe(130);
    expect(stderr()).toContain(`SIGINT arrived while publishing; the result in ${out} is complete`);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      outputs: { name: string; size: number; sha256: string }[];
    };
    expect(readdirSync(out).sort()).toEqual(
      [...manifest.outputs.map((o) => o.name), 'manifest.json'].sort(),
    );
    for (const o of manifest.outputs) {
      const bytes = readFileSync(join(out, o.name));
      expect(createHash('sha256').update(bytes).digest('hex'), o.name).toBe(o.sha256);
    }
    expect(readdirSync(join(out, '..'))).toEqual(['out']);
  }, 30_000);

  it('at planning, into an --out that did not exist, leaves no folder behind', async () => {
    // Prepare
    const parent = join(dir, 'fresh');
    const out = join(parent, 'deep', 'out');
    const { child } = await startPaused('planning', [input, '--out', out]);

    // Act
    child.kill('SIGINT');
    const { code } = await exited(child);

    // Assess
    expect(code).toBe(130);
    expect(readdirSync(dir)).not.toContain('fresh');
  }, 30_000);
});

describe('caiman-spikes run --overwrite', () => {
  it('replaces a two-file result by a one-file result as a whole, keeping the user’s files', () => {
    // Prepare
    const out = join(dir, 'over');
    expect(runSync(input, input2, '--out', out, '--quiet').status).toBe(0);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    mkdirSync(join(out, 'figures'));

    // Act
    const again = runSync(input, '--out', out, '--quiet', '--overwrite', '--p', '2');

    // Assess
    expect(again.status).toBe(0);
    const names = readdirSync(out).sort();
    expect(names.filter((n) => n.includes('.001.'))).toEqual([]);
    expect(names).toContain('notes.txt');
    expect(names).toContain('figures');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      outputs: { name: string }[];
    };
    expect(manifest.outputs.map((o) => o.name).sort()).toEqual(
      names.filter((n) => n !== 'notes.txt' && n !== 'figures' && n !== 'manifest.json'),
    );
    expect(again.stdout).toMatch(
      /Removed 5 file\(s\) of the previous result .*neural_events\.001\.isxd/,
    );
    expect(again.stdout).toMatch(/Left 1 file\(s\) in .* that no result lists: notes\.txt/);
    const metadata = JSON.parse(readFileSync(join(out, 'output_metadata.json'), 'utf8'));
    expect(metadata['cellset_denoised.000'].deconvolution.params.p).toBe(2);
  });
});

describe('caiman-spikes run into an --out in use', () => {
  it('refuses a second run naming the folder and the run holding it', async () => {
    // Prepare
    const out = join(dir, 'busy');
    const first = await startPaused('deconvolving', [input, '--out', out, '--workers', '1']);

    // Act
    const second = runSync(input, '--out', out, '--quiet');
    first.child.kill('SIGTERM');
    await exited(first.child);

    // Assess
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(
      new RegExp(`${out} is in use by another run \\(pid ${first.child.pid} `),
    );
    expect(readdirSync(dir)).not.toContain('busy');
  }, 30_000);

  it('undoes what a run that died while publishing had put into --out', () => {
    // Prepare: a dead run had published two files (and journaled them) but not its manifest
    const out = join(dir, 'half');
    mkdirSync(out);
    writeFileSync(join(out, 'cellset_denoised.000.isxd'), 'half-published');
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const staging = stagingFolder(out);
    mkdirSync(staging);
    writeDeadOwner(staging);
    writeFileSync(
      join(staging, 'publishing.json'),
      JSON.stringify({
        publishes: ['manifest.json', 'cellset_denoised.000.isxd', 'neural_events.000.isxd'],
        previous: [],
        removes: [],
      }),
    );

    // Act
    const run = runSync(input, '--out', out, '--quiet');

    // Assess: the half-published file is gone, so the new run is not refused; the user's file stays
    expect(run.status, run.stderr).toBe(0);
    expect(readdirSync(out)).toContain('notes.txt');
    expect(readFileSync(join(out, 'cellset_denoised.000.isxd')).byteLength).toBeGreaterThan(1000);
    expect(readdirSync(dir).filter((n) => n.startsWith('.half'))).toEqual([]);
  });

  it('takes over the staging folder of a run that died', () => {
    // Prepare: a staging folder whose owner is not alive
    const out = join(dir, 'stale');
    const staging = stagingFolder(out);
    mkdirSync(join(staging, 'parts'), { recursive: true });
    writeDeadOwner(staging);

    // Act
    const run = runSync(input, '--out', out, '--quiet');

    // Assess
    expect(run.status).toBe(0);
    expect(readdirSync(dir)).not.toContain('.stale.caiman-spikes');
    expect(readdirSync(out)).toContain('manifest.json');
  });
});
