import { spawn } from 'node:child_process';
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
});
