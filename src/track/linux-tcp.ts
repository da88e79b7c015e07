import { TCP_ACK, TCP_RST, TCP_SYN, type TcpHeader } from '../decode/packet.js';
import type { Endpoint } from './endpoint.js';
import { secondsBetween } from './moment.js';
import type { Now } from './now.js';
import { seqEq, seqGt } from './seq.js';
import { TcpEvent, step } from './tcp-transitions.js';

/**
 * Linux's accept queue, which RFC 9293 does not have: when a listening socket's
 * queue is full, Linux drops the handshake's final ACK and keeps the request in
 * SYN-RECEIVED, resending its SYN-ACK on the retransmission timer until there is
 * room. A capture shows the ACK, so the RFC rules (which take a pure ACK as
 * delivered) would call the server ESTABLISHED; these rules take that back.
 */

/**
 * No retransmission timer fires sooner than Linux's floor, TCP_RTO_MIN (200 ms; a
 * SYN-ACK's first timeout is 1 s, as RFC 6298 asks): a SYN-ACK seen again sooner is
 * a copy (a mirror port, the same conversation on several VLANs) or an answer to
 * something else.
 */
export const LINUX_RTO_MIN_SECONDS = 0.2;

/**
 * `from` sends the same SYN-ACK again, on its retransmission timer, having been
 * taken to be ESTABLISHED on its peer's ACK and having sent nothing else: it had
 * not taken that ACK. Not an answer to a SYN the peer sent again (a SYN-RECEIVED
 * side answers that with its SYN-ACK at once).
 */
export function synAckResentAfterAck(from: Endpoint, to: Endpoint, tcp: TcpHeader, now: Now): boolean {
  if (from.state !== 'ESTABLISHED' || !from.isnKnown || !seqEq(tcp.seq, from.isn) || from.packets !== from.synCount) return false;
  if (!to.ackKnown || !seqGt(to.highestAck, from.isn)) return false;
  const previous = { sec: from.lastSentSec, nsec: from.lastSentNsec };
  if (secondsBetween(previous, now) < LINUX_RTO_MIN_SECONDS) return false;
  return to.lastSynAt === null || secondsBetween(to.lastSynAt, previous) >= 0;
}

/** The SYN-ACK resent after the peer's ACK: back to SYN-RECEIVED until its own segments show it took the connection. */
export function acceptQueueDroppedAck(from: Endpoint, now: Now): void {
  from.ackDropped = true;
  step(from, TcpEvent.SynAckResent, now.moment(), "sent its SYN-ACK again: it had not taken the peer's ACK");
}

/** A side that had dropped the handshake's ACK acknowledges without SYN: it took the connection from its queue. */
export function tookConnection(from: Endpoint, flags: number, now: Now): void {
  if (from.state === 'SYN-RECEIVED' && from.ackDropped && (flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_ACK) {
    step(from, TcpEvent.TookConnection, now.moment(), 'acknowledged without SYN: it took the connection');
  }
}
