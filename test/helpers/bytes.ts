/**
 * Byte-level building blocks of the synthetic test input: concatenation, big-endian
 * integers, patterns, the Internet checksum and addresses. Every builder returns a
 * fresh Buffer; addresses are strings. Real captures live in the corpus; the synthetic
 * ones exist to reach every decoding path on purpose, including the ones no real capture
 * at hand exercises.
 */

// ---------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------

export type Bytes = Buffer | Uint8Array | readonly number[];

/** Concatenate byte sequences into one Buffer. */
export function cat(...parts: Bytes[]): Buffer {
  return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p as Uint8Array))));
}

export function u16be(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}

export function u32be(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** `n` bytes of a recognisable pattern (byte i is `(seed + i) & 0xff`). */
export function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i) & 0xff;
  return b;
}

/** `b` as a Buffer, copied only when it is not one. */
export function toBuf(b: Bytes): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b as Uint8Array);
}

/** RFC 1071 Internet checksum over the concatenation of `parts`. */
export function inetChecksum(...parts: Bytes[]): number {
  const b = cat(...parts);
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

export function ip4(s: string): Buffer {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 address ${s}`);
  return Buffer.from(parts);
}

export function ip6(s: string): Buffer {
  const halves = s.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address ${s}`);
  const groups = (h: string): number[] => (h === '' ? [] : h.split(':').map((g) => parseInt(g, 16)));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  if (all.length !== 8 || all.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) throw new Error(`bad IPv6 address ${s}`);
  const b = Buffer.alloc(16);
  all.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
  return b;
}

export function mac(s: string): Buffer {
  const b = Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
  if (b.length !== 6) throw new Error(`bad MAC ${s}`);
  return b;
}

/** An address of a decoded IpHeader as a Buffer of its real length, for comparisons. */
export function addrOf(a: Uint8Array, version: 4 | 6): Buffer {
  return Buffer.from(a.subarray(0, version === 4 ? 4 : 16));
}

export function w32(le: boolean, v: number): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}

export function w16(le: boolean, v: number): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(v & 0xffff);
  else b.writeUInt16BE(v & 0xffff);
  return b;
}
