/**
 * Builders of IPv4/IPv6 (with options and extension headers), TCP (with options) and
 * ICMP/ICMPv6 errors. Lengths, checksums and paddings are computed unless a field is
 * overridden to make a lie.
 */
import { cat, inetChecksum, ip4, ip6, pattern, toBuf, u16be, u32be, type Bytes } from './bytes.js';

export const PROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, NONE: 59 } as const;

/** TCP options as they go on the wire (unpadded; `tcp()` pads the list with EOL). */
export const tcpOpt = {
  eol: (): Buffer => Buffer.from([0]),
  nop: (): Buffer => Buffer.from([1]),
  mss: (v: number): Buffer => cat([2, 4], u16be(v)),
  wscale: (shift: number): Buffer => Buffer.from([3, 3, shift]),
  sackPermitted: (): Buffer => Buffer.from([4, 2]),
  sack: (blocks: ReadonlyArray<readonly [number, number]>): Buffer => cat([5, 2 + 8 * blocks.length], ...blocks.flatMap(([l, r]) => [u32be(l), u32be(r)])),
  timestamps: (val: number, ecr: number): Buffer => cat([8, 10], u32be(val), u32be(ecr)),
  /** TCP Fast Open (RFC 7413), kind 34; an empty cookie is a cookie request. */
  tfo: (cookie: Bytes = []): Buffer => cat([34, 2 + toBuf(cookie).length], cookie),
  /** The pre-assignment Fast Open form: experimental kind 254 with ExID 0xF989. */
  tfoExperimental: (cookie: Bytes = [], exid = 0xf989): Buffer => cat([254, 4 + toBuf(cookie).length], u16be(exid), cookie),
  /** Any kind with a length byte that says what you want (lies included). */
  raw: (kind: number, len: number, body: Bytes = []): Buffer => cat([kind, len], body),
};

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80, N: 0x100 };

/** 'SA' -> SYN|ACK; letters F S R P A U E C N (N = the AE/NS bit). */
export function tcpFlags(f: string | number): number {
  if (typeof f === 'number') return f;
  let v = 0;
  for (const ch of f) {
    const bit = FLAG_BITS[ch];
    if (bit === undefined) throw new Error(`unknown TCP flag letter ${ch}`);
    v |= bit;
  }
  return v;
}

export interface TcpSpec {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: string | number;
  window?: number;
  urgent?: number;
  /** Options in order; padded to a multiple of 4 with EOL bytes. */
  options?: Bytes[];
  /** Payload bytes, or a count of pattern bytes. */
  payload?: Bytes | number;
  /** Data offset in 32-bit words, overriding the computed one (to make lies). */
  dataOffset?: number;
}

/** A TCP header and payload, checksum 0 (the IP builders fill it in). */
export function tcp(s: TcpSpec = {}): Buffer {
  const opts = cat(...(s.options ?? []));
  const padded = cat(opts, Buffer.alloc((4 - (opts.length % 4)) % 4));
  const payload = typeof s.payload === 'number' ? pattern(s.payload, 0x40) : toBuf(s.payload ?? []);
  const h = Buffer.alloc(20);
  h.writeUInt16BE(s.sport ?? 40000, 0);
  h.writeUInt16BE(s.dport ?? 80, 2);
  h.writeUInt32BE((s.seq ?? 1000) >>> 0, 4);
  h.writeUInt32BE((s.ack ?? 0) >>> 0, 8);
  const flags = tcpFlags(s.flags ?? 'A');
  const off = s.dataOffset ?? (20 + padded.length) / 4;
  h[12] = ((off & 0x0f) << 4) | ((flags >> 8) & 0x01);
  h[13] = flags & 0xff;
  h.writeUInt16BE(s.window ?? 65535, 14);
  h.writeUInt16BE(s.urgent ?? 0, 18);
  return cat(h, padded, payload);
}

// ---------------------------------------------------------------------------
// IPv4
// ---------------------------------------------------------------------------

export interface Ipv4Spec {
  src?: string;
  dst?: string;
  /** Upper-layer protocol; TCP by default. */
  proto?: number;
  ttl?: number;
  id?: number;
  tos?: number;
  df?: boolean;
  /** More-fragments flag. */
  mf?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset?: number;
  /** Raw option bytes; padded with EOL to a multiple of 4. */
  options?: Bytes;
  /** Header length in 32-bit words, overriding the computed one. */
  ihl?: number;
  /** Total length field, overriding the computed one (0 for TSO captures). */
  totalLength?: number;
  version?: number;
  payload: Bytes;
  /** Fill in the TCP/ICMP checksum of the payload (default: when it is a whole, unfragmented TCP segment). */
  l4Checksum?: boolean;
}

