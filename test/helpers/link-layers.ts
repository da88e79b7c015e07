/** Builders of link-layer headers and shims (Ethernet, VLAN, MPLS, PPPoE, cooked captures, loopback, PPP, NFLOG). */
import { cat, mac, toBuf, u16be, u32be, type Bytes } from './bytes.js';

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
