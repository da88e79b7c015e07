/** Writers of pcap files: record by record with every field overridable, or in bulk for big captures. */
import { cat, toBuf, w16, w32, type Bytes } from './bytes.js';
import { LINKTYPE } from './link-layers.js';

export const PCAP_MAGIC = { USEC: 0xa1b2c3d4, NSEC: 0xa1b23c4d, KUZNETZOV: 0xa1b2cd34 } as const;

export interface PcapOptions {
  /** Little-endian (default) or big-endian file. */
  le?: boolean;
  /** Nanosecond timestamps (magic a1b23c4d). */
  nanos?: boolean;
  /** Kuznetzov's patched format (magic a1b2cd34, 24-byte record headers). */
  kuznetzov?: boolean;
  linkType?: number;
  snaplen?: number;
  /** Sets the F bit and the FCS length (bytes, even) in the link type field. */
  fcsBytes?: number;
  /** The whole link type field as written, overriding linkType/fcsBytes. */
  linkTypeField?: number;
  version?: readonly [number, number];
  /** Magic number as written, overriding the variant choice. */
  magic?: number;
}

export interface PcapRecordSpec {
  data: Bytes;
  sec?: number;
  /** Microseconds, or nanoseconds in a nanosecond file. */
  frac?: number;
  /** Wire length; the data length by default. */
  origLen?: number;
  /** Captured length field, overriding the data length (to make lies). */
  capLen?: number;
}

export function pcapHeader(o: PcapOptions = {}): Buffer {
  const le = o.le ?? true;
  const magic = o.magic ?? (o.kuznetzov ? PCAP_MAGIC.KUZNETZOV : o.nanos ? PCAP_MAGIC.NSEC : PCAP_MAGIC.USEC);
  const [major, minor] = o.version ?? [2, 4];
  const fcs = o.fcsBytes !== undefined ? (0x04000000 | (((o.fcsBytes / 2) & 0xf) << 28)) >>> 0 : 0;
  const field = o.linkTypeField ?? (fcs | ((o.linkType ?? LINKTYPE.ETHERNET) & 0xffff)) >>> 0;
  return cat(w32(le, magic), w16(le, major), w16(le, minor), w32(le, 0), w32(le, 0), w32(le, o.snaplen ?? 262144), w32(le, field));
}

export function pcapRecord(r: PcapRecordSpec, o: PcapOptions = {}): Buffer {
  const le = o.le ?? true;
  const data = toBuf(r.data);
  const h = cat(w32(le, r.sec ?? 1700000000), w32(le, r.frac ?? 0), w32(le, r.capLen ?? data.length), w32(le, r.origLen ?? data.length));
  // Kuznetzov: ifindex (4), protocol (2), packet type (1), padding (1).
  const extra = o.kuznetzov ? cat(w32(le, 3), w16(le, 0x0800), [0, 0]) : Buffer.alloc(0);
  return cat(h, extra, data);
}

export function pcapFile(records: PcapRecordSpec[], o: PcapOptions = {}): Buffer {
  return cat(pcapHeader(o), ...records.map((r) => pcapRecord(r, o)));
}

/**
 * A big pcap of minimal Ethernet/IPv4/TCP segments written straight into one buffer
 * (hundreds of thousands of records: the builders above would be slow).
 */
export class BulkPcap {
  static readonly FRAME = 14 + 20 + 20;
  private static readonly REC = 16 + BulkPcap.FRAME;
  readonly buf: Buffer;
  private o = 24;

  constructor(records: number) {
    this.buf = Buffer.alloc(24 + BulkPcap.REC * records);
    pcapHeader().copy(this.buf, 0);
  }

  /** One segment at `us` microseconds after 1700000000; addresses as 32-bit numbers. */
  tcp(us: number, src: number, dst: number, sport: number, dport: number, seq: number, ack: number, flags: number, window = 64240): void {
    const { buf, o } = this;
    buf.writeUInt32LE(1_700_000_000 + Math.floor(us / 1e6), o);
    buf.writeUInt32LE(us % 1e6, o + 4);
    buf.writeUInt32LE(BulkPcap.FRAME, o + 8);
    buf.writeUInt32LE(BulkPcap.FRAME, o + 12);
    const e = o + 16;
    buf.writeUInt16BE(0x0800, e + 12);
    const ip = e + 14;
    buf[ip] = 0x45;
    buf.writeUInt16BE(40, ip + 2);
    buf[ip + 8] = 64;
    buf[ip + 9] = 6;
    buf.writeUInt32BE(src >>> 0, ip + 12);
    buf.writeUInt32BE(dst >>> 0, ip + 16);
    const t = ip + 20;
    buf.writeUInt16BE(sport, t);
    buf.writeUInt16BE(dport, t + 2);
    buf.writeUInt32BE(seq >>> 0, t + 4);
    buf.writeUInt32BE(ack >>> 0, t + 8);
    buf[t + 12] = 0x50;
    buf[t + 13] = flags;
    buf.writeUInt16BE(window, t + 14);
    this.o += BulkPcap.REC;
  }
}
