/**
 * A table of connections keyed by their address/port 4-tuple, both directions
 * mapping to the same entry. Lookups hash the tuple in place and compare bytes,
 * so finding a connection allocates nothing (no string keys per packet).
 */
import { randomBytes } from 'node:crypto';
import { sameTunnel, tunnelAdmits, type TunnelPath } from '../decode/tunnel.js';

export interface FlowKeyed {
  readonly version: 4 | 6;
  /** Holds both addresses: endpoint A's (the first packet's source) at off, B's right after it. */
  readonly addrs: Uint8Array;
  readonly off: number;
  readonly portA: number;
  readonly portB: number;
  /** The tunnels it is carried in (null: none); the same tuple in another tunnel is another flow. */
  readonly tunnel: TunnelPath | null;
}

/**
 * FNV-1a offset basis, salted per process: a capture crafted so that many tuples
 * share one bucket (quadratic lookups) cannot know this process's salt.
 */
const SEEDED_BASIS = (0x811c9dc5 ^ randomBytes(4).readUInt32LE(0)) | 0;
const FNV_BASIS = 0x811c9dc5 | 0;

function hashEndpoint(addr: Uint8Array, off: number, len: number, port: number, basis: number): number {
  // FNV-1a over the address and port.
  let h = basis;
  for (let i = off; i < off + len; i++) h = Math.imul(h ^ addr[i]!, 0x01000193);
  h = Math.imul(h ^ (port >>> 8), 0x01000193);
  h = Math.imul(h ^ (port & 0xff), 0x01000193);
  // Kept within V8's small-integer range: a hash that fits stays unboxed (no allocation per packet).
  return h & 0x1fffffff;
}

/** Same value for (src, dst) and (dst, src): the sum of the two endpoint hashes. Salted: for this process's tables only. */
export function flowHash(addrLen: number, src: Uint8Array, sport: number, dst: Uint8Array, dport: number): number {
  return (hashEndpoint(src, 0, addrLen, sport, SEEDED_BASIS) + hashEndpoint(dst, 0, addrLen, dport, SEEDED_BASIS)) & 0x3fffffff;
}

/** flowHash of an entry's own tuple, plus its tunnel's hash (as tunnelFlowHash). */
export function keyedFlowHash(f: FlowKeyed): number {
  const len = f.version === 4 ? 4 : 16;
  const t = f.tunnel === null ? 0 : f.tunnel.hash;
  return (hashEndpoint(f.addrs, f.off, len, f.portA, SEEDED_BASIS) + hashEndpoint(f.addrs, f.off + len, len, f.portB, SEEDED_BASIS) + t) & 0x3fffffff;
}

/** A packet's flowHash with its tunnel's hash added (0 for none: the plain flowHash). */
export function tunnelFlowHash(tupleHash: number, tunnel: TunnelPath): number {
  return tunnel.depth === 0 ? tupleHash : (tupleHash + tunnel.hash) & 0x3fffffff;
}

/** flowHash without the salt: the same in every thread and process (sharding connections over threads). */
export function stableFlowHash(addrLen: number, src: Uint8Array, sport: number, dst: Uint8Array, dport: number): number {
  return (hashEndpoint(src, 0, addrLen, sport, FNV_BASIS) + hashEndpoint(dst, 0, addrLen, dport, FNV_BASIS)) & 0x3fffffff;
}

/** a[off, off + len) equals b[bOff, bOff + len). */
function sameAddr(a: Uint8Array, off: number, b: Uint8Array, bOff: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[off + i] !== b[bOff + i]) return false;
  return true;
}

/** 1 if the packet goes A->B, -1 if B->A, 0 if it is another flow. */
export function direction(f: FlowKeyed, version: 4 | 6, src: Uint8Array, sport: number, dst: Uint8Array, dport: number): 1 | -1 | 0 {
  return directionAt(f, version, src, 0, sport, dst, 0, dport);
}

