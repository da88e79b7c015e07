import { TUNNEL_ERSPAN, TUNNEL_GENEVE, TUNNEL_GRE, TUNNEL_GTP_U, TUNNEL_ID_NAMES, TUNNEL_NAMES, TUNNEL_VXLAN, type TunnelLayer, type TunnelPath } from './tunnel.js';
import { formatIp } from '../util/address.js';

/** An id as Wireshark shows it: TEIDs in hex, VNIs, keys and sessions in decimal. */
export function tunnelIdText(kind: TunnelLayer['kind'], id: number): string {
  return kind === TUNNEL_GTP_U ? `0x${id.toString(16).padStart(8, '0')}` : String(id);
}

/** One layer in a few words: "vxlan 10.98.0.1>10.98.0.2 VNI 42", "gtp-u 192.0.2.1>192.0.2.9 TEID 0x00000001/0x00000002". */
export function tunnelLayerText(l: TunnelLayer): string {
  const name = l.kind === TUNNEL_ERSPAN ? `erspan-${['', 'i', 'ii', 'iii'][l.variant] ?? l.variant}` : TUNNEL_NAMES[l.kind];
  let s = `${name} ${formatIp(l.version, l.src)}>${formatIp(l.version, l.dst)}`;
  if (l.id >= 0) {
    s += ` ${TUNNEL_ID_NAMES[l.kind]} ${tunnelIdText(l.kind, l.id)}`;
    if (l.reverseSeen && l.reverseId !== l.id && l.reverseId >= 0) s += `/${tunnelIdText(l.kind, l.reverseId)}`;
  }
  return s;
}

/** The path, outermost first ("" when not tunnelled). */
export function tunnelText(t: TunnelPath | null): string {
  if (t === null) return '';
  let s = '';
  for (let i = 0; i < t.depth; i++) s += `${i ? ' / ' : ''}${tunnelLayerText(t.layers[i]!)}`;
  return s;
}

/** Encapsulations whose id names a network of their own (a tenant, a mirror session), not a tunnel endpoint's. */
const NETWORK_IDS: ReadonlySet<TunnelLayer['kind']> = new Set([TUNNEL_VXLAN, TUNNEL_GENEVE, TUNNEL_GRE, TUNNEL_ERSPAN]);

/**
 * The virtual networks a path is in, as findings are grouped by: "VXLAN VNI 42", layers
 * joined by " / "; "" when none has one. The same inner address in two VNIs is two
 * hosts (tenants may overlap); GTP-U's TEIDs and the outer addresses name tunnels, not
 * networks, so a server's connections from many tunnel endpoints stay one story.
 */
export function tunnelNetwork(t: TunnelPath | null): string {
  if (t === null) return '';
  let s = '';
  for (let i = 0; i < t.depth; i++) {
    const l = t.layers[i]!;
    if (l.id < 0 || !NETWORK_IDS.has(l.kind)) continue;
    s += `${s ? ' / ' : ''}${TUNNEL_NAMES[l.kind].toUpperCase()} ${TUNNEL_ID_NAMES[l.kind]} ${l.id}`;
  }
  return s;
}
