import type { TcpPacket } from '../decode/packet.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/packet.js';
import { Connection } from './connection.js';
import { FlowTable, flowHash } from './flow-table.js';

/**
 * Packets -> connections. Finds each TCP segment's connection (both directions
 * share one), starts a new one when a SYN reuses the tuple of a connection that
 * has ended, and keeps per-direction counts.
 */
export class ConnectionTracker {
  private readonly table = new FlowTable<Connection>();
  /** Every connection, in order of first packet. */
  readonly connections: Connection[] = [];
  /** Index of the capture being read, stamped on connections. */
  captureIndex = 0;

  onTcp(p: TcpPacket): Connection {
    const { ip, tcp, frame } = p;
    const len = ip.version === 4 ? 4 : 16;
    const h = flowHash(len, ip.src, tcp.srcPort, ip.dst, tcp.dstPort);
    let c = this.table.get(h, ip.version, ip.src, tcp.srcPort, ip.dst, tcp.dstPort);
    let fromA = this.table.lastDirection === 1;
    const syn = (tcp.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (c !== undefined && syn && c.ended) {
      // A fresh SYN on an ended connection's tuple opens a new connection, unless it
      // is a retransmission of the SYN that opened this one.
      const own = fromA ? c.fromA : c.fromB;
      if (own.isn !== tcp.seq) c = undefined;
    }
    if (c === undefined) {
      c = new Connection(this.connections.length + 1, ip.version, ip.src, tcp.srcPort, ip.dst, tcp.dstPort);
      fromA = true;
      this.assignRoles(c, p);
      c.firstCapture = this.captureIndex;
      c.firstFrame = frame.index;
      c.firstSec = frame.sec;
      c.firstNsec = frame.nsec;
      this.connections.push(c);
      this.table.set(h, c);
    }
    const d = fromA ? c.fromA : c.fromB;
    d.packets++;
    d.payloadBytes += tcp.payloadLength;
    d.ipBytes += ip.headerLength + tcp.headerLength + tcp.payloadLength;
    d.flags |= tcp.flags;
    if (tcp.flags & TCP_SYN && d.isn < 0) d.isn = tcp.seq;
    if (tcp.flags & TCP_FIN) d.finSeen = true;
    if (tcp.flags & TCP_RST) d.rstSeen = true;
    c.lastCapture = this.captureIndex;
    c.lastFrame = frame.index;
    if (frame.hasTime) {
      c.lastSec = frame.sec;
      c.lastNsec = frame.nsec;
    }
    return c;
  }

  /**
   * Client = the side that sent the first SYN. Without one the capture began
   * mid-connection: a SYN-ACK names the server; failing that, the lower port is
   * taken to be the server's (the usual well-known/ephemeral split).
   */
  private assignRoles(c: Connection, p: TcpPacket): void {
    const f = p.tcp.flags;
    if ((f & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      c.clientIsA = true;
      return;
    }
    c.partial = true;
    if ((f & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) c.clientIsA = false;
    else c.clientIsA = p.tcp.dstPort <= p.tcp.srcPort;
  }

  get size(): number {
    return this.table.size;
  }
}
