/**
 * Builders of tunnel encapsulations, laid out from their specifications (not from the
 * decoder's code): UDP (RFC 768), VXLAN (RFC 7348), Geneve (RFC 8926), GRE (RFC 2784
 * with RFC 2890's key and sequence number), ERSPAN types II and III (the Cisco
 * draft-foschiano-erspan), WCCP's GRE redirect, GTP-U (3GPP TS 29.281), Teredo
 * (RFC 4380) and AYIYA (draft-massar-v6ops-ayiya). Each returns its header followed by
 * the payload it is given; lengths and checksums are computed unless overridden.
 */
import { cat, inetChecksum, ip4, toBuf, u16be, u32be, type Bytes } from './bytes.js';

// ---------------------------------------------------------------------------
// UDP
// ---------------------------------------------------------------------------

export interface UdpSpec {
  sport?: number;
  dport: number;
  payload: Bytes;
  /** The length field, overriding 8 + the payload's length (to make lies). */
  length?: number;
  /** The checksum field; 0 (none), as VXLAN and Geneve senders usually leave it. */
  checksum?: number;
}

export function udp(s: UdpSpec): Buffer {
  const payload = toBuf(s.payload);
  return cat(u16be(s.sport ?? 49152), u16be(s.dport), u16be(s.length ?? 8 + payload.length), u16be(s.checksum ?? 0), payload);
}

// ---------------------------------------------------------------------------
// VXLAN, Geneve
// ---------------------------------------------------------------------------

/** VXLAN: flags (I = 0x08: the VNI is valid), 24 reserved bits, the 24-bit VNI, 8 reserved bits; then an Ethernet frame. */
export function vxlan(vni: number, frame: Bytes, o: { flags?: number } = {}): Buffer {
  return cat([o.flags ?? 0x08, 0, 0, 0, (vni >>> 16) & 0xff, (vni >>> 8) & 0xff, vni & 0xff, 0], frame);
}

/** One Geneve option: class, type, 3 reserved bits and the length of `data` in 4-byte words. */
export function geneveOption(optClass: number, type: number, data: Bytes): Buffer {
  const d = toBuf(data);
  if (d.length % 4 !== 0 || d.length > 124) throw new Error('Geneve option data must be a multiple of 4 bytes, at most 124');
  return cat(u16be(optClass), [type & 0xff, d.length / 4], d);
}

export interface GeneveSpec {
  vni: number;
  /** Protocol type, an EtherType: 0x6558 for an Ethernet frame, 0x0800 / 0x86DD for IP. */
  protocol: number;
  /** Options, concatenated (each from geneveOption). */
  options?: Bytes;
  version?: number;
  oam?: boolean;
  critical?: boolean;
}

/** Geneve: Ver (2 bits) and option length (6 bits, 4-byte words), O and C flags, protocol type, VNI, reserved; options; payload. */
export function geneve(s: GeneveSpec, payload: Bytes): Buffer {
  const opts = toBuf(s.options ?? []);
  if (opts.length % 4 !== 0) throw new Error('Geneve options must be a multiple of 4 bytes');
  const h = Buffer.alloc(8);
  h[0] = ((s.version ?? 0) << 6) | (opts.length / 4);
  h[1] = (s.oam ? 0x80 : 0) | (s.critical ? 0x40 : 0);
  h.writeUInt16BE(s.protocol, 2);
  h.writeUInt32BE(((s.vni & 0xffffff) << 8) >>> 0, 4);
  return cat(h, opts, payload);
}

// ---------------------------------------------------------------------------
// GRE and what rides in it
// ---------------------------------------------------------------------------

export const GRE_PROTO = { IPV4: 0x0800, IPV6: 0x86dd, TEB: 0x6558, ERSPAN_1_2: 0x88be, ERSPAN_3: 0x22eb, WCCP: 0x883e, PPP: 0x880b } as const;

