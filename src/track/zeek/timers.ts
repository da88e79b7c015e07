import { TCP_ACK, TCP_SYN } from '../../decode/packet.js';
import { Endpoint, ZEEK_TCP_INACTIVE, ZEEK_TCP_RESET, ZEEK_TCP_SYN_ACK_SENT, ZEEK_TCP_SYN_SENT } from './endpoint.js';

/**
 * When Zeek logs a TCP connection: its timers for one TCP connection (TCPSessionAdapter's expire and attempt
 * timers, the close/reset delay that ends it, and the connection's inactivity
 * timer). Zeek keeps them in its global timer queue; here each connection keeps
 * its own deadlines and the session runs the due ones in deadline order.
 */

/** Zeek's timing constants (init-bare.zeek defaults), in seconds. */
export interface ZeekTimeouts {
  /** tcp_SYN_timeout: first check of a new connection. */
  synTimeout: number;
  /** tcp_session_timer: re-check interval of the expire timer. */
  sessionTimer: number;
  /** tcp_connection_linger: quiet time after which a closed connection may go. */
  connectionLinger: number;
  /** tcp_attempt_delay: an unanswered SYN is given up after this long. */
  attemptDelay: number;
  /** tcp_close_delay: a fully closed (or reset) connection is flushed after this long. */
  closeDelay: number;
  /** tcp_inactivity_timeout, once the handshake is over (or the connection is partial). */
  tcpInactivity: number;
  /** udp_inactivity_timeout: what Zeek's TCP analyzer sets while still in the handshake. */
  handshakeInactivity: number;
}

export const ZEEK_DEFAULT_TIMEOUTS: Readonly<ZeekTimeouts> = {
  synTimeout: 5,
  sessionTimer: 6,
  connectionLinger: 5,
  attemptDelay: 5,
  closeDelay: 5,
  tcpInactivity: 300,
  handshakeInactivity: 60,
};

// What ZeekTimers.take() found due.
const TIMER_NONE = 0;
/** The close (or reset) delay ran out: Zeek logs the connection. */
const TIMER_DELETE = 1;
const TIMER_ATTEMPT = 2;
const TIMER_INACTIVITY = 3;
/** TIMER_EXPIRE + the slot of the expire timer. */
const TIMER_EXPIRE = 4;

/**
 * Would Zeek, given this segment, log the connection of originator `orig` and
 * responder `resp` and open a new one (TCPSessionAdapter::IsReuse)? Only SYNs
 * reuse a tuple: any SYN once either side has closed, else a SYN whose sequence
 * number is not the one the connection started with. Zeek does not look at the
 * direction.
 */
export function isReuse(orig: Endpoint, resp: Endpoint, flags: number, seq: number): boolean {
  if ((flags & TCP_SYN) === 0) return false;
  let connOrig = orig;
  if (flags & TCP_ACK) {
    // A SYN-ACK reuses only a connection whose originator never spoke.
    if (orig.state !== ZEEK_TCP_INACTIVE) return false;
    connOrig = resp;
  }
  if (!orig.didClose && !resp.didClose) {
    if (seq === connOrig.startSeq) return false;
    // SYN and SYN-ACK seen in the wrong order: the state machine flips the roles instead.
    if ((flags & TCP_ACK) === 0 && connOrig.state === ZEEK_TCP_SYN_ACK_SENT && resp.state === ZEEK_TCP_INACTIVE && seq === resp.startSeq) return false;
  }
  return true;
}

export class ZeekTimers {
  // Deadlines, Infinity = none; up to three expire timers pending at once.
  private expire0 = Infinity;
  private expire1 = Infinity;
  private expire2 = Infinity;
  attemptAt = Infinity;
  inactivityAt = Infinity;
  deleteAt = Infinity;
  inactivityTimeout = 0;

  /** Earliest pending deadline, Infinity if none. */
  get nextAt(): number {
    let t = this.attemptAt;
    if (this.inactivityAt < t) t = this.inactivityAt;
    if (this.deleteAt < t) t = this.deleteAt;
    if (this.expire0 < t) t = this.expire0;
    if (this.expire1 < t) t = this.expire1;
    if (this.expire2 < t) t = this.expire2;
    return t;
  }

