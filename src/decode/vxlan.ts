import { decodeEthernet } from './ethernet.js';
import { DECAP_CUT, DECAP_INNER, DECAP_NOT, type DecapResult } from './decap-result.js';
import type { LinkResult } from './link-result.js';
import type { TunnelLayer } from './tunnel.js';

const VXLAN_HEADER = 8;
/** The I flag: the VNI is valid (RFC 7348 5). */
const VXLAN_I = 0x08;

/** VXLAN (RFC 7348) at `off`, the UDP payload: 8 bytes with the 24-bit VNI, then an Ethernet frame. */
export function decodeVxlan(buf: Buffer, off: number, end: number, layer: TunnelLayer, out: LinkResult): DecapResult {
  if (off + VXLAN_HEADER > end) return DECAP_CUT;
  if ((buf[off]! & VXLAN_I) === 0) return DECAP_NOT;
  layer.id = (buf[off + 4]! << 16) | (buf[off + 5]! << 8) | buf[off + 6]!;
  decodeEthernet(buf, off + VXLAN_HEADER, end, out);
  return DECAP_INNER;
}
