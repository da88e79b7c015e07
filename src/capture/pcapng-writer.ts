import { once } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { CaptureSink, Frame, InterfaceInfo } from './frame.js';

/**
 * A streaming pcapng writer (draft-ietf-opsawg-pcapng): blocks are built straight
 * into one buffer of a few MiB, written out when it is full and on flush()/close().
 * A live capture can call flush() about once a second; a file copy never waits.
 *
 * Every block is checked before a byte of it is written: a call that throws leaves
 * the output as it was, so the file never holds an invalid block. Options are
 * padded to 32 bits and end with opt_endofopt; strings are written as UTF-8, and
 * byte strings (Uint8Array) as they are, so options copied from another file keep
 * their exact bytes even when they are not valid UTF-8.
 */

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_SPB = 3;
const BT_EPB = 6;
const BT_CUSTOM = 0x00000bad;
const BT_CUSTOM_NOCOPY = 0x40000bad;
const BOM = 0x1a2b3c4d;

const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const IF_FCSLEN = 13;
const IF_TSOFFSET = 14;

/** Default size of the write buffer. */
export const WRITER_BUFFER_BYTES = 4 * 1024 * 1024;
/** An option value is at most this long (its length field has 16 bits). */
export const MAX_OPTION_BYTES = 0xffff;
const U32 = 0x1_0000_0000;

/** A string (written as UTF-8) or bytes (written as they are). */
export type OptionValue = string | Uint8Array;

/** One option as it goes into a block: code and value, in the section's byte order for numbers. */
export interface PcapngOption {
  code: number;
  value: Uint8Array;
}

export interface SectionHeaderOptions {
  /** shb_comment values. */
  comments?: readonly OptionValue[];
  hardware?: OptionValue | null;
  os?: OptionValue | null;
  /** shb_userappl; "tcpsleuth" unless given (null: none). */
  userAppl?: OptionValue | null;
  /** More options, written after the ones above (numbers already in this section's byte order). */
  options?: readonly PcapngOption[];
  /** Write this section big-endian (default: little-endian). */
  bigEndian?: boolean;
}

export interface InterfaceOptions {
  linkType: number;
  /** 0: no limit. */
  snapLen: number;
  name?: OptionValue | null;
  description?: OptionValue | null;
  /**
   * if_tsresol byte: 9 (nanoseconds, the default) keeps any source time exact; 6 for
   * microseconds; 0x80 | n for 2^-n. See tsresolFor().
   */
  tsresol?: number;
  /** if_tsoffset: whole seconds added to every timestamp of the interface (may be negative). */
  tsOffsetSeconds?: number;
  /** if_fcslen, written when >= 0. */
  fcsLen?: number;
  /** More options (not if_tsresol or if_tsoffset: give those above). */
  options?: readonly PcapngOption[];
}

interface WriterInterface {
  snapLen: number;
  unitsPerSec: number;
  tsOffset: number;
}

/** The if_tsresol byte for a resolution in units per second (a power of 10 or of 2). */
export function tsresolFor(unitsPerSecond: number): number {
  for (let n = 0; n <= 19; n++) if (10 ** n === unitsPerSecond) return n;
  for (let n = 1; n <= 63; n++) if (2 ** n === unitsPerSecond) return 0x80 | n;
  throw new RangeError(`timestamp resolution ${unitsPerSecond} units/s is neither a power of 10 (up to 10^19) nor of 2 (up to 2^63)`);
}

function unitsOf(tsresol: number): number {
  if (!Number.isInteger(tsresol) || tsresol < 0 || tsresol > 0xff) throw new RangeError(`if_tsresol ${tsresol} is not a byte`);
  const n = tsresol & 0x7f;
  if (tsresol & 0x80 ? n > 63 : n > 19) throw new RangeError(`if_tsresol 0x${tsresol.toString(16)} is out of range`);
  return tsresol & 0x80 ? 2 ** n : 10 ** n;
}

/**
 * Timestamp `sec.nsec` as a 64-bit count of units of an interface whose times are
 * offset by `offsetSec`, split in [high, low] 32-bit halves. It is the smallest count
 * that reads back as exactly `sec.nsec` (readers truncate to nanoseconds), so any
 * time read from a file at any resolution is written back unchanged.
 */
