import { u16, u32 } from './bytes.js';
import { CaptureError, MAX_RECORD_BYTES } from './errors.js';
import { Frame, type CaptureSink, type InterfaceInfo } from './frame.js';
import type { RecordParser } from './record-parser.js';
import { SplitTime, splitUnits, unitsPerSecond } from './timestamp.js';
import { isEarlier } from '../util/time.js';
import { BOM, BT_CUSTOM, BT_CUSTOM_NOCOPY, BT_EPB, BT_IDB, BT_ISB, BT_PB, BT_SHB, BT_SPB, BT_SYSTEMD_JOURNAL, IF_DESCRIPTION, IF_FCSLEN, IF_NAME, IF_TSOFFSET, IF_TSRESOL, ISB_ENDTIME, OPT_COMMENT, OPT_END } from './pcapng-codes.js';

export { BT_ISB, BT_SHB, ISB_ENDTIME } from './pcapng-codes.js';

/**
 * pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks `type, length, body,
 * length`. Each Section Header Block sets the byte order and starts a fresh list
 * of interfaces; packet blocks name their interface by its index in that list.
 */

/** An ISB end time further than this after the last packet is not believed (a week). */
const MAX_QUIET_SECONDS = 7 * 24 * 3600;
/**
 * Interfaces kept per section: far above any real capture (Wireshark's own tests top
 * out at a few hundred), and a bound on what a file of nothing but 20-byte IDBs can
 * make us hold. Later IDBs are counted (ids stay as the file numbers them) but not kept.
 */
export const MAX_INTERFACES_PER_SECTION = 65536;


/**
 * Frames that are not link-layer packets but that Wireshark still numbers as
 * frames (custom blocks, systemd journal entries): counted so that our frame
 * numbers stay Wireshark's.
 */
export const LINKTYPE_PCAPNG_CUSTOM = -1;
export const LINKTYPE_SYSTEMD_JOURNAL = -2;

interface Iface extends InterfaceInfo {
  unitsPerSec: number;
}

export class PcapngParser implements RecordParser {
  readonly formatName = 'pcapng';
  needed = 12;
  private le = true;
  private inSection = false;
  private ifaces: Iface[] = [];
  /** IDBs of this section, including those beyond the ones kept. */
  private ifaceCount = 0;
  /** Interfaces of earlier sections, so interface ids are unique across the file. */
  private ifaceBase = 0;
  private sections = 0;
  private readonly frame = new Frame();
  stopAfterFrame = false;
  /** Latest packet time read (ISB end times before it say nothing new). */
  private lastSec = -1;
  private lastNsec = 0;
  private readonly t = new SplitTime();

  constructor(private readonly sink: CaptureSink) {}

  get packets(): number {
    return this.frame.index;
  }

  /** The packet number an error names: 0 while the first section header (the file header) is read. */
  private get errorPacket(): number {
    return this.inSection ? this.frame.index + 1 : 0;
  }

  parse(buf: Buffer, start: number, end: number, base: number): number {
    let pos = start;
    while (true) {
      const avail = end - pos;
      if (avail < 12) {
        this.needed = 12;
        return pos;
      }
      const at = base + pos - start;
      let type = u32(buf, pos, this.le);
      if (type === BT_SHB) {
        // The SHB's own byte order decides how its length is read.
        const bom = u32(buf, pos + 8, true);
        if (bom === BOM) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else throw new CaptureError('section header block has a bad byte-order magic', at + 8, this.errorPacket);
        type = BT_SHB;
      } else if (!this.inSection) {
        throw new CaptureError('not a pcapng file (first block is not a section header)', at, 0);
      }
      const len = u32(buf, pos + 4, this.le);
      if (len < 12 || len % 4 !== 0) {
        throw new CaptureError(
          `block of type 0x${type.toString(16)} has length ${len}, not a multiple of 4 of at least 12`,
          at + 4,
          this.errorPacket,
        );
      }
      if (len > MAX_RECORD_BYTES) {
        throw new CaptureError(
          `block of type 0x${type.toString(16)} claims ${len} bytes, more than the ${MAX_RECORD_BYTES} allowed (corrupt file?)`,
          at + 4,
          this.errorPacket,
        );
      }
      if (avail < len) {
        this.needed = len;
        return pos;
      }
      const trailer = u32(buf, pos + len - 4, this.le);
      if (trailer !== len) {
        throw new CaptureError(
          `block of type 0x${type.toString(16)} has length ${len} but its trailing length says ${trailer}`,
          at + len - 4,
          this.errorPacket,
        );
      }
      this.sink.onBlock?.(type, buf, pos, len, this.le);
      const before = this.frame.index;
      this.block(type, buf, pos, len, at);
      pos += len;
      if (this.stopAfterFrame && this.frame.index !== before) return pos;
    }
  }

