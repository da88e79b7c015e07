import type { ScaledLetters } from './history.js';

// Zeek's endpoint states (TCP_ENDPOINT_*), with the values of its TCP_* script constants.
export const ZEEK_TCP_INACTIVE = 0; // nothing seen from this side
export const ZEEK_TCP_SYN_SENT = 1;
export const ZEEK_TCP_SYN_ACK_SENT = 2; // SYN-ACK seen without an initial SYN
export const ZEEK_TCP_PARTIAL = 3; // data seen, no SYN
export const ZEEK_TCP_ESTABLISHED = 4;
export const ZEEK_TCP_CLOSED = 5; // FIN seen
export const ZEEK_TCP_RESET = 6; // RST seen
export type ZeekTcpState = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export const TWO32 = 4294967296;

/** Out-of-order data ranges kept per side before neighbours are merged regardless. */
export const MAX_BLOCKS = 16;

/** One side of the connection (TCP_Endpoint): its state and sequence-space bookkeeping. */
export class Endpoint {
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
  /**
   * Counts of the logarithmically logged letters (C, T, W, G). Allocated on the
   * first such letter: most connections never log one, and memory per connection matters.
   */
  scaled: ScaledLetters | null = null;
  /** Relative sequence number just past this side's FIN (TCP_Endpoint::FIN_seq). */
  finSeq = 0;

  // The stream reassembler's bookkeeping (TCP_Reassembler, see reassembly.ts), in
  // relative sequence numbers: enough to tell when an ack covers bytes never seen
  // (a content gap, 'G'). Only the extent of the data matters, not its bytes.
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

/** Established, or closed from established: where a content gap means lost data. */
export function isClean(e: Endpoint): boolean {
  return e.state === ZEEK_TCP_ESTABLISHED || (e.state === ZEEK_TCP_CLOSED && e.prevState === ZEEK_TCP_ESTABLISHED);
}

export function isHandshake(s: number): boolean {
  return s === ZEEK_TCP_INACTIVE || s === ZEEK_TCP_SYN_SENT || s === ZEEK_TCP_SYN_ACK_SENT;
}

/** Payload bytes sent by `e`, from sequence numbers (TCP_Endpoint::Size). */
export function endpointSize(e: Endpoint, peer: Endpoint): number {
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
