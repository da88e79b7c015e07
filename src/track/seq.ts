/**
 * TCP sequence arithmetic modulo 2^32 (RFC 9293 section 3.4): comparisons through the
 * signed difference. They take a sequence number as uint32 (as decoded) or as int32
 * (as stored: the same number modulo 2^32, but a small integer that V8 keeps unboxed,
 * where a uint32 above 2^31 costs a heap number per field); equality is seqEq, not ===.
 */

export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

export function seqEq(a: number, b: number): boolean {
  return ((a - b) | 0) === 0;
}

/** a + n as int32, the form sequence numbers are stored in (print with `>>> 0`). */
export function seqAdd(a: number, n: number): number {
  return (a + n) | 0;
}