export function timestampUnits(sec: number, nsec: number, unitsPerSec: number, offsetSec = 0): [number, number] {
  if (!Number.isSafeInteger(sec) || !Number.isInteger(nsec) || nsec < 0 || nsec >= 1e9) {
    throw new RangeError(`timestamp ${sec}.${nsec} is not whole seconds and 0..999999999 nanoseconds`);
  }
  const s = sec - offsetSec;
  if (unitsPerSec <= 1e9 && 1e9 % unitsPerSec === 0 && s >= 0 && s < 2 ** 42) {
    // Exact in doubles: s = sh * 2^21 + sl, every partial product below 2^52.
    const per = 1e9 / unitsPerSec;
    const frac = Math.ceil(nsec / per);
    const sh = Math.floor(s / 2 ** 21);
    const sl = s - sh * 2 ** 21;
    const x = sh * unitsPerSec; // times 2^21
    const y = sl * unitsPerSec + frac;
    const xHigh = Math.floor(x / 2 ** 11);
    const low = (x - xHigh * 2 ** 11) * 2 ** 21 + y;
    const carry = Math.floor(low / U32);
    return [xHigh + carry, low - carry * U32];
  }
  const u = BigInt(unitsPerSec);
  const v = BigInt(s) * u + (BigInt(nsec) * u + 999_999_999n) / 1_000_000_000n;
  if (v < 0n || v >= 1n << 64n) {
    throw new RangeError(`timestamp ${sec}.${String(nsec).padStart(9, '0')} does not fit the interface's 64-bit timestamp (offset ${offsetSec} s)`);
  }
  return [Number(v >> 32n), Number(v & 0xffffffffn)];
}

function bytesOf(v: OptionValue): Uint8Array {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v >= U32) throw new RangeError(`${what} ${v} is not a 32-bit unsigned integer`);
}

function checkOption(o: PcapngOption): void {
  if (!Number.isInteger(o.code) || o.code <= 0 || o.code > 0xffff) throw new RangeError(`option code ${o.code} is not 1..65535`);
  if (o.value.length > MAX_OPTION_BYTES) throw new RangeError(`option ${o.code} is ${o.value.length} bytes, more than ${MAX_OPTION_BYTES}`);
}

/** Bytes the options take, opt_endofopt included (none when there are no options). */
function optionsSize(opts: readonly PcapngOption[]): number {
  if (opts.length === 0) return 0;
  let n = 4;
  for (const o of opts) n += 4 + pad4(o.value.length);
  return n;
}

export interface WriterOpenOptions {
  /** Size of the write buffer (default 4 MiB). */
  bufferBytes?: number;
  /** For a stream: end it on close() (default true; false for standard output). */
  end?: boolean;
}

export class PcapngWriter {
  private buf: Buffer;
  private used = 0;
  private le = true;
  private inSection = false;
  private ifaces: WriterInterface[] = [];
  private closed = false;
  private streamError: Error | null = null;
  private lastWrite: Promise<void> = Promise.resolve();
  /** Bytes handed to the file or stream so far, and bytes of blocks written (buffered ones included). */
  bytesFlushed = 0;
  bytesWritten = 0;
  blocks = 0;

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

  /** Write to a file (created or truncated) or to a stream. */
  static open(target: string | Writable, o: WriterOpenOptions = {}): PcapngWriter {
    const cap = o.bufferBytes ?? WRITER_BUFFER_BYTES;
    if (!Number.isInteger(cap) || cap < 64) throw new RangeError(`buffer size ${cap} is too small`);
    if (typeof target === 'string') return new PcapngWriter(openSync(target, 'w'), null, cap, false);
    return new PcapngWriter(null, target, cap, o.end ?? true);
  }

  /** Interfaces of the current section. */
  get interfaceCount(): number {
    return this.ifaces.length;
  }

  get littleEndian(): boolean {
    return this.le;
  }

  /** A stream output wants the writer to wait for 'drain' (see drain()). Always false for files. */
  get needsDrain(): boolean {
    return this.stream !== null && this.stream.writableNeedDrain;
  }

  /** Resolves when a stream output can take more. */
  async drain(): Promise<void> {
    if (this.needsDrain && this.stream !== null) await once(this.stream, 'drain');
  }

