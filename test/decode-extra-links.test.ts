/**
 * Unit tests for what the tshark differential test made the decoder learn: more link
 * layers and shims (FDDI, Linux ARCnet, IPoIB, Juniper Ethernet, Cisco FabricPath,
 * 802.1ah PBB, VN-Tag, MPLS over PPP), link-layer length fields that end the packet
 * (PPPoE, 802.3), IP lengths beyond the frame, and TCP's reserved bits. They run
 * without tshark or the corpus.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, TcpPacket } from '../src/decode/packet.js';
import { cat, ip6, mac, u16be, u32be } from './helpers/bytes.js';
import { ipv4, ipv6, tcp } from './helpers/ip-packets.js';
import { asV4, ethernet, pppoe, type Encap } from './helpers/link-layers.js';
import { decodeOne } from './helpers/decode-one.js';

const SEG = { sport: 40000, dport: 80, seq: 0x01020304, ack: 0x0a0b0c0d, flags: 'PA', payload: 10 } as const;
const PKT4 = ipv4({ src: '192.0.2.1', dst: '198.51.100.2', payload: tcp(SEG) });

function asTcp(p: Packet): TcpPacket {
  if (p.kind !== 'tcp') throw new Error(`expected TCP, got ${p.kind}${p.kind === 'other' ? ` (${p.reason}: ${p.detail})` : ''}`);
  return p;
}

function expectSeg(p: Packet, payload = 10): TcpPacket {
  const t = asTcp(p);
  expect(t.tcp.srcPort).toBe(40000);
  expect(t.tcp.seq).toBe(0x01020304);
  expect(t.tcp.payloadLength).toBe(payload);
  return t;
}

const snap = (etherType: number): Buffer => cat([0xaa, 0xaa, 0x03, 0, 0, 0], u16be(etherType));

describe('link layers', () => {
  it('FDDI (10): frame control, two addresses, LLC/SNAP', () => {
    const f = cat([0x50], mac('02:00:00:00:00:02'), mac('02:00:00:00:00:01'), snap(0x0800), PKT4);
    expectSeg(decodeOne(10, f).packet);
  });

  it('FDDI with plain LLC is not IP', () => {
    const p = decodeOne(10, cat([0x50], Buffer.alloc(12), [0x42, 0x42, 0x03], Buffer.alloc(40))).packet;
    expect(p.kind === 'other' && p.reason).toBe('not-ip');
  });

  it('Linux ARCnet (129): RFC 1051 IP, RFC 1201 IP with split flag and sequence, and an exception packet', () => {
    expectSeg(decodeOne(129, cat([0xbe, 0x50, 0xc3, 0x00, 0xf0], PKT4)).packet);
    expectSeg(decodeOne(129, cat([0xbe, 0x50, 0xc0, 0x00, 0xd4, 0x00, 0x01, 0x6b], PKT4)).packet);
    expectSeg(decodeOne(129, cat([0xbe, 0x50, 0xc0, 0x00, 0xd4, 0xff, 0xff, 0xff, 0xd4, 0x00, 0x01, 0x6b], PKT4)).packet);
  });

  it('IPoIB (242): 40-byte pseudo-header, then EtherType and reserved', () => {
    expectSeg(decodeOne(242, cat(Buffer.alloc(40), u16be(0x0800), [0, 0], PKT4)).packet);
  });

  it('Juniper Ethernet (178): "MGC", flags, extension TLVs, then Ethernet', () => {
    const tlvs = Buffer.from([0x03, 0x01, 0x01, 0x06, 0x01, 0x0e, 0x01, 0x02, 0x00, 0x8c, 0x04, 0x04, 0x00, 0x00, 0x01, 0x4c]);
    expectSeg(decodeOne(178, cat([0x4d, 0x47, 0x43, 0x80], u16be(tlvs.length), tlvs, ethernet(asV4(PKT4)))).packet);
  });

  it('Juniper Ethernet with the L2 header stripped: a little-endian protocol, then IP', () => {
    expectSeg(decodeOne(178, cat([0x4d, 0x47, 0x43, 0x02], [2, 0, 0, 0], PKT4)).packet);
  });

  it('Juniper Ethernet without the magic is not IP', () => {
    const p = decodeOne(178, cat([0x4d, 0x47, 0x44, 0x00], ethernet(asV4(PKT4)))).packet;
    expect(p.kind === 'other' && p.reason).toBe('not-ip');
  });

  it('MPLS over PPP (protocol 0x0281)', () => {
    expectSeg(decodeOne(9, cat([0xff, 0x03], u16be(0x0281), u32be((100 << 12) | 0x100 | 64), PKT4)).packet);
  });
});

describe('EtherType shims', () => {
  const inner = (etherType: number, bytes: Buffer): Encap => ({ etherType, bytes });

  it('802.1ah PBB: I-TAG, customer addresses, customer EtherType', () => {
    const f = ethernet(inner(0x88e7, cat(u32be(0x001ebb44), mac('10:60:4b:7d:ba:75'), mac('10:60:4b:7f:2d:27'), u16be(0x0800), PKT4)));
    expectSeg(decodeOne(1, f).packet);
  });

  it('Cisco FabricPath: FTAG/TTL, inner addresses, inner EtherType', () => {
    const f = ethernet(inner(0x8903, cat([0, 0], mac('99:98:cf:73:89:eb'), mac('82:90:70:bf:47:a7'), u16be(0x0800), PKT4)));
    expectSeg(decodeOne(1, f).packet);
  });

  it('VN-Tag: 4 bytes of tag, then an EtherType (here a VLAN tag)', () => {
    const f = ethernet(inner(0x8926, cat(u32be(0x33), u16be(0x8100), u16be(250), u16be(0x0800), PKT4)));
    expectSeg(decodeOne(1, f).packet);
  });
});

describe('lengths', () => {
  it('a PPPoE length shorter than the IP total length ends the packet (the rest is padding)', () => {
    // 40-byte ACK whose IP header claims 46 bytes, 6 zero bytes after it: PPPoE says 2 + 40.
    const ack = ipv4({ totalLength: 46, payload: cat(tcp({ ...SEG, payload: 0 }), Buffer.alloc(6)) });
    const encap = pppoe(asV4(ack));
    encap.bytes.writeUInt16BE(42, 4);
    const t = expectSeg(decodeOne(1, ethernet(encap)).packet, 0);
    expect(t.ip.lengthExceedsFrame).toBe(true);
    expect(t.ip.totalLength).toBe(46);
  });

  it('an 802.3 length ends the packet too', () => {
    const ack = ipv4({ totalLength: 46, payload: cat(tcp({ ...SEG, payload: 0 }), Buffer.alloc(6)) });
    const body = cat(snap(0x0800), ack);
    const f = cat(mac('02:00:00:00:00:02'), mac('02:00:00:00:00:01'), u16be(body.length - 6), body);
    expectSeg(decodeOne(1, f).packet, 0);
  });

  it('an IPv4 total length beyond the frame is cut to the frame, as tshark does', () => {
    const b = ipv4({ totalLength: 820, payload: tcp({ ...SEG, payload: 0, options: [Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2])] }) });
    const { packet, decoder } = decodeOne(101, b);
    const t = expectSeg(packet, 0);
    expect(t.ip.lengthExceedsFrame).toBe(true);
    expect(t.ip.totalLength).toBe(820);
    expect(decoder.stats.ipLengthExceedsFrame).toBe(1);
  });

  it('a snaplen-cut frame keeps the IP length: only the wire length bounds it', () => {
    const b = ipv4({ payload: tcp({ ...SEG, payload: 1000 }) });
    const t = expectSeg(decodeOne(101, b, { capLen: 60 }).packet, 1000);
    expect(t.ip.lengthExceedsFrame).toBe(false);
    expect(t.tcp.truncated).toBe(true);
  });

  it('an IPv6 payload length beyond the frame is cut to the frame', () => {
    const b = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', payload: tcp(SEG), payloadLength: 400 });
    const t = expectSeg(decodeOne(101, b).packet, 10);
    expect(t.ip.lengthExceedsFrame).toBe(true);
    expect(Buffer.from(t.ip.src)).toEqual(ip6('2001:db8::1'));
  });
});

describe('TCP', () => {
  it('the three reserved bits are kept apart from the flags', () => {
    const seg = tcp({ ...SEG, flags: 'SA' });
    seg[12] = seg[12]! | 0x0e; // reserved bits 0b111, AE clear
    const t = asTcp(decodeOne(101, ipv4({ payload: seg })).packet);
    expect(t.tcp.reserved).toBe(7);
    expect(t.tcp.flags).toBe(0x12);
  });
});
