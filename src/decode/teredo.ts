import { be16 } from '../capture/bytes.js';
import { DECAP_CUT, DECAP_INNER, DECAP_NOT, type DecapResult } from './decap-result.js';
import { NET_IPV6, type LinkResult } from './link-result.js';
import type { TunnelLayer } from './tunnel.js';

/**
 * Teredo (RFC 4380 5.1) at `off`, the UDP payload: an optional authentication
 * indicator (0x0001), an optional origin indication (0x0000), then an IPv6 packet
 * whose length fills the datagram. The length check is what tells a Teredo datagram
 * from any other UDP payload.
 */
export function decodeTeredo(buf: Buffer, off: number, end: number, layer: TunnelLayer, out: LinkResult): DecapResult {
  let p = off;
  if (p + 2 > end) return DECAP_CUT;
  if (buf[p] === 0 && buf[p + 1] === 1) {
    // ID length, AU length, client id, authentication value, nonce (8), confirmation (1).
    if (p + 4 > end) return DECAP_CUT;
    p += 4 + buf[p + 2]! + buf[p + 3]! + 9;
    if (p + 2 > end) return DECAP_CUT;
  }
  if (buf[p] === 0 && buf[p + 1] === 0) {
    p += 8;
  }
  if (p + 40 > end) return p < end && buf[p]! >> 4 === 6 ? DECAP_CUT : DECAP_NOT;
  if (buf[p]! >> 4 !== 6 || p + 40 + be16(buf, p + 4) !== end) return DECAP_NOT;
  layer.id = -1;
  out.net = NET_IPV6;
  out.offset = p;
  return DECAP_INNER;
}

/**
 * A UDP payload on a port not known for Teredo that is one anyway: an IPv6 packet
 * filling the datagram exactly, from or to a Teredo address (2001:0::/32), as relays
 * answer from ports of their own (Zeek finds these too).
 */
export function looksLikeTeredo(buf: Buffer, off: number, end: number): boolean {
  let p = off;
  if (p + 8 <= end && buf[p] === 0 && buf[p + 1] === 0) p += 8;
  if (p + 40 > end || buf[p]! >> 4 !== 6 || p + 40 + be16(buf, p + 4) !== end) return false;
  return isTeredoAddress(buf, p + 8) || isTeredoAddress(buf, p + 24);
}

function isTeredoAddress(buf: Buffer, at: number): boolean {
  return buf[at] === 0x20 && buf[at + 1] === 0x01 && buf[at + 2] === 0 && buf[at + 3] === 0;
}
