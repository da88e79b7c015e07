/** The keywords of a capture filter expression (see packet-filter.ts) and what they select. */

/** The protocol qualifier of a primitive (P_DEFAULT: none). */
export const P_DEFAULT = 0;
export const P_IP = 1;
export const P_IP6 = 2;
export const P_TCP = 3;
export const P_UDP = 4;
export const P_SCTP = 5;
export const P_ICMP = 6;
export const P_ICMP6 = 7;

export const PROTOCOLS = new Map<string, number>([
  ['ip', P_IP],
  ['ip6', P_IP6],
  ['tcp', P_TCP],
  ['udp', P_UDP],
  ['sctp', P_SCTP],
  ['icmp', P_ICMP],
  ['icmp6', P_ICMP6],
]);

/** The kind of a primitive (A_DEFAULT: none given, read as host). */
export const A_DEFAULT = 0;
export const A_HOST = 1;
export const A_NET = 2;
export const A_PORT = 3;
export const A_PORTRANGE = 4;

export const KINDS = new Map<string, number>([
  ['host', A_HOST],
  ['net', A_NET],
  ['port', A_PORT],
  ['portrange', A_PORTRANGE],
]);

/** pcap-filter(7) words this filter does not implement: named in the error, never taken for a host name. */
export const UNSUPPORTED = new Set(
  (
    'ether fddi tr wlan ppp slip link arp rarp atalk aarp decnet iso esis es-is isis is-is l1 l2 iih lsp snp csnp psnp ' +
    'clnp stp ipx netbeui lat moprc mopdl sca llc igmp igrp pim vrrp carp ah esp gateway proto protochain broadcast ' +
    'multicast less greater len inbound outbound ifindex vlan mpls pppoed pppoes geneve vxlan lane metac bcc oam oamf4 ' +
    'sc ilmic connectmsg metaconnect vpi vci radio type subtype dir addr1 addr2 addr3 addr4 ta ra on ifname rnr ' +
    'rulenum reason rset ruleset srnr subrulenum action fisu lssu msu hfisu hlssu hmsu sio opc dpc sls hsio hopc hdpc hsls ' +
    'ip6proto icmptype icmpcode tcpflags'
  ).split(' '),
);

export const SUPPORTED = 'supported: host, net, port, portrange, src, dst, ip, ip6, tcp, udp, sctp, icmp, icmp6, and (&&), or (||), not (!), parentheses';

export function isKeyword(w: string): boolean {
  return PROTOCOLS.has(w) || KINDS.has(w) || w === 'src' || w === 'dst' || w === 'mask' || UNSUPPORTED.has(w);
}

/** Qualifiers of a primitive, with the words that gave them (for messages). */
export interface Qualifiers {
  proto: number;
  dir: number;
  kind: number;
  protoWord: string;
  /** The qualifier words as written, e.g. "tcp dst port". */
  words: string;
}