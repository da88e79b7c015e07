import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpHeader } from '../decode/packet.js';
import type { Endpoint } from './endpoint.js';
import { samePacket } from './moment.js';
import type { Now } from './now.js';
import { seqAdd, seqEq, seqGe, seqGt, seqLt } from './seq.js';
import { isSynchronized } from './states.js';
import { TcpEvent, step } from './tcp-transitions.js';
import { acceptQueueDroppedAck, synAckResentAfterAck, tookConnection } from './linux-tcp.js';

/**
 * Both endpoints' RFC 9293 state machines, driven by the segments a capture shows:
 * the front end. It turns each segment into events for either side, and
 * tcp-transitions.ts moves the states; Linux's accept queue is in linux-tcp.ts.
 *
 * A capture sees each segment once, at one vantage point, so the model rests on
 * two rules that hold wherever the capture was taken:
 *  - A segment changes its sender's state when it is seen (the sender did it).
 *  - It changes the receiver's state when the receiver's reply proves receipt: an
 *    acknowledgment covering a SYN or FIN. Segments that draw no reply (pure ACKs,
 *    RSTs) are taken as delivered when seen. Each side receives the other's segments
 *    in the order sent, so delivering a later segment delivers an earlier FIN first.
 * What a capture missing one side still proves (a SYN-ACK or FIN it did not show) is
 * inferred here too, and marked so on the endpoint.
 */

/** Why a side closed by a RST left CLOSED again: the RST did not end the connection there. */
export const RESET_UNDONE = 'went on after a RST: that RST did not end the connection here';

/**
 * The front end: one segment `from` -> `to`, turned into each side's events
 * (tcp-transitions.ts), in the order the RFC's segment processing takes them.
 */
export function onSegment(from: Endpoint, to: Endpoint, tcp: TcpHeader, now: Now, forged = false): void {
  const f = tcp.flags;
  // A side closed by a RST that goes on sending (other than a new SYN) never took that RST,
  // or never sent it: something else forged it, or it fell outside the window that counts.
  if (from.state === 'CLOSED' && from.resetFrom !== null && !(f & TCP_RST)) {
    step(from, TcpEvent.ResetUndone, now.moment(), RESET_UNDONE, from.resetFrom);
    from.resetFrom = null;
    from.resetUndone = true;
  }
  tookConnection(from, f, now);
  if (to.packets === 0 && f & TCP_ACK && !(f & (TCP_SYN | TCP_RST)) && tcp.payloadLength === 0) unseenFin(from, to, tcp.ack, (f & TCP_FIN) !== 0, now);
  if (f & TCP_ACK) acknowledgment(from, to, tcp.ack, (f & TCP_SYN) !== 0, now);
  if (f & TCP_RST) return reset(from, to, tcp, now, forged);
  if (f & TCP_SYN) synchronize(from, to, tcp, now);
  if (f & TCP_FIN) finish(from, tcp, now);
}

/**
 * The ACK field: proof of what `from` received, and (taken as delivered) news for `to`.
 */
function acknowledgment(from: Endpoint, to: Endpoint, ack: number, isSyn: boolean, now: Now): void {
  // What `from` has received from `to`.
  if (from.state === 'SYN-SENT' && !isSyn && !to.isnKnown && to.packets === 0) {
    // A one-sided capture: acknowledging without SYN, it had the SYN-ACK the capture lacks
    // (RFC 9293 3.10.7.3); its peer sent that SYN-ACK and took this ACK. Both inferred.
    from.gotPeerSyn = true;
    from.inferred = true;
    step(from, TcpEvent.GotSynAck, now.moment(), 'acknowledged a SYN-ACK the capture does not show');
    if (to.state === 'LISTEN') {
      to.inferred = true;
      step(to, TcpEvent.UnseenSynAckAcked, now.moment(), 'its SYN-ACK (not captured) was acknowledged');
    }
  }
  if (to.isnKnown && !from.gotPeerSyn && seqGt(ack, to.isn)) {
    from.gotPeerSyn = true;
    if (!isSyn) step(from, TcpEvent.GotSynAck, now.moment(), 'acknowledged the SYN-ACK');
  }
  if (to.finSeen && !from.gotPeerFin && seqGt(ack, to.finSeq)) receiveFin(from, now, 'acknowledged the FIN');

  // What `to` learns from this acknowledgment (no reply follows a pure ACK: taken as delivered),
  // unless `to` has shown it drops such ACKs.
  if (to.state === 'SYN-RECEIVED' && !to.ackDropped && to.isnKnown && seqGt(ack, to.isn)) {
    deliverPendingFin(from, to, now);
    step(to, TcpEvent.SynAckAcked, now.moment(), 'its SYN-ACK was acknowledged');
  }
  if (to.finSeen && !to.finAcked && seqGt(ack, to.finSeq)) {
    deliverPendingFin(from, to, now);
    to.finAcked = true;
    step(to, TcpEvent.FinAcked, now.moment(), 'its FIN was acknowledged');
  }
}

