/**
 * Event packets (docs/isxd-format.md §6.1): an event set's data section is a run of 20-byte
 * little-endian packets
 *
 *   u64 offset (µs after `global times[0]`) ‖ u64 channel (cell index) ‖ f32 amplitude.
 *
 * This module is the only place that knows that layout. Writing goes through a DataView into one
 * growable buffer ({@link EventPacketWriter}); reading through a Uint32Array over whole packets
 * ({@link eventPacketWords}: five words a packet, {@link PACKET_WORD}), which assumes a
 * little-endian host as binary.ts does. Neither allocates per packet.
 */

/** Bytes per packet (§6.1). */
const EVENT_PACKET_BYTES = 20;
/** u32 words per packet. */
const EVENT_PACKET_WORDS = EVENT_PACKET_BYTES / 4;
/** Position of each field's u32 words in a packet: a u64 is lo + hi·2³². */
const PACKET_WORD = { offsetLo: 0, offsetHi: 1, channelLo: 2, channelHi: 3, amplitude: 4 } as const;

const TWO_32 = 2 ** 32;

/**
 * A growable run of packets in one buffer: `reserve`, then `push` or `pushExact` per event, then
 * hand `held()` to a sink and `clear()` to reuse the memory.
 */
class EventPacketWriter {
  /** Packets held. */
  count = 0;
  private bytes: Uint8Array;
  private view: DataView;

  /** @param capacity - packets to make room for up front. */
  constructor(capacity = 0) {
    this.bytes = new Uint8Array(capacity * EVENT_PACKET_BYTES);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Room for `extra` more packets (the buffer at least doubles when it grows). */
  reserve(extra: number): void {
    const needed = (this.count + extra) * EVENT_PACKET_BYTES;
    if (needed <= this.bytes.byteLength) return;
    const grown = new Uint8Array(Math.max(needed, 2 * this.bytes.byteLength));
    grown.set(this.bytes.subarray(0, this.count * EVENT_PACKET_BYTES));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  /**
   * Appends one packet (room must be reserved). `offset` is a non-negative safe integer (µs),
   * `channel` a u32, `amplitude` is rounded to float32.
   */
  push(offset: number, channel: number, amplitude: number): void {
    const view = this.view;
    const o = this.count++ * EVENT_PACKET_BYTES;
    view.setUint32(o, offset % TWO_32, true);
    view.setUint32(o + 4, Math.floor(offset / TWO_32), true);
    view.setUint32(o + 8, channel, true);
    view.setUint32(o + 12, 0, true);
    view.setFloat32(o + 16, amplitude, true);
  }

  /** {@link push} with a u64 offset given exactly. */
  pushExact(offset: bigint, channel: number, amplitude: number): void {
    const view = this.view;
    const o = this.count++ * EVENT_PACKET_BYTES;
    view.setBigUint64(o, offset, true);
    view.setUint32(o + 8, channel, true);
    view.setUint32(o + 12, 0, true);
    view.setFloat32(o + 16, amplitude, true);
  }

  /** The packets held, as bytes (valid until the next `reserve` or `clear`). */
  held(): Uint8Array {
    return this.bytes.subarray(0, this.count * EVENT_PACKET_BYTES);
  }

  /** Drops the packets held; the buffer stays. */
  clear(): void {
    this.count = 0;
  }
}

/**
 * The whole packets of `bytes` as u32 words, {@link EVENT_PACKET_WORDS} a packet: a view when
 * 4-byte aligned (shares memory with `bytes`), otherwise a copy. Trailing bytes of a partial
 * packet are left out.
 */
function eventPacketWords(bytes: Uint8Array): Uint32Array {
  const words = Math.floor(bytes.byteLength / EVENT_PACKET_BYTES) * EVENT_PACKET_WORDS;
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, words);
  return new Uint32Array(bytes.slice(0, 4 * words).buffer);
}

/** The µs offset of the packet whose first word is `w`, as a double (exact below 2^53). */
function packetOffset(words: Uint32Array, w: number): number {
  return words[w + PACKET_WORD.offsetHi] * TWO_32 + words[w + PACKET_WORD.offsetLo];
}

/** The channel of the packet whose first word is `w`, as a double (≥ 2³² when the high word is set). */
function packetChannel(words: Uint32Array, w: number): number {
  return words[w + PACKET_WORD.channelHi] * TWO_32 + words[w + PACKET_WORD.channelLo];
}

export {
  EVENT_PACKET_BYTES,
  EVENT_PACKET_WORDS,
  EventPacketWriter,
  eventPacketWords,
  PACKET_WORD,
  packetChannel,
  packetOffset,
};
