import { defineBitFlags, type BitFlagFields } from '../util/bit-flags.js';
import { defineSideFields } from '../util/side-fields.js';
import { grownCopy } from '../util/exact-array.js';
import type { Moment } from './moment.js';
import type { TcpState } from './states.js';
import { seqGt } from './seq.js';

export interface Transition {
  from: TcpState;
  to: TcpState;
  at: Moment;
  /** What on the wire (or on the clock) caused it, in a few words. */
  why: string;
}

/** Transitions kept per endpoint: a real connection has a dozen at most; a hostile one is cut. */
const MAX_TRANSITIONS = 32;
/** Slots per transition in Endpoint's log: the state entered, why, when. */
const LOG_SLOTS = 3;
/** Retransmission times kept for back-off reporting. */
const MAX_RETRANS_TIMES = 24;
const NO_TIMES: readonly number[] = Object.freeze([]);

/** Endpoint's booleans, one bit each of flagBits (defineBitFlags): this list is their only declaration, Endpoint's type takes them from it. */
const ENDPOINT_FLAGS = [
  /** The state was inferred from a connection already under way when the capture began. */
  'inferred',
  /** Its SYN was seen: isn is valid. */
  'isnKnown',
  /** It sent something with a sequence number: sndNxt is valid. */
  'seqKnown',
  /** It sent a FIN: finSeq and finAt are valid. */
  'finSeen',
  /** The peer acknowledged the FIN. */
  'finAcked',
  /** The RST carried ACK (Linux: an abortive close) or not (an answer to a segment for no socket). */
  'rstHadAck',
  /** It acknowledged the peer's SYN. */
  'gotPeerSyn',
  /** It acknowledged (or must have received) the peer's FIN. */
  'gotPeerFin',
  /** It sent an ACK: highestAck and firstAck are valid. */
  'ackKnown',
  /**
   * It sent its SYN-ACK again after the peer had acknowledged it: it had not taken
   * that ACK (a full accept queue drops it), so it is ESTABLISHED only once its own
   * segments show it took the connection.
   */
  'ackDropped',
  /** It sent an MPTCP MP_FASTCLOSE (RFC 8684 3.5): a RST that follows answers a protocol close. */
  'mptcpFastClose',
  /** It sent a segment without RST after its first RST: whatever sent that RST, it was not this endpoint's closing. */
  'sentAfterRst',
  /** A RST was taken back once: a side that goes on after RSTs again and again (a raw socket, a scanner) stays CLOSED. */
  'resetUndone',
] as const;

export interface Endpoint extends BitFlagFields<typeof ENDPOINT_FLAGS> {}

/**
 * One side of a connection, as the packets it sent and the acknowledgments it
 * received show it: its RFC 9293 state and the facts the detectors read.
 * One object per side, like Zeek's TCP_Endpoint.
 */
export class Endpoint {
  state: TcpState;
  /** When the current state was entered. */
  since: Moment;
  /** The state it started in (the first transition's `from`). */
  readonly initialState: TcpState;
  /**
   * The transitions, LOG_SLOTS slots each (to, why, at: `from` is the one before's
   * `to`), in one exact-size array replaced by enter(): an object per transition, or
   * a pushed array's reserved slots, would be a large share of a closed connection's memory.
   * `transitions` rebuilds the objects, for reports.
   */
  private log: readonly (string | Moment)[] = [];
  declare transitionsDropped: number;
  /** The booleans of ENDPOINT_FLAGS, one bit each. */
  flagBits = 0;

  // What this endpoint sent (its send sequence space). Sequence numbers are int32
  // (seq.ts): `>>> 0` gives the number as the wire has it.
  /** Initial sequence number, valid when isnKnown (its SYN was seen). */
  isn = 0;
  /** Sequence number after the highest byte (or SYN/FIN) sent; valid when seqKnown. */
  sndNxt = 0;
  /** Sequence number its FIN occupies, valid when finSeen (it sent one). */
  finSeq = 0;
  finAt: Moment | null = null;
  /** Its RST, if it sent one that ended the connection or answered a segment. */
  rstAt: Moment | null = null;
  synCount = 0;
  firstSynAt: Moment | null = null;
  lastSynAt: Moment | null = null;
  synAckAt: Moment | null = null;

  // What it received, as its acknowledgments prove.
  /** Highest acknowledgment number it sent (int32, as the sequence numbers), and its first. */
  highestAck = 0;
  firstAck = 0;
  /** Last advertised window, raw and scaled (scale -1 until known, treated as 0). */
  window = 0;
  windowScale = -1;
  mss = -1;
  /** RSTs it received that were not acceptable (RFC 9293 3.10.7.4 / RFC 5961) and so changed nothing. */
  declare ignoredRsts: number;

