/**
 * Access to ../shared (sample .isxd files and CaImAn goldens). Tests that need it call
 * `describeShared`: they skip with a clear message when it is absent on a user's machine,
 * and fail when CI is set (CI always has it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of the shared folder (CAIMAN_SPIKES_SHARED overrides ../shared). */
export const SHARED_DIR = process.env.CAIMAN_SPIKES_SHARED ?? resolve(repoRoot, '..', 'shared');

export const sharedAvailable =
  existsSync(join(SHARED_DIR, 'golden')) && existsSync(join(SHARED_DIR, 'data'));

export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

export function readGolden<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(sharedPath('golden', file), 'utf8')) as T;
}

/** `describe` for suites that read ../shared: skipped locally when absent, failing under CI. */
export function describeShared(name: string, body: () => void): void {
  if (sharedAvailable) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      it('needs ../shared, which CI always has', () => {
        throw new Error(`../shared not found at ${SHARED_DIR}; CI must provide it`);
      });
    });
  } else {
    // Not describe.skip(name, body): vitest still runs a skipped suite's body to collect its
    // tests, and the body reads ../shared. One skipped placeholder carries the message instead.
    console.warn(`skipped suite "${name}": ../shared not found at ${SHARED_DIR}`);
    describe(name, () => {
      it.skip(`skipped: ../shared not found at ${SHARED_DIR}`, () => {});
    });
  }
}
