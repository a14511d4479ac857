/**
 * Preload (`node --import`) for process-level tests of `caiman-spikes run`: holds the run at
 * one moment so a test can signal it there, without any test hook in the product. It wraps
 * node:fs/promises `open` (so file handles know their path) and FileHandle#read, and when the
 * moment named by PAUSE_AT comes, writes `PAUSED <moment>` to stderr and stalls that read:
 *
 *   planning      the first read of any file (Plan reads the inputs' footers)
 *   deconvolving  the first read of an input after a chunk finished (run with --workers 1)
 *   assembling    the first read of a chunk part (staging folder, parts/)
 *   previews      the first read of a staged output (staging folder, outputs/), for the previews
 *   publishing    the first rename of a staged output into --out (held PAUSE_MS, default 60 s)
 */
import fs from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

const moment = process.env.PAUSE_AT;
const paths = new WeakMap();
let chunkDone = false;
let paused = false;

const writeErr = process.stderr.write.bind(process.stderr);
process.stderr.write = (s, ...rest) => {
  if (typeof s === 'string' && /caiman-spikes: processed \d+\//.test(s)) chunkDone = true;
  return writeErr(s, ...rest);
};

function due(path) {
  switch (moment) {
    case 'planning':
      return true;
    case 'deconvolving':
      return chunkDone && !path.includes('.caiman-spikes');
    case 'assembling':
      return path.includes('.caiman-spikes') && path.includes('/parts/');
    case 'previews':
      return path.includes('.caiman-spikes') && path.includes('/outputs/');
    default:
      return false;
  }
}

const pauseMs = Number(process.env.PAUSE_MS ?? 60_000);

const rename = fs.rename;
fs.rename = async (from, to, ...rest) => {
  const intoOut =
    String(from).includes('.caiman-spikes/') && !String(to).includes('.caiman-spikes');
  if (moment === 'publishing' && !paused && intoOut) {
    paused = true;
    writeErr(`PAUSED ${moment}\n`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return rename(from, to, ...rest);
};

const open = fs.open;
let patchedRead = false;
fs.open = async (path, ...rest) => {
  const handle = await open(path, ...rest);
  paths.set(handle, String(path));
  if (!patchedRead) {
    patchedRead = true;
    const proto = Object.getPrototypeOf(handle);
    const read = proto.read;
    proto.read = async function (...args) {
      if (moment && !paused && due(paths.get(this) ?? '')) {
        paused = true;
        writeErr(`PAUSED ${moment}\n`);
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
      return read.apply(this, args);
    };
  }
  return handle;
};
syncBuiltinESMExports();
