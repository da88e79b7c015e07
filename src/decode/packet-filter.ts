/**
 * Capture filters in tcpdump's language (pcap-filter(7)), for its common primitives,
 * parsed once into a tree of plain objects and evaluated on each decoded packet.
 *
 * Grammar (keywords are lower case, as in libpcap):
 *
 *   expr      := unary (("and" | "&&" | "or" | "||") unary)*    equal precedence, left to right
 *   unary     := ("not" | "!") unary | primary
 *   primary   := "(" expr ")" | protocol | qualified | id
 *   protocol  := "ip" | "ip6" | "tcp" | "udp" | "sctp" | "icmp" | "icmp6"
 *   qualified := [protocol] [dir] [kind] id          at least one of dir and kind
 *   dir       := "src" | "dst" | "src or dst" | "src and dst" (either order)
 *   kind      := "host" | "net" | "port" | "portrange"     (no kind: host)
 *   id        := value | ("not" | "!") id | "(" id (("and" | "or") id)* ")"
 *   value     := IPv4 or IPv6 literal              host
 *              | a.b.c.d/len | a[.b[.c[.d]]] | N | a.b.c.d mask m.m.m.m | ipv6[/len]   net
 *              | N                                  port
 *              | N-M                                portrange
 *
 * An id alone repeats the qualifiers of the primitive before it, as in tcpdump:
 * `host a or b` is `host a or host b`, `tcp dst port 80 or 8080` is `tcp dst port 80
 * or tcp dst port 8080`, `port 80 and not 443` is `port 80 and not port 443`. Numbers
 * are read as libpcap reads them: 0x.. is hex, a leading 0 makes them octal.
 *
 * What the primitives see is the decoded Packet, not the raw frame, so they agree
 * with tcpdump on plain IPv4/IPv6 traffic and differ where decoding changes the view:
 *
 * - `tcp` is exactly the packets the decoder made TCP (kind 'tcp'). libpcap's `tcp`
 *   is "IP protocol 6": it also takes non-first fragments and TCP headers cut by the
 *   snaplen or malformed, which the decoder leaves as kind 'other' without ports.
 * - `udp`, `sctp`, `icmp` (ICMPv4 only, as in libpcap) and `icmp6` test the protocol
 *   of any decoded IP header, fragments included, as libpcap's `ip proto` does.
 * - `host`/`net` compare the decoded IP addresses: of an ICMP error, the outer header
 *   (as BPF does, not the quoted packet). Packets without a decoded IP header (ARP,
 *   other EtherTypes, unsupported link types, damaged IP headers) match no host, net,
 *   ip or ip6; libpcap's `host`/`net` without `ip` also test ARP and RARP addresses,
 *   and its `ip`/`ip6` test only the link-layer type.
 * - `port`/`portrange` take TCP ports from the decoded header and UDP/SCTP ports from
 *   the first four bytes after the IP header (when captured). Like BPF they never
 *   match non-first fragments or ICMP errors (whose outer protocol is not TCP/UDP).
 * - VLAN/QinQ tags, MPLS labels, PPPoE, PBB, FabricPath, VN-Tag and 802.2 SNAP are
 *   removed by the decoder, so `tcp`, `host` and `port` see through them; libpcap
 *   matches such frames only when the filter says `vlan`, `mpls` or `pppoes` first.
 *   Neither looks inside IP tunnels (IP-in-IP, GRE, UDP encapsulations).
 * - IPv6 extension headers are walked by the decoder; libpcap's port tests read only
 *   the fixed header's next header, and its `tcp`/`udp`/`icmp6` at most one fragment
 *   header further, so TCP after a hop-by-hop header is `tcp` and `port 80` here only.
 * - BPF rejects the whole packet when any test reads past the captured bytes (even
 *   under `not`); here each primitive is false on its own and `not` inverts it.
 * - `host 10.1` (an IPv4 address of fewer than four parts) is a network in libpcap;
 *   here it is an error that says to write `net 10.1`. Names are never resolved.
 *
 * Evaluation allocates nothing: every node is an object with numeric fields and a
 * `matches` method, built once by the parser.
 */
