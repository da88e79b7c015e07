import { grownCopy } from '../../util/exact-array.js';

/**
 * conn.log's `history`: Zeek's letters (Session::CheckHistory, TCP_Endpoint's
 * HistoryMasks, Session::ScaledHistoryEntry), kept as char codes in a plain
 * array (no ArrayBuffer per connection). The originator's letters are upper
 * case, the responder's lower case.
 */

// The letters, as upper-case char codes; a responder's is the code + CASE_OFFSET.
export const H_SYN = 0x53; // 'S'
export const H_SYN_ACK = 0x48; // 'H'
export const H_ACK = 0x41; // 'A'
export const H_DATA = 0x44; // 'D'
export const H_FIN = 0x46; // 'F'
export const H_RST = 0x52; // 'R'
export const H_FIN_RST = 0x49; // 'I'
export const H_MULTI_FLAG = 0x51; // 'Q'
export const H_BAD_CHECKSUM = 0x43; // 'C'
export const H_RETRANSMIT = 0x54; // 'T'
export const H_ZERO_WINDOW = 0x57; // 'W'
export const H_GAP = 0x47; // 'G'
/** Roles flipped (Connection::FlipRoles). */
export const H_FLIPPED = 0x5e; // '^'
/** Upper to lower case. */
export const CASE_OFFSET = 0x20;

// History masks (TCP_Endpoint::HistoryMasks); a responder's are shifted left by 16.
export const HIST_SYN_PKT = 0x1;
export const HIST_FIN_PKT = 0x2;
export const HIST_RST_PKT = 0x4;
export const HIST_FIN_RST_PKT = 0x8;
export const HIST_DATA_PKT = 0x10;
export const HIST_ACK_PKT = 0x20;
export const HIST_MULTI_FLAG_PKT = 0x40;

/** History letters held in an exact-size array; a longer history grows by push. */
const EXACT_HISTORY = 24;

/**
 * `h` with `code` appended. A short history is replaced by an exact-size copy,
 * since a pushed array reserves 17 slots and most histories have about 8
 * letters; past EXACT_HISTORY letters (repeated SYNs, FINs or RSTs) it grows in
 * place: no quadratic copying.
 */
export function appendLetter(h: number[], code: number): number[] {
  const n = h.length;
  if (n >= EXACT_HISTORY) {
    h.push(code);
    return h;
  }
  const next = grownCopy(h, 1);
  next[n] = code;
  return next;
}

/**
 * `h` after a flip of the roles: the letters so far change case and a '^' goes
 * in front. Zeek's baselines show a flip on the second packet as "^h..." (not
 * "H^..."), as if the roles had been right from the start. (Inferred from those
 * logs: Connection::FlipRoles of the Zeek sources at hand only appends '^', but
 * there the history is empty.)
 */
export function flipLetters(h: number[]): number[] {
  const out = appendLetter(h, H_FLIPPED); // moved to the front below
  for (let i = out.length - 1; i > 0; i--) {
    const c = out[i - 1]!;
    out[i] = c >= 0x41 && c <= 0x5a ? c + CASE_OFFSET : c >= 0x61 && c <= 0x7a ? c - CASE_OFFSET : c;
  }
  out[0] = H_FLIPPED;
  return out;
}

/** The letters as one flat string: appending letter by letter makes a rope of one-letter pieces. */
export function historyString(h: readonly number[]): string {
  if (h.length <= 1024) return String.fromCharCode.apply(null, h as number[]);
  let s = '';
  for (let i = 0; i < h.length; i += 1024) s += String.fromCharCode.apply(null, h.slice(i, i + 1024));
  return s;
}

/** The whole history matches /^\^?S[^HAFGIQ]*R.*$/ (conn_state()'s test for RSTOS0). */
export function synThenRst(h: readonly number[]): boolean {
  let i = 0;
  if (i < h.length && h[i] === H_FLIPPED) i++;
  if (i >= h.length || h[i] !== H_SYN) return false;
  for (i++; i < h.length; i++) {
    const c = h[i]!;
    if (c === H_RST) return true;
    // H A F G I Q end the run that may precede the R.
    if (c === H_SYN_ACK || c === H_ACK || c === H_FIN || c === H_GAP || c === H_FIN_RST || c === H_MULTI_FLAG) return false;
  }
  return false;
}

/**
 * Zeek's counters are 32-bit: past this threshold the next (10^10) would wrap,
 * so the count restarts instead (Session::ScaledHistoryEntry).
 */
const LAST_THRESHOLD = 1e9;

/**
 * Counts of one side's letters that Zeek logs at the 1st, 10th, 100th...
 * occurrence (Session::ScaledHistoryEntry), each with the count at which it is
 * next logged. Each method counts one occurrence and says whether it is logged.
 */
export class ScaledLetters {
  checksums = 0;
  checksumsLogAt = 1;
  retransmits = 0;
  retransmitsLogAt = 1;
  zeroWindows = 0;
  zeroWindowsLogAt = 1;
  gaps = 0;
  gapsLogAt = 1;

  checksum(): boolean {
    if (++this.checksums !== this.checksumsLogAt) return false;
    if (this.checksumsLogAt === LAST_THRESHOLD) this.checksums = 0;
    else this.checksumsLogAt *= 10;
    return true;
  }

  retransmit(): boolean {
    if (++this.retransmits !== this.retransmitsLogAt) return false;
    if (this.retransmitsLogAt === LAST_THRESHOLD) this.retransmits = 0;
    else this.retransmitsLogAt *= 10;
    return true;
  }

  zeroWindow(): boolean {
    if (++this.zeroWindows !== this.zeroWindowsLogAt) return false;
    if (this.zeroWindowsLogAt === LAST_THRESHOLD) this.zeroWindows = 0;
    else this.zeroWindowsLogAt *= 10;
    return true;
  }

  gap(): boolean {
    if (++this.gaps !== this.gapsLogAt) return false;
    if (this.gapsLogAt === LAST_THRESHOLD) this.gaps = 0;
    else this.gapsLogAt *= 10;
    return true;
  }
}