  /** Start a section: its byte order, comments and shb_userappl. Interfaces are numbered from 0 again. */
  writeSectionHeader(o: SectionHeaderOptions = {}): void {
    this.checkOpen();
    const opts: PcapngOption[] = [];
    if (o.hardware != null) opts.push({ code: SHB_HARDWARE, value: bytesOf(o.hardware) });
    if (o.os != null) opts.push({ code: SHB_OS, value: bytesOf(o.os) });
    const appl = o.userAppl === undefined ? 'tcpsleuth' : o.userAppl;
    if (appl !== null) opts.push({ code: SHB_USERAPPL, value: bytesOf(appl) });
    for (const x of o.options ?? []) opts.push(x);
    for (const c of o.comments ?? []) opts.push({ code: OPT_COMMENT, value: bytesOf(c) });
    opts.forEach(checkOption);
    const len = 28 + optionsSize(opts);
    this.le = !o.bigEndian;
    const off = this.reserve(len);
    let p = this.head(off, BT_SHB, len);
    p = this.u32(p, BOM);
    p = this.u16(p, 1);
    p = this.u16(p, 0);
    p = this.u32(p, 0xffffffff); // section length: not known while streaming
    p = this.u32(p, 0xffffffff);
    p = this.options(p, opts);
    this.tail(off, p, len);
    this.inSection = true;
    this.ifaces = [];
  }

  /** Describe an interface of the current section; returns its id (0, 1, ... within the section). */
  addInterface(o: InterfaceOptions): number {
    this.checkSection();
    if (!Number.isInteger(o.linkType) || o.linkType < 0 || o.linkType > 0xffff) throw new RangeError(`link type ${o.linkType} is not 0..65535`);
    checkU32(o.snapLen, 'snaplen');
    const tsresol = o.tsresol ?? 9;
    const units = unitsOf(tsresol);
    const tsOffset = o.tsOffsetSeconds ?? 0;
    if (!Number.isSafeInteger(tsOffset)) throw new RangeError(`if_tsoffset ${tsOffset} is not whole seconds`);
    const opts: PcapngOption[] = [];
    if (o.name != null) opts.push({ code: IF_NAME, value: bytesOf(o.name) });
    if (o.description != null) opts.push({ code: IF_DESCRIPTION, value: bytesOf(o.description) });
    opts.push({ code: IF_TSRESOL, value: Uint8Array.of(tsresol) });
    if (tsOffset !== 0) opts.push({ code: IF_TSOFFSET, value: this.i64(tsOffset) });
    if (o.fcsLen !== undefined && o.fcsLen >= 0) {
      if (!Number.isInteger(o.fcsLen) || o.fcsLen > 0xff) throw new RangeError(`if_fcslen ${o.fcsLen} is not a byte`);
      opts.push({ code: IF_FCSLEN, value: Uint8Array.of(o.fcsLen) });
    }
    for (const x of o.options ?? []) {
      if (x.code === IF_TSRESOL || x.code === IF_TSOFFSET) throw new RangeError('give if_tsresol and if_tsoffset as tsresol and tsOffsetSeconds, not as raw options');
      opts.push(x);
    }
    opts.forEach(checkOption);
    const len = 20 + optionsSize(opts);
    const off = this.reserve(len);
    let p = this.head(off, BT_IDB, len);
    p = this.u16(p, o.linkType);
    p = this.u16(p, 0);
    p = this.u32(p, o.snapLen);
    p = this.options(p, opts);
    this.tail(off, p, len);
    this.ifaces.push({ snapLen: o.snapLen, unitsPerSec: units, tsOffset });
    return this.ifaces.length - 1;
  }

