#!/usr/bin/env node
/**
 * Launcher: runs the command line bundled into dist/cli.mjs by `npm run build` (scripts/build.mjs,
 * which `npm ci` runs through the `prepare` script).
 */
import { existsSync } from 'node:fs';

const CLI = new URL('../dist/cli.mjs', import.meta.url);

if (!existsSync(CLI)) {
  process.stderr.write('caiman-spikes: not built: run npm run build (npm ci does it)\n');
  process.exit(1);
}
const { main } = await import(CLI.href);
process.exitCode = await main(process.argv.slice(2));