import { formatIp } from '../util/address.js';
import type { Packet } from './packet.js';

/** A filter expression that cannot be used; the message is one line naming the word and its position. */
export class FilterSyntaxError extends Error {
  override readonly name = 'FilterSyntaxError';
}

export interface PacketFilter {
  matches(p: Packet): boolean;
  /** The expression as given. */
  readonly text: string;
}

// ---------------------------------------------------------------------------
// The evaluated tree
// ---------------------------------------------------------------------------

/** Which address or port a primitive tests. */
const DIR_ANY = 0; // src or dst (also the default)
const DIR_SRC = 1;
const DIR_DST = 2;
const DIR_BOTH = 3; // src and dst

/** Transport protocols a port primitive accepts, one bit each. */
const PORT_TCP = 1;
const PORT_UDP = 2;
const PORT_SCTP = 4;
const PORT_ANY = PORT_TCP | PORT_UDP | PORT_SCTP;

const IPPROTO_ICMP = 1;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_SCTP = 132;

interface FilterNode {
  matches(p: Packet): boolean;
  /** Canonical pcap-filter text, every binary operation in parentheses. */
  toString(): string;
}

class AndNode implements FilterNode {
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

class OrNode implements FilterNode {
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

class NotNode implements FilterNode {
  constructor(readonly inner: FilterNode) {}
  matches(p: Packet): boolean {
    return !this.inner.matches(p);
  }
  toString(): string {
    return `not ${this.inner.toString()}`;
  }
}

/** `tcp`: the packets the decoder made TCP. */
class TcpNode implements FilterNode {
  matches(p: Packet): boolean {
    return p.kind === 'tcp';
  }
  toString(): string {
    return 'tcp';
  }
}

/** `ip` / `ip6`: a decoded IP header of that version. */
class IpVersionNode implements FilterNode {
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
class IpProtocolNode implements FilterNode {
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
class AddressNode implements FilterNode {
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
    const addr = formatIp(this.version, this.net);
    if (this.isHost) return `${dirText(this.dir)}host ${addr}`;
    const len = prefixLength(this.mask, this.length);
    return `${dirText(this.dir)}net ${addr}${len >= 0 ? `/${len}` : ` mask ${formatIp(4, this.mask)}`}`;
  }
}

/** `port` and `portrange`: a port in [lo, hi] of the transport protocols in `protocols`. */
class PortNode implements FilterNode {
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

/** The prefix length of a contiguous mask, -1 for a non-contiguous one. */
function prefixLength(mask: Uint8Array, length: number): number {
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

class CompiledFilter implements PacketFilter {
  constructor(
    readonly text: string,
    private readonly root: FilterNode,
  ) {}
  matches(p: Packet): boolean {
    return this.root.matches(p);
  }
  /** The parsed expression in canonical form, fully parenthesised: shows precedence and abbreviations. */
  toString(): string {
    return this.root.toString();
  }
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

const T_WORD = 0;
const T_LPAREN = 1;
const T_RPAREN = 2;
const T_AND = 3;
const T_OR = 4;
const T_NOT = 5;
const T_SLASH = 6;
/** Any other character: arithmetic, comparisons, byte offsets. */
const T_OTHER = 7;
const T_END = 8;

interface Token {
  type: number;
  text: string;
  /** 0-based offset in the expression. */
  pos: number;
}

const WORD_CHAR = /[A-Za-z0-9_.:%-]/;

function lex(expr: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i;
    const two = expr.slice(i, i + 2);
    if (c === '(') toks.push({ type: T_LPAREN, text: c, pos });
    else if (c === ')') toks.push({ type: T_RPAREN, text: c, pos });
    else if (c === '/') toks.push({ type: T_SLASH, text: c, pos });
    else if (two === '&&' || two === '||' || two === '!=') {
      toks.push({ type: two === '&&' ? T_AND : two === '||' ? T_OR : T_OTHER, text: two, pos });
      i += 2;
      continue;
    } else if (c === '!') toks.push({ type: T_NOT, text: c, pos });
    else if (WORD_CHAR.test(c)) {
      let j = i + 1;
      while (j < expr.length && WORD_CHAR.test(expr[j]!)) j++;
      const w = expr.slice(i, j);
      toks.push({ type: w === 'and' ? T_AND : w === 'or' ? T_OR : w === 'not' ? T_NOT : T_WORD, text: w, pos });
      i = j;
      continue;
    } else toks.push({ type: T_OTHER, text: c, pos });
    i++;
  }
  toks.push({ type: T_END, text: '', pos: expr.length });
  return toks;
}

// ---------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------

const P_DEFAULT = 0;
const P_IP = 1;
const P_IP6 = 2;
const P_TCP = 3;
const P_UDP = 4;
const P_SCTP = 5;
const P_ICMP = 6;
const P_ICMP6 = 7;

const PROTOCOLS = new Map<string, number>([
  ['ip', P_IP],
  ['ip6', P_IP6],
  ['tcp', P_TCP],
  ['udp', P_UDP],
  ['sctp', P_SCTP],
  ['icmp', P_ICMP],
  ['icmp6', P_ICMP6],
]);

const A_DEFAULT = 0;
const A_HOST = 1;
const A_NET = 2;
const A_PORT = 3;
const A_PORTRANGE = 4;

const KINDS = new Map<string, number>([
  ['host', A_HOST],
  ['net', A_NET],
  ['port', A_PORT],
  ['portrange', A_PORTRANGE],
]);

/** pcap-filter(7) words this filter does not implement: named in the error, never taken for a host name. */
const UNSUPPORTED = new Set(
  (
    'ether fddi tr wlan ppp slip link arp rarp atalk aarp decnet iso esis es-is isis is-is l1 l2 iih lsp snp csnp psnp ' +
    'clnp stp ipx netbeui lat moprc mopdl sca llc igmp igrp pim vrrp carp ah esp gateway proto protochain broadcast ' +
    'multicast less greater len inbound outbound ifindex vlan mpls pppoed pppoes geneve vxlan lane metac bcc oam oamf4 ' +
    'sc ilmic connectmsg metaconnect vpi vci radio type subtype dir addr1 addr2 addr3 addr4 ta ra on ifname rnr ' +
    'rulenum reason rset ruleset srnr subrulenum action fisu lssu msu hfisu hlssu hmsu sio opc dpc sls hsio hopc hdpc hsls ' +
    'ip6proto icmptype icmpcode tcpflags'
  ).split(' '),
);

const SUPPORTED = 'supported: host, net, port, portrange, src, dst, ip, ip6, tcp, udp, sctp, icmp, icmp6, and (&&), or (||), not (!), parentheses';

function isKeyword(w: string): boolean {
  return PROTOCOLS.has(w) || KINDS.has(w) || w === 'src' || w === 'dst' || w === 'mask' || UNSUPPORTED.has(w);
}

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

/** Qualifiers of a primitive, with the words that gave them (for messages). */
interface Qualifiers {
  proto: number;
  dir: number;
  kind: number;
  protoWord: string;
  /** The qualifier words as written, e.g. "tcp dst port". */
  words: string;
}

/** A number as libpcap reads one: 0x hex, leading-0 octal, else decimal; null when the word is no number. */
function parseNumber(t: Token, w = t.text): number | null {
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(w)) v = parseInt(w.slice(2), 16);
  else if (/^0[0-7]*$/.test(w)) v = parseInt(w, 8);
  else if (/^0[0-9]+$/.test(w)) throw fail(t, 'a non-octal digit (a leading 0 makes a number octal, as in tcpdump)', w);
  else if (/^[1-9][0-9]*$/.test(w)) v = Number(w);
  else return null;
  if (v > 0xffffffff) throw fail(t, 'number too large', w);
  return v;
}

/** Dotted IPv4 parts as libpcap reads them (decimal, 1 to 4 parts), or null. */
function parseIpv4Parts(w: string): number[] | null {
  if (!/^[0-9]+(\.[0-9]+){0,3}$/.test(w)) return null;
  const parts = w.split('.').map(Number);
  return parts.every((x) => x <= 255) ? parts : null;
}

/** An IPv6 literal in any RFC 4291 text form (with "::" and a trailing dotted quad), or null. */
function parseIpv6(w: string): Uint8Array | null {
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
function prefixMask(bits: number, length: number): Uint8Array {
  const m = new Uint8Array(16);
  for (let i = 0; i < length; i++) {
    const b = Math.max(0, Math.min(8, bits - 8 * i));
    m[i] = (0xff00 >> b) & 0xff;
  }
  return m;
}

function u32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = v >>> 24;
  b[1] = (v >>> 16) & 0xff;
  b[2] = (v >>> 8) & 0xff;
  b[3] = v & 0xff;
  return b;
}

/** IPv4 parts, short forms shifted to the top (10.1 is 10.1.0.0), as a 32-bit value. */
function partsValue(parts: number[]): number {
  let v = 0;
  for (let i = 0; i < 4; i++) v = v * 256 + (parts[i] ?? 0);
  return v;
}

function hasHostBits(net: Uint8Array, mask: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if ((net[i]! & ~mask[i]!) !== 0) return true;
  return false;
}

function masked(net: Uint8Array, mask: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < length; i++) out[i] = net[i]! & mask[i]!;
  return out;
}

function where(t: Token): string {
  return t.type === T_END ? 'at the end' : `at character ${t.pos + 1}`;
}

function fail(t: Token, problem: string, text = t.text): FilterSyntaxError {
  return new FilterSyntaxError(t.type === T_END ? `at the end: ${problem}` : `"${text}" ${where(t)}: ${problem}`);
}

function describe(t: Token): string {
  return t.type === T_END ? 'the end of the expression' : `"${t.text}" ${where(t)}`;
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

class Parser {
  private i = 0;
  /**
   * The qualifiers an id alone repeats: those of the last primitive parsed, null when
   * there is none or it was a bare protocol (`tcp and 80` is an error, as in libpcap).
   */
  private q: Qualifiers | null = null;
  /** The bare protocol word that left `q` null, for the message. */
  private bare = '';

  constructor(private readonly toks: Token[]) {}

  parse(): FilterNode {
    const n = this.expr();
    const t = this.peek();
    if (t.type === T_RPAREN) throw fail(t, 'no matching "("');
    if (t.type === T_WORD && UNSUPPORTED.has(t.text)) throw fail(t, `not supported; ${SUPPORTED}`);
    if (t.type === T_OTHER || t.type === T_SLASH) throw fail(t, `arithmetic, comparisons and byte offsets (tcp[13] & 2, len > 100) are not supported; ${SUPPORTED}`);
    if (t.type !== T_END) throw fail(t, 'expected "and" or "or" before it');
    return n;
  }

  private peek(ahead = 0): Token {
    return this.toks[Math.min(this.i + ahead, this.toks.length - 1)]!;
  }

  private expr(): FilterNode {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.type !== T_AND && t.type !== T_OR) return left;
      this.i++;
      const right = this.unary();
      left = t.type === T_AND ? new AndNode(left, right) : new OrNode(left, right);
    }
  }

