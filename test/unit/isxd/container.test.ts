import { describe, expect, it } from 'vitest';
import { memorySource } from '../../../lib/bytes.js';
import { IsxdErrorCode, IsxdFormatError } from '../../../lib/errors.js';
import { encodeFooter, readFooter } from '../../../lib/isxd/container.js';
import { jsonInt, jsonObject, jsonString } from '../../../lib/isxd/json.js';
import { recordingSource } from '../../helpers/isxdFixtures.js';

function container(
  data: Uint8Array,
  json: string,
  length = new TextEncoder().encode(json).byteLength,
  nul = 0,
): Uint8Array {
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(data.byteLength + text.byteLength + 9);
  out.set(data, 0);
  out.set(text, data.byteLength);
  out[data.byteLength + text.byteLength] = nul;
  new DataView(out.buffer).setBigUint64(out.byteLength - 8, BigInt(length), true);
  return out;
}

function withLength(bytes: Uint8Array, length: bigint): Uint8Array {
  new DataView(bytes.buffer).setBigUint64(bytes.byteLength - 8, length, true);
  return bytes;
}

describe('encodeFooter', () => {
  it('writes JSON ‖ NUL ‖ u64 LE byte length (UTF-8 bytes, not UTF-16 units)', () => {
    // Prepare
    const root = jsonObject({ name: jsonString('é'), type: jsonInt(1) });
    // Act
    const bytes = encodeFooter(root);
    // Assess
    const text = '{\n    "name": "é",\n    "type": 1\n}';
    const length = new TextEncoder().encode(text).byteLength;
    expect(length).toBe(text.length + 1);
    expect(new TextDecoder().decode(bytes.subarray(0, length))).toBe(text);
    expect(bytes[length]).toBe(0);
    expect(new DataView(bytes.buffer).getBigUint64(length + 1, true)).toBe(BigInt(length));
    expect(bytes.byteLength).toBe(length + 9);
  });
});

describe('readFooter', () => {
  it('finds the footer with exactly two ranged reads and reports the data size', async () => {
    // Prepare
    const bytes = container(new Uint8Array(12), '{"type": 1}');
    const source = recordingSource('ok.isxd', bytes);
    // Act
    const footer = await readFooter(source);
    // Assess
    expect(footer.dataSize).toBe(12);
    expect(footer.jsonLength).toBe(11);
    expect(footer.root).toEqual(jsonObject({ type: jsonInt(1) }));
    expect(source.reads).toEqual([
      { offset: bytes.byteLength - 8, length: 8 },
      { offset: 12, length: 12 },
    ]);
  });

  it('accepts whitespace around the JSON', async () => {
    // Act
    const footer = await readFooter(
      memorySource('ws.isxd', container(new Uint8Array(0), ' \n{}\t ')),
    );
    // Assess
    expect(footer.root).toEqual(jsonObject({}));
  });

  it.each([
    ['a file smaller than the trailer', new Uint8Array(5), IsxdErrorCode.Truncated],
    [
      'a length past the file',
      container(new Uint8Array(4), '{}', 1000),
      IsxdErrorCode.FooterLength,
    ],
    [
      'a u64 length of 2^64 − 1',
      withLength(container(new Uint8Array(4), '{}'), (1n << 64n) - 1n),
      IsxdErrorCode.FooterLength,
    ],
    [
      'a zero length',
      withLength(container(new Uint8Array(4), '{}'), 0n),
      IsxdErrorCode.FooterLength,
    ],
    ['a missing NUL', container(new Uint8Array(4), '{}', 2, 0x20), IsxdErrorCode.FooterLength],
    ['a footer that is not JSON', container(new Uint8Array(4), '{x}'), IsxdErrorCode.FooterJson],
    [
      'a footer that is not UTF-8',
      container(new Uint8Array(0), '"\uFFFF"').map((b) => (b === 0xef ? 0xff : b)),
      IsxdErrorCode.FooterJson,
    ],
  ])('rejects %s with a typed error naming the file', async (_, bytes, code) => {
    // Prepare
    const source = recordingSource('bad.isxd', bytes);
    // Act
    const result = readFooter(source);
    // Assess
    await expect(result).rejects.toBeInstanceOf(IsxdFormatError);
    await expect(result).rejects.toMatchObject({ code, file: 'bad.isxd' });
    for (const read of source.reads) expect(read.length).toBeLessThanOrEqual(bytes.byteLength);
  });

  it('reports a source that returns fewer bytes than its size as Truncated', async () => {
    // Prepare
    const bytes = container(new Uint8Array(4), '{}');
    const source = {
      ...memorySource('short.isxd', bytes),
      size: async () => bytes.byteLength + 100,
    };
    // Act
    const result = readFooter(source);
    // Assess
    await expect(result).rejects.toMatchObject({ code: IsxdErrorCode.Truncated });
  });
});
