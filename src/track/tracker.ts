import type { IcmpErrorPacket, TcpPacket } from '../decode/packet.js';
import { MPTCP_FASTCLOSE, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/packet.js';
import { formatIp } from '../util/address.js';
import { tcpChecksumOk } from '../decode/checksum.js';
import { Connection } from './connection.js';
import type { Endpoint } from './endpoint.js';
import { FlowTable, direction, flowHash, keyedFlowHash } from './flow-table.js';
import { secondsBetween, type Moment } from './moment.js';
import { Now } from './now.js';
import { seqAdd, seqEq, seqGt, seqLt } from './seq.js';
import { onSegment } from './state-machine.js';
import { forgedRst } from './forged-rst.js';
import { isClosed, type TcpState } from './states.js';
import type { OffloadThread } from './offload-thread.js';
import { MostlyOrderedQueue } from '../util/min-heap.js';
import { StreamNumbers } from './wireshark-stream.js';

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

/** A timer on the capture's clock, keyed by when it started: a closed connection's wait to be forgotten. */
interface Timer {
  sec: number;
  nsec: number;
  c: Connection;
}

/** A TIME-WAIT timer: its endpoint, and the moment it entered TIME-WAIT (a later entry makes the timer stale). */
interface TimeWaitTimer extends Timer {
  e: Endpoint;
  since: Moment;
}

/**
 * Retransmission timers do not fire sooner than this: Linux's floor is 200 ms (a SYN's
 * first timeout 1 s, keep-alive probes 1 s apart at least), FreeBSD's 30 ms. Copies of
 * one segment on a mirror port or several VLANs come microseconds to a millisecond apart.
 */
const COPY_SECONDS = 0.005;

/** Segments of each side whose TTL is noted (and all its RSTs'). */
const TTL_SAMPLE = 16;
/** Segments of each side among which a few without payload have their checksum checked. */
const CHECKSUM_SAMPLE = 8;

const startedFirst = (a: Timer, b: Timer): boolean => a.sec < b.sec || (a.sec === b.sec && a.nsec < b.nsec);

/** Nothing left of the connection on this side (tick's test for a connection closed on both sides). */
function idle(s: TcpState): boolean {
  return s === 'CLOSED' || s === 'LISTEN';
}

/** The clock's detectors act on it: an endpoint in CLOSE-WAIT, or a zero window still advertised. */
function needsClock(c: Connection): boolean {
  return c.client.state === 'CLOSE-WAIT' || c.server.state === 'CLOSE-WAIT' || c.client.zeroWindowSince !== null || c.server.zeroWindowSince !== null;
}

/** Seconds the connection was silent before a RST from `from` now, or before `to`'s last segment that it answers. */
function idleBefore(c: Connection, from: Endpoint, to: Endpoint, now: Now): number {
  const gap = now.sec - c.lastSec + (now.nsec - c.lastNsec) / 1e9;
  if (to.packets === 0 || from.packets === 0) return gap;
  const before = to.lastSentSec - from.lastSentSec + (to.lastSentNsec - from.lastSentNsec) / 1e9;
  return gap > before ? gap : before;
}

/** What one segment did, for the detectors. Reused for every segment. */
export class SegmentInfo {
  conn: Connection = null as unknown as Connection;
  from: Endpoint = null as unknown as Endpoint;
  to: Endpoint = null as unknown as Endpoint;
  flags = 0;
  seq = 0;
  ack = 0;
  len = 0;
  /** States before the segment. */
  fromBefore: TcpState = 'CLOSED';
  toBefore: TcpState = 'CLOSED';
  /** The segment changed the state of either endpoint. */
  stateChanged = false;
  /** Payload or FIN sent again (below what the sender had already sent). */
  retransmission = false;
  /** A segment at SND.UNA - 1 with 0 or 1 byte: keep-alive, or window probe when the peer's window is 0. */
  keepAlive = false;
  windowProbe = false;
  /** tcp.analysis.* flags of the segment (SEQ_* bits of seq-analysis.ts), as tshark sets them. */
  analysis = 0;
  /** A RST its claimed sender did not send (forged-rst.ts). */
  forged = false;
  /** For a RST: the longer of the connection's silences before it and before the peer's last segment, which it answers; seconds. */
  idleBefore = 0;
  now: Now = null as unknown as Now;
}

/**
 * Packets -> connections. Finds each segment's connection (both directions share
 * one), runs both endpoints' state machines, keeps the facts detectors read, and
 * runs the kernel timers on the capture's clock.
 */
export class ConnectionTracker {
  private readonly table = new FlowTable<Connection>();
  /** The connection of the last segment: the table's entry for its tuple, until forget() removes it. */
  private last: Connection | null = null;
  /** Every connection, in order of first packet. */
  readonly connections: Connection[] = [];
  /** Connections not yet retired. */
  readonly active = new Set<Connection>();
  /**
   * The connections the clock's detectors may act on (needsClock), each once
   * (Connection.watched): added when a segment makes them need it, dropped at the
   * next tick when they no longer do. With tens of thousands of connections waiting
   * out TIME-WAIT, a tick that looked at every live one cost more than the packets.
   */
  private watched: Connection[] = [];
  /** Endpoints in TIME-WAIT, by when they entered it: their timers run out in that order. */
  private readonly timeWaits = new MostlyOrderedQueue<TimeWaitTimer>(startedFirst);
  /** Connections closed on both sides, by their last packet: forgotten in that order, closedLingerSeconds later. */
  private readonly lingering = new MostlyOrderedQueue<Timer>(startedFirst);
  /** Index of the capture being read, stamped on connections. */
  captureIndex = 0;
  readonly now = new Now();
  readonly segment = new SegmentInfo();
  /** ICMP errors that matched no connection. */
  unmatchedIcmp = 0;
  /** The last onTcp opened a new connection. */
  created = false;
  /** Told of each connection as it stops being tracked (live mode's counts). */
  onForget: ((c: Connection) => void) | null = null;
  /**
   * Position of the frame being processed in the whole input (set by the pipeline):
   * connections are numbered in this order, so shards can agree on one numbering.
   */
  ordinal = 0;
  /** Ids handed out: idFirst, idFirst + idStep, ... (a shard of N numbers its own residue class). */
  idFirst = 1;
  idStep = 1;
  private made = 0;
  /** Ordinal of every connection opened, when a shard must report them (null: not kept). */
  openedAt: number[] | null = null;
  /** Wireshark's tcp.stream numbers (a shard's are provisional: an index into streams.openedAt). */
  readonly streams = new StreamNumbers();
  /** Zeek's conn_state worked out on this thread, per connection (null), or on the offload thread (see settleOffloaded). */
  offload: OffloadThread | null = null;
  /**
   * Wireshark's sequence analysis per connection (SegmentInfo.analysis, the JSON's
   * tcp.analysis counters). Off when nothing reads it: a fifth of the work.
   */
  sequenceAnalysis = true;

  constructor(readonly options: TrackOptions = DEFAULT_TRACK_OPTIONS) {}

  onTcp(p: TcpPacket): Connection {
    const { ip, tcp, frame } = p;
    const len = ip.version === 4 ? 4 : 16;
    const now = this.now;
    if (frame.hasTime) now.set(frame.sec, frame.nsec, frame.index, this.captureIndex);
    else now.set(now.sec, now.nsec, frame.index, this.captureIndex);
    // Most segments belong to the connection of the one before (a burst of data and
    // its ACKs: four in five on the bench capture), found without hashing.
    let c: Connection | undefined;
    let fromA: boolean;
    /** The tuple's hash, -1 until needed (flowHash is never negative). */
    let h = -1;
    const last = this.last;
    const d = last === null ? 0 : direction(last, ip.version, ip.src, tcp.srcPort, ip.dst, tcp.dstPort);
    if (d !== 0) {
      c = last!;
      fromA = d === 1;
    } else {
      h = flowHash(len, ip.src, tcp.srcPort, ip.dst, tcp.dstPort);
      c = this.table.get(h, ip.version, ip.src, tcp.srcPort, ip.dst, tcp.dstPort);
      fromA = this.table.lastDirection === 1;
    }
    const synOnly = (tcp.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN;
    let previous: Connection | null = null;
    const old = c;
    const oldFromA = fromA;
    if (c !== undefined && c.client.state === 'CLOSED' && (c.server.state === 'CLOSED' || c.server.state === 'LISTEN')) {
      // Long after both sides closed, a segment on the tuple belongs to something new.
      if (secondsBetween({ sec: c.lastSec, nsec: c.lastNsec }, now) > this.options.closedLingerSeconds) {
        previous = c;
        c = undefined;
      }
    }
    if (c !== undefined && synOnly) {
      const sender = fromA === c.clientIsA ? c.client : c.server;
      // A SYN from an endpoint that is done with the old connection opens a new one
      // (a refused client retrying with the same ISN, as some stacks do, included).
      if (isClosed(sender.state)) {
        previous = c;
        c = undefined;
      }
    }
    this.created = c === undefined;
    if (c === undefined) {
      // A new tuple was hashed for the lookup already; a reused one found as the last segment's was not.
      if (h < 0) h = flowHash(len, ip.src, tcp.srcPort, ip.dst, tcp.dstPort);
      c = this.open(p, h);
      c.previous = previous;
      c.previousId = previous?.id ?? 0;
      fromA = true;
      if (old !== undefined) {
        // tshark's tcp.stream splits a tuple only at a SYN with a new ISN; elsewhere its
        // sequence analysis runs on, so ours continues on the same object to agree with it.
        const oldSender = oldFromA === old.clientIsA ? old.client : old.server;
        if (synOnly && !seqEq(tcp.seq, oldSender.isn)) c.analysis?.markTupleReused();
        else c.continueAnalysis(old, !oldFromA);
      }
      this.streams.inherit(c, old, p, h);
    }
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
    // Wireshark analyses first fragments only after reassembly; we do not reassemble, so skip them.
    const analysis = c.analysis;
    seg.analysis = ip.fragment || analysis === null ? 0 : analysis.analyzePacket(p, fromA !== c.analysisFlipped);
    // Checksums are not verified (as Wireshark by default, and Zeek with -C): captures
    // taken on a sending host with checksum offload would otherwise all look bad.
    const off = this.offload;
    // Sequence numbers as int32 (both take them so): a uint32 above 2^31 would be boxed to cross the call.
    if (off === null) c.zeek!.segment(fromA, tcp.flags, tcp.seq | 0, tcp.ack | 0, tcp.payloadLength, tcp.window, null, now.sec + now.nsec / 1e9, !tcp.truncated);
    else off.segment(c.id, fromA, tcp.flags, tcp.seq | 0, tcp.ack | 0, tcp.payloadLength, tcp.window, now.sec, now.nsec, !tcp.truncated);
    this.classify(from, to, p, seg);
    // Silent before a RST, or before the peer's segment it answers (the sender's own last packet is still its last here).
    seg.idleBefore = tcp.flags & TCP_RST && !this.created ? idleBefore(c, from, to, now) : 0;
    // A RST its claimed sender did not send leaves that sender's state alone (the detectors read seg.forged).
    const forged = (tcp.flags & TCP_RST) !== 0 && forgedRst(from, ip.ttl);
    seg.forged = forged;
    onSegment(from, to, tcp, now, forged);
    seg.stateChanged = from.state !== seg.fromBefore || to.state !== seg.toBefore;
    // Closed on both sides by this segment: thousands of such connections wait out TIME-WAIT together.
    if (seg.stateChanged && isClosed(from.state) && isClosed(to.state)) c.analysis?.compact();
    this.bookkeep(c, from, to, p);
    // A capture's clock can step back: a closed connection's wait then starts from the earlier time.
    const backwards = now.sec < c.lastSec || (now.sec === c.lastSec && now.nsec < c.lastNsec);

    c.lastCapture = this.captureIndex;
    c.lastFrame = frame.index;
    c.lastSec = now.sec;
    c.lastNsec = now.nsec;
    this.last = c;
    this.timers(c, from, to, seg, backwards);
    return c;
  }

  /** Start the timers the segment's state changes call for, and keep the clock's watch. */
  private timers(c: Connection, from: Endpoint, to: Endpoint, seg: SegmentInfo, backwards: boolean): void {
    const changed = seg.stateChanged;
    if (changed) {
      if (from.state === 'TIME-WAIT' && seg.fromBefore !== 'TIME-WAIT') this.startTimeWait(c, from);
      if (to.state === 'TIME-WAIT' && seg.toBefore !== 'TIME-WAIT') this.startTimeWait(c, to);
    }
    if ((changed || backwards) && idle(from.state) && idle(to.state) && (backwards || !(idle(seg.fromBefore) && idle(seg.toBefore)))) this.startLinger(c);
    // Only a state change (into CLOSE-WAIT) or the sender's window closing can make a connection need the clock.
    if (changed || from.zeroWindowSince !== null) this.watch(c);
  }

  private startTimeWait(c: Connection, e: Endpoint): void {
    this.timeWaits.push({ sec: e.since.sec, nsec: e.since.nsec, c, e, since: e.since });
  }

  /** Closed on both sides: forgotten closedLingerSeconds after its last packet (tick). */
  private startLinger(c: Connection): void {
    this.lingering.push({ sec: c.lastSec, nsec: c.lastNsec, c });
  }

  private watch(c: Connection): void {
    if (c.watched || !needsClock(c)) return;
    c.watched = true;
    this.watched.push(c);
  }

  /** The connections the clock's detectors act on, in the order they were opened (valid until the next call). */
  clockWatch(): readonly Connection[] {
    const w = this.watched;
    let n = 0;
    for (const c of w) {
      if (!c.retired && needsClock(c)) w[n++] = c;
      else c.watched = false;
    }
    w.length = n;
    if (n > 1) w.sort((a, b) => a.id - b.id);
    return w;
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
    off?.open(c.id, tcp.srcPort, tcp.dstPort);
    c.firstCapture = this.captureIndex;
    c.firstFrame = p.frame.index;
    this.openedAt?.push(this.ordinal);
    c.firstSec = this.now.sec;
    c.firstNsec = this.now.nsec;
    this.connections.push(c);
    this.table.set(h, c);
    this.active.add(c);
    return c;
  }

  /** Facts about the segment that need the sender's sequence state before it. */
  private classify(from: Endpoint, to: Endpoint, p: TcpPacket, seg: SegmentInfo): void {
    const tcp = p.tcp;
    const f = tcp.flags;
    seg.retransmission = false;
    seg.keepAlive = false;
    seg.windowProbe = false;
    if (f & (TCP_RST | TCP_SYN) || !from.seqKnown) return;
    const len = tcp.payloadLength;
    if (len <= 1 && !(f & TCP_FIN) && seqEq(tcp.seq, seqAdd(from.sndNxt, -1)) && to.ackKnown && seqEq(to.highestAck, from.sndNxt)) {
      // Probes re-send the last acknowledged byte (or nothing) to draw an ACK.
      if (to.window === 0) seg.windowProbe = true;
      else seg.keepAlive = true;
      return;
    }
    if ((len > 0 || f & TCP_FIN) && seqLt(tcp.seq, from.sndNxt)) seg.retransmission = true;
  }

  /** Sequence, window and traffic bookkeeping after the state machine ran. */
  private bookkeep(c: Connection, from: Endpoint, to: Endpoint, p: TcpPacket): void {
    const { tcp, ip } = p;
    const f = tcp.flags;
    const now = this.now;
    const seg = this.segment;
    from.packets++;
    from.payloadBytes += tcp.payloadLength;
    from.ipBytes += ip.headerLength + tcp.headerLength + tcp.payloadLength;
    from.flags |= f;
    from.lastSentSec = now.sec;
    from.lastSentNsec = now.nsec;
    from.lastSentFrame = now.frame;
    from.lastSentCapture = now.capture;
    from.lastFlags = f;
    if (f & TCP_RST) {
      from.noteTtl(ip.ttl, true);
      from.rstPackets++;
    } else {
      // A host's TTL is the same on every segment of a connection: its first ones give the range.
      if (from.packets <= TTL_SAMPLE) from.noteTtl(ip.ttl, false);
      if (from.rstAt !== null) from.sentAfterRst = true;
    }
    if (tcp.mptcpSubtypes & (1 << MPTCP_FASTCLOSE)) from.mptcpFastClose = true;
    // A few of its first short segments tell checksum offload (wrong sums on the capture host's own segments).
    if (from.packets <= CHECKSUM_SAMPLE && tcp.payloadLength === 0 && from.checksumsChecked < 3) {
      const ok = tcpChecksumOk(p.frame.buf, ip, tcp);
      if (ok !== null) from.noteChecksum(ok);
    }

    if (f & TCP_SYN) {
      from.synCount++;
      from.isn = tcp.seq | 0;
      from.isnKnown = true;
      if (!(f & TCP_ACK)) {
        from.firstSynAt ??= now.moment();
        from.lastSynAt = now.moment();
      } else from.synAckAt ??= now.moment();
      if (tcp.mss >= 0) from.mss = tcp.mss;
      // RFC 7323 2.2: scaling is in effect only when both SYNs carried the option.
      from.windowScale = tcp.windowScale;
      if (f & TCP_ACK) {
        const both = from.windowScale >= 0 && to.windowScale >= 0;
        if (!both) from.windowScale = to.windowScale = 0;
      }
    }
    if (!(f & TCP_RST)) {
      const end = seqAdd(tcp.seq, tcp.payloadLength + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0));
      if (!from.seqKnown || seqGt(end, from.sndNxt)) from.sndNxt = end;
      from.seqKnown = true;
    }
    if (f & TCP_ACK) {
      if (!from.ackKnown) {
        from.firstAck = from.highestAck = tcp.ack | 0;
        from.ackKnown = true;
      } else if (seqGt(tcp.ack, from.highestAck)) from.highestAck = tcp.ack | 0;
    }
    if (!(f & TCP_RST)) this.window(from, to, tcp.window, (f & TCP_SYN) !== 0, (f & TCP_FIN) !== 0);

    if (tcp.payloadLength > 0 && !(f & TCP_RST) && !seg.keepAlive && !seg.windowProbe) {
      from.firstDataAt ??= now.moment();
      from.lastDataSec = now.sec;
      from.lastDataNsec = now.nsec;
      from.lastDataFrame = now.frame;
      from.lastDataCapture = now.capture;
      if (to.finSeen && !seg.retransmission) {
        from.dataAfterPeerFin += tcp.payloadLength;
        from.dataAfterPeerFinAt ??= now.moment();
      }
    }

    // Half-open evidence: retransmissions and probes the peer never answers. Where the
    // answered run began, and how many probes it had, stay until the next run begins
    // (the half-open detector reads them when the answer comes).
    to.unanswered = 0;
    to.clearUnansweredTimes();
    if (seg.retransmission) from.retransmissions++;
    if (seg.keepAlive || seg.windowProbe) from.probes++;
    if (seg.windowProbe) to.zeroWindowProbesReceived++;
    if (this.extendsRun(from, seg, f, tcp.seq)) {
      if (from.unanswered === 0) {
        from.unansweredFirst = now.moment();
        from.unansweredProbes = 0;
      }
      from.unanswered++;
      if (seg.keepAlive || seg.windowProbe) from.unansweredProbes++;
      from.unansweredSeq = tcp.seq | 0;
      from.addUnansweredTime(secondsBetween(from.unansweredFirst!, now));
    }

    if (c.handshakeRtt < 0 && from === c.client && !(f & TCP_SYN) && f & TCP_ACK && c.client.firstSynAt && c.server.synAckAt) {
      c.handshakeRtt = secondsBetween(c.client.firstSynAt, now);
    }
  }

  /**
   * Does the segment add a try to its sender's unanswered run? A SYN or a probe does. A
   * retransmission does when it goes back to where the run's last counted one began,
   * or before: a timeout resends the oldest unacknowledged segment, again and again into
   * silence. Loss recovery resends several lost segments in one go, each further on,
   * between two of the peer's ACKs: that burst is one try. A copy of the last try is none.
   */
  private extendsRun(from: Endpoint, seg: SegmentInfo, flags: number, seq: number): boolean {
    const first = from.unanswered === 0;
    const again =
      seg.keepAlive || seg.windowProbe || (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN || (seg.retransmission && (first || !seqGt(seq, from.unansweredSeq)));
    return again && (first || !this.copyOfLast(from));
  }

  /**
   * Sent again within COPY_SECONDS of the run's last counted segment: no retransmission
   * timer fires that soon, so it is a copy the capture saw twice (a mirror port, a
   * bridge, several VLANs or netfilter hooks), not one more unanswered try. (Past
   * MAX_RETRANS_TIMES the latest time kept is older: a copy that late counts.)
   */
  private copyOfLast(e: Endpoint): boolean {
    const times = e.unansweredTimes;
    return secondsBetween(e.unansweredFirst!, this.now) - (times[times.length - 1] ?? 0) < COPY_SECONDS;
  }

  /** The window `from` advertises, and its zero-window episodes (it stopped reading). */
  private window(from: Endpoint, to: Endpoint, raw: number, syn: boolean, fin: boolean): void {
    from.window = raw;
    if (syn) return; // a SYN's window is unscaled and says nothing about reading
    const now = this.now;
    if (raw === 0 && !fin && to.state !== 'CLOSED') {
      if (from.zeroWindowSince === null) {
        from.zeroWindowSince = now.moment();
        from.zeroWindowEpisodes++;
      }
    } else if (raw > 0 && from.zeroWindowSince !== null) {
      this.closeZeroWindow(from);
    }
  }

  private closeZeroWindow(e: Endpoint): void {
    const d = secondsBetween(e.zeroWindowSince!, this.now);
    if (d > e.zeroWindowLongest) {
      e.zeroWindowLongest = d;
      e.zeroWindowLongestAt = e.zeroWindowSince;
    }
    e.zeroWindowSince = null;
  }

  /** Match an ICMP error to the connection whose segment it quotes. */
  onIcmp(p: IcmpErrorPacket): Connection | null {
    const { icmp, frame } = p;
    const q = icmp.quoted;
    if (!icmp.quotesTcp || !q.hasPorts) return null;
    if (frame.hasTime) this.now.set(frame.sec, frame.nsec, frame.index, this.captureIndex);
    const len = q.ip.version === 4 ? 4 : 16;
    const h = flowHash(len, q.ip.src, q.srcPort, q.ip.dst, q.dstPort);
    const c = this.table.get(h, q.ip.version, q.ip.src, q.srcPort, q.ip.dst, q.dstPort);
    if (c === undefined) {
      this.unmatchedIcmp++;
      return null;
    }
    // The quoted segment went from A to B when the lookup says so; the error returned to its sender.
    const senderIsA = this.table.lastDirection === 1;
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

  /**
   * Run the clock to `sec.nsec` (packet time for files, wall time live): end the
   * TIME-WAITs that ran out, and forget the connections closed on both sides for
   * longer than closedLingerSeconds. Only the timers due are looked at.
   */
  tick(sec: number, nsec: number): void {
    const tw = this.options.timeWaitSeconds;
    const at = { sec, nsec };
    // TIME-WAIT timers that ran out, first started first; a stale one (its endpoint
    // left TIME-WAIT, or its connection was retired) is dropped.
    for (let t = this.timeWaits.peek(); t !== undefined; t = this.timeWaits.peek()) {
      const e = t.e;
      if (t.c.retired || e.state !== 'TIME-WAIT' || e.since !== t.since) {
        this.timeWaits.pop();
        continue;
      }
      if (secondsBetween(e.since, at) < tw) break;
      this.timeWaits.pop();
      this.endTimeWait(e, tw);
      if (idle(t.c.client.state) && idle(t.c.server.state)) this.startLinger(t.c);
    }
    // Over, and past the time a late segment could still belong to it: summarise it.
    const linger = this.options.closedLingerSeconds;
    for (let t = this.lingering.peek(); t !== undefined; t = this.lingering.peek()) {
      const c = t.c;
      if (c.retired || !idle(c.client.state) || !idle(c.server.state)) {
        this.lingering.pop();
        continue;
      }
      if (sec - c.lastSec + (nsec - c.lastNsec) / 1e9 > linger) {
        this.lingering.pop();
        this.forget(c);
        continue;
      }
      // Not yet, and none after it is due either, unless a later packet moved it on: then it waits from that one.
      if (t.sec === c.lastSec && t.nsec === c.lastNsec) break;
      this.lingering.pop();
      this.startLinger(c);
    }
  }

  /** TIME-WAIT lasts `tw` seconds (TCP_TIMEWAIT_LEN on Linux): then the kernel frees the socket. */
  private endTimeWait(e: Endpoint, tw: number): void {
    e.enter('CLOSED', { sec: e.since.sec + tw, nsec: e.since.nsec, frame: 0, capture: e.since.capture }, `TIME-WAIT ended (${tw} s)`);
  }

  /** Stop tracking `c` (evicted): it is retired and later segments start a new connection. */
  forget(c: Connection): void {
    if (this.last === c) this.last = null;
    this.active.delete(c);
    this.table.delete(keyedFlowHash(c), c);
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
      for (const e of c.both) if (e.zeroWindowSince !== null) this.closeZeroWindow(e);
    }
  }

  get size(): number {
    return this.table.size;
  }

  /** Connections opened so far. */
  get opened(): number {
    return this.made;
  }
}
