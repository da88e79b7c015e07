import type { Endpoint } from './endpoint.js';
import type { Moment } from './moment.js';
import type { TcpState } from './states.js';

/**
 * One endpoint's RFC 9293 state transitions: what each event does in each state, as
 * one switch per event. The segment front end (state-machine.ts) decides which
 * events a captured segment means for each side; this module only moves states.
 * An event with no arm for the current state changes nothing.
 *
 * Events numbered, not named: they are made per segment on the packet path.
 */
export const TcpEvent = {
  /** It sent a SYN without ACK: an active open. */
  SentSyn: 0,
  /** It sent a SYN-ACK: it answered a SYN. */
  SentSynAck: 1,
  /** It acknowledged the peer's SYN-ACK: its own SYN was acknowledged and the peer's received. */
  GotSynAck: 2,
  /** The peer acknowledged its SYN-ACK. */
  SynAckAcked: 3,
  /** It sent a FIN: the application closed. */
  SentFin: 4,
  /** The peer acknowledged its FIN. */
  FinAcked: 5,
  /** It received (acknowledged, or must have received) the peer's FIN. */
  GotFin: 6,
  /** It sent a RST: an abort. */
  SentRst: 7,
  /** It received an acceptable RST. */
  GotRst: 8,
  /** TIME-WAIT's timer ran out (2 MSL; TCP_TIMEWAIT_LEN on Linux). */
  TimeWaitTimeout: 9,
  // Vantage inferences: what a capture missing one side's packets still proves.
  /** The peer acknowledged a SYN-ACK of this side's that the capture does not show. */
  UnseenSynAckAcked: 10,
  /** It sent a FIN the capture does not show, its peer having closed first. */
  UnseenFinAfterPeer: 11,
  /** It sent a FIN the capture does not show, first. */
  UnseenFin: 12,
  /** A side closed by a RST went on sending: the RST did not end the connection there. */
  ResetUndone: 13,
  // Linux's accept queue (linux-tcp.ts).
  /** It sent its SYN-ACK again after the peer's ACK: a full accept queue dropped that ACK. */
  SynAckResent: 14,
  /** Having dropped the handshake's ACK, it acknowledged without SYN: it took the connection. */
  TookConnection: 15,
} as const;

export type TcpEvent = (typeof TcpEvent)[keyof typeof TcpEvent];

/**
 * Apply `ev` to `e`. `why` is what on the wire caused it, recorded with the
 * transition; `back` is the state a RST closed it from (ResetUndone only).
 */
