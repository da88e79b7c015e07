import { Endpoint, TWO32, ZEEK_TCP_ESTABLISHED, ZEEK_TCP_INACTIVE, ZEEK_TCP_PARTIAL, ZEEK_TCP_RESET, ZEEK_TCP_SYN_ACK_SENT, ZEEK_TCP_SYN_SENT } from './endpoint.js';

/**
 * Zeek's sequence-number bookkeeping (TCP.cc: get_relative_seq, init_endpoint,
 * update_last_seq). These are Zeek's own rules, kept where they differ from
 * RFC 793's window checks: the model must number segments as Zeek does.
 */

/**
 * Zeek does not trust sequence numbers this far apart on a SYN or RST
 * (TCP.cc, TOO_LARGE_SEQ_DELTA); RFC 793 would check the window instead.
 */
export const TOO_LARGE_SEQ_DELTA = 1048576;

/** a - b as a signed 32-bit difference (Zeek's seq_delta, net_util.h). */
export function seqDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * get_relative_seq (TCP.cc): `cur` relative to the endpoint's start, with Zeek's
 * wrap counting. Negative only when `cur` lies before the start (underflow):
 * with a wrap counted the result is always above zero.
 */
export function relativeSeq(e: Endpoint, cur: number, last: number, wraps: number): number {
  const d = seqDelta(cur, last);
  if (d < 0) {
    if (wraps > 0 && cur > last) wraps--;
  } else if (d > 0) {
    if (cur < last) wraps++;
  }
  if (wraps === 0) return seqDelta(cur, e.startSeq);
  return wraps * TWO32 + cur - e.startSeq;
}

/** init_endpoint (TCP.cc): set up or reset the sender's sequence space from a segment. */
export function initEndpoint(e: Endpoint, syn: boolean, firstSeq: number, lastSeq: number): void {
  switch (e.state) {
    case ZEEK_TCP_INACTIVE:
      if (syn) {
        e.startSeq = firstSeq;
        e.ackSeq = firstSeq;
        e.lastSeq = lastSeq;
      } else {
        // Partial connection: number as though a SYN had been seen, without calling
        // this first segment a duplicate.
        const s = (firstSeq - 1) >>> 0;
        e.startSeq = s;
        e.ackSeq = s;
        e.lastSeq = firstSeq;
      }
      break;
    case ZEEK_TCP_SYN_SENT:
    case ZEEK_TCP_SYN_ACK_SENT:
      if (syn && firstSeq !== e.startSeq) e.initSeqs(firstSeq, lastSeq); // SYN_seq_jump
      break;
    case ZEEK_TCP_ESTABLISHED:
    case ZEEK_TCP_PARTIAL:
      // A SYN inside the connection: guess it is the one that really sets it up.
      if (syn) e.initSeqs(firstSeq, lastSeq);
      break;
    case ZEEK_TCP_RESET:
      // Numbers taken from a (maybe injected) RST give way to a SYN's.
      if (syn && e.prevState === ZEEK_TCP_INACTIVE) e.initSeqs(firstSeq, lastSeq);
      break;
    default:
      break;
  }
}

/**
 * update_last_seq (TCP.cc): advance the sender's highest sequence number.
 * True when the segment's payload does not advance it: a retransmission ('T').
 */
export function updateLastSeq(e: Endpoint, lastSeq: number, syn: boolean, fin: boolean, rst: boolean, len: number): boolean {
  const d = seqDelta(lastSeq, e.lastSeq);
  if ((syn || rst) && (d > TOO_LARGE_SEQ_DELTA || d < -TOO_LARGE_SEQ_DELTA)) {
    // Far-off sequence numbers on SYN or RST are not trusted.
  } else if (fin && e.lastSeq === ((e.startSeq + 1) >>> 0)) {
    // Only a SYN and then a FIN: take the FIN's number even if it looks behind (> 2 GB connections).
    e.updateLastSeq(lastSeq);
  } else if (e.state === ZEEK_TCP_RESET) {
    // Nothing after a RST is trusted.
  } else if (d > 0) {
    e.updateLastSeq(lastSeq);
  } else if (len > 0) {
    return true;
  }
  return false;
}
