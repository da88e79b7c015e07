import { be16 } from '../capture/bytes.js';
import type { IpHeader } from './packet.js';

/** Why a header could not be decoded; null when it could. Constant strings: nothing allocated per packet. */
export type LayerProblem = { readonly truncated: boolean; readonly detail: string } | null;

export const IPV4_CUT = { truncated: true, detail: 'IPv4 header cut short by the capture' } as const;
const IPV4_BAD_VERSION = { truncated: false, detail: 'IPv4 header with a version other than 4' } as const;
const IPV4_BAD_IHL = { truncated: false, detail: 'IPv4 header length below 20 bytes' } as const;
const IPV4_BAD_TOTAL = { truncated: false, detail: 'IPv4 total length shorter than its header' } as const;
const IPV4_IHL_PAST_END = { truncated: false, detail: 'IPv4 header length runs past the end of the frame' } as const;

/**
 * Decode an IPv4 header at `off`. `capEnd` ends the captured bytes, `wireEnd` the
 * frame as it was on the wire (or where a link-layer length field ends it). A header
 * cut by `capEnd` is truncated; one that runs past `wireEnd` is malformed. A total
 * length beyond `wireEnd` is cut to it for payloadLength (Wireshark's "IPv4 total
 * length exceeds packet length"). A quoted header (inside an ICMP error) keeps the
 * lengths it states, since they describe the original datagram.
 */
export function decodeIpv4(buf: Buffer, off: number, capEnd: number, wireEnd: number, ip: IpHeader, quoted: boolean): LayerProblem {
  if (off + 20 > capEnd) return IPV4_CUT;
  const vihl = buf[off]!;
  if (vihl >> 4 !== 4) return IPV4_BAD_VERSION;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return IPV4_BAD_IHL;
  if (off + ihl > capEnd) return off + ihl > wireEnd ? IPV4_IHL_PAST_END : IPV4_CUT;
  ip.version = 4;
  ip.offset = off;
  ip.headerLength = ihl;
  let total = be16(buf, off + 2);
  ip.lengthFromFrame = false;
  if (total === 0 && !quoted) {
    // TSO/GSO: the sender's NIC fills the length in later; the frame length is the truth.
    total = wireEnd - off;
    ip.lengthFromFrame = true;
  }
  if (total < ihl) return IPV4_BAD_TOTAL;
  ip.totalLength = total;
  ip.id = be16(buf, off + 4);
  const frag = be16(buf, off + 6);
  const fragOffset = (frag & 0x1fff) * 8;
  ip.fragment = (frag & 0x2000) !== 0 || fragOffset !== 0;
  ip.laterFragment = fragOffset !== 0;
  ip.ttl = buf[off + 8]!;
  ip.protocol = buf[off + 9]!;
  ip.jumbo = false;
  const src = ip.src;
  const dst = ip.dst;
  src[0] = buf[off + 12]!;
  src[1] = buf[off + 13]!;
  src[2] = buf[off + 14]!;
  src[3] = buf[off + 15]!;
  dst[0] = buf[off + 16]!;
  dst[1] = buf[off + 17]!;
  dst[2] = buf[off + 18]!;
  dst[3] = buf[off + 19]!;
  // What the frame held: a longer claim is damage or padding-inflated, never data we can count.
  const held = wireEnd - off;
  ip.lengthExceedsFrame = !quoted && total > held;
  ip.payloadLength = (ip.lengthExceedsFrame ? held : total) - ihl;
  return null;
}