export interface GreSpec {
  /** Protocol type (an EtherType). */
  proto: number;
  /** C: a checksum over the GRE header and payload (computed), then 16 reserved bits. */
  checksum?: boolean;
  /** K: the 32-bit key. */
  key?: number;
  /** S: the 32-bit sequence number. */
  seq?: number;
  /** Version (3 bits): 0; 1 is PPTP's enhanced GRE. */
  version?: number;
  /** Extra bits of the first two bytes, OR'ed in (R, recursion, ...). */
  extraFlags?: number;
}

/** GRE: C, R, K, S, recursion and flags, version; protocol type; checksum + reserved1, key, sequence number when flagged. */
export function gre(s: GreSpec, payload: Bytes): Buffer {
  const flags = (s.checksum ? 0x8000 : 0) | (s.key !== undefined ? 0x2000 : 0) | (s.seq !== undefined ? 0x1000 : 0) | ((s.version ?? 0) & 0x7) | (s.extraFlags ?? 0);
  const parts: Buffer[] = [u16be(flags), u16be(s.proto)];
  if (s.checksum) parts.push(Buffer.alloc(4));
  if (s.key !== undefined) parts.push(u32be(s.key));
  if (s.seq !== undefined) parts.push(u32be(s.seq));
  const packet = cat(...parts, payload);
  // RFC 2784 2.5: the checksum covers the GRE header and the payload, the field taken as 0.
  if (s.checksum) packet.writeUInt16BE(inetChecksum(packet), 4);
  return packet;
}

/** ERSPAN type I: a mirrored Ethernet frame straight after a 4-byte GRE header (no sequence number), protocol 0x88BE. */
export function erspan1(frame: Bytes): Buffer {
  return gre({ proto: GRE_PROTO.ERSPAN_1_2 }, frame);
}

export interface Erspan2Spec {
  /** 10-bit session id. */
  session: number;
  vlan?: number;
  cos?: number;
  /** Encapsulation type of the mirrored frame (2 bits) and the truncated bit. */
  en?: number;
  truncated?: boolean;
  /** 20-bit port index. */
  index?: number;
  /** The GRE sequence number, which type II always has. */
  seq?: number;
  /** The ERSPAN version field (1 for type II). */
  version?: number;
}

/**
 * A GRE packet of ERSPAN type II: GRE with S set, protocol 0x88BE, then 8 bytes: Ver
 * (4) and VLAN (12); COS (3), En (2), T (1), session id (10); reserved (12) and index (20).
 */
export function erspan2(s: Erspan2Spec, frame: Bytes): Buffer {
  const h = cat(
    u16be(((s.version ?? 1) << 12) | ((s.vlan ?? 0) & 0xfff)),
    u16be(((s.cos ?? 0) << 13) | ((s.en ?? 0) << 11) | (s.truncated ? 1 << 10 : 0) | (s.session & 0x3ff)),
    u32be((s.index ?? 0) & 0xfffff),
  );
  return gre({ proto: GRE_PROTO.ERSPAN_1_2, seq: s.seq ?? 1 }, cat(h, frame));
}

export interface Erspan3Spec {
  session: number;
  vlan?: number;
  cos?: number;
  /** Bad/short/oversized frame bits (2) and the truncated bit. */
  bso?: number;
  truncated?: boolean;
  timestamp?: number;
  sgt?: number;
  /** P (the frame's preamble is kept), FT (frame type, 5 bits: 0 Ethernet, 2 IP), hardware id (6), D (direction), Gra (2). */
  p?: boolean;
  ft?: number;
  hwId?: number;
  d?: boolean;
  gra?: number;
  /** The optional platform-specific subheader (8 bytes): sets the O flag. */
  platform?: Bytes;
  seq?: number;
  version?: number;
}

/**
 * A GRE packet of ERSPAN type III: GRE (S set), protocol 0x22EB, then 12 bytes: Ver (4,
 * = 2) and VLAN (12); COS (3), BSO (2), T (1), session id (10); timestamp (32); SGT (16);
 * P (1), FT (5), Hw ID (6), D (1), Gra (2), O (1); then the 8-byte platform subheader when O.
 */
