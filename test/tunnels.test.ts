/**
 * Tunnel decapsulation: each encapsulation, built byte by byte from its specification
 * (test/helpers/tunnels.ts), decodes to the TCP segment inside with the right
 * TunnelPath; nesting stops at MAX_TUNNEL_DEPTH; cut or foreign headers are told
 * apart; the configuration turns ports and decapsulation on and off; and the tracker
 * keeps the same inner tuple in two tunnels apart while keeping one connection's two
 * directions together.
 */
import { describe, expect, it } from 'vitest';
import { Frame } from '../src/capture/frame.js';
import { DecapTable } from '../src/decode/decap.js';
import { Decoder } from '../src/decode/decoder.js';
import { TCP_ACK, TCP_PSH, type Packet } from '../src/decode/packet.js';
import {
  DEFAULT_UDP_TUNNEL_PORTS,
  MAX_TUNNEL_DEPTH,
  TUNNEL_AYIYA,
  TUNNEL_ERSPAN,
  TUNNEL_GENEVE,
  TUNNEL_GRE,
  TUNNEL_GTP_U,
  TUNNEL_IP_IN_IP,
  TUNNEL_TEREDO,
  TUNNEL_VXLAN,
  parseDecapSpec,
  type TunnelLayer,
} from '../src/decode/tunnel.js';
import type { Connection } from '../src/track/connection.js';
import { ConnectionTracker } from '../src/track/tracker.js';
import { addrOf, cat, ip4, ip6, pattern, type Bytes } from './helpers/bytes.js';
import { decodeOne, frameOf } from './helpers/decode-one.js';
import { ipv4, ipv6, tcp, type TcpSpec } from './helpers/ip-packets.js';
import { LINKTYPE, asV4, asV6, ethernet, vlan } from './helpers/link-layers.js';
import {
  GRE_PROTO,
  ayiya,
  erspan1,
  erspan2,
  erspan3,
  geneve,
  geneveOption,
  gre,
  gtpU,
  pdcpPduNumber,
  pduSessionContainer,
  teredo,
  udp,
  vxlan,
  wccp,
} from './helpers/tunnels.js';

const PROTO_IPIP = 4;
const PROTO_UDP = 17;
const PROTO_IPV6 = 41;
const PROTO_GRE = 47;

/** The inner segment: distinctive ports, numbers, flags and a 100-byte payload. */
const SEG = { sport: 43210, dport: 443, seq: 0x11223344, ack: 0x8899aabb, flags: 'PA', window: 501, payload: 100 } as const;
const IN4 = { src: '10.1.0.1', dst: '10.2.0.2' };
const IN6 = { src: 'fd00:1::1', dst: 'fd00:2::2' };
/** A Teredo client (2001:0::/32: server 65.54.227.120, flags, obfuscated port and address) talking to a native host. */
const TEREDO6 = { src: '2001:0:4136:e378:8000:63bf:3fff:fdd2', dst: '2001:db8::b' };
const OUT4 = { src: '192.0.2.1', dst: '198.51.100.2' };
const OUT6 = { src: '2001:db8:ffff::1', dst: '2001:db8:eeee::2' };

const in4 = ipv4({ ...IN4, payload: tcp(SEG) });
const in6 = ipv6({ ...IN6, payload: tcp(SEG) });
const inTeredo = ipv6({ ...TEREDO6, payload: tcp(SEG) });
/** The inner packets in their own Ethernet frames (VXLAN, Geneve TEB, gretap, ERSPAN). */
const eth4 = ethernet(asV4(in4), { dst: '02:00:00:00:aa:02', src: '02:00:00:00:aa:01' });
const eth6 = ethernet(asV6(in6), { dst: '02:00:00:00:aa:02', src: '02:00:00:00:aa:01' });

const ETH = 14;
const V4H = 20;
const V6H = 40;
const UDPH = 8;

/** An Ethernet frame with an outer IPv4 header (OUT4 unless given) carrying `payload` as protocol `proto`. */
function over4(proto: number, payload: Bytes, addrs: { src: string; dst: string } = OUT4): Buffer {
  return ethernet(asV4(ipv4({ ...addrs, proto, payload })));
}

function over6(nextHeader: number, payload: Bytes, addrs: { src: string; dst: string } = OUT6): Buffer {
  return ethernet(asV6(ipv6({ ...addrs, nextHeader, payload })));
}

function overUdp4(sport: number, dport: number, payload: Bytes, addrs: { src: string; dst: string } = OUT4): Buffer {
  return over4(PROTO_UDP, udp({ sport, dport, payload }), addrs);
}

function ipBytes(version: 4 | 6, a: string): Buffer {
  return version === 4 ? ip4(a) : ip6(a);
}

function describeOther(p: Packet): string {
  return p.kind === 'other' ? `${p.reason}: ${p.detail}` : p.kind;
}

/** The packet is SEG found `offset` bytes into the frame, from `addrs` in an IP `version` header. */
function expectInner(p: Packet, version: 4 | 6, addrs: { src: string; dst: string }, offset: number): void {
  expect(p.kind, describeOther(p)).toBe('tcp');
  if (p.kind !== 'tcp') return;
  expect(p.ip.version).toBe(version);
  expect(p.ip.offset - p.frame.offset).toBe(offset);
  expect(addrOf(p.ip.src, version)).toEqual(ipBytes(version, addrs.src));
  expect(addrOf(p.ip.dst, version)).toEqual(ipBytes(version, addrs.dst));
  expect(p.tcp.srcPort).toBe(SEG.sport);
  expect(p.tcp.dstPort).toBe(SEG.dport);
  expect(p.tcp.seq).toBe(SEG.seq);
  expect(p.tcp.ack).toBe(SEG.ack);
  expect(p.tcp.flags).toBe(TCP_PSH | TCP_ACK);
  expect(p.tcp.window).toBe(SEG.window);
  expect(p.tcp.payloadLength).toBe(SEG.payload);
  expect(p.tcp.truncated).toBe(false);
}

interface LayerWant {
  kind: number;
  variant?: number;
  version: 4 | 6;
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  id: number;
}

function expectLayer(l: TunnelLayer, w: LayerWant): void {
  expect(l.kind).toBe(w.kind);
  expect(l.variant).toBe(w.variant ?? 0);
  expect(l.version).toBe(w.version);
  expect(addrOf(l.src, w.version)).toEqual(ipBytes(w.version, w.src));
  expect(addrOf(l.dst, w.version)).toEqual(ipBytes(w.version, w.dst));
  expect(l.srcPort).toBe(w.srcPort ?? 0);
  expect(l.dstPort).toBe(w.dstPort ?? 0);
  expect(l.id).toBe(w.id);
}

interface Case {
  name: string;
  frame: Buffer;
  /** The inner IP header's version, addresses and offset in the frame. */
  inner: { version: 4 | 6; addrs: { src: string; dst: string }; offset: number };
  layers: LayerWant[];
}

