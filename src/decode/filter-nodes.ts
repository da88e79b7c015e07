/**
 * The evaluated tree of a capture filter (see packet-filter.ts): plain objects with
 * numeric fields, built once by the parser, whose `matches` allocates nothing.
 */
import { formatIp } from '../util/address.js';
import { netText } from './filter-address.js';
import type { Packet } from './packet.js';

/** Which address or port a primitive tests. */
export const DIR_ANY = 0; // src or dst (also the default)
export const DIR_SRC = 1;
export const DIR_DST = 2;
export const DIR_BOTH = 3; // src and dst

/** Transport protocols a port primitive accepts, one bit each. */
export const PORT_TCP = 1;
export const PORT_UDP = 2;
export const PORT_SCTP = 4;
export const PORT_ANY = PORT_TCP | PORT_UDP | PORT_SCTP;

export const IPPROTO_ICMP = 1;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

export interface FilterNode {
  matches(p: Packet): boolean;
  /** Canonical pcap-filter text, every binary operation in parentheses. */
  toString(): string;
}

export class AndNode implements FilterNode {
  constructor(
    readonly left: FilterNode,
    readonly right: FilterNode,
  ) {}
  matches(p: Packet): boolean {
    return this.left.matches(p) && this.right.matches(p);
  }
  toString(): string {
    return `(${this.left.toString()} and ${this.right.toString()})`;
  }
}

export class OrNode implements FilterNode {
  constructor(
    readonly left: FilterNode,
    readonly right: FilterNode,
  ) {}
  matches(p: Packet): boolean {
    return this.left.matches(p) || this.right.matches(p);
  }
  toString(): string {
    return `(${this.left.toString()} or ${this.right.toString()})`;
  }
}

export class NotNode implements FilterNode {
  constructor(readonly inner: FilterNode) {}
  matches(p: Packet): boolean {
    return !this.inner.matches(p);
  }
  toString(): string {
    return `not ${this.inner.toString()}`;
  }
}

/** `tcp`: the packets the decoder made TCP. */
export class TcpNode implements FilterNode {
  matches(p: Packet): boolean {
    return p.kind === 'tcp';
  }
  toString(): string {
    return 'tcp';
  }
}

/** `ip` / `ip6`: a decoded IP header of that version. */
export class IpVersionNode implements FilterNode {
  constructor(readonly version: 4 | 6) {}
  matches(p: Packet): boolean {
    const ip = p.ip;
    return ip !== null && ip.version === this.version;
  }
  toString(): string {
    return this.version === 4 ? 'ip' : 'ip6';
  }
}

/** `udp`, `sctp`, `icmp`, `icmp6`: the upper-layer protocol of a decoded IP header (0: either version). */
export class IpProtocolNode implements FilterNode {
  constructor(
    readonly protocol: number,
    readonly version: 0 | 4 | 6,
    private readonly word: string,
  ) {}
  matches(p: Packet): boolean {
    const ip = p.ip;
    return ip !== null && ip.protocol === this.protocol && (this.version === 0 || ip.version === this.version);
  }
  toString(): string {
    return this.word;
  }
}

/** `host` and `net`: an address under a mask (a host has the full mask), of one IP version. */
export class AddressNode implements FilterNode {
  /** Address bytes compared: 4 or 16. */
  readonly length: number;
  constructor(
    readonly version: 4 | 6,
    /** The network, already masked; IPv4 in the first 4 bytes. */
    readonly net: Uint8Array,
    readonly mask: Uint8Array,
    readonly dir: number,
    readonly isHost: boolean,
  ) {
    this.length = version === 4 ? 4 : 16;
  }

  matches(p: Packet): boolean {
    const ip = p.ip;
    if (ip === null || ip.version !== this.version) return false;
    switch (this.dir) {
      case DIR_SRC:
        return this.inNet(ip.src);
      case DIR_DST:
        return this.inNet(ip.dst);
      case DIR_BOTH:
        return this.inNet(ip.src) && this.inNet(ip.dst);
      default:
        return this.inNet(ip.src) || this.inNet(ip.dst);
    }
  }

  private inNet(a: Uint8Array): boolean {
    const net = this.net;
    const mask = this.mask;
    for (let i = 0; i < this.length; i++) if ((a[i]! & mask[i]!) !== net[i]) return false;
    return true;
  }

  toString(): string {
    if (this.isHost) return `${dirText(this.dir)}host ${formatIp(this.version, this.net)}`;
    return `${dirText(this.dir)}net ${netText(this.version, this.net, this.mask)}`;
  }
}

/** `port` and `portrange`: a port in [lo, hi] of the transport protocols in `protocols`. */
export class PortNode implements FilterNode {
  constructor(
    readonly lo: number,
    readonly hi: number,
    readonly dir: number,
    readonly protocols: number,
  ) {}

  matches(p: Packet): boolean {
    let src: number;
    let dst: number;
    if (p.kind === 'tcp') {
      if ((this.protocols & PORT_TCP) === 0) return false;
      src = p.tcp.srcPort;
      dst = p.tcp.dstPort;
    } else if (p.kind === 'other') {
      // UDP and SCTP are not decoded: their ports are the first 4 bytes after the IP header.
      const ip = p.ip;
      if (ip === null || ip.laterFragment) return false;
      const bit = ip.protocol === IPPROTO_UDP ? PORT_UDP : ip.protocol === IPPROTO_SCTP ? PORT_SCTP : 0;
      if ((this.protocols & bit) === 0) return false;
      const f = p.frame;
      const at = ip.offset + ip.headerLength;
      if (at + 4 > f.offset + f.capLen) return false;
      const b = f.buf;
      src = (b[at]! << 8) | b[at + 1]!;
      dst = (b[at + 2]! << 8) | b[at + 3]!;
    } else {
      return false;
    }
    switch (this.dir) {
      case DIR_SRC:
        return src >= this.lo && src <= this.hi;
      case DIR_DST:
        return dst >= this.lo && dst <= this.hi;
      case DIR_BOTH:
        return src >= this.lo && src <= this.hi && dst >= this.lo && dst <= this.hi;
      default:
        return (src >= this.lo && src <= this.hi) || (dst >= this.lo && dst <= this.hi);
    }
  }

  toString(): string {
    const proto = this.protocols === PORT_TCP ? 'tcp ' : this.protocols === PORT_UDP ? 'udp ' : this.protocols === PORT_SCTP ? 'sctp ' : '';
    const what = this.lo === this.hi ? `port ${this.lo}` : `portrange ${this.lo}-${this.hi}`;
    return `${proto}${dirText(this.dir)}${what}`;
  }
}

function dirText(dir: number): string {
  return dir === DIR_SRC ? 'src ' : dir === DIR_DST ? 'dst ' : dir === DIR_BOTH ? 'src and dst ' : '';
}