  /**
   * Run the timers due by network time `now`, earliest first, for the
   * connection of originator `o` and responder `r` (its last packet at
   * `lastTime`; `active`: Zeek's is_active). True when one of them has Zeek log
   * the connection. Zeek runs them from its global queue before every packet of
   * the capture and passes each the current network time; a connection's timers
   * act on its own state only, so running them before its own next segment
   * decides the same unless the capture's times go back.
   */
  run(now: number, o: Endpoint, r: Endpoint, lastTime: number, active: boolean, to: Readonly<ZeekTimeouts>): boolean {
    for (;;) {
      const kind = this.take(now);
      if (kind === TIMER_NONE) return false;
      if (kind === TIMER_DELETE) return true;
      if (kind === TIMER_ATTEMPT) {
        // TCPSessionAdapter::AttemptTimer: give up on a SYN never answered.
        if (active && (o.state === ZEEK_TCP_SYN_SENT || o.state === ZEEK_TCP_SYN_ACK_SENT) && r.state === ZEEK_TCP_INACTIVE) return true;
      } else if (kind === TIMER_INACTIVITY) {
        if (lastTime + this.inactivityTimeout <= now) return true;
        this.inactivityAt = lastTime + this.inactivityTimeout;
      } else if (active) {
        // TCPSessionAdapter::ExpireTimer: drop quiet connections that closed, or never got going.
        if (lastTime + to.connectionLinger < now && expires(o, r)) return true;
        this.addExpire(now + to.sessionTimer, kind - TIMER_EXPIRE);
      }
    }
  }

  /**
   * Take the earliest timer due at or before `now` off the queue and say which
   * it was (TIMER_*); TIMER_NONE if none is due. Ties go delete, attempt,
   * inactivity, then expire slots in order.
   */
  private take(now: number): number {
    const t = this.nextAt;
    if (t > now) return TIMER_NONE;
    if (t === this.deleteAt) {
      this.deleteAt = Infinity;
      return TIMER_DELETE;
    }
    if (t === this.attemptAt) {
      this.attemptAt = Infinity;
      return TIMER_ATTEMPT;
    }
    if (t === this.inactivityAt) {
      this.inactivityAt = Infinity;
      return TIMER_INACTIVITY;
    }
    if (t === this.expire0) {
      this.expire0 = Infinity;
      return TIMER_EXPIRE;
    }
    if (t === this.expire1) {
      this.expire1 = Infinity;
      return TIMER_EXPIRE + 1;
    }
    this.expire2 = Infinity;
    return TIMER_EXPIRE + 2;
  }

  /** An expire timer at `at`, in `slot` (the one it fired from) or the first free one; dropped when all are taken. */
  addExpire(at: number, slot = -1): void {
    if (slot < 0) {
      if (this.expire0 === Infinity) slot = 0;
      else if (this.expire1 === Infinity) slot = 1;
      else if (this.expire2 === Infinity) slot = 2;
      else return;
    }
    if (slot === 0) this.expire0 = at;
    else if (slot === 1) this.expire1 = at;
    else this.expire2 = at;
  }

  /** Analyzer::CancelTimers: the TCP analyzer's own timers (not the inactivity timer). */
  cancelAnalyzerTimers(): void {
    this.expire0 = this.expire1 = this.expire2 = Infinity;
    this.attemptAt = Infinity;
    this.deleteAt = Infinity;
  }

  /** Connection::SetInactivityTimeout, counted from the last packet at `lastTime`. */
  setInactivityTimeout(timeout: number, lastTime: number): void {
    if (timeout === this.inactivityTimeout) return;
    this.inactivityAt = timeout > 0 ? lastTime + timeout : Infinity;
    this.inactivityTimeout = timeout;
  }
}

/** ExpireTimer's test of a quiet connection: closed (or reset) and over, or never heard from. */
function expires(o: Endpoint, r: Endpoint): boolean {
  if (o.didClose || r.didClose) {
    if ((o.didClose && r.didClose) || o.state === ZEEK_TCP_RESET || r.state === ZEEK_TCP_RESET || o.state === ZEEK_TCP_INACTIVE || r.state === ZEEK_TCP_INACTIVE) return true;
  }
  return r.state === ZEEK_TCP_INACTIVE && o.state === ZEEK_TCP_INACTIVE;
}
