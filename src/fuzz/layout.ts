import { gunzipSync } from 'node:zlib';
import { be32, u16, u32 } from '../capture/bytes.js';
import type { CaptureSink, Frame } from '../capture/frame.js';
import { PcapParser, pcapVariant } from '../capture/pcap.js';
import { BT_ISB, BT_SHB, PcapngParser } from '../capture/pcapng.js';
import type { RecordParser } from '../capture/record-parser.js';
import { Decoder } from '../decode/decoder.js';

/**
 * Where things are in a capture, so the mutators can lie on purpose: the record and
 * block boundaries, every length field, every pcapng option, and the IP, TCP and
 * ICMP headers inside the frames. Found by running our own readers and decoder over
 * the (sound part of the) source file.
 */

export interface Unit {
  /** Byte range of the file header, a pcap record or a pcapng block. */
  start: number;
  end: number;
  kind: 'file-header' | 'record' | 'block';
  /** pcapng block type (0 for pcap units). */
  type: number;
  le: boolean;
}

/** A length or type field that can be made to lie. */
export interface Field {
  at: number;
  size: 2 | 4;
  le: boolean;
  /** What the field is, to pick plausible lies. */
  what: 'caplen' | 'origlen' | 'block-length' | 'block-trailer' | 'snaplen' | 'linktype' | 'timestamp' | 'interface' | 'version';
  /** The value in the source. */
  value: number;
}

export interface OptionSite {
  /** Offset of the option's code; its length follows. */
  at: number;
  le: boolean;
  code: number;
  length: number;
  /** Block type the option belongs to. */
  blockType: number;
}

export interface FrameSite {
  dataStart: number;
  dataEnd: number;
  linkType: number;
  /** IP header offset, -1 when none was decoded. */
  ip: number;
  ipVersion: 4 | 6 | 0;
  ipHeaderLength: number;
  /** Transport header offset (TCP or ICMP), -1 when none. */
  l4: number;
  l4Kind: 'tcp' | 'icmp' | 'other' | 'none';
  tcpHeaderLength: number;
}

export interface Layout {
  format: 'pcap' | 'pcapng' | 'unknown';
  /** The source was gzip-compressed; the layout describes the decompressed bytes. */
  gzip: boolean;
  units: Unit[];
  fields: Field[];
  options: OptionSite[];
  frames: FrameSite[];
}

/** The bytes to mutate: a gzip source is decompressed first (and may be re-compressed by a mutation). */
export function plainBytes(b: Buffer): { bytes: Buffer; gzip: boolean } {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
    try {
      return { bytes: gunzipSync(b), gzip: true };
    } catch {
      return { bytes: b, gzip: false };
    }
  }
  return { bytes: b, gzip: false };
}

