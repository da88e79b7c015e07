import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../decode/packet.js';
import { defineBitFlags, type BitFlagFields } from '../../util/bit-flags.js';
import { connStateName, type ZeekConnStateName } from './conn-state.js';
import {
  Endpoint, endpointSize, isClean, isHandshake, ZEEK_TCP_CLOSED, ZEEK_TCP_ESTABLISHED, ZEEK_TCP_INACTIVE, ZEEK_TCP_PARTIAL, ZEEK_TCP_RESET,
  ZEEK_TCP_SYN_ACK_SENT, ZEEK_TCP_SYN_SENT, type ZeekTcpState,
} from './endpoint.js';
import {
  appendLetter, CASE_OFFSET, flipLetters, H_ACK, H_BAD_CHECKSUM, H_DATA, H_FIN, H_FIN_RST, H_GAP, H_MULTI_FLAG, H_RETRANSMIT, H_RST, H_SYN,
  H_SYN_ACK, H_ZERO_WINDOW, HIST_ACK_PKT, HIST_DATA_PKT, HIST_FIN_PKT, HIST_FIN_RST_PKT, HIST_MULTI_FLAG_PKT, HIST_RST_PKT, HIST_SYN_PKT,
  historyString, ScaledLetters,
} from './history.js';
import { ackReceived, dataSent } from './reassembly.js';
import { initEndpoint, relativeSeq, seqDelta, TOO_LARGE_SEQ_DELTA, updateLastSeq } from './sequence.js';
import { isReuse, ZEEK_DEFAULT_TIMEOUTS, ZeekTimers, type ZeekTimeouts } from './timers.js';

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
  /**
   * End the connection where Zeek would log it and open a new one on the tuple:
   * when its timers run out before a segment, or a SYN reuses the tuple
   * (TCPSessionAdapter::IsReuse). segment() then turns the segment away for the
   * caller to give to a new connection. Off, the connection takes every segment
   * (tcpsleuth's tracker splits connections its own way).
   */
  sessionRules?: boolean;
}

// What segment() did with the segment.
/** Added to this connection. */
export const ZEEK_SEGMENT_ADDED = 0;
/** Not added: Zeek's timers had ended this connection by the segment's time. */
export const ZEEK_SEGMENT_TIMED_OUT = 1;
/** Not added: the segment, a SYN, reuses the tuple; this connection ends. */
export const ZEEK_SEGMENT_REUSED = 2;
export type ZeekSegmentResult = 0 | 1 | 2;

// What a state handler asks of the segment's end (bits).
/** The sender closed or reset: TCPSessionAdapter::ConnectionClosed. */
const CLOSED = 1;
/** ... and it is no reject: Zeek raises its "finished" event. */
const CLOSED_EVENT = 2;

/** ZeekConnState's booleans, one bit each of flagBits (defineBitFlags): this list is their only declaration, the class's type takes them from it. */
const ZEEK_FLAGS = [
  /** Which side Zeek calls the originator: A (the first packet's sender) unless Zeek flipped the roles. */
  'origIsA',
  /** Zeek has logged this connection (sessionRules only): its timers ended it, or a SYN reused the tuple. */
  'removed',
  /** is_active: cleared once Zeek reported the connection finished, reset or failed. */
  'active',
  /** No SYN began it (Zeek's is_partial). */
  'isPartial',
  /** The first packet was a SYN-ACK left unflipped; cleared by the second packet. */
  'synAckFirst',
] as const;

export interface ZeekConnState extends BitFlagFields<typeof ZEEK_FLAGS> {}

/**
 * Zeek's view of one TCP connection: the endpoint state machine, the `history`
 * string and the `conn_state` of conn.log, and (with `sessionRules`) the timers
 * that decide when Zeek logs a connection and starts a new one on the same
 * 4-tuple.
 *
 * This follows Zeek's TCP analyzer (TCPSessionAdapter, TCP_Endpoint, TCP.cc)
 * and base/protocols/conn (conn_state()). It is fed one segment at a time and
 * allocates nothing per segment (only the rare segment that adds a history letter).
 *
 * Directions are given relative to "A", the sender of the connection's first
 * packet; Zeek's originator is A unless its heuristics flipped the roles
 * (`origIsA`).
 */