/** IPv4 options. */
export const ipv4Opt = {
  nop: (): Buffer => Buffer.from([1]),
  eol: (): Buffer => Buffer.from([0]),
  routerAlert: (): Buffer => Buffer.from([0x94, 4, 0, 0]),
  /** Record Route with room for `slots` addresses. */
  recordRoute: (slots: number): Buffer => cat([7, 3 + 4 * slots, 4], Buffer.alloc(4 * slots)),
  /** Timestamp option (type 0, timestamps only) with room for `slots`. */
  timestamp: (slots: number): Buffer => cat([0x44, 4 + 4 * slots, 5, 0], Buffer.alloc(4 * slots)),
};

export function ipv4(s: Ipv4Spec): Buffer {
  const opts = toBuf(s.options ?? []);
  const paddedOpts = cat(opts, Buffer.alloc((4 - (opts.length % 4)) % 4));
  const hl = 20 + paddedOpts.length;
  let payload = toBuf(s.payload);
  const proto = s.proto ?? PROTO.TCP;
  const src = ip4(s.src ?? '10.0.0.1');
  const dst = ip4(s.dst ?? '10.0.0.2');
  const fragmented = !!s.mf || (s.fragOffset ?? 0) !== 0;
  if ((s.l4Checksum ?? !fragmented) && proto === PROTO.TCP && payload.length >= 20) {
    payload = Buffer.from(payload);
    payload.writeUInt16BE(0, 16);
    const pseudo = cat(src, dst, [0, PROTO.TCP], u16be(payload.length));
    payload.writeUInt16BE(inetChecksum(pseudo, payload), 16);
  }
  const h = Buffer.alloc(20);
  h[0] = ((s.version ?? 4) << 4) | ((s.ihl ?? hl / 4) & 0x0f);
  h[1] = s.tos ?? 0;
  h.writeUInt16BE(s.totalLength ?? hl + payload.length, 2);
  h.writeUInt16BE(s.id ?? 0x1234, 4);
  const fo = ((s.fragOffset ?? 0) / 8) & 0x1fff;
  h.writeUInt16BE((s.df ? 0x4000 : 0) | (s.mf ? 0x2000 : 0) | fo, 6);
  h[8] = s.ttl ?? 64;
  h[9] = proto;
  src.copy(h, 12);
  dst.copy(h, 16);
  const header = cat(h, paddedOpts);
  header.writeUInt16BE(inetChecksum(header), 10);
  return cat(header, payload);
}

// ---------------------------------------------------------------------------
// IPv6 and its extension headers
// ---------------------------------------------------------------------------

export const NH = { HOP_BY_HOP: 0, TCP: 6, ROUTING: 43, FRAGMENT: 44, AH: 51, ICMPV6: 58, NONE: 59, DEST_OPTS: 60 } as const;

/** One extension header: its own protocol number, and its bytes given the next header. */
export interface Ipv6Ext {
  readonly nh: number;
  build(next: number): Buffer;
}

/** Pad an options area (after the 2-byte header) so the header is a multiple of 8 bytes. */
function padOptions(opts: Buffer): Buffer {
  const need = (8 - ((2 + opts.length) % 8)) % 8;
  if (need === 0) return opts;
  if (need === 1) return cat(opts, [0]); // Pad1
  return cat(opts, [1, need - 2], Buffer.alloc(need - 2)); // PadN
}

function optionsHeader(nh: number, opts: Bytes): Ipv6Ext {
  const body = padOptions(toBuf(opts));
  return { nh, build: (next) => cat([next, (2 + body.length) / 8 - 1], body) };
}

/** Jumbo Payload option (RFC 2675): the length of everything after the IPv6 header. */
export function jumboOption(len: number): Buffer {
  return cat([0xc2, 4], u32be(len));
}

