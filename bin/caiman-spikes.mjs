#!/usr/bin/env node
/**
 * Launcher: runs the command line bundled into dist/cli.mjs by `npm run build` (scripts/build.mjs,
 * which `npm ci` runs through the `prepare` script).
 *
 * `caiman-spikes --version` (or `-V`) alone is answered here from package.json, the version the
 * bundled command line reports too (bin/cli.ts), without loading the bundle: a version check
 * then costs Node's start-up and one small read (bench/e2e.bench.ts times it against `node -e 0`).
 */
import { existsSync, readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${version}\n`);
} else {
  const CLI = new URL('../dist/cli.mjs', import.meta.url);
  if (!existsSync(CLI)) {
    process.stderr.write('caiman-spikes: not built: run npm run build (npm ci does it)\n');
    process.exit(1);
  }
  const { main } = await import(CLI.href);
  process.exitCode = await main(argv);
}
