/** An in-memory JobRuntime for tests: parts and outputs live in Maps, chunks run in-process. */
import { type ByteSource, memorySink, memorySource } from '../../../lib/bytes.js';
import { deconvolveChunk } from '../../../lib/job/deconvolveChunk.js';
import type { JobRuntime } from '../../../lib/job/runJob.js';

interface MemoryRuntime extends JobRuntime {
  outputs: Map<string, Uint8Array>;
  parts: Map<string, Uint8Array>;
  partsRemoved: boolean;
}

function memoryRuntime(inputs: ByteSource[], concurrency = 2): MemoryRuntime {
  const outputs = new Map<string, Uint8Array>();
  const parts = new Map<string, Uint8Array>();
  const key = (file: number, kind: string, chunk: number) => `${file}/${kind}/${chunk}`;
  const sinkInto = (map: Map<string, Uint8Array>, name: string) => {
    const sink = memorySink();
    return {
      write: (c: Uint8Array) => sink.write(c),
      abort: () => sink.abort(),
      close: async () => {
        await sink.close();
        map.set(name, sink.bytes());
      },
    };
  };
  const rt: MemoryRuntime = {
    inputs,
    outputs,
    parts,
    partsRemoved: false,
    concurrency,
    limits: { maxCellsPerChunk: 4 },
    runChunk: (plan, item) =>
      deconvolveChunk(
        plan,
        item,
        inputs[item.file],
        sinkInto(parts, key(item.file, 'cellset', item.chunk)),
        sinkInto(parts, key(item.file, 'events', item.chunk)),
      ),
    readPart: async (file, kind, chunk) =>
      memorySource(key(file, kind, chunk), parts.get(key(file, kind, chunk)) ?? new Uint8Array()),
    removeParts: async () => {
      parts.clear();
      rt.partsRemoved = true;
    },
    outputSink: (name) => sinkInto(outputs, name),
    openOutput: async (name) => memorySource(name, outputs.get(name) ?? new Uint8Array()),
    writeOutput: async (name, bytes) => {
      outputs.set(name, bytes);
    },
    removeOutput: async (name) => {
      outputs.delete(name);
    },
  };
  return rt;
}

export type { MemoryRuntime };
export { memoryRuntime };
