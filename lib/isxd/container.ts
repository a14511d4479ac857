/**
 * The `.isxd` container (docs/isxd-format.md §1):
 *
 *   data (D bytes) ‖ JSON footer (L bytes, UTF-8) ‖ 0x00 ‖ u64 LE L,   file size = D + L + 9.
 *
 * Reading takes exactly two ranged reads (the last 8 bytes, then the last L + 9 bytes) and checks
 * L against the file size before allocating anything, so a corrupt length can never make the
 * reader allocate more than the file.
 */
import type { ByteSource } from '../bytes.js';
import { IsxdErrorCode, IsxdFormatError } from '../errors.js';
import { dumpJson, type JsonValue, parseJson } from './json.js';

/** Bytes after the JSON text: one NUL and the u64 length (§1). */
const FOOTER_TRAILER_BYTES = 9;

/** The decoded footer of a container plus where its data section ends. */
interface ContainerFooter {
  /** Source name (for messages). */
  readonly file: string;
  /** Total file size in bytes. */
  readonly fileSize: number;
  /** D: bytes of the data section, which starts at offset 0. */
  readonly dataSize: number;
  /** L: bytes of the JSON text. */
  readonly jsonLength: number;
  /** The parsed footer. */
  readonly root: JsonValue;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * Locates, checks and parses the footer (§1 "How the official reader gets the footer").
 * @throws IsxdFormatError `Truncated`, `FooterLength`, `FooterJson`, `NonFinite`
 */
async function readFooter(source: ByteSource): Promise<ContainerFooter> {
  const file = source.name;
  const fileSize = await source.size();
  if (fileSize < FOOTER_TRAILER_BYTES + 1) {
    throw new IsxdFormatError(file, IsxdErrorCode.Truncated, 'file too small to hold a footer', {
      expected: `at least ${FOOTER_TRAILER_BYTES + 1} bytes (JSON ‖ NUL ‖ u64 length)`,
      actual: `${fileSize} bytes`,
    });
  }
  const tail = await source.read(fileSize - 8, 8);
  if (tail.byteLength !== 8) throw shortRead(file, fileSize - 8, 8, tail.byteLength);
  const length = new DataView(tail.buffer, tail.byteOffset, 8).getBigUint64(0, true);
  const maxLength = BigInt(fileSize - FOOTER_TRAILER_BYTES);
  if (length > maxLength || length === 0n) {
    throw new IsxdFormatError(
      file,
      IsxdErrorCode.FooterLength,
      'footer length in the last 8 bytes is impossible (file truncated or corrupt)',
      {
        expected: `1 to ${maxLength} (file size ${fileSize} − 9)`,
        actual: length.toString(),
        offset: fileSize - 8,
      },
    );
  }
  const jsonLength = Number(length);
  const dataSize = fileSize - FOOTER_TRAILER_BYTES - jsonLength;
  const block = await source.read(dataSize, jsonLength + 1);
  if (block.byteLength !== jsonLength + 1)
    throw shortRead(file, dataSize, jsonLength + 1, block.byteLength);
  if (block[jsonLength] !== 0) {
    throw new IsxdFormatError(
      file,
      IsxdErrorCode.FooterLength,
      'no NUL byte between the footer JSON and its length',
      {
        expected: '0x00',
        actual: `0x${block[jsonLength].toString(16).padStart(2, '0')}`,
        offset: fileSize - FOOTER_TRAILER_BYTES,
      },
    );
  }
  let text: string;
  try {
    text = decoder.decode(block.subarray(0, jsonLength));
  } catch (cause) {
    throw new IsxdFormatError(
      file,
      IsxdErrorCode.FooterJson,
      'footer is not valid UTF-8',
      { expected: 'UTF-8 JSON text', offset: dataSize },
      { cause },
    );
  }
  const root = parseJson(text, file);
  return { file, fileSize, dataSize, jsonLength, root };
}

function shortRead(file: string, offset: number, wanted: number, got: number): IsxdFormatError {
  return new IsxdFormatError(file, IsxdErrorCode.Truncated, 'file ended during a read', {
    expected: `${wanted} bytes at offset ${offset}`,
    actual: `${got} bytes`,
    offset,
  });
}

/** JSON text ‖ 0x00 ‖ u64 LE byte length: the bytes that follow the data section (§1, §8.1). */
function encodeFooter(root: JsonValue): Uint8Array {
  const json = encoder.encode(dumpJson(root));
  const out = new Uint8Array(json.byteLength + FOOTER_TRAILER_BYTES);
  out.set(json, 0);
  new DataView(out.buffer).setBigUint64(json.byteLength + 1, BigInt(json.byteLength), true);
  return out;
}

export type { ContainerFooter };
export { encodeFooter, FOOTER_TRAILER_BYTES, readFooter, shortRead };