const V4IN = { version: 4 as const, addrs: IN4 };
const V6IN = { version: 6 as const, addrs: IN6 };
const L4 = { version: 4 as const, ...OUT4 };
const L6 = { version: 6 as const, ...OUT6 };
const O4 = ETH + V4H;
const O6 = ETH + V6H;

const geneveOpts = cat(geneveOption(0x0102, 0x80, [1, 2, 3, 4]), geneveOption(0xffff, 0x01, pattern(8, 0x30)));

const CASES: Case[] = [
  // VXLAN (RFC 7348)
  {
    name: 'VXLAN on 4789',
    frame: overUdp4(51234, 4789, vxlan(0x123456, eth4)),
    inner: { ...V4IN, offset: O4 + UDPH + 8 + ETH },
    layers: [{ kind: TUNNEL_VXLAN, ...L4, srcPort: 51234, dstPort: 4789, id: 0x123456 }],
  },
  {
    name: "VXLAN on 8472 (Linux's default port)",
    frame: overUdp4(40001, 8472, vxlan(1, eth6)),
    inner: { ...V6IN, offset: O4 + UDPH + 8 + ETH },
    layers: [{ kind: TUNNEL_VXLAN, ...L4, srcPort: 40001, dstPort: 8472, id: 1 }],
  },
  {
    name: 'VXLAN from the well-known port (found by the source port)',
    frame: overUdp4(4789, 60000, vxlan(0xffffff, eth4)),
    inner: { ...V4IN, offset: O4 + UDPH + 8 + ETH },
    layers: [{ kind: TUNNEL_VXLAN, ...L4, srcPort: 4789, dstPort: 60000, id: 0xffffff }],
  },
  {
    name: 'VXLAN over IPv6',
    frame: over6(PROTO_UDP, udp({ sport: 50000, dport: 4789, payload: vxlan(77, eth4) })),
    inner: { ...V4IN, offset: O6 + UDPH + 8 + ETH },
    layers: [{ kind: TUNNEL_VXLAN, ...L6, srcPort: 50000, dstPort: 4789, id: 77 }],
  },
  {
    name: 'VXLAN, the inner frame VLAN-tagged',
    frame: overUdp4(51234, 4789, vxlan(4242, ethernet(vlan(300, asV4(in4))))),
    inner: { ...V4IN, offset: O4 + UDPH + 8 + ETH + 4 },
    layers: [{ kind: TUNNEL_VXLAN, ...L4, srcPort: 51234, dstPort: 4789, id: 4242 }],
  },
  // Geneve (RFC 8926)
  {
    name: 'Geneve with options (20 bytes), an Ethernet frame (0x6558)',
    frame: overUdp4(33333, 6081, geneve({ vni: 0xabcdef, protocol: 0x6558, options: geneveOpts, critical: true }, eth4)),
    inner: { ...V4IN, offset: O4 + UDPH + 8 + 20 + ETH },
    layers: [{ kind: TUNNEL_GENEVE, ...L4, srcPort: 33333, dstPort: 6081, id: 0xabcdef }],
  },
  {
    name: 'Geneve carrying IPv4 straight (0x0800, no inner Ethernet)',
    frame: overUdp4(33334, 6081, geneve({ vni: 5, protocol: 0x0800 }, in4)),
    inner: { ...V4IN, offset: O4 + UDPH + 8 },
    layers: [{ kind: TUNNEL_GENEVE, ...L4, srcPort: 33334, dstPort: 6081, id: 5 }],
  },
  {
    name: 'Geneve with 136 bytes of options (34 words: the option length uses all 6 bits)',
    frame: overUdp4(33336, 6081, geneve({ vni: 0x10000, protocol: 0x6558, options: cat(geneveOption(0x0104, 3, pattern(124)), geneveOption(0x0105, 4, pattern(4))) }, eth4)),
    inner: { ...V4IN, offset: O4 + UDPH + 8 + 136 + ETH },
    layers: [{ kind: TUNNEL_GENEVE, ...L4, srcPort: 33336, dstPort: 6081, id: 0x10000 }],
  },
  {
    name: 'Geneve with options carrying IPv6 straight (0x86DD)',
    frame: overUdp4(33335, 6081, geneve({ vni: 6, protocol: 0x86dd, options: geneveOption(0x0103, 2, pattern(4)) }, in6)),
    inner: { ...V6IN, offset: O4 + UDPH + 8 + 8 },
    layers: [{ kind: TUNNEL_GENEVE, ...L4, srcPort: 33335, dstPort: 6081, id: 6 }],
  },
  // GRE (RFC 2784, RFC 2890)
  {
    name: 'GRE, plain',
    frame: over4(PROTO_GRE, gre({ proto: GRE_PROTO.IPV4 }, in4)),
    inner: { ...V4IN, offset: O4 + 4 },
    layers: [{ kind: TUNNEL_GRE, ...L4, id: -1 }],
  },
  {
    name: 'GRE with a checksum',
    frame: over4(PROTO_GRE, gre({ proto: GRE_PROTO.IPV4, checksum: true }, in4)),
    inner: { ...V4IN, offset: O4 + 8 },
    layers: [{ kind: TUNNEL_GRE, ...L4, id: -1 }],
  },
  {
    name: 'GRE with a key',
    frame: over4(PROTO_GRE, gre({ proto: GRE_PROTO.IPV6, key: 0xdeadbeef }, in6)),
    inner: { ...V6IN, offset: O4 + 8 },
    layers: [{ kind: TUNNEL_GRE, ...L4, id: 0xdeadbeef }],
  },
  {
    name: 'GRE with a sequence number',
    frame: over4(PROTO_GRE, gre({ proto: GRE_PROTO.IPV4, seq: 99 }, in4)),
    inner: { ...V4IN, offset: O4 + 8 },
    layers: [{ kind: TUNNEL_GRE, ...L4, id: -1 }],
  },
  {
    name: 'GRE with checksum, key and sequence number',
    frame: over6(PROTO_GRE, gre({ proto: GRE_PROTO.IPV4, checksum: true, key: 7, seq: 0xffffffff }, in4)),
    inner: { ...V4IN, offset: O6 + 16 },
    layers: [{ kind: TUNNEL_GRE, ...L6, id: 7 }],
  },
  {
    name: 'gretap: an Ethernet frame in GRE (0x6558), with a key',
    frame: over4(PROTO_GRE, gre({ proto: GRE_PROTO.TEB, key: 1000 }, eth4)),
    inner: { ...V4IN, offset: O4 + 8 + ETH },
    layers: [{ kind: TUNNEL_GRE, ...L4, id: 1000 }],
  },
  {
    name: 'GRE in UDP (RFC 8086, port 4754)',
    frame: overUdp4(45678, 4754, gre({ proto: GRE_PROTO.IPV4, key: 12 }, in4)),
    inner: { ...V4IN, offset: O4 + UDPH + 8 },
    layers: [{ kind: TUNNEL_GRE, ...L4, srcPort: 45678, dstPort: 4754, id: 12 }],
  },
  // ERSPAN
  {
    name: 'ERSPAN type I (0x88BE, no sequence number)',
    frame: over4(PROTO_GRE, erspan1(eth4)),
    inner: { ...V4IN, offset: O4 + 4 + ETH },
    layers: [{ kind: TUNNEL_ERSPAN, variant: 1, ...L4, id: -1 }],
  },
  {
    name: 'ERSPAN type II (0x88BE with a sequence number); the session id is 10 bits among COS, En and T',
    frame: over4(PROTO_GRE, erspan2({ session: 0x2ab, vlan: 0xfff, cos: 7, en: 3, truncated: true, index: 0xfffff }, eth4)),
    inner: { ...V4IN, offset: O4 + 8 + 8 + ETH },
    layers: [{ kind: TUNNEL_ERSPAN, variant: 2, ...L4, id: 0x2ab }],
  },
  {
    name: 'ERSPAN type III (0x22EB) without the platform subheader',
    frame: over4(PROTO_GRE, erspan3({ session: 0x3ff, vlan: 10, cos: 5, bso: 3, truncated: true, timestamp: 0xfeedface, sgt: 0xbeef, hwId: 0x3f, d: true, gra: 3 }, eth4)),
    inner: { ...V4IN, offset: O4 + 8 + 12 + ETH },
    layers: [{ kind: TUNNEL_ERSPAN, variant: 3, ...L4, id: 0x3ff }],
  },
  {
    name: 'ERSPAN type III with the O flag: an 8-byte platform subheader',
    frame: over6(PROTO_GRE, erspan3({ session: 1, hwId: 1, gra: 1, platform: [0x0c, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55] }, eth6)),
    inner: { ...V6IN, offset: O6 + 8 + 12 + 8 + ETH },
    layers: [{ kind: TUNNEL_ERSPAN, variant: 3, ...L6, id: 1 }],
  },
  // WCCP
  {
    name: 'WCCPv2 redirect: a 4-byte redirect header, then the IPv4 packet',
    frame: over4(PROTO_GRE, wccp(in4, { serviceId: 0, priBucket: 200 })),
    inner: { ...V4IN, offset: O4 + 4 + 4 },
    layers: [{ kind: TUNNEL_GRE, ...L4, id: -1 }],
  },
  {
    name: 'WCCPv1 redirect: the IPv4 packet straight after GRE',
    frame: over4(PROTO_GRE, wccp(in4, { redirect: false })),
    inner: { ...V4IN, offset: O4 + 4 },
    layers: [{ kind: TUNNEL_GRE, ...L4, id: -1 }],
  },
  // IP in IP
  {
    name: 'IPv4 in IPv4 (protocol 4)',
    frame: over4(PROTO_IPIP, in4),
    inner: { ...V4IN, offset: O4 },
    layers: [{ kind: TUNNEL_IP_IN_IP, ...L4, id: -1 }],
  },
  {
    name: 'IPv6 in IPv4 (protocol 41, 6in4)',
    frame: over4(PROTO_IPV6, in6),
    inner: { ...V6IN, offset: O4 },
    layers: [{ kind: TUNNEL_IP_IN_IP, ...L4, id: -1 }],
  },
  {
    name: 'IPv4 in IPv6',
    frame: over6(PROTO_IPIP, in4),
    inner: { ...V4IN, offset: O6 },
    layers: [{ kind: TUNNEL_IP_IN_IP, ...L6, id: -1 }],
  },
  {
    name: 'IPv6 in IPv6',
    frame: over6(PROTO_IPV6, in6),
    inner: { ...V6IN, offset: O6 },
    layers: [{ kind: TUNNEL_IP_IN_IP, ...L6, id: -1 }],
  },
  // GTP-U (3GPP TS 29.281)
  {
    name: 'GTP-U, plain (flags 0x30)',
    frame: overUdp4(2152, 2152, gtpU({ teid: 0x89abcdef }, in4)),
    inner: { ...V4IN, offset: O4 + UDPH + 8 },
    layers: [{ kind: TUNNEL_GTP_U, ...L4, srcPort: 2152, dstPort: 2152, id: 0x89abcdef }],
  },
  {
    name: 'GTP-U with a sequence number (flags 0x32)',
    frame: overUdp4(2152, 2152, gtpU({ teid: 1, seq: 0x1234 }, in6)),
    inner: { ...V6IN, offset: O4 + UDPH + 12 },
    layers: [{ kind: TUNNEL_GTP_U, ...L4, srcPort: 2152, dstPort: 2152, id: 1 }],
  },
  {
    name: 'GTP-U with an N-PDU number only (flags 0x31)',
    frame: overUdp4(2152, 2152, gtpU({ teid: 2, npdu: 9 }, in4)),
    inner: { ...V4IN, offset: O4 + UDPH + 12 },
    layers: [{ kind: TUNNEL_GTP_U, ...L4, srcPort: 2152, dstPort: 2152, id: 2 }],
  },
  {
    name: 'GTP-U with a PDU session container (0x85, length 1)',
    frame: overUdp4(2152, 2152, gtpU({ teid: 0x00000100, ext: [pduSessionContainer(9)] }, in4)),
    inner: { ...V4IN, offset: O4 + UDPH + 12 + 4 },
    layers: [{ kind: TUNNEL_GTP_U, ...L4, srcPort: 2152, dstPort: 2152, id: 0x100 }],
  },
  {
    name: 'GTP-U with two chained extension headers (0x85, then a 12-byte one)',
    frame: overUdp4(2152, 2152, gtpU({ teid: 3, seq: 1, ext: [pduSessionContainer(5, 0), { type: 0x40, content: pattern(10) }] }, in6)),
    inner: { ...V6IN, offset: O4 + UDPH + 12 + 4 + 12 },
    layers: [{ kind: TUNNEL_GTP_U, ...L4, srcPort: 2152, dstPort: 2152, id: 3 }],
  },
  {
    name: 'GTP-U with three extension headers over IPv6',
    frame: over6(PROTO_UDP, udp({ sport: 2152, dport: 2152, payload: gtpU({ teid: 4, ext: [pduSessionContainer(1), pdcpPduNumber(77), pduSessionContainer(2)] }, in4) })),
    inner: { ...V4IN, offset: O6 + UDPH + 12 + 12 },
    layers: [{ kind: TUNNEL_GTP_U, ...L6, srcPort: 2152, dstPort: 2152, id: 4 }],
  },
  // Teredo (RFC 4380)
  {
    name: 'Teredo, plain',
    frame: overUdp4(3544, 51000, teredo({}, inTeredo)),
    inner: { version: 6, addrs: TEREDO6, offset: O4 + UDPH },
    layers: [{ kind: TUNNEL_TEREDO, ...L4, srcPort: 3544, dstPort: 51000, id: -1 }],
  },
  {
    name: 'Teredo with an origin indication',
    frame: overUdp4(3544, 51000, teredo({ origin: { port: 40000, addr: '203.0.113.9' } }, inTeredo)),
    inner: { version: 6, addrs: TEREDO6, offset: O4 + UDPH + 8 },
    layers: [{ kind: TUNNEL_TEREDO, ...L4, srcPort: 3544, dstPort: 51000, id: -1 }],
  },
  {
    name: 'Teredo with an authentication header and an origin indication',
    frame: overUdp4(51000, 3544, teredo({ auth: { clientId: [1, 2, 3, 4], authValue: pattern(8), confirmation: 0 }, origin: { port: 1, addr: '203.0.113.10' } }, inTeredo)),
    inner: { version: 6, addrs: TEREDO6, offset: O4 + UDPH + 13 + 4 + 8 + 8 },
    layers: [{ kind: TUNNEL_TEREDO, ...L4, srcPort: 51000, dstPort: 3544, id: -1 }],
  },
  {
    name: 'Teredo with an empty authentication header',
    frame: overUdp4(51000, 3544, teredo({ auth: {} }, inTeredo)),
    inner: { version: 6, addrs: TEREDO6, offset: O4 + UDPH + 13 },
    layers: [{ kind: TUNNEL_TEREDO, ...L4, srcPort: 51000, dstPort: 3544, id: -1 }],
  },
  {
    name: 'Teredo on ports other than 3544 (an IPv6 packet from 2001:0::/32 filling the datagram)',
    frame: overUdp4(61000, 52000, teredo({}, inTeredo)),
    inner: { version: 6, addrs: TEREDO6, offset: O4 + UDPH },
    layers: [{ kind: TUNNEL_TEREDO, ...L4, srcPort: 61000, dstPort: 52000, id: -1 }],
  },
  {
    name: 'Teredo on other ports, with an origin indication',
    frame: overUdp4(61000, 52000, teredo({ origin: { port: 2, addr: '203.0.113.11' } }, inTeredo)),
    inner: { version: 6, addrs: TEREDO6, offset: O4 + UDPH + 8 },
    layers: [{ kind: TUNNEL_TEREDO, ...L4, srcPort: 61000, dstPort: 52000, id: -1 }],
  },
  // AYIYA
  {
    name: 'AYIYA forwarding IPv6 (16-byte identity, SHA-1 signature)',
    frame: overUdp4(5072, 5072, ayiya({ identity: ip6('2001:db8:9::1'), signature: pattern(20, 0x70), nextHeader: 41 }, in6)),
    inner: { ...V6IN, offset: O4 + UDPH + 8 + 16 + 20 },
    layers: [{ kind: TUNNEL_AYIYA, ...L4, srcPort: 5072, dstPort: 5072, id: -1 }],
  },
  {
    name: 'AYIYA forwarding IPv4 (4-byte identity, no signature)',
    frame: overUdp4(40000, 5072, ayiya({ identity: ip4('10.9.9.9'), signature: [], nextHeader: 4, hashMethod: 0, authMethod: 0 }, in4)),
    inner: { ...V4IN, offset: O4 + UDPH + 8 + 4 },
    layers: [{ kind: TUNNEL_AYIYA, ...L4, srcPort: 40000, dstPort: 5072, id: -1 }],
  },
];

