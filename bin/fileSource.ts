/**
 * Local-file adapters for lib/bytes.ts: a random-access {@link ByteSource} over a file (one
 * FileHandle, opened lazily) and an all-or-nothing {@link ByteSink} that writes
 * `<path>.partial-<pid>` and renames it to `<path>` on close (deletes it on abort).
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import type { ByteSink, ByteSource } from '../lib/bytes.js';
import { InvalidInputError } from '../lib/errors.js';

/** A ByteSource over a local file; call `close()` when done with it. */
interface FileSource extends ByteSource {
  readInto(offset: number, target: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

/**
 * Reads `path` by ranges. Reads never extend past the end of the file, so a corrupt length in a
 * file cannot make this allocate more than the file size.
 */
function fileSource(path: string): FileSource {
  let handle: Promise<FileHandle> | undefined;
  let size: Promise<number> | undefined;
  const file = () => {
    handle ??= open(path, 'r').catch((cause: NodeJS.ErrnoException) => {
      throw new InvalidInputError(
        `${path}: cannot open for reading (${cause.code ?? cause.message})`,
        'FileNotReadable',
        { cause },
      );
    });
    return handle;
  };
  const source: FileSource = {
    name: path,
    size() {
      size ??= file().then(async (h) => (await h.stat()).size);
      return size;
    },
    async read(offset, length) {
      const total = await source.size();
      const start = Math.min(Math.max(0, offset), total);
      const out = Buffer.allocUnsafe(Math.max(0, Math.min(length, total - start)));
      const got = await source.readInto(start, out);
      return new Uint8Array(out.buffer, out.byteOffset, got);
    },
    async readInto(offset: number, target: Uint8Array): Promise<number> {
      const total = await source.size();
      const start = Math.min(Math.max(0, offset), total);
      const wanted = Math.max(0, Math.min(target.byteLength, total - start));
      const h = await file();
      let got = 0;
      try {
        while (got < wanted) {
          const { bytesRead } = await h.read(target, got, wanted - got, start + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
      } catch (cause) {
        throw new InvalidInputError(
          `${path}: cannot read bytes ${start}…${start + wanted} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`,
          'FileNotReadable',
          { cause },
        );
      }
      return got;
    },
    async close() {
      const h = handle;
      handle = undefined;
      size = undefined;
      if (h !== undefined) await (await h).close();
    },
  };
  return source;
}

/** Writes to `<path>.partial-<pid>`; `close` renames it to `path`, `abort` deletes it. */
function fileSink(path: string): ByteSink {
  const partial = `${path}.partial-${process.pid}`;
  let handle: Promise<FileHandle> | undefined;
  const file = () => {
    handle ??= open(partial, 'w').catch((cause: NodeJS.ErrnoException) => {
      throw new InvalidInputError(
        `${path}: cannot open for writing (${cause.code ?? cause.message})`,
        'FileNotWritable',
        { cause },
      );
    });
    return handle;
  };
  const release = async () => {
    const h = handle;
    handle = undefined;
    const opened = await h?.catch(() => undefined);
    await opened?.close();
  };
  return {
    async write(chunk) {
      const h = await file();
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await h.write(chunk, done, chunk.byteLength - done);
        done += bytesWritten;
      }
    },
    async close() {
      await file();
      await release();
      await rename(partial, path);
    },
    async abort() {
      try {
        await release();
      } finally {
        await rm(partial, { force: true });
      }
    },
  };
}

export type { FileSource };
export { fileSink, fileSource };
