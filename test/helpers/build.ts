/**
 * Builders of synthetic test input for the unit tests of the capture readers and the
 * decoders: link-layer headers and shims, IPv4/IPv6 (with options and extension
 * headers), TCP (with options), ICMP/ICMPv6 errors, and writers that wrap frames into
 * pcap and pcapng files. Real captures live in the corpus; these exist to reach every
 * decoding path on purpose, including the ones no real capture at hand exercises.
 *
 * Conventions: every builder returns a fresh Buffer; addresses are strings; lengths,
 * checksums and paddings are computed unless a field is overridden to make a lie.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll } from 'vitest';
import { Frame, type CaptureSink, type InterfaceInfo } from '../../src/capture/frame.js';
import { readCapture, type ReadResult } from '../../src/capture/read-capture.js';
import { formatEpoch } from '../../src/capture/timestamp.js';
import { Decoder } from '../../src/decode/decoder.js';
import type { Packet } from '../../src/decode/packet.js';

// ---------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------

export type Bytes = Buffer | Uint8Array | readonly number[];

/** Concatenate byte sequences into one Buffer. */
export function cat(...parts: Bytes[]): Buffer {
  return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p as Uint8Array))));
}

export function u16be(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}

export function u32be(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** `n` bytes of a recognisable pattern (byte i is `(seed + i) & 0xff`). */
export function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i) & 0xff;
  return b;
}

function toBuf(b: Bytes): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b as Uint8Array);
}

/** RFC 1071 Internet checksum over the concatenation of `parts`. */
export function inetChecksum(...parts: Bytes[]): number {
  const b = cat(...parts);
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

export function ip4(s: string): Buffer {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 address ${s}`);
  return Buffer.from(parts);
}

export function ip6(s: string): Buffer {
  const halves = s.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address ${s}`);
  const groups = (h: string): number[] => (h === '' ? [] : h.split(':').map((g) => parseInt(g, 16)));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  if (all.length !== 8 || all.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) throw new Error(`bad IPv6 address ${s}`);
  const b = Buffer.alloc(16);
  all.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
  return b;
}

export function mac(s: string): Buffer {
  const b = Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
  if (b.length !== 6) throw new Error(`bad MAC ${s}`);
  return b;
}

/** An address of a decoded IpHeader as a Buffer of its real length, for comparisons. */
export function addrOf(a: Uint8Array, version: 4 | 6): Buffer {
  return Buffer.from(a.subarray(0, version === 4 ? 4 : 16));
}

// ---------------------------------------------------------------------------
// TCP
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Link layers and shims
// ---------------------------------------------------------------------------

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  PPP: 9,
  RAW_BSD: 12,
  RAW_OPENBSD: 14,
  PPP_HDLC: 50,
  RAW: 101,
  C_HDLC: 104,
  LOOP: 108,
  LINUX_SLL: 113,
  USER0: 147,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const;

/** Address families as loopback (NULL/LOOP) headers and NFLOG carry them. */
export const AF = { INET: 2, INET6_LINUX: 10, INET6_BSD: 24, INET6_FREEBSD: 28, INET6_DARWIN: 30 } as const;

export const ETHERTYPE = { IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, IPV6: 0x86dd, MPLS: 0x8847, MPLS_MC: 0x8848, PPPOE_SESSION: 0x8864, QINQ: 0x88a8, QINQ_OLD: 0x9100 } as const;

/** Something that rides in an Ethernet-like frame: its EtherType (or 802.3 length) and its bytes. */
export interface Encap {
  readonly etherType: number;
  readonly bytes: Buffer;
}

export const asV4 = (packet: Bytes): Encap => ({ etherType: ETHERTYPE.IPV4, bytes: toBuf(packet) });
export const asV6 = (packet: Bytes): Encap => ({ etherType: ETHERTYPE.IPV6, bytes: toBuf(packet) });
export const asType = (etherType: number, bytes: Bytes): Encap => ({ etherType, bytes: toBuf(bytes) });

/** An IP packet as an Encap, the version taken from its first nibble. */
export function asIp(packet: Bytes): Encap {
  const b = toBuf(packet);
  return b[0]! >> 4 === 6 ? asV6(b) : asV4(b);
}

/** An 802.1Q tag (or 802.1ad / old QinQ with `tpid`) in front of `inner`. */
export function vlan(vid: number, inner: Encap, o: { tpid?: number; pcp?: number } = {}): Encap {
  return { etherType: o.tpid ?? ETHERTYPE.VLAN, bytes: cat(u16be(((o.pcp ?? 0) << 13) | (vid & 0x0fff)), u16be(inner.etherType), inner.bytes) };
}