describe('each encapsulation decodes to the TCP segment inside', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, c.frame);
      expectInner(packet, c.inner.version, c.inner.addrs, c.inner.offset);
      if (packet.kind !== 'tcp') return;
      expect(packet.tunnel.depth).toBe(c.layers.length);
      c.layers.forEach((w, i) => expectLayer(packet.tunnel.layers[i]!, w));
      expect(packet.tunnel.hash).not.toBe(0);
      expect(decoder.stats.tcp).toBe(1);
      expect(decoder.stats.tunnelledTcp).toBe(1);
      expect(decoder.stats.damagedPackets).toBe(0);
    });
  }

  it('an untunnelled segment has depth 0 and is not counted as tunnelled', () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, ethernet(asV4(in4)));
    expectInner(packet, 4, IN4, ETH);
    if (packet.kind === 'tcp') expect(packet.tunnel.depth).toBe(0);
    expect(decoder.stats.tunnelledTcp).toBe(0);
  });

  it('the decoder refills its path per frame: a plain frame after a tunnelled one has depth 0', () => {
    const d = new Decoder();
    const first = d.decode(frameOf(LINKTYPE.ETHERNET, overUdp4(1, 4789, vxlan(9, eth4))));
    expect(first.kind === 'tcp' && first.tunnel.depth).toBe(1);
    const second = d.decode(frameOf(LINKTYPE.ETHERNET, ethernet(asV4(in4))));
    expect(second.kind === 'tcp' && second.tunnel.depth).toBe(0);
  });

  it('the Teredo heuristic wants a Teredo address: a native IPv6 packet filling a datagram on other ports stays UDP', () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, overUdp4(61000, 52000, in6));
    expect(describeOther(packet)).toBe('not-tcp: ');
    expect(decoder.stats.tunnelledTcp).toBe(0);
    expect(decoder.stats.damagedPackets).toBe(0);
  });

  it('the Teredo heuristic wants the datagram filled: a Teredo packet with bytes after it on other ports stays UDP', () => {
    const { packet } = decodeOne(LINKTYPE.ETHERNET, overUdp4(61000, 52000, cat(inTeredo, [0, 0, 0, 0])));
    expect(describeOther(packet)).toBe('not-tcp: ');
  });

  it('another UDP payload on a random port is not decapsulated', () => {
    const dns = cat([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0], [7], Buffer.from('example'), [3], Buffer.from('com'), [0, 0, 1, 0, 1]);
    for (const payload of [dns, pattern(200, 0x60), Buffer.alloc(0), Buffer.from([0x60])]) {
      const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, overUdp4(53000, 53, payload));
      expect(describeOther(packet)).toBe('not-tcp: ');
      expect(decoder.stats.damagedPackets).toBe(0);
    }
  });

  it('AYIYA other than a forwarded IP packet (an echo, opcode 2) is not decapsulated', () => {
    const { packet } = decodeOne(LINKTYPE.ETHERNET, overUdp4(5072, 5072, ayiya({ identity: ip6('2001:db8:9::1'), signature: pattern(20), nextHeader: 41, opcode: 2 }, in6)));
    expect(describeOther(packet)).toBe('not-tcp: ');
  });
});

