import type { TcpHeader, TcpPacket } from '../decode/packet.js';
import { MPTCP_FASTCLOSE, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/packet.js';
import { tcpChecksumOk } from '../decode/checksum.js';
import type { Connection } from './connection.js';
import type { Endpoint } from './endpoint.js';
import { secondsBetween } from './moment.js';
import type { Now } from './now.js';
import { seqAdd, seqEq, seqGt, seqLt } from './seq.js';
import type { SegmentInfo } from './segment-info.js';

/**
 * The facts detectors read beside the states: what each side sent (sequence space,
 * windows, TTLs, checksums), retransmissions and probes, unanswered runs and
 * zero-window episodes. Plain functions over the endpoints, nothing allocated per packet.
 */

/**
 * Sent again within this of the run's last counted segment, a segment is a copy the
 * capture saw twice (a mirror port, a bridge, several VLANs or netfilter hooks): copies
 * come microseconds to a millisecond apart. It must hold for any sender, so it sits
 * below every stack's retransmission floor (FreeBSD's 30 ms, Linux's 200 ms).
 */
const COPY_SECONDS = 0.005;

/** Segments of each side whose TTL is noted (and all its RSTs'). */
const TTL_SAMPLE = 16;
/** Segments of each side among which a few without payload have their checksum checked. */
const CHECKSUM_SAMPLE = 8;

/** Facts about the segment that need the sender's sequence state before it: resent, keep-alive, window probe. */
export function classify(from: Endpoint, to: Endpoint, p: TcpPacket, seg: SegmentInfo): void {
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

/**
 * What the segment tells of its sender's sequence space and of what it received: the
 * facts the state machine (state-machine.ts) reads, noted after it ran.
 */
export function noteSent(from: Endpoint, to: Endpoint, tcp: TcpHeader, now: Now): void {
  const f = tcp.flags;
  from.packets++;
  from.payloadBytes += tcp.payloadLength;
  from.flags |= f;
  from.lastSentSec = now.sec;
  from.lastSentNsec = now.nsec;
  from.lastSentFrame = now.frame;
  from.lastSentCapture = now.capture;
  from.lastFlags = f;
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
  if (!(f & TCP_RST)) window(from, to, tcp.window, (f & TCP_SYN) !== 0, (f & TCP_FIN) !== 0, now);
}

/** The rest of the bookkeeping after the state machine ran: TTLs, checksums, data, unanswered runs. */
export function bookkeep(c: Connection, from: Endpoint, to: Endpoint, p: TcpPacket, seg: SegmentInfo, now: Now): void {
  const { tcp, ip } = p;
  const f = tcp.flags;
  noteSent(from, to, tcp, now);
  from.ipBytes += ip.headerLength + tcp.headerLength + tcp.payloadLength;
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
  if (extendsRun(from, seg, f, tcp.seq, now)) {
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
function extendsRun(from: Endpoint, seg: SegmentInfo, flags: number, seq: number, now: Now): boolean {
  const first = from.unanswered === 0;
  const again = seg.keepAlive || seg.windowProbe || (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN || (seg.retransmission && (first || !seqGt(seq, from.unansweredSeq)));
  return again && (first || !copyOfLast(from, now));
}

/** Sent again within COPY_SECONDS of the run's last counted segment. (Past MAX_RETRANS_TIMES the latest time kept is older: a copy that late counts.) */
function copyOfLast(e: Endpoint, now: Now): boolean {
  const times = e.unansweredTimes;
  return secondsBetween(e.unansweredFirst!, now) - (times[times.length - 1] ?? 0) < COPY_SECONDS;
}

/** The window `from` advertises, and its zero-window episodes (it stopped reading). */
function window(from: Endpoint, to: Endpoint, raw: number, syn: boolean, fin: boolean, now: Now): void {
  from.window = raw;
  if (syn) return; // a SYN's window is unscaled and says nothing about reading
  if (raw === 0 && !fin && to.state !== 'CLOSED') {
    if (from.zeroWindowSince === null) {
      from.zeroWindowSince = now.moment();
      from.zeroWindowEpisodes++;
    }
  } else if (raw > 0 && from.zeroWindowSince !== null) {
    closeZeroWindow(from, now);
  }
}

/** End the endpoint's open zero-window episode at `now`, keeping the longest. */
export function closeZeroWindow(e: Endpoint, now: { sec: number; nsec: number }): void {
  const d = secondsBetween(e.zeroWindowSince!, now);
  if (d > e.zeroWindowLongest) {
    e.zeroWindowLongest = d;
    e.zeroWindowLongestAt = e.zeroWindowSince;
  }
  e.zeroWindowSince = null;
}
