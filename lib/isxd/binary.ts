/**
 * Little-endian binary helpers for `.isxd` data sections (docs/isxd-format.md §1: every number is
 * LE; float32 data and uint64 fields). Typed-array views assume a little-endian host (x86-64,
 * arm64), like the official library; a misaligned slice is copied before a Float32Array view is
 * made over it.
 */
import type { ByteSink } from '../bytes.js';

/** Default size of the chunks handed to a sink. */
const STAGE_BYTES = 1 << 20;

/**
 * `count` float32 values at `bytes[offset…]`: a view when 4-byte aligned (shares memory with
 * `bytes`), otherwise a copy.
 */
function float32At(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const at = bytes.byteOffset + offset;
  if (at % 4 === 0) return new Float32Array(bytes.buffer, at, count);
  return new Float32Array(bytes.slice(offset, offset + 4 * count).buffer);
}

/** The bytes of a typed array (a view, no copy). */
function bytesOf(array: Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * Collects small writes into fixed-size chunks for a {@link ByteSink}. The chunk buffer is reused
 * once `sink.write` resolves, so a sink must copy (or finish with) the bytes before resolving, as
 * memorySink and the CLI's fileSink do.
 */
class StagedSink {
  private readonly stage: Uint8Array;
  private used = 0;
  /** Bytes accepted so far. */
  bytesWritten = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly capacity = STAGE_BYTES,
  ) {
    this.stage = new Uint8Array(capacity);
  }

  /** Appends a copy of `bytes`. */
  async append(bytes: Uint8Array): Promise<void> {
    let from = 0;
    while (from < bytes.byteLength) {
      if (this.used === this.capacity) await this.flush();
      const n = Math.min(this.capacity - this.used, bytes.byteLength - from);
      this.stage.set(bytes.subarray(from, from + n), this.used);
      this.used += n;
      from += n;
    }
    this.bytesWritten += bytes.byteLength;
  }

  /** Hands the filled part of the current chunk to the sink. */
  async flush(): Promise<void> {
    if (this.used === 0) return;
    const full = this.stage.subarray(0, this.used);
    this.used = 0;
    await this.sink.write(full);
  }
}

export { bytesOf, float32At, STAGE_BYTES, StagedSink };
