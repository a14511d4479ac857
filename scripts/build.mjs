/**
 * `npm run build` (run by `npm ci` and `npm install` through `prepare`, and by vitest before the
 * tests, test/helpers/buildDist.ts):
 * bundles the command line (bin/cli.ts) and the run command's worker thread (bin/worker.ts)
 * with their lib/ code and packages into dist/cli.mjs and dist/worker.mjs, two plain ES modules
 * that Node loads without a TypeScript loader. bin/caiman-spikes.mjs runs dist/cli.mjs; the run
 * command starts its workers from dist/worker.mjs beside it.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const path = (relative) => fileURLToPath(new URL(relative, import.meta.url));

await build({
  entryPoints: {
    cli: path('../bin/cli.ts'),
    worker: path('../bin/worker.ts'),
  },
  outdir: path('../dist/'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Bundled CommonJS packages (commander, cli-progress) require node built-ins.
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