describe('nesting', () => {
  it('VXLAN inside GRE inside IPv6 inside IPv4: depth 3, layers outermost first', () => {
    const MID = { src: '172.16.0.1', dst: '172.16.0.2' };
    const vx = ipv4({ ...MID, proto: PROTO_UDP, payload: udp({ sport: 50505, dport: 4789, payload: vxlan(5000, eth4) }) });
    const g = ipv6({ ...OUT6, nextHeader: PROTO_GRE, payload: gre({ proto: GRE_PROTO.IPV4, key: 77 }, vx) });
    const frame = over4(PROTO_IPV6, g);
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, frame);
    expectInner(packet, 4, IN4, O4 + V6H + 8 + V4H + UDPH + 8 + ETH);
    if (packet.kind !== 'tcp') return;
    expect(packet.tunnel.depth).toBe(3);
    expectLayer(packet.tunnel.layers[0]!, { kind: TUNNEL_IP_IN_IP, ...L4, id: -1 });
    expectLayer(packet.tunnel.layers[1]!, { kind: TUNNEL_GRE, ...L6, id: 77 });
    expectLayer(packet.tunnel.layers[2]!, { kind: TUNNEL_VXLAN, version: 4, ...MID, srcPort: 50505, dstPort: 4789, id: 5000 });
    expect(decoder.stats.tunnelledTcp).toBe(1);
  });

  /** `n` IP-in-IP layers around the inner IPv4 packet, each with its own addresses. */
  function ipip(n: number): Buffer {
    let p = in4;
    for (let i = n; i >= 1; i--) p = ipv4({ src: `192.0.2.${i}`, dst: `198.51.100.${i}`, proto: PROTO_IPIP, payload: p });
    return ethernet(asV4(p));
  }

  it(`${MAX_TUNNEL_DEPTH} layers deep is still decoded`, () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, ipip(MAX_TUNNEL_DEPTH));
    expectInner(packet, 4, IN4, ETH + V4H * MAX_TUNNEL_DEPTH);
    if (packet.kind !== 'tcp') return;
    expect(packet.tunnel.depth).toBe(MAX_TUNNEL_DEPTH);
    for (let i = 0; i < MAX_TUNNEL_DEPTH; i++) expectLayer(packet.tunnel.layers[i]!, { kind: TUNNEL_IP_IN_IP, version: 4, src: `192.0.2.${i + 1}`, dst: `198.51.100.${i + 1}`, id: -1 });
    expect(decoder.stats.tunnelTooDeep).toBe(0);
  });

  it('one layer deeper is not TCP and counts tunnelTooDeep, not damage', () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, ipip(MAX_TUNNEL_DEPTH + 1));
    expect(describeOther(packet)).toBe('not-tcp: ');
    expect(decoder.stats.tunnelTooDeep).toBe(1);
    expect(decoder.stats.tcp).toBe(0);
    expect(decoder.stats.damagedPackets).toBe(0);
  });

  it('a crafted packet of 1000 nested layers (GRE in IP-in-IP, repeating) stops at the bound', () => {
    let p: Buffer = in4;
    for (let i = 0; i < 1000; i++) p = i % 2 === 0 ? gre({ proto: GRE_PROTO.IPV4 }, p) : ipv4({ ...OUT4, proto: PROTO_GRE, payload: p });
    // The last layer built is an IPv4 header: the outermost carries it as IP-in-IP.
    const frame = over4(PROTO_IPIP, p);
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, frame);
    expect(packet.kind).toBe('other');
    expect(decoder.stats.tunnelTooDeep).toBe(1);
  });

  it('VXLAN in VXLAN in VXLAN in VXLAN in VXLAN: the fifth is too deep', () => {
    let frame: Buffer = eth4;
    for (let i = 5; i >= 1; i--) frame = ethernet(asV4(ipv4({ src: `192.0.2.${i}`, dst: `198.51.100.${i}`, proto: PROTO_UDP, payload: udp({ sport: 1000 + i, dport: 4789, payload: vxlan(i, frame) }) })));
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, frame);
    expect(describeOther(packet)).toBe('not-tcp: ');
    expect(decoder.stats.tunnelTooDeep).toBe(1);
  });
});