export class ZeekConnState {
  private readonly a = new Endpoint(true);
  private readonly b = new Endpoint(false);
  private readonly ignoreChecksums: boolean;
  private readonly serverPorts: ReadonlySet<number>;
  private readonly to: Readonly<ZeekTimeouts>;

  /** The booleans of ZEEK_FLAGS, one bit each (the internal ones are not private only for that). */
  flagBits = 0;
  /** Packets given to segment(), bad-checksum ones included. */
  packets = 0;
  /** Time of the first packet (Zeek's start_time) and of the last one that counted (last_time). */
  startTime = 0;
  lastTime = 0;

  /** History letters as char codes (history.ts). */
  private hist: number[] = [];
  /** HIST_* masks seen: the originator's in the low 16 bits, the responder's above. */
  private histSeen = 0;
  private firstPacketSeen = 0; // 1 = orig, 2 = resp
  /** Zeek's timers, kept with sessionRules only: nothing else looks at them. */
  private readonly timers: ZeekTimers | null;

  constructor(
    private readonly portA: number,
    private readonly portB: number,
    options: ZeekConnOptions = {},
  ) {
    this.ignoreChecksums = options.ignoreChecksums ?? false;
    this.serverPorts = options.likelyServerPorts ?? ZEEK_BASE_LIKELY_SERVER_PORTS;
    // Shared unless the caller changed them: an object per connection is memory per connection.
    this.to = options.timeouts ? { ...ZEEK_DEFAULT_TIMEOUTS, ...options.timeouts } : ZEEK_DEFAULT_TIMEOUTS;
    this.timers = options.sessionRules === true ? new ZeekTimers() : null;
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
    return historyString(this.hist);
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
    return connStateName(this.orig.state, this.resp.state, this.origBytes === 0 && this.respBytes === 0, this.hist);
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
    return endpointSize(e, e === this.a ? this.b : this.a);
  }

  // ---------------------------------------------------------------- history

  private addHistory(code: number): void {
    this.hist = appendLetter(this.hist, code);
  }

  /** Log `code` the first time its mask is seen for this side (Session::CheckHistory); true if seen before. */
  private checkHistory(e: Endpoint, mask: number, code: number): boolean {
    if (!this.isOrig(e)) {
      mask <<= 16;
      code += CASE_OFFSET;
    }
    if ((this.histSeen & mask) === 0) {
      this.histSeen |= mask;
      this.addHistory(code);
      return false;
    }
    return true;
  }

  private addEndpointHistory(e: Endpoint, code: number): void {
    this.addHistory(this.isOrig(e) ? code : code + CASE_OFFSET);
  }

  private updateHistory(e: Endpoint, flags: number, relSeq: number, len: number): void {
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (bits > 1) {
      if (fin && rst) this.checkHistory(e, HIST_FIN_RST_PKT, H_FIN_RST);
      else this.checkHistory(e, HIST_MULTI_FLAG_PKT, H_MULTI_FLAG);
    } else if (bits === 1) {
      // SYN, FIN and RST are logged again when their sequence number moves.
      if (syn) {
        const code = flags & TCP_ACK ? H_SYN_ACK : H_SYN;
        if (this.checkHistory(e, HIST_SYN_PKT, code) && relSeq !== e.histLastSyn) this.addEndpointHistory(e, code);
        e.histLastSyn = relSeq;
      }
      if (fin) {
        // A FIN's sequence number is the one after its data.
        if (this.checkHistory(e, HIST_FIN_PKT, H_FIN) && relSeq + len !== e.histLastFin) this.addEndpointHistory(e, H_FIN);
        e.histLastFin = relSeq + len;
      }
      if (rst) {
        if (this.checkHistory(e, HIST_RST_PKT, H_RST) && relSeq !== e.histLastRst) this.addEndpointHistory(e, H_RST);
        e.histLastRst = relSeq;
      }
    } else if (len > 0) this.checkHistory(e, HIST_DATA_PKT, H_DATA);
    else if (flags & TCP_ACK) this.checkHistory(e, HIST_ACK_PKT, H_ACK);
  }

