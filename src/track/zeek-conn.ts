import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/packet.js';
import { defineBitFlags } from '../util/bit-flags.js';

/**
 * Zeek's view of one TCP connection: the endpoint state machine, the `history`
 * string and the `conn_state` of conn.log, and the timers that decide when Zeek
 * logs a connection and starts a new one on the same 4-tuple.
 *
 * This follows Zeek's TCP analyzer (TCPSessionAdapter, TCP_Endpoint, TCP.cc)
 * and base/protocols/conn (conn_state()). It is fed one segment at a time and
 * allocates nothing per segment (only the rare segment that adds a history letter).
 *
 * Directions are given relative to "A", the sender of the connection's first
 * packet; Zeek's originator is A unless its heuristics flipped the roles
 * (`origIsA`).
 */

// Zeek's endpoint states (TCP_ENDPOINT_*), with the values of its TCP_* script constants.
export const ZEEK_TCP_INACTIVE = 0; // nothing seen from this side
export const ZEEK_TCP_SYN_SENT = 1;
export const ZEEK_TCP_SYN_ACK_SENT = 2; // SYN-ACK seen without an initial SYN
export const ZEEK_TCP_PARTIAL = 3; // data seen, no SYN
export const ZEEK_TCP_ESTABLISHED = 4;
export const ZEEK_TCP_CLOSED = 5; // FIN seen
export const ZEEK_TCP_RESET = 6; // RST seen
export type ZeekTcpState = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export type ZeekConnStateName =
  | 'S0'
  | 'S1'
  | 'SF'
  | 'REJ'
  | 'S2'
  | 'S3'
  | 'RSTO'
  | 'RSTR'
  | 'RSTOS0'
  | 'RSTRH'
  | 'SH'
  | 'SHR'
  | 'OTH';

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

/**
 * TCP ports that Zeek's base protocol scripts put in `likely_server_ports`
 * (HTTP, FTP, SSH, SSL, SMTP, POP3, IMAP, DNS, Kerberos, MySQL, Modbus, Redis,
 * XMPP, SOCKS, DCE-RPC, SMB, RDP, LDAP, DNP3, MQTT, PostgreSQL, Finger; IRC's
 * are no longer there). Zeek consults the set to guess the server of a
 * connection whose first packet is not a SYN. With `zeek -b` only the scripts a
 * run loads contribute, often none. Gathered from the protocol scripts' port
 * lists; recent Zeek moved these declarations around, so treat it as close,
 * not exact.
 */
export const ZEEK_BASE_LIKELY_SERVER_PORTS: ReadonlySet<number> = new Set([
  21, 22, 25, 53, 79, 80, 81, 88, 110, 135, 139, 143, 389, 443, 445, 502, 563, 585, 587, 614, 631, 636, 989, 990, 992,
  993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432, 6379, 8000, 8080, 8888, 20000,
]);

export interface ZeekConnOptions {
  /** Zeek's -C: treat every checksum as good. By default a bad one drops the packet and logs 'C'. */
  ignoreChecksums?: boolean;
  /** Zeek's likely_server_ports (TCP ports), for flipping roles of connections seen mid-stream. */
  likelyServerPorts?: ReadonlySet<number>;
  timeouts?: Partial<ZeekTimeouts>;
}

/** Out-of-order data ranges kept per side before neighbours are merged regardless. */
const MAX_BLOCKS = 16;
// Indexes of the logarithmically logged letters' counters.
const SCALED_CHECKSUM = 0;
const SCALED_RXMIT = 1;
const SCALED_WIN0 = 2;
const SCALED_GAP = 3;
type ScaledIndex = 0 | 1 | 2 | 3;
/** Zeek's reassembly limits: tcp_max_initial_window, tcp_max_above_hole_without_any_acks. */
const MAX_INITIAL_WINDOW = 16384;
const MAX_ABOVE_HOLE_WITHOUT_ACKS = 16384;
/** tcp_excessive_data_without_further_acks. */
const EXCESSIVE_DATA_WITHOUT_ACKS = 10 * 1024 * 1024;

// History masks (TCP_Endpoint::HistoryMasks); a responder's are shifted left by 16.
const HIST_SYN_PKT = 0x1;
const HIST_FIN_PKT = 0x2;
const HIST_RST_PKT = 0x4;
const HIST_FIN_RST_PKT = 0x8;
const HIST_DATA_PKT = 0x10;
const HIST_ACK_PKT = 0x20;
const HIST_MULTI_FLAG_PKT = 0x40;

/** Sequence numbers more than this apart on a SYN or RST are not trusted (TOO_LARGE_SEQ_DELTA). */
const TOO_LARGE_SEQ_DELTA = 1048576;
const TWO32 = 4294967296;

const CH_UPPER_A = 65;
const CH_CARET = 94;

/** a - b as a signed 32-bit difference (Zeek's seq_delta). */
function seqDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/** Established, or closed from established: where a content gap means lost data. */
function isClean(e: { state: number; prevState: number }): boolean {
  return e.state === ZEEK_TCP_ESTABLISHED || (e.state === ZEEK_TCP_CLOSED && e.prevState === ZEEK_TCP_ESTABLISHED);
}

function isHandshake(s: number): boolean {
  return s === ZEEK_TCP_INACTIVE || s === ZEEK_TCP_SYN_SENT || s === ZEEK_TCP_SYN_ACK_SENT;
}