  /**
   * An Enhanced Packet Block: `data` is the captured bytes, `origLen` the length on the
   * wire. `options` (raw, e.g. copied from another file) go first, then the comments.
   */
  writePacket(
    interfaceId: number,
    sec: number,
    nsec: number,
    data: Uint8Array,
    origLen: number = data.length,
    comments?: readonly OptionValue[] | null,
    options?: readonly PcapngOption[] | null,
  ): void {
    this.checkSection();
    const iface = this.ifaces[interfaceId];
    if (iface === undefined) throw new RangeError(`interface ${interfaceId} is not described in this section (${this.ifaces.length} interface(s))`);
    checkU32(origLen, 'original length');
    const [hi, lo] = timestampUnits(sec, nsec, iface.unitsPerSec, iface.tsOffset);
    let opts: readonly PcapngOption[] = options ?? [];
    if (comments != null && comments.length > 0) opts = [...opts, ...comments.map((c) => ({ code: OPT_COMMENT, value: bytesOf(c) }))];
    opts.forEach(checkOption);
    const len = 32 + pad4(data.length) + optionsSize(opts);
    checkU32(len, 'block length');
    const off = this.reserve(len);
    let p = this.head(off, BT_EPB, len);
    p = this.u32(p, interfaceId);
    p = this.u32(p, hi);
    p = this.u32(p, lo);
    p = this.u32(p, data.length);
    p = this.u32(p, origLen);
    p = this.bytes(p, data);
    p = this.options(p, opts);
    this.tail(off, p, len);
  }

  /**
   * The captured length an SPB of `origLen` bytes must carry: readers take the original
   * length cut to interface 0's snaplen.
   */
  simplePacketCapLen(origLen: number): number {
    const snap = this.ifaces[0]?.snapLen ?? 0;
    return snap !== 0 && snap < origLen ? snap : origLen;
  }

  /** A Simple Packet Block (interface 0, no timestamp, no options). */
  writeSimplePacket(data: Uint8Array, origLen: number = data.length): void {
    this.checkSection();
    if (this.ifaces.length === 0) throw new RangeError('a simple packet block needs interface 0, and this section has none');
    checkU32(origLen, 'original length');
    if (data.length !== this.simplePacketCapLen(origLen)) {
      throw new RangeError(`a simple packet block of ${origLen} bytes on the wire must hold ${this.simplePacketCapLen(origLen)} bytes (the snaplen rule), not ${data.length}`);
    }
    const len = 16 + pad4(data.length);
    checkU32(len, 'block length');
    const off = this.reserve(len);
    let p = this.head(off, BT_SPB, len);
    p = this.u32(p, origLen);
    p = this.bytes(p, data);
    this.tail(off, p, len);
  }

  /** A Custom Block; `body` is the Private Enterprise Number, the data and any options, as in the file. */
  writeCustomBlock(body: Uint8Array, copyable = true): void {
    if (body.length < 4) throw new RangeError('a custom block starts with a 4-byte Private Enterprise Number');
    this.writeBlock(copyable ? BT_CUSTOM : BT_CUSTOM_NOCOPY, body);
  }

  /**
   * Any other block, body as given (padded to 32 bits), e.g. one copied from another
   * file of the same byte order. Section headers and interfaces go through their methods.
   */
  writeBlock(type: number, body: Uint8Array): void {
    this.checkSection();
    checkU32(type, 'block type');
    if (type === BT_SHB || type === BT_IDB) throw new RangeError('write section headers and interfaces with writeSectionHeader() and addInterface()');
    const len = 12 + pad4(body.length);
    checkU32(len, 'block length');
    const off = this.reserve(len);
    let p = this.head(off, type, len);
    p = this.bytes(p, body);
    this.tail(off, p, len);
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

  // -- buffer ---------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new Error('the pcapng writer is closed');
    if (this.streamError) throw this.streamError;
  }

  private checkSection(): void {
    this.checkOpen();
    if (!this.inSection) throw new Error('write a section header first');
  }