export function erspan3(s: Erspan3Spec, frame: Bytes): Buffer {
  const platform = s.platform === undefined ? null : toBuf(s.platform);
  if (platform !== null && platform.length !== 8) throw new Error('the ERSPAN III platform subheader is 8 bytes');
  const hw = s.hwId ?? 0;
  const h = cat(
    u16be(((s.version ?? 2) << 12) | ((s.vlan ?? 0) & 0xfff)),
    u16be(((s.cos ?? 0) << 13) | ((s.bso ?? 0) << 11) | (s.truncated ? 1 << 10 : 0) | (s.session & 0x3ff)),
    u32be(s.timestamp ?? 0),
    u16be(s.sgt ?? 0),
    [((s.p ? 1 : 0) << 7) | (((s.ft ?? 0) & 0x1f) << 2) | ((hw >> 4) & 0x3), ((hw & 0xf) << 4) | ((s.d ? 1 : 0) << 3) | (((s.gra ?? 0) & 0x3) << 1) | (platform !== null ? 1 : 0)],
  );
  return gre({ proto: GRE_PROTO.ERSPAN_3, seq: s.seq ?? 1 }, cat(h, platform ?? [], frame));
}

/**
 * A GRE packet of WCCP's redirect (protocol 0x883E): WCCPv2's 4-byte redirect header
 * (flags byte, service id, alternative and primary bucket), then the redirected IPv4
 * packet; WCCPv1 (`redirect` false) has the packet straight after GRE.
 */
export function wccp(packet: Bytes, o: { redirect?: boolean; flags?: number; serviceId?: number; altBucket?: number; priBucket?: number } = {}): Buffer {
  const header = o.redirect ?? true ? [o.flags ?? 0, o.serviceId ?? 0, o.altBucket ?? 0, o.priBucket ?? 17] : [];
  return gre({ proto: GRE_PROTO.WCCP }, cat(header, packet));
}

// ---------------------------------------------------------------------------
// GTP-U
// ---------------------------------------------------------------------------

/** One GTP-U extension header: its type (announced by the header before it) and its content. */
export interface GtpExt {
  type: number;
  /** Content between the length byte and the next-type byte: 4n - 2 bytes. */
  content: Bytes;
  /** The length byte as written (4-byte units), overriding the computed one (to make lies). */
  lengthByte?: number;
  /** The next-type byte as written, overriding the chain's. */
  next?: number;
}

/** PDU Session Container (type 0x85, TS 38.415): length 1, PDU type and QFI. */
export function pduSessionContainer(qfi: number, pduType = 1): GtpExt {
  return { type: 0x85, content: [(pduType & 0xf) << 4, qfi & 0x3f] };
}

/** PDCP PDU Number extension header (type 0xC0): length 1, the number. */
export function pdcpPduNumber(n: number): GtpExt {
  return { type: 0xc0, content: u16be(n) };
}

export interface GtpUSpec {
  teid: number;
  /** S: the sequence number. */
  seq?: number;
  /** PN: the N-PDU number. */
  npdu?: number;
  /** E: the extension header chain. */
  ext?: GtpExt[];
  /** Message type: 0xFF, a user packet (G-PDU). */
  type?: number;
  /** Version (3 bits): 1. */
  version?: number;
  /** Protocol type bit: 1 (GTP; 0 is GTP'). */
  pt?: number;
  /** Announce E/S/PN without the corresponding field values (the optional word is there whenever any is set). */
  flagsOverride?: number;
}

/**
 * GTP-U: version (3), PT, spare, E, S, PN; message type; length (of everything after
 * the first 8 bytes); TEID; then, when E, S or PN is set, sequence number (16), N-PDU
 * number (8) and next extension header type (8); then each extension header: length in
 * 4-byte units, content, next type; then the user packet.
 */
