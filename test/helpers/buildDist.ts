// Vitest global setup: builds dist/ (the CLI and worker bundles) once per test run, so tests that
// start the command or its worker threads never run a stale build (scripts/build.mjs, ~0.2 s).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url))],
    {
      stdio: 'inherit',
    },
  );
}
