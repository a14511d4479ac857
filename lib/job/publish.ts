/**
 * The publish protocol, the same locally and on AWS. A run's outputs are whole or absent:
 *
 * 1. Everything is staged in the work area first; sizes and SHA-256 are taken while writing.
 * 2. Finalize journals what it is about to do (WORK.publishing: the names it publishes and the
 *    previous result's files it removes), removes a previous result's `manifest.json` first (so
 *    the location never looks complete while it changes), moves every staged output in, removes
 *    the previous result's files that the new one does not have (and a stale `failure.json`),
 *    writes `usage.json`, and `manifest.json` last. Writing the manifest is the commit: from then
 *    on the result stands, whatever fails afterwards.
 * 3. Cleanup after a failure before the commit removes exactly what the journal names (the
 *    manifest first), so a crash at any point of step 2 leaves nothing that looks complete. A
 *    retried publish reuses the journal. Files that no manifest lists (the user's own) are
 *    never touched.
 *
 * A finished run's location holds `manifest.json`: every output with its size and SHA-256.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ByteSink, ByteSource } from '../bytes.js';
import { InternalError } from '../errors.js';
import {
  getRecord,
  type InputRef,
  type JobStore,
  jsonBytes,
  putRecord,
  type RunRef,
  type StoredObject,
  WORK,
} from './store.js';
import type { UsageRecord } from './usage.js';

const MANIFEST_NAME = 'manifest.json';
const USAGE_NAME = 'usage.json';
const FAILURE_NAME = 'failure.json';

/** `manifest.json` of a finished run. */
interface Manifest {
  executionName: string;
  executionId: string;
  status: 'SUCCEEDED';
  createdAt: string;
  inputs: InputRef[];
  /** Every other file of the result, sorted by name. */
  outputs: StoredObject[];
  usage: Pick<UsageRecord, 'totalComputeMs' | 'credits' | 'files' | 'cells'>;
}

/** WORK.publishing: what a publish does, written before it touches the output location. */
interface Journal {
  /** Names it writes (the manifest first). */
  publishes: string[];
  /** The previous result's files (a manifest's list), for telling the user's files apart. */
  previous: string[];
  /** Files of the previous result that the new one lacks, and a stale failure.json. */
  removes: string[];
}

/** What a publish did besides writing the outputs. */
interface PublishReport {
  manifest: Manifest;
  /** Files of the previous result that the new one does not have, now removed. */
  removed: string[];
  /** Files in the location that no manifest lists (left alone). */
  foreign: string[];
}

/** A sink that hashes and counts what passes through (the manifest's size and SHA-256). */
function hashingSink(
  name: string,
  inner: ByteSink,
): ByteSink & { stored(): StoredObject; readonly name: string } {
  const hash: Hash = createHash('sha256');
  let size = 0;
  let digest: string | null = null;
  return {
    name,
    async write(chunk) {
      hash.update(chunk);
      size += chunk.byteLength;
      await inner.write(chunk);
    },
    async close() {
      await inner.close();
      digest = hash.digest('hex');
    },
    abort: () => inner.abort(),
    stored() {
      if (digest === null) throw new InternalError(`${name}: stored() before close()`, 'Invariant');
      return { name, size, sha256: digest };
    },
  };
}