/** One side of the connection (TCP_Endpoint): its state and sequence-space bookkeeping. */
class Endpoint {
  state: ZeekTcpState = ZEEK_TCP_INACTIVE;
  prevState: ZeekTcpState = ZEEK_TCP_INACTIVE;
  // start_seq is 64-bit in Zeek but always set from a 32-bit value; last/ack are 32-bit with wrap counts.
  // Held as int32 behind uint32 accessors: a uint32 above 2^31 in a field costs a heap number each.
  private start32 = 0;
  private last32 = 0;
  private ack32 = 0;
  get startSeq(): number {
    return this.start32 >>> 0;
  }
  set startSeq(v: number) {
    this.start32 = v | 0;
  }
  get lastSeq(): number {
    return this.last32 >>> 0;
  }
  set lastSeq(v: number) {
    this.last32 = v | 0;
  }
  get ackSeq(): number {
    return this.ack32 >>> 0;
  }
  set ackSeq(v: number) {
    this.ack32 = v | 0;
  }
  seqWraps = 0;
  ackWraps = 0;
  finCnt = 0;
  didClose = false;
  // Relative sequence numbers of the last SYN/FIN/RST, to log repeats only when they differ.
  histLastSyn = 0;
  histLastFin = 0;
  histLastRst = 0;
  // Counters and next thresholds of the logarithmically logged letters, by
  // SCALED_* index (C, T, W, G).
  // Allocated on the first such letter (most connections never log one): memory per connection matters.
  // Plain arrays, not typed ones: a small typed array costs an ArrayBuffer and an off-heap store each.
  private scaled: number[] | null = null;
  /** Counters [0..3] and next thresholds [4..7]. */
  get scaledState(): number[] {
    return (this.scaled ??= [0, 0, 0, 0, 1, 1, 1, 1]);
  }
  /** Relative sequence number just past this side's FIN (TCP_Endpoint::FIN_seq). */
  finSeq = 0;

  // The stream reassembler's bookkeeping (TCP_Reassembler), in relative
  // sequence numbers: enough to tell when an ack covers bytes never seen (a
  // content gap, 'G'). Only the extent of the data matters, not its bytes.
  /** Everything below was delivered or given up as a gap (last_reassem_seq). */
  reassembled = 1;
  /** Acked and forgotten below this (trim_seq). */
  trimmed = 1;
  /** Reassembly abandoned for this side (skip_deliveries). */
  skipDeliveries = false;
  /** Undelivered out-of-order data above `reassembled`: sorted, disjoint [lo, hi) pairs. */
  private blockArr: number[] | null = null;
  blockCount = 0;
  /** Allocated when data first arrives above a hole. */
  get blocks(): number[] {
    return (this.blockArr ??= new Array<number>(2 * MAX_BLOCKS).fill(0));
  }

  constructor(readonly isA: boolean) {}

  updateLastSeq(seq: number): void {
    if (seq < this.lastSeq) this.seqWraps++;
    this.lastSeq = seq;
  }

  updateAckSeq(seq: number): void {
    if (seq < this.ackSeq) this.ackWraps++;
    this.ackSeq = seq;
  }

  /** Zeek's (re)initialisation of the sequence space from a segment. */
  initSeqs(start: number, last: number): void {
    this.startSeq = start;
    this.ackSeq = start;
    this.lastSeq = last;
  }

  noDataAcked(): boolean {
    const ack = this.ackWraps * TWO32 + this.ackSeq;
    return ack === this.startSeq || ack === this.startSeq + 1;
  }
}

/** History letters held in an exact-size array; a longer history grows by push. */
const EXACT_HISTORY = 24;

/** Pending timers, by kind (Zeek keeps them in its global timer queue). */
const EXPIRE_SLOTS = 3;

export class ZeekConnState {
  private readonly a = new Endpoint(true);
  private readonly b = new Endpoint(false);
  private readonly ignoreChecksums: boolean;
  private readonly serverPorts: ReadonlySet<number>;
  private readonly to: Readonly<ZeekTimeouts>;

  /** Its booleans, one bit each (defineBitFlags at the end); the internal ones are not private only for that. */
  flagBits = 0;
  /** Which side Zeek calls the originator: A (the first packet's sender) unless Zeek flipped the roles. */
  declare origIsA: boolean;
  /** Packets given to segment(), bad-checksum ones included. */
  packets = 0;
  /** Time of the first packet (Zeek's start_time) and of the last one that counted (last_time). */
  startTime = 0;
  lastTime = 0;
  /**
   * Zeek has logged this connection: set by advance() when a timer ended it;
   * the caller sets it too when wouldReuse() made it open a new connection.
   */
  declare removed: boolean;

  /**
   * History letters as char codes (a plain array: no ArrayBuffer per connection).
   * A short history is replaced by an exact-size copy per letter, since a pushed
   * array reserves 17 slots and most histories have about 8 letters.
   */
  private hist: number[] = [];
  private histSeen = 0;
  /** is_active: cleared once Zeek reported the connection finished, reset or failed. */
  declare active: boolean;
  declare isPartial: boolean;
  /** The first packet was a SYN-ACK left unflipped; cleared by the second packet. */
  declare synAckFirst: boolean;
  private firstPacketSeen = 0; // 1 = orig, 2 = resp
  private inactivityTimeout = 0;
  // Timer deadlines (Infinity = none).
  // Only advance() (Zeek's timers) uses it; allocated then.
  private expireArr: number[] | null = null;
  private get expireAt(): number[] {
    return (this.expireArr ??= new Array<number>(EXPIRE_SLOTS).fill(Infinity));
  }
  private attemptAt = Infinity;
  private inactivityAt = Infinity;
  private deleteAt = Infinity;
  // Per-segment scratch (fields rather than returned objects: nothing is allocated).
  declare relSeqUnderflow: boolean;
  declare doClose: boolean;
  declare genEvent: boolean;

