import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ByteWindow, CHUNK_BYTES } from './window.js';

/** A stream of capture bytes that fills a ByteWindow. */
export interface ByteSource {
  /** Append up to `want` bytes to the window; resolves to the count, 0 at end of stream. */
  fill(w: ByteWindow, want: number): Promise<number>;
  close(): Promise<void>;
}

/** Regular files: read straight into the window, no intermediate buffers. */
export class FileSource implements ByteSource {
  constructor(private readonly fh: FileHandle) {}

  static async open(path: string): Promise<FileSource> {
    return new FileSource(await open(path, 'r'));
  }

  async fill(w: ByteWindow, want: number): Promise<number> {
    w.reserve(want);
    const { bytesRead } = await this.fh.read(w.buf, w.end, want, null);
    w.end += bytesRead;
    return bytesRead;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Anything readable as a Node stream (stdin, a gunzip stream). */
export class StreamSource implements ByteSource {
  private readonly it: AsyncIterator<Buffer>;
  private pending: Buffer | null = null;

  constructor(private readonly stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async fill(w: ByteWindow, want: number): Promise<number> {
    let chunk = this.pending;
    this.pending = null;
    if (chunk === null) {
      const r = await this.it.next();
      if (r.done) return 0;
      chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
    if (chunk.length > want) {
      this.pending = chunk.subarray(want);
      chunk = chunk.subarray(0, want);
    }
    w.append(chunk);
    return chunk.length;
  }

  async close(): Promise<void> {
    this.stream.destroy();
  }
}

/** The bytes already taken from a source, then the rest of it: lets us sniff a magic number and go back. */
async function* replay(prefix: Buffer, src: ByteSource): AsyncGenerator<Buffer> {
  if (prefix.length > 0) yield prefix;
  const w = new ByteWindow();
  while (true) {
    w.reset();
    const n = await src.fill(w, CHUNK_BYTES);
    if (n === 0) return;
    yield Buffer.from(w.buf.subarray(0, n));
  }
}

/** Decompress a gzip stream whose first bytes were already read into `prefix`. */
export function gunzipSource(prefix: Buffer, rest: ByteSource, path: string | null): ByteSource {
  const input = path !== null ? createReadStream(path, { highWaterMark: CHUNK_BYTES }) : Readable.from(replay(prefix, rest));
  const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
  input.on('error', (e: Error) => gunzip.destroy(e));
  input.pipe(gunzip);
  return new StreamSource(gunzip);
}
