import { describe, expect, it } from 'vitest';
import {
  EVENT_PACKET_BYTES,
  EVENT_PACKET_WORDS,
  EventPacketWriter,
  eventPacketWords,
  PACKET_WORD,
  packetChannel,
  packetOffset,
} from '../../../lib/isxd/eventPackets.js';

describe('EventPacketWriter', () => {
  it('writes u64 offset ‖ u64 channel ‖ f32 amplitude, little-endian (isxd-format.md §6.1)', () => {
    // Prepare
    const writer = new EventPacketWriter(1);
    // Act
    writer.reserve(2);
    writer.push(2 ** 32 + 5, 3, 0.1);
    writer.pushExact(2n ** 63n + 1n, 7, 2);
    const bytes = writer.held();
    // Assess
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(bytes.byteLength).toBe(2 * EVENT_PACKET_BYTES);
    expect(view.getBigUint64(0, true)).toBe(2n ** 32n + 5n);
    expect(view.getBigUint64(8, true)).toBe(3n);
    expect(view.getFloat32(16, true)).toBe(Math.fround(0.1));
    expect(view.getBigUint64(20, true)).toBe(2n ** 63n + 1n);
    expect(view.getBigUint64(28, true)).toBe(7n);
    expect(view.getFloat32(36, true)).toBe(2);
  });

  it('keeps its packets when it grows and clears the channel high word on reuse', () => {
    // Prepare
    const writer = new EventPacketWriter(0);
    writer.reserve(1);
    writer.push(1, 1, 1);
    new DataView(writer.held().buffer).setUint32(12, 9, true);
    writer.clear();
    // Act
    writer.reserve(1);
    writer.push(10, 4, 1);
    writer.reserve(100);
    const words = eventPacketWords(writer.held());
    // Assess
    expect(writer.count).toBe(1);
    expect(words.length).toBe(EVENT_PACKET_WORDS);
    expect(packetOffset(words, 0)).toBe(10);
    expect(packetChannel(words, 0)).toBe(4);
  });
});

describe('eventPacketWords', () => {
  it('decodes the same at any byte alignment and drops a partial packet', () => {
    // Prepare
    const writer = new EventPacketWriter(2);
    writer.push(123_456_789_012, 2, 0.5);
    writer.push(7, 0, 1);
    const aligned = writer.held();
    const unaligned = new Uint8Array(aligned.byteLength + 4).subarray(1, aligned.byteLength + 4);
    unaligned.set(aligned);
    // Act
    const a = eventPacketWords(aligned);
    const b = eventPacketWords(unaligned);
    // Assess
    expect(unaligned.byteOffset % 4).toBe(1);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(b.length).toBe(2 * EVENT_PACKET_WORDS);
    expect(packetOffset(a, EVENT_PACKET_WORDS)).toBe(7);
    expect(new Float32Array(a.buffer, a.byteOffset + 4 * PACKET_WORD.amplitude, 1)[0]).toBe(0.5);
  });
});
