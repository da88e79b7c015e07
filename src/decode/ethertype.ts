import { be16 } from '../capture/bytes.js';
import { NET_IPV4, NET_IPV6, type LinkResult } from './link-result.js';

export const ETH_IPV4 = 0x0800;
export const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD1 = 0x9100;
const ETH_QINQ_OLD2 = 0x9200;
const ETH_MPLS_UC = 0x8847;
const ETH_MPLS_MC = 0x8848;
const ETH_PPPOE_SESSION = 0x8864;
/** IEEE 802.1ah Provider Backbone Bridging: I-TAG, then the customer's addresses and EtherType. */
const ETH_PBB = 0x88e7;
/** Cisco FabricPath: FTAG/TTL, then the inner frame's addresses and EtherType. */
const ETH_FABRICPATH = 0x8903;
/** Cisco VN-Tag (802.1Qbh): 4 bytes of tag, then an EtherType. */
const ETH_VNTAG = 0x8926;
export const PPP_IPV4 = 0x0021;
export const PPP_IPV6 = 0x0057;
const PPP_MPLS_UC = 0x0281;
const PPP_MPLS_MC = 0x0283;

/** Tags, labels and shims we walk through before giving up: a bound, not a real-world limit. */
const MAX_SHIMS = 16;

/**
 * Resolve an EtherType at `off` (the first byte after the type field) through
 * 802.1Q/802.1ad tags, 802.1ah PBB, Cisco FabricPath and VN-Tag, MPLS label stacks,
 * PPPoE sessions and 802.2 SNAP to IPv4 or IPv6. Leaves `out.net` at NET_NONE for
 * anything else. PPPoE and 802.3 length fields set `out.end`.
 */
export function resolveEtherType(type: number, buf: Buffer, off: number, end: number, out: LinkResult, depth = 0): void {
  for (let i = 0; i < MAX_SHIMS; i++) {
    switch (type) {
      case ETH_IPV4:
        out.net = NET_IPV4;
        out.offset = off;
        return;
      case ETH_IPV6:
        out.net = NET_IPV6;
        out.offset = off;
        return;
      case ETH_VLAN:
      case ETH_QINQ:
      case ETH_QINQ_OLD1:
      case ETH_QINQ_OLD2:
        if (off + 4 > end) return truncated(out);
        if (out.vlan < 0) out.vlan = be16(buf, off) & 0x0fff;
        type = be16(buf, off + 2);
        off += 4;
        continue;
      case ETH_PBB:
        // I-TAG (4), customer destination and source (12), then the customer EtherType.
        if (off + 18 > end) return truncated(out);
        type = be16(buf, off + 16);
        off += 18;
        continue;
      case ETH_FABRICPATH:
        // FTAG/TTL (2), inner destination and source (12), then the inner EtherType.
        if (off + 16 > end) return truncated(out);
        type = be16(buf, off + 14);
        off += 16;
        continue;
      case ETH_VNTAG:
        if (off + 6 > end) return truncated(out);
        type = be16(buf, off + 4);
        off += 6;
        continue;
      case ETH_MPLS_UC:
      case ETH_MPLS_MC:
        return mpls(buf, off, end, out, depth);
      case ETH_PPPOE_SESSION: {
        // 6-byte PPPoE header (its length counts the PPP protocol and payload), then the PPP protocol.
        if (off + 8 > end) return truncated(out);
        limitEnd(out, off + 6 + be16(buf, off + 4));
        return pppProtocol(be16(buf, off + 6), buf, off + 8, end, out, depth);
      }
      default:
        if (type <= 1500) {
          // 802.3 length field: it bounds the frame (the rest is padding); LLC follows.
          limitEnd(out, off + type);
          return decodeLlc(buf, off, end, out, depth);
        }
        return;
    }
  }
}

/** Bytes past `end` belong to no network packet (only ever narrowed). */
function limitEnd(out: LinkResult, end: number): void {
  if (out.end < 0 || end < out.end) out.end = end;
}

/** 802.2 LLC at `off`: only SNAP (AA AA 03, OUI 00 00 00) carries an EtherType we follow. */
export function decodeLlc(buf: Buffer, off: number, end: number, out: LinkResult, depth = 0): void {
  if (off + 3 > end) return truncated(out);
  if (buf[off] !== 0xaa || buf[off + 1] !== 0xaa || buf[off + 2] !== 0x03) return; // plain LLC: not IP
  if (off + 8 > end) return truncated(out);
  if (buf[off + 3] === 0 && buf[off + 4] === 0 && buf[off + 5] === 0 && depth < 4) {
    resolveEtherType(be16(buf, off + 6), buf, off + 8, end, out, depth + 1);
  }
}

/** PPP protocol numbers that carry IP, directly or under MPLS. */
export function pppProtocol(proto: number, buf: Buffer, off: number, end: number, out: LinkResult, depth = 0): void {
  if (proto === PPP_IPV4) {
    out.net = NET_IPV4;
    out.offset = off;
  } else if (proto === PPP_IPV6) {
    out.net = NET_IPV6;
    out.offset = off;
  } else if (proto === PPP_MPLS_UC || proto === PPP_MPLS_MC) {
    mpls(buf, off, end, out, depth);
  }
}

function mpls(buf: Buffer, off: number, end: number, out: LinkResult, depth: number): void {
  // Label stack entries are 4 bytes; the bottom one has the S bit (bit 8 of byte 2).
  for (let i = 0; i < MAX_SHIMS; i++) {
    if (off + 4 > end) return truncated(out);
    const bottom = (buf[off + 2]! & 0x01) !== 0;
    off += 4;
    if (bottom) break;
    if (i === MAX_SHIMS - 1) return;
  }
  if (off + 1 > end) return truncated(out);
  const nibble = buf[off]! >> 4;
  if (nibble === 4) {
    out.net = NET_IPV4;
    out.offset = off;
  } else if (nibble === 6) {
    out.net = NET_IPV6;
    out.offset = off;
  } else if (nibble === 0) {
    // Pseudowire control word, then an Ethernet frame (RFC 4448).
    if (off + 4 + 14 > end) return truncated(out);
    // Bounded: a crafted frame could nest Ethernet-over-MPLS until the stack overflows.
    if (depth < 4) resolveEtherType(be16(buf, off + 4 + 12), buf, off + 4 + 14, end, out, depth + 1);
  }
}

function truncated(out: LinkResult): void {
  out.truncated = true;
}
