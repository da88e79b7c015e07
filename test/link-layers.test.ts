import { describe, expect, it } from 'vitest';
import { Decoder } from '../src/decode/decoder.js';
import { TCP_ACK, TCP_PSH, TCP_SYN, type Packet } from '../src/decode/packet.js';
import { addrOf, cat, ip4, ip6, u16be } from './helpers/bytes.js';
import { ipv4, ipv6, tcp } from './helpers/ip-packets.js';
import {
  AF,
  ETHERTYPE,
  LINKTYPE,
  asType,
  asV4,
  asV6,
  cHdlc,
  ethernet,
  llcSnap,
  loopLink,
  mpls,
  mplsPw,
  nflog,
  nullLink,
  ppp,
  pppoe,
  qinq,
  sll,
  sll2,
  vlan,
  type Encap,
} from './helpers/link-layers.js';
import { decodeOne, frameOf } from './helpers/decode-one.js';

/** The segment every link layer carries: distinctive ports, numbers, flags and a 100-byte payload. */
const SEG = { sport: 43210, dport: 443, seq: 0x11223344, ack: 0x8899aabb, flags: 'PA', window: 501, payload: 100 } as const;
const V4 = { src: '192.0.2.1', dst: '198.51.100.2' };
const V6 = { src: '2001:db8::a', dst: '2001:db8:1::b' };
const pkt4 = ipv4({ ...V4, payload: tcp(SEG) });
const pkt6 = ipv6({ ...V6, payload: tcp(SEG) });
const enc4: Encap = asV4(pkt4);
const enc6: Encap = asV6(pkt6);

/**
 * The packet is the segment above, found `linkLen` bytes into the frame: kind, IP
 * version and offset, addresses, ports, seq/ack, flags, window, payload length.
 */
function expectSeg(p: Packet, version: 4 | 6, linkLen: number, payloadLength = 100): void {
  expect(p.kind, p.kind === 'other' ? `${p.reason}: ${p.detail}` : '').toBe('tcp');
  if (p.kind !== 'tcp') return;
  expect(p.ip.version).toBe(version);
  expect(p.ip.offset - p.frame.offset).toBe(linkLen);
  const a = version === 4 ? V4 : V6;
  const parse = version === 4 ? ip4 : ip6;
  expect(addrOf(p.ip.src, version)).toEqual(parse(a.src));
  expect(addrOf(p.ip.dst, version)).toEqual(parse(a.dst));
  expect(p.ip.protocol).toBe(6);
  expect(p.tcp.srcPort).toBe(SEG.sport);
  expect(p.tcp.dstPort).toBe(SEG.dport);
  expect(p.tcp.seq).toBe(SEG.seq);
  expect(p.tcp.ack).toBe(SEG.ack);
  expect(p.tcp.flags).toBe(TCP_PSH | TCP_ACK);
  expect(p.tcp.window).toBe(SEG.window);
  expect(p.tcp.headerLength).toBe(20);
  expect(p.tcp.payloadLength).toBe(payloadLength);
  expect(p.tcp.truncated).toBe(false);
  expect(p.tcp.payloadOffset).toBe(p.ip.offset + p.ip.headerLength + 20);
}

function expectOther(p: Packet, reason: string): void {
  expect(p.kind).toBe('other');
  if (p.kind === 'other') expect(p.reason).toBe(reason);
}

