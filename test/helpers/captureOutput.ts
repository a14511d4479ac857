import { vi } from 'vitest';

/**
 * Captures what the command line writes to process.stdout and process.stderr, each write one
 * string, until `vi.restoreAllMocks()` (the CLI tests' afterEach).
 */
function captureOutput(): { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    stdout.push(String(s));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr.push(String(s));
    return true;
  });
  return { stdout, stderr };
}

export { captureOutput };