export const ext = {
  hopByHop: (opts: Bytes = []): Ipv6Ext => optionsHeader(NH.HOP_BY_HOP, opts),
  destOpts: (opts: Bytes = []): Ipv6Ext => optionsHeader(NH.DEST_OPTS, opts),
  /** Routing header of `type` with the given addresses (type 0-style layout). */
  routing: (addrs: string[] = ['2001:db8::99'], type = 0, segmentsLeft = 0): Ipv6Ext => ({
    nh: NH.ROUTING,
    build: (next) => cat([next, 2 * addrs.length, type, segmentsLeft], Buffer.alloc(4), ...addrs.map(ip6)),
  }),
  /** Fragment header; `offset` in bytes (a multiple of 8). */
  fragment: (o: { offset?: number; more?: boolean; id?: number } = {}): Ipv6Ext => ({
    nh: NH.FRAGMENT,
    build: (next) => cat([next, 0], u16be((((o.offset ?? 0) / 8) << 3) | (o.more ? 1 : 0)), u32be(o.id ?? 0xabcdef)),
  }),
  /** Authentication Header with an ICV of `icvLen` bytes (a multiple of 4). */
  ah: (icvLen = 12, spi = 0x100): Ipv6Ext => ({
    nh: NH.AH,
    build: (next) => cat([next, (12 + icvLen) / 4 - 2], [0, 0], u32be(spi), u32be(1), pattern(icvLen, 0xa0)),
  }),
  /** Any header with a hand-made body; `lenByte` is written as given. */
  raw: (nh: number, lenByte: number, body: Bytes): Ipv6Ext => ({ nh, build: (next) => cat([next, lenByte], body) }),
};

export interface Ipv6Spec {
  src?: string;
  dst?: string;
  /** Protocol after the extension headers; TCP by default. */
  nextHeader?: number;
  hopLimit?: number;
  ext?: Ipv6Ext[];
  payload: Bytes;
  /** Payload length field, overriding the computed one (0 for jumbograms and GSO captures). */
  payloadLength?: number;
  version?: number;
  /** Fill in the TCP/ICMPv6 checksum (default: when there is no fragment header). */
  l4Checksum?: boolean;
}

export function ipv6(s: Ipv6Spec): Buffer {
  const exts = s.ext ?? [];
  const upper = s.nextHeader ?? NH.TCP;
  const src = ip6(s.src ?? '2001:db8::1');
  const dst = ip6(s.dst ?? '2001:db8::2');
  const built: Buffer[] = exts.map((e, i) => e.build(i + 1 < exts.length ? exts[i + 1]!.nh : upper));
  let payload = toBuf(s.payload);
  const fragmented = exts.some((e) => e.nh === NH.FRAGMENT);
  const ckOff = upper === NH.TCP ? 16 : upper === NH.ICMPV6 ? 2 : -1;
  if ((s.l4Checksum ?? !fragmented) && ckOff >= 0 && payload.length >= ckOff + 2) {
    payload = Buffer.from(payload);
    payload.writeUInt16BE(0, ckOff);
    const pseudo = cat(src, dst, u32be(payload.length), [0, 0, 0, upper]);
    payload.writeUInt16BE(inetChecksum(pseudo, payload), ckOff);
  }
  const rest = cat(...built, payload);
  const h = Buffer.alloc(40);
  h.writeUInt32BE((((s.version ?? 6) & 0xf) << 28) >>> 0, 0);
  h.writeUInt16BE(s.payloadLength ?? rest.length, 4);
  h[6] = exts.length > 0 ? exts[0]!.nh : upper;
  h[7] = s.hopLimit ?? 64;
  src.copy(h, 8);
  dst.copy(h, 24);
  return cat(h, rest);
}

// ---------------------------------------------------------------------------
// ICMP errors
// ---------------------------------------------------------------------------

/** ICMPv4 message: type, code, checksum, 4 bytes (`mtu` goes in the low 16 bits), quote. */
export function icmp4(type: number, code: number, quote: Bytes, o: { mtu?: number; rest?: number } = {}): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h[1] = code;
  h.writeUInt32BE(o.rest ?? (o.mtu ?? 0) & 0xffff, 4);
  const m = cat(h, quote);
  m.writeUInt16BE(inetChecksum(m), 2);
  return m;
}

/** ICMPv6 message: type, code, checksum (filled in by ipv6()), 4 bytes (`mtu` for packet-too-big), quote. */
export function icmp6(type: number, code: number, quote: Bytes, o: { mtu?: number; rest?: number } = {}): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h[1] = code;
  h.writeUInt32BE((o.rest ?? o.mtu ?? 0) >>> 0, 4);
  return cat(h, quote);
}
