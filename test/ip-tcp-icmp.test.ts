import { describe, expect, it } from 'vitest';
import { Decoder } from '../src/decode/decoder.js';
import { TCP_SYN, type IcmpErrorPacket, type OtherPacket, type Packet, type TcpPacket } from '../src/decode/packet.js';
import { addrOf, cat, ip4, ip6, pattern } from './helpers/bytes.js';
import { NH, PROTO, ext, icmp4, icmp6, ipv4, ipv4Opt, ipv6, jumboOption, tcp, tcpOpt, type Ipv6Ext, type TcpSpec } from './helpers/ip-packets.js';
import { LINKTYPE, asV4, ethernet } from './helpers/link-layers.js';
import { decodeOne, frameOf } from './helpers/decode-one.js';

const SEG: TcpSpec = { sport: 51000, dport: 8080, seq: 0xfedcba98, ack: 0x01020304, flags: 'A', payload: 64 };

function asTcp(p: Packet): TcpPacket {
  if (p.kind !== 'tcp') throw new Error(`expected a TCP packet, got ${p.kind}${p.kind === 'other' ? ` (${p.reason}: ${p.detail})` : ''}`);
  return p;
}

function asIcmp(p: Packet): IcmpErrorPacket {
  if (p.kind !== 'icmp-error') throw new Error(`expected an ICMP error, got ${p.kind}${p.kind === 'other' ? ` (${p.reason}: ${p.detail})` : ''}`);
  return p;
}

function asOther(p: Packet, reason: OtherPacket['reason']): OtherPacket {
  if (p.kind !== 'other') throw new Error(`expected 'other' (${reason}), got ${p.kind}`);
  expect(p.reason).toBe(reason);
  return p;
}

/** Decode a raw IP packet (LINKTYPE_RAW). */
const raw = (packet: Buffer, o: { capLen?: number; origLen?: number } = {}): ReturnType<typeof decodeOne> => decodeOne(LINKTYPE.RAW, packet, o);

/** A TCP segment with these options, decoded from a raw IPv4 packet. */
function withOptions(options: Buffer[], extra: TcpSpec = {}): TcpPacket {
  return asTcp(raw(ipv4({ payload: tcp({ ...SEG, ...extra, options }) })).packet);
}