  constructor(
    private readonly portA: number,
    private readonly portB: number,
    options: ZeekConnOptions = {},
  ) {
    this.ignoreChecksums = options.ignoreChecksums ?? false;
    this.serverPorts = options.likelyServerPorts ?? ZEEK_BASE_LIKELY_SERVER_PORTS;
    // Shared unless the caller changed them: an object per connection is memory per connection.
    this.to = options.timeouts ? { ...ZEEK_DEFAULT_TIMEOUTS, ...options.timeouts } : ZEEK_DEFAULT_TIMEOUTS;
    this.origIsA = true;
    this.active = true;
  }

  // ---------------------------------------------------------------- queries

  get origState(): ZeekTcpState {
    return this.orig.state;
  }

  get respState(): ZeekTcpState {
    return this.resp.state;
  }

  /** conn.log history: Zeek's letters, upper case for the originator. */
  get history(): string {
    // One flat string: appending letter by letter makes a rope of one-letter pieces.
    const h = this.hist;
    if (h.length <= 1024) return String.fromCharCode.apply(null, h);
    let s = '';
    for (let i = 0; i < h.length; i += 1024) s += String.fromCharCode.apply(null, h.slice(i, i + 1024));
    return s;
  }

  /** conn.log orig_bytes: payload bytes from sequence numbers (TCP_Endpoint::Size). */
  get origBytes(): number {
    return this.size(this.orig);
  }

  get respBytes(): number {
    return this.size(this.resp);
  }

  /** conn.log conn_state, as base/protocols/conn's conn_state() derives it. */
  get connState(): ZeekConnStateName {
    const os = this.orig.state;
    const rs = this.resp.state;
    const oInactive = os === ZEEK_TCP_INACTIVE || os === ZEEK_TCP_PARTIAL;
    const rInactive = rs === ZEEK_TCP_INACTIVE || rs === ZEEK_TCP_PARTIAL;
    if (rs === ZEEK_TCP_RESET) {
      if (os === ZEEK_TCP_SYN_SENT || os === ZEEK_TCP_SYN_ACK_SENT || (os === ZEEK_TCP_RESET && this.origBytes === 0 && this.respBytes === 0)) return 'REJ';
      return oInactive ? 'RSTRH' : 'RSTR';
    }
    if (os === ZEEK_TCP_RESET) {
      if (rInactive) return this.synThenRst() ? 'RSTOS0' : 'OTH';
      return 'RSTO';
    }
    if (rs === ZEEK_TCP_CLOSED && os === ZEEK_TCP_CLOSED) return 'SF';
    if (os === ZEEK_TCP_CLOSED) return rInactive ? 'SH' : 'S2';
    if (rs === ZEEK_TCP_CLOSED) return oInactive ? 'SHR' : 'S3';
    if (os === ZEEK_TCP_SYN_SENT && rs === ZEEK_TCP_INACTIVE) return 'S0';
    if (os === ZEEK_TCP_ESTABLISHED && rs === ZEEK_TCP_ESTABLISHED) return 'S1';
    return 'OTH';
  }

  /** The whole history matches /^\^?S[^HAFGIQ]*R.*$/ (conn_state()'s test for RSTOS0). */
  private synThenRst(): boolean {
    const h = this.hist;
    let i = 0;
    if (i < h.length && h[i] === CH_CARET) i++;
    if (i >= h.length || h[i] !== 83 /* S */) return false;
    for (i++; i < h.length; i++) {
      const c = h[i]!;
      if (c === 82 /* R */) return true;
      // H A F G I Q end the run that may precede the R.
      if (c === 72 || c === 65 || c === 70 || c === 71 || c === 73 || c === 81) return false;
    }
    return false;
  }

  /** Earliest pending timer, Infinity if none: advance() need not be called before then. */
  get nextTimerAt(): number {
    let t = this.attemptAt;
    if (this.inactivityAt < t) t = this.inactivityAt;
    if (this.deleteAt < t) t = this.deleteAt;
    for (let i = 0; i < EXPIRE_SLOTS; i++) if (this.expireAt[i]! < t) t = this.expireAt[i]!;
    return t;
  }

  private get orig(): Endpoint {
    return this.origIsA ? this.a : this.b;
  }

  private get resp(): Endpoint {
    return this.origIsA ? this.b : this.a;
  }

  private isOrig(e: Endpoint): boolean {
    return e.isA === this.origIsA;
  }

  private size(e: Endpoint): number {
    const peer = e === this.a ? this.b : this.a;
    // A half-open connection found and aborted: the sequence numbers say nothing about data.
    if (e.prevState === ZEEK_TCP_SYN_SENT && e.state === ZEEK_TCP_RESET && peer.state === ZEEK_TCP_INACTIVE && !e.noDataAcked()) return 0;
    const last = e.seqWraps * TWO32 + e.lastSeq;
    const ack = e.ackWraps * TWO32 + e.ackSeq;
    let size = (last > ack ? last : ack) - e.startSeq;
    if (size < 0) size += TWO32 * TWO32; // Zeek's unsigned wrap (only with nonsense sequence numbers)
    if (size !== 0) size--; // the SYN's octet
    if (e.finCnt > 0 && size !== 0) size--; // the FIN's octet
    return size;
  }

  // ---------------------------------------------------------------- history

  private addHistory(code: number): void {
    // Past EXACT_HISTORY letters (repeated SYNs, FINs or RSTs) it grows as usual: no quadratic copying.
    const h = this.hist;
    const n = h.length;
    if (n < EXACT_HISTORY) {
      // An exact-size copy by hand (concat is several times slower).
      const next = new Array<number>(n + 1);
      for (let i = 0; i < n; i++) next[i] = h[i]!;
      next[n] = code;
      this.hist = next;
    } else h.push(code);
  }

  /** Log `code` the first time its mask is seen for this side (Session::CheckHistory); true if seen before. */
  private checkHistory(e: Endpoint, mask: number, code: number): boolean {
    if (!this.isOrig(e)) {
      mask <<= 16;
      code += 32; // lower case
    }
    if ((this.histSeen & mask) === 0) {
      this.histSeen |= mask;
      this.addHistory(code);
      return false;
    }
    return true;
  }