/** 802.1ad service tag around an 802.1Q customer tag. */
export function qinq(serviceVid: number, customerVid: number, inner: Encap, serviceTpid: number = ETHERTYPE.QINQ): Encap {
  return vlan(serviceVid, vlan(customerVid, inner), { tpid: serviceTpid });
}

/** An MPLS label stack (bottom-of-stack set on the last) in front of `payload`. */
export function mpls(labels: number[], payload: Bytes, o: { multicast?: boolean; ttl?: number } = {}): Encap {
  const stack = labels.map((label, i) => u32be(((label & 0xfffff) << 12) | (i === labels.length - 1 ? 0x100 : 0) | (o.ttl ?? 64)));
  return { etherType: o.multicast ? ETHERTYPE.MPLS_MC : ETHERTYPE.MPLS, bytes: cat(...stack, payload) };
}

/** Ethernet pseudowire over MPLS (RFC 4448): labels, a control word, a whole Ethernet frame. */
export function mplsPw(labels: number[], innerFrame: Bytes, controlWord = 0): Encap {
  return mpls(labels, cat(u32be(controlWord & 0x0fffffff), innerFrame));
}

/** PPP protocol number for an IP Encap. */
function pppProtoOf(inner: Encap): number {
  if (inner.etherType === ETHERTYPE.IPV4) return 0x0021;
  if (inner.etherType === ETHERTYPE.IPV6) return 0x0057;
  throw new Error(`no PPP protocol for EtherType 0x${inner.etherType.toString(16)}`);
}

/** A PPPoE session frame: 6-byte PPPoE header, PPP protocol, the packet. */
export function pppoe(inner: Encap, session = 0x1234): Encap {
  const body = cat(u16be(pppProtoOf(inner)), inner.bytes);
  return { etherType: ETHERTYPE.PPPOE_SESSION, bytes: cat([0x11, 0x00], u16be(session), u16be(body.length), body) };
}

/** 802.2 LLC + SNAP (AA AA 03, OUI 000000): the Ethernet type field becomes a length. */
export function llcSnap(inner: Encap, oui: Bytes = [0, 0, 0]): Encap {
  const bytes = cat([0xaa, 0xaa, 0x03], oui, u16be(inner.etherType), inner.bytes);
  return { etherType: bytes.length, bytes };
}

export interface EthernetOptions {
  dst?: string;
  src?: string;
  /** Pad to the 60-byte minimum, as a NIC does (default true). */
  pad?: boolean;
  /** Bytes after the frame (an FCS, a vendor trailer). */
  trailer?: Bytes;
}

export function ethernet(inner: Encap, o: EthernetOptions = {}): Buffer {
  let f = cat(mac(o.dst ?? '02:00:00:00:00:02'), mac(o.src ?? '02:00:00:00:00:01'), u16be(inner.etherType), inner.bytes);
  if ((o.pad ?? true) && f.length < 60) f = cat(f, Buffer.alloc(60 - f.length));
  return cat(f, o.trailer ?? []);
}

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL). */
export function sll(inner: Encap, o: { pktType?: number; arphrd?: number; addr?: string } = {}): Buffer {
  const addr = mac(o.addr ?? '02:00:00:00:00:01');
  return cat(u16be(o.pktType ?? 0), u16be(o.arphrd ?? 1), u16be(addr.length), addr, Buffer.alloc(8 - addr.length), u16be(inner.etherType), inner.bytes);
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2). */
export function sll2(inner: Encap, o: { ifindex?: number; arphrd?: number; pktType?: number; addr?: string } = {}): Buffer {
  const addr = mac(o.addr ?? '02:00:00:00:00:01');
  return cat(u16be(inner.etherType), [0, 0], u32be(o.ifindex ?? 2), u16be(o.arphrd ?? 1), [o.pktType ?? 4, addr.length], addr, Buffer.alloc(8 - addr.length), inner.bytes);
}

/** LINKTYPE_NULL: a 4-byte address family in the capturing host's byte order. */
export function nullLink(family: number, packet: Bytes, le = true): Buffer {
  const h = Buffer.alloc(4);
  if (le) h.writeUInt32LE(family);
  else h.writeUInt32BE(family);
  return cat(h, packet);
}

/** LINKTYPE_LOOP: the family in network byte order (or host order, as some writers did). */
export function loopLink(family: number, packet: Bytes, le = false): Buffer {
  return nullLink(family, packet, le);
}

