import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LAUNCHER = fileURLToPath(new URL('../../../bin/caiman-spikes.mjs', import.meta.url));

describe('caiman-spikes command line', () => {
  it('stops quietly with exit code 0 when its reader closes the pipe early (… | head)', async () => {
    // Prepare: a reader that is gone before the first line is written
    const child = spawn(process.execPath, [LAUNCHER, 'run', '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });

    // Act
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    // Assess
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    expect(code).toBe(0);
  }, 30_000);

  it("answers --version from package.json without the bundle, the bundle's own version too", () => {
    // Prepare
    const pkg = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [LAUNCHER, ...args], { encoding: 'utf8' });

    // Act: the fast path (one argument) and the bundled command line (commander, via an extra flag)
    const fast = run('--version');
    const short = run('-V');
    const bundled = run('--version', '--quiet');

    // Assess
    expect(fast.stdout).toBe(`${pkg.version}\n`);
    expect(short.stdout).toBe(`${pkg.version}\n`);
    expect(bundled.stdout.trim()).toBe(pkg.version);
    expect([fast.status, short.status, bundled.status]).toEqual([0, 0, 0]);
  }, 30_000);
});
