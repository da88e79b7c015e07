import type { CaptureSink, Frame, InterfaceInfo } from './frame.js';
import { BT_CUSTOM, BT_CUSTOM_NOCOPY, BT_EPB, BT_IDB, BT_PB, BT_SHB, BT_SPB, BT_SYSTEMD_JOURNAL, IF_TSOFFSET, IF_TSRESOL, OPT_COMMENT, SHB_USERAPPL } from './pcapng-codes.js';
import { copyOption, type OptionValue, pad4, type PcapngOption, readOptions } from './pcapng-options.js';
import type { PcapngWriter } from './pcapng-writer.js';
import { tsresolFor } from './timestamp-units.js';

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
      case BT_PB:
      case BT_SPB:
      case BT_EPB:
      case BT_CUSTOM:
      case BT_CUSTOM_NOCOPY:
      case BT_SYSTEMD_JOURNAL:
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
    if (b !== null && (this.blockType === BT_EPB || this.blockType === BT_PB)) {
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