  private addEndpointHistory(e: Endpoint, code: number): void {
    this.addHistory(this.isOrig(e) ? code : code + 32);
  }

  private updateHistory(e: Endpoint, flags: number, relSeq: number, len: number): void {
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (bits > 1) {
      if (fin && rst) this.checkHistory(e, HIST_FIN_RST_PKT, 73 /* I */);
      else this.checkHistory(e, HIST_MULTI_FLAG_PKT, 81 /* Q */);
    } else if (bits === 1) {
      // SYN, FIN and RST are logged again when their sequence number moves.
      if (syn) {
        const code = flags & TCP_ACK ? 72 /* H */ : 83; /* S */
        if (this.checkHistory(e, HIST_SYN_PKT, code) && relSeq !== e.histLastSyn) this.addEndpointHistory(e, code);
        e.histLastSyn = relSeq;
      }
      if (fin) {
        // A FIN's sequence number is the one after its data.
        if (this.checkHistory(e, HIST_FIN_PKT, 70 /* F */) && relSeq + len !== e.histLastFin) this.addEndpointHistory(e, 70);
        e.histLastFin = relSeq + len;
      }
      if (rst) {
        if (this.checkHistory(e, HIST_RST_PKT, 82 /* R */) && relSeq !== e.histLastRst) this.addEndpointHistory(e, 82);
        e.histLastRst = relSeq;
      }
    } else if (len > 0) this.checkHistory(e, HIST_DATA_PKT, 68 /* D */);
    else if (flags & TCP_ACK) this.checkHistory(e, HIST_ACK_PKT, CH_UPPER_A);
  }

  /** Letters logged at the 1st, 10th, 100th... occurrence (Session::ScaledHistoryEntry). */
  private scaledHistory(e: Endpoint, which: ScaledIndex, code: number): void {
    const sc = e.scaledState;
    const cnt = ++sc[which]!;
    const thresh = sc[4 + which]!;
    if (cnt !== thresh) return;
    this.addEndpointHistory(e, code);
    // Zeek's counters are 32-bit: past 10^9 the threshold would wrap, so the count restarts instead.
    const next = thresh * 10;
    if (next > 0xffffffff) sc[which] = 0;
    else sc[4 + which] = next;
  }

  // ---------------------------------------------------------------- lifetime

  /**
   * Would Zeek, given this segment, log this connection and open a new one
   * (TCPSessionAdapter::IsReuse)? Only SYNs reuse a tuple: any SYN once either
   * side has closed, else a SYN whose sequence number is not the one the
   * connection started with.
   */
  wouldReuse(flags: number, seq: number): boolean {
    // Zeek does not look at the direction.
    if (this.packets === 0) return false;
    if ((flags & TCP_SYN) === 0) return false;
    let connOrig = this.orig;
    if (flags & TCP_ACK) {
      // A SYN-ACK reuses only a connection whose originator never spoke.
      if (this.orig.state !== ZEEK_TCP_INACTIVE) return false;
      connOrig = this.resp;
    }
    if (!this.orig.didClose && !this.resp.didClose) {
      if (seq === connOrig.startSeq) return false;
      // SYN and SYN-ACK seen in the wrong order: the state machine flips the roles instead.
      if ((flags & TCP_ACK) === 0 && connOrig.state === ZEEK_TCP_SYN_ACK_SENT && this.resp.state === ZEEK_TCP_INACTIVE && seq === this.resp.startSeq)
        return false;
    }
    return true;
  }

  /**
   * Run Zeek's timers up to network time `now` (the timestamp of any packet of
   * the capture: Zeek advances its clock with every packet it reads). Returns
   * `removed`: true once Zeek has logged the connection.
   */
  advance(now: number): boolean {
    while (!this.removed) {
      const t = this.nextTimerAt;
      if (t > now) break;
      // Dispatch the earliest; Zeek passes timers the current network time.
      if (t === this.deleteAt) {
        this.deleteAt = Infinity;
        this.removed = true;
      } else if (t === this.attemptAt) {
        this.attemptAt = Infinity;
        this.attemptTimer();
      } else if (t === this.inactivityAt) {
        this.inactivityAt = Infinity;
        this.inactivityTimer(now);
      } else {
        for (let i = 0; i < EXPIRE_SLOTS; i++) {
          if (this.expireAt[i] === t) {
            this.expireAt[i] = Infinity;
            this.expireTimer(now, i);
            break;
          }
        }
      }
    }
    return this.removed;
  }

  private addExpireTimer(at: number, slot = -1): void {
    if (slot < 0) for (let i = 0; i < EXPIRE_SLOTS && slot < 0; i++) if (this.expireAt[i] === Infinity) slot = i;
    if (slot >= 0) this.expireAt[slot] = at;
  }

  /** Analyzer::CancelTimers: the TCP analyzer's own timers (not the inactivity timer). */
  private cancelAnalyzerTimers(): void {
    this.expireAt.fill(Infinity);
    this.attemptAt = Infinity;
    this.deleteAt = Infinity;
  }

  private setInactivityTimeout(timeout: number): void {
    if (timeout === this.inactivityTimeout) return;
    this.inactivityAt = timeout > 0 ? this.lastTime + timeout : Infinity;
    this.inactivityTimeout = timeout;
  }

  private inactivityTimer(t: number): void {
    if (this.lastTime + this.inactivityTimeout <= t) this.removed = true;
    else this.inactivityAt = this.lastTime + this.inactivityTimeout;
  }