/** PPP: optional FF 03 address/control, protocol (2 bytes, or 1 with protocol-field compression). */
export function ppp(inner: Encap, o: { hdlc?: boolean; compress?: boolean } = {}): Buffer {
  const proto = pppProtoOf(inner);
  const protoBytes = o.compress ? Buffer.from([proto & 0xff]) : u16be(proto);
  return cat(o.hdlc ?? true ? [0xff, 0x03] : [], protoBytes, inner.bytes);
}

/** Cisco HDLC: address (0x0F unicast, 0x8F broadcast), control 0, EtherType. */
export function cHdlc(inner: Encap, address = 0x0f): Buffer {
  return cat([address, 0x00], u16be(inner.etherType), inner.bytes);
}

/** One NFLOG TLV, little-endian length and type, padded to 4 bytes. */
export function nflogTlv(type: number, value: Bytes): Buffer {
  const v = toBuf(value);
  const h = Buffer.alloc(4);
  h.writeUInt16LE(4 + v.length, 0);
  h.writeUInt16LE(type, 2);
  return cat(h, v, Buffer.alloc((4 - (v.length % 4)) % 4));
}

export const NFULA = { PACKET_HDR: 1, MARK: 2, TIMESTAMP: 3, IFINDEX_INDEV: 4, PAYLOAD: 9, PREFIX: 10, UID: 11 } as const;

/** LINKTYPE_NFLOG: family, version 0, resource id, then TLVs with the payload last. */
export function nflog(family: number, packet: Bytes, o: { prefix?: string; resourceId?: number } = {}): Buffer {
  return cat(
    [family, 0],
    u16be(o.resourceId ?? 0),
    nflogTlv(NFULA.PACKET_HDR, cat(u16be(family === AF.INET ? 0x0800 : 0x86dd), [0, 0])),
    nflogTlv(NFULA.PREFIX, Buffer.from(`${o.prefix ?? 'tcpsleuth-test'}\0`)),
    nflogTlv(NFULA.IFINDEX_INDEV, u32be(2)),
    nflogTlv(NFULA.PAYLOAD, packet),
  );
}

// ---------------------------------------------------------------------------
// pcap writer
// ---------------------------------------------------------------------------

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

function w32(le: boolean, v: number): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}

function w16(le: boolean, v: number): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(v & 0xffff);
  else b.writeUInt16BE(v & 0xffff);
  return b;
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

/** A pcap of `n` SYNs from distinct spoofed sources to one server, 10 us apart (each a connection that never goes on). */
export function synFlood(n: number): Buffer {
  const p = new BulkPcap(n);
  for (let i = 0; i < n; i++) p.tcp(i * 10, 0x0a000000 + (i >>> 8), 0xc0000201, 1024 + (i & 0xff) * 200, 80, (i * 2654435761) >>> 0, 0, 0x02);
  return p.buf;
}

/**
 * A busy server's short connections: `rate` a second for `seconds`, each a handshake
 * and a clean close by the client, 7 segments 10 µs apart (in time order for rates up
 * to 16,000 a second). TIME-WAIT keeps about 60 * `rate` of them alive at once. Made,
 * not captured: for memory and timing, never as ground truth.
 */