  private block(type: number, buf: Buffer, pos: number, len: number, at: number): void {
    switch (type) {
      case BT_SHB:
        return this.sectionHeader(buf, pos, len, at);
      case BT_IDB:
        return this.interfaceDescription(buf, pos, len, at);
      case BT_EPB:
        return this.packetBlock(buf, pos, len, at, true);
      case BT_PB:
        return this.packetBlock(buf, pos, len, at, false);
      case BT_SPB:
        return this.simplePacket(buf, pos, len, at);
      case BT_CUSTOM:
      case BT_CUSTOM_NOCOPY:
        return this.pseudoFrame(buf, pos, len, at, LINKTYPE_PCAPNG_CUSTOM);
      case BT_SYSTEMD_JOURNAL:
        return this.pseudoFrame(buf, pos, len, at, LINKTYPE_SYSTEMD_JOURNAL);
      case BT_ISB:
        return this.statistics(buf, pos, len, at);
      default:
        // NRB, DSB and blocks we do not know: skipped by their length.
        return;
    }
  }

  private sectionHeader(buf: Buffer, pos: number, len: number, at: number): void {
    if (len < 28) throw new CaptureError(`section header block is ${len} bytes, less than 28`, at + 4, this.errorPacket);
    const major = u16(buf, pos + 12, this.le);
    const minor = u16(buf, pos + 14, this.le);
    if (major !== 1) {
      throw new CaptureError(`unsupported pcapng version ${major}.${minor}`, at + 12, this.errorPacket);
    }
    this.ifaceBase += this.ifaceCount;
    this.ifaces = [];
    this.ifaceCount = 0;
    this.inSection = true;
    this.sections++;
  }

  private interfaceDescription(buf: Buffer, pos: number, len: number, at: number): void {
    if (len < 20) throw new CaptureError(`interface description block is ${len} bytes, less than 20`, at + 4, this.frame.index + 1);
    if (this.ifaceCount++ >= MAX_INTERFACES_PER_SECTION) {
      if (this.ifaceCount === MAX_INTERFACES_PER_SECTION + 1) {
        this.sink.onWarning(`more than ${MAX_INTERFACES_PER_SECTION} interfaces in one section: the rest are not kept, and packets naming them are damage`, at, this.frame.index + 1);
      }
      return;
    }
    const iface: Iface = {
      id: this.ifaceBase + this.ifaceCount - 1,
      linkType: u16(buf, pos + 8, this.le),
      snapLen: u32(buf, pos + 12, this.le),
      name: null,
      description: null,
      tsUnitsPerSecond: 1e6,
      tsOffsetSeconds: 0,
      fcsLen: -1,
      unitsPerSec: 1e6,
    };
    // Warnings about an IDB name the packet that follows it, as its errors do (0 would read "in the file header").
    const packet = this.frame.index + 1;
    this.options(buf, pos + 16, pos + len - 4, pos, at, packet, (code, vo, vl) => {
      switch (code) {
        case IF_NAME:
          iface.name = buf.toString('utf8', vo, vo + vl).replace(/\0+$/, '');
          break;
        case IF_DESCRIPTION:
          iface.description = buf.toString('utf8', vo, vo + vl).replace(/\0+$/, '');
          break;
        case IF_TSRESOL:
          if (vl >= 1) {
            const r = buf[vo]!;
            const units = unitsPerSecond(r);
            if ((r & 0x80 && (r & 0x7f) > 63) || (!(r & 0x80) && (r & 0x7f) > 19)) {
              this.sink.onWarning(`interface ${iface.id}: if_tsresol 0x${r.toString(16)} is out of range, using microseconds`, at + (vo - 4 - pos), packet);
            } else {
              iface.unitsPerSec = units;
              iface.tsUnitsPerSecond = units;
            }
          }
          break;
        case IF_FCSLEN:
          if (vl >= 1) iface.fcsLen = buf[vo]!;
          break;
        case IF_TSOFFSET:
          if (vl >= 8) {
            const lo = u32(buf, vo + (this.le ? 0 : 4), this.le);
            const hi = u32(buf, vo + (this.le ? 4 : 0), this.le) | 0; // signed
            iface.tsOffsetSeconds = hi * 4294967296 + lo;
          }
          break;
      }
    });
    this.ifaces.push(iface);
    this.sink.onInterface(iface);
  }

