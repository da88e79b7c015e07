import { NET_IPV4, NET_IPV6, type LinkResult } from './link-result.js';

/** BSD address families as loopback headers carry them: 2 is IPv4; IPv6 differs per BSD. */
const AF_INET = 2;
const AF_INET6_BSD = 24; // NetBSD, OpenBSD, BSD/OS
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;
const AF_INET6_LINUX = 10;

function fromFamily(af: number, off: number, out: LinkResult): void {
  if (af === AF_INET) {
    out.net = NET_IPV4;
    out.offset = off;
  } else if (af === AF_INET6_BSD || af === AF_INET6_FREEBSD || af === AF_INET6_DARWIN || af === AF_INET6_LINUX) {
    out.net = NET_IPV6;
    out.offset = off;
  }
}

/**
 * LINKTYPE_NULL (0): a 4-byte address family in the byte order of the host that
 * captured, which the file does not record: a value above 0xffff must be the other order.
 */
export function decodeNull(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 4 > end) {
    out.truncated = true;
    return;
  }
  let af = (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
  if (af > 0xffff) af = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
  fromFamily(af, off + 4, out);
}

/** LINKTYPE_LOOP (108), OpenBSD loopback: the family in network byte order. */
export function decodeLoop(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 4 > end) {
    out.truncated = true;
    return;
  }
  let af = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
  // Some writers used host order anyway; accept either, as Wireshark does.
  if (af > 0xffff) af = (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
  fromFamily(af, off + 4, out);
}

/** LINKTYPE_RAW (101) and the historical DLT_RAW values: the IP version nibble decides. */
export function decodeRaw(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 1 > end) {
    out.truncated = true;
    return;
  }
  const v = buf[off]! >> 4;
  if (v === 4) out.net = NET_IPV4;
  else if (v === 6) out.net = NET_IPV6;
  out.offset = off;
}

/** LINKTYPE_IPV4 (228): the frame is an IPv4 packet. */
export function decodeIpv4Only(_buf: Buffer, off: number, _end: number, out: LinkResult): void {
  out.net = NET_IPV4;
  out.offset = off;
}

/** LINKTYPE_IPV6 (229): the frame is an IPv6 packet. */
export function decodeIpv6Only(_buf: Buffer, off: number, _end: number, out: LinkResult): void {
  out.net = NET_IPV6;
  out.offset = off;
}