describe('damage and foreign headers', () => {
  const CUT = 'tunnel header cut short by the capture';

  /** Decode `data` cut by the capture to `capLen` bytes (the wire length stays whole). */
  function decodeCut(data: Buffer, capLen: number): { packet: Packet; decoder: Decoder } {
    return decodeOne(LINKTYPE.ETHERNET, data, { capLen, origLen: data.length });
  }

  function expectCut(data: Buffer, capLen: number, detail = CUT): Decoder {
    const { packet, decoder } = decodeCut(data, capLen);
    expect(packet.kind).toBe('other');
    if (packet.kind === 'other') {
      expect(packet.reason).toBe('truncated');
      expect(packet.detail).toBe(detail);
      // The outer IP header of a cut tunnel header is known (an inner IP header cut leaves none).
      if (detail === CUT) expect(packet.ip).not.toBeNull();
    }
    expect(decoder.stats.damagedPackets).toBe(1);
    expect(decoder.stats.truncated).toBe(1);
    expect(decoder.stats.firstDamage).toBe(detail);
    expect(decoder.stats.firstDamagedFrame).toBe(1);
    expect(decoder.stats.tcp).toBe(0);
    return decoder;
  }

  it('a VXLAN header cut by the capture', () => {
    expectCut(overUdp4(1, 4789, vxlan(1, eth4)), O4 + UDPH + 5);
  });

  it('a GRE header cut within its key', () => {
    expectCut(over4(PROTO_GRE, gre({ proto: GRE_PROTO.IPV4, key: 5 }, in4)), O4 + 6);
  });

  it('a GRE header cut within its fixed part', () => {
    expectCut(over4(PROTO_GRE, gre({ proto: GRE_PROTO.IPV4 }, in4)), O4 + 3);
  });

  it('a GTP-U header cut within its optional fields', () => {
    expectCut(overUdp4(2152, 2152, gtpU({ teid: 1, seq: 1 }, in4)), O4 + UDPH + 10);
  });

  it('a GTP-U extension header cut', () => {
    expectCut(overUdp4(2152, 2152, gtpU({ teid: 1, ext: [pduSessionContainer(1), { type: 0x40, content: pattern(10) }] }, in4)), O4 + UDPH + 12 + 4 + 6);
  });

  it('an ERSPAN II header cut', () => {
    expectCut(over4(PROTO_GRE, erspan2({ session: 3 }, eth4)), O4 + 8 + 5);
  });

  it('a Geneve header cut within its options', () => {
    expectCut(overUdp4(1, 6081, geneve({ vni: 1, protocol: 0x6558, options: geneveOpts }, eth4)), O4 + UDPH + 8 + 10);
  });

  it('the Ethernet header inside VXLAN cut', () => {
    expectCut(overUdp4(1, 4789, vxlan(1, eth4)), O4 + UDPH + 8 + 10, 'link-layer header inside a tunnel cut short by the capture');
  });

  it('the inner IPv4 header cut', () => {
    expectCut(overUdp4(1, 4789, vxlan(1, eth4)), O4 + UDPH + 8 + ETH + 10, 'IPv4 header cut short by the capture');
  });

  it('a cut tunnel header in a packet whose outer IP length also lies is damaged once', () => {
    const f = ethernet(asV4(ipv4({ ...OUT4, proto: PROTO_UDP, totalLength: 1400, payload: udp({ sport: 1, dport: 4789, payload: vxlan(1, eth4) }) })));
    const { packet, decoder } = decodeCut(f, O4 + UDPH + 4);
    expect(packet.kind === 'other' && packet.reason).toBe('truncated');
    expect(decoder.stats.ipLengthExceedsFrame).toBe(1);
    expect(decoder.stats.damagedPackets).toBe(1);
  });

  it('a VXLAN header longer than its whole, captured datagram is malformed, not cut by the capture', () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, overUdp4(1, 4789, [0x08, 0, 0, 0]));
    expect(describeOther(packet)).toBe('malformed: tunnel header runs past the end of its datagram');
    expect(decoder.stats.truncated).toBe(0);
    expect(decoder.stats.damagedPackets).toBe(1);
    expect(decoder.stats.malformed.get('tunnel header runs past the end of its datagram')).toBe(1);
  });

  it('a GTP-U header past a UDP length that ends the datagram early is malformed too', () => {
    const f = over4(PROTO_UDP, udp({ sport: 2152, dport: 2152, length: 8 + 6, payload: gtpU({ teid: 1 }, in4) }));
    const { packet } = decodeOne(LINKTYPE.ETHERNET, f);
    expect(packet.kind === 'other' && packet.reason).toBe('malformed');
  });

  it('a first fragment too short for the tunnel header is a fragment, not damage', () => {
    const datagram = udp({ sport: 2152, dport: 2152, payload: gtpU({ teid: 1, seq: 1 }, in4) });
    const f = ethernet(asV4(ipv4({ ...OUT4, proto: PROTO_UDP, mf: true, payload: datagram.subarray(0, 16) })));
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, f);
    expect(describeOther(packet)).toBe('ip-fragment: ');
    expect(decoder.stats.damagedPackets).toBe(0);
  });

  it('a GTP-U extension header of length 0 is not followed (and does not hang): plain UDP', () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, overUdp4(2152, 2152, gtpU({ teid: 1, ext: [{ type: 0x85, content: [0, 1], lengthByte: 0 }] }, in4)));
    expect(describeOther(packet)).toBe('not-tcp: ');
    expect(decoder.stats.damagedPackets).toBe(0);
  });

  it('an endless GTP-U extension header chain (each announcing another, all in the packet) stops at a bound: plain UDP', () => {
    const ext = Array.from({ length: 200 }, () => pduSessionContainer(1));
    ext[199] = { ...pduSessionContainer(1), next: 0x85 };
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, overUdp4(2152, 2152, gtpU({ teid: 1, ext }, in4)));
    expect(describeOther(packet)).toBe('not-tcp: ');
    expect(decoder.stats.damagedPackets).toBe(0);
  });

  it('VXLAN flags without the I bit: plain UDP, not damage', () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, overUdp4(1, 4789, vxlan(1, eth4, { flags: 0x00 })));
    expect(describeOther(packet)).toBe('not-tcp: ');
    expect(decoder.stats.damagedPackets).toBe(0);
  });

  it('GTP versions 2 and 0 on 2152: plain UDP, not damage', () => {
    // Version 2 with T (0x48), with P and T (0x58: the bit GTPv1 calls PT set); GTPv0 (0x1e).
    for (const flags of [0x48, 0x58, 0x1e]) {
      const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, overUdp4(2152, 2152, gtpU({ teid: 1, flagsOverride: flags }, in4)));
      expect(describeOther(packet), `flags 0x${flags.toString(16)}`).toBe('not-tcp: ');
      expect(decoder.stats.damagedPackets).toBe(0);
    }
  });

  it('Geneve version 1: plain UDP, not damage', () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, overUdp4(1, 6081, geneve({ vni: 1, protocol: 0x0800, version: 1 }, in4)));
    expect(describeOther(packet)).toBe('not-tcp: ');
    expect(decoder.stats.damagedPackets).toBe(0);
  });

  it("GTP' (PT 0) and GTP-U signalling (an echo request) are not user packets", () => {
    for (const g of [gtpU({ teid: 1, pt: 0 }, in4), gtpU({ teid: 0, seq: 1, type: 1 }, [])]) {
      const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, overUdp4(2152, 2152, g));
      expect(describeOther(packet)).toBe('not-tcp: ');
      expect(decoder.stats.damagedPackets).toBe(0);
    }
  });

  it("GRE version 1 (PPTP's enhanced GRE): plain GRE, not damage", () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, over4(PROTO_GRE, gre({ proto: GRE_PROTO.PPP, key: 0x00040001, version: 1 }, in4)));
    expect(describeOther(packet)).toBe('not-tcp: ');
    expect(decoder.stats.damagedPackets).toBe(0);
  });

  it('GRE carrying something other than IP: not IP, not damage', () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, over4(PROTO_GRE, gre({ proto: 0x0806 }, pattern(28))));
    expect(describeOther(packet)).toBe('not-ip: ');
    expect(decoder.stats.damagedPackets).toBe(0);
  });
});

