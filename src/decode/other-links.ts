import { be16 } from '../capture/bytes.js';
import { decodeEthernet } from './ethernet.js';
import { decodeLlc, resolveEtherType } from './ethertype.js';
import { NET_IPV4, NET_IPV6, type LinkResult } from './link-result.js';

/**
 * Link layers seen less often: FDDI, Linux ARCnet, IP over InfiniBand and Juniper's
 * Ethernet capture header. Each finds the IP packet inside, as Wireshark does.
 */

function cut(out: LinkResult): void {
  out.truncated = true;
}

/** LINKTYPE_FDDI (10): frame control (1), destination (6), source (6), then 802.2 LLC. */
export function decodeFddi(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 13 > end) return cut(out);
  decodeLlc(buf, off + 13, end, out);
}

const ARC_IP_RFC1051 = 240;
const ARC_ARP_RFC1051 = 241;
const ARC_DIAGNOSE = 0x80;
const ARC_IP_RFC1201 = 212;
const ARC_IPV6 = 0xc4;

/**
 * LINKTYPE_ARCNET_LINUX (129): source (1), destination (1), offset (2), protocol id (1);
 * RFC 1201 protocols then have a split flag (1) and sequence number (2), and an
 * exception packet (split flag 0xFF) four more bytes (padding, protocol id again,
 * the real split flag and sequence).
 */
export function decodeArcnetLinux(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 5 > end) return cut(out);
  const proto = buf[off + 4]!;
  let p = off + 5;
  if (proto !== ARC_IP_RFC1051 && proto !== ARC_ARP_RFC1051 && proto !== ARC_DIAGNOSE) {
    if (p + 3 > end) return cut(out);
    p += buf[p] === 0xff ? 7 : 3;
    if (p > end) return cut(out);
  }
  if (proto === ARC_IP_RFC1051 || proto === ARC_IP_RFC1201) {
    out.net = NET_IPV4;
    out.offset = p;
  } else if (proto === ARC_IPV6) {
    out.net = NET_IPV6;
    out.offset = p;
  }
}

/**
 * LINKTYPE_IPOIB (242): a 40-byte pseudo-header (the InfiniBand global route header,
 * or the destination address when it is zero), then RFC 4391's 4-byte header: an
 * EtherType and two reserved bytes.
 */
export function decodeIpoib(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 44 > end) return cut(out);
  resolveEtherType(be16(buf, off + 40), buf, off + 44, end, out);
}

const JUNIPER_FLAG_NO_L2 = 0x02;
const JUNIPER_FLAG_EXT = 0x80;
const JUNIPER_PROTO_IP = 2;
const JUNIPER_PROTO_IP6 = 6;

/**
 * LINKTYPE_JUNIPER_ETHER (178): magic "MGC", flags (1); with the extension flag a
 * 2-byte length and that many bytes of TLVs; then the Ethernet frame, or, when the
 * flags say the L2 header was stripped, a 4-byte little-endian protocol and the IP packet.
 */
export function decodeJuniperEther(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 4 > end) return cut(out);
  if (buf[off] !== 0x4d || buf[off + 1] !== 0x47 || buf[off + 2] !== 0x43) return; // not "MGC": unknown
  const flags = buf[off + 3]!;
  let p = off + 4;
  if (flags & JUNIPER_FLAG_EXT) {
    if (p + 2 > end) return cut(out);
    p += 2 + be16(buf, p);
  }
  if (flags & JUNIPER_FLAG_NO_L2) {
    if (p + 4 > end) return cut(out);
    const proto = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24);
    if (proto === JUNIPER_PROTO_IP) out.net = NET_IPV4;
    else if (proto === JUNIPER_PROTO_IP6) out.net = NET_IPV6;
    out.offset = p + 4;
    return;
  }
  decodeEthernet(buf, p, end, out);
}