export function layoutOf(b: Buffer, gzip = false): Layout {
  const layout: Layout = { format: 'unknown', gzip, units: [], fields: [], options: [], frames: [] };
  if (b.length < 4) return layout;
  const magic = be32(b, 0);
  const decoder = new Decoder();
  const frames = layout.frames;
  const onFrame = (f: Frame): void => {
    const site: FrameSite = {
      dataStart: f.offset,
      dataEnd: f.offset + f.capLen,
      linkType: f.linkType,
      ip: -1,
      ipVersion: 0,
      ipHeaderLength: 0,
      l4: -1,
      l4Kind: 'none',
      tcpHeaderLength: 0,
    };
    let p;
    try {
      p = decoder.decode(f);
    } catch {
      p = null;
    }
    if (p !== null && f.buf === b) {
      const ip = p.ip;
      if (ip !== null && ip.offset >= f.offset && ip.offset < f.offset + f.capLen) {
        site.ip = ip.offset;
        site.ipVersion = ip.version;
        site.ipHeaderLength = ip.headerLength;
        site.l4 = ip.offset + ip.headerLength;
        site.l4Kind = p.kind === 'tcp' ? 'tcp' : p.kind === 'icmp-error' ? 'icmp' : 'other';
        if (p.kind === 'tcp') site.tcpHeaderLength = p.tcp.headerLength;
      }
    }
    frames.push(site);
  };
  if (magic === BT_SHB) {
    layout.format = 'pcapng';
    const sink: CaptureSink = {
      onInterface: () => undefined,
      onWarning: () => undefined,
      onFrame,
      onBlock: (type, buf, pos, len, le) => {
        if (buf !== b) return;
        layout.units.push({ start: pos, end: pos + len, kind: 'block', type, le });
        blockFields(layout, buf, type, pos, len, le);
      },
    };
    runParser(new PcapngParser(sink), b);
  } else {
    const v = pcapVariant(magic);
    if (v === null) return layout;
    layout.format = 'pcap';
    const le = v.le;
    layout.units.push({ start: 0, end: Math.min(24, b.length), kind: 'file-header', type: 0, le });
    if (b.length >= 24) {
      layout.fields.push({ at: 4, size: 2, le, what: 'version', value: u16(b, 4, le) });
      layout.fields.push({ at: 16, size: 4, le, what: 'snaplen', value: u32(b, 16, le) });
      layout.fields.push({ at: 20, size: 4, le, what: 'linktype', value: u32(b, 20, le) });
    }
    const sink: CaptureSink = {
      onInterface: () => undefined,
      onWarning: () => undefined,
      onFrame: (f) => {
        if (f.buf !== b) return;
        const start = f.fileOffset;
        layout.units.push({ start, end: f.offset + f.capLen, kind: 'record', type: 0, le });
        layout.fields.push({ at: start, size: 4, le, what: 'timestamp', value: u32(b, start, le) });
        layout.fields.push({ at: start + 4, size: 4, le, what: 'timestamp', value: u32(b, start + 4, le) });
        layout.fields.push({ at: start + 8, size: 4, le, what: 'caplen', value: f.capLen });
        layout.fields.push({ at: start + 12, size: 4, le, what: 'origlen', value: f.origLen });
        onFrame(f);
      },
    };
    runParser(new PcapParser(sink), b);
  }
  return layout;
}

function runParser(p: RecordParser, b: Buffer): void {
  try {
    p.parse(b, 0, b.length, 0);
  } catch {
    // A damaged source: the layout covers what was sound.
  }
}

const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_EPB = 6;

function blockFields(layout: Layout, b: Buffer, type: number, pos: number, len: number, le: boolean): void {
  const f = layout.fields;
  f.push({ at: pos + 4, size: 4, le, what: 'block-length', value: len });
  f.push({ at: pos + len - 4, size: 4, le, what: 'block-trailer', value: len });
  let opts = -1;
  if (type === BT_SHB && len >= 28) {
    f.push({ at: pos + 12, size: 2, le, what: 'version', value: u16(b, pos + 12, le) });
    opts = pos + 24;
  } else if (type === BT_IDB && len >= 20) {
    f.push({ at: pos + 8, size: 2, le, what: 'linktype', value: u16(b, pos + 8, le) });
    f.push({ at: pos + 12, size: 4, le, what: 'snaplen', value: u32(b, pos + 12, le) });
    opts = pos + 16;
  } else if ((type === BT_EPB || type === BT_PB) && len >= 32) {
    const capLen = u32(b, pos + 20, le);
    f.push({ at: pos + 8, size: type === BT_EPB ? 4 : 2, le, what: 'interface', value: type === BT_EPB ? u32(b, pos + 8, le) : u16(b, pos + 8, le) });
    f.push({ at: pos + 12, size: 4, le, what: 'timestamp', value: u32(b, pos + 12, le) });
    f.push({ at: pos + 16, size: 4, le, what: 'timestamp', value: u32(b, pos + 16, le) });
    f.push({ at: pos + 20, size: 4, le, what: 'caplen', value: capLen });
    f.push({ at: pos + 24, size: 4, le, what: 'origlen', value: u32(b, pos + 24, le) });
    opts = pos + 28 + ((capLen + 3) & ~3);
  } else if (type === BT_SPB && len >= 16) {
    f.push({ at: pos + 8, size: 4, le, what: 'origlen', value: u32(b, pos + 8, le) });
  } else if (type === BT_ISB && len >= 24) {
    f.push({ at: pos + 8, size: 4, le, what: 'interface', value: u32(b, pos + 8, le) });
    opts = pos + 20;
  }
  if (opts < 0) return;
  const end = pos + len - 4;
  for (let p = opts; p + 4 <= end; ) {
    const code = u16(b, p, le);
    const vl = u16(b, p + 2, le);
    layout.options.push({ at: p, le, code, length: vl, blockType: type });
    if (code === 0 || p + 4 + vl > end) break;
    p += 4 + ((vl + 3) & ~3);
  }
}