describe('configuration', () => {
  const vx4789 = overUdp4(50000, 4789, vxlan(10, eth4));
  const vx4790 = overUdp4(50000, 4790, vxlan(10, eth4));

  function decodeWith(d: Decoder, data: Buffer): Packet {
    return d.decode(frameOf(LINKTYPE.ETHERNET, data));
  }

  it('new Decoder(null) decapsulates nothing', () => {
    const d = new Decoder(null);
    expect(describeOther(decodeWith(d, vx4789))).toBe('not-tcp: ');
    expect(describeOther(decodeWith(d, over4(PROTO_IPIP, in4)))).toBe('not-tcp: ');
    expect(describeOther(decodeWith(d, over4(PROTO_GRE, gre({ proto: GRE_PROTO.IPV4 }, in4))))).toBe('not-tcp: ');
    expect(d.stats.tunnelledTcp).toBe(0);
    expect(d.stats.damagedPackets).toBe(0);
  });

  it('a configuration with decapsulation off decapsulates nothing', () => {
    const d = new Decoder({ enabled: false, udpPorts: DEFAULT_UDP_TUNNEL_PORTS.map(([p, k]) => [p, k]) });
    expect(describeOther(decodeWith(d, vx4789))).toBe('not-tcp: ');
  });

  it('by default VXLAN on 4790 is plain UDP', () => {
    expect(describeOther(decodeWith(new Decoder(), vx4790))).toBe('not-tcp: ');
  });

  it('udpPorts [[4790, vxlan]] decapsulates VXLAN on 4790, and only there', () => {
    const d = new Decoder({ enabled: true, udpPorts: [[4790, 'vxlan']] });
    const p = decodeWith(d, vx4790);
    expectInner(p, 4, IN4, O4 + UDPH + 8 + ETH);
    if (p.kind === 'tcp') expectLayer(p.tunnel.layers[0]!, { kind: TUNNEL_VXLAN, ...L4, srcPort: 50000, dstPort: 4790, id: 10 });
    expect(describeOther(decodeWith(d, vx4789))).toBe('not-tcp: ');
    // IP protocols are not ports: IP-in-IP and GRE stay on.
    expect(decodeWith(d, over4(PROTO_IPIP, in4)).kind).toBe('tcp');
  });

  it('a DecapTable is taken as it is', () => {
    const d = new Decoder(new DecapTable({ enabled: true, udpPorts: [[9999, 'geneve']] }));
    const p = decodeWith(d, overUdp4(1, 9999, geneve({ vni: 3, protocol: 0x0800 }, in4)));
    expect(p.kind === 'tcp' && p.tunnel.layers[0]!.kind).toBe(TUNNEL_GENEVE);
  });

  it('parseDecapSpec accepts udp:PORT=KIND', () => {
    expect(parseDecapSpec('udp:4790=vxlan')).toEqual({ port: 4790, kind: 'vxlan' });
    expect(parseDecapSpec('udp:2153=gtp-u')).toEqual({ port: 2153, kind: 'gtp-u' });
    expect(parseDecapSpec(' UDP:6082=Geneve ')).toEqual({ port: 6082, kind: 'geneve' });
    expect(parseDecapSpec('udp:65535=gre')).toEqual({ port: 65535, kind: 'gre' });
  });

  it('parseDecapSpec rejects, with a reason, ports out of range, other protocols and unknown kinds', () => {
    const cases: Array<[string, RegExp]> = [
      ['udp:0=vxlan', /port must be from 1 to 65535/],
      ['udp:70000=vxlan', /port must be from 1 to 65535/],
      ['tcp:1=vxlan', /expected udp:PORT=KIND/],
      ['udp:1=foo', /unknown encapsulation "foo"/],
      ['udp:=vxlan', /expected udp:PORT=KIND/],
      ['udp:123456=vxlan', /expected udp:PORT=KIND/],
      ['', /expected udp:PORT=KIND/],
    ];
    for (const [spec, why] of cases) {
      const r = parseDecapSpec(spec);
      expect(typeof r, spec).toBe('string');
      expect(r, spec).toMatch(why);
    }
  });
});