/**
 * A one-sided capture, at the close: `from`, closing or closed, acknowledges exactly one
 * sequence number more of a peer the capture never shows: that peer's FIN, which also
 * acknowledged `from`'s own (it had received it). Inferred, as the peer's whole state is.
 */
function unseenFin(from: Endpoint, to: Endpoint, ack: number, withFin: boolean, now: Now): void {
  if (to.packets !== 0 || to.finSeen || !from.ackKnown || !(from.finSeen || withFin) || !seqEq(ack, seqAdd(from.highestAck, 1))) return;
  const m = now.moment();
  to.inferred = true;
  if (from.finSeen && !from.finAcked) {
    from.finAcked = true;
    if (from.state === 'FIN-WAIT-1') step(from, TcpEvent.FinAcked, m, 'its FIN was acknowledged (by a FIN the capture does not show)');
  }
  if (from.finSeen) to.gotPeerFin = true;
  to.finSeq = from.highestAck;
  to.finSeen = true;
  to.finAt = m;
  step(to, from.finSeen ? TcpEvent.UnseenFinAfterPeer : TcpEvent.UnseenFin, m, 'sent a FIN the capture does not show (its peer acknowledged it)');
}

/**
 * `from` sent a FIN earlier that `to` has not yet been seen to receive; segments arrive
 * in order, so `to` has it by the time a later segment of `from` reaches it.
 */
function deliverPendingFin(from: Endpoint, to: Endpoint, now: Now): void {
  if (from.finSeen && !to.gotPeerFin && from.finAt !== null && !samePacket(from.finAt, now)) receiveFin(to, now, 'received the FIN');
}

function receiveFin(e: Endpoint, now: Now, why: string): void {
  e.gotPeerFin = true;
  step(e, TcpEvent.GotFin, now.moment(), why);
}

/** A SYN sent by `from`: an active open, or (with ACK) the answer to one. */
function synchronize(from: Endpoint, to: Endpoint, tcp: TcpHeader, now: Now): void {
  if (!(tcp.flags & TCP_ACK)) return step(from, TcpEvent.SentSyn, now.moment(), 'sent SYN');
  from.gotPeerSyn = true;
  if (from.state === 'ESTABLISHED') {
    // Its retransmission timer fired in SYN-RECEIVED (RFC 9293 3.10.8): the peer's ACK, taken as delivered, never completed it.
    if (synAckResentAfterAck(from, to, tcp, now)) acceptQueueDroppedAck(from, now);
  } else step(from, TcpEvent.SentSynAck, now.moment(), 'sent SYN-ACK');
}

/** A FIN sent by `from`; a retransmitted FIN changes nothing. */
function finish(from: Endpoint, tcp: TcpHeader, now: Now): void {
  if (from.finSeen) return;
  from.finSeq = seqAdd(tcp.seq, tcp.payloadLength + (tcp.flags & TCP_SYN ? 1 : 0));
  from.finSeen = true;
  from.finAt = now.moment();
  step(from, TcpEvent.SentFin, now.moment(), 'sent FIN');
}

/**
 * A RST sent by `from` (or, `forged`, by something else in its name): its sender has no connection any more. Its receiver drops the
 * connection only if the RST is acceptable (RFC 9293 3.10.7.3 / 3.10.7.4, RFC 5961).
 */
function reset(from: Endpoint, to: Endpoint, tcp: TcpHeader, now: Now, forged: boolean): void {
  const m = now.moment();
  if (from.rstAt === null) {
    from.rstAt = m;
    from.rstHadAck = (tcp.flags & TCP_ACK) !== 0;
  }
  // Forged in its name (its TTL fits none of its packets): its own state is untouched.
  if (!forged) {
    if (from.state !== 'CLOSED' && !from.resetUndone) from.resetFrom = from.state;
    step(from, TcpEvent.SentRst, m, 'sent RST');
  }
  if (!rstAcceptable(from, to, tcp)) {
    to.ignoredRsts++;
    return;
  }
  deliverPendingFin(from, to, now);
  if (to.state !== 'CLOSED' && to.state !== 'LISTEN' && !to.resetUndone) to.resetFrom = to.state;
  step(to, TcpEvent.GotRst, m, to.state === 'SYN-SENT' ? 'connection refused (RST)' : 'received RST');
}

function rstAcceptable(from: Endpoint, to: Endpoint, tcp: TcpHeader): boolean {
  if (to.state === 'SYN-SENT') {
    // 3.10.7.3: acceptable only if it acknowledges our SYN.
    return (tcp.flags & TCP_ACK) !== 0 && to.isnKnown && seqEq(tcp.ack, seqAdd(to.isn, 1));
  }
  if (!isSynchronized(to.state) && to.state !== 'SYN-RECEIVED') return to.state !== 'CLOSED';
  // In sequence: exactly the next expected number (RFC 5961 3.2), or - as the
  // capture may not show what the receiver had acknowledged - within its window.
  if (from.seqKnown && seqEq(tcp.seq, from.sndNxt)) return true;
  if (!to.ackKnown) return true;
  const wnd = Math.max(to.scaledWindow, 1);
  return seqGe(tcp.seq, to.highestAck) && seqLt(tcp.seq, seqAdd(to.highestAck, wnd));
}
