import { DECAP_CUT, DECAP_INNER, DECAP_NOT, type DecapResult } from './decap-result.js';
import { NET_IPV4, NET_IPV6, type LinkResult } from './link-result.js';
import type { TunnelLayer } from './tunnel.js';

const AYIYA_FORWARD = 1;
const PROTO_IPV4 = 4;
const PROTO_IPV6 = 41;

/**
 * AYIYA ("Anything In Anything", SixXS) at `off`, the UDP payload: identity and
 * signature lengths, operation and next header, epoch, identity, signature, then the
 * packet. Only forwarded IPv4 or IPv6 packets are decapsulated, as Zeek does.
 */
export function decodeAyiya(buf: Buffer, off: number, end: number, layer: TunnelLayer, out: LinkResult): DecapResult {
  if (off + 8 > end) return DECAP_CUT;
  const op = buf[off + 2]! & 0x0f;
  const next = buf[off + 3]!;
  if (op !== AYIYA_FORWARD || (next !== PROTO_IPV4 && next !== PROTO_IPV6)) return DECAP_NOT;
  const p = off + 8 + (1 << (buf[off]! >> 4)) + (buf[off + 1]! >> 4) * 4;
  if (p > end) return DECAP_CUT;
  layer.id = -1;
  out.net = next === PROTO_IPV4 ? NET_IPV4 : NET_IPV6;
  out.offset = p;
  return DECAP_INNER;
}
