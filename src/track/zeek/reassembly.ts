import { Endpoint, MAX_BLOCKS, TWO32, endpointSize } from './endpoint.js';

/**
 * The extent-only part of Zeek's stream reassembler (TCP_Reassembler.cc,
 * Reassem.cc): it tracks which relative sequence ranges of one side were seen,
 * delivered or acked, so that an ack covering bytes never seen can be counted as
 * a content gap. Each function returns the number of gaps it found; the caller
 * decides whether they are logged ('G').
 */

/**
 * Zeek's limits on data held without acks: tcp_max_initial_window and
 * tcp_max_above_hole_without_any_acks (init-bare.zeek), checked as
 * TCP_Reassembler::DataSent does.
 */
const MAX_INITIAL_WINDOW = 16384;
const MAX_ABOVE_HOLE_WITHOUT_ACKS = 16384;
/** tcp_excessive_data_without_further_acks (init-bare.zeek). */
const EXCESSIVE_DATA_WITHOUT_ACKS = 10 * 1024 * 1024;

/**
 * TCP_Reassembler::DataSent: `len` bytes at relative `seq` from side `e`.
 * `partial`: the connection is partial (see undelivered).
 */
export function dataSent(e: Endpoint, peer: Endpoint, seq: number, len: number, partial: boolean): number {
  if (e.skipDeliveries) return 0;
  let gaps = 0;
  let lo = seq;
  const hi = seq + len;
  // What the peer already acked was delivered (or given up) before.
  const acked = e.ackWraps * TWO32 + e.ackSeq - e.startSeq;
  if (lo < acked) {
    if (hi <= acked) return 0;
    lo = acked;
  }
  if (hi <= e.trimmed) return 0;
  if (lo < e.trimmed) lo = e.trimmed;
  if (lo <= e.reassembled) {
    if (hi > e.reassembled) {
      e.reassembled = hi;
      deliverBuffered(e);
      // Much data and no ack at all: the acks are not being seen, stop holding the data.
      if (e.noDataAcked() && endpointSize(e, peer) > MAX_INITIAL_WINDOW) gaps = trimTo(e, e.reassembled, partial);
    }
  } else insertBlock(e, lo, hi);
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
  return gaps;
}

/** TCP_Reassembler::AckReceived: the peer acked up to relative `seq` of side `e`'s data. */
export function ackReceived(e: Endpoint, seq: number, partial: boolean): number {
  // The FIN's own sequence number is no data.
  if (e.finCnt > 0 && seq >= e.finSeq) seq = e.finSeq - 1;
  if (seq <= e.trimmed) return 0;
  return trimTo(e, seq, partial);
}

/** Keep [lo, hi) as data above a hole, merged with what it touches. */
function insertBlock(e: Endpoint, lo: number, hi: number): void {
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
function deliverBuffered(e: Endpoint): void {
  if (e.blockCount === 0) return;
  const b = e.blocks;
  let k = 0;
  while (k < e.blockCount && b[2 * k]! <= e.reassembled) {
    if (b[2 * k + 1]! > e.reassembled) e.reassembled = b[2 * k + 1]!;
    k++;
  }
  if (k > 0) dropBlocks(e, k);
}

function dropBlocks(e: Endpoint, k: number): void {
  if (e.blockCount === 0) return;
  const b = e.blocks;
  for (let i = k; i < e.blockCount; i++) {
    b[2 * (i - k)] = b[2 * i]!;
    b[2 * (i - k) + 1] = b[2 * i + 1]!;
  }
  e.blockCount -= k;
}

/** Reassembler::TrimToSeq: forget data below `seq`; bytes never seen there are gaps. */
function trimTo(e: Endpoint, seq: number, partial: boolean): number {
  const gaps = seq > e.reassembled ? undelivered(e, seq, partial) : 0;
  if (seq > e.trimmed) e.trimmed = seq;
  return gaps;
}

/** TCP_Reassembler::Undelivered: give up on everything below `upTo`. */
function undelivered(e: Endpoint, upTo: number, partial: boolean): number {
  // A partial connection's first ack may point one or two octets past the
  // numbering faked for it: no gap there.
  if (upTo <= 2 && partial) return 0;
  let gaps = 0;
  if (!e.skipDeliveries) {
    while (e.blockCount > 0 && e.blocks[0]! < upTo) {
      if (e.blocks[0]! > e.reassembled) gaps++;
      e.reassembled = e.blocks[0]!;
      deliverBuffered(e);
    }
    if (upTo > e.reassembled) gaps++;
  }
  if (upTo > e.reassembled) e.reassembled = upTo;
  return gaps;
}
