import type { IpHeader, TcpHeader } from './packet.js';

/**
 * Internet checksums (RFC 1071) over captured bytes, as Zeek checks them before
 * it lets a packet touch connection state. Nothing is allocated: the sums run
 * straight over the frame buffer.
 */

const PROTO_TCP = 6;
const NH_HOP_BY_HOP = 0;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_AH = 51;
const NH_DEST_OPTS = 60;

/** One's-complement sum of `len` bytes from `off`, added to `sum` (not folded). */
function sumBytes(buf: Buffer, off: number, len: number, sum: number): number {
  const end = off + len - 1;
  let p = off;
  // 16-bit words; the running sum stays far below 2^53 for any IP datagram.
  for (; p < end; p += 2) sum += (buf[p]! << 8) | buf[p + 1]!;
  if (p === end) sum += buf[p]! << 8; // odd length: pad with a zero byte
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * Offset of the address an IPv6 packet is finally delivered to, when a routing
 * header still has segments to visit (RFC 8200 8.1: the pseudo-header uses the
 * final destination, and so does Zeek's connection key); else the header's own
 * destination field. -1 if the extension headers are not all captured, or
 * hold a fragment header of a real (non-atomic) fragment.
 */
function ipv6FinalDst(buf: Buffer, ip: IpHeader): number {
  let nh = buf[ip.offset + 6]!;
  let p = ip.offset + 40;
  const end = ip.offset + ip.headerLength;
  let dst = ip.offset + 24;
  while (p < end) {
    let len: number;
    if (nh === NH_HOP_BY_HOP || nh === NH_DEST_OPTS || nh === NH_ROUTING) len = (buf[p + 1]! + 1) * 8;
    else if (nh === NH_FRAGMENT) len = 8;
    else if (nh === NH_AH) len = (buf[p + 1]! + 2) * 4;
    else break;
    if (p + len > end) return -1;
    if (nh === NH_ROUTING) {
      const type = buf[p + 2]!;
      const segsLeft = buf[p + 3]!;
      // Type 0 lists the hops, the last being the destination; type 2 (Mobile IPv6)
      // carries the home address. Other types (RPL's compressed form) are not expanded.
      if (segsLeft > 0 && (type === 0 || type === 2) && len >= 24) dst = p + len - 16;
    } else if (nh === NH_FRAGMENT) {
      // Only an atomic fragment (offset 0, no more to come; RFC 6946) holds the whole segment.
      if (((buf[p + 2]! << 8) | buf[p + 3]!) & 0xfff9) return -1;
    }
    nh = buf[p]!;
    p += len;
  }
  return dst;
}

/**
 * Whether the TCP checksum is right: true or false, or null when it cannot be
 * told. It cannot when the capture cut the segment short (Zeek too checks only
 * fully captured segments), when the IP length was 0 and taken from the frame
 * (TSO/GSO: the NIC fills the checksum in after the capture point), for IP
 * fragments (the segment is spread over several packets; an IPv6 atomic
 * fragment is whole and is checked) and for jumbograms.
 * `payloadLength` overrides tcp.payloadLength (e.g. with the length the IP
 * header claims where the decoder cut it to a shorter link-layer length); it
 * then needs `capEnd`, the end of the frame's captured bytes in `buf`.
 */
export function tcpChecksumOk(buf: Buffer, ip: IpHeader, tcp: TcpHeader, payloadLength = -1, capEnd = -1): boolean | null {
  if (ip.lengthFromFrame || ip.jumbo || (ip.fragment && ip.version === 4)) return null;
  const tcpOff = tcp.payloadOffset - tcp.headerLength;
  let segLen: number;
  if (payloadLength < 0) {
    if (tcp.truncated) return null;
    segLen = tcp.headerLength + tcp.payloadLength;
  } else {
    // A caller's own idea of the payload (Zeek's: what the IP length says), checked
    // against the end of the captured bytes it gives.
    segLen = tcp.headerLength + payloadLength;
    if (capEnd < 0 || tcpOff + segLen > capEnd) return null;
  }
  if (tcpOff + segLen > buf.length) return null;
  let sum: number;
  if (ip.version === 4) {
    sum = sumBytes(buf, ip.offset + 12, 8, 0); // source and destination
  } else {
    const dst = ipv6FinalDst(buf, ip);
    if (dst < 0) return null;
    sum = sumBytes(buf, ip.offset + 8, 16, 0);
    sum = sumBytes(buf, dst, 16, sum);
  }
  // Pseudo-header protocol and TCP length (a 32-bit field for IPv6 whose upper half is 0 here).
  sum += PROTO_TCP + segLen;
  sum = sumBytes(buf, tcpOff, segLen, sum);
  return fold(sum) === 0xffff;
}

/**
 * Whether an IPv4 header checksum is right (IPv6 has none: always true). Zeek
 * drops IPv4 packets whose header checksum is wrong before any transport
 * analysis, unless checksums are ignored (-C).
 */
export function ipv4HeaderChecksumOk(buf: Buffer, ip: IpHeader): boolean {
  if (ip.version !== 4) return true;
  return fold(sumBytes(buf, ip.offset, ip.headerLength, 0)) === 0xffff;
}