  private attemptTimer(): void {
    if (!this.active) return;
    const os = this.orig.state;
    if ((os === ZEEK_TCP_SYN_SENT || os === ZEEK_TCP_SYN_ACK_SENT) && this.resp.state === ZEEK_TCP_INACTIVE) {
      this.active = false;
      this.removed = true;
    }
  }

  /** TCPSessionAdapter::ExpireTimer: drop quiet connections that closed, or never got going. */
  private expireTimer(t: number, slot: number): void {
    if (!this.active) return;
    const o = this.orig;
    const r = this.resp;
    if (this.lastTime + this.to.connectionLinger < t) {
      if (o.didClose || r.didClose) {
        if (
          (o.didClose && r.didClose) ||
          o.state === ZEEK_TCP_RESET ||
          r.state === ZEEK_TCP_RESET ||
          o.state === ZEEK_TCP_INACTIVE ||
          r.state === ZEEK_TCP_INACTIVE
        ) {
          this.removed = true;
          return;
        }
      }
      if (r.state === ZEEK_TCP_INACTIVE && o.state === ZEEK_TCP_INACTIVE) {
        this.removed = true;
        return;
      }
    }
    this.addExpireTimer(t + this.to.sessionTimer, slot);
  }

  // ---------------------------------------------------------------- packets

  /**
   * One TCP segment of this connection. `fromA`: sent by A (the first
   * packet's sender). `len`: payload length from the IP header. `window`: the
   * raw window field. `checksumOk`: tcpChecksumOk's answer (null: unknown, taken
   * as good). `time`: capture timestamp in seconds. `payloadCaptured`: all of
   * the payload is in the capture (Zeek's reassembler takes only whole
   * segments; the rest become content gaps once acked). Call advance(time) and
   * wouldReuse() first: this does not check whether Zeek would still add the
   * segment to this connection.
   */
  segment(
    fromA: boolean,
    flags: number,
    seq: number,
    ack: number,
    len: number,
    window: number,
    checksumOk: boolean | null,
    time: number,
    payloadCaptured = true,
  ): void {
    if (this.packets++ === 0) this.start(flags, time);
    const endpoint = fromA ? this.a : this.b;
    const dropped = checksumOk === false && !this.ignoreChecksums;
    if (this.packets === 2 && this.synAckFirst) {
      this.synAckFirst = false;
      // A SYN-ACK followed by an ACK or data (either way) is no stealth scan: the
      // SYN-ACK's sender is the server after all (Zeek PR 2191; the baselines show
      // it decided on the second packet, which a bad-checksum packet uses up).
      if (!dropped && (flags & (TCP_SYN | TCP_FIN | TCP_RST)) === 0 && ((flags & TCP_ACK) !== 0 || len > 0)) this.flipAfterSynAck();
    }
    if (dropped) {
      // The connection exists, but the packet goes no further than the 'C'.
      this.scaledHistory(endpoint, SCALED_CHECKSUM, 67 /* C */);
      return;
    }
    // As int32 across the call (the same bits): a uint32 above 2^31 would be a heap number per argument.
    this.process(endpoint, flags, seq | 0, ack | 0, len, window, time, payloadCaptured);
  }

  /**
   * A segment whose TCP header the capture cut short (options missing). Zeek
   * opens the connection for it (and may flip roles by its flags) but goes no
   * further: nothing reaches the state machine or the history.
   */
  truncatedHeader(flags: number, time: number): void {
    if (this.packets++ === 0) this.start(flags, time);
    if (this.packets === 2) this.synAckFirst = false;
  }

  /** The connection's birth (IPBasedAnalyzer::NewConn and the TCP analyzer's constructor). */
  private start(flags: number, time: number): void {
    this.startTime = this.lastTime = time;
    // Without an initial SYN, guess the server by port: flip when the sender's port
    // looks like a server's and the receiver's does not (or both do, it is not a
    // SYN-ACK, and the receiver's port is the higher).
    const syn = (flags & TCP_SYN) !== 0;
    if (!syn || (flags & TCP_ACK) !== 0) {
      if (this.serverPorts.has(this.portA)) {
        const flip = this.serverPorts.has(this.portB) ? !syn && this.portA < this.portB : true;
        if (flip) this.flipRoles();
      }
    }
    // Remember a SYN-ACK that Zeek did not flip: the second packet may still do it.
    this.synAckFirst = this.origIsA && (flags & (TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST)) === (TCP_SYN | TCP_ACK);
    this.addExpireTimer(time + this.to.synTimeout);
    this.setInactivityTimeout(this.to.handshakeInactivity);
  }

  private flipAfterSynAck(): void {
    if (this.a.state !== ZEEK_TCP_SYN_ACK_SENT || this.b.state !== ZEEK_TCP_INACTIVE) return;
    this.flipRoles();
    // Now the responder, the SYN-ACK's sender stands as if its SYN-ACK had answered a SYN.
    this.setState(this.a, ZEEK_TCP_ESTABLISHED);
    this.firstPacketSeen |= 1;
  }

  /**
   * Swap originator and responder. The letters logged so far change case with
   * the roles and a '^' goes in front: Zeek's baselines show a flip on the
   * second packet as "^h..." (not "H^..."), as if the roles had been right
   * from the start. (Inferred from those logs: Connection::FlipRoles of the
   * Zeek sources at hand only appends '^', but there the history is empty.)
   */
  private flipRoles(): void {
    this.origIsA = !this.origIsA;
    const f = this.firstPacketSeen;
    this.firstPacketSeen = ((f & 1) !== 0 ? 2 : 0) | ((f & 2) !== 0 ? 1 : 0);
    this.isPartial = false;
    this.histSeen = ((this.histSeen & 0xffff) << 16) | ((this.histSeen >>> 16) & 0xffff);
    this.addHistory(CH_CARET); // moved to the front below
    const h = this.hist;
    for (let i = h.length - 1; i > 0; i--) {
      const c = h[i - 1]!;
      h[i] = c >= 65 && c <= 90 ? c + 32 : c >= 97 && c <= 122 ? c - 32 : c;
    }
    h[0] = CH_CARET;
  }