  /** The counts of `e`'s logarithmically logged letters, allocated on the first. */
  private scaled(e: Endpoint): ScaledLetters {
    return (e.scaled ??= new ScaledLetters());
  }

  /** `gaps` content gaps in `e`'s stream (TCP_Reassembler::Gap): logged only while both sides are established or cleanly closing. */
  private gaps(e: Endpoint, gaps: number): void {
    if (gaps === 0 || !isClean(e) || !isClean(e === this.a ? this.b : this.a)) return;
    for (let i = 0; i < gaps; i++) if (this.scaled(e).gap()) this.addEndpointHistory(e, H_GAP);
  }

  // ---------------------------------------------------------------- packets

  /**
   * One TCP segment of this connection. `fromA`: sent by A (the first
   * packet's sender). `len`: payload length from the IP header. `window`: the
   * raw window field. `checksumOk`: tcpChecksumOk's answer (null: unknown, taken
   * as good). `time`: capture timestamp in seconds. `payloadCaptured`: all of
   * the payload is in the capture (Zeek's reassembler takes only whole
   * segments; the rest become content gaps once acked). `headerCaptured`: the
   * whole TCP header is (options included); Zeek opens the connection for a
   * segment without it, and may flip roles by its flags, but goes no further.
   * Returns ZEEK_SEGMENT_ADDED unless sessionRules turned the segment away.
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
    headerCaptured = true,
  ): ZeekSegmentResult {
    const tm = this.timers;
    if (tm !== null) {
      if (!this.removed && tm.nextAt <= time && tm.run(time, this.orig, this.resp, this.lastTime, this.active, this.to)) this.removed = true;
      if (this.removed) return ZEEK_SEGMENT_TIMED_OUT;
      if (this.packets > 0 && isReuse(this.orig, this.resp, flags, seq >>> 0)) {
        this.removed = true;
        return ZEEK_SEGMENT_REUSED;
      }
    }
    if (this.packets++ === 0) this.start(flags, time);
    if (!headerCaptured) {
      if (this.packets === 2) this.synAckFirst = false;
      return ZEEK_SEGMENT_ADDED;
    }
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
      if (this.scaled(endpoint).checksum()) this.addEndpointHistory(endpoint, H_BAD_CHECKSUM);
      return ZEEK_SEGMENT_ADDED;
    }
    // As int32 across the call (the same bits): a uint32 above 2^31 would be a heap number per argument.
    this.process(endpoint, flags, seq | 0, ack | 0, len, window, time, payloadCaptured);
    return ZEEK_SEGMENT_ADDED;
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
    const tm = this.timers;
    if (tm !== null) {
      tm.addExpire(time + this.to.synTimeout);
      tm.setInactivityTimeout(this.to.handshakeInactivity, this.lastTime);
    }
  }

  private flipAfterSynAck(): void {
    if (this.a.state !== ZEEK_TCP_SYN_ACK_SENT || this.b.state !== ZEEK_TCP_INACTIVE) return;
    this.flipRoles();
    // Now the responder, the SYN-ACK's sender stands as if its SYN-ACK had answered a SYN.
    this.setState(this.a, ZEEK_TCP_ESTABLISHED);
    this.firstPacketSeen |= 1;
  }

  /** Swap originator and responder; the history follows (flipLetters). */
  private flipRoles(): void {
    this.origIsA = !this.origIsA;
    const f = this.firstPacketSeen;
    this.firstPacketSeen = ((f & 1) !== 0 ? 2 : 0) | ((f & 2) !== 0 ? 1 : 0);
    this.isPartial = false;
    this.histSeen = ((this.histSeen & 0xffff) << 16) | ((this.histSeen >>> 16) & 0xffff);
    this.hist = flipLetters(this.hist);
  }

