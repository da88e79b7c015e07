import { TCP_FIN, TCP_RST } from '../decode/packet.js';
import { samePacket, secondsBetween } from '../track/moment.js';
import type { SegmentInfo } from '../track/tracker.js';
import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { isOver } from '../track/states.js';
import type { DetectOptions } from './options.js';

/** What a RST means. The RST detectors share this so that each RST gets one meaning only. */
export type RstMeaning = 'middlebox' | 'stray' | 'refused' | 'write-after-fin' | 'handshake-abort' | 'peer-reset' | 'abortive' | 'gave-up' | null;


/** A flow of this many packets, without its handshake, shows no connection any application held. */
const SHORT_FLOW_PACKETS = 2;

/** A RST this long after a connection ended answers nothing of it (a burst of RSTs at the end comes within an RTT). */
const STRAY_IDLE_SECONDS = 1;

/** Every packet of the connection so far is a RST: it reset nothing the capture saw. */
export function onlyRsts(c: Connection): boolean {
  return c.client.packets === c.client.rstPackets && c.server.packets === c.server.rstPackets;
}

/**
 * Classify a RST from `seg.from`. Linux (like the BSDs) sends RST+ACK when an
 * application aborts a connection it holds (SO_LINGER 0, unread data at close),
 * and a bare RST, sequence number taken from the segment's ACK, when a segment
 * arrives for a connection it does not know (RFC 9293 3.10.7.1).
 */
export function rstMeaning(seg: SegmentInfo, o: DetectOptions): RstMeaning {
  if (!(seg.flags & TCP_RST)) return null;
  const x = seg.from;
  const y = seg.to;
  const c = seg.conn;
  // A RST on a tuple the capture saw nothing else of (a connection it never saw open), or
  // long after the connection ended: it resets nothing an application holds.
  if (c.partial && (onlyRsts(c) || c.client.packets + c.server.packets <= SHORT_FLOW_PACKETS)) return 'stray';
  if (isOver(seg.fromBefore) && isOver(seg.toBefore) && seg.idleBefore >= STRAY_IDLE_SECONDS && !x.sentAfterRst && !y.sentAfterRst) return 'stray';
  if (seg.forged) return 'middlebox';
  if (seg.toBefore === 'SYN-SENT' && y.state === 'CLOSED' && x === c.server) return 'refused';
  if (seg.fromBefore === 'CLOSED' || seg.fromBefore === 'LISTEN' || seg.fromBefore === 'SYN-SENT') return null;
  const finBefore = x.finAt !== null && !samePacket(x.finAt, seg.now);
  if (finBefore && y.dataAfterPeerFin > 0) return 'write-after-fin';
  if (finBefore) return null;
  // The kernel giving up on a silent peer: after enough retransmissions, or when
  // keep-alive probes went unanswered (Linux resets when keep-alive gives up).
  if (x.unanswered >= o.halfOpenRetransmissions || (x.unansweredProbes > 0 && x.unansweredProbes === x.unanswered)) return 'gave-up';
  if (x === c.client && seg.fromBefore === 'ESTABLISHED' && c.client.payloadBytes === 0 && c.server.payloadBytes === 0 && !c.partial) return 'handshake-abort';
  if (seg.fromBefore !== 'ESTABLISHED' && seg.fromBefore !== 'CLOSE-WAIT') return null;
  // A kernel without the socket answers the segment that came for it, at once, echoing
  // its ACK, and with a bare RST; a RST with ACK, or one that answers no recent data or
  // FIN, comes from a socket that still held the connection: an abort.
  return !x.rstHadAck && answersData(y, seg) && !heldIt(x, seg) ? 'peer-reset' : 'abortive';
}

/**
 * A side that sent data this shortly before its RST held the connection then: a crash
 * or a killed socket in between is far less likely than its own abort.
 */
const HELD_SECONDS = 0.01;

function heldIt(x: Endpoint, seg: SegmentInfo): boolean {
  return x.lastDataFrame > 0 && secondsBetween({ sec: x.lastDataSec, nsec: x.lastDataNsec }, seg.now) <= HELD_SECONDS;
}

/** A RST answers the peer's last segment when it came this soon after it (or within a few RTTs). */
const ANSWER_SECONDS = 1;

/** `y`'s last segment carried data or a FIN, and the RST followed it soon enough to answer it. */
function answersData(y: Endpoint, seg: SegmentInfo): boolean {
  const data = y.lastDataFrame === y.lastSentFrame && y.lastDataCapture === y.lastSentCapture;
  const fin = (y.lastFlags & TCP_FIN) !== 0;
  if (!data && !fin) return false;
  return secondsBetween({ sec: y.lastSentSec, nsec: y.lastSentNsec }, seg.now) <= Math.max(ANSWER_SECONDS, 4 * seg.conn.handshakeRtt);
}
