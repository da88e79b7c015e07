import { u16, u32 } from './bytes.js';
import { CaptureError, MAX_RECORD_BYTES } from './errors.js';
import { Frame, type CaptureSink } from './frame.js';
import type { RecordParser } from './record-parser.js';

/**
 * Classic libpcap files (draft-ietf-opsawg-pcap): a 24-byte header, then records
 * of a 16-byte header and the captured bytes. The magic number gives the byte
 * order and whether the fraction field counts micro- or nanoseconds.
 */

const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
/** Alexey Kuznetzov's patched libpcap: 8 more bytes per record header (ifindex, protocol, type). */
const MAGIC_KUZNETZOV = 0xa1b2cd34;

export const PCAP_FILE_HEADER_LEN = 24;

/** The magic as read big-endian from the first four bytes, or -1 when it is not pcap. */
export function pcapVariant(first4: number): { le: boolean; nanos: boolean; recordHeaderLen: number } | null {
  for (const le of [false, true]) {
    const m = le
      ? (((first4 & 0xff) << 24) | ((first4 & 0xff00) << 8) | ((first4 >>> 8) & 0xff00) | (first4 >>> 24)) >>> 0
      : first4;
    if (m === MAGIC_USEC) return { le, nanos: false, recordHeaderLen: 16 };
    if (m === MAGIC_NSEC) return { le, nanos: true, recordHeaderLen: 16 };
    if (m === MAGIC_KUZNETZOV) return { le, nanos: false, recordHeaderLen: 24 };
  }
  return null;
}

export class PcapParser implements RecordParser {
  readonly format: string;
  needed = PCAP_FILE_HEADER_LEN;
  private headerDone = false;
  private le = true;
  private nanos = false;
  private recordHeaderLen = 16;
  private linkType = 0;
  private fcsLen = -1;
  private snapLen = 0;
  private readonly frame = new Frame();
  stopAfterFrame = false;

  constructor(private readonly sink: CaptureSink) {
    this.format = 'pcap';
  }

  get formatName(): string {
    return this.nanos ? 'pcap-ns' : 'pcap-us';
  }

  parse(buf: Buffer, start: number, end: number, base: number): number {
    let pos = start;
    if (!this.headerDone) {
      if (end - pos < PCAP_FILE_HEADER_LEN) {
        this.needed = PCAP_FILE_HEADER_LEN;
        return pos;
      }
      this.parseFileHeader(buf, pos, base + pos - start);
      pos += PCAP_FILE_HEADER_LEN;
    }
    const frame = this.frame;
    const le = this.le;
    const hl = this.recordHeaderLen;
    while (true) {
      const avail = end - pos;
      if (avail < hl) {
        this.needed = hl;
        return pos;
      }
      const capLen = u32(buf, pos + 8, le);
      if (capLen > MAX_RECORD_BYTES) {
        throw new CaptureError(
          `record claims ${capLen} captured bytes, more than the ${MAX_RECORD_BYTES} any real capture holds (corrupt or not a pcap file)`,
          base + pos - start,
          frame.index + 1,
        );
      }
      if (avail < hl + capLen) {
        this.needed = hl + capLen;
        return pos;
      }
      const frac = u32(buf, pos + 4, le);
      frame.index++;
      frame.sec = u32(buf, pos, le);
      if (this.nanos) {
        frame.nsec = frac;
      } else {
        frame.nsec = frac * 1000;
      }
      if (frame.nsec >= 1e9) {
        // Out-of-range fractions are carried into the seconds, as Wireshark shows them.
        const carry = Math.floor(frame.nsec / 1e9);
        frame.sec += carry;
        frame.nsec -= carry * 1e9;
      }
      frame.origLen = u32(buf, pos + 12, le);
      frame.capLen = capLen;
      frame.buf = buf;
      frame.offset = pos + hl;
      frame.fileOffset = base + pos - start;
      this.sink.onFrame(frame);
      pos += hl + capLen;
      if (this.stopAfterFrame) return pos;
    }
  }

  private parseFileHeader(buf: Buffer, pos: number, fileOffset: number): void {
    const v = pcapVariant(u32(buf, pos, false));
    if (!v) throw new CaptureError('not a pcap file (bad magic number)', fileOffset, 0);
    this.le = v.le;
    this.nanos = v.nanos;
    this.recordHeaderLen = v.recordHeaderLen;
    const major = u16(buf, pos + 4, v.le);
    if (major !== 2) {
      throw new CaptureError(`unsupported pcap version ${major}.${u16(buf, pos + 6, v.le)}`, fileOffset + 4, 0);
    }
    this.snapLen = u32(buf, pos + 16, v.le);
    const field = u32(buf, pos + 20, v.le);
    // Lower 16 bits: the link type; the F bit (0x04000000) says the top 4 bits give the FCS length in 16-bit words.
    this.linkType = field & 0xffff;
    this.fcsLen = field & 0x04000000 ? ((field >>> 28) & 0xf) * 2 : -1;
    this.headerDone = true;
    const frame = this.frame;
    frame.linkType = this.linkType;
    frame.fcsLen = this.fcsLen;
    frame.interfaceId = 0;
    frame.hasTime = true;
    frame.comments = null;
    this.sink.onInterface({
      id: 0,
      linkType: this.linkType,
      snapLen: this.snapLen,
      name: null,
      description: null,
      tsUnitsPerSecond: this.nanos ? 1e9 : 1e6,
      tsOffsetSeconds: 0,
      fcsLen: this.fcsLen,
    });
  }

  get packets(): number {
    return this.frame.index;
  }
}