  /** Room for `n` more bytes at the returned offset (the block is committed by tail()). */
  private reserve(n: number): number {
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

  private head(off: number, type: number, len: number): number {
    return this.u32(this.u32(off, type), len);
  }

  /** Pad to the trailing length, write it and commit the block. */
  private tail(off: number, p: number, len: number): void {
    const end = off + len - 4;
    if (p > end) throw new Error(`internal error: block overran its length (${p - off} > ${len - 4})`);
    this.buf.fill(0, p, end);
    this.u32(end, len);
    this.used = off + len;
    this.bytesWritten += len;
    this.blocks++;
  }

  private u32(p: number, v: number): number {
    return this.le ? this.buf.writeUInt32LE(v >>> 0, p) : this.buf.writeUInt32BE(v >>> 0, p);
  }

  private u16(p: number, v: number): number {
    return this.le ? this.buf.writeUInt16LE(v, p) : this.buf.writeUInt16BE(v, p);
  }

  private bytes(p: number, v: Uint8Array): number {
    this.buf.set(v, p);
    const end = p + pad4(v.length);
    this.buf.fill(0, p + v.length, end);
    return end;
  }

  private options(p: number, opts: readonly PcapngOption[]): number {
    if (opts.length === 0) return p;
    for (const o of opts) {
      p = this.u16(p, o.code);
      p = this.u16(p, o.value.length);
      p = this.bytes(p, o.value);
    }
    p = this.u16(p, OPT_END);
    return this.u16(p, 0);
  }

  private i64(v: number): Uint8Array {
    const b = Buffer.alloc(8);
    if (this.le) b.writeBigInt64LE(BigInt(v));
    else b.writeBigInt64BE(BigInt(v));
    return b;
  }
}

// ---------------------------------------------------------------------------
// Copying a capture
// ---------------------------------------------------------------------------

/**
 * The options in `buf[start, end)` of a block in the given byte order, up to
 * opt_endofopt. An option that overruns the area ends the walk (the readers drop it
 * too). Values are views into `buf`: copy them to keep them.
 */
export function readOptions(buf: Buffer, start: number, end: number, le: boolean): PcapngOption[] {
  const out: PcapngOption[] = [];
  for (let p = start; p + 4 <= end; ) {
    const code = le ? buf.readUInt16LE(p) : buf.readUInt16BE(p);
    const vl = le ? buf.readUInt16LE(p + 2) : buf.readUInt16BE(p + 2);
    if (code === OPT_END || p + 4 + vl > end) break;
    out.push({ code, value: buf.subarray(p + 4, p + 4 + vl) });
    p += 4 + pad4(vl);
  }
  return out;
}

const copyOption = (o: PcapngOption): PcapngOption => ({ code: o.code, value: Uint8Array.from(o.value) });

export interface RewriteOptions {
  /** Comments to add to frame `index` (1-based, as Wireshark numbers them). */
  commentsFor?: (index: number) => readonly OptionValue[] | null | undefined;
  /** Comments added to the first section header, after its own. */
  sectionComments?: readonly OptionValue[];
  /** shb_userappl of the sections written (default "tcpsleuth"). */
  userAppl?: string;
}

/**
 * A CaptureSink that copies what a reader delivers to a PcapngWriter, adding comments:
 * every frame with the same bytes, lengths, timestamp, interface and link type.
 *
 * From pcapng, each section is written again in its byte order with its interfaces
 * (their options byte for byte, if_tsresol and if_tsoffset kept), so interface
 * numbers, timestamps and the raw options of packets (comments, flags, hashes) stay
 * as they were; SPBs stay SPBs (no timestamp), custom blocks and systemd journal
 * entries (frames for Wireshark) and NRB/ISB/DSB or unknown blocks are copied
 * unchanged; obsolete Packet Blocks become EPBs. shb_userappl is replaced. From
 * pcap: one little-endian section, one interface with the file's resolution.
 */
export class CaptureRewriter implements CaptureSink {
  /** Frames written; comments added; frames that got them. */
  frames = 0;
  commentsAdded = 0;
  framesCommented = 0;
  /** Frames whose block cannot carry comments (SPB, custom, journal): their comments are dropped. */
  uncommentable = 0;
  private sections = 0;
  private ifaceBase = 0;
  private ifacesSeen = 0;
  private pcapng = false;
  private idbOptions: PcapngOption[] | null = null;
  private blockType = -1;
  private blockBuf: Buffer | null = null;
  private blockPos = 0;
  private blockLen = 0;
  private blockLe = true;

  constructor(
    private readonly writer: PcapngWriter,
    private readonly o: RewriteOptions = {},
  ) {}

