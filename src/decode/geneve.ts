import { be16 } from '../capture/bytes.js';
import { decodeEthernet } from './ethernet.js';
import { resolveEtherType } from './ethertype.js';
import { DECAP_CUT, DECAP_INNER, DECAP_NOT, type DecapResult } from './decap-result.js';
import type { LinkResult } from './link-result.js';
import type { TunnelLayer } from './tunnel.js';

const GENEVE_HEADER = 8;
/** Transparent Ethernet bridging: the payload is an Ethernet frame. */
export const ETH_TEB = 0x6558;

/**
 * Geneve (RFC 8926) at `off`, the UDP payload: version 0, options (skipped, their
 * length in 4-byte words), a protocol type (an EtherType) and the 24-bit VNI.
 */
export function decodeGeneve(buf: Buffer, off: number, end: number, layer: TunnelLayer, out: LinkResult): DecapResult {
  if (off + GENEVE_HEADER > end) return DECAP_CUT;
  const b0 = buf[off]!;
  if (b0 >> 6 !== 0) return DECAP_NOT;
  const payload = off + GENEVE_HEADER + (b0 & 0x3f) * 4;
  if (payload > end) return DECAP_CUT;
  layer.id = (buf[off + 4]! << 16) | (buf[off + 5]! << 8) | buf[off + 6]!;
  const proto = be16(buf, off + 2);
  if (proto === ETH_TEB) decodeEthernet(buf, payload, end, out);
  else resolveEtherType(proto, buf, payload, end, out);
  return DECAP_INNER;
}
