/**
 * The encapsulations a TCP segment arrived in, outermost first. The decoder owns one
 * TunnelPath and refills it per frame; a connection keeps a copy of its first
 * packet's (TunnelPath.copy), so that the same inner 4-tuple in two tunnels is two
 * connections.
 */
import type { IpHeader } from './packet.js';

export const TUNNEL_VXLAN = 1;
export const TUNNEL_GENEVE = 2;
export const TUNNEL_GRE = 3;
export const TUNNEL_ERSPAN = 4;
export const TUNNEL_IP_IN_IP = 5;
export const TUNNEL_GTP_U = 6;
export const TUNNEL_TEREDO = 7;
export const TUNNEL_AYIYA = 8;
export type TunnelKind =
  | typeof TUNNEL_VXLAN
  | typeof TUNNEL_GENEVE
  | typeof TUNNEL_GRE
  | typeof TUNNEL_ERSPAN
  | typeof TUNNEL_IP_IN_IP
  | typeof TUNNEL_GTP_U
  | typeof TUNNEL_TEREDO
  | typeof TUNNEL_AYIYA;

/** The names the JSON, the table and --decap use, by kind. */
export const TUNNEL_NAMES: Readonly<Record<TunnelKind, string>> = {
  [TUNNEL_VXLAN]: 'vxlan',
  [TUNNEL_GENEVE]: 'geneve',
  [TUNNEL_GRE]: 'gre',
  [TUNNEL_ERSPAN]: 'erspan',
  [TUNNEL_IP_IN_IP]: 'ip-in-ip',
  [TUNNEL_GTP_U]: 'gtp-u',
  [TUNNEL_TEREDO]: 'teredo',
  [TUNNEL_AYIYA]: 'ayiya',
};

/** What the id of each kind is, for the reports. */
export const TUNNEL_ID_NAMES: Readonly<Record<TunnelKind, string>> = {
  [TUNNEL_VXLAN]: 'VNI',
  [TUNNEL_GENEVE]: 'VNI',
  [TUNNEL_GRE]: 'key',
  [TUNNEL_ERSPAN]: 'session',
  [TUNNEL_IP_IN_IP]: '',
  [TUNNEL_GTP_U]: 'TEID',
  [TUNNEL_TEREDO]: '',
  [TUNNEL_AYIYA]: '',
};

/**
 * Encapsulations inside one another, at most. Each layer costs a header walk; a
 * crafted packet nesting without end must stop somewhere (Zeek's Tunnel::max_depth is 2).
 */
export const MAX_TUNNEL_DEPTH = 4;

/** An id not seen yet (ids themselves are 0 .. 2^32 - 1, or -1 for a kind without one). */
const UNSEEN = -2;

/** One encapsulation: its outer IP endpoints, its UDP ports if any, and its id. */
export class TunnelLayer {
  kind: TunnelKind = TUNNEL_IP_IN_IP;
  /** ERSPAN's type (1, 2 or 3); 0 for the other kinds. */
  variant = 0;
  /** The outer IP header's version and addresses (IPv4 uses the first 4 bytes). */
  version: 4 | 6 = 4;
  readonly src = new Uint8Array(16);
  readonly dst = new Uint8Array(16);
  /** The outer UDP ports; 0 when the encapsulation is not carried in UDP. */
  srcPort = 0;
  dstPort = 0;
  /** VNI, GRE key, ERSPAN session or TEID of packets going src -> dst; -1 when the kind or packet has none. */
  id = -1;
  /**
   * In a connection's copy, the id of packets going the other way (dst -> src), learned
   * from the first of them: GTP-U's TEIDs, and Geneve's or VXLAN's VNIs where a router
   * tunnels each direction in its own network's, differ by direction.
   */
  reverseId = UNSEEN;

  setFrom(o: TunnelLayer): void {
    this.kind = o.kind;
    this.variant = o.variant;
    this.version = o.version;
    this.src.set(o.src);
    this.dst.set(o.dst);
    this.srcPort = o.srcPort;
    this.dstPort = o.dstPort;
    this.id = o.id;
    this.reverseId = UNSEEN;
  }

  get addrLen(): number {
    return this.version === 4 ? 4 : 16;
  }