  private packetBlock(buf: Buffer, pos: number, len: number, at: number, enhanced: boolean): void {
    const fixed = 28; // type, length, 20 bytes of fields
    if (len < fixed + 4) throw new CaptureError(`packet block is ${len} bytes, less than 32`, at + 4, this.frame.index + 1);
    const ifId = enhanced ? u32(buf, pos + 8, this.le) : u16(buf, pos + 8, this.le);
    const iface = this.ifaces[ifId];
    if (iface === undefined) {
      throw new CaptureError(
        ifId < this.ifaceCount
          ? `packet block names interface ${ifId}, beyond the ${MAX_INTERFACES_PER_SECTION} interfaces kept for a section`
          : `packet block names interface ${ifId}, but the section has ${this.ifaceCount} interface(s)`,
        at + 8,
        this.frame.index + 1,
      );
    }
    const capLen = u32(buf, pos + 20, this.le);
    const room = len - fixed - 4;
    if (capLen > room) {
      throw new CaptureError(
        `packet block captured length ${capLen} exceeds the ${room} bytes its block holds`,
        at + 20,
        this.frame.index + 1,
      );
    }
    const f = this.frame;
    f.index++;
    splitUnits(u32(buf, pos + 12, this.le), u32(buf, pos + 16, this.le), iface.unitsPerSec, this.t);
    f.sec = this.t.sec + iface.tsOffsetSeconds;
    f.nsec = this.t.nsec;
    f.hasTime = true;
    if (isEarlier(this.lastSec, this.lastNsec, f.sec, f.nsec)) {
      this.lastSec = f.sec;
      this.lastNsec = f.nsec;
    }
    f.capLen = capLen;
    f.origLen = u32(buf, pos + 24, this.le);
    this.fill(f, iface, buf, pos + fixed, at);
    const optStart = pos + fixed + ((capLen + 3) & ~3);
    f.comments = optStart < pos + len - 4 ? this.comments(buf, optStart, pos + len - 4, pos, at) : null;
    this.sink.onFrame(f);
  }

  /**
   * An Interface Statistics Block: of its counters only the end of the capture
   * matters here (isb_endtime, else the block's own time, when the statistics were
   * taken). Silence until then is evidence: a socket still in CLOSE-WAIT at the last
   * packet was still in it when the capture stopped. A damaged ISB is a warning only.
   */
  private statistics(buf: Buffer, pos: number, len: number, at: number): void {
    if (this.sink.onCaptureEnd === undefined) return;
    if (len < 24) {
      this.sink.onWarning(`interface statistics block is ${len} bytes, less than 24: ignored`, at + 4, this.frame.index + 1);
      return;
    }
    const iface = this.ifaces[u32(buf, pos + 8, this.le)];
    if (iface === undefined) return;
    let hi = u32(buf, pos + 12, this.le);
    let lo = u32(buf, pos + 16, this.le);
    this.options(buf, pos + 20, pos + len - 4, pos, at, this.frame.index + 1, (code, vo, vl) => {
      if (code === ISB_ENDTIME && vl === 8) {
        hi = u32(buf, vo, this.le);
        lo = u32(buf, vo + 4, this.le);
      }
    });
    if (hi === 0 && lo === 0) return;
    splitUnits(hi, lo, iface.unitsPerSec, this.t);
    const sec = this.t.sec + iface.tsOffsetSeconds;
    const nsec = this.t.nsec;
    // Only after packets, only forward, and not absurdly far: a lying timestamp must not age every connection by years.
    if (this.lastSec < 0 || sec < this.lastSec || (sec === this.lastSec && nsec <= this.lastNsec)) return;
    if (sec - this.lastSec > MAX_QUIET_SECONDS) {
      this.sink.onWarning(`interface statistics block says the capture ran ${sec - this.lastSec} s past its last packet: end time ignored`, at + 12, this.frame.index + 1);
      return;
    }
    this.sink.onCaptureEnd(sec, nsec);
  }