  onBlock(type: number, buf: Buffer, pos: number, len: number, littleEndian: boolean): void {
    this.pcapng = true;
    this.blockBuf = null;
    switch (type) {
      case BT_SHB: {
        const own = readOptions(buf, pos + 24, pos + len - 4, littleEndian).map(copyOption);
        this.startSection(
          own.filter((x) => x.code === OPT_COMMENT).map((x) => x.value),
          own.filter((x) => x.code !== OPT_COMMENT && x.code !== SHB_USERAPPL),
          !littleEndian,
        );
        return;
      }
      case BT_IDB:
        // Written when the reader has taken it (onInterface), with the resolution it uses.
        this.idbOptions = readOptions(buf, pos + 16, pos + len - 4, littleEndian)
          .filter((x) => x.code !== IF_TSRESOL && x.code !== IF_TSOFFSET)
          .map(copyOption);
        return;
      case 2: // obsolete Packet Block
      case BT_SPB:
      case BT_EPB:
      case BT_CUSTOM:
      case BT_CUSTOM_NOCOPY:
      case 9: // systemd journal export
        // Frames: written when the reader delivers them (onFrame).
        this.blockType = type;
        this.blockBuf = buf;
        this.blockPos = pos;
        this.blockLen = len;
        this.blockLe = littleEndian;
        return;
      default:
        // NRB, ISB, DSB, unknown: copied as they are (same byte order, same interface numbers).
        this.writer.writeBlock(type, buf.subarray(pos + 8, pos + len - 4));
    }
  }

  onInterface(info: InterfaceInfo): void {
    if (this.sections === 0) this.startSection([], [], false); // pcap: no section header of its own
    const local = this.writer.addInterface({
      linkType: info.linkType,
      snapLen: info.snapLen,
      tsresol: tsresolFor(info.tsUnitsPerSecond),
      tsOffsetSeconds: info.tsOffsetSeconds,
      // From pcapng the IDB's own options (if_fcslen among them) are copied.
      fcsLen: this.pcapng ? -1 : info.fcsLen,
      options: this.pcapng ? (this.idbOptions ?? []) : [],
    });
    this.idbOptions = null;
    this.ifacesSeen++;
    if (info.id - this.ifaceBase !== local) throw new Error(`internal error: interface ${info.id} written as ${local} of a section starting at ${this.ifaceBase}`);
  }

  onFrame(f: Frame): void {
    this.frames++;
    const add = this.o.commentsFor?.(f.index) ?? null;
    const b = this.blockBuf;
    this.blockBuf = null;
    if (f.linkType < 0 || !f.hasTime) {
      // Custom blocks, journal entries and SPBs have no room for comments (an EPB would add a timestamp).
      if (add !== null && add.length > 0) this.uncommentable++;
      if (f.linkType >= 0 && f.capLen === this.writer.simplePacketCapLen(f.origLen)) {
        this.writer.writeSimplePacket(f.buf.subarray(f.offset, f.offset + f.capLen), f.origLen);
      } else if (b !== null) {
        this.writer.writeBlock(this.blockType, b.subarray(this.blockPos + 8, this.blockPos + this.blockLen - 4));
      }
      return;
    }
    let options: PcapngOption[] | null = null;
    if (b !== null && (this.blockType === BT_EPB || this.blockType === 2)) {
      const start = this.blockPos + 28 + pad4(f.capLen);
      const end = this.blockPos + this.blockLen - 4;
      if (start < end) options = readOptions(b, start, end, this.blockLe);
    } else if (b === null && f.comments !== null) {
      options = f.comments.map((c) => ({ code: OPT_COMMENT, value: Buffer.from(c, 'utf8') }));
    }
    this.writer.writePacket(f.interfaceId - this.ifaceBase, f.sec, f.nsec, f.buf.subarray(f.offset, f.offset + f.capLen), f.origLen, add, options);
    if (add !== null && add.length > 0) {
      this.commentsAdded += add.length;
      this.framesCommented++;
    }
  }

  onWarning(): void {
    // The analysis pass reports the file's warnings.
  }

  private startSection(comments: Uint8Array[], options: PcapngOption[], bigEndian: boolean): void {
    const first = this.sections === 0;
    this.writer.writeSectionHeader({
      comments: first ? [...comments, ...(this.o.sectionComments ?? [])] : comments,
      userAppl: this.o.userAppl ?? 'tcpsleuth',
      options,
      bigEndian,
    });
    this.sections++;
    this.ifaceBase = this.ifacesSeen;
  }
}