  private unary(): FilterNode {
    if (this.peek().type === T_NOT) {
      this.i++;
      return new NotNode(this.unary());
    }
    return this.primary();
  }

  private primary(): FilterNode {
    const t = this.peek();
    switch (t.type) {
      case T_LPAREN: {
        this.i++;
        const n = this.expr();
        const c = this.peek();
        if (c.type === T_END) throw fail(t, 'never closed');
        if (c.type !== T_RPAREN) throw fail(c, 'expected "and", "or" or ")" before it');
        this.i++;
        return n;
      }
      case T_WORD:
        return this.primitive();
      case T_SLASH:
        throw fail(t, 'a prefix length only follows a net address, as in "net 10.0.0.0/8"');
      case T_OTHER:
        throw fail(t, `arithmetic, comparisons and byte offsets (tcp[13] & 2, len > 100) are not supported; ${SUPPORTED}`);
      default:
        throw this.missingOperand(t);
    }
  }

  /** Where an expression should start but `t` (an operator, ")" or the end) is. */
  private missingOperand(t: Token): FilterSyntaxError {
    const prev = this.i > 0 ? this.toks[this.i - 1]! : null;
    if (prev === null) return fail(t, 'nothing before it');
    if (prev.type === T_LPAREN) return t.type === T_RPAREN ? fail(prev, 'empty parentheses') : t.type === T_END ? fail(prev, 'never closed') : fail(t, 'nothing before it');
    if (t.type === T_END) return fail(prev, 'nothing follows it');
    return fail(prev, `nothing between it and ${describe(t)}`);
  }