export function step(e: Endpoint, ev: TcpEvent, at: Moment, why: string, back: TcpState = 'CLOSED'): void {
  const s = e.state;
  switch (ev) {
    case TcpEvent.SentSyn:
      switch (s) {
        // 3.10.1 OPEN call: CLOSED sends a SYN and enters SYN-SENT; 3.10.2 SEND in LISTEN does the same.
        case 'CLOSED':
        case 'LISTEN':
          return e.enter('SYN-SENT', at, why);
        default:
          return;
      }
    case TcpEvent.SentSynAck:
      switch (s) {
        // 3.10.7.2 LISTEN, a SYN arrives: send SYN,ACK and enter SYN-RECEIVED.
        case 'LISTEN':
        // 3.10.7.3 SYN-SENT, a SYN without ACK: a simultaneous open.
        case 'SYN-SENT':
        // CLOSED: its LISTEN was not seen (the connection began before the capture).
        case 'CLOSED':
          return e.enter('SYN-RECEIVED', at, why);
        default:
          return;
      }
    case TcpEvent.GotSynAck:
      switch (s) {
        // 3.10.7.3 SYN-SENT: our SYN acknowledged and the peer's SYN received -> ESTABLISHED.
        case 'SYN-SENT':
          return e.enter('ESTABLISHED', at, why);
        default:
          return;
      }
    case TcpEvent.SynAckAcked:
      switch (s) {
        // 3.10.7.4 SYN-RECEIVED, an acceptable ACK -> ESTABLISHED.
        case 'SYN-RECEIVED':
          return e.enter('ESTABLISHED', at, why);
        default:
          return;
      }
    case TcpEvent.SentFin:
      switch (s) {
        // 3.10.4 CLOSE call in SYN-RECEIVED (data sent or not) and ESTABLISHED: send FIN, enter FIN-WAIT-1.
        case 'SYN-RECEIVED':
        case 'ESTABLISHED':
          return e.enter('FIN-WAIT-1', at, why);
        // 3.10.4 CLOSE call in CLOSE-WAIT: send FIN, enter LAST-ACK.
        case 'CLOSE-WAIT':
          return e.enter('LAST-ACK', at, why);
        default:
          return;
      }
    case TcpEvent.FinAcked:
      switch (s) {
        // 3.10.7.4, sixth step (check the ACK field), FIN-WAIT-1: our FIN acknowledged -> FIN-WAIT-2.
        case 'FIN-WAIT-1':
          return e.enter('FIN-WAIT-2', at, why);
        // Same step, CLOSING: our FIN acknowledged -> TIME-WAIT.
        case 'CLOSING':
          return e.enter('TIME-WAIT', at, why);
        // Same step, LAST-ACK: our FIN acknowledged -> CLOSED.
        case 'LAST-ACK':
          return e.enter('CLOSED', at, why);
        default:
          return;
      }
    case TcpEvent.GotFin:
      switch (s) {
        // 3.10.7.4, eighth step (check the FIN bit), SYN-RECEIVED and ESTABLISHED -> CLOSE-WAIT.
        case 'SYN-RECEIVED':
        case 'ESTABLISHED':
          return e.enter('CLOSE-WAIT', at, why);
        // Same step, FIN-WAIT-1: our FIN already acknowledged -> TIME-WAIT; else both FINs crossed -> CLOSING.
        case 'FIN-WAIT-1':
          return e.enter(e.finAcked ? 'TIME-WAIT' : 'CLOSING', at, why);
        // Same step, FIN-WAIT-2 -> TIME-WAIT.
        case 'FIN-WAIT-2':
          return e.enter('TIME-WAIT', at, why);
        default:
          return;
      }
    case TcpEvent.SentRst:
      switch (s) {
        case 'CLOSED':
          return;
        // 3.10.5 ABORT call (and a RST answering a segment, 3.10.7.1): the sender has no connection left.
        default:
          return e.enter('CLOSED', at, why);
      }
    case TcpEvent.GotRst:
      switch (s) {
        // 3.10.7.2 LISTEN: an incoming RST is ignored; CLOSED has nothing to reset.
        case 'CLOSED':
        case 'LISTEN':
          return;
        // 3.10.7.3 SYN-SENT (connection refused) and 3.10.7.4 first step, every other state: -> CLOSED.
        default:
          return e.enter('CLOSED', at, why);
      }
    case TcpEvent.TimeWaitTimeout:
      switch (s) {
        // 3.10.8 Time-Wait Timeout: delete the TCB, enter CLOSED.
        case 'TIME-WAIT':
          return e.enter('CLOSED', at, why);
        default:
          return;
      }
    case TcpEvent.UnseenSynAckAcked:
      switch (s) {
        // The peer's ACK without SYN proves our SYN-ACK (not captured) was sent from LISTEN
        // (3.10.7.2) and its ACK, taken as delivered, completes our side (3.10.7.4).
        case 'LISTEN':
          return e.enter('ESTABLISHED', at, why);
        default:
          return;
      }
    case TcpEvent.UnseenFinAfterPeer:
      // The peer acknowledged our FIN (not captured) after its own: 3.10.4 from CLOSE-WAIT.
      return e.enter('LAST-ACK', at, why);
    case TcpEvent.UnseenFin:
      // The peer acknowledged our FIN (not captured) first: 3.10.4 from ESTABLISHED.
      return e.enter('FIN-WAIT-1', at, why);
    case TcpEvent.ResetUndone:
      switch (s) {
        // Not a transition of the RFC's: the RST the capture showed never ended this side.
        case 'CLOSED':
          return e.enter(back, at, why);
        default:
          return;
      }
    case TcpEvent.SynAckResent:
      switch (s) {
        // 3.10.8 retransmission timeout in SYN-RECEIVED: the ACK taken as delivered never completed it.
        case 'ESTABLISHED':
          return e.enter('SYN-RECEIVED', at, why);
        default:
          return;
      }
    case TcpEvent.TookConnection:
      switch (s) {
        // 3.10.7.4 SYN-RECEIVED, an acceptable ACK (its own, on the peer's retransmitted ACK) -> ESTABLISHED.
        case 'SYN-RECEIVED':
          return e.enter('ESTABLISHED', at, why);
        default:
          return;
      }
  }
}
