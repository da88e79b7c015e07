import { TCP_ACK, TCP_RST, TCP_SYN, type TcpPacket } from '../decode/packet.js';
import type { Connection } from './connection.js';
import { tunnelAdmits, type TunnelPath } from '../decode/tunnel.js';
import { FlowTable, direction, flowHash, keyedFlowHash, tunnelFlowHash } from './flow-table.js';
import { secondsBetween } from './moment.js';
import type { Now } from './now.js';
import { holdsNothing, isClosed } from './states.js';

/**
 * Which connection a segment belongs to, and when a segment on a known tuple starts
 * a new one. Results are left in fields (reused: nothing allocated per packet).
 */
export class FlowLookup {
  private readonly table = new FlowTable<Connection>();
  /** The connection of the last segment: the table's entry for its tuple, until remove() takes it out. */
  private last: Connection | null = null;
  /** The connection found for the tuple, if any (reused or not). */
  found: Connection | undefined = undefined;
  /** The segment went from the found connection's A (its first packet's sender) to B. */
  fromA = true;
  /** The tuple's hash, -1 when not computed (flowHash is never negative). */
  hash = -1;
  /** The found connection is over for this segment: it opens a new one on the tuple. */
  reused = false;

  constructor(private readonly closedLingerSeconds: number) {}

  /** Look up the segment's tuple in its tunnels: sets found, fromA, hash and reused. */
  find(p: TcpPacket, now: Now): void {
    const { ip, tcp, tunnel } = p;
    const len = ip.version === 4 ? 4 : 16;
    // Most segments belong to the connection of the one before (a burst of data and
    // its ACKs), found without hashing; exactly, as another entry for the tuple in the
    // table may have the packet's tunnel id where this one would only learn it.
    const last = this.last;
    const d = last === null ? 0 : direction(last, ip.version, ip.src, tcp.srcPort, ip.dst, tcp.dstPort);
    let c: Connection | undefined;
    if (d !== 0 && tunnelAdmits(last!.tunnel, tunnel, true)) {
      c = last!;
      this.fromA = d === 1;
      this.hash = -1;
    } else {
      this.hash = tunnelFlowHash(flowHash(len, ip.src, tcp.srcPort, ip.dst, tcp.dstPort), tunnel);
      c = this.table.get(this.hash, ip.version, ip.src, tcp.srcPort, ip.dst, tcp.dstPort, tunnel);
      this.fromA = this.table.lastDirection === 1;
    }
    this.found = c;
    this.reused = c !== undefined && this.endedFor(c, tcp.flags, now);
  }

  /**
   * Long after both sides closed, a segment on the tuple belongs to something new; and a
   * SYN from an endpoint that is done with the old connection opens a new one (a refused
   * client retrying with the same ISN, as some stacks do, included).
   */
  private endedFor(c: Connection, flags: number, now: Now): boolean {
    if (c.client.state === 'CLOSED' && holdsNothing(c.server.state)) {
      if (secondsBetween({ sec: c.lastSec, nsec: c.lastNsec }, now) > this.closedLingerSeconds) return true;
    }
    if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) return false;
    const sender = this.fromA === c.clientIsA ? c.client : c.server;
    return isClosed(sender.state);
  }

  /** The tuple's hash with its tunnel's, computing it if the lookup did not need it. */
  hashOf(p: TcpPacket): number {
    if (this.hash < 0) {
      const { ip, tcp } = p;
      this.hash = tunnelFlowHash(flowHash(ip.version === 4 ? 4 : 16, ip.src, tcp.srcPort, ip.dst, tcp.dstPort), p.tunnel);
    }
    return this.hash;
  }

  /** The tuple's hash without its tunnel's (Wireshark's conversations know no tunnels). */
  tupleHashOf(p: TcpPacket): number {
    if (p.tunnel.depth === 0) return this.hashOf(p);
    const { ip, tcp } = p;
    return flowHash(ip.version === 4 ? 4 : 16, ip.src, tcp.srcPort, ip.dst, tcp.dstPort);
  }

  add(h: number, c: Connection): void {
    this.table.set(h, c);
  }

  /** The connection of the segment just processed: the next lookup tries it first. */
  remember(c: Connection): void {
    this.last = c;
  }

  remove(c: Connection): void {
    if (this.last === c) this.last = null;
    this.table.delete(keyedFlowHash(c), c);
  }

  /**
   * The connection whose tuple an ICMP error quotes, in the tunnels the error came in
   * (lastDirection then says which way the quoted segment went).
   */
  quoted(version: 4 | 6, src: Uint8Array, sport: number, dst: Uint8Array, dport: number, tunnel: TunnelPath): Connection | undefined {
    const h = tunnelFlowHash(flowHash(version === 4 ? 4 : 16, src, sport, dst, dport), tunnel);
    return this.table.get(h, version, src, sport, dst, dport, tunnel);
  }

  get quotedFromA(): boolean {
    return this.table.lastDirection === 1;
  }

  get size(): number {
    return this.table.size;
  }
}
