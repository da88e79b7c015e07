import type { TcpPacket } from '../decode/packet.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/packet.js';
import { seqLe, seqLt } from './seq.js';

/**
 * Per-packet TCP sequence analysis, following what Wireshark/tshark 4.0 reports as
 * tcp.analysis.* with default preferences (analyze_sequence_numbers on, no default
 * window scaling). One SeqAnalysis per connection, fed every segment in capture order.
 *
 * The rules are those of Wireshark's tcp_analyze_sequence_number() and the bits of
 * dissect_tcp() around it (conversation restart on a new SYN, window-scale
 * bookkeeping, first-RTT measurement); the comments say why each one exists. Sequence
 * and acknowledgment numbers are compared as absolute 32-bit values, as Wireshark
 * does internally, and a stored value of 0 means "not seen yet", as it does there.
 */

// Result bits, one per tcp.analysis.<name> field.
export const SEQ_RETRANSMISSION = 0x0001;
export const SEQ_FAST_RETRANSMISSION = 0x0002;
export const SEQ_SPURIOUS_RETRANSMISSION = 0x0004;
export const SEQ_OUT_OF_ORDER = 0x0008;
export const SEQ_LOST_SEGMENT = 0x0010;
export const SEQ_ACK_LOST_SEGMENT = 0x0020;
export const SEQ_DUPLICATE_ACK = 0x0040;
export const SEQ_ZERO_WINDOW = 0x0080;
export const SEQ_ZERO_WINDOW_PROBE = 0x0100;
export const SEQ_ZERO_WINDOW_PROBE_ACK = 0x0200;
export const SEQ_KEEP_ALIVE = 0x0400;
export const SEQ_KEEP_ALIVE_ACK = 0x0800;
export const SEQ_WINDOW_UPDATE = 0x1000;
export const SEQ_WINDOW_FULL = 0x2000;
/** A SYN that starts a new connection on the tuple of an earlier one (tcp.analysis.reused_ports). */
export const SEQ_REUSED_PORTS = 0x4000;

/** Bit -> tshark field suffix, in the order tshark's expert output lists them. */
export const SEQ_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [SEQ_RETRANSMISSION, 'retransmission'],
  [SEQ_FAST_RETRANSMISSION, 'fast_retransmission'],
  [SEQ_SPURIOUS_RETRANSMISSION, 'spurious_retransmission'],
  [SEQ_OUT_OF_ORDER, 'out_of_order'],
  [SEQ_LOST_SEGMENT, 'lost_segment'],
  [SEQ_ACK_LOST_SEGMENT, 'ack_lost_segment'],
  [SEQ_DUPLICATE_ACK, 'duplicate_ack'],
  [SEQ_ZERO_WINDOW, 'zero_window'],
  [SEQ_ZERO_WINDOW_PROBE, 'zero_window_probe'],
  [SEQ_ZERO_WINDOW_PROBE_ACK, 'zero_window_probe_ack'],
  [SEQ_KEEP_ALIVE, 'keep_alive'],
  [SEQ_KEEP_ALIVE_ACK, 'keep_alive_ack'],
  [SEQ_WINDOW_UPDATE, 'window_update'],
  [SEQ_WINDOW_FULL, 'window_full'],
  [SEQ_REUSED_PORTS, 'reused_ports'],
];

/** The tshark field suffixes (tcp.analysis.<name>) of the bits set in `mask`. */
export function seqFlagNames(mask: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of SEQ_FLAG_NAMES) if (mask & bit) out.push(name);
  return out;
}

/** Wireshark's TCP_MAX_UNACKED_SEGMENTS: past this many unacknowledged segments it stops listing them. */
const MAX_UNACKED_SEGMENTS = 1000;
/** A retransmission within 20 ms of the peer's latest duplicate ACK is "fast". */
const FAST_RETRANSMIT_NS = 20_000_000;
/** Out-of-order window when no handshake RTT was measured. */
const DEFAULT_OOO_NS = 3_000_000;

/** Window scale unknown (no SYN seen): window-full is not judged. */
const WSCALE_UNKNOWN = -1;
/** The handshake showed that no scaling is used. */
const WSCALE_NONE = -2;