  private setState(e: Endpoint, s: ZeekTcpState): void {
    if (s === e.state) return;
    const peer = e === this.a ? this.b : this.a;
    // The handshake is over: the connection gets TCP's inactivity timeout.
    if (!isHandshake(s) && isHandshake(e.state) && isHandshake(peer.state)) this.setInactivityTimeout(this.to.tcpInactivity);
    e.prevState = e.state;
    e.state = s;
  }

  /** get_relative_seq; relSeqUnderflow reports a value before the endpoint's start. */
  private relativeSeq(e: Endpoint, cur: number, last: number, wraps: number): number {
    const d = seqDelta(cur, last);
    if (d < 0) {
      if (wraps > 0 && cur > last) wraps--;
    } else if (d > 0) {
      if (cur < last) wraps++;
    }
    if (wraps === 0) {
      const rel = seqDelta(cur, e.startSeq);
      this.relSeqUnderflow = rel < 0;
      return rel;
    }
    this.relSeqUnderflow = false;
    return wraps * TWO32 + cur - e.startSeq;
  }

  private process(endpoint: Endpoint, flags: number, seq32: number, ack32: number, len: number, window: number, t: number, captured: boolean): void {
    const baseSeq = seq32 >>> 0;
    const ackSeq = ack32 >>> 0;
    const peer = endpoint === this.a ? this.b : this.a;
    const isOrig = this.isOrig(endpoint);
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const ackf = (flags & TCP_ACK) !== 0;

    // SetPartialStatus.
    if (isOrig) {
      if ((this.firstPacketSeen & 1) === 0) this.isPartial = !syn || ackf;
    } else if ((this.firstPacketSeen & 2) === 0 && !this.isPartial) this.isPartial = !syn;

    // SYN and FIN take a sequence number each; a RST's data is not part of the stream.
    let segLen = len;
    if (syn) segLen++;
    if (fin) segLen++;
    if (rst) segLen -= len;
    const onePast = (baseSeq + segLen) >>> 0;

    this.initEndpoint(endpoint, syn, baseSeq, onePast);
    const relSeq = this.relativeSeq(endpoint, baseSeq, endpoint.lastSeq, endpoint.seqWraps);
    const seqUnderflow = this.relSeqUnderflow;

    this.updateHistory(endpoint, flags, relSeq, len);
    // A zero window is worth a 'W' unless it comes with or after a RST, or after the peer's FIN.
    if (window === 0 && !rst && peer.state !== ZEEK_TCP_CLOSED && endpoint.state !== ZEEK_TCP_RESET) this.scaledHistory(endpoint, SCALED_WIN0, 87 /* W */);

    if (!this.orig.didClose || !this.resp.didClose) this.lastTime = t;
    if (fin) {
      endpoint.finCnt++;
      endpoint.finSeq = relSeq + segLen;
    }

    let relAck = 0;
    if (ackf) {
      if (peer.state === ZEEK_TCP_INACTIVE) {
        // Number the silent peer as if its SYN had been seen.
        const s = (ackSeq - 1) >>> 0;
        peer.initSeqs(s, s);
        relAck = 1;
      } else {
        relAck = this.relativeSeq(peer, ackSeq, peer.ackSeq, peer.ackWraps);
        if (this.relSeqUnderflow) relAck = 0;
        // Acks in RSTs are not trusted, nor a jump to 0 far ahead (more likely broken than wrapped).
        else if (!rst) {
          const dAck = seqDelta(ackSeq, peer.ackSeq);
          if (!(ackSeq === 0 && dAck > TOO_LARGE_SEQ_DELTA) && dAck > 0) peer.updateAckSeq(ackSeq);
        }
      }
    }

    const deltaLast = this.updateLastSeq(endpoint, onePast, syn, fin, rst, len);

    this.doClose = false;
    this.genEvent = false;
    switch (endpoint.state) {
      case ZEEK_TCP_INACTIVE:
        this.inactiveState(endpoint, peer, isOrig, flags, baseSeq, len, t);
        break;
      case ZEEK_TCP_SYN_SENT:
      case ZEEK_TCP_SYN_ACK_SENT:
        this.synSentState(endpoint, fin, rst);
        break;
      case ZEEK_TCP_ESTABLISHED:
      case ZEEK_TCP_PARTIAL:
        this.establishedState(endpoint, peer, syn, fin, rst, ackf);
        break;
      case ZEEK_TCP_CLOSED:
        // A RST after our FIN resets us, unless the peer closed too (a finished exchange).
        if (rst && peer.state !== ZEEK_TCP_CLOSED) {
          this.setState(endpoint, ZEEK_TCP_RESET);
          if (!endpoint.didClose) this.doClose = true;
        }
        break;
      case ZEEK_TCP_RESET:
        break;
    }
    void deltaLast;

    // Only now, with the state updated, does the ack reach the peer's reassembler:
    // gaps an ack reveals in a FIN or RST exchange are not logged.
    if (ackf) this.ackReceived(peer, relAck);

    // CheckPIA_FirstPacket marks the side as seen.
    this.firstPacketSeen |= this.isOrig(endpoint) ? 1 : 2;

    // The payload goes to the reassembler (a SYN's data starts after the SYN).
    if (len > 0 && !rst && !seqUnderflow && captured) this.dataSent(endpoint, syn ? relSeq + 1 : relSeq, len);

    if (this.doClose) this.connectionClosed(endpoint, peer, this.genEvent);
  }

  // ---------------------------------------------------------------- reassembly

