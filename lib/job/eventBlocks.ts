/**
 * Reading a written event set's packets block by block (isxd-format.md: 20-byte packets from
 * byte 0 of the data section), for the steps that make something of every event: the previews,
 * the report fragment and the CSV export. One reused buffer: a block is only valid during its call.
 */
import { type ByteSource, readIntoBuffer } from '../bytes.js';
import { InternalError } from '../errors.js';
import { EVENT_PACKET_BYTES } from '../isxd/eventPackets.js';

/** Event-set bytes read at a time: whole packets, about 4 MB. */
const EVENT_BLOCK_BYTES = 204_800 * EVENT_PACKET_BYTES;

/**
 * Calls `each(packets, firstPacket)` for consecutive blocks of packets [0, numPackets), at most
 * `blockBytes` (rounded down to whole packets, at least one) at a time, awaiting each call.
 *
 * @throws InternalError when the event set ends early: it is one of the job's own outputs.
 */
async function forEachEventBlock(
  eventSet: ByteSource,
  numPackets: number,
  each: (packets: Uint8Array, firstPacket: number) => void | Promise<void>,
  blockBytes = EVENT_BLOCK_BYTES,
): Promise<void> {
  const total = numPackets * EVENT_PACKET_BYTES;
  const step = Math.max(
    EVENT_PACKET_BYTES,
    Math.floor(blockBytes / EVENT_PACKET_BYTES) * EVENT_PACKET_BYTES,
  );
  // One buffer for every block (fresh pages cost more than the reads).
  const buffer = new Uint8Array(Math.min(step, total));
  for (let at = 0; at < total; at += step) {
    const block = buffer.subarray(0, Math.min(step, total - at));
    const got = await readIntoBuffer(eventSet, at, block);
    if (got !== block.byteLength) {
      throw new InternalError(
        `${eventSet.name}: read ${got} bytes at ${at}, expected ${block.byteLength}`,
        'ShortRead',
      );
    }
    await each(block, at / EVENT_PACKET_BYTES);
  }
}

export { EVENT_BLOCK_BYTES, forEachEventBlock };