describe('Ethernet (LINKTYPE 1)', () => {
  it('IPv4', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(enc4)).packet, 4, 14));
  it('IPv6', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(enc6)).packet, 6, 14));

  it('padding to the 60-byte minimum is not payload', () => {
    // 14 + 20 + 20 = 54 bytes of headers and no data: 6 bytes of padding follow.
    const syn = ethernet(asV4(ipv4({ ...V4, payload: tcp({ ...SEG, flags: 'S', payload: 0 }) })));
    expect(syn.length).toBe(60);
    const { packet } = decodeOne(LINKTYPE.ETHERNET, syn);
    expect(packet.kind).toBe('tcp');
    if (packet.kind !== 'tcp') return;
    expect(packet.tcp.flags).toBe(TCP_SYN);
    expect(packet.tcp.payloadLength).toBe(0);
    expect(packet.tcp.capturedPayload).toBe(0);
    expect(packet.tcp.truncated).toBe(false);
  });

  it('padding after a 2-byte payload is not payload either', () => {
    const f = ethernet(asV4(ipv4({ ...V4, payload: tcp({ ...SEG, payload: 2 }) })));
    expect(f.length).toBe(60);
    const { packet } = decodeOne(LINKTYPE.ETHERNET, f);
    expectSeg(packet, 4, 14, 2);
    if (packet.kind === 'tcp') expect(packet.tcp.capturedPayload).toBe(2);
  });

  it('a trailing FCS is not payload', () => {
    const f = ethernet(enc4, { trailer: [0xde, 0xad, 0xbe, 0xef] });
    expectSeg(decodeOne(LINKTYPE.ETHERNET, f, { fcsLen: 4 }).packet, 4, 14);
  });

  it('802.1Q VLAN tag', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(vlan(100, enc4))).packet, 4, 18));
  it('802.1Q VLAN tag, IPv6', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(vlan(4094, enc6))).packet, 6, 18));
  it('QinQ: 802.1ad service tag over an 802.1Q tag', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(qinq(200, 100, enc4))).packet, 4, 22));
  it('QinQ with the old 0x9100 service tag', () =>
    expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(qinq(200, 100, enc6, ETHERTYPE.QINQ_OLD))).packet, 6, 22));
  it('three stacked tags', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(vlan(1, vlan(2, vlan(3, enc4))))).packet, 4, 26));

  it('MPLS, one label, IPv4', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(mpls([16], pkt4))).packet, 4, 18));
  it('MPLS, three labels, IPv6', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(mpls([16, 17, 18], pkt6))).packet, 6, 26));
  it('MPLS multicast EtherType 0x8848', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(mpls([100], pkt4, { multicast: true }))).packet, 4, 18));
  it('MPLS under a VLAN tag', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(vlan(7, mpls([16, 17], pkt4)))).packet, 4, 14 + 4 + 8));

  it('MPLS pseudowire: control word, then an inner Ethernet frame (RFC 4448)', () => {
    const inner = ethernet(enc4, { pad: false });
    // outer Ethernet 14, two labels 8, control word 4, inner Ethernet 14
    expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(mplsPw([16, 17], inner))).packet, 4, 14 + 8 + 4 + 14);
  });

  it('MPLS pseudowire carrying a VLAN-tagged IPv6 frame', () => {
    const inner = ethernet(vlan(42, enc6), { pad: false });
    expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(mplsPw([16], inner))).packet, 6, 14 + 4 + 4 + 14 + 4);
  });

  it('PPPoE session, IPv4', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(pppoe(enc4))).packet, 4, 22));
  it('PPPoE session, IPv6', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(pppoe(enc6))).packet, 6, 22));
  it('PPPoE under a VLAN tag', () => expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(vlan(10, pppoe(enc4)))).packet, 4, 26));

  it('802.3 length field with LLC/SNAP', () => {
    const e = llcSnap(enc4);
    expect(e.etherType).toBeLessThanOrEqual(1500);
    expectSeg(decodeOne(LINKTYPE.ETHERNET, ethernet(e)).packet, 4, 22);
  });

  it('802.3 with plain LLC (spanning tree) is not IP', () => {
    const bpdu = cat([0x42, 0x42, 0x03], Buffer.alloc(35));
    expectOther(decodeOne(LINKTYPE.ETHERNET, ethernet(asType(bpdu.length, bpdu))).packet, 'not-ip');
  });

  it('SNAP with a non-zero OUI is not an EtherType', () => {
    expectOther(decodeOne(LINKTYPE.ETHERNET, ethernet(llcSnap(enc4, [0x00, 0x00, 0x0c]))).packet, 'not-ip');
  });

  it('ARP is not IP', () => expectOther(decodeOne(LINKTYPE.ETHERNET, ethernet(asType(ETHERTYPE.ARP, Buffer.alloc(28)))).packet, 'not-ip'));

  it('a header cut short by the capture is truncated', () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, ethernet(enc4), { capLen: 10 });
    expectOther(packet, 'truncated');
    expect(decoder.stats.truncated).toBe(1);
  });

  it('a VLAN tag cut short by the capture is truncated', () => {
    expectOther(decodeOne(LINKTYPE.ETHERNET, ethernet(vlan(5, enc4)), { capLen: 16 }).packet, 'truncated');
  });

  it('an MPLS label stack cut short by the capture is truncated', () => {
    expectOther(decodeOne(LINKTYPE.ETHERNET, ethernet(mpls([1, 2, 3], pkt4)), { capLen: 20 }).packet, 'truncated');
  });

  it('a snaplen-cut segment keeps its real payload length and is flagged truncated', () => {
    const full = ethernet(asV4(ipv4({ ...V4, payload: tcp({ ...SEG, payload: 1000 }) })));
    expect(full.length).toBe(1054);
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, full, { capLen: 96 });
    expect(packet.kind).toBe('tcp');
    if (packet.kind !== 'tcp') return;
    expect(packet.frame.capLen).toBe(96);
    expect(packet.frame.origLen).toBe(1054);
    expect(packet.ip.totalLength).toBe(1040);
    expect(packet.tcp.seq).toBe(SEG.seq);
    expect(packet.tcp.payloadLength).toBe(1000);
    expect(packet.tcp.capturedPayload).toBe(96 - 54);
    expect(packet.tcp.truncated).toBe(true);
    expect(decoder.stats.tcp).toBe(1);
    expect(decoder.stats.truncatedPayloads).toBe(1);
    expect(decoder.stats.truncated).toBe(0);
  });

  it('a snaplen cutting the TCP header itself gives a truncated frame', () => {
    const { packet, decoder } = decodeOne(LINKTYPE.ETHERNET, ethernet(enc4), { capLen: 14 + 20 + 10 });
    expectOther(packet, 'truncated');
    expect(decoder.stats.truncated).toBe(1);
    expect(decoder.stats.tcp).toBe(0);
    if (packet.kind === 'other') expect(packet.ip?.version).toBe(4);
  });

  it('a snaplen cutting the IPv6 header gives a truncated frame', () => {
    expectOther(decodeOne(LINKTYPE.ETHERNET, ethernet(enc6), { capLen: 14 + 30 }).packet, 'truncated');
  });
});

