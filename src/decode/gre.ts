import { be16, be32 } from '../capture/bytes.js';
import { decodeEthernet } from './ethernet.js';
import { resolveEtherType } from './ethertype.js';
import { ETH_TEB } from './geneve.js';
import { decodeIeee80211Data } from './ieee80211.js';
import { DECAP_CUT, DECAP_INNER, DECAP_NOT, type DecapResult } from './decap-result.js';
import { NET_IPV4, type LinkResult } from './link-result.js';
import { TUNNEL_ERSPAN, TUNNEL_GRE, type TunnelLayer } from './tunnel.js';

const GRE_C = 0x80;
const GRE_R = 0x40;
const GRE_K = 0x20;
const GRE_S = 0x10;
/** ERSPAN type II, or type I when the GRE header has no sequence number. */
const ETH_ERSPAN_2 = 0x88be;
const ETH_ERSPAN_3 = 0x22eb;
/** WCCP's redirect: a 4-byte redirect header (none in version 1), then the IPv4 packet. */
const ETH_WCCP = 0x883e;
/** Aruba's access points tunnel 802.11 frames with protocol types 0x8200 to 0x8400, in steps of 0x10. */
const ARUBA_FIRST = 0x8200;
const ARUBA_LAST = 0x8400;

/**
 * GRE (RFC 2784, with RFC 2890's key and sequence number) at `off`: version 0 only
 * (version 1 is PPTP's). The key is the layer's id. The protocol type is an EtherType:
 * IP, MPLS, transparent Ethernet bridging (gretap), ERSPAN types I, II and III
 * (their session is the id), WCCP's redirect, or Aruba's 802.11 frames.
 */
export function decodeGre(buf: Buffer, off: number, end: number, layer: TunnelLayer, out: LinkResult): DecapResult {
  if (off + 4 > end) return DECAP_CUT;
  const flags = buf[off]!;
  // Source routing (RFC 1701) is deprecated and has no length we could trust; version 0 only.
  if ((flags & GRE_R) !== 0 || (buf[off + 1]! & 0x07) !== 0) return DECAP_NOT;
  const proto = be16(buf, off + 2);
  let p = off + 4;
  if ((flags & GRE_C) !== 0) p += 4;
  layer.id = -1;
  if ((flags & GRE_K) !== 0) {
    if (p + 4 > end) return DECAP_CUT;
    layer.id = be32(buf, p);
    p += 4;
  }
  const sequenced = (flags & GRE_S) !== 0;
  if (sequenced) p += 4;
  if (p > end) return DECAP_CUT;
  layer.kind = TUNNEL_GRE;
  switch (proto) {
    case ETH_TEB:
      decodeEthernet(buf, p, end, out);
      return DECAP_INNER;
    case ETH_ERSPAN_2:
      layer.kind = TUNNEL_ERSPAN;
      if (!sequenced) {
        layer.variant = 1;
        decodeEthernet(buf, p, end, out);
        return DECAP_INNER;
      }
      // Version (1), VLAN; COS, encapsulation, truncated, session id (10 bits); index.
      if (p + 8 > end) return DECAP_CUT;
      if (buf[p]! >> 4 !== 1) return DECAP_NOT;
      layer.variant = 2;
      layer.id = be16(buf, p + 2) & 0x3ff;
      decodeEthernet(buf, p + 8, end, out);
      return DECAP_INNER;
    case ETH_ERSPAN_3: {
      // 12 bytes (version 2, session, timestamp, SGT, flags), 8 more with the O flag.
      layer.kind = TUNNEL_ERSPAN;
      if (p + 12 > end) return DECAP_CUT;
      if (buf[p]! >> 4 !== 2) return DECAP_NOT;
      layer.variant = 3;
      layer.id = be16(buf, p + 2) & 0x3ff;
      // Frame type (FT) 0 is Ethernet; the others are not frames we know.
      if (((buf[p + 10]! >> 2) & 0x1f) !== 0) return DECAP_NOT;
      const at = p + 12 + ((buf[p + 11]! & 0x01) !== 0 ? 8 : 0);
      decodeEthernet(buf, at, end, out);
      return DECAP_INNER;
    }
    case ETH_WCCP: {
      if (p + 1 > end) return DECAP_CUT;
      out.net = NET_IPV4;
      out.offset = buf[p]! >> 4 === 4 ? p : p + 4;
      return DECAP_INNER;
    }
    default:
      if (proto >= ARUBA_FIRST && proto <= ARUBA_LAST && (proto & 0xf) === 0) decodeIeee80211Data(buf, p, end, out);
      else resolveEtherType(proto, buf, p, end, out);
      return DECAP_INNER;
  }
}