export function gtpU(s: GtpUSpec, payload: Bytes): Buffer {
  const exts = s.ext ?? [];
  const e = exts.length > 0;
  const sf = s.seq !== undefined;
  const pn = s.npdu !== undefined;
  const flags = s.flagsOverride ?? (((s.version ?? 1) << 5) | ((s.pt ?? 1) << 4) | (e ? 0x04 : 0) | (sf ? 0x02 : 0) | (pn ? 0x01 : 0));
  const optional = (flags & 0x07) !== 0 ? cat(u16be(s.seq ?? 0), [s.npdu ?? 0, e ? exts[0]!.type : 0]) : Buffer.alloc(0);
  const chain = exts.map((x, i) => {
    const c = toBuf(x.content);
    const words = (c.length + 2) / 4;
    if (x.lengthByte === undefined && !Number.isInteger(words)) throw new Error('GTP-U extension header content must be 4n - 2 bytes');
    return cat([x.lengthByte ?? words], c, [x.next ?? (i + 1 < exts.length ? exts[i + 1]!.type : 0)]);
  });
  const rest = cat(optional, ...chain, payload);
  return cat([flags, s.type ?? 0xff], u16be(rest.length), u32be(s.teid), rest);
}

// ---------------------------------------------------------------------------
// Teredo, AYIYA
// ---------------------------------------------------------------------------

export interface TeredoSpec {
  /** Authentication indicator: client id, authentication value, nonce (8 bytes), confirmation byte. */
  auth?: { clientId?: Bytes; authValue?: Bytes; nonce?: Bytes; confirmation?: number };
  /** Origin indication: the client's mapped port and IPv4 address (written obfuscated, XOR all ones). */
  origin?: { port: number; addr: string };
}

/** Teredo: the optional authentication indicator (0x0001 ...), the optional origin indication (0x0000 ...), an IPv6 packet. */
export function teredo(s: TeredoSpec, ipv6Packet: Bytes): Buffer {
  const parts: Buffer[] = [];
  if (s.auth !== undefined) {
    const id = toBuf(s.auth.clientId ?? []);
    const au = toBuf(s.auth.authValue ?? []);
    const nonce = toBuf(s.auth.nonce ?? [1, 2, 3, 4, 5, 6, 7, 8]);
    if (nonce.length !== 8) throw new Error('the Teredo nonce is 8 bytes');
    parts.push(cat([0x00, 0x01, id.length, au.length], id, au, nonce, [s.auth.confirmation ?? 0]));
  }
  if (s.origin !== undefined) {
    const a = ip4(s.origin.addr).map((b) => b ^ 0xff);
    parts.push(cat([0x00, 0x00], u16be(s.origin.port ^ 0xffff), a));
  }
  return cat(...parts, ipv6Packet);
}

export interface AyiyaSpec {
  /** The identity (length a power of 2: 2^n bytes), e.g. the tunnel endpoint's IPv6 address. */
  identity: Bytes;
  identityType?: number;
  /** The signature (a multiple of 4 bytes), e.g. a SHA-1 hash (20). */
  signature: Bytes;
  hashMethod?: number;
  authMethod?: number;
  /** Operation code: 1 is forward. */
  opcode?: number;
  /** The carried packet's protocol: 41 IPv6, 4 IPv4. */
  nextHeader: number;
  epoch?: number;
}

/**
 * AYIYA: identity length (4 bits, log2 of bytes) and type; signature length (4 bits, in
 * 4-byte words) and hash method; authentication method and operation code; next header;
 * epoch (32); identity; signature; the packet.
 */
export function ayiya(s: AyiyaSpec, packet: Bytes): Buffer {
  const id = toBuf(s.identity);
  const sig = toBuf(s.signature);
  const log2 = Math.log2(id.length);
  if (!Number.isInteger(log2) || log2 > 15) throw new Error('the AYIYA identity length must be a power of 2');
  if (sig.length % 4 !== 0 || sig.length / 4 > 15) throw new Error('the AYIYA signature must be a multiple of 4 bytes, at most 60');
  return cat(
    [(log2 << 4) | ((s.identityType ?? 1) & 0xf), ((sig.length / 4) << 4) | ((s.hashMethod ?? 2) & 0xf), ((s.authMethod ?? 2) << 4) | ((s.opcode ?? 1) & 0xf), s.nextHeader],
    u32be(s.epoch ?? 1700000000),
    id,
    sig,
    packet,
  );
}
