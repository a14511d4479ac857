/**
 * An in-memory JobStore (lib/job/store.ts) for tests: work area, output location, claim and
 * usage ledger in Maps; inputs are the given sources by name. `hooks` let a test alter what a
 * work object reads back (e.g. truncate a part). With `concatMinPartBytes` it also offers
 * concatWork (joins work objects whose sizes are all at least that), recording each join.
 */
import { type ByteSource, memorySink, memorySource } from '../../lib/bytes.js';
import { InvalidInputError } from '../../lib/errors.js';
import type { JobStore, Meter, RunRef } from '../../lib/job/store.js';

interface MemoryStore extends JobStore {
  work: Map<string, Uint8Array>;
  outputs: Map<string, Uint8Array>;
  holder: RunRef | null;
  usage: unknown[];
  /** Changes what `workSource(key)` returns. */
  onWorkSource?: (key: string, source: ByteSource) => ByteSource;
  /** Every concatWork join: the part keys and the object written. */
  joins: { parts: string[]; to: string }[];
  /** Makes the next joins fail (after checking their parts): whole or absent. */
  failJoins?: Error;
}

function memoryStore(
  inputs: ByteSource[],
  location = 'mem://out/',
  opts: { concatMinPartBytes?: number } = {},
): MemoryStore {
  const byName = new Map(inputs.map((s) => [s.name, s]));
  const meter: Meter = { computeMs: {}, invocations: {} };
  const sinkInto = (map: Map<string, Uint8Array>, key: string) => {
    const sink = memorySink();
    return {
      write: (c: Uint8Array) => sink.write(c),
      abort: () => sink.abort(),
      close: async () => {
        await sink.close();
        map.set(key, sink.bytes());
      },
    };
  };
  const store: MemoryStore = {
    location,
    work: new Map(),
    outputs: new Map(),
    holder: null,
    usage: [],
    joins: [],
    workSink: (key) => sinkInto(store.work, key),
    async workSource(key) {
      const s = memorySource(key, store.work.get(key) ?? new Uint8Array());
      return store.onWorkSource ? store.onWorkSource(key, s) : s;
    },
    async putWork(key, bytes) {
      store.work.set(key, bytes.slice());
    },
    getWork: async (key) => store.work.get(key) ?? null,
    ...(opts.concatMinPartBytes === undefined
      ? {}
      : {
          concatWork: {
            fits: (sizes: number[]) => sizes.every((n) => n >= (opts.concatMinPartBytes as number)),
            async concat(parts: { key: string; size: number }[], tail: Uint8Array, to: string) {
              const pieces = parts.map((p) => store.work.get(p.key) ?? new Uint8Array());
              parts.forEach((p, k) => {
                if (pieces[k].byteLength !== p.size) throw new Error(`${p.key}: size changed`);
              });
              if (store.failJoins) throw store.failJoins;
              store.work.set(to, Buffer.concat([...pieces, tail]));
              store.joins.push({ parts: parts.map((p) => p.key), to });
            },
          },
        }),
    listWork: async (prefix) => [...store.work.keys()].filter((k) => k.startsWith(prefix)),
    async removeWork() {
      store.work.clear();
    },
    async claim(run) {
      if (store.holder !== null && store.holder.runId !== run.runId) {
        throw new InvalidInputError(`${location} is in use by ${store.holder.runId}`, 'OutputBusy');
      }
      store.holder = run;
    },
    async release(run) {
      if (store.holder?.runId === run.runId) store.holder = null;
    },
    listOutputs: async () => [...store.outputs.keys()],
    getOutput: async (name) => store.outputs.get(name) ?? null,
    async publish(stagedKey, name) {
      const bytes = store.work.get(stagedKey);
      if (bytes === undefined) throw new Error(`nothing staged at ${stagedKey}`);
      store.outputs.set(name, bytes);
      store.work.delete(stagedKey);
    },
    async putOutput(name, bytes) {
      store.outputs.set(name, bytes.slice());
    },
    async removeOutputs(names) {
      for (const n of names) store.outputs.delete(n);
    },
    async statInput(name) {
      const s = byName.get(name);
      if (!s) throw new InvalidInputError(`${name}: no such input`, 'FileNotFound');
      return { name, size: await s.size(), version: 'v1' };
    },
    openInput: (ref) => byName.get(ref.name) as ByteSource,
    async meter(stage, ms) {
      meter.computeMs[stage] = (meter.computeMs[stage] ?? 0) + Math.round(ms);
      meter.invocations[stage] = (meter.invocations[stage] ?? 0) + 1;
    },
    readMeter: async () => ({
      computeMs: { ...meter.computeMs },
      invocations: { ...meter.invocations },
    }),
    async recordUsage(u) {
      store.usage.push(u);
      return u;
    },
  };
  return store;
}

export type { MemoryStore };
export { memoryStore };