/**
 * Wireshark's GT_SEQ (packet-tcp.h), kept as it is: it takes the difference the other
 * way round from seq.ts's seqGt, so the two disagree on numbers exactly 2^31 apart.
 * Its LT_SEQ and LE_SEQ are seq.ts's seqLt and seqLe.
 */
function gtSeq(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/**
 * Nanoseconds from (s0, n0) to (s1, n1), as Wireshark computes it into an unsigned
 * 64-bit number: a negative span (time going backwards) becomes huge, so it never
 * passes a "shorter than" test. Returned as-is; callers use lessThanNs().
 */
function spanNs(s1: number, n1: number, s0: number, n0: number): number {
  return (s1 - s0) * 1e9 + (n1 - n0);
}

/** `a < b` with both taken as unsigned 64-bit (negative = 2^64 + value). */
function lessThanNs(a: number, b: number): boolean {
  if (a < 0) return b < 0 && a < b;
  return b < 0 || a < b;
}

/** Counts of what one endpoint's segments were flagged as. */
export class SeqCounters {
  /** Every retransmission, fast and spurious ones included (tshark's tcp.analysis.retransmission). */
  retransmissions = 0;
  fastRetransmissions = 0;
  spuriousRetransmissions = 0;
  outOfOrder = 0;
  /** Segments starting past the highest sequence seen: something before them was not captured. */
  lostSegments = 0;
  /** ACKs for data this capture never showed. */
  ackLostSegments = 0;
  dupAcks = 0;
  zeroWindows = 0;
  zeroWindowProbes = 0;
  zeroWindowProbeAcks = 0;
  keepAlives = 0;
  keepAliveAcks = 0;
  windowUpdates = 0;
  windowFull = 0;

  add(mask: number): void {
    if (mask & SEQ_RETRANSMISSION) this.retransmissions++;
    if (mask & SEQ_FAST_RETRANSMISSION) this.fastRetransmissions++;
    if (mask & SEQ_SPURIOUS_RETRANSMISSION) this.spuriousRetransmissions++;
    if (mask & SEQ_OUT_OF_ORDER) this.outOfOrder++;
    if (mask & SEQ_LOST_SEGMENT) this.lostSegments++;
    if (mask & SEQ_ACK_LOST_SEGMENT) this.ackLostSegments++;
    if (mask & SEQ_DUPLICATE_ACK) this.dupAcks++;
    if (mask & SEQ_ZERO_WINDOW) this.zeroWindows++;
    if (mask & SEQ_ZERO_WINDOW_PROBE) this.zeroWindowProbes++;
    if (mask & SEQ_ZERO_WINDOW_PROBE_ACK) this.zeroWindowProbeAcks++;
    if (mask & SEQ_KEEP_ALIVE) this.keepAlives++;
    if (mask & SEQ_KEEP_ALIVE_ACK) this.keepAliveAcks++;
    if (mask & SEQ_WINDOW_UPDATE) this.windowUpdates++;
    if (mask & SEQ_WINDOW_FULL) this.windowFull++;
  }
}

/** What a direction with no flagged segment reads (shared, never written). */
const NO_COUNTS: SeqCounters = Object.freeze(new SeqCounters());

/**
 * What the analysis remembers about one direction (Wireshark's tcp_flow_t +
 * tcp_analyze_seq_flow_info_t), and its counters once a segment is flagged.
 */
class FlowState {
  /** Window scale shift of this sender's windows: 0..14, or WSCALE_UNKNOWN / WSCALE_NONE. */
  winScale = WSCALE_UNKNOWN;
  /** Last raw window field; starts outside any 16-bit value so the first segment never "repeats" it. */
  window = -1;
  /** Between this side's SYN and its first ACK without SYN: its window is not scaled yet. */
  isFirstAck = false;
  baseSeqSet = false;
  baseSeq = 0;
  /** Highest sequence number sent plus one (0 = nothing yet). */
  nextSeq = 0;
  nextSeqSec = 0;
  nextSeqNsec = 0;
  /** End of the contiguous data seen, for "ACKed unseen segment". */
  maxSeqToBeAcked = 0;
  lastAck = 0;
  lastAckSec = 0;
  lastAckNsec = 0;
  /** Duplicate ACKs in a row; -1 after an "ACKed unseen segment" was charged to the peer. */
  dupAckNum = 0;
  lastNonDupAck = 0;
  /** Analysis bits of this side's previous segment (keep-alive / zero-window-probe ACK detection). */
  lastSegmentFlags = 0;
  /**
   * End sequence numbers of segments not yet acknowledged. Wireshark lists at most
   * MAX_UNACKED_SEGMENTS and only counts a SYN/FIN's sequence byte for listed ones,
   * so the count matters; grown on demand, per connection.
   */
  unackedEnds: number[] | null = null;
  unacked = 0;
  /**
   * Its counters, made at its first flagged segment: most directions have none, and a
   * retired connection keeps just this object.
   */
  private counts: SeqCounters | null = null;

  add(mask: number): void {
    (this.counts ??= new SeqCounters()).add(mask);
  }

  get counters(): SeqCounters {
    return this.counts ?? NO_COUNTS;
  }

  clear(): void {
    this.winScale = WSCALE_UNKNOWN;
    this.window = -1;
    this.isFirstAck = false;
    this.baseSeqSet = false;
    this.baseSeq = 0;
    this.nextSeq = 0;
    this.nextSeqSec = 0;
    this.nextSeqNsec = 0;
    this.maxSeqToBeAcked = 0;
    this.lastAck = 0;
    this.lastAckSec = 0;
    this.lastAckNsec = 0;
    this.dupAckNum = 0;
    this.lastNonDupAck = 0;
    this.lastSegmentFlags = 0;
    this.unacked = 0;
  }

  /** Record a segment ending at `end` (the cap was checked by the caller). */
  pushUnacked(end: number): void {
    // A plain array of small integers (int32 ends), not a typed one: no ArrayBuffer and off-heap store per connection.
    const arr = (this.unackedEnds ??= []);
    arr[this.unacked++] = end;
  }

  /** Let an empty list go (a grown array keeps its slots); pushUnacked makes a new one when needed. */
  dropEmpty(): void {
    if (this.unacked === 0) this.unackedEnds = null;
  }

  /** Drop the segments `ack` covers (end at or before it), as Wireshark does for every segment's ack field. */
  ackUnacked(ack: number): void {
    const arr = this.unackedEnds;
    if (arr === null) return;
    let n = 0;
    for (let i = 0; i < this.unacked; i++) {
      const end = arr[i]!;
      if (gtSeq(end, ack)) arr[n++] = end;
    }
    this.unacked = n;
  }
}

/** What a released analysis has instead of its flow states (never written to). */
const RELEASED = new FlowState();

/**
 * Sequence analysis of one TCP connection. Feed every segment with analyze(), in
 * capture order; it returns the SEQ_* bits for that segment. Allocation-free per packet.
 */
export class SeqAnalysis {
  private a = new FlowState();
  private b = new FlowState();
  /** After release(): the counters of A and B, kept; a and b are then RELEASED. */
  private keptA: SeqCounters | null = null;
  private keptB: SeqCounters | null = null;
  /** Duplicate-ACK number (tcp.analysis.duplicate_ack_num) of the last segment analyzed, 0 if it was none. */
  dupAckNum = 0;
  /** Frame of the ACK the last duplicate ACK repeats (tcp.analysis.duplicate_ack_frame), 0 if none. */
  dupAckFrame = 0;
  /** Times a SYN restarted the analysis (Wireshark opens a new tcp.stream then). */
  restarts = 0;
  // Connection-wide: the latest pure SYN's time, and the handshake RTT it gives.
  private synSec = 0;
  private synNsec = 0;
  private haveSyn = false;
  private firstRttNs = 0;
  private started = false;
  /** The tuple belonged to an earlier connection the caller split off. */
  private tupleReused = false;

  /**
   * Say that this connection reuses the address/port tuple of an earlier one that the
   * caller (the connection tracker) already ended and split off. Wireshark flags the
   * SYN opening such a connection tcp.analysis.reused_ports; a SeqAnalysis that starts
   * fresh cannot know, so the caller tells it. Call before the first segment.
   */
  markTupleReused(): void {
    this.tupleReused = true;
  }

  /**
   * Both endpoints have closed: give back the segment lists that are empty. Nothing
   * changes for a later segment (a retransmitted FIN in TIME-WAIT): it starts a new list.
   */
  compact(): void {
    this.a.dropEmpty();
    this.b.dropEmpty();
  }

  /**
   * The connection is over: keep the counters and drop the rest (each of the two
   * flow states, with its list of unacknowledged segments, is gone). Nothing is
   * analyzed after this.
   */
  release(): void {
    if (this.a === RELEASED) return;
    this.keptA = this.a.counters;
    this.keptB = this.b.counters;
    this.a = this.b = RELEASED;
  }

  /** Counters of the segments endpoint A (the first packet's sender) sent. */
  get fromA(): SeqCounters {
    return this.keptA ?? this.a.counters;
  }

  get fromB(): SeqCounters {
    return this.keptB ?? this.b.counters;
  }

  /** Convenience wrapper: analyze a decoded packet. */
  analyzePacket(p: TcpPacket, fromA: boolean): number {
    const t = p.tcp;
    // As int32: a uint32 above 2^31 would be boxed as a heap number to cross the call.
    return this.analyze(fromA, t.flags, t.seq | 0, t.ack | 0, t.payloadLength, t.window, t.windowScale, p.frame.sec, p.frame.nsec, p.frame.index);
  }

  /**
   * Analyze one segment.
   * @param fromA sent by endpoint A (the first packet's sender)
   * @param flags TCP flag bits (TCP_* constants)
   * @param seq, ack raw 32-bit sequence and acknowledgment fields (ack even without the ACK flag)
   * @param payloadLength segment payload length from the IP length (not the captured bytes)
   * @param window raw 16-bit window field
   * @param windowScale window-scale option shift, -1 when the segment has none
   * @param sec, nsec capture time; frame the 1-based frame number
   * @returns SEQ_* bits; dupAckNum / dupAckFrame are set for duplicate ACKs
   */
  analyze(
    fromA: boolean,
    flags: number,
    seq: number,
    ack: number,
    payloadLength: number,
    window: number,
    windowScale: number,
    sec: number,
    nsec: number,
    frame: number,
  ): number {
    // Sequence numbers are kept as int32 (the same values modulo 2^32): V8 then holds
    // them as small integers, where uint32 values above 2^31 box as heap numbers in
    // every field that ever holds one. Equality and serial comparisons are unchanged.
    seq |= 0;
    ack |= 0;
    const fwd = fromA ? this.a : this.b;
    const rev = fromA ? this.b : this.a;
    if (fwd === RELEASED) throw new Error('internal error: a segment analyzed after its connection was released');
    let mask = 0;
    this.dupAckNum = 0;
    this.dupAckFrame = 0;
    const syn = (flags & TCP_SYN) !== 0;
    const pureSyn = (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    const synAck = (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
    const newConversation = !this.started;
    this.started = true;
    if (newConversation && this.tupleReused && pureSyn) mask |= SEQ_REUSED_PORTS;

    // A SYN with another ISN than the one this side began with is a new connection on
    // the same ports: Wireshark starts a fresh conversation (new tcp.stream).
    // (4.0 restarts on the ISN alone: a repeated SYN after FIN/RST with the same ISN is
    // a retransmission to it; later releases also restart on FIN/RST.)
    if (pureSyn && fwd.baseSeqSet && seq !== fwd.baseSeq) {
      this.restart();
      mask |= SEQ_REUSED_PORTS;
    }
    // A SYN-ACK with a new ISN only re-bases that side (no new conversation).
    if (synAck && fwd.baseSeqSet && seq !== fwd.baseSeq) {
      fwd.baseSeq = seq;
      mask |= SEQ_REUSED_PORTS;
    }
    if (!fwd.baseSeqSet) {
      fwd.baseSeq = syn ? seq : (seq - 1) | 0;
      fwd.baseSeqSet = true;
    }
    if (!rev.baseSeqSet && flags & TCP_ACK) {
      rev.baseSeq = (ack - 1) | 0;
      rev.baseSeqSet = true;
    }

    mask |= this.sequence(fwd, rev, flags, seq, ack, payloadLength, window, sec, nsec, frame, mask);

    // Options are read after the analysis: a window-scale option takes effect from the next segment.
    if (windowScale >= 0) fwd.winScale = windowScale > 14 ? 14 : windowScale;
    if (syn) {
      // Scaling is on only if both SYNs carry the option.
      if (fwd.winScale === WSCALE_UNKNOWN) {
        fwd.winScale = WSCALE_NONE;
        rev.winScale = WSCALE_NONE;
      } else if (synAck && rev.winScale === WSCALE_NONE) {
        fwd.winScale = WSCALE_NONE;
      }
    }
    if (pureSyn) {
      this.synSec = sec;
      this.synNsec = nsec;
      this.haveSyn = sec !== 0 || nsec !== 0;
    }
    if (syn) fwd.isFirstAck = true;
    if ((flags & (TCP_SYN | TCP_ACK)) === TCP_ACK) {
      // The first ACK after a SYN ends the handshake: its delay is the out-of-order window.
      if (this.haveSyn && this.firstRttNs === 0) this.firstRttNs = spanNs(sec, nsec, this.synSec, this.synNsec);
      fwd.isFirstAck = false;
    }
    // Most segments are flagged with nothing.
    if (mask !== 0) fwd.add(mask);
    return mask;
  }

  private restart(): void {
    this.a.clear();
    this.b.clear();
    this.haveSyn = false;
    this.firstRttNs = 0;
    this.restarts++;
  }

  /** The body of Wireshark's tcp_analyze_sequence_number(), flags only. */
  private sequence(
    fwd: FlowState,
    rev: FlowState,
    flags: number,
    seq: number,
    ack: number,
    seglen: number,
    window: number,
    sec: number,
    nsec: number,
    frame: number,
    preset: number,
  ): number {
    let f = preset;
    const sfr = flags & (TCP_SYN | TCP_FIN | TCP_RST);
    fwdChecks: {
      // Zero-window probe: one byte at the next expected sequence while the peer's window is closed.
      if (seglen === 1 && seq === fwd.nextSeq && rev.window === 0) {
        f |= SEQ_ZERO_WINDOW_PROBE;
        break fwdChecks;
      }
      if (window === 0 && sfr === 0) f |= SEQ_ZERO_WINDOW;
      // Starts past the highest byte seen: a segment before it was not captured.
      if (fwd.nextSeq !== 0 && gtSeq(seq, fwd.nextSeq) && (flags & TCP_RST) === 0) f |= SEQ_LOST_SEGMENT;
      // Keep-alive: 0 or 1 byte one below the next expected sequence.
      if ((seglen === 0 || seglen === 1) && seq === ((fwd.nextSeq - 1) | 0) && sfr === 0) f |= SEQ_KEEP_ALIVE;
      const sameSeqAck = seglen === 0 && seq === fwd.nextSeq && ack === fwd.lastAck && sfr === 0;
      if (sameSeqAck && window !== 0 && window !== fwd.window) f |= SEQ_WINDOW_UPDATE;
      // Window full: the data reaches the right edge of the peer's advertised window
      // (judged only once the peer's scaling is known; unscaled until its first ACK).
      if (seglen > 0 && rev.winScale !== WSCALE_UNKNOWN && sfr === 0) {
        const shift = rev.isFirstAck || rev.winScale === WSCALE_NONE ? 0 : rev.winScale;
        const edge = (rev.lastAck + (rev.window << shift)) | 0;
        if (((seq + seglen) | 0) === edge) f |= SEQ_WINDOW_FULL;
      }
      if (sameSeqAck && window !== 0 && window === fwd.window && rev.lastSegmentFlags & SEQ_KEEP_ALIVE) {
        f |= SEQ_KEEP_ALIVE_ACK;
        break fwdChecks;
      }
      if (sameSeqAck && window === 0 && fwd.window === 0 && rev.lastSegmentFlags & SEQ_ZERO_WINDOW_PROBE) {
        f |= SEQ_ZERO_WINDOW_PROBE_ACK;
        break fwdChecks;
      }
      // Duplicate ACK: nothing new at all (no data, same seq/ack/window).
      if (sameSeqAck && window !== 0 && window === fwd.window) {
        fwd.dupAckNum = fwd.dupAckNum === -1 ? 1 : fwd.dupAckNum + 1;
        f |= SEQ_DUPLICATE_ACK;
        this.dupAckNum = fwd.dupAckNum;
        this.dupAckFrame = fwd.lastNonDupAck;
      }
    }
    if (ack !== fwd.lastAck) {
      fwd.lastNonDupAck = frame;
      fwd.dupAckNum = 0;
    }

    // ACKed unseen segment: acknowledges past the contiguous data seen from the peer.
    if (rev.maxSeqToBeAcked !== 0 && gtSeq(ack, rev.maxSeqToBeAcked) && flags & TCP_ACK) {
      if (seqLt(rev.maxSeqToBeAcked, rev.nextSeq)) {
        // Move the boundary up to what was seen, so the same gap is reported once.
        rev.maxSeqToBeAcked = rev.nextSeq;
        f |= SEQ_ACK_LOST_SEGMENT;
      } else {
        // Nothing new came from the peer since: report once per run of such ACKs.
        if (rev.dupAckNum === 0) f |= SEQ_ACK_LOST_SEGMENT;
        rev.dupAckNum = -1;
      }
    }

    const synFin = (flags & (TCP_SYN | TCP_FIN)) !== 0;
    if ((seglen > 0 || synFin) && (f & SEQ_KEEP_ALIVE) === 0) {
      retrans: {
        let notAdvanced = fwd.nextSeq !== 0 && seqLt(seq, fwd.nextSeq);
        // More than one byte starting one below nextseq follows a zero-window probe: new data.
        if (seglen > 1 && ((fwd.nextSeq - 1) | 0) === seq) notAdvanced = false;
        // All of it was already acknowledged by the peer.
        if (seglen > 0 && rev.lastAck !== 0 && seqLe((seq + seglen) | 0, rev.lastAck)) {
          f |= SEQ_SPURIOUS_RETRANSMISSION | SEQ_RETRANSMISSION;
          break retrans;
        }
        // Resends what two or more duplicate ACKs asked for, within 20 ms of the last one.
        // Wireshark keeps the count unsigned, so the -1 left by "ACKed unseen segment"
        // passes this test too.
        if (
          notAdvanced &&
          (rev.dupAckNum >= 2 || rev.dupAckNum === -1) &&
          rev.lastAck === seq &&
          lessThanNs(spanNs(sec, nsec, rev.lastAckSec, rev.lastAckNsec), FAST_RETRANSMIT_NS)
        ) {
          f |= SEQ_FAST_RETRANSMISSION | SEQ_RETRANSMISSION;
          break retrans;
        }
        // Arrives soon (within the handshake RTT, or 3 ms) after the highest segment: reordering.
        if (notAdvanced) {
          const thres = this.firstRttNs !== 0 ? this.firstRttNs : DEFAULT_OOO_NS;
          if (lessThanNs(spanNs(sec, nsec, fwd.nextSeqSec, fwd.nextSeqNsec), thres)) {
            // ...unless it exactly fills the gap below nextseq. (Later Wireshark releases also call that
            // out-of-order when a pure ACK moved nextseq last, issue 17214; 4.0 does not.)
            if (fwd.nextSeq !== ((seq + seglen + (synFin ? 1 : 0)) | 0)) {
              f |= SEQ_OUT_OF_ORDER;
              break retrans;
            }
          }
          f |= SEQ_RETRANSMISSION;
        }
      }
    }

    let nextSeq = (seq + seglen) | 0;
    if ((seglen > 0 || synFin) && fwd.unacked < MAX_UNACKED_SEGMENTS) {
      // Wireshark adds the SYN/FIN byte only when it records the segment.
      if (synFin) nextSeq = (nextSeq + 1) | 0;
      fwd.pushUnacked(nextSeq);
    }
    const zwp = (f & SEQ_ZERO_WINDOW_PROBE) !== 0;
    // Zero-window probes do not move nextseq.
    if ((fwd.nextSeq === 0 || gtSeq(nextSeq, fwd.nextSeq)) && !zwp) {
      fwd.nextSeq = nextSeq;
      fwd.nextSeqSec = sec;
      fwd.nextSeqNsec = nsec;
    }
    if ((seq === fwd.maxSeqToBeAcked || fwd.maxSeqToBeAcked === 0) && !zwp) fwd.maxSeqToBeAcked = fwd.nextSeq;
    fwd.window = window;
    fwd.lastAck = ack;
    fwd.lastAckSec = sec;
    fwd.lastAckNsec = nsec;
    fwd.lastSegmentFlags = f;
    rev.ackUnacked(ack);
    return f;
  }
}