  private primitive(): FilterNode {
    const t = this.peek();
    const w = t.text;
    const proto = PROTOCOLS.get(w);
    if (proto !== undefined) {
      this.i++;
      const n = this.peek();
      if (n.type === T_WORD && (n.text === 'src' || n.text === 'dst' || KINDS.has(n.text))) return this.qualified(proto, w);
      if (n.type === T_WORD && UNSUPPORTED.has(n.text)) throw fail(n, `not supported after "${w}"; ${SUPPORTED}`);
      if (n.type === T_OTHER && n.text === '[') throw fail(t, `byte offsets (${w}[...]) are not supported; ${SUPPORTED}`, `${w}[`);
      this.q = null;
      this.bare = w;
      return protocolNode(proto);
    }
    if (w === 'src' || w === 'dst' || KINDS.has(w)) return this.qualified(P_DEFAULT, '');
    if (UNSUPPORTED.has(w)) throw fail(t, `not supported; ${SUPPORTED}`);
    if (w === 'mask') throw fail(t, 'only follows a net address, as in "net 10.0.0.0 mask 255.0.0.0"');
    if (this.q !== null) return this.id(this.q);
    if (/^[0-9]/.test(w) || w.includes(':')) {
      const why = this.bare === '' ? '' : ` (a value alone repeats the qualifiers of the primitive before it, and "${this.bare}" has none)`;
      throw fail(t, `needs a qualifier such as host, net, port or portrange${why}`);
    }
    const lower = w.toLowerCase();
    if (lower !== w && (isKeyword(lower) || lower === 'and' || lower === 'or' || lower === 'not')) throw fail(t, `keywords are lower case: write "${lower}"`);
    throw fail(t, `unknown word; ${SUPPORTED}`);
  }