  /**
   * Facts of what it sent, packed in one small integer. IP TTLs (hop limits): bits 0-7 the
   * lowest and 8-15 the highest of its first segments without RST (the tracker notes
   * those: a host keeps one TTL for a connection), 16-23 its last RST's,
   * bit 24 set once a segment without RST was seen, bit 25 once a RST was. A RST
   * whose TTL is outside the others' range came from somewhere else (a middlebox).
   * Bits 26-27 count its first segments without payload whose TCP checksum was
   * checked (up to 3), bits 28-29 how many of them were wrong: a host's own
   * outgoing segments, captured before its NIC fills the checksum in, are all wrong.
   */
  sentFacts = 0;

  // Traffic.
  packets = 0;
  payloadBytes = 0;
  ipBytes = 0;
  flags = 0;
  firstDataAt: Moment | null = null;
  /** Last data segment (primitives: updated per packet, so no object). */
  lastDataSec = 0;
  lastDataNsec = 0;
  lastDataFrame = 0;
  lastDataCapture = 0;
  lastSentSec = 0;
  lastSentNsec = 0;
  lastSentFrame = 0;
  lastSentCapture = 0;
  /** The flags of the last segment it sent (TCP_* bits). */
  lastFlags = 0;
  /** RSTs it sent. */
  declare rstPackets: number;
  /** The state a RST (sent or taken) closed it from, until it shows the RST did not end it there. */
  declare resetFrom: TcpState | null;
  /** Payload bytes it sent after its peer's FIN was sent, and the first such segment. */
  declare dataAfterPeerFin: number;
  declare dataAfterPeerFinAt: Moment | null;

  /** Segments it sent again (payload or FIN below sndNxt), and probes (seq = SND.UNA - 1). */
  retransmissions = 0;
  declare probes: number;
  /** Retransmissions and probes since the peer last sent anything: the half-open signal. */
  unanswered = 0;
  /** Seconds (since unansweredFirst) of each unanswered retransmission, for the back-off intervals; null when none. */
  private times: number[] | null = null;
  /** The first of the run (of the last run, once answered); null before any. */
  unansweredFirst: Moment | null = null;
  /** Sequence number (int32) of the run's latest counted retransmission or probe. */
  unansweredSeq = 0;
  /** How many of the unanswered run (of the last run, once answered) were keep-alive or window probes. */
  unansweredProbes = 0;

  /** Zero-window episodes this endpoint advertised (it stopped reading). */
  declare zeroWindowSince: Moment | null;
  declare zeroWindowEpisodes: number;
  declare zeroWindowLongest: number;
  declare zeroWindowLongestAt: Moment | null;
  declare zeroWindowProbesReceived: number;

  /** The fields declared above but kept in EndpointExtras (most endpoints never set them), once one is set. */
  extras: EndpointExtras | null = null;

  constructor(
    readonly role: 'client' | 'server',
    initial: TcpState,
    at: Moment,
  ) {
    this.state = initial;
    this.initialState = initial;
    this.since = at;
  }

  /** Move to `to`, remembering when, where and why. */
  enter(to: TcpState, at: Moment, why: string): void {
    if (to === this.state) return;
    const log = this.log;
    const n = log.length;
    if (n < MAX_TRANSITIONS * LOG_SLOTS) {
      const next = grownCopy<TcpState | string | Moment>(log, LOG_SLOTS);
      next[n] = to;
      next[n + 1] = why;
      next[n + 2] = at;
      this.log = next;
    } else this.transitionsDropped++;
    this.state = to;
    this.since = at;
  }

  /** The state changes recorded, oldest first (objects made per call: for reports, not per packet). */
  get transitions(): Transition[] {
    const out: Transition[] = [];
    for (let i = 0; i < this.transitionCount; i++) out.push({ from: this.transitionFrom(i), to: this.transitionTo(i), why: this.transitionWhy(i), at: this.transitionAt(i) });
    return out;
  }

  /** The recorded transitions one by one, without objects (for writing them out): how many, and each one's parts. */
  get transitionCount(): number {
    return this.log.length / LOG_SLOTS;
  }

  transitionFrom(i: number): TcpState {
    return i === 0 ? this.initialState : (this.log[(i - 1) * LOG_SLOTS] as TcpState);
  }

  transitionTo(i: number): TcpState {
    return this.log[i * LOG_SLOTS] as TcpState;
  }

  transitionWhy(i: number): string {
    return this.log[i * LOG_SLOTS + 1] as string;
  }

  transitionAt(i: number): Moment {
    return this.log[i * LOG_SLOTS + 2] as Moment;
  }

  /** When it first entered `state`, null if it never did (as recorded). */
  firstEntered(state: TcpState): Moment | null {
    for (let i = 0; i < this.log.length; i += LOG_SLOTS) if (this.log[i] === state) return this.log[i + 2] as Moment;
    return null;
  }