  /** TCP_Reassembler::DataSent: `len` bytes at relative `seq` from side `e`. */
  private dataSent(e: Endpoint, seq: number, len: number): void {
    if (e.skipDeliveries) return;
    let lo = seq;
    const hi = seq + len;
    // What the peer already acked was delivered (or given up) before.
    const acked = e.ackWraps * TWO32 + e.ackSeq - e.startSeq;
    if (lo < acked) {
      if (hi <= acked) return;
      lo = acked;
    }
    if (hi <= e.trimmed) return;
    if (lo < e.trimmed) lo = e.trimmed;
    if (lo <= e.reassembled) {
      if (hi > e.reassembled) {
        e.reassembled = hi;
        this.deliverBuffered(e);
        // Much data and no ack at all: the acks are not being seen, stop holding the data.
        if (e.noDataAcked() && this.size(e) > MAX_INITIAL_WINDOW) this.trimTo(e, e.reassembled);
      }
    } else this.insertBlock(e, lo, hi);
    let above = 0;
    if (e.blockCount > 0) {
      const b = e.blocks;
      for (let i = 0; i < e.blockCount; i++) above += b[2 * i + 1]! - b[2 * i]!;
    }
    if (e.noDataAcked() && above > MAX_ABOVE_HOLE_WITHOUT_ACKS) {
      e.blockCount = 0;
      e.skipDeliveries = true;
    } else if (above + (e.reassembled - e.trimmed) > EXCESSIVE_DATA_WITHOUT_ACKS) {
      e.blockCount = 0;
      e.skipDeliveries = true;
    }
  }

  /** Keep [lo, hi) as data above a hole, merged with what it touches. */
  private insertBlock(e: Endpoint, lo: number, hi: number): void {
    const b = e.blocks;
    let n = e.blockCount;
    let i = 0;
    while (i < n && b[2 * i + 1]! < lo) i++;
    // Merge every block that overlaps or touches [lo, hi).
    let j = i;
    while (j < n && b[2 * j]! <= hi) {
      if (b[2 * j]! < lo) lo = b[2 * j]!;
      if (b[2 * j + 1]! > hi) hi = b[2 * j + 1]!;
      j++;
    }
    if (j === i && n === MAX_BLOCKS) {
      // No room: join the new range to its neighbour (the extent is all gaps depend on).
      if (i === n) i--;
      if (b[2 * i]! < lo) lo = b[2 * i]!;
      if (b[2 * i + 1]! > hi) hi = b[2 * i + 1]!;
      j = i + 1;
    }
    // Replace blocks i..j-1 with the merged one.
    const removed = j - i;
    if (removed === 0) {
      for (let k = n; k > i; k--) {
        b[2 * k] = b[2 * k - 2]!;
        b[2 * k + 1] = b[2 * k - 1]!;
      }
      n++;
    } else if (removed > 1) {
      for (let k = i + 1; k + removed - 1 < n; k++) {
        b[2 * k] = b[2 * (k + removed - 1)]!;
        b[2 * k + 1] = b[2 * (k + removed - 1) + 1]!;
      }
      n -= removed - 1;
    }
    b[2 * i] = lo;
    b[2 * i + 1] = hi;
    e.blockCount = n;
  }

  /** Deliver buffered blocks that now continue the stream. */
  private deliverBuffered(e: Endpoint): void {
    if (e.blockCount === 0) return;
    const b = e.blocks;
    let k = 0;
    while (k < e.blockCount && b[2 * k]! <= e.reassembled) {
      if (b[2 * k + 1]! > e.reassembled) e.reassembled = b[2 * k + 1]!;
      k++;
    }
    if (k > 0) this.dropBlocks(e, k);
  }

  private dropBlocks(e: Endpoint, k: number): void {
    if (e.blockCount === 0) return;
    const b = e.blocks;
    for (let i = k; i < e.blockCount; i++) {
      b[2 * (i - k)] = b[2 * i]!;
      b[2 * (i - k) + 1] = b[2 * i + 1]!;
    }
    e.blockCount -= k;
  }

  /** TCP_Reassembler::AckReceived: the peer acked up to relative `seq` of side `e`'s data. */
  private ackReceived(e: Endpoint, seq: number): void {
    // The FIN's own sequence number is no data.
    if (e.finCnt > 0 && seq >= e.finSeq) seq = e.finSeq - 1;
    if (seq <= e.trimmed) return;
    this.trimTo(e, seq);
  }

  /** Reassembler::TrimToSeq: forget data below `seq`; bytes never seen there are a gap. */
  private trimTo(e: Endpoint, seq: number): void {
    if (seq > e.reassembled) this.undelivered(e, seq);
    if (seq > e.trimmed) e.trimmed = seq;
  }

  /** TCP_Reassembler::Undelivered: give up on everything below `upTo`. */
  private undelivered(e: Endpoint, upTo: number): void {
    // A partial connection's first ack may point one or two octets past the
    // numbering faked for it: no gap there.
    if (upTo <= 2 && this.isPartial) return;
    if (!e.skipDeliveries) {
      while (e.blockCount > 0 && e.blocks[0]! < upTo) {
        if (e.blocks[0]! > e.reassembled) this.gap(e);
        e.reassembled = e.blocks[0]!;
        this.deliverBuffered(e);
      }
      if (upTo > e.reassembled) this.gap(e);
    }
    if (upTo > e.reassembled) e.reassembled = upTo;
  }

  /** TCP_Reassembler::Gap: logged only while both sides are established or cleanly closing. */
  private gap(e: Endpoint): void {
    const peer = e === this.a ? this.b : this.a;
    if (isClean(e) && isClean(peer)) this.scaledHistory(e, SCALED_GAP, 71 /* G */);
  }

