#!/usr/bin/env node
/**
 * Launcher. Runs the CLI from one plain-JavaScript ES module that esbuild bundles from bin/cli.ts
 * (and bin/worker.ts beside it, for the run command's worker threads) into
 * node_modules/.cache/caiman-spikes/, packages included (esbuild stays external). The bundle is
 * rebuilt when the size or mtime of one of its sources or of node_modules/.package-lock.json
 * changes (about 0.3 s, once). Loading one file instead of hundreds of modules through tsx's
 * loader thread cuts the CLI's start-up from about 0.6 s to 0.15 s. Where the cache cannot be
 * written or esbuild fails, the CLI runs through tsx as before.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// One cache per checkout: node_modules may be shared (linked) between checkouts.
const CACHE = join(
  fileURLToPath(new URL('../node_modules/.cache/caiman-spikes/', import.meta.url)),
  createHash('sha256')
    .update(fileURLToPath(import.meta.url))
    .digest('hex')
    .slice(0, 12),
);
const ENTRIES = { cli: './cli.ts', worker: './worker.ts' };
const STAMP = join(CACHE, 'bundle.json');

/** size and mtime of each file (-1 when missing). */
function stamp(files) {
  return Promise.all(
    files.map(async (file) => {
      const st = await stat(file).catch(() => null);
      return { file, size: st?.size ?? -1, mtimeMs: st?.mtimeMs ?? -1 };
    }),
  );
}

async function isFresh() {
  const cached = await readFile(STAMP, 'utf8').then(JSON.parse, () => null);
  if (!Array.isArray(cached)) return false;
  const outputs = await stamp(Object.keys(ENTRIES).map((name) => join(CACHE, `${name}.mjs`)));
  if (outputs.some((o) => o.size < 0)) return false;
  const now = await stamp(cached.map((c) => c.file));
  return JSON.stringify(now) === JSON.stringify(cached);
}

/** Rebuilds the bundle: each output goes to a temporary name first, the stamp last. */
async function rebuild() {
  const { build } = await import('esbuild');
  const started = Date.now();
  const tmp = join(CACHE, `build-${process.pid}`);
  const result = await build({
    entryPoints: Object.fromEntries(
      Object.entries(ENTRIES).map(([name, path]) => [
        name,
        fileURLToPath(new URL(path, import.meta.url)),
      ]),
    ),
    outdir: tmp,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['esbuild'],
    // Bundled CommonJS packages (commander, cli-progress) require node built-ins.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'silent',
  });
  // Packages change with `npm install`, which rewrites node_modules/.package-lock.json.
  const inputs = Object.keys(result.metafile.inputs)
    .filter((f) => !f.includes('node_modules'))
    .map((f) => resolve(f));
  inputs.push(fileURLToPath(new URL('../node_modules/.package-lock.json', import.meta.url)));
  for (const name of Object.keys(ENTRIES)) {
    await rename(join(tmp, `${name}.mjs`), join(CACHE, `${name}.mjs`));
  }
  const stamps = await stamp(inputs);
  // A source saved while esbuild read it may not be in the bundle: no stamp, rebuild next time.
  if (stamps.every((s) => s.mtimeMs < started)) {
    await writeFile(join(tmp, 'bundle.json'), JSON.stringify(stamps));
    await rename(join(tmp, 'bundle.json'), STAMP);
  }
}

/** The bundled CLI's path, or null when it cannot be built. */
async function bundledCli() {
  try {
    if (!(await isFresh())) {
      await mkdir(CACHE, { recursive: true });
      await rebuild().finally(() =>
        rm(join(CACHE, `build-${process.pid}`), { recursive: true, force: true }),
      );
    }
    return join(CACHE, 'cli.mjs');
  } catch {
    return null;
  }
}

const bundle = await bundledCli();
let cli;
if (bundle !== null) {
  cli = await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('./cli.ts');
}
process.exitCode = await cli.main(process.argv.slice(2));