  /** [protocol] [dir] [kind] id, the protocol word (if any) already read. */
  private qualified(proto: number, protoWord: string): FilterNode {
    const words: string[] = protoWord === '' ? [] : [protoWord];
    let dir = DIR_ANY;
    let t = this.peek();
    if (t.type === T_WORD && (t.text === 'src' || t.text === 'dst')) {
      this.i++;
      dir = t.text === 'src' ? DIR_SRC : DIR_DST;
      words.push(t.text);
      const op = this.peek();
      const other = this.peek(1);
      if ((op.type === T_AND || op.type === T_OR) && other.type === T_WORD && other.text === (dir === DIR_SRC ? 'dst' : 'src')) {
        this.i += 2;
        words.push(op.text, other.text);
        dir = op.type === T_AND ? DIR_BOTH : DIR_ANY;
      }
      t = this.peek();
    }
    let kind = A_DEFAULT;
    const k = t.type === T_WORD ? KINDS.get(t.text) : undefined;
    if (k !== undefined) {
      this.i++;
      kind = k;
      words.push(t.text);
    } else if (t.type === T_WORD && UNSUPPORTED.has(t.text)) {
      throw fail(t, `not supported; ${SUPPORTED}`);
    }
    const q: Qualifiers = { proto, dir, kind, protoWord, words: words.join(' ') };
    this.q = q;
    return this.id(q);
  }