describe('IPv4', () => {
  it('a plain header', () => {
    const p = asTcp(raw(ipv4({ src: '10.1.2.3', dst: '10.4.5.6', ttl: 57, id: 0xbeef, payload: tcp(SEG) })).packet);
    expect(p.ip.version).toBe(4);
    expect(p.ip.headerLength).toBe(20);
    expect(p.ip.ttl).toBe(57);
    expect(p.ip.id).toBe(0xbeef);
    expect(p.ip.totalLength).toBe(20 + 20 + 64);
    expect(p.ip.payloadLength).toBe(84);
    expect(p.ip.fragment).toBe(false);
    expect(p.ip.lengthFromFrame).toBe(false);
    expect(addrOf(p.ip.src, 4)).toEqual(ip4('10.1.2.3'));
    expect(addrOf(p.ip.dst, 4)).toEqual(ip4('10.4.5.6'));
    expect(p.tcp.payloadLength).toBe(64);
  });

  it('options (router alert): IHL 6', () => {
    const p = asTcp(raw(ipv4({ options: ipv4Opt.routerAlert(), payload: tcp(SEG) })).packet);
    expect(p.ip.headerLength).toBe(24);
    expect(p.tcp.srcPort).toBe(51000);
    expect(p.tcp.seq).toBe(0xfedcba98);
    expect(p.tcp.payloadLength).toBe(64);
    expect(p.tcp.payloadOffset - p.frame.offset).toBe(24 + 20);
  });

  it('40 bytes of options (record route, 9 slots): IHL 15', () => {
    const p = asTcp(raw(ipv4({ options: cat(ipv4Opt.nop(), ipv4Opt.recordRoute(9)), payload: tcp(SEG) })).packet);
    expect(p.ip.headerLength).toBe(60);
    expect(p.ip.payloadLength).toBe(84);
    expect(p.tcp.dstPort).toBe(8080);
    expect(p.tcp.payloadLength).toBe(64);
  });

  it('IHL < 5 is malformed', () => {
    for (const ihl of [0, 4]) {
      const { packet, decoder } = raw(ipv4({ ihl, payload: tcp(SEG) }));
      const o = asOther(packet, 'malformed');
      expect(o.detail).toMatch(/header length below 20/);
      expect(decoder.stats.malformed.get(o.detail)).toBe(1);
    }
  });

  it('options cut by the capture: truncated', () => {
    const full = ipv4({ options: ipv4Opt.recordRoute(9), payload: tcp(SEG) });
    const { packet, decoder } = raw(full, { capLen: 40 });
    asOther(packet, 'truncated');
    expect(decoder.stats.truncated).toBe(1);
  });

  it('an IHL running past the end of an uncut frame is malformed, not truncated', () => {
    // 24 bytes on the wire, all captured, but the header claims 60.
    const b = ipv4({ ihl: 15, payload: [0, 0, 0, 0] });
    expect(b.length).toBe(24);
    const { packet, decoder } = raw(b);
    asOther(packet, 'malformed');
    expect(decoder.stats.truncated).toBe(0);
  });

  it('a version other than 4 under LINKTYPE_IPV4 is malformed', () => {
    asOther(decodeOne(LINKTYPE.IPV4, ipv4({ version: 5, payload: tcp(SEG) })).packet, 'malformed');
  });

  it('a total length shorter than the header is malformed', () => {
    const o = asOther(raw(ipv4({ totalLength: 12, payload: tcp(SEG) })).packet, 'malformed');
    expect(o.detail).toMatch(/total length/);
  });

  it('total length 0 (TSO/GSO capture on the sender): the frame length is used', () => {
    const b = ipv4({ totalLength: 0, payload: tcp({ ...SEG, payload: 3000 }) });
    const p = asTcp(raw(b).packet);
    expect(p.ip.lengthFromFrame).toBe(true);
    expect(p.ip.totalLength).toBe(3040);
    expect(p.tcp.payloadLength).toBe(3000);
    expect(p.tcp.truncated).toBe(false);
  });

  it('total length 0 with a snaplen: the wire length, not the captured one, is used', () => {
    const b = ipv4({ totalLength: 0, payload: tcp({ ...SEG, payload: 3000 }) });
    const p = asTcp(raw(b, { capLen: 128 }).packet);
    expect(p.ip.lengthFromFrame).toBe(true);
    expect(p.tcp.payloadLength).toBe(3000);
    expect(p.tcp.capturedPayload).toBe(128 - 40);
    expect(p.tcp.truncated).toBe(true);
  });

  it('first fragment: TCP decoded from it, and counted as a fragment', () => {
    // 1480 bytes of datagram (20 TCP + 1460 data) in the first fragment.
    const seg = tcp({ ...SEG, payload: 3000 });
    const b = ipv4({ mf: true, id: 77, payload: seg.subarray(0, 1480) });
    const { packet, decoder } = raw(b);
    const p = asTcp(packet);
    expect(p.ip.fragment).toBe(true);
    expect(p.ip.laterFragment).toBe(false);
    expect(p.ip.id).toBe(77);
    expect(p.tcp.srcPort).toBe(51000);
    expect(p.tcp.seq).toBe(0xfedcba98);
    expect(p.tcp.payloadLength).toBe(1460);
    expect(decoder.stats.ipFragments).toBe(1);
    expect(decoder.stats.tcp).toBe(1);
  });

  it('later fragments are counted, not decoded as TCP', () => {
    const seg = tcp({ ...SEG, payload: 3000 });
    const decoder = new Decoder();
    const middle = decoder.decode(frameOf(LINKTYPE.RAW, ipv4({ mf: true, fragOffset: 1480, payload: seg.subarray(1480, 2960) })));
    const o = asOther(middle, 'ip-fragment');
    expect(o.ip?.laterFragment).toBe(true);
    expect(o.ip?.fragment).toBe(true);
    const last = decoder.decode(frameOf(LINKTYPE.RAW, ipv4({ fragOffset: 2960, payload: seg.subarray(2960) })));
    asOther(last, 'ip-fragment');
    expect(decoder.stats.ipFragments).toBe(2);
    expect(decoder.stats.tcp).toBe(0);
  });

  it('DF alone is not a fragment', () => {
    const p = asTcp(raw(ipv4({ df: true, payload: tcp(SEG) })).packet);
    expect(p.ip.fragment).toBe(false);
  });

  it('UDP is not TCP', () => {
    const o = asOther(raw(ipv4({ proto: PROTO.UDP, payload: Buffer.alloc(16) })).packet, 'not-tcp');
    expect(o.ip?.protocol).toBe(PROTO.UDP);
  });
});