/** Size and SHA-256 of bytes written whole. */
function storedBytes(name: string, bytes: Uint8Array): StoredObject {
  return { name, size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Bytes read at a time when hashing an object that was written without passing through. */
const HASH_READ_BYTES = 8 * 1024 * 1024;

/**
 * Size and SHA-256 of a staged object written server side (its bytes never passed through a
 * hashing sink): read once, in order, the next piece requested while the current one is hashed.
 * @throws InternalError when the object ends early
 */
async function hashSource(name: string, source: ByteSource): Promise<StoredObject> {
  const size = await source.size();
  const hash = createHash('sha256');
  const request = (at: number) =>
    at < size ? source.read(at, Math.min(HASH_READ_BYTES, size - at)) : null;
  let next = request(0);
  for (let at = 0; next !== null; ) {
    const piece = await next;
    if (piece.byteLength === 0) {
      throw new InternalError(`${source.name}: ended at byte ${at}, expected ${size}`, 'Invariant');
    }
    at += piece.byteLength;
    next = request(at);
    // Observed on the next turn; a failed read-ahead must not count as unhandled meanwhile.
    next?.catch(() => {});
    hash.update(piece);
  }
  return { name, size, sha256: hash.digest('hex') };
}

/** Stages a small output whole and returns its manifest entry. */
async function stageBytes(store: JobStore, name: string, bytes: Uint8Array): Promise<StoredObject> {
  await store.putWork(WORK.staged(name), bytes);
  return storedBytes(name, bytes);
}

/** The manifest of the location, or null (absent, or not a manifest this product wrote). */
async function readManifest(store: JobStore): Promise<Manifest | null> {
  const bytes = await store.getOutput(MANIFEST_NAME);
  if (bytes === null) return null;
  try {
    const m = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Manifest>;
    return Array.isArray(m.outputs) ? (m as Manifest) : null;
  } catch {
    return null;
  }
}

/**
 * Publishes the staged outputs and writes usage.json and, last, manifest.json.
 * @param staged - every staged output (publish order: as given)
 */
async function publishOutputs(
  store: JobStore,
  args: { run: RunRef; inputs: InputRef[]; staged: StoredObject[]; usage: UsageRecord; now: Date },
): Promise<PublishReport> {
  const before = await store.listOutputs();
  const usageBytes = jsonBytes(args.usage);
  const outputs = [...args.staged, storedBytes(USAGE_NAME, usageBytes)].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const names = outputs.map((o) => o.name);
  // A retried publish finds its journal (the previous manifest may be gone by then).
  let journal = await getRecord<Journal>(store, WORK.publishing);
  if (journal === null) {
    const previous = await readManifest(store);
    const ours = new Set(names);
    journal = {
      publishes: [MANIFEST_NAME, ...names],
      previous: previous?.outputs.map((o) => o.name) ?? [],
      removes: [
        ...(previous?.outputs.map((o) => o.name).filter((n) => !ours.has(n)) ?? []),
        ...(before.includes(FAILURE_NAME) ? [FAILURE_NAME] : []),
      ],
    };
    await putRecord(store, WORK.publishing, journal);
  }
  if (before.includes(MANIFEST_NAME)) await store.removeOutputs([MANIFEST_NAME]);
  for (const o of args.staged) await store.publish(WORK.staged(o.name), o.name, o.size);
  await store.removeOutputs(journal.removes);
  await store.putOutput(USAGE_NAME, usageBytes);
  const manifest: Manifest = {
    executionName: args.run.runId,
    executionId: args.run.executionId,
    status: 'SUCCEEDED',
    createdAt: args.now.toISOString(),
    inputs: args.inputs,
    outputs,
    usage: {
      totalComputeMs: args.usage.totalComputeMs,
      credits: args.usage.credits,
      files: args.usage.files,
      cells: args.usage.cells,
    },
  };
  await store.putOutput(MANIFEST_NAME, jsonBytes(manifest));
  const known = new Set([...names, ...journal.removes, ...journal.previous, MANIFEST_NAME]);
  return {
    manifest,
    removed: journal.removes.filter((n) => n !== FAILURE_NAME),
    foreign: before.filter((n) => !known.has(n)),
  };
}

/**
 * Removes whatever an unfinished publish of this run put in place (the journal's names, the
 * manifest first). Nothing when it never started publishing.
 * @returns the names removed (or already absent)
 */
async function unpublish(store: JobStore): Promise<string[]> {
  const journal = await getRecord<Journal>(store, WORK.publishing);
  if (journal === null) return [];
  await store.removeOutputs([MANIFEST_NAME]);
  const rest = journal.publishes.filter((n) => n !== MANIFEST_NAME);
  await store.removeOutputs(rest);
  return [MANIFEST_NAME, ...rest];
}

export type { Manifest, PublishReport };
export {
  FAILURE_NAME,
  hashingSink,
  hashSource,
  MANIFEST_NAME,
  publishOutputs,
  readManifest,
  stageBytes,
  storedBytes,
  USAGE_NAME,
  unpublish,
};
