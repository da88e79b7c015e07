import { be16, be32 } from '../capture/bytes.js';
import type { LayerProblem } from './ipv4.js';
import type { IpHeader } from './packet.js';

const NH_HOP_BY_HOP = 0;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_AH = 51;
const NH_DEST_OPTS = 60;
const NH_MOBILITY = 135;
const NH_HIP = 139;
const NH_SHIM6 = 140;
const OPT_JUMBO = 0xc2;
/** Extension headers followed at most: a bound against crafted chains, far above real ones. */
const MAX_EXT_HEADERS = 16;

export const IPV6_CUT = { truncated: true, detail: 'IPv6 header cut short by the capture' } as const;
const IPV6_EXT_CUT = { truncated: true, detail: 'IPv6 extension header cut short by the capture' } as const;
const IPV6_BAD_VERSION = { truncated: false, detail: 'IPv6 header with a version other than 6' } as const;
const IPV6_EXT_OVERRUN = { truncated: false, detail: 'IPv6 extension headers longer than the payload length' } as const;
const IPV6_TOO_MANY = { truncated: false, detail: 'IPv6 extension header chain too long' } as const;
const IPV6_EXT_PAST_END = { truncated: false, detail: 'IPv6 extension header runs past the end of the frame' } as const;

/** A cut extension header is truncated when the capture cut it, malformed when the frame itself ends first. */
function extCut(need: number, wireEnd: number): NonNullable<LayerProblem> {
  return need > wireEnd ? IPV6_EXT_PAST_END : IPV6_EXT_CUT;
}

/** Decode an IPv6 header and its extension headers; see decodeIpv4 for the arguments. */
export function decodeIpv6(buf: Buffer, off: number, capEnd: number, wireEnd: number, ip: IpHeader, quoted: boolean): LayerProblem {
  if (off + 40 > capEnd) return IPV6_CUT;
  if (buf[off]! >> 4 !== 6) return IPV6_BAD_VERSION;
  ip.version = 6;
  ip.offset = off;
  ip.ttl = buf[off + 7]!;
  ip.id = 0;
  ip.fragment = false;
  ip.laterFragment = false;
  ip.jumbo = false;
  ip.lengthFromFrame = false;
  ip.lengthExceedsFrame = false;
  buf.copy(ip.src, 0, off + 8, off + 24);
  buf.copy(ip.dst, 0, off + 24, off + 40);
  let payloadLen = be16(buf, off + 4);
  let nh = buf[off + 6]!;
  let p = off + 40;
  let jumbo = -1;
  for (let count = 0; ; count++) {
    let len: number;
    const generic = nh === NH_HOP_BY_HOP || nh === NH_ROUTING || nh === NH_DEST_OPTS || nh === NH_MOBILITY || nh === NH_HIP || nh === NH_SHIM6;
    if (!generic && nh !== NH_FRAGMENT && nh !== NH_AH) break;
    if (count === MAX_EXT_HEADERS) return IPV6_TOO_MANY;
    if (generic) {
      if (p + 2 > capEnd) return extCut(p + 2, wireEnd);
      len = (buf[p + 1]! + 1) * 8;
      if (p + len > capEnd) return extCut(p + len, wireEnd);
      if (nh === NH_HOP_BY_HOP) jumbo = findJumbo(buf, p + 2, p + len);
    } else if (nh === NH_FRAGMENT) {
      len = 8;
      if (p + len > capEnd) return extCut(p + len, wireEnd);
      const fo = be16(buf, p + 2);
      ip.fragment = true;
      ip.laterFragment = (fo & 0xfff8) !== 0;
      ip.id = be32(buf, p + 4);
    } else {
      if (p + 2 > capEnd) return extCut(p + 2, wireEnd);
      len = (buf[p + 1]! + 2) * 4;
      if (p + len > capEnd) return extCut(p + len, wireEnd);
    }
    nh = buf[p]!;
    p += len;
    if (ip.laterFragment) break; // what follows a later fragment's header is mid-datagram data
  }
  if (payloadLen === 0 && jumbo >= 0) {
    payloadLen = jumbo;
    ip.jumbo = true;
  } else if (payloadLen === 0 && !quoted && wireEnd - off > 40) {
    // GSO captures on the sending host leave the length 0, as for IPv4.
    payloadLen = wireEnd - off - 40;
    ip.lengthFromFrame = true;
  }
  ip.protocol = nh;
  ip.headerLength = p - off;
  ip.totalLength = 40 + payloadLen;
  if (p - off - 40 > payloadLen && !quoted) return IPV6_EXT_OVERRUN;
  // A payload length beyond what the frame held is cut to it, as for IPv4.
  const held = wireEnd - off - 40;
  ip.lengthExceedsFrame = !quoted && payloadLen > held;
  ip.payloadLength = Math.max(0, 40 + (ip.lengthExceedsFrame ? held : payloadLen) - (p - off));
  return null;
}

/** The jumbo payload length from hop-by-hop options in [p, end), or -1. */
function findJumbo(buf: Buffer, p: number, end: number): number {
  while (p < end) {
    const t = buf[p]!;
    if (t === 0) {
      p++; // Pad1
      continue;
    }
    if (p + 2 > end) return -1;
    const l = buf[p + 1]!;
    if (t === OPT_JUMBO && l === 4 && p + 6 <= end) return be32(buf, p + 2);
    p += 2 + l;
  }
  return -1;
}