describe('Linux cooked captures', () => {
  it('SLL (113), IPv4', () => expectSeg(decodeOne(LINKTYPE.LINUX_SLL, sll(enc4)).packet, 4, 16));
  it('SLL (113), IPv6, outgoing', () => expectSeg(decodeOne(LINKTYPE.LINUX_SLL, sll(enc6, { pktType: 4 })).packet, 6, 16));
  it('SLL with a VLAN EtherType', () => expectSeg(decodeOne(LINKTYPE.LINUX_SLL, sll(vlan(3, enc4))).packet, 4, 20));
  it('SLL of a netlink device is not IP', () =>
    expectOther(decodeOne(LINKTYPE.LINUX_SLL, sll(asType(0x0800, pkt4), { arphrd: 824 })).packet, 'not-ip'));
  it('SLL cut short', () => expectOther(decodeOne(LINKTYPE.LINUX_SLL, sll(enc4), { capLen: 15 }).packet, 'truncated'));

  it('SLL2 (276), IPv4', () => expectSeg(decodeOne(LINKTYPE.LINUX_SLL2, sll2(enc4)).packet, 4, 20));
  it('SLL2 (276), IPv6', () => expectSeg(decodeOne(LINKTYPE.LINUX_SLL2, sll2(enc6, { ifindex: 7 })).packet, 6, 20));
  it('SLL2 of a netlink device is not IP', () =>
    expectOther(decodeOne(LINKTYPE.LINUX_SLL2, sll2(asType(0x0800, pkt4), { arphrd: 824 })).packet, 'not-ip'));
  it('SLL2 cut short', () => expectOther(decodeOne(LINKTYPE.LINUX_SLL2, sll2(enc4), { capLen: 19 }).packet, 'truncated'));
});