describe('tracking connections in tunnels', () => {
  const C = '10.1.0.1';
  const S = '10.2.0.2';
  const HS: TcpSpec[] = [
    { sport: 40000, dport: 80, seq: 1000, flags: 'S' },
    { sport: 80, dport: 40000, seq: 5000, ack: 1001, flags: 'SA' },
    { sport: 40000, dport: 80, seq: 1001, ack: 5001, flags: 'A' },
  ];
  /** The inner handshake's i-th segment as an IPv4 packet (0 and 2 from the client, 1 from the server). */
  function hs(i: number): Buffer {
    return i === 1 ? ipv4({ src: S, dst: C, payload: tcp(HS[1]) }) : ipv4({ src: C, dst: S, payload: tcp(HS[i]) });
  }

  /** Decode every frame (each must be TCP) and track it; frames 1 ms apart. */
  function track(frames: Buffer[]): Connection[] {
    const decoder = new Decoder();
    const tracker = new ConnectionTracker();
    frames.forEach((data, i) => {
      const f: Frame = frameOf(LINKTYPE.ETHERNET, data);
      f.index = i + 1;
      f.sec = 1700000000;
      f.nsec = i * 1_000_000;
      const p = decoder.decode(f);
      if (p.kind !== 'tcp') throw new Error(`frame ${i + 1}: ${describeOther(p)}`);
      tracker.onTcp(p);
    });
    return tracker.connections;
  }

  function vxlanFrame(outer: { src: string; dst: string }, vni: number, inner: Buffer, sport = 50000): Buffer {
    return overUdp4(sport, 4789, vxlan(vni, ethernet(asV4(inner))), outer);
  }

  const A = { src: '192.0.2.1', dst: '192.0.2.2' };
  const B = { src: '192.0.2.2', dst: '192.0.2.1' };
  /** The handshake between VTEPs `fwd` (client's side first) in VNI `vni`, frame i of 3. */
  const vxHs = (i: number, fwd: { src: string; dst: string }, vni: number, sport = 50000): Buffer =>
    vxlanFrame(i === 1 ? { src: fwd.dst, dst: fwd.src } : fwd, vni, hs(i), sport);

  function expectEstablished(c: Connection): void {
    expect(c.client.state).toBe('ESTABLISHED');
    expect(c.server.state).toBe('ESTABLISHED');
    expect(c.partial).toBe(false);
  }

  it('the same handshake in two VNIs between the same VTEPs: two connections', () => {
    const conns = track([vxHs(0, A, 100), vxHs(0, A, 200), vxHs(1, A, 100), vxHs(1, A, 200), vxHs(2, A, 100), vxHs(2, A, 200)]);
    expect(conns.length).toBe(2);
    conns.forEach(expectEstablished);
    expect(conns.map((c) => c.tunnel!.layers[0]!.id)).toEqual([100, 200]);
    expect(conns.map((c) => c.tunnel!.layers[0]!.reverseId)).toEqual([100, 200]);
  });

  it('two VNIs, the second VNI answering first while the first VNI was the last seen: each reply to its own VNI', () => {
    // VNI 100's SYN is retransmitted last, so its connection is the one tried first for
    // VNI 200's SYN-ACK: it must not take it (nor learn 200 as its reverse VNI).
    const conns = track([vxHs(0, A, 100), vxHs(0, A, 200), vxHs(0, A, 100), vxHs(1, A, 200), vxHs(1, A, 100), vxHs(2, A, 200), vxHs(2, A, 100)]);
    expect(conns.length).toBe(2);
    conns.forEach(expectEstablished);
    expect(conns.map((c) => [c.tunnel!.layers[0]!.id, c.tunnel!.layers[0]!.reverseId])).toEqual([
      [100, 100],
      [200, 200],
    ]);
    expect(conns.map((c) => c.client.packets + c.server.packets)).toEqual([4, 3]);
  });

  it('the same handshake between two VTEP pairs in one VNI: two connections', () => {
    const P = { src: '203.0.113.1', dst: '203.0.113.2' };
    const conns = track([vxHs(0, A, 100), vxHs(0, P, 100), vxHs(1, A, 100), vxHs(1, P, 100), vxHs(2, A, 100), vxHs(2, P, 100)]);
    expect(conns.length).toBe(2);
    conns.forEach(expectEstablished);
    expect(conns.map((c) => Buffer.from(c.tunnel!.layers[0]!.src.subarray(0, 4)))).toEqual([ip4(A.src), ip4(P.src)]);
  });

  it('one connection whose outer UDP source port changes by direction and packet: one connection', () => {
    const conns = track([vxHs(0, A, 100, 50001), vxHs(1, A, 100, 61234), vxHs(2, A, 100, 50002)]);
    expect(conns.length).toBe(1);
    expectEstablished(conns[0]!);
    expect(conns[0]!.tunnel!.layers[0]!.srcPort).toBe(50001);
  });

  it('GTP-U with a TEID per direction: one connection, id the uplink TEID, reverseId the downlink one', () => {
    const ENB = { src: '172.16.0.1', dst: '172.16.0.2' };
    const SGW = { src: '172.16.0.2', dst: '172.16.0.1' };
    const up = (i: number): Buffer => overUdp4(2152, 2152, gtpU({ teid: 0x1111, ext: [pduSessionContainer(9)] }, hs(i)), ENB);
    const down = (i: number, teid = 0x2222): Buffer => overUdp4(2152, 2152, gtpU({ teid, ext: [pduSessionContainer(9, 0)] }, hs(i)), SGW);
    const conns = track([up(0), down(1), up(2)]);
    expect(conns.length).toBe(1);
    expectEstablished(conns[0]!);
    const t = conns[0]!.tunnel!;
    expect(t.depth).toBe(1);
    expect(t.layers[0]!.kind).toBe(TUNNEL_GTP_U);
    expect(t.layers[0]!.id).toBe(0x1111);
    expect(t.layers[0]!.reverseId).toBe(0x2222);

    // Once the downlink TEID is learned, the same tuple under another downlink TEID is another bearer.
    const more = track([up(0), down(1), up(2), down(1, 0x3333)]);
    expect(more.length).toBe(2);
    expect(more[1]!.tunnel!.layers[0]!.id).toBe(0x3333);
  });

  it('an untunnelled packet with the inner tuple of a tunnelled connection: a separate connection', () => {
    const plain = (i: number): Buffer => ethernet(asV4(hs(i)));
    const conns = track([plain(0), vxHs(0, A, 100), plain(1), vxHs(1, A, 100), vxHs(2, A, 100), plain(2)]);
    expect(conns.length).toBe(2);
    conns.forEach(expectEstablished);
    expect(conns[0]!.tunnel).toBeNull();
    expect(conns[1]!.tunnel!.layers[0]!.id).toBe(100);
  });

  it('ERSPAN with both directions of the inner flow going switch -> collector: one connection', () => {
    const SW = { src: '10.99.0.1', dst: '10.99.0.2' };
    const mirrored = (i: number): Buffer => over4(PROTO_GRE, erspan2({ session: 7, seq: i + 1 }, ethernet(asV4(hs(i)))), SW);
    const conns = track([mirrored(0), mirrored(1), mirrored(2)]);
    expect(conns.length).toBe(1);
    expectEstablished(conns[0]!);
    const l = conns[0]!.tunnel!.layers[0]!;
    expect(l.kind).toBe(TUNNEL_ERSPAN);
    expect(l.variant).toBe(2);
    expect(l.id).toBe(7);
    expect(l.reverseSeen).toBe(false);
  });

  it('nested tunnels: the same path is one connection, another inner VNI another', () => {
    const nest = (i: number, vni: number): Buffer => {
      const dirA = i !== 1;
      const vx = ipv4({ ...(dirA ? A : B), proto: PROTO_UDP, payload: udp({ sport: 40000 + i, dport: 4789, payload: vxlan(vni, ethernet(asV4(hs(i)))) }) });
      return over4(PROTO_GRE, gre({ proto: GRE_PROTO.IPV4, key: 5 }, vx), dirA ? OUT4 : { src: OUT4.dst, dst: OUT4.src });
    };
    const conns = track([nest(0, 1), nest(1, 1), nest(2, 1), nest(0, 2)]);
    expect(conns.length).toBe(2);
    expectEstablished(conns[0]!);
    expect(conns[0]!.tunnel!.depth).toBe(2);
    expect(conns[1]!.tunnel!.layers[1]!.id).toBe(2);
  });
});