describe('IPv6', () => {
  it('a plain header', () => {
    const p = asTcp(raw(ipv6({ src: '2001:db8::1:2', dst: 'fe80::99', hopLimit: 3, payload: tcp(SEG) })).packet);
    expect(p.ip.version).toBe(6);
    expect(p.ip.headerLength).toBe(40);
    expect(p.ip.ttl).toBe(3);
    expect(p.ip.totalLength).toBe(40 + 84);
    expect(p.ip.payloadLength).toBe(84);
    expect(addrOf(p.ip.src, 6)).toEqual(ip6('2001:db8::1:2'));
    expect(addrOf(p.ip.dst, 6)).toEqual(ip6('fe80::99'));
    expect(p.tcp.payloadLength).toBe(64);
  });

  it('hop-by-hop, routing, destination options and AH before TCP', () => {
    const exts = [ext.hopByHop([0x05, 0x02, 0, 0]), ext.routing(['2001:db8::77', '2001:db8::78']), ext.destOpts(), ext.ah(12)];
    // 8 + (8 + 32) + 8 + 24
    const extLen = 8 + 40 + 8 + 24;
    const p = asTcp(raw(ipv6({ ext: exts, payload: tcp(SEG) })).packet);
    expect(p.ip.protocol).toBe(NH.TCP);
    expect(p.ip.headerLength).toBe(40 + extLen);
    expect(p.ip.payloadLength).toBe(84);
    expect(p.ip.totalLength).toBe(40 + extLen + 84);
    expect(p.tcp.srcPort).toBe(51000);
    expect(p.tcp.ack).toBe(0x01020304);
    expect(p.tcp.payloadLength).toBe(64);
  });

  it('jumbogram: hop-by-hop jumbo payload option, payload length 0', () => {
    const seg = tcp({ ...SEG, payload: 70000 });
    const jumboLen = 8 + seg.length; // everything after the IPv6 header
    const b = ipv6({ payloadLength: 0, ext: [ext.hopByHop(jumboOption(jumboLen))], payload: seg });
    const p = asTcp(raw(b).packet);
    expect(p.ip.jumbo).toBe(true);
    expect(p.ip.totalLength).toBe(40 + jumboLen);
    expect(p.ip.payloadLength).toBe(seg.length);
    expect(p.tcp.payloadLength).toBe(70000);
    expect(p.tcp.truncated).toBe(false);
  });

  it('jumbogram cut by the snaplen keeps its length', () => {
    const seg = tcp({ ...SEG, payload: 70000 });
    const b = ipv6({ payloadLength: 0, ext: [ext.hopByHop(jumboOption(8 + seg.length))], payload: seg });
    const p = asTcp(raw(b, { capLen: 200 }).packet);
    expect(p.ip.jumbo).toBe(true);
    expect(p.tcp.payloadLength).toBe(70000);
    expect(p.tcp.capturedPayload).toBe(200 - 40 - 8 - 20);
    expect(p.tcp.truncated).toBe(true);
  });

  it('payload length 0 without a jumbo option (GSO capture): the frame length is used', () => {
    const p = asTcp(raw(ipv6({ payloadLength: 0, payload: tcp({ ...SEG, payload: 5000 }) })).packet);
    expect(p.ip.lengthFromFrame).toBe(true);
    expect(p.ip.jumbo).toBe(false);
    expect(p.tcp.payloadLength).toBe(5000);
  });

  it('first fragment: TCP decoded', () => {
    const seg = tcp({ ...SEG, payload: 3000 });
    const { packet, decoder } = raw(ipv6({ ext: [ext.fragment({ more: true, id: 0x1234567 })], payload: seg.subarray(0, 1232) }));
    const p = asTcp(packet);
    expect(p.ip.fragment).toBe(true);
    expect(p.ip.laterFragment).toBe(false);
    expect(p.ip.id).toBe(0x1234567);
    expect(p.ip.headerLength).toBe(48);
    expect(p.tcp.seq).toBe(0xfedcba98);
    expect(p.tcp.payloadLength).toBe(1232 - 20);
    expect(decoder.stats.ipFragments).toBe(1);
  });

  it('later fragment: counted, not decoded', () => {
    const seg = tcp({ ...SEG, payload: 3000 });
    const { packet, decoder } = raw(ipv6({ ext: [ext.destOpts(), ext.fragment({ offset: 1232, more: true, id: 9 })], payload: seg.subarray(1232, 2464) }));
    const o = asOther(packet, 'ip-fragment');
    expect(o.ip?.id).toBe(9);
    expect(o.ip?.laterFragment).toBe(true);
    expect(decoder.stats.ipFragments).toBe(1);
    expect(decoder.stats.tcp).toBe(0);
  });

  it('an atomic fragment (offset 0, no more fragments) is decoded', () => {
    const p = asTcp(raw(ipv6({ ext: [ext.fragment({ more: false })], payload: tcp(SEG) })).packet);
    expect(p.ip.fragment).toBe(true);
    expect(p.tcp.payloadLength).toBe(64);
  });

  it('a chain of 16 extension headers (the documented bound) is followed', () => {
    const chain: Ipv6Ext[] = Array.from({ length: 16 }, () => ext.destOpts());
    const p = asTcp(raw(ipv6({ ext: chain, payload: tcp(SEG) })).packet);
    expect(p.ip.headerLength).toBe(40 + 16 * 8);
    expect(p.tcp.payloadLength).toBe(64);
  });

  it('a chain of 17 extension headers is too long: malformed', () => {
    const chain: Ipv6Ext[] = Array.from({ length: 17 }, () => ext.destOpts());
    const { packet, decoder } = raw(ipv6({ ext: chain, payload: tcp(SEG) }));
    const o = asOther(packet, 'malformed');
    expect(o.detail).toMatch(/chain too long/);
    expect(decoder.stats.malformed.get(o.detail)).toBe(1);
  });

  it('a long chain (40 empty routing headers) stops at the bound', () => {
    const chain: Ipv6Ext[] = Array.from({ length: 40 }, () => ext.routing([]));
    asOther(raw(ipv6({ ext: chain, payload: tcp(SEG) })).packet, 'malformed');
  });

  it('extension headers longer than the payload length field: malformed', () => {
    const b = ipv6({ ext: [ext.hopByHop(), ext.destOpts(pattern(30))], payload: tcp(SEG), payloadLength: 16 });
    const o = asOther(raw(b).packet, 'malformed');
    expect(o.detail).toMatch(/longer than the payload length/);
  });

  it('an extension header cut by the capture: truncated', () => {
    const b = ipv6({ ext: [ext.hopByHop(), ext.routing(['2001:db8::5', '2001:db8::6'])], payload: tcp(SEG) });
    const { packet, decoder } = raw(b, { capLen: 40 + 8 + 12 });
    asOther(packet, 'truncated');
    expect(decoder.stats.truncated).toBe(1);
  });

  it('an extension header running past the end of an uncut frame is malformed, not truncated', () => {
    // The destination options header claims (255 + 1) * 8 bytes; the frame, complete, has 8.
    const b = ipv6({ ext: [ext.raw(NH.DEST_OPTS, 255, Buffer.alloc(6))], payload: [], nextHeader: NH.NONE });
    const { packet, decoder } = raw(b);
    asOther(packet, 'malformed');
    expect(decoder.stats.truncated).toBe(0);
  });

  it('no next header (59) is not TCP', () => {
    asOther(raw(ipv6({ nextHeader: NH.NONE, payload: [] })).packet, 'not-tcp');
  });
});

