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
  /**
   * Optional: fills `target` from `offset` (fewer bytes only if the source ends first) and returns
   * the count. Lets a caller reuse one buffer for many reads: fresh memory is costly to touch.
   */
  readInto?(offset: number, target: Uint8Array): Promise<number>;
}

/**
 * Fills `target` from `source` at `offset`: through `readInto` when the source has it, else one
 * `read` copied over. Returns the number of bytes read.
 */
async function readIntoBuffer(
  source: ByteSource,
  offset: number,
  target: Uint8Array,
): Promise<number> {
  if (source.readInto) return source.readInto(offset, target);
  const bytes = await source.read(offset, target.byteLength);
  target.set(bytes);
  return bytes.byteLength;
}

/**
 * A free list of equally sized scratch buffers: `take` hands out a free one (or a new one) and
 * `give` returns it. Reusing buffers instead of allocating one per read keeps the pages warm.
 */
class BufferPool {
  private readonly free: Uint8Array[] = [];

  constructor(readonly size: number) {}

  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(this.size);
  }

  give(buffer: Uint8Array): void {
    if (buffer.byteLength === this.size && this.free.length < 4) this.free.push(buffer);
  }
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
    readInto: async (offset, target) => {
      const piece = bytes.subarray(
        Math.min(offset, bytes.byteLength),
        Math.min(offset + target.byteLength, bytes.byteLength),
      );
      target.set(piece);
      return piece.byteLength;
    },
    read: async (offset, length) =>
      bytes.slice(Math.min(offset, bytes.byteLength), Math.min(offset + length, bytes.byteLength)),
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
export { BufferPool, memorySink, memorySource, readIntoBuffer };