  private simplePacket(buf: Buffer, pos: number, len: number, at: number): void {
    if (len < 16) throw new CaptureError(`simple packet block is ${len} bytes, less than 16`, at + 4, this.frame.index + 1);
    const iface = this.ifaces[0];
    if (iface === undefined) {
      throw new CaptureError('simple packet block before any interface description block', at, this.frame.index + 1);
    }
    const origLen = u32(buf, pos + 8, this.le);
    // The captured length is not stored: it is the original length cut to the snaplen (0: no limit).
    let capLen = iface.snapLen !== 0 && iface.snapLen < origLen ? iface.snapLen : origLen;
    const room = len - 16;
    if (capLen > room) capLen = room;
    const f = this.frame;
    f.index++;
    f.sec = 0;
    f.nsec = 0;
    f.hasTime = false;
    f.capLen = capLen;
    f.origLen = origLen;
    f.comments = null;
    this.fill(f, iface, buf, pos + 12, at);
    this.sink.onFrame(f);
  }

  private pseudoFrame(buf: Buffer, pos: number, len: number, at: number, linkType: number): void {
    const f = this.frame;
    f.index++;
    f.sec = 0;
    f.nsec = 0;
    f.hasTime = false;
    f.linkType = linkType;
    f.interfaceId = -1;
    f.fcsLen = -1;
    f.buf = buf;
    f.offset = pos + 8;
    f.capLen = len - 12;
    f.origLen = len - 12;
    f.fileOffset = at;
    f.comments = null;
    this.sink.onFrame(f);
  }

  private fill(f: Frame, iface: Iface, buf: Buffer, dataOff: number, at: number): void {
    f.linkType = iface.linkType;
    f.interfaceId = iface.id;
    f.fcsLen = iface.fcsLen;
    f.buf = buf;
    f.offset = dataOff;
    f.fileOffset = at;
  }

  private comments(buf: Buffer, start: number, end: number, blockPos: number, at: number): string[] | null {
    let out: string[] | null = null;
    this.options(buf, start, end, blockPos, at, this.frame.index, (code, vo, vl) => {
      if (code === OPT_COMMENT) (out ??= []).push(buf.toString('utf8', vo, vo + vl));
    });
    return out;
  }

  /**
   * Walk the options in `[start, end)`. An option that overruns its block is damage:
   * reported, and the rest of the block's options ignored (the packet itself is kept).
   */
  private options(buf: Buffer, start: number, end: number, blockPos: number, at: number, packet: number, each: (code: number, valueOff: number, valueLen: number) => void): void {
    let p = start;
    while (p + 4 <= end) {
      const code = u16(buf, p, this.le);
      const vl = u16(buf, p + 2, this.le);
      if (code === OPT_END) return;
      if (p + 4 + vl > end) {
        this.sink.onWarning(`option ${code} of ${vl} bytes overruns its block; options ignored from there`, at + (p - blockPos), packet);
        return;
      }
      each(code, p + 4, vl);
      p += 4 + ((vl + 3) & ~3);
    }
  }

  get sectionCount(): number {
    return this.sections;
  }
}