  /** The id after qualifiers: a value, a negated id, or ids in parentheses. */
  private id(q: Qualifiers): FilterNode {
    const t = this.peek();
    if (t.type === T_NOT) {
      this.i++;
      return new NotNode(this.id(q));
    }
    if (t.type === T_LPAREN) {
      this.i++;
      let n = this.id(q);
      for (;;) {
        const op = this.peek();
        if (op.type === T_RPAREN) break;
        if (op.type === T_END) throw fail(t, 'never closed');
        if (op.type !== T_AND && op.type !== T_OR) throw fail(op, 'expected "and", "or" or ")" before it');
        this.i++;
        const r = this.id(q);
        n = op.type === T_AND ? new AndNode(n, r) : new OrNode(n, r);
      }
      this.i++;
      return n;
    }
    const what = q.kind === A_PORT || q.kind === A_PORTRANGE ? 'a port' : 'an address';
    if (t.type !== T_WORD || isKeyword(t.text)) {
      const after = this.i > 0 ? this.toks[this.i - 1]! : t;
      if (t.type === T_END) throw fail(after, `expected ${what} after it`);
      throw fail(t, `expected ${what} after "${after.text}"`);
    }
    this.i++;
    switch (q.kind) {
      case A_NET:
        return this.netValue(q, t);
      case A_PORT:
        return this.portValue(q, t);
      case A_PORTRANGE:
        return this.portRangeValue(q, t);
      default:
        return this.hostValue(q, t);
    }
  }

  private hostValue(q: Qualifiers, t: Token): FilterNode {
    const w = t.text;
    if (q.proto !== P_DEFAULT && q.proto !== P_IP && q.proto !== P_IP6) {
      throw fail(t, `"${q.protoWord}" cannot qualify a host (write "${q.protoWord} and host ${w}")`);
    }
    const n = this.peek();
    if (n.type === T_SLASH || (n.type === T_WORD && n.text === 'mask')) {
      const m = this.peek(1);
      const rest = `${n.type === T_SLASH ? '/' : ' mask '}${m.type === T_WORD ? m.text : '...'}`;
      throw fail(t, `a mask is for networks: write "net ${w}${rest}"`, `${w}${rest}`);
    }
    let version: 4 | 6;
    let addr: Uint8Array;
    if (w.includes(':') || w.includes('%')) {
      version = 6;
      addr = this.ipv6(t);
    } else if (/^[0-9.]+$/.test(w) && w.includes('.')) {
      const parts = parseIpv4Parts(w);
      if (parts === null) throw fail(t, 'invalid IPv4 address');
      if (parts.length < 4) throw fail(t, `not a whole IPv4 address (a host has four parts; for a network write "net ${w}")`);
      version = 4;
      addr = u32Bytes(partsValue(parts));
    } else if (/^[0-9]+$/.test(w) || /^0[xX][0-9a-fA-F]+$/.test(w)) {
      throw fail(t, `not an address${q.kind === A_DEFAULT ? '' : ` after "${q.words}"`} (a host is a.b.c.d or an IPv6 address)`);
    } else if (/^[A-Za-z]/.test(w)) {
      throw fail(t, 'host names are not resolved; give an IPv4 or IPv6 address');
    } else {
      throw fail(t, 'invalid address');
    }
    this.checkVersion(q, t, version);
    return new AddressNode(version, addr, prefixMask(version === 4 ? 32 : 128, 16), q.dir, true);
  }

