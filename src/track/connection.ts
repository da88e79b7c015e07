import type { FlowKeyed } from './flow-table.js';

/** Traffic one endpoint sent. */
export class DirectionStats {
  packets = 0;
  /** TCP payload bytes (from the IP lengths, so snaplen does not shrink them). */
  payloadBytes = 0;
  /** IP bytes: headers and payload, as the IP header states them. */
  ipBytes = 0;
  /** OR of every TCP flag this endpoint sent (TCP_* bits). */
  flags = 0;
  /** Sequence number of this endpoint's SYN, -1 if none seen. */
  isn = -1;
  finSeen = false;
  rstSeen = false;
}

/**
 * One TCP connection: a 4-tuple between a SYN (or the first packet seen) and the
 * next SYN that reuses the tuple after the connection ended.
 */
export class Connection implements FlowKeyed {
  /** 1-based, in order of first packet. */
  id: number;
  readonly version: 4 | 6;
  readonly addrA: Uint8Array;
  readonly portA: number;
  readonly addrB: Uint8Array;
  readonly portB: number;
  /** True when A (the first packet's sender) is the client. */
  clientIsA = true;
  /** No handshake start was seen: the capture began mid-connection, roles are guessed. */
  partial = false;
  readonly fromA = new DirectionStats();
  readonly fromB = new DirectionStats();
  /** Which capture (index in the list given) and frame the connection was first and last seen in. */
  firstCapture = 0;
  firstFrame = 0;
  lastCapture = 0;
  lastFrame = 0;
  firstSec = 0;
  firstNsec = 0;
  lastSec = 0;
  lastNsec = 0;

  constructor(id: number, version: 4 | 6, src: Uint8Array, sport: number, dst: Uint8Array, dport: number) {
    this.id = id;
    this.version = version;
    const len = version === 4 ? 4 : 16;
    this.addrA = src.slice(0, len);
    this.portA = sport;
    this.addrB = dst.slice(0, len);
    this.portB = dport;
  }

  get fromClient(): DirectionStats {
    return this.clientIsA ? this.fromA : this.fromB;
  }

  get fromServer(): DirectionStats {
    return this.clientIsA ? this.fromB : this.fromA;
  }

  /** The connection has ended: a RST, or a FIN from each side. */
  get ended(): boolean {
    return this.fromA.rstSeen || this.fromB.rstSeen || (this.fromA.finSeen && this.fromB.finSeen);
  }
}
