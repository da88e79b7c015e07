import type { Writable } from 'node:stream';
import { BlockBuffer } from './pcapng-block-buffer.js';
import { BT_CUSTOM, BT_CUSTOM_NOCOPY, BT_EPB, BT_IDB, BT_SHB, BT_SPB, BOM, IF_DESCRIPTION, IF_FCSLEN, IF_NAME, IF_TSOFFSET, IF_TSRESOL, OPT_COMMENT, SHB_HARDWARE, SHB_OS, SHB_USERAPPL } from './pcapng-codes.js';
import { bytesOf, checkOption, type OptionValue, optionsSize, pad4, type PcapngOption } from './pcapng-options.js';
import { timestampUnits, unitsOf } from './timestamp-units.js';

export { MAX_OPTION_BYTES, type OptionValue, type PcapngOption, readOptions } from './pcapng-options.js';
export { timestampUnits, tsresolFor } from './timestamp-units.js';

/**
 * A streaming pcapng writer (draft-ietf-opsawg-pcapng): what each block holds and the
 * section and interfaces it belongs to. The bytes go through a BlockBuffer of a few
 * MiB, written out when it is full and on flush()/close(). A live capture can call
 * flush() about once a second; a file copy never waits.
 *
 * Every block is checked before a byte of it is written: a call that throws leaves
 * the output as it was, so the file never holds an invalid block. Options are
 * padded to 32 bits and end with opt_endofopt; strings are written as UTF-8, and
 * byte strings (Uint8Array) as they are, so options copied from another file keep
 * their exact bytes even when they are not valid UTF-8.
 */

/** Default size of the write buffer. */
export const WRITER_BUFFER_BYTES = 4 * 1024 * 1024;
const U32 = 0x1_0000_0000;

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

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v >= U32) throw new RangeError(`${what} ${v} is not a 32-bit unsigned integer`);
}

export interface WriterOpenOptions {
  /** Size of the write buffer (default 4 MiB). */
  bufferBytes?: number;
  /** For a stream: end it on close() (default true; false for standard output). */
  end?: boolean;
}

export class PcapngWriter {
  private inSection = false;
  private ifaces: WriterInterface[] = [];

  private constructor(private readonly out: BlockBuffer) {}

  /** Write to a file (created or truncated) or to a stream. */
  static open(target: string | Writable, o: WriterOpenOptions = {}): PcapngWriter {
    const cap = o.bufferBytes ?? WRITER_BUFFER_BYTES;
    if (!Number.isInteger(cap) || cap < 64) throw new RangeError(`buffer size ${cap} is too small`);
    return new PcapngWriter(BlockBuffer.open(target, cap, o.end ?? true));
  }

  /** Bytes handed to the file or stream so far. */
  get bytesFlushed(): number {
    return this.out.bytesFlushed;
  }

  /** Bytes of blocks written, buffered ones included. */
  get bytesWritten(): number {
    return this.out.bytesWritten;
  }

  /** Blocks written, buffered ones included. */
  get blocks(): number {
    return this.out.blocks;
  }

  /** Interfaces of the current section. */
  get interfaceCount(): number {
    return this.ifaces.length;
  }

  get littleEndian(): boolean {
    return this.out.le;
  }

  /** A stream output wants the writer to wait for 'drain' (see drain()). Always false for files. */
  get needsDrain(): boolean {
    return this.out.needsDrain;
  }

  /** Resolves when a stream output can take more. */
  async drain(): Promise<void> {
    await this.out.drain();
  }

  /** Start a section: its byte order, comments and shb_userappl. Interfaces are numbered from 0 again. */
  writeSectionHeader(o: SectionHeaderOptions = {}): void {
    this.out.checkOpen();
    const opts: PcapngOption[] = [];
    if (o.hardware != null) opts.push({ code: SHB_HARDWARE, value: bytesOf(o.hardware) });
    if (o.os != null) opts.push({ code: SHB_OS, value: bytesOf(o.os) });
    const appl = o.userAppl === undefined ? 'tcpsleuth' : o.userAppl;
    if (appl !== null) opts.push({ code: SHB_USERAPPL, value: bytesOf(appl) });
    for (const x of o.options ?? []) opts.push(x);
    for (const c of o.comments ?? []) opts.push({ code: OPT_COMMENT, value: bytesOf(c) });
    opts.forEach(checkOption);
    const len = 28 + optionsSize(opts);
    this.out.le = !o.bigEndian;
    const off = this.out.reserve(len);
    let p = this.out.head(off, BT_SHB, len);
    p = this.out.u32(p, BOM);
    p = this.out.u16(p, 1);
    p = this.out.u16(p, 0);
    p = this.out.u32(p, 0xffffffff); // section length: not known while streaming
    p = this.out.u32(p, 0xffffffff);
    p = this.out.options(p, opts);
    this.out.tail(off, p, len);
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
    if (tsOffset !== 0) opts.push({ code: IF_TSOFFSET, value: this.out.i64(tsOffset) });
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
    const off = this.out.reserve(len);
    let p = this.out.head(off, BT_IDB, len);
    p = this.out.u16(p, o.linkType);
    p = this.out.u16(p, 0);
    p = this.out.u32(p, o.snapLen);
    p = this.out.options(p, opts);
    this.out.tail(off, p, len);
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
    const off = this.out.reserve(len);
    let p = this.out.head(off, BT_EPB, len);
    p = this.out.u32(p, interfaceId);
    p = this.out.u32(p, hi);
    p = this.out.u32(p, lo);
    p = this.out.u32(p, data.length);
    p = this.out.u32(p, origLen);
    p = this.out.bytes(p, data);
    p = this.out.options(p, opts);
    this.out.tail(off, p, len);
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
    const off = this.out.reserve(len);
    let p = this.out.head(off, BT_SPB, len);
    p = this.out.u32(p, origLen);
    p = this.out.bytes(p, data);
    this.out.tail(off, p, len);
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
    const off = this.out.reserve(len);
    let p = this.out.head(off, type, len);
    p = this.out.bytes(p, body);
    this.out.tail(off, p, len);
  }

  /** Hand the buffered blocks to the file or stream; resolves once a stream has taken them. */
  flush(): Promise<void> {
    return this.out.flush();
  }

  /** Flush and close the file (or end the stream, unless opened with end: false). */
  async close(): Promise<void> {
    await this.out.close();
  }

  private checkSection(): void {
    this.out.checkOpen();
    if (!this.inSection) throw new Error('write a section header first');
  }
}