/** direction() of addresses at offsets in their arrays. */
function directionAt(f: FlowKeyed, version: 4 | 6, src: Uint8Array, srcOff: number, sport: number, dst: Uint8Array, dstOff: number, dport: number): 1 | -1 | 0 {
  if (f.version !== version) return 0;
  const len = version === 4 ? 4 : 16;
  const a = f.addrs;
  const offA = f.off;
  const offB = offA + len;
  if (f.portA === sport && f.portB === dport && sameAddr(a, offA, src, srcOff, len) && sameAddr(a, offB, dst, dstOff, len)) return 1;
  if (f.portA === dport && f.portB === sport && sameAddr(a, offA, dst, dstOff, len) && sameAddr(a, offB, src, srcOff, len)) return -1;
  return 0;
}

/** 1 if `g` is the same flow as `f` in the same direction, -1 reversed, 0 another flow. */
export function sameFlow(f: FlowKeyed, g: FlowKeyed): 1 | -1 | 0 {
  const len = g.version === 4 ? 4 : 16;
  return directionAt(f, g.version, g.addrs, g.off, g.portA, g.addrs, g.off + len, g.portB);
}

export class FlowTable<T extends FlowKeyed> {
  /** Hash -> entry, or entries when hashes collide (rare). */
  private readonly map = new Map<number, T | T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Last lookup's direction: 1 when the packet went A->B, -1 for B->A. */
  lastDirection: 1 | -1 = 1;

  /** The entry of a packet's tuple, in its tunnels (`tunnel` null: entries are kept without their tunnels). */
  get(hash: number, version: 4 | 6, src: Uint8Array, sport: number, dst: Uint8Array, dport: number, tunnel: TunnelPath | null): T | undefined {
    const e = this.map.get(hash);
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) {
      const d = direction(e, version, src, sport, dst, dport);
      if (d === 0 || (tunnel !== null && !tunnelAdmits(e.tunnel, tunnel))) return undefined;
      this.lastDirection = d;
      return e;
    }
    // The same tuple in tunnels differing only in their ids (VNIs, TEIDs): a packet whose id
    // its direction has not shown yet goes to the entry whose other direction has that id,
    // before any entry would learn it.
    if (tunnel !== null && tunnel.depth !== 0) {
      for (const c of e) {
        const d = direction(c, version, src, sport, dst, dport);
        if (d !== 0 && tunnelAdmits(c.tunnel, tunnel, true)) {
          this.lastDirection = d;
          return c;
        }
      }
    }
    for (const c of e) {
      const d = direction(c, version, src, sport, dst, dport);
      if (d !== 0 && (tunnel === null || tunnelAdmits(c.tunnel, tunnel))) {
        this.lastDirection = d;
        return c;
      }
    }
    return undefined;
  }

  /** Insert `value`, replacing an entry for the same tuple (a new connection reusing it). */
  set(hash: number, value: T): void {
    const e = this.map.get(hash);
    const same = (c: T): boolean => sameFlow(c, value) !== 0 && sameTunnel(c.tunnel, value.tunnel);
    if (e === undefined) {
      this.map.set(hash, value);
      this.count++;
    } else if (!Array.isArray(e)) {
      if (same(e)) this.map.set(hash, value);
      else {
        this.map.set(hash, [e, value]);
        this.count++;
      }
    } else {
      const i = e.findIndex(same);
      if (i >= 0) e[i] = value;
      else {
        e.push(value);
        this.count++;
      }
    }
  }

  /** Remove `value` (found by its own tuple). */
  delete(hash: number, value: T): void {
    const e = this.map.get(hash);
    if (e === undefined) return;
    if (!Array.isArray(e)) {
      if (e === value) {
        this.map.delete(hash);
        this.count--;
      }
      return;
    }
    const i = e.indexOf(value);
    if (i < 0) return;
    e.splice(i, 1);
    this.count--;
    if (e.length === 1) this.map.set(hash, e[0]!);
  }

  *values(): IterableIterator<T> {
    for (const e of this.map.values()) {
      if (Array.isArray(e)) yield* e;
      else yield e;
    }
  }
}