  /** When it last entered `state`, null if it never did (as recorded). */
  lastEntered(state: TcpState): Moment | null {
    for (let i = this.log.length - LOG_SLOTS; i >= 0; i -= LOG_SLOTS) if (this.log[i] === state) return this.log[i + 2] as Moment;
    return null;
  }

  get rstSeen(): boolean {
    return this.rstAt !== null;
  }

  get unansweredTimes(): readonly number[] {
    return this.times ?? NO_TIMES;
  }

  addUnansweredTime(seconds: number): void {
    const t = (this.times ??= []);
    if (t.length < MAX_RETRANS_TIMES) t.push(seconds);
  }

  /** The peer answered: a field store (most connections never keep a list past their SYN). */
  clearUnansweredTimes(): void {
    this.times = null;
  }

  /** It has advertised a zero window: an episode still open, or one that ended. */
  get zeroWindowSeen(): boolean {
    return this.zeroWindowSince !== null || this.zeroWindowLongest > 0;
  }

  /** Record the TTL of a segment it sent. */
  noteTtl(ttl: number, rst: boolean): void {
    const t = this.sentFacts;
    if (rst) this.sentFacts = (t & ~0xff0000) | (ttl << 16) | (1 << 25);
    else if (!(t & (1 << 24))) this.sentFacts = (t & ~0xffff) | ttl | (ttl << 8) | (1 << 24);
    else if (ttl < (t & 0xff)) this.sentFacts = (t & ~0xff) | ttl;
    else if (ttl > ((t >> 8) & 0xff)) this.sentFacts = (t & ~0xff00) | (ttl << 8);
  }

  /**
   * The peer acknowledged data of this endpoint's that the capture never showed it
   * sending (tshark's "ACKed unseen segment"): its packets are missing from the capture
   * (one direction only, or lost on the way to it), not from the wire. Of an endpoint
   * never seen at all, only acknowledgments that moved on say so (the first is the handshake's).
   */
  ackedUnseenBy(peer: Endpoint): boolean {
    if (!peer.ackKnown) return false;
    if (this.seqKnown) return seqGt(peer.highestAck, this.sndNxt);
    return this.packets === 0 && peer.highestAck !== peer.firstAck;
  }

  /** Record a checksum checked on one of its first segments without payload. */
  noteChecksum(ok: boolean): void {
    this.sentFacts += (1 << 26) + (ok ? 0 : 1 << 28);
  }

  /** Checksums checked on its first segments without payload (at most 3), and how many were wrong. */
  get checksumsChecked(): number {
    return (this.sentFacts >> 26) & 3;
  }

  get checksumsBad(): number {
    return (this.sentFacts >> 28) & 3;
  }

  /** Lowest and highest TTL of its segments without RST; -1 when none was seen. */
  get ttlMin(): number {
    return this.sentFacts & (1 << 24) ? this.sentFacts & 0xff : -1;
  }

  get ttlMax(): number {
    return this.sentFacts & (1 << 24) ? (this.sentFacts >> 8) & 0xff : -1;
  }

  /** TTL of its last RST; -1 when it sent none. */
  get rstTtl(): number {
    return this.sentFacts & (1 << 25) ? (this.sentFacts >> 16) & 0xff : -1;
  }

  get scaledWindow(): number {
    return this.window * 2 ** (this.windowScale < 0 ? 0 : this.windowScale);
  }
}

/**
 * Endpoint's rarely set fields (zero windows, probes, data after the peer's FIN,
 * ignored RSTs, dropped transitions), in a side object made on the first write: an
 * endpoint without them is 72 bytes smaller, two per connection. (The unanswered
 * run is not rare: every SYN starts one.)
 */
class EndpointExtras {
  transitionsDropped = 0;
  rstPackets = 0;
  resetFrom: TcpState | null = null;
  ignoredRsts = 0;
  dataAfterPeerFin = 0;
  dataAfterPeerFinAt: Moment | null = null;
  probes = 0;
  zeroWindowSince: Moment | null = null;
  zeroWindowEpisodes = 0;
  zeroWindowLongest = 0;
  zeroWindowLongestAt: Moment | null = null;
  zeroWindowProbesReceived = 0;
}

// The return type checks that Endpoint declares every side field, with its type.
defineSideFields(Endpoint.prototype, 'extras', (): Pick<Endpoint, keyof EndpointExtras> => new EndpointExtras());

// Endpoint's booleans as bits of flagBits (with tens of thousands of connections alive, nine boolean fields per endpoint add up).
defineBitFlags(Endpoint.prototype, 'flagBits', ENDPOINT_FLAGS);
