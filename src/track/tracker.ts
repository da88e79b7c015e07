import type { IcmpErrorPacket, TcpPacket } from '../decode/packet.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/packet.js';
import { formatIp } from '../util/address.js';
import { Connection } from './connection.js';
import type { Endpoint } from './endpoint.js';
import { FlowLookup } from './flow-lookup.js';
import { KernelTimers } from './kernel-timers.js';
import { Now } from './now.js';
import { seqEq } from './seq.js';
import { onSegment } from './state-machine.js';
import { forgedRst } from './forged-rst.js';
import { bookkeep, classify, closeZeroWindow } from './segment-facts.js';
import { SegmentInfo } from './segment-info.js';
import { isClosed, type TcpState } from './states.js';
import type { OffloadThread } from './offload-thread.js';
import { StreamNumbers } from './wireshark-stream.js';
import { isEarlier } from '../util/time.js';

export { SegmentInfo } from './segment-info.js';

/** Tracker settings (kernel timers the capture cannot show). */
export interface TrackOptions {
  /** How long TIME-WAIT lasts: 60 s on Linux (TCP_TIMEWAIT_LEN). */
  timeWaitSeconds: number;
  /**
   * A connection both of whose sides are CLOSED is forgotten this long after its
   * last packet: a later segment on the tuple starts a new (partial) connection.
   * 5 s, as Zeek's tcp_close_delay and tcp_reset_delay.
   */
  closedLingerSeconds: number;
}

export const DEFAULT_TRACK_OPTIONS: TrackOptions = { timeWaitSeconds: 60, closedLingerSeconds: 5 };

/** How a tracker is set up: everything but the options has a default for a plain single-threaded run. */
export interface TrackerSetup {
  options?: TrackOptions;
  /** Ids handed out: idFirst, idFirst + idStep, ... (a shard of N numbers its own residue class). */
  idFirst?: number;
  idStep?: number;
  /** Keep the ordinal of every connection opened, and of every tcp.stream (a shard reports them for the merge). */
  keepOrdinals?: boolean;
  /** Zeek's conn_state worked out on this thread (null), or on the offload thread (see settleOffloaded). */
  offload?: OffloadThread | null;
  /** Wireshark's sequence analysis per connection (SegmentInfo.analysis, the JSON's tcp.analysis counters): off when nothing reads it. */
  sequenceAnalysis?: boolean;
  /** The clock's detectors act on the connection (declared by each detector): it is watched while this holds. */
  needsClock?: (c: Connection) => boolean;
  /** Told of each connection as it stops being tracked (live mode's counts). */
  onForget?: ((c: Connection) => void) | null;
}

/** With no detectors to say otherwise, no connection needs the clock. */
const NEVER = (): boolean => false;

/** Seconds the connection was silent before a RST from `from` now, or before `to`'s last segment that it answers. */
function idleBefore(c: Connection, from: Endpoint, to: Endpoint, now: Now): number {
  const gap = now.sec - c.lastSec + (now.nsec - c.lastNsec) / 1e9;
  if (to.packets === 0 || from.packets === 0) return gap;
  const before = to.lastSentSec - from.lastSentSec + (to.lastSentNsec - from.lastSentNsec) / 1e9;
  return gap > before ? gap : before;
}

/**
 * Packets -> connections. Finds each segment's connection (flow-lookup.ts), runs both
 * endpoints' state machines (state-machine.ts), keeps the facts detectors read
 * (segment-facts.ts), and runs the kernel timers on the capture's clock (kernel-timers.ts).
 */
export class ConnectionTracker {
  private readonly flows: FlowLookup;
  private readonly timers: KernelTimers;
  /** Every connection, in order of first packet. */
  readonly connections: Connection[] = [];
  /** Connections not yet retired. */
  readonly active = new Set<Connection>();
  /** Index of the capture being read, stamped on connections. */
  captureIndex = 0;
  readonly now = new Now();
  readonly segment = new SegmentInfo();
  /** ICMP errors that matched no connection. */
  unmatchedIcmp = 0;
  /**
   * Position of the frame being processed in the whole input (set by the pipeline):
   * connections are numbered in this order, so shards can agree on one numbering.
   */
  ordinal = 0;
  private readonly idFirst: number;
  private readonly idStep: number;
  private made = 0;
  /** Ordinal of every connection opened, when a shard must report them (null: not kept). */
  readonly openedAt: number[] | null;
  /** Wireshark's tcp.stream numbers (a shard's are provisional: an index into streams.openedAt). */
  readonly streams = new StreamNumbers();
  /** Null once settleOffloaded has taken the verdicts back. */
  private offload: OffloadThread | null;
  private readonly sequenceAnalysis: boolean;
  private readonly onForget: ((c: Connection) => void) | null;
  readonly options: TrackOptions;