  private initEndpoint(e: Endpoint, syn: boolean, firstSeq: number, lastSeq: number): void {
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

  /** update_last_seq: advance the sender's highest sequence number, or count a retransmission. */
  private updateLastSeq(e: Endpoint, lastSeq: number, syn: boolean, fin: boolean, rst: boolean, len: number): number {
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
      // Payload that does not advance the sequence: a retransmission ('T').
      this.scaledHistory(e, SCALED_RXMIT, 84 /* T */);
    }
    return d;
  }

  private inactiveState(endpoint: Endpoint, peer: Endpoint, isOrig: boolean, flags: number, baseSeq: number, len: number, t: number): void {
    const syn = (flags & TCP_SYN) !== 0;
    const ackf = (flags & TCP_ACK) !== 0;
    if (syn) {
      if (isOrig) {
        this.setState(endpoint, ackf ? ZEEK_TCP_SYN_ACK_SENT : ZEEK_TCP_SYN_SENT);
        this.attemptAt = t + this.to.attemptDelay;
      } else {
        if (!ackf && peer.state === ZEEK_TCP_SYN_ACK_SENT && baseSeq === endpoint.startSeq) {
          // The SYN-ACK was seen before the SYN: swap the roles and call it established.
          this.isPartial = false;
          this.flipRoles();
          this.setState(peer, ZEEK_TCP_ESTABLISHED);
          this.firstPacketSeen |= 1;
        }
        if (peer.state === ZEEK_TCP_SYN_SENT) this.setState(peer, ZEEK_TCP_ESTABLISHED);
        this.setState(endpoint, ZEEK_TCP_ESTABLISHED);
      }
    }
    if (flags & TCP_FIN) {
      this.setState(endpoint, ZEEK_TCP_CLOSED);
      this.doClose = this.genEvent = true;
    }
    if (flags & TCP_RST) {
      this.setState(endpoint, ZEEK_TCP_RESET);
      // A reject (RST answering a SYN, or an originator's RST to a SYN-ACK) raises no
      // "finished" event; nothing here changes the connection's activity either way.
      let reject = false;
      if (isOrig) reject = peer.state === ZEEK_TCP_ESTABLISHED;
      else reject = peer.state === ZEEK_TCP_SYN_SENT || peer.state === ZEEK_TCP_SYN_ACK_SENT;
      this.doClose = true;
      this.genEvent = !reject;
    }
    if (endpoint.state === ZEEK_TCP_INACTIVE) {
      if (!isOrig && len === 0 && this.orig.state === ZEEK_TCP_SYN_SENT) {
        // An ACK to a SYN before the SYN-ACK (some stacks do it): not yet a partial connection.
      } else if (ackf && peer.state === ZEEK_TCP_ESTABLISHED) {
        // We saw the SYN-ACK but missed the SYN: establish rather than call it partial.
        this.setState(endpoint, ZEEK_TCP_ESTABLISHED);
        this.isPartial = false;
        this.firstPacketSeen |= isOrig ? 1 : 2;
      } else {
        this.setState(endpoint, ZEEK_TCP_PARTIAL);
      }
    }
  }

  private synSentState(endpoint: Endpoint, fin: boolean, rst: boolean): void {
    if (fin) {
      this.setState(endpoint, ZEEK_TCP_CLOSED);
      this.doClose = this.genEvent = true;
    }
    if (rst) {
      this.setState(endpoint, ZEEK_TCP_RESET);
      this.active = false; // ConnectionReset
      this.doClose = true;
    }
  }

  private establishedState(endpoint: Endpoint, peer: Endpoint, syn: boolean, fin: boolean, rst: boolean, ackf: boolean): void {
    if (syn && endpoint.state === ZEEK_TCP_PARTIAL && peer.state === ZEEK_TCP_INACTIVE && !ackf) {
      // A SYN after partial traffic from a side whose peer never spoke: start over.
      this.setState(endpoint, ZEEK_TCP_SYN_SENT);
    }
    if (fin && !rst) {
      this.setState(endpoint, ZEEK_TCP_CLOSED);
      // The peer's FIN then RST was a normal close after all.
      if (peer.state === ZEEK_TCP_RESET && peer.prevState === ZEEK_TCP_CLOSED) this.setState(peer, ZEEK_TCP_CLOSED);
      this.doClose = this.genEvent = true;
    }
    if (rst) {
      this.setState(endpoint, ZEEK_TCP_RESET);
      this.doClose = true;
      if (peer.state !== ZEEK_TCP_RESET || peer.prevState !== ZEEK_TCP_ESTABLISHED) this.active = false; // ConnectionReset
    }
  }

  /** TCPSessionAdapter::ConnectionClosed: schedule the connection's end. */
  private connectionClosed(endpoint: Endpoint, peer: Endpoint, genEvent: boolean): void {
    if (endpoint.didClose) return;
    endpoint.didClose = true;
    const complete = endpoint.state === ZEEK_TCP_RESET || peer.didClose || peer.state === ZEEK_TCP_INACTIVE;
    if (complete) {
      if ((endpoint.prevState !== ZEEK_TCP_INACTIVE || peer.state !== ZEEK_TCP_INACTIVE) && genEvent) this.active = false; // ConnectionFinished
      this.cancelAnalyzerTimers();
      this.deleteAt = this.lastTime + this.to.closeDelay;
    } else if (endpoint.prevState !== ZEEK_TCP_INACTIVE) {
      // Half closed: look again later for the other side closing.
      this.addExpireTimer(this.lastTime + this.to.sessionTimer);
    }
  }
}

defineBitFlags(ZeekConnState.prototype, 'flagBits', [
  'origIsA',
  'removed',
  'active',
  'isPartial',
  'synAckFirst',
  'relSeqUnderflow',
  'doClose',
  'genEvent',
] satisfies (keyof ZeekConnState)[]);