  private netValue(q: Qualifiers, t: Token): FilterNode {
    const w = t.text;
    if (q.proto !== P_DEFAULT && q.proto !== P_IP && q.proto !== P_IP6) {
      throw fail(t, `"${q.protoWord}" cannot qualify a network (write "${q.protoWord} and net ${w}")`);
    }
    const slash = this.peek().type === T_SLASH;
    const maskWord = this.peek().type === T_WORD && this.peek().text === 'mask';
    if (w.includes(':') || w.includes('%')) {
      const addr = this.ipv6(t);
      if (maskWord) throw fail(t, `"mask" is for IPv4 networks: write "${w}/length"`);
      const bits = slash ? this.prefixLength(t, 128) : 128;
      const mask = prefixMask(bits, 16);
      if (hasHostBits(addr, mask, 16)) throw fail(t, `bits set past the /${bits} prefix (the network is ${formatIp(6, masked(addr, mask, 16))}/${bits})`, `${w}/${bits}`);
      this.checkVersion(q, t, 6);
      return new AddressNode(6, addr, mask, q.dir, false);
    }
    let value: number;
    let mask: Uint8Array;
    let shown = w;
    if (/^[0-9]+$/.test(w) || /^0[xX]/.test(w)) {
      // A number alone is a network number: 10 is 10.0.0.0/8, as libpcap promotes it.
      if (slash || maskWord) throw fail(t, `write the IPv4 network with dots, as in "net ${w}.0.0.0/8"`);
      let v = parseNumber(t);
      if (v === null) throw fail(t, 'invalid network number');
      let m = 0xffffffff;
      while (v !== 0 && v < 0x1000000) {
        v *= 256;
        m = (m * 256) % 0x100000000;
      }
      value = v;
      mask = u32Bytes(m);
    } else if (/^[0-9.]+$/.test(w)) {
      const parts = parseIpv4Parts(w);
      if (parts === null) throw fail(t, 'invalid IPv4 address');
      value = partsValue(parts);
      if (slash) {
        const bits = this.prefixLength(t, 32);
        mask = prefixMask(bits, 4);
        shown = `${w}/${bits}`;
      } else if (maskWord) {
        this.i++;
        const mt = this.peek();
        const mparts = mt.type === T_WORD ? parseIpv4Parts(mt.text) : null;
        if (mparts === null) throw mt.type === T_END ? fail(this.toks[this.i - 1]!, 'expected an IPv4 mask after it') : fail(mt, 'invalid IPv4 mask');
        this.i++;
        mask = u32Bytes(partsValue(mparts));
        shown = `${w} mask ${mt.text}`;
      } else {
        mask = prefixMask(8 * parts.length, 4);
      }
    } else if (/^[A-Za-z]/.test(w)) {
      throw fail(t, 'network names are not resolved; give an address, as in "net 10.0.0.0/8"');
    } else {
      throw fail(t, 'invalid network address');
    }
    const net = u32Bytes(value);
    if (hasHostBits(net, mask, 4)) {
      const len = prefixLength(mask, 4);
      const fixed = `${formatIp(4, masked(net, mask, 4))}${len >= 0 ? `/${len}` : ` mask ${formatIp(4, mask)}`}`;
      throw fail(t, `bits set outside the network mask (the network is ${fixed})`, shown);
    }
    this.checkVersion(q, t, 4);
    return new AddressNode(4, net, mask, q.dir, false);
  }

  /** "/len" after a network address, at most `max`. */
  private prefixLength(addrTok: Token, max: number): number {
    this.i++; // the slash
    const t = this.peek();
    const bits = t.type === T_WORD ? parseNumber(t) : null;
    if (bits === null) throw t.type === T_END ? fail(this.toks[this.i - 1]!, 'expected a prefix length after it') : fail(t, 'expected a prefix length');
    this.i++;
    if (bits > max) throw fail(addrTok, `prefix length out of range for IPv${max === 32 ? 4 : 6} (0-${max})`, `${addrTok.text}/${t.text}`);
    return bits;
  }

