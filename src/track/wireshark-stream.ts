import type { TcpPacket } from '../decode/packet.js';
import { TCP_ACK, TCP_SYN } from '../decode/packet.js';
import type { Connection } from './connection.js';
import { FlowTable, direction, keyedFlowHash, sameFlow, type FlowKeyed } from './flow-table.js';

/**
 * Wireshark's tcp.stream numbers (as 4.0 counts them, checked against tshark on the
 * corpus: test/tcp-stream.test.ts). A conversation is an address/port tuple, numbered
 * from 0 in order of first packet, and never forgotten. It splits only at a segment
 * with SYN and without ACK whose sequence number differs from its sender's base: a
 * direction's base is its first segment's sequence number (less one unless a SYN), or
 * else the other side's first acknowledgment less one; a SYN-ACK with another
 * sequence number moves it. A connection state in between changes nothing.
 *
 * The state lives in the Connection (stream, wsBaseA/B, wsBases). A tuple the tracker
 * forgets keeps it here, bounded: a tuple older than RETIRED_KEPT forgotten ones that
 * comes back is numbered anew where Wireshark would continue it.
 */

/** Bits of Connection.wsBases. */
export const BASE_A = 1;
export const BASE_B = 2;

/** A conversation's state, as a Connection and a forgotten tuple both hold it. */
interface StreamState {
  stream: number;
  wsBaseA: number;
  wsBaseB: number;
  wsBases: number;
}

/** A forgotten tuple's conversation. */
class RetiredStream implements FlowKeyed, StreamState {
  readonly addrs: Uint8Array;
  readonly off = 0;
  readonly version: 4 | 6;
  readonly portA: number;
  readonly portB: number;
  /** Kept without the tunnel: Wireshark's conversations know none. */
  readonly tunnel = null;
  readonly stream: number;
  readonly wsBaseA: number;
  readonly wsBaseB: number;
  readonly wsBases: number;
  constructor(c: Connection) {
    const len = c.version === 4 ? 4 : 16;
    this.version = c.version;
    this.addrs = c.addrs.slice(c.off, c.off + 2 * len);
    this.portA = c.portA;
    this.portB = c.portB;
    this.stream = c.stream;
    this.wsBaseA = c.wsBaseA;
    this.wsBaseB = c.wsBaseB;
    this.wsBases = c.wsBases;
  }
}

/** `c` continues `from`'s conversation; `flip`: its A is `from`'s B. */
function take(c: Connection, from: StreamState, flip: boolean): void {
  c.stream = from.stream;
  c.wsBaseA = flip ? from.wsBaseB : from.wsBaseA;
  c.wsBaseB = flip ? from.wsBaseA : from.wsBaseB;
  c.wsBases = flip ? swap(from.wsBases) : from.wsBases;
}

/** Forgotten tuples whose conversation is kept. */
export const RETIRED_KEPT = 65_536;

export class StreamNumbers {
  /** Numbers handed out. */
  next = 0;
  /** In a shard, the ordinal of the packet that began each stream (the merge numbers them). */
  openedAt: number[] | null = null;
  private readonly retired = new FlowTable<RetiredStream>();
  /** Retired in order; null once let go. */
  private readonly order: (RetiredStream | null)[] = [];
  private head = 0;

  /**
   * A new Connection on `p`'s tuple takes over its conversation: from `old`, the
   * connection on the tuple before it, or from a forgotten one (`h`: the tuple's flowHash, without its tunnel's).
   */
  inherit(c: Connection, old: Connection | undefined, p: TcpPacket, h: number): void {
    if (old !== undefined) {
      take(c, old, sameFlow(old, c) === -1);
      return;
    }
    if (this.retired.size === 0) return;
    const { ip, tcp } = p;
    const r = this.retired.get(h, ip.version, ip.src, tcp.srcPort, ip.dst, tcp.dstPort, null);
    if (r !== undefined) take(c, r, direction(r, ip.version, ip.src, tcp.srcPort, ip.dst, tcp.dstPort) === -1);
  }

  /** A segment of `c` (`fromA`: sent by its A): a new stream where Wireshark starts one, and the bases. */
  segment(c: Connection, fromA: boolean, flags: number, seq: number, ack: number, ordinal: number): void {
    const mine = fromA ? BASE_A : BASE_B;
    const theirs = fromA ? BASE_B : BASE_A;
    const syn = flags & (TCP_SYN | TCP_ACK);
    if (c.stream < 0 || (syn === TCP_SYN && c.wsBases & mine && (fromA ? c.wsBaseA : c.wsBaseB) !== seq)) {
      c.stream = this.next++;
      c.wsBases = 0;
      this.openedAt?.push(ordinal);
    }
    if (!(c.wsBases & mine) || syn === (TCP_SYN | TCP_ACK)) {
      const base = flags & TCP_SYN ? seq : (seq - 1) >>> 0;
      if (fromA) c.wsBaseA = base;
      else c.wsBaseB = base;
      c.wsBases |= mine;
    }
    if (!(c.wsBases & theirs) && flags & TCP_ACK) {
      const base = (ack - 1) >>> 0;
      if (fromA) c.wsBaseB = base;
      else c.wsBaseA = base;
      c.wsBases |= theirs;
    }
  }

  /** The tracker forgets `c`: keep its conversation for a later packet on the tuple. */
  retire(c: Connection): void {
    if (c.stream < 0) return;
    const r = new RetiredStream(c);
    this.retired.set(keyedFlowHash(r), r);
    this.order.push(r);
    if (this.order.length - this.head > RETIRED_KEPT) {
      const oldest = this.order[this.head]!;
      this.order[this.head++] = null;
      this.retired.delete(keyedFlowHash(oldest), oldest);
      // Compact the queue once half of it is spent.
      if (this.head > RETIRED_KEPT) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
    }
  }
}

function swap(bases: number): number {
  return ((bases & BASE_A) << 1) | ((bases & BASE_B) >> 1);
}