describe('BSD loopback', () => {
  for (const le of [true, false]) {
    const order = le ? 'little-endian' : 'big-endian';
    it(`NULL (0), AF_INET ${order}`, () => expectSeg(decodeOne(LINKTYPE.NULL, nullLink(AF.INET, pkt4, le)).packet, 4, 4));
    for (const af of [AF.INET6_BSD, AF.INET6_FREEBSD, AF.INET6_DARWIN]) {
      it(`NULL (0), AF_INET6 = ${af} ${order}`, () => expectSeg(decodeOne(LINKTYPE.NULL, nullLink(af, pkt6, le)).packet, 6, 4));
    }
    it(`LOOP (108), AF_INET ${order}`, () => expectSeg(decodeOne(LINKTYPE.LOOP, loopLink(AF.INET, pkt4, le)).packet, 4, 4));
    it(`LOOP (108), AF_INET6 = 24 ${order}`, () => expectSeg(decodeOne(LINKTYPE.LOOP, loopLink(AF.INET6_BSD, pkt6, le)).packet, 6, 4));
  }
  it('NULL with an unknown family is not IP', () => expectOther(decodeOne(LINKTYPE.NULL, nullLink(7, pkt4)).packet, 'not-ip'));
  it('NULL cut short', () => expectOther(decodeOne(LINKTYPE.NULL, nullLink(AF.INET, pkt4), { capLen: 3 }).packet, 'truncated'));
});

describe('raw IP', () => {
  for (const lt of [LINKTYPE.RAW, LINKTYPE.RAW_BSD, LINKTYPE.RAW_OPENBSD]) {
    it(`RAW (${lt}), IPv4`, () => expectSeg(decodeOne(lt, pkt4).packet, 4, 0));
    it(`RAW (${lt}), IPv6`, () => expectSeg(decodeOne(lt, pkt6).packet, 6, 0));
  }
  it('IPV4 (228)', () => expectSeg(decodeOne(LINKTYPE.IPV4, pkt4).packet, 4, 0));
  it('IPV6 (229)', () => expectSeg(decodeOne(LINKTYPE.IPV6, pkt6).packet, 6, 0));
  it('RAW with version nibble 5 is not IP', () => {
    const b = Buffer.from(pkt4);
    b[0] = 0x55;
    expectOther(decodeOne(LINKTYPE.RAW, b).packet, 'not-ip');
  });
  it('IPV4 (228) holding an IPv6 packet is malformed', () => expectOther(decodeOne(LINKTYPE.IPV4, pkt6).packet, 'malformed'));
});

describe('PPP', () => {
  for (const lt of [LINKTYPE.PPP, LINKTYPE.PPP_HDLC]) {
    it(`PPP (${lt}) with FF 03, protocol 0x0021`, () => expectSeg(decodeOne(lt, ppp(enc4, { hdlc: true })).packet, 4, 4));
    it(`PPP (${lt}) without FF 03, protocol 0x0021`, () => expectSeg(decodeOne(lt, ppp(enc4, { hdlc: false })).packet, 4, 2));
    it(`PPP (${lt}) with FF 03, compressed protocol 0x21`, () => expectSeg(decodeOne(lt, ppp(enc4, { hdlc: true, compress: true })).packet, 4, 3));
    it(`PPP (${lt}) without FF 03, compressed protocol 0x21`, () =>
      expectSeg(decodeOne(lt, ppp(enc4, { hdlc: false, compress: true })).packet, 4, 1));
    it(`PPP (${lt}) IPv6, protocol 0x0057`, () => expectSeg(decodeOne(lt, ppp(enc6)).packet, 6, 4));
    it(`PPP (${lt}) IPv6, compressed protocol 0x57`, () => expectSeg(decodeOne(lt, ppp(enc6, { hdlc: false, compress: true })).packet, 6, 1));
  }
  it('PPP LCP (0xC021) is not IP', () => expectOther(decodeOne(LINKTYPE.PPP, cat([0xff, 0x03], u16be(0xc021), Buffer.alloc(20))).packet, 'not-ip'));
  it('PPP cut after FF 03', () => expectOther(decodeOne(LINKTYPE.PPP, ppp(enc4), { capLen: 3 }).packet, 'truncated'));
});

