import { be16 } from '../capture/bytes.js';
import { decodeAyiya } from './ayiya.js';
import { DECAP_INNER, DECAP_NOT, type DecapResult } from './decap-result.js';
import { decodeGeneve } from './geneve.js';
import { decodeGre } from './gre.js';
import { decodeGtpU } from './gtp-u.js';
import { NET_IPV4, NET_IPV6, type LinkResult } from './link-result.js';
import type { IpHeader } from './packet.js';
import { decodeTeredo, looksLikeTeredo } from './teredo.js';
import {
  defaultDecapConfig,
  TUNNEL_AYIYA,
  TUNNEL_GENEVE,
  TUNNEL_GRE,
  TUNNEL_GTP_U,
  TUNNEL_IP_IN_IP,
  TUNNEL_TEREDO,
  TUNNEL_VXLAN,
  UDP_TUNNEL_NAMES,
  type DecapConfig,
  type TunnelKind,
  type TunnelLayer,
} from './tunnel.js';
import { decodeVxlan } from './vxlan.js';

const PROTO_IPIP = 4;
const PROTO_UDP = 17;
const PROTO_IPV6 = 41;
const PROTO_GRE = 47;
const UDP_HEADER = 8;

/** Which UDP port carries which encapsulation: a flat table, one lookup per datagram. */
export class DecapTable {
  readonly udp = new Uint8Array(65536);
  constructor(config: DecapConfig) {
    for (const [port, name] of config.udpPorts) this.udp[port] = UDP_TUNNEL_NAMES[name];
  }
}

let defaultTable: DecapTable | null = null;

/** The table of the default ports, made once: every decoder of a run shares it. */
export function defaultDecapTable(): DecapTable {
  defaultTable ??= new DecapTable(defaultDecapConfig());
  return defaultTable;
}

/** The table for a configuration; null when decapsulation is off. */
export function decapTableFor(config: DecapConfig | undefined): DecapTable | null {
  if (config === undefined) return defaultDecapTable();
  return config.enabled ? new DecapTable(config) : null;
}

/** An IP protocol that may carry a tunnel: the only packets decap() is asked about. */
export function mayCarryTunnel(protocol: number): boolean {
  return protocol === PROTO_UDP || protocol === PROTO_GRE || protocol === PROTO_IPIP || protocol === PROTO_IPV6;
}

/**
 * The IP payload at `off` (to `end`: the datagram's end or the capture's, whichever is
 * first), when it is an encapsulation: `layer` takes its kind, ports and id (the outer
 * addresses are TunnelPath.push's), `out` what is inside. DECAP_NOT leaves the packet
 * as its outer header says.
 */
export function decap(table: DecapTable, buf: Buffer, ip: IpHeader, off: number, end: number, layer: TunnelLayer, out: LinkResult): DecapResult {
  layer.variant = 0;
  layer.srcPort = 0;
  layer.dstPort = 0;
  layer.id = -1;
  switch (ip.protocol) {
    case PROTO_IPIP:
    case PROTO_IPV6:
      layer.kind = TUNNEL_IP_IN_IP;
      out.net = ip.protocol === PROTO_IPIP ? NET_IPV4 : NET_IPV6;
      out.offset = off;
      return DECAP_INNER;
    case PROTO_GRE:
      return decodeGre(buf, off, end, layer, out);
    case PROTO_UDP:
      return udp(table, buf, off, end, layer, out);
    default:
      return DECAP_NOT;
  }
}

function udp(table: DecapTable, buf: Buffer, off: number, end: number, layer: TunnelLayer, out: LinkResult): DecapResult {
  if (off + UDP_HEADER > end) return DECAP_NOT;
  const sport = be16(buf, off);
  const dport = be16(buf, off + 2);
  // The destination port names the encapsulation; a reply from the well-known port has it as its source.
  let kind: number = table.udp[dport]!;
  if (kind === 0) kind = table.udp[sport]!;
  const ulen = be16(buf, off + 4);
  // The UDP length bounds the payload (a trailer may follow); 0 is a jumbogram's, use the datagram.
  const payloadEnd = ulen >= UDP_HEADER && off + ulen < end ? off + ulen : end;
  const p = off + UDP_HEADER;
  if (kind === 0) {
    if (!looksLikeTeredo(buf, p, payloadEnd)) return DECAP_NOT;
    kind = TUNNEL_TEREDO;
  }
  layer.kind = kind as TunnelKind;
  layer.srcPort = sport;
  layer.dstPort = dport;
  switch (kind) {
    case TUNNEL_VXLAN:
      return decodeVxlan(buf, p, payloadEnd, layer, out);
    case TUNNEL_GENEVE:
      return decodeGeneve(buf, p, payloadEnd, layer, out);
    case TUNNEL_GTP_U:
      return decodeGtpU(buf, p, payloadEnd, layer, out);
    case TUNNEL_TEREDO:
      return decodeTeredo(buf, p, payloadEnd, layer, out);
    case TUNNEL_AYIYA:
      return decodeAyiya(buf, p, payloadEnd, layer, out);
    case TUNNEL_GRE:
      return decodeGre(buf, p, payloadEnd, layer, out);
    default:
      return DECAP_NOT;
  }
}
