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
 * - Tunnels (IP-in-IP, GRE, VXLAN and the other UDP encapsulations) are removed by
 *   the decoder too: every test reads the innermost headers, where libpcap reads the
 *   outer ones.
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
 *
 * The modules: filter-lexer.ts (tokens, error messages), filter-words.ts (keywords),
 * filter-parser.ts (the grammar), filter-values.ts (hosts, networks, ports),
 * filter-address.ts (address arithmetic), filter-nodes.ts (the evaluated tree).
 */
import { FilterSyntaxError, lex } from './filter-lexer.js';
import type { FilterNode } from './filter-nodes.js';
import { Parser } from './filter-parser.js';
import type { Packet } from './packet.js';

export { FilterSyntaxError };

export interface PacketFilter {
  matches(p: Packet): boolean;
  /** The expression as given. */
  readonly text: string;
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
