/**
 * Seeded fuzz over the four sample files: truncations, bit flips, length-field edits, footer text
 * edits (with a consistent length) and footer value swaps. Every outcome must be a successful
 * read of the footer and all cells/events, or an IsxdFormatError; no read may ask for more than
 * the file holds.
 */
import { expect, it } from 'vitest';
import type { ByteSource } from '../../../lib/bytes.js';
import { IsxdFormatError } from '../../../lib/errors.js';
import { openIsxd } from '../../../lib/isxd/index.js';
import { concatBytes, readSample, SAMPLE_FILES, seededRandom } from '../../helpers/isxdFixtures.js';
import { describeShared } from '../../helpers/shared.js';

const CASES_PER_FILE = 2500;
const JSON_CHARS = '{}[],:"0123456789-.eE \n\\tfalsenul';
const SWAPS = [
  '0',
  '-1',
  '1.5',
  '1e400',
  '18446744073709551615',
  '-9223372036854775809',
  'null',
  '"x"',
  '[]',
  '{}',
  'true',
  '4294967296',
];

type Mutation = (bytes: Uint8Array, random: () => number) => Uint8Array;

function int(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

function footerOf(bytes: Uint8Array): { dataSize: number; text: Uint8Array } {
  const length = Number(
    new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(bytes.byteLength - 8, true),
  );
  const dataSize = bytes.byteLength - 9 - length;
  return { dataSize, text: bytes.subarray(dataSize, dataSize + length) };
}

function withFooterText(bytes: Uint8Array, dataSize: number, text: Uint8Array): Uint8Array {
  const tail = new Uint8Array(9);
  new DataView(tail.buffer).setBigUint64(1, BigInt(text.byteLength), true);
  return concatBytes(bytes.subarray(0, dataSize), text, tail);
}

const mutations: Record<string, Mutation> = {
  truncateTail: (b, r) => b.slice(0, int(r, b.byteLength)),
  dropHead: (b, r) => b.slice(1 + int(r, Math.min(b.byteLength - 1, 4000))),
  flipAnywhere: (b, r) => {
    const out = b.slice();
    for (let k = 1 + int(r, 8); k > 0; k--) out[int(r, out.byteLength)] ^= 1 << int(r, 8);
    return out;
  },
  flipFooter: (b, r) => {
    const out = b.slice();
    const { dataSize } = footerOf(b);
    for (let k = 1 + int(r, 4); k > 0; k--)
      out[dataSize + int(r, out.byteLength - dataSize)] ^= 1 << int(r, 8);
    return out;
  },
  lengthField: (b, r) => {
    const out = b.slice();
    const view = new DataView(out.buffer);
    const length = view.getBigUint64(out.byteLength - 8, true);
    const choice = int(r, 3);
    const next =
      choice === 0
        ? BigInt(int(r, 2 ** 30)) * BigInt(int(r, 2 ** 30) + 1) * BigInt(1 + int(r, 16))
        : choice === 1
          ? length + BigInt(int(r, 21) - 10)
          : BigInt(out.byteLength - 9 + int(r, 3));
    view.setBigUint64(out.byteLength - 8, BigInt.asUintN(64, next), true);
    return out;
  },
  editFooterText: (b, r) => {
    const { dataSize, text } = footerOf(b);
    const t = Array.from(text);
    for (let k = 1 + int(r, 3); k > 0; k--) {
      const at = int(r, t.length);
      const c = JSON_CHARS.charCodeAt(int(r, JSON_CHARS.length));
      const op = int(r, 3);
      if (op === 0) t.splice(at, 1);
      else if (op === 1) t.splice(at, 0, c);
      else t[at] = c;
    }
    return withFooterText(b, dataSize, Uint8Array.from(t));
  },
  swapFooterValue: (b, r) => {
    const { dataSize, text } = footerOf(b);
    const json = new TextDecoder().decode(text);
    const tokens = [
      ...json.matchAll(/-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|"[^"]*"(?!:)/g),
    ];
    const token = tokens[int(r, tokens.length)];
    const swap = SWAPS[int(r, SWAPS.length)];
    const edited =
      json.slice(0, token.index) + swap + json.slice((token.index ?? 0) + token[0].length);
    return withFooterText(b, dataSize, new TextEncoder().encode(edited));
  },
  appendGarbage: (b, r) => {
    const extra = new Uint8Array(1 + int(r, 40)).map(() => int(r, 256));
    return concatBytes(b, extra);
  },
};

/** A memory source that fails the test run if any read asks for more than the file holds. */
function guardedSource(name: string, bytes: Uint8Array, oversized: string[]): ByteSource {
  return {
    name,
    size: async () => bytes.byteLength,
    read: async (offset, length) => {
      if (length > bytes.byteLength || offset < 0)
        oversized.push(`${name}: read(${offset}, ${length})`);
      return bytes.subarray(
        Math.min(offset, bytes.byteLength),
        Math.min(offset + length, bytes.byteLength),
      );
    },
  };
}

async function readEverything(source: ByteSource): Promise<void> {
  const reader = await openIsxd(source);
  if (reader.kind === 'cellset') {
    for await (const cell of reader.cells({ batchBytes: 1 << 16 })) void cell.trace[0];
    if (reader.numCells > 0) await reader.readTrace(reader.numCells - 1);
  } else {
    await reader.readAll();
    if (reader.numCells > 0) await reader.readCell(reader.numCells - 1);
  }
}

describeShared('isxd fuzz (seeded mutations of the sample files)', () => {
  it(`every one of ${4 * CASES_PER_FILE} mutated files reads fully or fails with IsxdFormatError`, async () => {
    // Prepare
    const names = Object.keys(mutations);
    const unexpected: string[] = [];
    const oversized: string[] = [];
    const outcomes = { ok: 0, formatError: 0 };
    const codes = new Map<string, number>();
    let seed = 1;
    // Act
    for (const file of Object.values(SAMPLE_FILES)) {
      const original = readSample(file);
      for (let k = 0; k < CASES_PER_FILE; k++, seed++) {
        const random = seededRandom(seed);
        const name = names[int(random, names.length)];
        const bytes = mutations[name](original, random);
        try {
          await readEverything(guardedSource(`${file}#${seed}`, bytes, oversized));
          outcomes.ok++;
        } catch (err) {
          if (err instanceof IsxdFormatError) {
            outcomes.formatError++;
            codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
          } else {
            unexpected.push(`${file} seed ${seed} (${name}): ${String(err)}`);
          }
        }
      }
    }
    // Assess
    expect(unexpected).toEqual([]);
    expect(oversized).toEqual([]);
    expect(outcomes.ok + outcomes.formatError).toBe(4 * CASES_PER_FILE);
    expect(outcomes.ok).toBeGreaterThan(CASES_PER_FILE / 5);
    expect(outcomes.formatError).toBeGreaterThan(CASES_PER_FILE);
    expect([...codes.keys()].sort()).toEqual(
      expect.arrayContaining([
        'BadValue',
        'CellCountMismatch',
        'DataSize',
        'FooterJson',
        'FooterLength',
        'MissingKey',
        'NonFinite',
        'OutOfRange',
        'WrongFileType',
      ]),
    );
  });
});