export function shortConnections(rate: number, seconds: number): Buffer {
  const count = rate * seconds;
  const p = new BulkPcap(count * 7);
  const SERVER = 0x0a000002;
  for (let i = 0; i < count; i++) {
    const us = Math.floor((i * 1e6) / rate);
    // 50,000 ports per client address: no tuple is reused within TIME-WAIT.
    const client = 0x0a000001 + Math.floor(i / 50_000) * 256;
    const port = 1024 + (i % 50_000);
    const a = Math.imul(i, 7919) >>> 0;
    const b = Math.imul(i, 104729) >>> 0;
    p.tcp(us, client, SERVER, port, 80, a, 0, 0x02);
    p.tcp(us + 10, SERVER, client, 80, port, b, a + 1, 0x12);
    p.tcp(us + 20, client, SERVER, port, 80, a + 1, b + 1, 0x10);
    p.tcp(us + 30, client, SERVER, port, 80, a + 1, b + 1, 0x11);
    p.tcp(us + 40, SERVER, client, 80, port, b + 1, a + 2, 0x10);
    p.tcp(us + 50, SERVER, client, 80, port, b + 1, a + 2, 0x11);
    p.tcp(us + 60, client, SERVER, port, 80, a + 2, b + 2, 0x10);
  }
  return p.buf;
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

// ---------------------------------------------------------------------------
// pcapng writer
// ---------------------------------------------------------------------------

export const BLOCK = { SHB: 0x0a0d0d0a, IDB: 1, PB: 2, SPB: 3, NRB: 4, ISB: 5, EPB: 6, DSB: 0x0a, CB: 0x00000bad, DCB: 0x40000bad } as const;
export const OPT = { END: 0, COMMENT: 1, IF_NAME: 2, IF_DESCRIPTION: 3, IF_TSRESOL: 9, IF_FCSLEN: 13, IF_TSOFFSET: 14, EPB_FLAGS: 2, SHB_HARDWARE: 2, SHB_OS: 3, SHB_USERAPPL: 4 } as const;

/** One option: code and value (strings as UTF-8). */
export type NgOption = readonly [code: number, value: Bytes | string];

/** Blocks of one byte order. Timestamps are counts of the interface's units, as bigints. */
export class Pcapng {
  constructor(readonly le = true) {}

  u32(v: number): Buffer {
    return w32(this.le, v);
  }

  u16(v: number): Buffer {
    return w16(this.le, v);
  }

  u64(v: bigint): Buffer {
    const b = Buffer.alloc(8);
    if (this.le) b.writeBigUInt64LE(BigInt.asUintN(64, v));
    else b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return b;
  }

  /** Options area: each option padded to 4 bytes, then opt_endofopt (omitted when there is none). */
  options(opts: readonly NgOption[]): Buffer {
    if (opts.length === 0) return Buffer.alloc(0);
    const parts = opts.map(([code, value]) => {
      const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : toBuf(value);
      return cat(this.u16(code), this.u16(v.length), v, Buffer.alloc((4 - (v.length % 4)) % 4));
    });
    return cat(...parts, this.u16(OPT.END), this.u16(0));
  }

  /** A block: type, total length, body (padded to 4), total length. */
  block(type: number, body: Bytes): Buffer {
    const b = toBuf(body);
    const padded = cat(b, Buffer.alloc((4 - (b.length % 4)) % 4));
    const len = 12 + padded.length;
    return cat(this.u32(type), this.u32(len), padded, this.u32(len));
  }

  shb(o: { major?: number; minor?: number; sectionLength?: bigint; options?: readonly NgOption[] } = {}): Buffer {
    return this.block(BLOCK.SHB, cat(this.u32(0x1a2b3c4d), this.u16(o.major ?? 1), this.u16(o.minor ?? 0), this.u64(o.sectionLength ?? -1n), this.options(o.options ?? [])));
  }

  idb(
    o: {
      linkType?: number;
      snaplen?: number;
      /** if_tsresol byte: MSB clear 10^-n, set 2^-n. */
      tsresol?: number;
      /** if_tsoffset in seconds (signed). */
      tsoffset?: bigint | number;
      name?: string;
      fcslen?: number;
      options?: readonly NgOption[];
    } = {},
  ): Buffer {
    const opts: NgOption[] = [];
    if (o.name !== undefined) opts.push([OPT.IF_NAME, o.name]);
    if (o.tsresol !== undefined) opts.push([OPT.IF_TSRESOL, [o.tsresol]]);
    if (o.tsoffset !== undefined) opts.push([OPT.IF_TSOFFSET, this.u64(BigInt(o.tsoffset))]);
    if (o.fcslen !== undefined) opts.push([OPT.IF_FCSLEN, [o.fcslen]]);
    opts.push(...(o.options ?? []));
    return this.block(BLOCK.IDB, cat(this.u16(o.linkType ?? LINKTYPE.ETHERNET), this.u16(0), this.u32(o.snaplen ?? 0), this.options(opts)));
  }

  epb(o: { ifId?: number; ts?: bigint; data: Bytes; capLen?: number; origLen?: number; comments?: string[]; options?: readonly NgOption[] }): Buffer {
    const data = toBuf(o.data);
    const ts = BigInt.asUintN(64, o.ts ?? 0n);
    const opts: NgOption[] = (o.comments ?? []).map((c) => [OPT.COMMENT, c] as const);
    opts.push(...(o.options ?? []));
    return this.block(
      BLOCK.EPB,
      cat(
        this.u32(o.ifId ?? 0),
        this.u32(Number(ts >> 32n)),
        this.u32(Number(ts & 0xffffffffn)),
        this.u32(o.capLen ?? data.length),
        this.u32(o.origLen ?? data.length),
        data,
        Buffer.alloc((4 - (data.length % 4)) % 4),
        this.options(opts),
      ),
    );
  }

  /** Obsolete Packet Block (type 2): 16-bit interface id and drops count. */
  pb(o: { ifId?: number; drops?: number; ts?: bigint; data: Bytes; capLen?: number; origLen?: number; comments?: string[] }): Buffer {
    const data = toBuf(o.data);
    const ts = BigInt.asUintN(64, o.ts ?? 0n);
    return this.block(
      BLOCK.PB,
      cat(
        this.u16(o.ifId ?? 0),
        this.u16(o.drops ?? 0),
        this.u32(Number(ts >> 32n)),
        this.u32(Number(ts & 0xffffffffn)),
        this.u32(o.capLen ?? data.length),
        this.u32(o.origLen ?? data.length),
        data,
        Buffer.alloc((4 - (data.length % 4)) % 4),
        this.options((o.comments ?? []).map((c) => [OPT.COMMENT, c] as const)),
      ),
    );
  }

  /** Simple Packet Block: original length, then the data (already cut to the snaplen by the caller). */
  spb(o: { data: Bytes; origLen?: number }): Buffer {
    const data = toBuf(o.data);
    return this.block(BLOCK.SPB, cat(this.u32(o.origLen ?? data.length), data));
  }

  /** Name Resolution Block with IPv4 records. */
  nrb(entries: ReadonlyArray<{ ip: string; names: string[] }> = [{ ip: '10.0.0.1', names: ['host.example'] }]): Buffer {
    const rec = (type: number, value: Buffer): Buffer => cat(this.u16(type), this.u16(value.length), value, Buffer.alloc((4 - (value.length % 4)) % 4));
    const recs = entries.map((e) => rec(1, cat(ip4(e.ip), ...e.names.map((n) => Buffer.from(`${n}\0`)))));
    return this.block(BLOCK.NRB, cat(...recs, this.u16(0), this.u16(0)));
  }

  /** Interface Statistics Block. */
  isb(o: { ifId?: number; ts?: bigint; options?: readonly NgOption[] } = {}): Buffer {
    const ts = BigInt.asUintN(64, o.ts ?? 0n);
    return this.block(BLOCK.ISB, cat(this.u32(o.ifId ?? 0), this.u32(Number(ts >> 32n)), this.u32(Number(ts & 0xffffffffn)), this.options(o.options ?? [])));
  }

  /** Custom Block (copyable 0x0BAD, or do-not-copy 0x40000BAD): PEN, then data. */
  custom(o: { pen?: number; data?: Bytes; copy?: boolean } = {}): Buffer {
    return this.block(o.copy === false ? BLOCK.DCB : BLOCK.CB, cat(this.u32(o.pen ?? 32473), o.data ?? pattern(8)));
  }
}

// ---------------------------------------------------------------------------
// gzip by hand
// ---------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Bytes): number {
  const b = toBuf(data);
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A gzip member whose deflate stream is made of stored (uncompressed) blocks of
 * `blockSize` bytes, so a test knows where each block starts and can damage one:
 * `blockHeaderOffsets[i]` is the offset of block i's header byte in the result.
 */
export function gzipStored(data: Bytes, blockSize = 4096): { gz: Buffer; blockHeaderOffsets: number[] } {
  const d = toBuf(data);
  if (blockSize < 1 || blockSize > 65535) throw new Error('stored blocks hold 1..65535 bytes');
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])];
  const blockHeaderOffsets: number[] = [];
  let at = 10;
  for (let i = 0; i === 0 || i < d.length; i += blockSize) {
    const chunk = d.subarray(i, i + blockSize);
    const final = i + blockSize >= d.length;
    const h = Buffer.alloc(5);
    h[0] = final ? 1 : 0; // BFINAL, BTYPE 00 (stored)
    h.writeUInt16LE(chunk.length, 1);
    h.writeUInt16LE(~chunk.length & 0xffff, 3);
    blockHeaderOffsets.push(at);
    parts.push(h, chunk);
    at += 5 + chunk.length;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(d), 0);
  trailer.writeUInt32LE(d.length >>> 0, 4);
  parts.push(trailer);
  return { gz: Buffer.concat(parts), blockHeaderOffsets };
}

