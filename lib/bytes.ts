/**
 * Byte sources and sinks: the only way `lib/` touches file contents. The CLI binds them to
 * files on disk, the Lambda handlers to S3 ranged GETs and multipart uploads, so a cell set is
 * never held whole in memory.
 */

/** Random-access read-only bytes (a local file, an S3 object, a buffer). */
interface ByteSource {
  /** Name used in error messages (path or s3://bucket/key). */
  readonly name: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /**
   * Exactly `length` bytes from `offset` (fewer only if the source ends first), in memory the
   * caller owns: it may modify them (the job overwrites traces in place).
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Sequential write-only bytes. Outputs appear whole on `close` or not at all (`abort`). */
interface ByteSink {
  /**
   * Appends `chunk`. Writers may reuse the chunk's memory once the promise resolves, so a sink
   * that keeps it (e.g. buffering an S3 multipart part) must copy it before resolving.
   */
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** A ByteSource over bytes already in memory. */
function memorySource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: async () => bytes.byteLength,
    read: async (offset, length) =>
      bytes.slice(
        Math.min(offset, bytes.byteLength),
        Math.min(offset + length, bytes.byteLength),
      ),
  };
}

/** A ByteSink that collects into memory; `bytes()` returns the whole content after `close`. */
function memorySink(): ByteSink & { bytes(): Uint8Array; closed: boolean } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const sink = {
    closed: false,
    async write(chunk: Uint8Array) {
      chunks.push(chunk.slice());
      total += chunk.byteLength;
    },
    async close() {
      sink.closed = true;
    },
    async abort() {
      chunks.length = 0;
      total = 0;
    },
    bytes() {
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.byteLength;
      }
      return out;
    },
  };
  return sink;
}

export type { ByteSink, ByteSource };
export { memorySink, memorySource };