  constructor(setup: TrackerSetup = {}) {
    this.options = setup.options ?? DEFAULT_TRACK_OPTIONS;
    this.idFirst = setup.idFirst ?? 1;
    this.idStep = setup.idStep ?? 1;
    this.openedAt = setup.keepOrdinals ? [] : null;
    if (setup.keepOrdinals) this.streams.openedAt = [];
    this.offload = setup.offload ?? null;
    this.sequenceAnalysis = setup.sequenceAnalysis ?? true;
    this.onForget = setup.onForget ?? null;
    this.flows = new FlowLookup(this.options.closedLingerSeconds);
    this.timers = new KernelTimers(this.options.timeWaitSeconds, this.options.closedLingerSeconds, setup.needsClock ?? NEVER, this);
  }

  /** Track one segment: what it did is in the returned SegmentInfo (reused for every segment; `created` when it opened a connection). */
  onTcp(p: TcpPacket): SegmentInfo {
    const { ip, tcp, frame } = p;
    const now = this.now;
    if (frame.hasTime) now.set(frame.sec, frame.nsec, frame.index, this.captureIndex);
    else now.set(now.sec, now.nsec, frame.index, this.captureIndex);
    const flows = this.flows;
    flows.find(p, now);
    const old = flows.found;
    const oldFromA = flows.fromA;
    const created = old === undefined || flows.reused;
    let c: Connection;
    let fromA = oldFromA;
    if (created) {
      c = this.open(p, flows.hashOf(p));
      const previous = old ?? null;
      c.previous = previous;
      c.previousId = previous?.id ?? 0;
      fromA = true;
      if (old !== undefined) {
        // tshark's tcp.stream splits a tuple only at a SYN with a new ISN; elsewhere its
        // sequence analysis runs on, so ours continues on the same object to agree with it.
        const oldSender = oldFromA === old.clientIsA ? old.client : old.server;
        if ((tcp.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN && !seqEq(tcp.seq, oldSender.isn)) c.analysis?.markTupleReused();
        else c.continueAnalysis(old, !oldFromA);
      }
      this.streams.inherit(c, old, p, flows.tupleHashOf(p));
    } else c = old!;
    this.streams.segment(c, fromA, tcp.flags, tcp.seq, tcp.ack, this.ordinal);
    const clientSent = fromA === c.clientIsA;
    const from = clientSent ? c.client : c.server;
    const to = clientSent ? c.server : c.client;
    const seg = this.segment;
    seg.conn = c;
    seg.from = from;
    seg.to = to;
    seg.flags = tcp.flags;
    seg.seq = tcp.seq;
    seg.ack = tcp.ack;
    seg.len = tcp.payloadLength;
    seg.fromBefore = from.state;
    seg.toBefore = to.state;
    seg.now = now;
    seg.created = created;
    // Wireshark analyses first fragments only after reassembly; we do not reassemble, so skip them.
    const analysis = c.analysis;
    seg.analysis = ip.fragment || analysis === null ? 0 : analysis.analyzePacket(p, fromA !== c.analysisFlipped);
    // Checksums are not verified (as Wireshark by default, and Zeek with -C): captures
    // taken on a sending host with checksum offload would otherwise all look bad.
    const off = this.offload;
    // Sequence numbers as int32 (both take them so): a uint32 above 2^31 would be boxed to cross the call.
    if (off === null) c.zeek!.segment(fromA, tcp.flags, tcp.seq | 0, tcp.ack | 0, tcp.payloadLength, tcp.window, null, now.sec + now.nsec / 1e9, !tcp.truncated);
    else off.segment(c.id, fromA, tcp.flags, tcp.seq | 0, tcp.ack | 0, tcp.payloadLength, tcp.window, now.sec, now.nsec, !tcp.truncated);
    classify(from, to, p, seg);
    // Silent before a RST, or before the peer's segment it answers (the sender's own last packet is still its last here).
    seg.idleBefore = tcp.flags & TCP_RST && !created ? idleBefore(c, from, to, now) : 0;
    // A RST its claimed sender did not send leaves that sender's state alone (the detectors read seg.forged).
    const forged = (tcp.flags & TCP_RST) !== 0 && forgedRst(from, ip.ttl);
    seg.forged = forged;
    onSegment(from, to, tcp, now, forged);
    seg.stateChanged = from.state !== seg.fromBefore || to.state !== seg.toBefore;
    // Closed on both sides by this segment: thousands of such connections wait out TIME-WAIT together.
    if (seg.stateChanged && isClosed(from.state) && isClosed(to.state)) c.analysis?.compact();
    bookkeep(c, from, to, p, seg, now);
    // A capture's clock can step back: a closed connection's wait then starts from the earlier time.
    const backwards = isEarlier(now.sec, now.nsec, c.lastSec, c.lastNsec);

    c.lastCapture = this.captureIndex;
    c.lastFrame = frame.index;
    c.lastSec = now.sec;
    c.lastNsec = now.nsec;
    flows.remember(c);
    this.timers.onSegment(c, seg, backwards);
    return seg;
  }

  /** The connections the clock's detectors act on, in the order they were opened (valid until the next call). */
  clockWatch(): readonly Connection[] {
    return this.timers.clockWatch();
  }

  /** Start a connection with the roles and initial states the first segment implies. */
  private open(p: TcpPacket, h: number): Connection {
    const { ip, tcp } = p;
    const f = tcp.flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN);
    let clientIsA: boolean;
    let partial: boolean;
    let initial: { client: TcpState; server: TcpState };
    if (f === TCP_SYN) {
      // The usual start: client CLOSED about to send SYN, server listening.
      clientIsA = true;
      partial = false;
      initial = { client: 'CLOSED', server: 'LISTEN' };
    } else if ((f & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) {
      // We missed the SYN: the SYN-ACK's sender is the server.
      clientIsA = false;
      partial = true;
      initial = { client: 'SYN-SENT', server: 'LISTEN' };
    } else {
      // Mid-stream: the lower port is taken to be the server's; both were established.
      clientIsA = tcp.dstPort <= tcp.srcPort;
      partial = true;
      initial = { client: 'ESTABLISHED', server: 'ESTABLISHED' };
    }
    const at = this.now.moment();
    // Ids count every connection opened, listed or not (the list may be trimmed).
    const off = this.offload;
    const c = new Connection(this.idFirst + this.idStep * this.made++, ip.version, ip.src, tcp.srcPort, ip.dst, tcp.dstPort, clientIsA, partial, initial, at, off === null, this.sequenceAnalysis);
    if (p.tunnel.depth !== 0) c.tunnel = p.tunnel.copy();
    off?.open(c.id, tcp.srcPort, tcp.dstPort);
    c.firstCapture = this.captureIndex;
    c.firstFrame = p.frame.index;
    this.openedAt?.push(this.ordinal);
    c.firstSec = this.now.sec;
    c.firstNsec = this.now.nsec;
    this.connections.push(c);
    this.flows.add(h, c);
    this.active.add(c);
    return c;
  }

  /** Match an ICMP error to the connection whose segment it quotes. */
  onIcmp(p: IcmpErrorPacket): Connection | null {
    const { icmp, frame } = p;
    const q = icmp.quoted;
    if (!icmp.quotesTcp || !q.hasPorts) return null;
    if (frame.hasTime) this.now.set(frame.sec, frame.nsec, frame.index, this.captureIndex);
    const c = this.flows.quoted(q.ip.version, q.ip.src, q.srcPort, q.ip.dst, q.dstPort, p.tunnel);
    if (c === undefined) {
      this.unmatchedIcmp++;
      return null;
    }
    // The quoted segment went from A to B when the lookup says so; the error returned to its sender.
    const senderIsA = this.flows.quotedFromA;
    c.addIcmp({
      at: this.now.moment(),
      version: icmp.version,
      type: icmp.type,
      code: icmp.code,
      errorClass: icmp.errorClass,
      toward: senderIsA === c.clientIsA ? 'client' : 'server',
      reporter: formatIp(p.ip.version, p.ip.src),
      mtu: icmp.mtu,
    });
    return c;
  }

  /** Run the kernel timers to `sec.nsec` (packet time for files, wall time live). */
  tick(sec: number, nsec: number): void {
    this.timers.tick(sec, nsec);
  }

  /** Stop tracking `c` (evicted): it is retired and later segments start a new connection. */
  forget(c: Connection): void {
    this.flows.remove(c);
    this.active.delete(c);
    this.streams.retire(c);
    c.retire();
    this.offload?.retire(c.id);
    this.onForget?.(c);
  }

  /**
   * A retired connection leaves the list: count it by its conn_state in `into`. With
   * the offload thread the count is taken there, and added by settleOffloaded.
   */
  unlist(c: Connection, into: Map<string, number>): void {
    if (this.offload !== null) this.offload.unlist(c.id);
    else into.set(c.connState, (into.get(c.connState) ?? 0) + 1);
  }

  /** Input has ended: the offload thread may work out its verdicts meanwhile. */
  endOffload(): void {
    this.offload?.end();
  }

  /** End of input with the offload thread: every listed connection gets its verdict, `unlisted` the counts. */
  settleOffloaded(unlisted: Map<string, number>): void {
    const off = this.offload;
    if (off === null) return;
    this.offload = null;
    const v = off.collect();
    const at = new Map<number, number>();
    for (let i = 0; i < v.ids.length; i++) at.set(v.ids[i]!, i);
    // The thread's strings arrive as a copy each; a few dozen distinct ones are kept.
    const distinct = new Map<string, string>();
    const one = (s: string): string => {
      const seen = distinct.get(s);
      if (seen !== undefined) return seen;
      distinct.set(s, s);
      return s;
    };
    for (const c of this.connections) {
      const i = at.get(c.id);
      if (i === undefined) throw new Error(`internal error: no Zeek verdict for connection ${c.id}`);
      c.settleZeek(one(v.connStates[i]!), one(v.histories[i]!));
    }
    for (const [state, n] of v.unlisted) unlisted.set(state, (unlisted.get(state) ?? 0) + n);
  }

  /** Close open zero-window episodes at the end of input, for their durations. */
  finish(): void {
    for (const c of this.active) {
      for (const e of c.both) if (e.zeroWindowSince !== null) closeZeroWindow(e, this.now);
    }
  }

  get size(): number {
    return this.flows.size;
  }

  /** Connections opened so far. */
  get opened(): number {
    return this.made;
  }
}