  /** Carried in UDP (VXLAN, Geneve, GTP-U, Teredo, AYIYA, GRE in UDP): it has ports. */
  get inUdp(): boolean {
    return this.srcPort !== 0 || this.dstPort !== 0;
  }

  /** Packets going dst -> src have been seen (reverseId is known). */
  get reverseSeen(): boolean {
    return this.reverseId !== UNSEEN;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `b` is `a`'s encapsulation between the same outer addresses: 1 in `a`'s direction, -1 the other way, 0 not. */
function orientation(a: TunnelLayer, b: TunnelLayer): 1 | -1 | 0 {
  if (a.kind !== b.kind || a.version !== b.version) return 0;
  const len = a.addrLen;
  if (sameBytes(a.src, b.src, len) && sameBytes(a.dst, b.dst, len)) return 1;
  if (sameBytes(a.src, b.dst, len) && sameBytes(a.dst, b.src, len)) return -1;
  return 0;
}

/** FNV-1a over one outer address. */
function hashAddress(a: Uint8Array, len: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  return h & 0x1fffffff;
}

export class TunnelPath {
  /** Layers in use, outermost first; 0: the packet was not tunnelled. */
  depth = 0;
  readonly layers: TunnelLayer[];
  /**
   * The same for both directions of a tunnel: kinds and outer addresses (not ids, which
   * may differ by direction, nor UDP ports, whose source is often per-flow entropy).
   * Added to the inner tuple's hash to find the connection (only when depth is not 0).
   */
  hash = 0;
  /**
   * An outer datagram was the first fragment of several: the inner packet goes on in
   * the next fragment, so its own length is more than this frame holds.
   */
  outerFragment = false;

  constructor(capacity = MAX_TUNNEL_DEPTH) {
    this.layers = [];
    for (let i = 0; i < capacity; i++) this.layers.push(new TunnelLayer());
  }

  /** The layer to fill next (depth < capacity checked by the caller), counted in by push. */
  get next(): TunnelLayer {
    return this.layers[this.depth]!;
  }

  get full(): boolean {
    return this.depth === this.layers.length;
  }

  reset(): void {
    this.depth = 0;
    this.hash = 0;
    this.outerFragment = false;
  }

  /** Count in the layer `next` was filled as, between the outer header `ip`'s addresses. */
  push(ip: IpHeader): void {
    const l = this.layers[this.depth++]!;
    l.version = ip.version;
    const len = l.addrLen;
    for (let i = 0; i < len; i++) {
      l.src[i] = ip.src[i]!;
      l.dst[i] = ip.dst[i]!;
    }
    // Symmetric in the two addresses: the sum of their hashes.
    const pair = (hashAddress(l.src, len) + hashAddress(l.dst, len)) & 0x1fffffff;
    this.hash = (Math.imul(this.hash ^ (l.kind * 0x9e3779b1), 0x01000193) + pair) & 0x1fffffff;
  }

  /** A copy of the layers in use, for a connection to keep. */
  copy(): TunnelPath {
    const t = new TunnelPath(this.depth);
    for (let i = 0; i < this.depth; i++) t.layers[i]!.setFrom(this.layers[i]!);
    t.depth = this.depth;
    t.hash = this.hash;
    return t;
  }

  /**
   * Does a packet's path `p` belong to this kept path? Same kinds and outer address
   * pairs, layer by layer, and in each the id of its outer direction; an id of a
   * direction not seen before is learned. `exact`: such an id must equal the seen
   * direction's (as a VNI usually does); asked first where kept paths differ only in
   * their ids, so that the first reply in one VNI is not learned by another VNI's path.
   */
  admits(p: TunnelPath, exact = false): boolean {
    if (p.depth !== this.depth || p.hash !== this.hash) return false;
    for (let i = 0; i < this.depth; i++) {
      const k = this.layers[i]!;
      const q = p.layers[i]!;
      const o = orientation(k, q);
      if (o === 0) return false;
      // The id this direction must carry: its own, or for a direction not seen yet any (exact: the other's).
      const want = o === 1 ? k.id : k.reverseId !== UNSEEN ? k.reverseId : exact ? k.id : q.id;
      if (q.id !== want) return false;
    }
    for (let i = 0; i < this.depth; i++) {
      const k = this.layers[i]!;
      const q = p.layers[i]!;
      if (k.reverseId === UNSEEN && orientation(k, q) === -1) k.reverseId = q.id;
    }
    return true;
  }
}

/** Two kept paths are one tunnel: kinds, outer address pairs and the ids of each direction agree. */
export function sameTunnel(a: TunnelPath | null, b: TunnelPath | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.depth !== b.depth || a.hash !== b.hash) return false;
  for (let i = 0; i < a.depth; i++) {
    const x = a.layers[i]!;
    const y = b.layers[i]!;
    const o = orientation(x, y);
    if (o === 0) return false;
    // Each direction's id, where both have seen it, agrees.
    const yForward = o === 1 ? y.id : y.reverseSeen ? y.reverseId : null;
    const yBack = o === 1 ? (y.reverseSeen ? y.reverseId : null) : y.id;
    if (yForward !== null && yForward !== x.id) return false;
    if (yBack !== null && x.reverseSeen && yBack !== x.reverseId) return false;
  }
  return true;
}

/** A kept path (null: not tunnelled) admits a packet's path (`exact`: see TunnelPath.admits). */
export function tunnelAdmits(kept: TunnelPath | null, p: TunnelPath, exact = false): boolean {
  return kept === null ? p.depth === 0 : kept.admits(p, exact);
}

/** UDP encapsulations, by destination port (or source port, for replies from the well-known one). */
export type UdpTunnel = typeof TUNNEL_VXLAN | typeof TUNNEL_GENEVE | typeof TUNNEL_GTP_U | typeof TUNNEL_TEREDO | typeof TUNNEL_AYIYA | typeof TUNNEL_GRE;

/** The kinds --decap udp:PORT=KIND takes, by name. */
export const UDP_TUNNEL_NAMES = {
  vxlan: TUNNEL_VXLAN,
  geneve: TUNNEL_GENEVE,
  'gtp-u': TUNNEL_GTP_U,
  teredo: TUNNEL_TEREDO,
  ayiya: TUNNEL_AYIYA,
  gre: TUNNEL_GRE,
} as const satisfies Readonly<Record<string, UdpTunnel>>;
export type UdpTunnelName = keyof typeof UDP_TUNNEL_NAMES;

/**
 * What to decapsulate: on or off, and which UDP port carries which encapsulation.
 * Plain data: it crosses to worker threads and into the JSON's options as it is.
 */
export interface DecapConfig {
  enabled: boolean;
  /** [port, encapsulation] pairs, the defaults first; a later pair for a port wins. */
  udpPorts: Array<[number, UdpTunnelName]>;
}

/**
 * The IANA ports, and Linux's VXLAN default (8472, the port the kernel used before
 * IANA assigned 4789, still the default of `ip link add type vxlan` without dstport
 * and of Flannel). GRE-in-UDP is RFC 8086's 4754; AYIYA 5072 as Zeek has it.
 */
export const DEFAULT_UDP_TUNNEL_PORTS: ReadonlyArray<readonly [number, UdpTunnelName]> = [
  [4789, 'vxlan'],
  [8472, 'vxlan'],
  [6081, 'geneve'],
  [2152, 'gtp-u'],
  [3544, 'teredo'],
  [5072, 'ayiya'],
  [4754, 'gre'],
];

export function defaultDecapConfig(): DecapConfig {
  return { enabled: true, udpPorts: DEFAULT_UDP_TUNNEL_PORTS.map(([p, k]) => [p, k]) };
}

function isUdpTunnelName(s: string): s is UdpTunnelName {
  return Object.hasOwn(UDP_TUNNEL_NAMES, s);
}

/** Parse one --decap value, "udp:PORT=KIND"; the reason when it is not one. */
export function parseDecapSpec(spec: string): { port: number; kind: UdpTunnelName } | string {
  const names = Object.keys(UDP_TUNNEL_NAMES).join(', ');
  const m = /^udp:(\d{1,5})=([a-z-]+)$/.exec(spec.trim().toLowerCase());
  if (m === null) return `expected udp:PORT=KIND, e.g. udp:4790=vxlan (KIND: ${names})`;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return 'the port must be from 1 to 65535';
  const kind = m[2]!;
  if (!isUdpTunnelName(kind)) return `unknown encapsulation "${kind}" (one of ${names})`;
  return { port, kind };
}