describe('TCP', () => {
  it('no options', () => {
    const p = withOptions([]);
    expect(p.tcp.headerLength).toBe(20);
    expect(p.tcp.mss).toBe(-1);
    expect(p.tcp.windowScale).toBe(-1);
    expect(p.tcp.sackPermitted).toBe(false);
    expect(p.tcp.sackCount).toBe(0);
    expect(p.tcp.hasTimestamp).toBe(false);
    expect(p.tcp.tfoCookieLength).toBe(-1);
    expect(p.tcp.badOptions).toBe(false);
    expect(p.tcp.optionsTruncated).toBe(false);
  });

  it('MSS', () => expect(withOptions([tcpOpt.mss(1460)]).tcp.mss).toBe(1460));
  it('window scale', () => expect(withOptions([tcpOpt.nop(), tcpOpt.wscale(14)]).tcp.windowScale).toBe(14));
  it('SACK permitted', () => expect(withOptions([tcpOpt.sackPermitted()]).tcp.sackPermitted).toBe(true));

  it('timestamps', () => {
    const p = withOptions([tcpOpt.nop(), tcpOpt.nop(), tcpOpt.timestamps(0xffffffff, 0x80000001)]);
    expect(p.tcp.hasTimestamp).toBe(true);
    expect(p.tcp.tsVal).toBe(0xffffffff);
    expect(p.tcp.tsEcr).toBe(0x80000001);
  });

  it('one SACK block', () => {
    const p = withOptions([tcpOpt.nop(), tcpOpt.nop(), tcpOpt.sack([[0xfffffff0, 0x00000010]])]);
    expect(p.tcp.sackCount).toBe(1);
    expect([p.tcp.sack[0], p.tcp.sack[1]]).toEqual([0xfffffff0, 0x10]);
  });

  it('four SACK blocks', () => {
    const blocks: Array<[number, number]> = [
      [100, 200],
      [300, 400],
      [500, 600],
      [0xffff0000, 0xffffffff],
    ];
    const p = withOptions([tcpOpt.nop(), tcpOpt.nop(), tcpOpt.sack(blocks)]);
    expect(p.tcp.headerLength).toBe(20 + 36);
    expect(p.tcp.sackCount).toBe(4);
    expect(Array.from(p.tcp.sack)).toEqual(blocks.flat());
  });

  it('three SACK blocks after timestamps', () => {
    const p = withOptions([tcpOpt.nop(), tcpOpt.nop(), tcpOpt.timestamps(7, 8), tcpOpt.nop(), tcpOpt.nop(), tcpOpt.sack([[1, 2], [3, 4], [5, 6]])]);
    expect(p.tcp.hasTimestamp).toBe(true);
    expect(p.tcp.sackCount).toBe(3);
    expect(Array.from(p.tcp.sack.subarray(0, 6))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a typical Linux SYN: MSS, SACK permitted, timestamps, NOP, window scale', () => {
    const p = withOptions([tcpOpt.mss(1448), tcpOpt.sackPermitted(), tcpOpt.timestamps(12345, 0), tcpOpt.nop(), tcpOpt.wscale(7)], { flags: 'S', payload: 0 });
    expect(p.tcp.flags).toBe(TCP_SYN);
    expect(p.tcp.headerLength).toBe(40);
    expect(p.tcp.mss).toBe(1448);
    expect(p.tcp.sackPermitted).toBe(true);
    expect(p.tcp.hasTimestamp).toBe(true);
    expect(p.tcp.tsVal).toBe(12345);
    expect(p.tcp.windowScale).toBe(7);
    expect(p.tcp.payloadLength).toBe(0);
  });

  it('TCP Fast Open, kind 34: cookie request', () => expect(withOptions([tcpOpt.tfo()], { flags: 'S' }).tcp.tfoCookieLength).toBe(0));
  it('TCP Fast Open, kind 34: 8-byte cookie', () => expect(withOptions([tcpOpt.tfo(pattern(8))], { flags: 'S' }).tcp.tfoCookieLength).toBe(8));
  it('TCP Fast Open, experimental 254/0xF989: cookie request', () =>
    expect(withOptions([tcpOpt.tfoExperimental()], { flags: 'S' }).tcp.tfoCookieLength).toBe(0));
  it('TCP Fast Open, experimental 254/0xF989: 8-byte cookie', () =>
    expect(withOptions([tcpOpt.tfoExperimental(pattern(8))], { flags: 'S' }).tcp.tfoCookieLength).toBe(8));
  it('experimental 254 with another ExID is not Fast Open', () => {
    const p = withOptions([tcpOpt.tfoExperimental(pattern(4), 0x1234), tcpOpt.mss(536)]);
    expect(p.tcp.tfoCookieLength).toBe(-1);
    expect(p.tcp.mss).toBe(536);
  });

  it('an unknown option is skipped by its length', () => {
    const p = withOptions([tcpOpt.raw(30, 6, [1, 2, 3, 4]), tcpOpt.wscale(3)]);
    expect(p.tcp.windowScale).toBe(3);
    expect(p.tcp.badOptions).toBe(false);
  });

  it('nothing after EOL is read', () => {
    const p = withOptions([tcpOpt.eol(), tcpOpt.mss(1000)]);
    expect(p.tcp.mss).toBe(-1);
    expect(p.tcp.badOptions).toBe(false);
  });

  it('an option with the wrong length for its kind is ignored', () => {
    const p = withOptions([tcpOpt.raw(2, 3, [5]), tcpOpt.wscale(2)]);
    expect(p.tcp.mss).toBe(-1);
    expect(p.tcp.windowScale).toBe(2);
  });

  it('a zero-length option stops option parsing and is flagged', () => {
    const p = withOptions([tcpOpt.mss(1200), tcpOpt.raw(2, 0), tcpOpt.nop(), tcpOpt.nop(), tcpOpt.wscale(5)]);
    expect(p.tcp.mss).toBe(1200);
    expect(p.tcp.windowScale).toBe(-1);
    expect(p.tcp.badOptions).toBe(true);
    expect(p.tcp.payloadLength).toBe(64);
  });

  it('a length-1 option is flagged too', () => {
    const p = withOptions([tcpOpt.raw(8, 1), tcpOpt.nop(), tcpOpt.nop()]);
    expect(p.tcp.badOptions).toBe(true);
    expect(p.tcp.hasTimestamp).toBe(false);
  });

  it('an option overrunning the header is flagged; earlier ones are kept', () => {
    // MSS (4), then timestamps claiming 10 bytes with only 4 left in a 28-byte header.
    const p = withOptions([tcpOpt.mss(1300), cat([8, 10], [0, 0])]);
    expect(p.tcp.headerLength).toBe(28);
    expect(p.tcp.mss).toBe(1300);
    expect(p.tcp.hasTimestamp).toBe(false);
    expect(p.tcp.badOptions).toBe(true);
    expect(p.tcp.payloadLength).toBe(64);
  });

  it('an option kind alone in the last header byte is flagged', () => {
    const p = withOptions([tcpOpt.nop(), tcpOpt.nop(), tcpOpt.nop(), Buffer.from([2])]);
    expect(p.tcp.badOptions).toBe(true);
  });

  it('options cut by the snaplen are not damage', () => {
    const b = ipv4({ payload: tcp({ ...SEG, options: [tcpOpt.mss(1400), tcpOpt.nop(), tcpOpt.nop(), tcpOpt.timestamps(1, 2)] }) });
    // IPv4 20 + TCP 20 + MSS 4 + NOPs 2 + 3 bytes of the timestamps option.
    const p = asTcp(raw(b, { capLen: 49 }).packet);
    expect(p.tcp.mss).toBe(1400);
    expect(p.tcp.hasTimestamp).toBe(false);
    expect(p.tcp.optionsTruncated).toBe(true);
    expect(p.tcp.badOptions).toBe(false);
    expect(p.tcp.truncated).toBe(true);
    expect(p.tcp.payloadLength).toBe(64);
    expect(p.tcp.capturedPayload).toBe(0);
  });

  it('data offset < 5 is malformed', () => {
    for (const dataOffset of [0, 4]) {
      const { packet, decoder } = raw(ipv4({ payload: tcp({ ...SEG, dataOffset }) }));
      const o = asOther(packet, 'malformed');
      expect(o.detail).toMatch(/data offset below 5/);
      expect(decoder.stats.malformed.get(o.detail)).toBe(1);
      expect(decoder.stats.tcp).toBe(0);
    }
  });

  it('a header longer than the segment the IP header describes is malformed', () => {
    // Data offset 15 (60 bytes) in a 24-byte segment.
    const o = asOther(raw(ipv4({ payload: tcp({ ...SEG, dataOffset: 15, payload: 4 }) })).packet, 'malformed');
    expect(o.detail).toMatch(/longer than the segment/);
  });

  it('all nine flag bits, including AE', () => {
    const p = asTcp(raw(ipv4({ payload: tcp({ ...SEG, flags: 'FSRPAUECN', urgent: 3 }) })).packet);
    expect(p.tcp.flags).toBe(0x1ff);
    expect(p.tcp.urgent).toBe(3);
  });

  it('options of one packet do not leak into the next', () => {
    const decoder = new Decoder();
    const a = asTcp(decoder.decode(frameOf(LINKTYPE.RAW, ipv4({ payload: tcp({ ...SEG, options: [tcpOpt.mss(1460), tcpOpt.sack([[1, 2]]), tcpOpt.tfo()] }) }))));
    expect(a.tcp.mss).toBe(1460);
    expect(a.tcp.sackCount).toBe(1);
    const b = asTcp(decoder.decode(frameOf(LINKTYPE.RAW, ipv4({ payload: tcp(SEG) }))));
    expect(b.tcp.mss).toBe(-1);
    expect(b.tcp.sackCount).toBe(0);
    expect(b.tcp.tfoCookieLength).toBe(-1);
    expect(decoder.stats.tcp).toBe(2);
  });
});

describe('ICMP errors quoting TCP', () => {
  /** The offending segment, as sent by 10.0.0.1:51000 to 203.0.113.9:443. */
  const offending4 = ipv4({ src: '10.0.0.1', dst: '203.0.113.9', payload: tcp({ sport: 51000, dport: 443, seq: 0xa0b0c0d0, ack: 0x11111111, flags: 'S', payload: 0 }) });
  const offending6 = ipv6({ src: '2001:db8::1', dst: '2001:db8:ffff::9', payload: tcp({ sport: 51000, dport: 443, seq: 0xa0b0c0d0, ack: 0x22222222, flags: 'PA', payload: 1400 }) });
  /** What a router quotes of an IPv4 datagram: the header and 8 bytes. */
  const quote4 = offending4.subarray(0, 28);

  function icmpFrom4(type: number, code: number, quote: Buffer, o: { mtu?: number } = {}): Buffer {
    return ipv4({ src: '192.0.2.254', dst: '10.0.0.1', proto: PROTO.ICMP, payload: icmp4(type, code, quote, o) });
  }
  function icmpFrom6(type: number, code: number, quote: Buffer, o: { mtu?: number } = {}): Buffer {
    return ipv6({ src: '2001:db8::fe', dst: '2001:db8::1', nextHeader: NH.ICMPV6, payload: icmp6(type, code, quote, o) });
  }

  function expectQuote4(p: IcmpErrorPacket): void {
    expect(p.icmp.quotesTcp).toBe(true);
    const q = p.icmp.quoted;
    expect(q.ip.version).toBe(4);
    expect(addrOf(q.ip.src, 4)).toEqual(ip4('10.0.0.1'));
    expect(addrOf(q.ip.dst, 4)).toEqual(ip4('203.0.113.9'));
    expect(q.hasPorts).toBe(true);
    expect(q.srcPort).toBe(51000);
    expect(q.dstPort).toBe(443);
    expect(q.hasSeq).toBe(true);
    expect(q.seq).toBe(0xa0b0c0d0);
  }

  it('ICMPv4 host unreachable quoting IP + 8 bytes: ports and seq, no ack', () => {
    const { packet, decoder } = raw(icmpFrom4(3, 1, quote4));
    const p = asIcmp(packet);
    expect(p.ip.version).toBe(4);
    expect(addrOf(p.ip.src, 4)).toEqual(ip4('192.0.2.254'));
    expect(p.icmp.version).toBe(4);
    expect(p.icmp.type).toBe(3);
    expect(p.icmp.code).toBe(1);
    expect(p.icmp.errorClass).toBe('unreachable');
    expect(p.icmp.mtu).toBe(0);
    expectQuote4(p);
    expect(p.icmp.quoted.hasAckAndFlags).toBe(false);
    expect(p.icmp.quoted.ip.totalLength).toBe(40);
    expect(decoder.stats.icmpErrors).toBe(1);
  });

  it('ICMPv4 fragmentation needed: next-hop MTU', () => {
    const p = asIcmp(raw(icmpFrom4(3, 4, quote4, { mtu: 1400 })).packet);
    expect(p.icmp.errorClass).toBe('unreachable');
    expect(p.icmp.code).toBe(4);
    expect(p.icmp.mtu).toBe(1400);
    expectQuote4(p);
  });

  it('ICMPv4 time exceeded', () => {
    const p = asIcmp(raw(icmpFrom4(11, 0, quote4)).packet);
    expect(p.icmp.errorClass).toBe('time-exceeded');
    expectQuote4(p);
  });

  it('ICMPv4 quoting the whole TCP header: ack and flags too', () => {
    const p = asIcmp(raw(icmpFrom4(3, 13, offending4)).packet);
    expectQuote4(p);
    expect(p.icmp.quoted.hasAckAndFlags).toBe(true);
    expect(p.icmp.quoted.ack).toBe(0x11111111);
    expect(p.icmp.quoted.flags).toBe(TCP_SYN);
  });

  it('ICMPv4 quoting a header with options', () => {
    const withOpts = ipv4({ src: '10.0.0.1', dst: '203.0.113.9', options: ipv4Opt.routerAlert(), payload: tcp({ sport: 51000, dport: 443, seq: 0xa0b0c0d0 }) });
    const p = asIcmp(raw(icmpFrom4(3, 3, withOpts.subarray(0, 24 + 8))).packet);
    expect(p.icmp.quoted.ip.headerLength).toBe(24);
    expectQuote4(p);
  });

  it('ICMPv4 quoting only the ports', () => {
    const p = asIcmp(raw(icmpFrom4(3, 3, offending4.subarray(0, 24))).packet);
    expect(p.icmp.quotesTcp).toBe(true);
    expect(p.icmp.quoted.hasPorts).toBe(true);
    expect(p.icmp.quoted.srcPort).toBe(51000);
    expect(p.icmp.quoted.hasSeq).toBe(false);
  });

  it('ICMPv6 destination unreachable quoting IPv6 + full TCP header', () => {
    const { packet, decoder } = raw(icmpFrom6(1, 4, offending6.subarray(0, 1232 - 48)));
    const p = asIcmp(packet);
    expect(p.ip.version).toBe(6);
    expect(p.icmp.version).toBe(6);
    expect(p.icmp.type).toBe(1);
    expect(p.icmp.code).toBe(4);
    expect(p.icmp.errorClass).toBe('unreachable');
    expect(p.icmp.quotesTcp).toBe(true);
    const q = p.icmp.quoted;
    expect(q.ip.version).toBe(6);
    expect(addrOf(q.ip.src, 6)).toEqual(ip6('2001:db8::1'));
    expect(addrOf(q.ip.dst, 6)).toEqual(ip6('2001:db8:ffff::9'));
    expect([q.srcPort, q.dstPort, q.seq, q.ack]).toEqual([51000, 443, 0xa0b0c0d0, 0x22222222]);
    expect(q.hasAckAndFlags).toBe(true);
    expect(q.flags).toBe(0x18);
    expect(q.ip.totalLength).toBe(40 + 20 + 1400);
    expect(decoder.stats.icmpErrors).toBe(1);
  });

  it('ICMPv6 packet too big: the 32-bit MTU', () => {
    const p = asIcmp(raw(icmpFrom6(2, 0, offending6.subarray(0, 1232 - 48), { mtu: 1280 })).packet);
    expect(p.icmp.errorClass).toBe('packet-too-big');
    expect(p.icmp.mtu).toBe(1280);
    expect(p.icmp.quoted.seq).toBe(0xa0b0c0d0);
  });

  it('ICMPv6 time exceeded', () => {
    const p = asIcmp(raw(icmpFrom6(3, 0, offending6.subarray(0, 100))).packet);
    expect(p.icmp.errorClass).toBe('time-exceeded');
    expect(p.icmp.quoted.srcPort).toBe(51000);
    expect(p.icmp.quoted.hasAckAndFlags).toBe(true);
  });

  it('ICMPv6 quoting a packet with extension headers', () => {
    const withExt = ipv6({ src: '2001:db8::1', dst: '2001:db8:ffff::9', ext: [ext.hopByHop(), ext.destOpts(pattern(6))], payload: tcp({ sport: 51000, dport: 443, seq: 0xa0b0c0d0 }) });
    const p = asIcmp(raw(icmpFrom6(1, 0, withExt)).packet);
    expect(p.icmp.quotesTcp).toBe(true);
    expect(p.icmp.quoted.ip.headerLength).toBe(40 + 8 + 8);
    expect(p.icmp.quoted.dstPort).toBe(443);
    expect(p.icmp.quoted.seq).toBe(0xa0b0c0d0);
  });

  it('ICMP quoting garbage: an error, quoting no TCP', () => {
    for (const junk of [pattern(28, 0x90), Buffer.alloc(0), Buffer.alloc(10, 0x45)]) {
      const p = asIcmp(raw(icmpFrom4(3, 1, junk)).packet);
      expect(p.icmp.quotesTcp).toBe(false);
      expect(p.icmp.quoted.hasPorts).toBe(false);
    }
    const p6 = asIcmp(raw(icmpFrom6(1, 0, pattern(48, 0x33))).packet);
    expect(p6.icmp.quotesTcp).toBe(false);
  });

  it('ICMPv6 quoting an IPv4 header is garbage too', () => {
    expect(asIcmp(raw(icmpFrom6(1, 0, offending4)).packet).icmp.quotesTcp).toBe(false);
  });

  it('ICMP quoting UDP: an error, quoting no TCP', () => {
    const udp = ipv4({ proto: PROTO.UDP, payload: Buffer.alloc(8) });
    expect(asIcmp(raw(icmpFrom4(3, 3, udp)).packet).icmp.quotesTcp).toBe(false);
  });

  it('ICMP quoting a later fragment: no TCP header to read', () => {
    const frag = ipv4({ fragOffset: 1480, payload: pattern(8) });
    expect(asIcmp(raw(icmpFrom4(11, 1, frag)).packet).icmp.quotesTcp).toBe(false);
  });

  it('the quote ends where the outer IP datagram ends (an Ethernet trailer is not quoted TCP)', () => {
    // IP + 8 bytes quoted; the frame then carries 8 bytes of trailer (FCS + vendor tag).
    const f = ethernet(asV4(icmpFrom4(3, 1, quote4)), { trailer: [0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x02, 0x03, 0x04] });
    const p = asIcmp(decodeOne(LINKTYPE.ETHERNET, f).packet);
    expectQuote4(p);
    expect(p.icmp.quoted.hasAckAndFlags).toBe(false);
  });

  it('echo requests and neighbour discovery are not errors', () => {
    asOther(raw(ipv4({ proto: PROTO.ICMP, payload: icmp4(8, 0, pattern(32)) })).packet, 'not-tcp');
    asOther(raw(ipv6({ nextHeader: NH.ICMPV6, payload: icmp6(135, 0, ip6('fe80::1')) })).packet, 'not-tcp');
  });

  it('ICMP (protocol 1) inside IPv6 is not an error message', () => {
    asOther(raw(ipv6({ nextHeader: PROTO.ICMP, payload: icmp4(3, 1, quote4) })).packet, 'not-tcp');
  });

  it('an ICMP error too short to hold its header is not an error', () => {
    asOther(raw(ipv4({ proto: PROTO.ICMP, payload: [3, 1, 0, 0] })).packet, 'not-tcp');
  });

  it('ICMPv4 redirect, source quench and parameter problem are classed', () => {
    expect(asIcmp(raw(icmpFrom4(5, 1, quote4)).packet).icmp.errorClass).toBe('redirect');
    expect(asIcmp(raw(icmpFrom4(4, 0, quote4)).packet).icmp.errorClass).toBe('source-quench');
    expect(asIcmp(raw(icmpFrom4(12, 0, quote4)).packet).icmp.errorClass).toBe('parameter-problem');
    expect(asIcmp(raw(icmpFrom6(4, 0, offending6.subarray(0, 60))).packet).icmp.errorClass).toBe('parameter-problem');
  });
});
