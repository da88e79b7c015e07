import { fstatSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { ByteWindow, CHUNK_BYTES } from './window.js';

/** A stream of capture bytes that fills a ByteWindow. */
export interface ByteSource {
  /** Append up to `want` bytes to the window; resolves to the count, 0 at end of stream. */
  fill(w: ByteWindow, want: number): Promise<number>;
  close(): Promise<void>;
  /** Bytes one read should ask for, when the source prefers small reads. */
  readonly readSize?: number;
  /** Bytes in all, when known (a regular file); -1 otherwise. */
  readonly size?: number;
}

/** Smallest read from a file whose end we think we know (it may still be growing). */
const MIN_FILE_READ = 64 * 1024;

/**
 * Bytes kept free before each read-ahead buffer's data: a record cut by the end of the
 * previous read is copied there, in front of the new bytes, instead of moving the new bytes.
 */
const HEADROOM = 64 * 1024;

/**
 * Bytes per read from a regular file. Read synchronously on the parsing thread, a
 * piece this small is still in that core's cache when the parser reaches it; large
 * reads ahead on libuv's pool land in another core's cache, or none
 * (docs/performance.md has the figures).
 */
export const FILE_READ_BYTES = 128 * 1024;

/**
 * A record length that lies must not size an allocation: never ask for much more than
 * a file of `size` bytes (-1: unknown) holds after `pos`. A file still being written
 * is read on in later calls.
 */
function bounded(want: number, size: number, pos: number): number {
  return size >= 0 ? Math.min(want, Math.max(size - pos, MIN_FILE_READ)) : want;
}

/** One synchronous read of up to `n` bytes from `fd` onto the window's end; the count (0 at the end). */
function readOnto(fd: number, w: ByteWindow, n: number): number {
  w.reserve(n);
  const got = readSync(fd, w.buf, w.end, n, null);
  w.end += got;
  return got;
}

/**
 * Files: read straight into the window, no intermediate buffers. A regular file or a
 * FIFO (a named pipe, `<(tcpdump -w - ...)`) is read synchronously in small pieces
 * (FILE_READ_BYTES), as tcpdump reads: the thread has nothing else to do while it
 * waits for a slow writer. Anything else opened by path (a device) keeps one read in
 * flight on libuv's pool while the bytes before it are parsed (double buffering).
 */
export class FileSource implements ByteSource {
  private pos = 0;
  /** The read in flight, into `spare` from HEADROOM on. */
  private ahead: Promise<number> | null = null;
  private spare: Buffer | null = null;

  constructor(
    private readonly fh: FileHandle,
    /** Size when opened (-1: not a regular file, unknown). */
    readonly size: number = -1,
    /** Read synchronously (a regular file or a FIFO). */
    private readonly sync = size >= 0,
  ) {}

  static async open(path: string): Promise<FileSource> {
    const fh = await open(path, 'r');
    let size = -1;
    let sync = false;
    try {
      const st = await fh.stat();
      if (st.isFile()) size = st.size;
      sync = st.isFile() || st.isFIFO();
    } catch {
      // Unknown size: reads are sized by what is asked for.
    }
    return new FileSource(fh, size, sync);
  }

  /** How much one read should ask for: small pieces read synchronously, big reads ahead otherwise. */
  get readSize(): number {
    return this.sync ? FILE_READ_BYTES : CHUNK_BYTES;
  }

  async fill(w: ByteWindow, want: number): Promise<number> {
    if (this.sync) return this.fillSync(w, want);
    let got: number;
    if (this.ahead !== null) {
      got = await this.ahead;
      this.ahead = null;
      if (got === 0) return 0;
      this.pos += got;
      const spare = this.spare!;
      const live = w.length;
      if (live <= HEADROOM) {
        // Swap buffers: the unconsumed tail goes in front of the new bytes.
        w.buf.copy(spare, HEADROOM - live, w.start, w.end);
        this.spare = w.buf;
        w.adopt(spare, HEADROOM - live, HEADROOM + got);
      } else {
        w.append(spare.subarray(HEADROOM, HEADROOM + got));
      }
    } else {
      want = bounded(want, this.size, this.pos);
      w.reserve(want);
      ({ bytesRead: got } = await this.fh.read(w.buf, w.end, want, null));
      w.end += got;
      this.pos += got;
      if (got === 0) return 0;
    }
    this.readAhead(bounded(want, this.size, this.pos));
    return got;
  }

  private fillSync(w: ByteWindow, want: number): number {
    const got = readOnto(this.fh.fd, w, bounded(want, this.size, this.pos));
    this.pos += got;
    return got;
  }

  private readAhead(n: number): void {
    if (this.spare === null || this.spare.length < HEADROOM + n) this.spare = Buffer.allocUnsafe(HEADROOM + n);
    this.ahead = this.fh.read(this.spare, HEADROOM, n, null).then((r) => r.bytesRead);
  }

  async close(): Promise<void> {
    // Never close under a read in flight.
    await this.ahead?.catch(() => 0);
    this.ahead = null;
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

/**
 * The process's standard input, read through descriptor 0 when it is a regular file
 * or a pipe (`- < F`, `cat F | tcpsleuth analyze -`, `tcpdump -w - | ...`):
 * synchronous reads straight into the window, as for a file named by path. Node's
 * stream (process.stdin) costs a Buffer and a turn of the event loop per 64 KiB.
 * The stream is also what makes the
 * descriptor non-blocking, so it is made only when a read finds it so (someone else
 * set the flag): the rest is then read through it.
 */
export class DescriptorSource implements ByteSource {
  private pos = 0;
  private fallback: StreamSource | null = null;
  readonly readSize = FILE_READ_BYTES;

  constructor(
    private readonly fd: number,
    /** Bytes in a regular file (-1: a pipe). */
    readonly size: number,
    /** The stream to read the rest through when the descriptor turns out non-blocking. */
    private readonly stream: () => Readable,
  ) {}

  async fill(w: ByteWindow, want: number): Promise<number> {
    if (this.fallback !== null) return this.fallback.fill(w, want);
    let got: number;
    try {
      got = readOnto(this.fd, w, bounded(want, this.size, this.pos));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      this.fallback = new StreamSource(this.stream());
      return this.fallback.fill(w, want);
    }
    this.pos += got;
    return got;
  }

  /** Descriptor 0 is the process's: it stays open. */
  async close(): Promise<void> {
    await this.fallback?.close();
  }
}

/**
 * Standard input: a stream given by the caller (tests, a spooled copy) as a stream;
 * the process's own (undefined) through its descriptor when that is a regular file,
 * a pipe or a socket, and as Node's stream otherwise (a terminal).
 */
export function stdinSource(stream: NodeJS.ReadableStream | undefined): ByteSource {
  if (stream !== undefined) return new StreamSource(stream as unknown as Readable);
  const processStdin = (): Readable => process.stdin;
  try {
    const st = fstatSync(0);
    if (st.isFile() || st.isFIFO() || st.isSocket()) return new DescriptorSource(0, st.isFile() ? st.size : -1, processStdin);
  } catch {
    // No descriptor 0 to look at: Node's stream says what is wrong.
  }
  return new StreamSource(processStdin());
}

/** Compressed bytes, read piece by piece; files can be read again from the start. */
interface PieceReader {
  /** Up to `into.length` bytes; 0 at the end. */
  read(into: Buffer): Promise<number>;
  /** Start over from the first byte; false when the input cannot be read twice (a pipe). */
  restart(): Promise<boolean>;
  close(): Promise<void>;
}

class FilePieces implements PieceReader {
  private pos = 0;
  private constructor(private readonly fh: FileHandle) {}

  static async open(path: string): Promise<FilePieces> {
    return new FilePieces(await open(path, 'r'));
  }

  async read(into: Buffer): Promise<number> {
    const { bytesRead } = await this.fh.read(into, 0, into.length, this.pos);
    this.pos += bytesRead;
    return bytesRead;
  }

  async restart(): Promise<boolean> {
    this.pos = 0;
    return true;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** The bytes already taken from a stream (to sniff the magic), then the rest of it. */
class StreamPieces implements PieceReader {
  private readonly w = new ByteWindow();
  constructor(
    private prefix: Buffer,
    private readonly rest: ByteSource,
  ) {}

  async read(into: Buffer): Promise<number> {
    if (this.w.length === 0) {
      if (this.prefix.length > 0) {
        this.w.append(this.prefix);
        this.prefix = Buffer.alloc(0);
      } else {
        this.w.reset();
        if ((await this.rest.fill(this.w, into.length)) === 0) return 0;
      }
    }
    const n = Math.min(into.length, this.w.length);
    this.w.buf.copy(into, 0, this.w.start, this.w.start + n);
    this.w.consumeTo(this.w.start + n);
    return n;
  }

  async restart(): Promise<boolean> {
    return false;
  }

  async close(): Promise<void> {
    await this.rest.close();
  }
}

/** Compressed bytes handed to zlib per write; zlib's output chunk is as big. */
const GZ_PIECE = 1024 * 1024;
/** Write sizes a damaged piece is replayed in, each level narrowing down the damage. */
const SALVAGE_STEPS = [16384, 256, 1] as const;

/**
 * Write one piece and wait until zlib has processed it (its output has been emitted by
 * then) or failed. The zlib error itself is preferred to a "stream destroyed" callback error.
 */
function writePiece(z: Gunzip, piece: Buffer): Promise<Error | null> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (e: Error | null): void => {
      if (settled) return;
      settled = true;
      z.off('error', done);
      resolve(e);
    };
    z.on('error', done);
    z.write(piece, (e) => {
      if (e == null) done(null);
      else setImmediate(() => done(e));
    });
  });
}

function endGunzip(z: Gunzip): Promise<Error | null> {
  return new Promise((resolve) => {
    z.on('error', (e: Error) => resolve(e));
    z.on('end', () => resolve(null));
    z.end();
  });
}

/**
 * Gunzip, delivering every byte that decompressed before any damage. Node's zlib drops
 * the output of the call that hits the damage (a bad block, a bad CRC in the trailer),
 * so compressed input goes in pieces, one at a time; when a piece fails, fresh
 * inflaters replay the input up to it and then that piece in ever smaller writes, down
 * to single bytes, recovering all that came before the damage. Only files are replayed
 * (a pipe cannot be read twice); from a pipe, the failed piece's output is lost.
 */
class GunzipSource implements ByteSource {
  private readonly z: Gunzip = createGunzip({ chunkSize: GZ_PIECE });
  private readonly queue: Buffer[] = [];
  private readonly piece = Buffer.allocUnsafe(GZ_PIECE);
  /** Compressed bytes processed without error. */
  private inputDone = 0;
  /** Decompressed bytes produced so far (queued or handed on). */
  private produced = 0;
  /** Decompressed bytes waiting in the queue. */
  private queued = 0;
  private pending: Promise<void> | null = null;
  private ended = false;
  private error: Error | null = null;

  constructor(private readonly input: PieceReader) {
    this.z.on('data', (c: Buffer) => this.enqueue(c));
    // Errors are taken by whoever waits on the stream; this only keeps late ones from being unhandled.
    this.z.on('error', () => undefined);
  }

  async fill(w: ByteWindow, want: number): Promise<number> {
    while (this.queue.length === 0) {
      if (this.error !== null) throw this.error;
      if (this.ended) return 0;
      await this.kick();
    }
    let n = 0;
    while (n < want && this.queue.length > 0) {
      const c = this.queue[0]!;
      const take = Math.min(c.length, want - n);
      w.append(take === c.length ? c : c.subarray(0, take));
      if (take === c.length) this.queue.shift();
      else this.queue[0] = c.subarray(take);
      n += take;
    }
    this.queued -= n;
    // Decompress the next piece (on zlib's thread) while the caller parses this one.
    if (this.queued < 2 * GZ_PIECE && this.error === null && !this.ended) this.kick().catch(() => undefined);
    return n;
  }

  /** Run step() unless it is already running; resolves when it is done. */
  private kick(): Promise<void> {
    this.pending ??= this.step().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async step(): Promise<void> {
    let len: number;
    try {
      len = await this.input.read(this.piece);
    } catch (e) {
      this.error = e instanceof Error ? e : new Error(String(e));
      return;
    }
    if (len === 0) {
      const e = await endGunzip(this.z);
      if (e !== null) this.error = e;
      else this.ended = true;
      return;
    }
    const region = Buffer.from(this.piece.subarray(0, len));
    const e = await writePiece(this.z, region);
    if (e === null) {
      this.inputDone += len;
      return;
    }
    this.error = e;
    // Recovery is best effort: whatever goes wrong in it, the error above is reported.
    await this.salvage(region).catch(() => undefined);
  }

  /** Recover the output that the failed write of `region` produced before its damage. */
  private async salvage(region: Buffer): Promise<void> {
    let at = this.inputDone;
    let bad = region;
    let recovered: Buffer[] = [];
    for (const size of SALVAGE_STEPS) {
      if (size !== 1 && bad.length <= size) continue;
      const r = await this.replay(at, bad, size);
      if (r === null) break;
      recovered = r.out;
      if (r.failed < 0) break; // no damage on replay: nothing more to narrow down
      at += r.failed * size;
      bad = bad.subarray(r.failed * size, (r.failed + 1) * size);
    }
    for (const c of recovered) this.enqueue(c);
  }

  private enqueue(c: Buffer): void {
    this.queue.push(c);
    this.queued += c.length;
    this.produced += c.length;
  }

  /**
   * A fresh inflater over the first `prefix` compressed bytes, then `region` in writes of
   * `size` bytes until one fails. Returns the output beyond what was already produced and
   * the index of the failed write (-1 if none); null when the input cannot be read again.
   */
  private async replay(prefix: number, region: Buffer, size: number): Promise<{ out: Buffer[]; failed: number } | null> {
    if (!(await this.input.restart())) return null;
    const z = createGunzip({ chunkSize: GZ_PIECE });
    const out: Buffer[] = [];
    let skip = this.produced;
    z.on('data', (c: Buffer) => {
      if (skip >= c.length) {
        skip -= c.length;
        return;
      }
      out.push(skip > 0 ? c.subarray(skip) : c);
      skip = 0;
    });
    z.on('error', () => undefined);
    try {
      const buf = Buffer.allocUnsafe(GZ_PIECE);
      for (let left = prefix; left > 0; ) {
        const n = await this.input.read(left < GZ_PIECE ? buf.subarray(0, left) : buf);
        if (n === 0 || (await writePiece(z, Buffer.from(buf.subarray(0, n)))) !== null) return { out, failed: -1 };
        left -= n;
      }
      for (let i = 0; i * size < region.length; i++) {
        if ((await writePiece(z, region.subarray(i * size, (i + 1) * size))) !== null) return { out, failed: i };
      }
      return { out, failed: -1 };
    } finally {
      z.destroy();
    }
  }

  async close(): Promise<void> {
    await this.pending?.catch(() => undefined);
    this.z.destroy();
    await this.input.close();
  }
}

/** Decompress a gzip stream whose first bytes were already read into `prefix` (from `rest`, or the file at `path`). */
export async function gunzipSource(prefix: Buffer, rest: ByteSource, path: string | null): Promise<ByteSource> {
  return new GunzipSource(path !== null ? await FilePieces.open(path) : new StreamPieces(prefix, rest));
}
