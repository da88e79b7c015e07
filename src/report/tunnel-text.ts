import { TUNNEL_ERSPAN, TUNNEL_GTP_U, TUNNEL_ID_NAMES, TUNNEL_NAMES, type TunnelLayer, type TunnelPath } from '../decode/tunnel.js';
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

/** The marker a tunnelled connection's number carries in tables. */
export const TUNNEL_MARK = '~';
