import { once } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { OPT_END } from './pcapng-codes.js';
import { pad4, type PcapngOption } from './pcapng-options.js';

/**
 * The bytes of a pcapng writer: blocks are encoded straight into one buffer of a few
 * MiB, in the current section's byte order, and handed to the file or stream when it
 * is full and on flush()/close(). A block is committed only by tail(), so one that
 * fails half-way leaves nothing behind.
 */
export class BlockBuffer {
  /** Byte order of the current section. */
  le = true;
  /** Bytes handed to the file or stream so far, and bytes of blocks committed (buffered ones included). */
  bytesFlushed = 0;
  bytesWritten = 0;
  blocks = 0;
  private buf: Buffer;
  private used = 0;
  private closed = false;
  private streamError: Error | null = null;
  private lastWrite: Promise<void> = Promise.resolve();

  private constructor(
    private readonly fd: number | null,
    private readonly stream: Writable | null,
    private readonly capacity: number,
    private readonly endStream: boolean,
  ) {
    this.buf = Buffer.allocUnsafe(capacity);
    stream?.on('error', (e: Error) => {
      this.streamError ??= e;
    });
  }

  /** A buffer of `capacity` bytes for a file (created or truncated) or a stream (ended on close() when `end`). */
  static open(target: string | Writable, capacity: number, end: boolean): BlockBuffer {
    if (typeof target === 'string') return new BlockBuffer(openSync(target, 'w'), null, capacity, false);
    return new BlockBuffer(null, target, capacity, end);
  }

  /** A stream output wants the writer to wait for 'drain' (see drain()). Always false for files. */
  get needsDrain(): boolean {
    return this.stream !== null && this.stream.writableNeedDrain;
  }

  /** Resolves when a stream output can take more. */
  async drain(): Promise<void> {
    if (this.needsDrain && this.stream !== null) await once(this.stream, 'drain');
  }

  checkOpen(): void {
    if (this.closed) throw new Error('the pcapng writer is closed');
    if (this.streamError) throw this.streamError;
  }

  /** Hand the buffered blocks to the file or stream; resolves once a stream has taken them. */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    try {
      this.flushBuffered();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.lastWrite;
  }

  /** Flush and close the file (or end the stream, unless opened with end: false). */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.fd !== null) closeSync(this.fd);
    }
    if (this.stream !== null && this.endStream) {
      await new Promise<void>((resolve, reject) => {
        this.stream!.end((e?: Error | null) => (e ? reject(e) : resolve()));
      });
    }
    if (this.streamError) throw this.streamError;
  }

  /** Room for `n` more bytes at the returned offset (the block is committed by tail()). */
  reserve(n: number): number {
    if (this.used + n > this.buf.length) {
      this.flushBuffered();
      // A block bigger than the buffer gets a buffer of its own, written at the next flush.
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    }
    return this.used;
  }

  private flushBuffered(): void {
    if (this.streamError) throw this.streamError;
    if (this.used === 0) return;
    const n = this.used;
    if (this.fd !== null) {
      for (let done = 0; done < n; ) done += writeSync(this.fd, this.buf, done, n - done);
      if (this.buf.length > this.capacity) this.buf = Buffer.allocUnsafe(this.capacity);
    } else {
      // The stream keeps the chunk until it is written: a fresh buffer takes its place.
      const chunk = this.buf.subarray(0, n);
      this.buf = Buffer.allocUnsafe(this.capacity);
      this.lastWrite = new Promise<void>((resolve, reject) => {
        this.stream!.write(chunk, (e?: Error | null) => (e ? reject(e) : resolve()));
      });
      // Errors also reach the 'error' listener; the promise is for flush().
      this.lastWrite.catch(() => undefined);
    }
    this.used = 0;
    this.bytesFlushed += n;
  }

  /** Block type and length at `off`; returns where the body starts. */
  head(off: number, type: number, len: number): number {
    return this.u32(this.u32(off, type), len);
  }

  /** Pad to the trailing length, write it and commit the block. */
  tail(off: number, p: number, len: number): void {
    const end = off + len - 4;
    if (p > end) throw new Error(`internal error: block overran its length (${p - off} > ${len - 4})`);
    this.buf.fill(0, p, end);
    this.u32(end, len);
    this.used = off + len;
    this.bytesWritten += len;
    this.blocks++;
  }

  u32(p: number, v: number): number {
    return this.le ? this.buf.writeUInt32LE(v >>> 0, p) : this.buf.writeUInt32BE(v >>> 0, p);
  }

  u16(p: number, v: number): number {
    return this.le ? this.buf.writeUInt16LE(v, p) : this.buf.writeUInt16BE(v, p);
  }

  /** `v` padded with zeros to 32 bits. */
  bytes(p: number, v: Uint8Array): number {
    this.buf.set(v, p);
    const end = p + pad4(v.length);
    this.buf.fill(0, p + v.length, end);
    return end;
  }

  /** The options and opt_endofopt (nothing when there are none). */
  options(p: number, opts: readonly PcapngOption[]): number {
    if (opts.length === 0) return p;
    for (const o of opts) {
      p = this.u16(p, o.code);
      p = this.u16(p, o.value.length);
      p = this.bytes(p, o.value);
    }
    p = this.u16(p, OPT_END);
    return this.u16(p, 0);
  }

  /** A signed 64-bit value in the section's byte order, as an option value. */
  i64(v: number): Uint8Array {
    const b = Buffer.alloc(8);
    if (this.le) b.writeBigInt64LE(BigInt(v));
    else b.writeBigInt64BE(BigInt(v));
    return b;
  }
}