describe('Cisco HDLC (104)', () => {
  it('IPv4', () => expectSeg(decodeOne(LINKTYPE.C_HDLC, cHdlc(enc4)).packet, 4, 4));
  it('IPv6, broadcast address', () => expectSeg(decodeOne(LINKTYPE.C_HDLC, cHdlc(enc6, 0x8f)).packet, 6, 4));
  it('SLARP (0x8035) is not IP', () => expectOther(decodeOne(LINKTYPE.C_HDLC, cHdlc(asType(0x8035, Buffer.alloc(20)))).packet, 'not-ip'));
});

describe('NFLOG (239)', () => {
  // 4-byte header; PACKET_HDR 8; PREFIX "tcpsleuth-test\0" (15 bytes, padded: 20); IFINDEX 8; PAYLOAD header 4.
  const before = 4 + 8 + 20 + 8 + 4;
  it('AF_INET', () => expectSeg(decodeOne(LINKTYPE.NFLOG, nflog(AF.INET, pkt4)).packet, 4, before));
  it('AF_INET6', () => expectSeg(decodeOne(LINKTYPE.NFLOG, nflog(AF.INET6_LINUX, pkt6)).packet, 6, before));
  it('a prefix whose length needs padding', () => {
    // "ab\0" is 3 bytes: TLV length 7, padded to 8.
    expectSeg(decodeOne(LINKTYPE.NFLOG, nflog(AF.INET, pkt4, { prefix: 'ab' })).packet, 4, 4 + 8 + 8 + 8 + 4);
  });
  it('no payload TLV: not IP', () => {
    const f = nflog(AF.INET, pkt4);
    expectOther(decodeOne(LINKTYPE.NFLOG, f.subarray(0, before - 4)).packet, 'not-ip');
  });
});

describe('link types we do not decode', () => {
  it("an unknown link type is 'other', reason unsupported-linktype, and counted", () => {
    const decoder = new Decoder();
    const p = decoder.decode(frameOf(LINKTYPE.USER0, ethernet(enc4)));
    expectOther(p, 'unsupported-linktype');
    decoder.decode(frameOf(LINKTYPE.USER0, ethernet(enc4)));
    decoder.decode(frameOf(105, Buffer.alloc(40)));
    expect(decoder.stats.unsupportedLinkTypes.get(LINKTYPE.USER0)).toBe(2);
    expect(decoder.stats.unsupportedLinkTypes.get(105)).toBe(1);
    expect(decoder.stats.unsupportedLinkTypes.size).toBe(2);
    expect(decoder.stats.tcp).toBe(0);
  });

  it('pcapng custom blocks (link type -1) are pseudo-frames, not unsupported link types', () => {
    const decoder = new Decoder();
    expectOther(decoder.decode(frameOf(-1, Buffer.alloc(12))), 'pseudo-frame');
    expect(decoder.stats.unsupportedLinkTypes.size).toBe(0);
  });
});

describe('one decoder, many frames', () => {
  it('the stats add up and each packet is decoded afresh', () => {
    const decoder = new Decoder();
    const frames = [
      frameOf(LINKTYPE.ETHERNET, ethernet(enc4)),
      frameOf(LINKTYPE.LINUX_SLL2, sll2(enc6)),
      frameOf(LINKTYPE.ETHERNET, ethernet(asType(ETHERTYPE.ARP, Buffer.alloc(28)))),
      frameOf(LINKTYPE.NULL, nullLink(AF.INET, pkt4)),
    ];
    const kinds = frames.map((f) => {
      const p = decoder.decode(f);
      if (p.kind === 'tcp') return `${p.kind}/${p.ip.version}/${p.tcp.srcPort}`;
      return `${p.kind}/${p.kind === 'other' ? p.reason : ''}`;
    });
    expect(kinds).toEqual(['tcp/4/43210', 'tcp/6/43210', 'other/not-ip', 'tcp/4/43210']);
    expect(decoder.stats.tcp).toBe(3);
  });
});