  private setState(e: Endpoint, s: ZeekTcpState): void {
    if (s === e.state) return;
    const peer = e === this.a ? this.b : this.a;
    // The handshake is over: the connection gets TCP's inactivity timeout.
    if (this.timers !== null && !isHandshake(s) && isHandshake(e.state) && isHandshake(peer.state))
      this.timers.setInactivityTimeout(this.to.tcpInactivity, this.lastTime);
    e.prevState = e.state;
    e.state = s;
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

    initEndpoint(endpoint, syn, baseSeq, onePast);
    // Negative: before the endpoint's start (get_relative_seq's underflow).
    const relSeq = relativeSeq(endpoint, baseSeq, endpoint.lastSeq, endpoint.seqWraps);

    this.updateHistory(endpoint, flags, relSeq, len);
    // A zero window is worth a 'W' unless it comes with or after a RST, or after the peer's FIN.
    if (window === 0 && !rst && peer.state !== ZEEK_TCP_CLOSED && endpoint.state !== ZEEK_TCP_RESET && this.scaled(endpoint).zeroWindow())
      this.addEndpointHistory(endpoint, H_ZERO_WINDOW);

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
        relAck = relativeSeq(peer, ackSeq, peer.ackSeq, peer.ackWraps);
        if (relAck < 0) relAck = 0;
        // Acks in RSTs are not trusted, nor (Zeek's rule, TCP.cc) a jump to 0 far ahead: more likely broken than wrapped.
        else if (!rst) {
          const dAck = seqDelta(ackSeq, peer.ackSeq);
          if (!(ackSeq === 0 && dAck > TOO_LARGE_SEQ_DELTA) && dAck > 0) peer.updateAckSeq(ackSeq);
        }
      }
    }

    if (updateLastSeq(endpoint, onePast, syn, fin, rst, len) && this.scaled(endpoint).retransmit()) this.addEndpointHistory(endpoint, H_RETRANSMIT);

    let close = 0;
    switch (endpoint.state) {
      case ZEEK_TCP_INACTIVE:
        close = this.inactiveState(endpoint, peer, isOrig, flags, baseSeq, len, t);
        break;
      case ZEEK_TCP_SYN_SENT:
      case ZEEK_TCP_SYN_ACK_SENT:
        close = this.synSentState(endpoint, fin, rst);
        break;
      case ZEEK_TCP_ESTABLISHED:
      case ZEEK_TCP_PARTIAL:
        close = this.establishedState(endpoint, peer, syn, fin, rst, ackf);
        break;
      case ZEEK_TCP_CLOSED:
        // A RST after our FIN resets us, unless the peer closed too (a finished exchange).
        if (rst && peer.state !== ZEEK_TCP_CLOSED) {
          this.setState(endpoint, ZEEK_TCP_RESET);
          if (!endpoint.didClose) close = CLOSED;
        }
        break;
      case ZEEK_TCP_RESET:
        break;
    }

    // Only now, with the state updated, does the ack reach the peer's reassembler:
    // gaps an ack reveals in a FIN or RST exchange are not logged.
    if (ackf) this.gaps(peer, ackReceived(peer, relAck, this.isPartial));

    // CheckPIA_FirstPacket marks the side as seen.
    this.firstPacketSeen |= this.isOrig(endpoint) ? 1 : 2;

    // The payload goes to the reassembler (a SYN's data starts after the SYN).
    if (len > 0 && !rst && relSeq >= 0 && captured) this.gaps(endpoint, dataSent(endpoint, peer, syn ? relSeq + 1 : relSeq, len, this.isPartial));

    if (close !== 0) this.connectionClosed(endpoint, peer, (close & CLOSED_EVENT) !== 0);
  }

  /** The state machine for a side not heard from before; returns CLOSED bits. */
  private inactiveState(endpoint: Endpoint, peer: Endpoint, isOrig: boolean, flags: number, baseSeq: number, len: number, t: number): number {
    const syn = (flags & TCP_SYN) !== 0;
    const ackf = (flags & TCP_ACK) !== 0;
    let close = 0;
    if (syn) {
      if (isOrig) {
        this.setState(endpoint, ackf ? ZEEK_TCP_SYN_ACK_SENT : ZEEK_TCP_SYN_SENT);
        if (this.timers !== null) this.timers.attemptAt = t + this.to.attemptDelay;
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
      close = CLOSED | CLOSED_EVENT;
    }
    if (flags & TCP_RST) {
      this.setState(endpoint, ZEEK_TCP_RESET);
      // A reject (RST answering a SYN, or an originator's RST to a SYN-ACK) raises no
      // "finished" event; nothing here changes the connection's activity either way.
      let reject = false;
      if (isOrig) reject = peer.state === ZEEK_TCP_ESTABLISHED;
      else reject = peer.state === ZEEK_TCP_SYN_SENT || peer.state === ZEEK_TCP_SYN_ACK_SENT;
      close = reject ? CLOSED : CLOSED | CLOSED_EVENT;
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
    return close;
  }

  /** The state machine after this side's SYN or SYN-ACK; returns CLOSED bits. */
  private synSentState(endpoint: Endpoint, fin: boolean, rst: boolean): number {
    let close = 0;
    if (fin) {
      this.setState(endpoint, ZEEK_TCP_CLOSED);
      close = CLOSED | CLOSED_EVENT;
    }
    if (rst) {
      this.setState(endpoint, ZEEK_TCP_RESET);
      this.active = false; // ConnectionReset
      close |= CLOSED;
    }
    return close;
  }

  /** The state machine once established (or partial); returns CLOSED bits. */
  private establishedState(endpoint: Endpoint, peer: Endpoint, syn: boolean, fin: boolean, rst: boolean, ackf: boolean): number {
    let close = 0;
    if (syn && endpoint.state === ZEEK_TCP_PARTIAL && peer.state === ZEEK_TCP_INACTIVE && !ackf) {
      // A SYN after partial traffic from a side whose peer never spoke: start over.
      this.setState(endpoint, ZEEK_TCP_SYN_SENT);
    }
    if (fin && !rst) {
      this.setState(endpoint, ZEEK_TCP_CLOSED);
      // The peer's FIN then RST was a normal close after all.
      if (peer.state === ZEEK_TCP_RESET && peer.prevState === ZEEK_TCP_CLOSED) this.setState(peer, ZEEK_TCP_CLOSED);
      close = CLOSED | CLOSED_EVENT;
    }
    if (rst) {
      this.setState(endpoint, ZEEK_TCP_RESET);
      close = CLOSED;
      if (peer.state !== ZEEK_TCP_RESET || peer.prevState !== ZEEK_TCP_ESTABLISHED) this.active = false; // ConnectionReset
    }
    return close;
  }

  /** TCPSessionAdapter::ConnectionClosed: schedule the connection's end. */
  private connectionClosed(endpoint: Endpoint, peer: Endpoint, genEvent: boolean): void {
    if (endpoint.didClose) return;
    endpoint.didClose = true;
    const complete = endpoint.state === ZEEK_TCP_RESET || peer.didClose || peer.state === ZEEK_TCP_INACTIVE;
    if (complete) {
      if ((endpoint.prevState !== ZEEK_TCP_INACTIVE || peer.state !== ZEEK_TCP_INACTIVE) && genEvent) this.active = false; // ConnectionFinished
      if (this.timers !== null) {
        this.timers.cancelAnalyzerTimers();
        this.timers.deleteAt = this.lastTime + this.to.closeDelay;
      }
    } else if (endpoint.prevState !== ZEEK_TCP_INACTIVE && this.timers !== null) {
      // Half closed: look again later for the other side closing.
      this.timers.addExpire(this.lastTime + this.to.sessionTimer);
    }
  }
}

defineBitFlags(ZeekConnState.prototype, 'flagBits', ZEEK_FLAGS);
