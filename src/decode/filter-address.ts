/**
 * Address arithmetic for capture filters (see packet-filter.ts): IPv4 and IPv6
 * literals as libpcap reads them, and networks as an address under a mask, both in
 * 16-byte arrays (IPv4 in the first 4 bytes).
 */
import { formatIp } from '../util/address.js';

/** Dotted IPv4 parts as libpcap reads them (decimal, 1 to 4 parts), or null. */
export function parseIpv4Parts(w: string): number[] | null {
  if (!/^[0-9]+(\.[0-9]+){0,3}$/.test(w)) return null;
  const parts = w.split('.').map(Number);
  return parts.every((x) => x <= 255) ? parts : null;
}

/** An IPv6 literal in any RFC 4291 text form (with "::" and a trailing dotted quad), or null. */
export function parseIpv6(w: string): Uint8Array | null {
  const groups = (s: string, quadLast: boolean): number[] | null => {
    if (s === '') return [];
    const parts = s.split(':');
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const g = parts[i]!;
      if (quadLast && i === parts.length - 1 && g.includes('.')) {
        const q = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(g);
        if (q === null) return null;
        const b = q.slice(1).map(Number);
        if (b.some((x) => x > 255)) return null;
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  const gap = w.indexOf('::');
  let all: number[];
  if (gap < 0) {
    const g = groups(w, true);
    if (g === null || g.length !== 8) return null;
    all = g;
  } else {
    if (w.indexOf('::', gap + 1) >= 0) return null;
    const head = groups(w.slice(0, gap), false);
    const tail = groups(w.slice(gap + 2), true);
    // "::" stands for at least one group.
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i]! >> 8;
    out[2 * i + 1] = all[i]! & 0xff;
  }
  return out;
}

/** A mask of `bits` leading one bits over `length` bytes (in a 16-byte array). */
export function prefixMask(bits: number, length: number): Uint8Array {
  const m = new Uint8Array(16);
  for (let i = 0; i < length; i++) {
    const b = Math.max(0, Math.min(8, bits - 8 * i));
    m[i] = (0xff00 >> b) & 0xff;
  }
  return m;
}

/** A 32-bit IPv4 value as the first 4 bytes of a 16-byte address. */
export function u32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = v >>> 24;
  b[1] = (v >>> 16) & 0xff;
  b[2] = (v >>> 8) & 0xff;
  b[3] = v & 0xff;
  return b;
}

/** IPv4 parts, short forms shifted to the top (10.1 is 10.1.0.0), as a 32-bit value. */
export function partsValue(parts: number[]): number {
  let v = 0;
  for (let i = 0; i < 4; i++) v = v * 256 + (parts[i] ?? 0);
  return v;
}

/** Whether `net` has bits set outside `mask` in its first `length` bytes. */
export function hasHostBits(net: Uint8Array, mask: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if ((net[i]! & ~mask[i]!) !== 0) return true;
  return false;
}

/** `net` under `mask` (the first `length` bytes; the rest zero). */
export function masked(net: Uint8Array, mask: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < length; i++) out[i] = net[i]! & mask[i]!;
  return out;
}
/** The prefix length of a contiguous mask, -1 for a non-contiguous one. */
export function maskPrefixLength(mask: Uint8Array, length: number): number {
  let bits = 0;
  let i = 0;
  for (; i < length && mask[i] === 0xff; i++) bits += 8;
  if (i < length) {
    const m = mask[i]!;
    let b = 0;
    while (b < 8 && (m & (0x80 >> b)) !== 0) b++;
    if ((m & (0xff >> b)) !== 0) return -1;
    bits += b;
    for (i++; i < length; i++) if (mask[i] !== 0) return -1;
  }
  return bits;
}

/** A network as pcap-filter writes it: address/len, or address mask m.m.m.m for a non-contiguous IPv4 mask. */
export function netText(version: 4 | 6, net: Uint8Array, mask: Uint8Array): string {
  const len = maskPrefixLength(mask, version === 4 ? 4 : 16);
  return `${formatIp(version, net)}${len >= 0 ? `/${len}` : ` mask ${formatIp(4, mask)}`}`;
}
