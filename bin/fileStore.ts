/**
 * The JobStore of a local run (lib/job/store.ts) on the file system:
 *
 *   <parent>/<out>/                       the output location (--out), written only by publish
 *   <parent>/.<out>.caiman-spikes/        the staging folder = the work area = the claim:
 *       owner.json                        the run holding it (pid, host), written on claim
 *       plan.json, chunks/, parts/, outputs/ …
 *
 * The staging folder is created with an exclusive mkdir, so two runs into one --out cannot both
 * hold it; a folder left by a run that died (its pid gone on this host) is taken over. It sits
 * beside --out, on the same file system, so publishing is one rename per file.
 */

import { readFileSync, rmSync } from 'node:fs';
import {
  copyFile,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import type { ByteSource } from '../lib/bytes.js';
import { InternalError, InvalidInputError } from '../lib/errors.js';
import type { InputRef, JobStore, Meter, RunRef } from '../lib/job/store.js';
import { type FileSource, fileSink, fileSource } from './fileSource.js';

const OWNER = 'owner.json';
/** A staging folder without owner.json younger than this may be a run that is just starting. */
const STARTING_MS = 60_000;
const REMOVE_ATTEMPTS = 4;

interface Owner extends RunRef {
  pid: number;
  host: string;
}

/** A local JobStore; `close` releases its file handles. */
interface FileJobStore extends JobStore {
  /** The staging folder. */
  readonly staging: string;
  /** Closes every file this store opened. */
  close(): Promise<void>;
  /** Removes the staging folder at once if `run` holds it (a second Ctrl-C); true if it did. */
  removeStagingSync(run: RunRef): boolean;
}

/** The staging folder of an output folder. */
function stagingFolder(out: string): string {
  return join(dirname(out), `.${basename(out)}.caiman-spikes`);
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

/**
 * `mkdir -p` for paths the user names. Node's `mkdir(…, { recursive: true })` never returns
 * where a parent exists but cannot hold children and answers ENOENT (procfs, a dangling
 * symlink): it retries the parent forever (https://github.com/nodejs/node/issues/27198 is the
 * Windows variant; the Linux one is unfixed in Node 20/22). Here the missing components are
 * created one by one, so an ENOENT after its parent exists is the error it is.
 * @returns the first folder created, or undefined when `path` already existed
 */
async function makeFolders(path: string): Promise<string | undefined> {
  const missing: string[] = [];
  let at = path;
  while ((await stat(at).catch(() => null)) === null) {
    missing.push(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    await mkdir(missing[i]).catch((error) => {
      if (errno(error) !== 'EEXIST') throw error;
    });
  }
  return missing[missing.length - 1];
}

function isAlive(owner: Owner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * @param out - the output folder (absolute)
 * @param opts.inputs - inputs that are not files (the demo's generated cell set), by name
 */
function fileJobStore(out: string, opts: { inputs?: Map<string, ByteSource> } = {}): FileJobStore {
  const staging = stagingFolder(out);
  const sources: FileSource[] = [];
  const inputSources = new Map<string, ByteSource>(opts.inputs);
  const meter: Meter = { computeMs: {}, invocations: {} };
  let owner: RunRef | null = null;
  let sealed = false;
  const writable = () => {
    if (sealed)
      throw new InternalError(`the run was stopped: ${staging} takes no more writes`, 'Sealed');
  };
  let createdParent: string | undefined;

  const work = (key: string) => join(staging, key);
  const cannot = (what: string, path: string, error: unknown) =>
    new InvalidInputError(
      `${path}: cannot ${what} (${errno(error) ?? (error as Error).message})`,
      'OutputNotWritable',
      { cause: error },
    );
  const readOwner = async (): Promise<Owner | null> =>
    readFile(join(staging, OWNER), 'utf8').then(
      (t) => JSON.parse(t) as Owner,
      () => null,
    );
  const busy = (holder: Owner | null) =>
    new InvalidInputError(
      holder
        ? `${out} is in use by another run (pid ${holder.pid} on ${holder.host}, ${holder.runId}); wait for it to finish, or remove ${staging} if it is not running`
        : `${out} is in use by another run that is starting (${staging} exists); try again, or remove it if no run is active`,
      'OutputBusy',
    );
  /**
   * Clears the staging folder of a run that died. It is first renamed aside (atomic: of two runs
   * taking it over, one wins), then what its unfinished publish had put into --out (its journal)
   * is removed, unless that run had committed (its own manifest.json is in --out).
   */
  const takeOver = async (dead: Owner | null) => {
    const tomb = `${staging}.dead-${process.pid}-${Date.now()}`;
    try {
      await rename(staging, tomb);
    } catch (error) {
      if (errno(error) === 'ENOENT') return; // another run took it over first
      throw cannot('take over the staging folder', staging, error);
    }
    try {
      const journal = await readFile(join(tomb, 'publishing.json'), 'utf8').then(
        (t) => JSON.parse(t) as { publishes?: string[] },
        () => null,
      );
      const manifest = await readFile(join(out, 'manifest.json'), 'utf8').then(
        (t) => JSON.parse(t) as { executionName?: string },
        () => null,
      );
      if (journal?.publishes && manifest?.executionName !== dead?.runId) {
        await store.removeOutputs(['manifest.json', ...journal.publishes]);
      }
    } finally {
      await rm(tomb, { recursive: true, force: true });
    }
  };
  const owns = async (run: RunRef) =>
    owner?.runId === run.runId && (await readOwner())?.runId === run.runId;

  const store: FileJobStore = {
    location: out,
    staging,

    workSink(key) {
      // Work folders (parts/<file>/, outputs/) are made on first use.
      const ready = mkdir(dirname(work(key)), { recursive: true });
      ready.catch(() => {});
      const sink = fileSink(work(key));
      return {
        write: async (chunk) => {
          await ready;
          writable();
          await sink.write(chunk);
        },
        close: async () => {
          await ready;
          writable();
          await sink.close();
        },
        abort: () => sink.abort(),
      };
    },
    async workSource(key) {
      const s = fileSource(work(key));
      sources.push(s);
      return s;
    },
    async putWork(key, bytes) {
      writable();
      await mkdir(dirname(work(key)), { recursive: true });
      writable();
      await writeFile(work(key), bytes);
    },
    async getWork(key) {
      return readFile(work(key)).then(
        (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
        (error) => {
          // ENOTDIR: the staging folder could not even be created (a file in its place).
          if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return null;
          throw error;
        },
      );
    },
    async listWork(prefix) {
      const entries = await readdir(work(prefix), { recursive: true, withFileTypes: true }).catch(
        () => [],
      );
      return entries
        .filter((e) => e.isFile())
        .map((e) => relative(staging, join(e.parentPath, e.name)).split('\\').join('/'));
    },
    seal() {
      sealed = true;
    },
    removeStagingSync(run) {
      let holder: Owner | null = null;
      try {
        holder = JSON.parse(readFileSync(join(staging, OWNER), 'utf8')) as Owner;
      } catch {
        return false;
      }
      if (holder.runId !== run.runId) return false;
      rmSync(staging, { recursive: true, force: true });
      return true;
    },
    async removeWork() {
      if (owner === null || !(await owns(owner))) return;
      const entries = await readdir(staging).catch(() => [] as string[]);
      for (const name of entries) {
        if (name !== OWNER) await rm(work(name), { recursive: true, force: true, maxRetries: 3 });
      }
    },

    async claim(run) {
      const st = await stat(out).catch(() => null);
      if (st !== null && !st.isDirectory()) {
        throw new InvalidInputError(`--out ${out} exists and is not a folder`, 'OutputNotFolder');
      }
      if (owner?.runId === run.runId) return;
      const parent = await stat(dirname(out)).catch(() => null);
      if (parent !== null && !parent.isDirectory()) {
        throw new InvalidInputError(
          `--out ${out}: its parent ${dirname(out)} exists and is not a folder`,
          'OutputNotFolder',
        );
      }
      try {
        createdParent ??= await makeFolders(dirname(out));
      } catch (error) {
        throw cannot('create the folder', dirname(out), error);
      }
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await mkdir(staging);
          const me: Owner = { ...run, pid: process.pid, host: hostname() };
          await writeFile(join(staging, OWNER), JSON.stringify(me));
          owner = run;
          return;
        } catch (error) {
          if (errno(error) !== 'EEXIST') throw cannot('create the staging folder', staging, error);
        }
        const holder = await readOwner();
        if (holder?.runId === run.runId) {
          owner = run;
          return;
        }
        if (holder === null) {
          const age = Date.now() - ((await stat(staging).catch(() => null))?.mtimeMs ?? 0);
          if (age < STARTING_MS) throw busy(null);
        } else if (isAlive(holder)) {
          throw busy(holder);
        }
        await takeOver(holder);
      }
      throw busy(await readOwner());
    },
    async release(run) {
      if (!(await owns(run))) return;
      await rm(staging, { recursive: true, force: true, maxRetries: 3 });
      owner = null;
      if (createdParent !== undefined) {
        // Parents this run created, innermost first, while they are empty.
        for (let d = dirname(out); d.length >= createdParent.length; d = dirname(d)) {
          if (
            !(await rmdir(d).then(
              () => true,
              () => false,
            ))
          )
            break;
        }
        createdParent = undefined;
      }
    },

    async listOutputs() {
      const entries = await readdir(out, { withFileTypes: true }).catch(() => []);
      return entries.filter((e) => !e.isDirectory()).map((e) => e.name);
    },
    async getOutput(name) {
      return readFile(join(out, name)).then(
        (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
        () => null,
      );
    },
    async publish(stagedKey, name) {
      writable();
      await makeFolders(out).catch((error) => {
        throw cannot('create the folder', out, error);
      });
      try {
        await rename(work(stagedKey), join(out, name));
      } catch (error) {
        if (errno(error) !== 'EXDEV') throw cannot('write', join(out, name), error);
        // --out on another file system than its parent (a mount point): copy, then rename.
        const partial = join(out, `.${name}.partial-${process.pid}`);
        await copyFile(work(stagedKey), partial);
        await rename(partial, join(out, name));
      }
    },
    async putOutput(name, bytes) {
      const key = `publish/${name}`;
      await store.putWork(key, bytes);
      await store.publish(key, name, bytes.byteLength);
    },
    async removeOutputs(names) {
      for (const name of names) {
        const path = join(out, name);
        for (let attempt = 1; ; attempt++) {
          try {
            await rm(path, { force: true });
            break;
          } catch (error) {
            if (attempt >= REMOVE_ATTEMPTS) {
              throw new InternalError(
                `could not remove ${path} (${errno(error) ?? String(error)}) after ${attempt} attempts`,
                'RemoveFailed',
                { cause: error },
              );
            }
            await sleep(50 * 2 ** attempt);
          }
        }
      }
    },

    async statInput(name) {
      const given = inputSources.get(name);
      if (given !== undefined) return { name, size: await given.size(), version: 'generated' };
      const st = await stat(name).catch((error) => {
        throw new InvalidInputError(`${name}: cannot read (${errno(error)})`, 'FileNotFound', {
          cause: error,
        });
      });
      return { name, size: st.size, version: st.mtime.toISOString() };
    },
    openInput(ref: InputRef) {
      let s = inputSources.get(ref.name);
      if (s === undefined) {
        const f = fileSource(ref.name);
        sources.push(f);
        inputSources.set(ref.name, f);
        s = f;
      }
      return s;
    },

    async meter(stage, ms) {
      meter.computeMs[stage] = (meter.computeMs[stage] ?? 0) + Math.max(0, Math.round(ms));
      meter.invocations[stage] = (meter.invocations[stage] ?? 0) + 1;
    },
    async readMeter() {
      return { computeMs: { ...meter.computeMs }, invocations: { ...meter.invocations } };
    },
    async recordUsage(usage) {
      return usage;
    },

    async close() {
      await Promise.all(sources.splice(0).map((s) => s.close()));
    },
  };
  return store;
}

export type { FileJobStore };
export { fileJobStore, stagingFolder };