  private ipv6(t: Token): Uint8Array {
    if (t.text.includes('%')) throw fail(t, 'zone indexes (%...) are not supported; give the address alone');
    const a = parseIpv6(t.text);
    if (a === null) throw fail(t, 'invalid IPv6 address');
    return a;
  }

  private checkVersion(q: Qualifiers, t: Token, version: 4 | 6): void {
    if (q.proto === P_IP && version === 6) throw fail(t, 'an IPv6 address cannot have the qualifier "ip" (use ip6)');
    if (q.proto === P_IP6 && version === 4) throw fail(t, 'an IPv4 address cannot have the qualifier "ip6" (use ip)');
  }

  private portProtocols(q: Qualifiers, t: Token): number {
    switch (q.proto) {
      case P_DEFAULT:
        return PORT_ANY;
      case P_TCP:
        return PORT_TCP;
      case P_UDP:
        return PORT_UDP;
      case P_SCTP:
        return PORT_SCTP;
      default:
        throw fail(t, `"${q.protoWord}" cannot qualify a port (ports belong to tcp, udp or sctp)`);
    }
  }

  private port(t: Token, w: string): number {
    const v = parseNumber(t, w);
    if (v === null) {
      if (/^[A-Za-z]/.test(w)) throw fail(t, 'port names are not resolved; give a number');
      throw fail(t, 'invalid port number');
    }
    if (v > 65535) throw fail(t, 'port out of range (0-65535)');
    return v;
  }

  private portValue(q: Qualifiers, t: Token): FilterNode {
    const protocols = this.portProtocols(q, t);
    if (t.text.includes('-') && /^[0-9]/.test(t.text)) throw fail(t, `a range needs portrange: write "portrange ${t.text}"`);
    const p = this.port(t, t.text);
    return new PortNode(p, p, q.dir, protocols);
  }

  private portRangeValue(q: Qualifiers, t: Token): FilterNode {
    const protocols = this.portProtocols(q, t);
    const dash = t.text.indexOf('-');
    if (dash <= 0 || dash === t.text.length - 1) throw fail(t, 'not a port range: write it as low-high, as in "portrange 6000-6010"');
    let lo = this.port(t, t.text.slice(0, dash));
    let hi = this.port(t, t.text.slice(dash + 1));
    if (lo > hi) [lo, hi] = [hi, lo];
    return new PortNode(lo, hi, q.dir, protocols);
  }
}

function protocolNode(proto: number): FilterNode {
  switch (proto) {
    case P_TCP:
      return new TcpNode();
    case P_IP:
      return new IpVersionNode(4);
    case P_IP6:
      return new IpVersionNode(6);
    case P_UDP:
      return new IpProtocolNode(IPPROTO_UDP, 0, 'udp');
    case P_SCTP:
      return new IpProtocolNode(IPPROTO_SCTP, 0, 'sctp');
    case P_ICMP:
      return new IpProtocolNode(IPPROTO_ICMP, 4, 'icmp');
    default:
      return new IpProtocolNode(IPPROTO_ICMPV6, 6, 'icmp6');
  }
}

/**
 * Parse a tcpdump-style filter expression (the argv words joined with spaces).
 * Throws FilterSyntaxError, with a one-line message naming the word and its
 * position, for anything it cannot take, including an empty expression.
 * The returned filter's toString() gives the expression in canonical form.
 */
export function parsePacketFilter(expr: string): PacketFilter {
  const toks = lex(expr);
  if (toks.length === 1) throw new FilterSyntaxError('the expression is empty');
  return new CompiledFilter(expr, new Parser(toks).parse());
}
