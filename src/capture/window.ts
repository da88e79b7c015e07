import { MAX_RECORD_BYTES } from './errors.js';

/** How much one read asks for: big reads keep system calls off the per-packet cost. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The unconsumed part of the stream, `buf[start, end)`, in one growable buffer.
 * Only a record straddling two reads is ever moved (to the front); the buffer grows
 * only as far as the largest record the readers accept.
 */
export class ByteWindow {
  buf: Buffer;
  start = 0;
  end = 0;
  /** Stream offset of `buf[start]`. */
  base = 0;

  /** `initial`: the first buffer's size (a small file needs no 4 MiB buffer); it grows on demand. */
  constructor(initial = CHUNK_BYTES) {
    this.buf = Buffer.allocUnsafe(Math.max(0, Math.min(initial, CHUNK_BYTES)));
  }

  get length(): number {
    return this.end - this.start;
  }

  consumeTo(pos: number): void {
    this.base += pos - this.start;
    this.start = pos;
  }

  /** Make room for at least `n` more bytes after `end`, keeping `[start, end)`. */
  reserve(n: number): void {
    if (this.buf.length - this.end >= n) return;
    const live = this.end - this.start;
    if (live + n > this.buf.length) {
      // Bounded: callers never ask for more than a maximal record plus one chunk.
      const size = Math.min(Math.max(this.buf.length * 2, live + n), MAX_RECORD_BYTES + 2 * CHUNK_BYTES);
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
    } else {
      this.buf.copy(this.buf, 0, this.start, this.end);
    }
    this.start = 0;
    this.end = live;
  }

  /** Continue in another buffer holding the unconsumed bytes at `[start, end)`, then new ones (`base` is unchanged). */
  adopt(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.start = start;
    this.end = end;
  }

  append(chunk: Buffer): void {
    this.reserve(chunk.length);
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  reset(): void {
    this.start = 0;
    this.end = 0;
    this.base = 0;
  }
}
