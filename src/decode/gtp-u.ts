import { be32 } from '../capture/bytes.js';
import { DECAP_CUT, DECAP_INNER, DECAP_NOT, type DecapResult } from './decap-result.js';
import { NET_IPV4, NET_IPV6, type LinkResult } from './link-result.js';
import type { TunnelLayer } from './tunnel.js';

/** Message type of a user packet (T-PDU) (3GPP TS 29.281 6.1). */
const GTP_G_PDU = 0xff;
const GTP_E = 0x04;
const GTP_S = 0x02;
const GTP_PN = 0x01;
/** Extension headers followed, at most: each is at least 4 bytes, but a chain must end. */
const MAX_EXTENSIONS = 16;

/**
 * GTP-U version 1 (3GPP TS 29.281) at `off`, the UDP payload: 8 bytes with the TEID,
 * 4 more when any of E, S or PN is set, then the extension header chain (each
 * header's length in 4-byte words, its last byte the next type), then an IP packet.
 */
export function decodeGtpU(buf: Buffer, off: number, end: number, layer: TunnelLayer, out: LinkResult): DecapResult {
  if (off + 8 > end) return DECAP_CUT;
  const flags = buf[off]!;
  // Version 1 and protocol type GTP (not GTP'): anything else is not a user packet.
  if (flags >> 5 !== 1 || (flags & 0x10) === 0 || buf[off + 1] !== GTP_G_PDU) return DECAP_NOT;
  layer.id = be32(buf, off + 4);
  let p = off + 8;
  if ((flags & (GTP_E | GTP_S | GTP_PN)) !== 0) {
    if (p + 4 > end) return DECAP_CUT;
    let next = buf[p + 3]!;
    p += 4;
    if ((flags & GTP_E) !== 0) {
      for (let i = 0; next !== 0; i++) {
        if (i === MAX_EXTENSIONS) return DECAP_NOT;
        if (p + 1 > end) return DECAP_CUT;
        const len = buf[p]! * 4;
        if (len === 0) return DECAP_NOT;
        if (p + len > end) return DECAP_CUT;
        next = buf[p + len - 1]!;
        p += len;
      }
    }
  }
  if (p + 1 > end) return DECAP_CUT;
  const version = buf[p]! >> 4;
  if (version === 4) out.net = NET_IPV4;
  else if (version === 6) out.net = NET_IPV6;
  out.offset = p;
  return DECAP_INNER;
}
