/**
 * Packets between the capture and the analysis. The bindings call back once per
 * packet from a native loop that runs until the kernel ring is empty; analysing inside
 * that loop would keep the event loop (timers, signals, the status line) waiting for
 * as long as traffic keeps the ring busy. So the callback only copies the packet here,
 * and the analysis takes packets out in slices between turns of the event loop.
 *
 * Records are packed into chunks of CHUNK_BYTES: a 16-byte header (sec, nsec, captured
 * and original length, little-endian) and the bytes. Read chunks are reused. When the
 * queue holds its limit, push() refuses the packet (counted by the caller).
 */

export const CHUNK_BYTES = 1 << 20;
const HEADER = 16;

interface Chunk {
  buf: Buffer;
  write: number;
  read: number;
}

/** A packet taken out: `buf[offset .. offset + capLen)`, valid until the next shift(). */
export class QueuedPacket {
  buf: Buffer = Buffer.alloc(0);
  offset = 0;
  capLen = 0;
  origLen = 0;
  sec = 0;
  nsec = 0;
}

export class PacketQueue {
  private readonly chunks: Chunk[] = [];
  private readonly spare: Buffer[] = [];
  private readonly maxChunks: number;
  /** Packets waiting. */
  length = 0;
  /** Largest number of bytes held at once (for the report). */
  peakBytes = 0;
  private bytes = 0;

  private readonly highChunks: number;

  /**
   * `limitBytes` at most; nearlyFull once less than `reserveBytes` is left: what one read
   * of the kernel ring can bring at once (the whole ring, whose records are larger than ours).
   */
  constructor(limitBytes: number, reserveBytes = 0) {
    this.maxChunks = Math.max(2, Math.ceil(limitBytes / CHUNK_BYTES));
    this.highChunks = Math.max(1, this.maxChunks - Math.ceil(reserveBytes / CHUNK_BYTES) - 1);
  }

  /** Nearly full: the capture should leave packets in the kernel ring for now. */
  get nearlyFull(): boolean {
    return this.chunks.length >= this.highChunks;
  }

  /** Copy a packet in; false when the queue is full (the packet is not kept). */
  push(data: Buffer, capLen: number, origLen: number, sec: number, nsec: number): boolean {
    const need = HEADER + capLen;
    let c = this.chunks[this.chunks.length - 1];
    if (c === undefined || c.write + need > c.buf.length) {
      if (c !== undefined && c.read === c.write && this.chunks.length === 1) {
        // Everything read: start the chunk over.
        c.read = c.write = 0;
        if (need > c.buf.length) c.buf = Buffer.allocUnsafe(need);
      } else {
        if (this.chunks.length >= this.maxChunks) return false;
        const size = need > CHUNK_BYTES ? need : CHUNK_BYTES;
        const buf = size === CHUNK_BYTES && this.spare.length > 0 ? this.spare.pop()! : Buffer.allocUnsafe(size);
        c = { buf, write: 0, read: 0 };
        this.chunks.push(c);
      }
    }
    const b = c.buf;
    let p = c.write;
    b.writeUInt32LE(sec >>> 0, p);
    b.writeUInt32LE(nsec, p + 4);
    b.writeUInt32LE(capLen, p + 8);
    b.writeUInt32LE(origLen >>> 0, p + 12);
    p += HEADER;
    if (capLen <= 64) {
      // Small copies are cheaper by hand than through the native copy.
      for (let i = 0; i < capLen; i++) b[p + i] = data[i]!;
    } else data.copy(b, p, 0, capLen);
    c.write = p + capLen;
    this.length++;
    this.bytes += need;
    if (this.bytes > this.peakBytes) this.peakBytes = this.bytes;
    return true;
  }

  /** Take the oldest packet into `out`; false when empty. */
  shift(out: QueuedPacket): boolean {
    for (;;) {
      const c = this.chunks[0];
      if (c === undefined) return false;
      if (c.read < c.write) {
        const b = c.buf;
        const p = c.read;
        out.buf = b;
        out.sec = b.readUInt32LE(p);
        out.nsec = b.readUInt32LE(p + 4);
        out.capLen = b.readUInt32LE(p + 8);
        out.origLen = b.readUInt32LE(p + 12);
        out.offset = p + HEADER;
        c.read = out.offset + out.capLen;
        this.length--;
        this.bytes -= HEADER + out.capLen;
        return true;
      }
      if (this.chunks.length === 1) return false;
      // Fully read and not the one being written: recycle it.
      this.chunks.shift();
      if (c.buf.length === CHUNK_BYTES && this.spare.length < 4) this.spare.push(c.buf);
    }
  }
}