// ---------------------------------------------------------------------------
// Temporary files
// ---------------------------------------------------------------------------

/** A directory under os.tmpdir(), made on first use and removed by cleanup(). */
export class TempDir {
  private dir: string | null = null;

  get path(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'tcpsleuth-test-'));
    return this.dir;
  }

  /** Write `data` to `name` in the directory; returns the full path. */
  write(name: string, data: Bytes): string {
    const p = join(this.path, name);
    writeFileSync(p, toBuf(data));
    return p;
  }

  cleanup(): void {
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

/** A TempDir removed after the test file's tests (call at module or describe level). */
export function useTempDir(): TempDir {
  const d = new TempDir();
  afterAll(() => d.cleanup());
  return d;
}

// ---------------------------------------------------------------------------
// Reading back
// ---------------------------------------------------------------------------

/** A frame copied out of the reader's reused Frame. */
export interface ReadFrame {
  index: number;
  sec: number;
  nsec: number;
  /** formatEpoch(sec, nsec). */
  time: string;
  hasTime: boolean;
  linkType: number;
  interfaceId: number;
  fcsLen: number;
  capLen: number;
  origLen: number;
  fileOffset: number;
  comments: string[] | null;
  data: Buffer;
}

export interface Warning {
  message: string;
  fileOffset: number;
  packet: number;
}

export interface ReadBack {
  result: ReadResult;
  frames: ReadFrame[];
  interfaces: InterfaceInfo[];
  warnings: Warning[];
}

/** A sink that copies everything it is given. */
export function collectingSink(): CaptureSink & Omit<ReadBack, 'result'> {
  const frames: ReadFrame[] = [];
  const interfaces: InterfaceInfo[] = [];
  const warnings: Warning[] = [];
  return {
    frames,
    interfaces,
    warnings,
    onInterface(info) {
      interfaces.push({ ...info });
    },
    onFrame(f) {
      frames.push({
        index: f.index,
        sec: f.sec,
        nsec: f.nsec,
        time: formatEpoch(f.sec, f.nsec),
        hasTime: f.hasTime,
        linkType: f.linkType,
        interfaceId: f.interfaceId,
        fcsLen: f.fcsLen,
        capLen: f.capLen,
        origLen: f.origLen,
        fileOffset: f.fileOffset,
        comments: f.comments === null ? null : [...f.comments],
        data: Buffer.from(f.buf.subarray(f.offset, f.offset + f.capLen)),
      });
    },
    onWarning(message, fileOffset, packet) {
      warnings.push({ message, fileOffset, packet });
    },
  };
}

/** readCapture into a collecting sink. `stdin` is used when `input` is '-'. */
export async function readAll(input: string, stdin?: Readable): Promise<ReadBack> {
  const sink = collectingSink();
  const result = stdin === undefined ? await readCapture(input, sink) : await readCapture(input, sink, stdin);
  return { result, frames: sink.frames, interfaces: sink.interfaces, warnings: sink.warnings };
}

// ---------------------------------------------------------------------------
// Decoding one synthetic frame
// ---------------------------------------------------------------------------

export interface FrameOptions {
  /** Captured length (the data is cut to it); the data length by default. */
  capLen?: number;
  /** Wire length; the full data length by default. */
  origLen?: number;
  fcsLen?: number;
}

/** Filler around a synthetic frame, so that reading past the captured bytes shows. */
const GUARD = 0xee;
const LEAD = 7;

/**
 * A Frame holding `data` (cut to `capLen`) at a non-zero offset of a bigger buffer
 * whose other bytes are 0xEE: a decoder that reads outside the captured bytes, or
 * assumes offset 0, gets garbage instead of plausible values.
 */
export function frameOf(linkType: number, data: Bytes, o: FrameOptions = {}): Frame {
  const d = toBuf(data);
  const capLen = o.capLen ?? d.length;
  const buf = Buffer.alloc(LEAD + capLen + 64, GUARD);
  d.copy(buf, LEAD, 0, capLen);
  const f = new Frame();
  f.index = 1;
  f.sec = 1700000000;
  f.linkType = linkType;
  f.fcsLen = o.fcsLen ?? -1;
  f.buf = buf;
  f.offset = LEAD;
  f.capLen = capLen;
  f.origLen = o.origLen ?? d.length;
  return f;
}

/** Decode one synthetic frame with a fresh Decoder (the packet is the decoder's reused object). */
export function decodeOne(linkType: number, data: Bytes, o: FrameOptions = {}): { packet: Packet; decoder: Decoder } {
  const decoder = new Decoder();
  const packet = decoder.decode(frameOf(linkType, data, o));
  return { packet, decoder };
}