describe('a fragmented outer datagram', () => {
  it('a first fragment carrying GTP-U: the inner TCP is decoded, its payload counted as cut, no damage', () => {
    const inner = ipv4({ ...IN4, payload: tcp({ ...SEG, payload: 1400 }) });
    const datagram = udp({ sport: 2152, dport: 2152, payload: gtpU({ teid: 0xabc }, inner) });
    const first = ethernet(asV4(ipv4({ ...OUT4, proto: PROTO_UDP, mf: true, id: 0x4242, payload: datagram.subarray(0, 1000) })));
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, first);
    expect(packet.kind, describeOther(packet)).toBe('tcp');
    if (packet.kind !== 'tcp') return;
    expect(packet.tcp.seq).toBe(SEG.seq);
    expect(packet.tcp.payloadLength).toBe(1400);
    expect(packet.tcp.capturedPayload).toBe(1000 - UDPH - 8 - V4H - 20);
    expect(packet.tcp.truncated).toBe(true);
    expect(packet.tunnel.depth).toBe(1);
    expect(packet.tunnel.layers[0]!.id).toBe(0xabc);
    expect(decoder.stats.ipFragments).toBe(1);
    expect(decoder.stats.truncatedPayloads).toBe(1);
    expect(decoder.stats.damagedPackets).toBe(0);
    expect(decoder.stats.ipLengthExceedsFrame).toBe(0);

    // The next fragment is mid-datagram: not looked into.
    const later = ethernet(asV4(ipv4({ ...OUT4, proto: PROTO_UDP, fragOffset: 1000, id: 0x4242, payload: datagram.subarray(1000) })));
    const next = decodeOne(LINKTYPE.ETHERNET, later);
    expect(describeOther(next.packet)).toBe('ip-fragment: ');
    expect(next.decoder.stats.damagedPackets).toBe(0);
  });

  it('a whole (unfragmented) outer datagram whose inner IP length claims more is damage', () => {
    const inner = ipv4({ ...IN4, totalLength: 1500, payload: tcp(SEG) });
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, overUdp4(2152, 2152, gtpU({ teid: 1 }, inner)));
    expect(packet.kind).toBe('tcp');
    expect(decoder.stats.ipLengthExceedsFrame).toBe(1);
    expect(decoder.stats.damagedPackets).toBe(1);
  });
});
