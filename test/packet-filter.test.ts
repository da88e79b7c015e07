/**
 * The capture filter (src/decode/packet-filter.ts). First its grammar, precedence,
 * abbreviations and error messages, on packets decoded from the repo's captures and
 * on synthetic packets for what those lack (UDP, SCTP, fragments, ARP, VLAN).
 * Then the oracle: for each capture and expression, the frames the filter keeps
 * must be exactly the frames `tcpdump -r FILE -w OUT EXPR` writes, compared by
 * (seconds, nanoseconds, captured length) read back from OUT with our own reader.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Decoder } from '../src/decode/decoder.js';
import { FilterSyntaxError, parsePacketFilter, type PacketFilter } from '../src/decode/packet-filter.js';
import type { Packet } from '../src/decode/packet.js';
import { formatIp } from '../src/util/address.js';
import { cat, ip4, mac, u16be, u32be } from './helpers/bytes.js';
import { PROTO, ext, icmp4, icmp6, ipv4, ipv4Opt, ipv6, tcp } from './helpers/ip-packets.js';
import { ETHERTYPE, asType, asV4, asV6, ethernet, LINKTYPE, vlan } from './helpers/link-layers.js';
import { pcapFile, type PcapRecordSpec } from './helpers/pcap.js';
import { useTempDir } from './helpers/temp-dir.js';
import { readAll, type ReadFrame } from './helpers/read-back.js';
import { decodeOne, frameOf } from './helpers/decode-one.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, manifest } from './helpers/env.js';

const TCPDUMP = '/usr/bin/tcpdump';
const HAVE_TCPDUMP = existsSync(TCPDUMP);
const tmp = useTempDir();

// ---------------------------------------------------------------------------
// Decoding and selecting
// ---------------------------------------------------------------------------

const loaded = new Map<string, Promise<ReadFrame[]>>();

/** The frames of a capture, copied out of the reader (read once per file). */
function load(path: string): Promise<ReadFrame[]> {
  let p = loaded.get(path);
  if (p === undefined) {
    p = readAll(path).then((r) => r.frames);
    loaded.set(path, p);
  }
  return p;
}

const capture = (name: string): Promise<ReadFrame[]> => load(join(CAPTURES, name));

/** Decode each frame afresh and hand over the packet (the decoder's reused object: use it at once). */
function forEachPacket(frames: readonly ReadFrame[], visit: (p: Packet, f: ReadFrame) => void): void {
  const decoder = new Decoder();
  for (const f of frames) visit(decoder.decode(frameOf(f.linkType, f.data, { origLen: f.origLen, fcsLen: f.fcsLen })), f);
}

/** Numbers (1-based) of the frames the filter keeps. */
function kept(filter: PacketFilter | string, frames: readonly ReadFrame[]): number[] {
  const f = typeof filter === 'string' ? parsePacketFilter(filter) : filter;
  const out: number[] = [];
  forEachPacket(frames, (p, fr) => {
    if (f.matches(p)) out.push(fr.index);
  });
  return out;
}

const range = (from: number, to: number, step = 1): number[] => {
  const out: number[] = [];
  for (let i = from; i <= to; i += step) out.push(i);
  return out;
};

/** The error parsePacketFilter throws for `expr`. */
function syntaxError(expr: string): FilterSyntaxError {
  try {
    parsePacketFilter(expr);
  } catch (e) {
    if (e instanceof FilterSyntaxError) return e;
    throw e;
  }
  throw new Error(`"${expr}" was accepted`);
}

// ---------------------------------------------------------------------------
// Grammar
// ---------------------------------------------------------------------------

describe('parsePacketFilter: the grammar, shown by the canonical form', () => {
  const canon = (e: string): string => String(parsePacketFilter(e));

  it('keeps the text as given', () => {
    expect(parsePacketFilter('  tcp   port 80 ').text).toBe('  tcp   port 80 ');
  });

  it('and and or have equal precedence and associate left to right; not binds tightest', () => {
    expect(canon('host 10.0.0.1 or host 10.0.0.2 and port 80')).toBe('((host 10.0.0.1 or host 10.0.0.2) and port 80)');
    expect(canon('port 80 and host 10.0.0.1 or host 10.0.0.2')).toBe('((port 80 and host 10.0.0.1) or host 10.0.0.2)');
    expect(canon('not tcp and port 80')).toBe('(not tcp and port 80)');
    expect(canon('not (tcp and port 80)')).toBe('not (tcp and port 80)');
    expect(canon('! tcp || icmp && ip')).toBe('((not tcp or icmp) and ip)');
    expect(canon('not not ip6')).toBe('not not ip6');
    expect(canon('tcp&&port 80')).toBe('(tcp and port 80)');
    expect(canon('(((tcp)))')).toBe('tcp');
  });

  it("an id after and/or repeats the previous primitive's qualifiers, as tcpdump abbreviates", () => {
    expect(canon('host 10.0.0.1 or 10.0.0.2')).toBe('(host 10.0.0.1 or host 10.0.0.2)');
    expect(canon('port 80 or 443')).toBe('(port 80 or port 443)');
    expect(canon('tcp dst port 80 or 8080')).toBe('(tcp dst port 80 or tcp dst port 8080)');
    expect(canon('src net 10.0.0.0/8 or 192.168.0.0/16')).toBe('(src net 10.0.0.0/8 or src net 192.168.0.0/16)');
    expect(canon('port 80 and not 443')).toBe('(port 80 and not port 443)');
    expect(canon('not port 80 or 443')).toBe('(not port 80 or port 443)');
    expect(canon('host 10.0.0.1 and (10.0.0.2 or 10.0.0.3)')).toBe('(host 10.0.0.1 and (host 10.0.0.2 or host 10.0.0.3))');
    expect(canon('host (10.0.0.1 or 10.0.0.2)')).toBe('(host 10.0.0.1 or host 10.0.0.2)');
    // The latest qualifiers count, not the first ones.
    expect(canon('host 10.0.0.1 or src 10.0.0.2 or 10.0.0.3')).toBe('((host 10.0.0.1 or src host 10.0.0.2) or src host 10.0.0.3)');
    expect(canon('port 80 or host 10.0.0.1 or 10.0.0.2')).toBe('((port 80 or host 10.0.0.1) or host 10.0.0.2)');
  });

  it('directions, protocol qualifiers and kinds', () => {
    expect(canon('src 10.0.0.1')).toBe('src host 10.0.0.1');
    expect(canon('dst host ::1')).toBe('dst host ::1');
    expect(canon('src or dst port 22')).toBe('port 22');
    expect(canon('dst or src host 10.0.0.1')).toBe('host 10.0.0.1');
    expect(canon('src and dst net 10.0.0.0/8')).toBe('src and dst net 10.0.0.0/8');
    expect(canon('dst and src port 22')).toBe('src and dst port 22');
    expect(canon('ip host 10.0.0.1 and ip6 net 2001:db8::/32')).toBe('(host 10.0.0.1 and net 2001:db8::/32)');
    expect(canon('udp src port 53')).toBe('udp src port 53');
    expect(canon('sctp portrange 1-1024')).toBe('sctp portrange 1-1024');
    expect(canon('tcp port 80 or udp port 53')).toBe('(tcp port 80 or udp port 53)');
    expect(canon('ip or ip6 or tcp or udp or sctp or icmp or icmp6')).toBe('((((((ip or ip6) or tcp) or udp) or sctp) or icmp) or icmp6)');
  });

  it('IPv6 in any spelling is the same 16 bytes', () => {
    for (const a of ['2001:db8::1', '2001:db8:0:0::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:DB8::0:1', '2001:db8:0:0:0:0:0:1']) {
      expect(canon(`host ${a}`)).toBe('host 2001:db8::1');
    }
    expect(canon('host ::')).toBe('host ::');
    expect(canon('host 1:2:3:4:5:6:7::')).toBe('host 1:2:3:4:5:6:7:0');
    expect(canon('host ::ffff:10.0.0.1')).toBe('host ::ffff:10.0.0.1');
    expect(canon('host 64:ff9b::192.0.2.33')).toBe('host 64:ff9b::c000:221');
  });

  it('networks: CIDR, short IPv4 forms and masks, as libpcap reads them', () => {
    expect(canon('net 10.0.0.0/8')).toBe('net 10.0.0.0/8');
    expect(canon('net 10.1')).toBe('net 10.1.0.0/16');
    expect(canon('net 10.1.2')).toBe('net 10.1.2.0/24');
    expect(canon('net 10.1.2.3')).toBe('net 10.1.2.3/32');
    expect(canon('net 10')).toBe('net 10.0.0.0/8');
    expect(canon('net 10.1/16')).toBe('net 10.1.0.0/16');
    expect(canon('net 10.0.0.0 / 8')).toBe('net 10.0.0.0/8');
    expect(canon('net 10.1 mask 255.255.0.0')).toBe('net 10.1.0.0/16');
    expect(canon('net 10.0.0.0 mask 255.0.255.0')).toBe('net 10.0.0.0 mask 255.0.255.0');
    expect(canon('net 0.0.0.0/0')).toBe('net 0.0.0.0/0');
    expect(canon('net ::/0')).toBe('net ::/0');
    expect(canon('net 2001:db8::/64')).toBe('net 2001:db8::/64');
    expect(canon('net 2001:db8::1')).toBe('net 2001:db8::1/128');
    expect(canon('net 2001:db8:8000::/33')).toBe('net 2001:db8:8000::/33');
  });

  it('numbers as libpcap reads them: 0x hex, a leading 0 octal; port ranges in either order', () => {
    expect(canon('port 0x50')).toBe('port 80');
    expect(canon('port 010')).toBe('port 8');
    expect(canon('port 0')).toBe('port 0');
    expect(canon('port 65535')).toBe('port 65535');
    expect(canon('portrange 90-80')).toBe('portrange 80-90');
    expect(canon('portrange 80-80')).toBe('port 80');
  });
});

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

describe('parsePacketFilter: errors name the word and where it is', () => {
  const cases: Array<[expr: string, message: string]> = [
    ['', 'the expression is empty'],
    ['   ', 'the expression is empty'],
    ['host localhost', '"localhost" at character 6: host names are not resolved; give an IPv4 or IPv6 address'],
    ['host 10.0.0.1 or gateway', '"gateway" at character 18: not supported; supported: host, net, port, portrange'],
    ['port http', '"http" at character 6: port names are not resolved; give a number'],
    ['net loopback', '"loopback" at character 5: network names are not resolved'],
    ['vlan and tcp', '"vlan" at character 1: not supported; supported: host, net, port, portrange, src, dst, ip, ip6, tcp, udp, sctp, icmp, icmp6'],
    ['ether host 00:11:22:33:44:55', '"ether" at character 1: not supported'],
    ['tcp[13] & 2 != 0', '"tcp[" at character 1: byte offsets (tcp[...]) are not supported'],
    ['greater 100', '"greater" at character 1: not supported'],
    ['len > 100', '"len" at character 1: not supported'],
    ['ip proto 6', '"proto" at character 4: not supported after "ip"'],
    ['tcp and ip[8] < 5', '"ip[" at character 9: byte offsets'],
    ['port 1 + 2', '"+" at character 8: arithmetic, comparisons and byte offsets'],
    ['host 10.0.0.1 and', '"and" at character 15: nothing follows it'],
    ['or port 80', '"or" at character 1: nothing before it'],
    ['port 80 and or port 81', '"and" at character 9: nothing between it and "or" at character 13'],
    ['port 80 and not', '"not" at character 13: nothing follows it'],
    ['(port 80', '"(" at character 1: never closed'],
    ['(port 80 or (port 81)', '"(" at character 1: never closed'],
    ['port 80)', '")" at character 8: no matching "("'],
    ['port 80 and ()', '"(" at character 13: empty parentheses'],
    ['port 80 and (port 81 port 82)', '"port" at character 22: expected "and", "or" or ")" before it'],
    ['port 80 port 81', '"port" at character 9: expected "and" or "or" before it'],
    ['host', '"host" at character 1: expected an address after it'],
    ['src port and tcp', '"and" at character 10: expected a port after "port"'],
    ['host 1.2.3.256', '"1.2.3.256" at character 6: invalid IPv4 address'],
    ['host 1.2.3.4.5', '"1.2.3.4.5" at character 6: invalid IPv4 address'],
    ['host 10.1', '"10.1" at character 6: not a whole IPv4 address (a host has four parts; for a network write "net 10.1")'],
    ['host 2001:db8:::1', '"2001:db8:::1" at character 6: invalid IPv6 address'],
    ['host 1::2:3:4:5:6:7:8', 'invalid IPv6 address'],
    ['host 1:2:3:4:5:6:7', 'invalid IPv6 address'],
    ['host 12345::1', 'invalid IPv6 address'],
    ['host ::1.2.3', 'invalid IPv6 address'],
    ['host 1.2.3.4::', 'invalid IPv6 address'],
    ['host fe80::1%eth0', '"fe80::1%eth0" at character 6: zone indexes (%...) are not supported'],
    ['host 10.0.0.0/8', '"10.0.0.0/8" at character 6: a mask is for networks: write "net 10.0.0.0/8"'],
    ['net 10.0.0.0/33', '"10.0.0.0/33" at character 5: prefix length out of range for IPv4 (0-32)'],
    ['net ::/129', '"::/129" at character 5: prefix length out of range for IPv6 (0-128)'],
    ['net 10.0.0.0/', '"/" at character 13: expected a prefix length after it'],
    ['net 10.0.0.1/8', '"10.0.0.1/8" at character 5: bits set outside the network mask (the network is 10.0.0.0/8)'],
    ['net 2001:db8::1/64', '"2001:db8::1/64" at character 5: bits set past the /64 prefix (the network is 2001:db8::/64)'],
    ['net 10/8', '"10" at character 5: write the IPv4 network with dots'],
    ['port 65536', '"65536" at character 6: port out of range (0-65535)'],
    ['portrange 1-70000', 'port out of range (0-65535)'],
    ['port 089', '"089" at character 6: a non-octal digit'],
    ['port 80-90', '"80-90" at character 6: a range needs portrange: write "portrange 80-90"'],
    ['portrange 80', '"80" at character 11: not a port range'],
    ['ip6 host 10.0.0.1', '"10.0.0.1" at character 10: an IPv4 address cannot have the qualifier "ip6" (use ip)'],
    ['ip net 2001:db8::/32', 'an IPv6 address cannot have the qualifier "ip" (use ip6)'],
    ['tcp host 10.0.0.1', '"10.0.0.1" at character 10: "tcp" cannot qualify a host (write "tcp and host 10.0.0.1")'],
    ['ip port 80', '"80" at character 9: "ip" cannot qualify a port (ports belong to tcp, udp or sctp)'],
    ['icmp dst net 10.0.0.0/8', '"icmp" cannot qualify a network'],
    ['10.0.0.1', '"10.0.0.1" at character 1: needs a qualifier such as host, net, port or portrange'],
    ['port 80 or tcp or 443', '"443" at character 19: needs a qualifier such as host, net, port or portrange (a value alone repeats the qualifiers of the primitive before it, and "tcp" has none)'],
    ['port 80 or host 10.0.0.1 or 443', '"443" at character 29: not an address after "host"'],
    ['Host 10.0.0.1', '"Host" at character 1: keywords are lower case: write "host"'],
    ['frobnicate', '"frobnicate" at character 1: unknown word'],
    ['mask 255.0.0.0', '"mask" at character 1: only follows a net address'],
  ];

  it.each(cases)('%j', (expr, message) => {
    const e = syntaxError(expr);
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toContain(message);
    expect(e.message).not.toContain('\n');
  });

  it('what it did not take is listed in the unsupported-word message', () => {
    expect(syntaxError('arp').message).toMatch(/supported: host, net, port, portrange, src, dst, ip, ip6, tcp, udp, sctp, icmp, icmp6, and \(&&\), or \(\|\|\), not \(!\), parentheses$/);
  });
});

// ---------------------------------------------------------------------------
// Real captures
// ---------------------------------------------------------------------------

describe('on packets decoded from the repo captures', () => {
  it('healthy-ipv6: host and net compare bytes, whatever the spelling; CIDR edges /0, /64, /128', async () => {
    const frames = await capture('healthy-ipv6.pcap');
    const all = range(1, 10);
    const client = [1, 3, 4, 7, 8, 10];
    const server = [2, 5, 6, 9];
    for (const spelling of ['fd00:99::1', 'fd00:99:0:0::1', 'FD00:0099:0000:0000:0000:0000:0000:0001', 'fd00:99::0.0.0.1']) {
      expect(kept(`host ${spelling}`, frames)).toEqual(all);
      expect(kept(`src host ${spelling}`, frames)).toEqual(client);
      expect(kept(`dst ${spelling}`, frames)).toEqual(server);
    }
    expect(kept('host fd00:99::3', frames)).toEqual([]);
    expect(kept('src and dst host fd00:99::1', frames)).toEqual([]);
    expect(kept('net ::/0', frames)).toEqual(all);
    expect(kept('net fd00:99::/64', frames)).toEqual(all);
    expect(kept('src and dst net fd00:99::/64', frames)).toEqual(all);
    expect(kept('net fd00:98::/32', frames)).toEqual([]);
    expect(kept('net fd00::/16', frames)).toEqual(all);
    expect(kept('net fd00:99::1/128', frames)).toEqual(all);
    expect(kept('src net fd00:99::2/128', frames)).toEqual(server);
    expect(kept('net fd00:99::/128', frames)).toEqual([]);
    expect(kept('src net fd00:99::/127', frames)).toEqual(client);
    // An IPv4 network never holds an IPv6 packet, not even /0.
    expect(kept('net 0.0.0.0/0', frames)).toEqual([]);
    expect(kept('ip6', frames)).toEqual(all);
    expect(kept('ip', frames)).toEqual([]);
    expect(kept('tcp', frames)).toEqual(all);
    expect(kept('icmp6 or udp', frames)).toEqual([]);
    expect(kept('src port 39276', frames)).toEqual(client);
    expect(kept('tcp src port 7003', frames)).toEqual(server);
    expect(kept('portrange 7000-7005', frames)).toEqual(all);
    expect(kept('portrange 7004-39275', frames)).toEqual([]);
    expect(kept('src portrange 39276-65535', frames)).toEqual(client);
    expect(kept('udp port 7003 or sctp port 7003', frames)).toEqual([]);
  });

  it('icmp-unreachable: an ICMP error matches host/net by its outer addresses, icmp, never port or tcp', async () => {
    const frames = await capture('icmp-unreachable.pcap');
    const icmpErrors = range(9, 41, 2);
    const serverTcp = [2, 5, 6];
    const clientTcp = range(1, 40).filter((i) => !icmpErrors.includes(i) && !serverTcp.includes(i));
    const kinds = new Map<number, string>();
    forEachPacket(frames, (p, f) => kinds.set(f.index, p.kind));
    expect(icmpErrors.every((i) => kinds.get(i) === 'icmp-error')).toBe(true);

    expect(kept('icmp', frames)).toEqual(icmpErrors);
    expect(kept('not tcp', frames)).toEqual(icmpErrors);
    expect(kept('tcp', frames)).toEqual([...clientTcp, ...serverTcp].sort((a, b) => a - b));
    // The errors come from 10.99.0.2 to 10.99.0.1; the segment they quote went the other way.
    expect(kept('src host 10.99.0.2 and not tcp', frames)).toEqual(icmpErrors);
    expect(kept('src host 10.99.0.1', frames)).toEqual(clientTcp);
    expect(kept('dst host 10.99.0.1 and icmp', frames)).toEqual(icmpErrors);
    expect(kept('port 7018', frames)).toEqual(kept('tcp', frames));
    expect(kept('port 7018 or icmp', frames)).toEqual(range(1, 41));
    expect(kept('icmp and port 36676', frames)).toEqual([]);
    expect(kept('icmp6', frames)).toEqual([]);
    expect(kept('net 10.99.0.0/24 and not port 7018', frames)).toEqual(icmpErrors);
  });

  it('connection-refused: precedence, abbreviation and CIDR edges /0, /31, /32, on the SYN and its RST', async () => {
    const frames = await capture('connection-refused.pcap'); // 1: SYN 10.99.0.1:56537 > 10.99.0.2:7013, 2: RST back
    expect(frames.length).toBe(2);
    // Equal precedence: ((A or B) and port 1). Were "and" tighter, A alone would keep both.
    expect(kept('host 10.99.0.1 or host 10.99.0.9 and port 1', frames)).toEqual([]);
    expect(kept('port 1 and host 10.99.0.9 or host 10.99.0.1', frames)).toEqual([1, 2]);
    // not binds tightest: (not src A) and dst port 56537.
    expect(kept('not src host 10.99.0.1 and dst port 56537', frames)).toEqual([2]);
    expect(kept('not (src host 10.99.0.1 and dst port 56537)', frames)).toEqual([1, 2]);
    // Abbreviations repeat "dst port".
    expect(kept('dst port 7013 or 56537', frames)).toEqual([1, 2]);
    expect(kept('tcp dst port 7013 and 56537', frames)).toEqual([]);
    expect(kept('dst port 7013 and not 56537', frames)).toEqual([1]);
    expect(kept('port 7013 and not 56537', frames)).toEqual([]);
    expect(kept('src 10.99.0.1 or 10.99.0.2', frames)).toEqual([1, 2]);
    expect(kept('src 10.99.0.1 or 10.99.0.3', frames)).toEqual([1]);
    expect(kept('src and dst host 10.99.0.1', frames)).toEqual([]);
    expect(kept('src and dst net 10.99.0.0/24', frames)).toEqual([1, 2]);
    expect(kept('src and dst net 10.99.0.0/31', frames)).toEqual([]);
    expect(kept('net 10.99.0.0/31', frames)).toEqual([1, 2]);
    expect(kept('src net 10.99.0.0/31', frames)).toEqual([1]);
    expect(kept('net 10.99.0.2/32', frames)).toEqual([1, 2]);
    expect(kept('src net 10.99.0.2/32', frames)).toEqual([2]);
    expect(kept('net 10.99', frames)).toEqual([1, 2]);
    expect(kept('net 10.98', frames)).toEqual([]);
    expect(kept('net 10 and net 0.0.0.0/0', frames)).toEqual([1, 2]);
    expect(kept('net 10.99.0.0 mask 255.255.255.254', frames)).toEqual([1, 2]);
    expect(kept('dst net 10.99.0.2 mask 255.255.255.254', frames)).toEqual([1]);
    expect(kept('ip6 or net ::/0', frames)).toEqual([]);
    expect(kept('portrange 7013-56537', frames)).toEqual([1, 2]);
    expect(kept('src and dst portrange 7013-56537', frames)).toEqual([1, 2]);
    expect(kept('src and dst portrange 7014-56537', frames)).toEqual([]);
    expect(kept('src portrange 56536-56538 or 7012-7013', frames)).toEqual([1, 2]);
  });
});

// ---------------------------------------------------------------------------
// Synthetic packets
// ---------------------------------------------------------------------------

const C4 = '192.0.2.1';
const S4 = '198.51.100.2';
const R4 = '203.0.113.9';
const C6 = '2001:db8::1';
const S6 = '2001:db8:0:1::2';
const R6 = '2001:db8:ffff::1';

const udpHeader = (sport: number, dport: number, payload: Buffer = Buffer.from('abcd')): Buffer => cat(u16be(sport), u16be(dport), u16be(8 + payload.length), u16be(0), payload);
const sctpHeader = (sport: number, dport: number): Buffer => cat(u16be(sport), u16be(dport), u32be(0x01020304), u32be(0), Buffer.alloc(16));
const arpRequest = (sender: string, target: string): Buffer =>
  cat(u16be(1), u16be(0x0800), [6, 4], u16be(1), mac('02:00:00:00:00:01'), ip4(sender), Buffer.alloc(6), ip4(target));

const tcpSyn4 = ipv4({ src: C4, dst: S4, payload: tcp({ sport: 40000, dport: 80, flags: 'S' }) });
const tcpSyn6 = ipv6({ src: C6, dst: S6, payload: tcp({ sport: 40001, dport: 443, flags: 'S' }) });
const udp4 = ipv4({ src: C4, dst: S4, proto: PROTO.UDP, payload: udpHeader(5353, 53) });

/** Frames with the traffic the repo captures lack; filter and tcpdump agree on all of them. */
const MIXED: Array<{ what: string; frame: Buffer }> = [
  { what: 'TCP SYN v4', frame: ethernet(asV4(tcpSyn4)) },
  { what: 'TCP SYN-ACK v4', frame: ethernet(asV4(ipv4({ src: S4, dst: C4, payload: tcp({ sport: 80, dport: 40000, flags: 'SA' }) }))) },
  { what: 'UDP query v4', frame: ethernet(asV4(udp4)) },
  { what: 'UDP answer v4', frame: ethernet(asV4(ipv4({ src: S4, dst: C4, proto: PROTO.UDP, payload: udpHeader(53, 5353) }))) },
  { what: 'ICMP echo', frame: ethernet(asV4(ipv4({ src: C4, dst: S4, proto: PROTO.ICMP, payload: icmp4(8, 0, Buffer.alloc(8)) }))) },
  { what: 'ICMP port unreachable quoting UDP', frame: ethernet(asV4(ipv4({ src: S4, dst: C4, proto: PROTO.ICMP, payload: icmp4(3, 3, udp4.subarray(0, 28)) }))) },
  { what: 'ICMP host unreachable from a router quoting the SYN', frame: ethernet(asV4(ipv4({ src: R4, dst: C4, proto: PROTO.ICMP, payload: icmp4(3, 1, tcpSyn4.subarray(0, 28)) }))) },
  { what: 'UDP first fragment', frame: ethernet(asV4(ipv4({ src: C4, dst: S4, proto: PROTO.UDP, mf: true, payload: udpHeader(5353, 53, Buffer.alloc(64)) }))) },
  { what: 'SCTP v4', frame: ethernet(asV4(ipv4({ src: C4, dst: S4, proto: 132, payload: sctpHeader(9999, 38412) }))) },
  { what: 'UDP behind IPv4 options', frame: ethernet(asV4(ipv4({ src: C4, dst: R4, proto: PROTO.UDP, options: ipv4Opt.routerAlert(), payload: udpHeader(5354, 5355) }))) },
  { what: 'TCP SYN v6', frame: ethernet(asV6(tcpSyn6)) },
  { what: 'TCP SYN-ACK v6', frame: ethernet(asV6(ipv6({ src: S6, dst: C6, payload: tcp({ sport: 443, dport: 40001, flags: 'SA' }) }))) },
  { what: 'UDP v6', frame: ethernet(asV6(ipv6({ src: C6, dst: S6, nextHeader: 17, payload: udpHeader(5353, 53) }))) },
  { what: 'ICMPv6 echo', frame: ethernet(asV6(ipv6({ src: C6, dst: S6, nextHeader: PROTO.ICMPV6, payload: icmp6(128, 0, Buffer.alloc(8)) }))) },
  { what: 'ICMPv6 packet too big from a router', frame: ethernet(asV6(ipv6({ src: R6, dst: C6, nextHeader: PROTO.ICMPV6, payload: icmp6(2, 0, tcpSyn6.subarray(0, 48), { mtu: 1280 }) }))) },
];

/**
 * Frames on which decoded and raw matching differ by design, each with what both
 * sides do (checked against tcpdump below; the filter's doc comment lists them).
 */
const DIFFERENT: Array<{ what: string; frame: Buffer; capLen?: number; expr: string; ours: boolean; tcpdump: boolean }> = [
  { what: 'ARP request from C4', frame: ethernet(asType(ETHERTYPE.ARP, arpRequest(C4, S4))), expr: `host ${C4}`, ours: false, tcpdump: true },
  { what: 'TCP in an 802.1Q tag', frame: ethernet(vlan(7, asV4(tcpSyn4))), expr: 'tcp port 80', ours: true, tcpdump: false },
  {
    what: 'non-first fragment of a TCP segment',
    frame: ethernet(asV4(ipv4({ src: C4, dst: S4, fragOffset: 1480, payload: Buffer.alloc(40) }))),
    expr: 'tcp',
    ours: false,
    tcpdump: true,
  },
  {
    what: 'TCP after an IPv6 hop-by-hop header',
    frame: ethernet(asV6(ipv6({ src: C6, dst: S6, ext: [ext.hopByHop()], payload: tcp({ sport: 40001, dport: 443, flags: 'S' }) }))),
    expr: 'port 443',
    ours: true,
    tcpdump: false,
  },
  { what: 'TCP header cut after the ports', frame: ethernet(asV4(tcpSyn4), { pad: false }), capLen: 14 + 20 + 8, expr: 'port 80', ours: false, tcpdump: true },
  { what: 'UDP header cut inside the ports', frame: ethernet(asV4(udp4), { pad: false }), capLen: 14 + 20 + 2, expr: 'not port 53', ours: true, tcpdump: false },
];

/** Decode one synthetic Ethernet frame and test an expression on it. */
function matchesFrame(expr: string, frame: Buffer, capLen?: number): boolean {
  const { packet } = decodeOne(LINKTYPE.ETHERNET, frame, capLen === undefined ? {} : { capLen, origLen: frame.length });
  return parsePacketFilter(expr).matches(packet);
}

describe('on synthetic packets: UDP and SCTP ports, ICMP, fragments, and what has no IP header', () => {
  const n = (what: string): number => MIXED.findIndex((m) => m.what === what) + 1;
  const frames = (): ReadFrame[] =>
    MIXED.map((m, i) => ({ index: i + 1, sec: 0, nsec: 0, time: '', hasTime: true, linkType: LINKTYPE.ETHERNET, interfaceId: 0, fcsLen: -1, capLen: m.frame.length, origLen: m.frame.length, fileOffset: 0, comments: null, data: m.frame }));

  it('UDP and SCTP ports are read from the captured header; first fragments have them, ICMP errors never', () => {
    const f = frames();
    expect(kept('port 53', f)).toEqual([n('UDP query v4'), n('UDP answer v4'), n('UDP first fragment'), n('UDP v6')]);
    expect(kept('udp dst port 53', f)).toEqual([n('UDP query v4'), n('UDP first fragment'), n('UDP v6')]);
    expect(kept('tcp port 53 or sctp port 53', f)).toEqual([]);
    expect(kept('sctp', f)).toEqual([n('SCTP v4')]);
    expect(kept('sctp dst port 38412', f)).toEqual([n('SCTP v4')]);
    expect(kept('udp port 38412', f)).toEqual([]);
    expect(kept('port 5355', f)).toEqual([n('UDP behind IPv4 options')]);
    expect(kept('udp', f)).toEqual([n('UDP query v4'), n('UDP answer v4'), n('UDP first fragment'), n('UDP behind IPv4 options'), n('UDP v6')]);
  });

  it('icmp is ICMPv4 and icmp6 ICMPv6, errors or not; an error matches by its outer addresses', () => {
    const f = frames();
    expect(kept('icmp', f)).toEqual([n('ICMP echo'), n('ICMP port unreachable quoting UDP'), n('ICMP host unreachable from a router quoting the SYN')]);
    expect(kept('icmp6', f)).toEqual([n('ICMPv6 echo'), n('ICMPv6 packet too big from a router')]);
    expect(kept(`icmp and host ${S4}`, f)).toEqual([n('ICMP echo'), n('ICMP port unreachable quoting UDP')]);
    expect(kept(`host ${R6}`, f)).toEqual([n('ICMPv6 packet too big from a router')]);
    expect(kept(`host ${S6} and icmp6`, f)).toEqual([n('ICMPv6 echo')]);
  });

  it.each(DIFFERENT)('$what: "$expr" is $ours here (tcpdump: $tcpdump)', ({ frame, capLen, expr, ours }) => {
    expect(matchesFrame(expr, frame, capLen)).toBe(ours);
  });

  it('what the decoder left without an IP header matches no host, net, ip or ip6, and not ... is true', () => {
    const arp = ethernet(asType(ETHERTYPE.ARP, arpRequest(C4, S4)));
    for (const e of [`host ${C4}`, 'net 0.0.0.0/0', 'ip', 'ip6', 'port 80', 'tcp', 'udp']) expect(matchesFrame(e, arp)).toBe(false);
    expect(matchesFrame(`not host ${C4}`, arp)).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// The oracle: tcpdump
// ---------------------------------------------------------------------------

/** The first TCP segment of each IP version and the first UDP datagram: where the expressions come from. */
interface Seen {
  tcp4: Endpoints | null;
  tcp6: Endpoints | null;
  udp: { sport: number; dport: number } | null;
}

interface Endpoints {
  version: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
}

function seen(frames: readonly ReadFrame[]): Seen {
  const s: Seen = { tcp4: null, tcp6: null, udp: null };
  forEachPacket(frames, (p) => {
    if (p.kind === 'tcp') {
      const e: Endpoints = { version: p.ip.version, src: Uint8Array.from(p.ip.src), dst: Uint8Array.from(p.ip.dst), sport: p.tcp.srcPort, dport: p.tcp.dstPort };
      if (e.version === 4) s.tcp4 ??= e;
      else s.tcp6 ??= e;
    } else if (p.kind === 'other' && s.udp === null && p.ip !== null && p.ip.protocol === PROTO.UDP && !p.ip.laterFragment) {
      const at = p.ip.offset + p.ip.headerLength;
      const f = p.frame;
      if (at + 4 <= f.offset + f.capLen) s.udp = { sport: f.buf.readUInt16BE(at), dport: f.buf.readUInt16BE(at + 2) };
    }
  });
  return s;
}

/** An address with the bits past `bits` cleared, as "a/bits". */
function netOf(version: 4 | 6, a: Uint8Array, bits: number): string {
  const b = new Uint8Array(16);
  for (let i = 0; i < (version === 4 ? 4 : 16); i++) b[i] = a[i]! & ((0xff00 >> Math.max(0, Math.min(8, bits - 8 * i))) & 0xff);
  return `${formatIp(version, b)}/${bits}`;
}

/**
 * Expressions covering every primitive, direction, abbreviation and operator, made
 * from the addresses and ports in the capture so that they select something. The
 * core set is 12 per IP version seen and 3 more; `full` adds about as many again (each
 * expression is one tcpdump run).
 */
function expressionsFor(frames: readonly ReadFrame[], full: boolean): string[] {
  const s = seen(frames);
  const out: string[] = [];
  for (const t of [s.tcp4, s.tcp6]) {
    if (t === null) continue;
    const v4 = t.version === 4;
    const A = formatIp(t.version, t.src);
    const B = formatIp(t.version, t.dst);
    const { sport: SP, dport: DP } = t;
    const [narrow, wide] = v4 ? [24, 16] : [64, 48];
    // An address and a port the capture does not have, for abbreviations that keep a part.
    const X = v4 ? '203.0.113.254' : '2001:db8:ffff::fe';
    const lo = Math.max(0, DP - 5);
    const hi = Math.min(65535, DP + 5);
    out.push(
      `host ${A}`,
      `dst ${A}`,
      `src host ${A} or ${X}`,
      `net ${netOf(t.version, t.src, narrow)}`,
      `src and dst net ${netOf(t.version, t.src, wide)}`,
      `port ${DP}`,
      `src port ${SP} or ${DP}`,
      `tcp dst port ${DP} or 1`,
      `src portrange ${lo}-${hi}`,
      // Left to right: (host A or port 1) and src host A. Were "and" tighter, all of A's frames.
      `host ${A} or port 1 and src host ${A}`,
      `not (src host ${A} and dst port ${DP})`,
      `!tcp || icmp && host ${A}`,
    );
    if (full) {
      out.push(
        `src host ${A}`,
        `host ${A} and host ${B}`,
        `host ${A} or ${B}`,
        `src net ${netOf(t.version, t.dst, wide)}`,
        `net ${netOf(t.version, t.src, v4 ? 32 : 128)}`,
        `dst net ${v4 ? '0.0.0.0/0' : '::/0'}`,
        `${v4 ? 'ip' : 'ip6'} host ${B}`,
        `dst port ${DP}`,
        `tcp dst port ${DP} or ${SP}`,
        `portrange ${lo}-${hi}`,
        `port ${DP} and not ${SP}`,
        `port ${DP} or host ${B} and tcp`,
        `host ${A} and (port ${DP} or port ${SP})`,
        `not src ${A} and dst port ${SP} or ${DP}`,
      );
    }
  }
  out.push('tcp', 'icmp', 'ip6 or udp');
  if (full) {
    out.push('not tcp', 'icmp6', 'udp', 'ip', 'ip and not tcp');
    if (s.udp !== null) out.push(`udp port ${s.udp.dport}`, `src port ${s.udp.sport} or ${s.udp.dport}`, `udp and not port ${s.udp.dport}`);
    if (s.tcp4 !== null && s.tcp6 !== null) {
      out.push(`host ${formatIp(4, s.tcp4.src)} or ${formatIp(6, s.tcp6.src)}`, `net ${netOf(4, s.tcp4.dst, 24)} or ${netOf(6, s.tcp6.dst, 64)}`);
    }
  }
  return [...new Set(out)];
}

let outputs = 0;

/** The frames `tcpdump -r file -w out expr` writes, read back with our reader. */
function tcpdumpKeeps(file: string, expr: string): Promise<ReadFrame[]> {
  const out = join(tmp.path, `kept-${outputs++}.pcap`);
  return new Promise((resolve, reject) => {
    // Nanosecond precision keeps the timestamps of nanosecond inputs exact in the output.
    execFile(TCPDUMP, ['-r', file, '--time-stamp-precision=nano', '-w', out, expr], (_err, _stdout, stderr) => {
      // tcpdump compiles the filter before it opens the output: no file means it refused
      // the filter, or its optimiser proved that nothing passes. (A damaged input exits
      // non-zero after writing what it read, which is what we read too.)
      if (!existsSync(out)) {
        if (stderr.includes('expression rejects all packets')) resolve([]);
        else reject(new Error(`tcpdump refused "${expr}" on ${file}: ${stderr.trim()}`));
        return;
      }
      readAll(out).then((r) => {
        rmSync(out);
        resolve(r.frames);
      }, reject);
    });
  });
}

/** Run the tasks, `width` at a time. */
async function pool<T>(tasks: Array<() => Promise<T>>, width: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

interface Verdict {
  expr: string;
  ours: number[];
  tcpdump: number[];
}

/**
 * Map tcpdump's output frames onto the input's frame numbers, in order, by time,
 * captured length and bytes: frames with the same time and length (busy-server has
 * pairs in one microsecond) are told apart by their bytes; frames alike in all of
 * these are the same to either filter.
 */
function numbersOf(out: readonly ReadFrame[], frames: readonly ReadFrame[]): number[] {
  const numbers: number[] = [];
  let j = 0;
  const same = (a: ReadFrame, b: ReadFrame): boolean => a.sec === b.sec && a.nsec === b.nsec && a.capLen === b.capLen && a.data.equals(b.data);
  for (const k of out) {
    while (j < frames.length && !same(frames[j]!, k)) j++;
    numbers.push(j < frames.length ? frames[j]!.index : -1);
    j++;
  }
  return numbers;
}

async function againstTcpdump(file: string, frames: readonly ReadFrame[], exprs: readonly string[]): Promise<Verdict[]> {
  const filters = exprs.map((e) => parsePacketFilter(e));
  const ours = exprs.map((): number[] => []);
  forEachPacket(frames, (p, f) => {
    for (let i = 0; i < filters.length; i++) if (filters[i]!.matches(p)) ours[i]!.push(f.index);
  });
  const theirs = await pool(
    exprs.map((e) => () => tcpdumpKeeps(file, e)),
    4,
  );
  return exprs.map((expr, i) => ({ expr, ours: ours[i]!, tcpdump: numbersOf(theirs[i]!, frames) }));
}

const disagreements = (file: string, verdicts: readonly Verdict[]): string[] =>
  verdicts
    .filter((v) => v.ours.join() !== v.tcpdump.join())
    .map((v) => {
      const onlyOurs = v.ours.filter((i) => !v.tcpdump.includes(i));
      const onlyTcpdump = v.tcpdump.filter((i) => !v.ours.includes(i));
      return `${file} "${v.expr}": only we keep frames [${onlyOurs.slice(0, 10).join(',')}], only tcpdump keeps [${onlyTcpdump.slice(0, 10).join(',')}]`;
    });

const NO_TCPDUMP = HAVE_TCPDUMP ? '' : ` (skipped: ${TCPDUMP} is missing)`;
const NO_CORPUS = HAVE_CORPUS ? '' : ` (skipped: ${CORPUS} is absent)`;

/**
 * Compare the expressions on every file and expect no disagreement. Each file must
 * have expressions that keep something; across the files, many must keep some frames
 * but not all (a capture of one direction cannot have many such).
 */
async function expectAgreement(files: readonly string[], full: (file: string) => boolean, extra: (frames: readonly ReadFrame[]) => string[] = () => []): Promise<Map<string, Verdict[]>> {
  const all = new Map<string, Verdict[]>();
  const bad: string[] = [];
  let compared = 0;
  let selective = 0;
  for (const file of files) {
    const frames = await load(file);
    const exprs = [...expressionsFor(frames, full(file)), ...extra(frames)];
    expect(exprs.length, file).toBeGreaterThanOrEqual(12);
    const verdicts = await againstTcpdump(file, frames, exprs);
    bad.push(...disagreements(file, verdicts));
    expect(verdicts.filter((v) => v.ours.length > 0).length, `${file}: expressions that keep something`).toBeGreaterThanOrEqual(5);
    compared += verdicts.length;
    selective += verdicts.filter((v) => v.ours.length > 0 && v.ours.length < frames.length).length;
    all.set(file, verdicts);
  }
  expect(bad).toEqual([]);
  expect(selective, `of ${compared} comparisons, those keeping some frames but not all`).toBeGreaterThanOrEqual(compared / 4);
  return all;
}

describe.skipIf(!HAVE_TCPDUMP)(`the frames kept are exactly those tcpdump -w keeps${NO_TCPDUMP}`, () => {
  it('every capture in captures/ (IPv4, IPv6, ICMP errors)', async () => {
    const files = readdirSync(CAPTURES)
      .filter((f) => f.endsWith('.pcap'))
      .sort()
      .map((f) => join(CAPTURES, f));
    expect(files.length).toBeGreaterThanOrEqual(30);
    // The full set on the ones with IPv6, ICMP errors, a refusal and many connections.
    const FULL = ['healthy-ipv6.pcap', 'icmp-unreachable.pcap', 'connection-refused.pcap', 'busy-server.pcap'];
    const verdicts = await expectAgreement(files, (f) => FULL.some((name) => f.endsWith(`/${name}`)));
    // The ICMP errors were compared: icmp kept something somewhere.
    expect([...verdicts.values()].some((vs) => vs.some((v) => v.expr === 'icmp' && v.ours.length > 0))).toBe(true);
  });

  it('synthetic UDP, SCTP, ICMP/ICMPv6 echoes and errors, a first fragment, IPv4 options', async () => {
    const records: PcapRecordSpec[] = MIXED.map((m, i) => ({ data: m.frame, sec: 1700000000 + i }));
    const file = tmp.write('mixed.pcap', pcapFile(records));
    await expectAgreement([file], () => true, () => [
      `host ${S4}`,
      `host ${R4}`,
      `icmp and src ${R4}`,
      `host ${R6} or ${C6}`,
      'sctp',
      'sctp port 38412',
      'port 9999',
      'udp port 53 and ip6',
      'portrange 50-60',
      'port 5354 or 5355',
      'net 2001:db8::/32 and not tcp',
      'net 2001:db8:ffff::/48 or 2001:db8:0:1::/64',
      `src host ${S4} and icmp`,
      `port 53 and src host ${C4}`,
      `dst port 53 or 80 or 443`,
    ]);
  });

  it('the documented differences are real: tcpdump decides each of them as stated', async () => {
    const records: PcapRecordSpec[] = DIFFERENT.map((d, i) => ({ data: d.capLen === undefined ? d.frame : d.frame.subarray(0, d.capLen), origLen: d.frame.length, sec: 1700000000 + i }));
    const file = tmp.write('different.pcap', pcapFile(records));
    const frames = await load(file);
    const exprs = [...new Set(DIFFERENT.map((d) => d.expr))];
    const verdicts = new Map((await againstTcpdump(file, frames, exprs)).map((v) => [v.expr, v]));
    DIFFERENT.forEach((d, i) => {
      const v = verdicts.get(d.expr)!;
      expect({ what: d.what, ours: v.ours.includes(i + 1), tcpdump: v.tcpdump.includes(i + 1) }).toEqual({ what: d.what, ours: d.ours, tcpdump: d.tcpdump });
    });
  });
});

/**
 * Corpus captures compared with tcpdump: Ethernet, Linux SLL and SLL2, BSD NULL, raw
 * IP and LINKTYPE_IPV4, pcap (micro- and nanosecond) and pcapng, with TCP and no
 * VLAN tags, MPLS, PPPoE, ARP or IP tunnels.
 */
const CORPUS_FILES = [
  'zeek/smtp.pcap', // Ethernet: TCP, DNS over UDP, ICMP
  'zeek/ssh/ssh.pcap', // 1797 frames, 23 connections, a little UDP
  'zeek/ftp/ipv6.pcap', // IPv6
  'zeek/pop3/pop3.pcap', // refused connections
  'zeek/http/connect-with-header.pcap', // BSD NULL, IPv6
  'zeek/tcp/timeout-with-pings.pcap', // LINKTYPE_IPV4 with ICMP echoes
  'zeek/tcp/truncated-header.pcap', // snaplen 68: TCP options cut
  'zeek/tls/openjdk-25.0.2-zeek.org.pcap', // Linux SLL2
  'zeek/mysql/caching_sha2_password-after-auth-switch.pcapng', // pcapng, nanosecond resolution
  'tcpdump/resp_1_benchmark.pcap', // Linux SLL, 15 connections
  'tcpdump/tcp-handshake-nano.pcap', // nanosecond pcap
  'tcpdump/kday4.pcap', // snaplen 511
  'tcpdump/of13_ericsson.pcapng', // pcapng, 21 connections
  'suricata-verify/tcp-empty-sack/tcp-opt.pcap', // LINKTYPE_RAW
];

type FrameClass = 'link-shim' | 'arp' | 'ipv6-extension-header' | 'later-fragment' | 'bad-ip-header';

/**
 * Corpus captures left out of the comparison because decoded and raw matching differ
 * there by design; each is still run, and every frame on which we and tcpdump
 * disagree must be of the class given. The other corpus captures that disagree fall
 * in the same classes: link-shim (the suricata-verify captures with 802.1Q tags,
 * zeek's vlan-*, http-vlan-0, krb/optional-service-name, mixed-vlan-mpls,
 * mpls-in-vlan, pppoe-over-qinq, cisco-fabric-path, tunnels/gre-aruba-amsdu,
 * tcpdump/ipv4_tcp_http_xml and ldp-common-session), ARP (zeek/http/cooper-grill-dvwa,
 * tcpdump/mptcp-fclose, suricata-verify's urgent11 capture) and an IPv6 hop-by-hop
 * header (tcpdump/bigtcp-ipv6-hbh). tcpdump/timestamp_invalid_micro is left out too:
 * libpcap and our reader carry its out-of-range microseconds over differently, so its
 * frames cannot be matched by time (nothing to do with filtering).
 */
const EXCLUDED: Array<{ file: string; cls: FrameClass; why: string }> = [
  {
    file: 'suricata-verify/bug-814/input.pcap',
    cls: 'link-shim',
    why: 'every frame has an 802.1Q tag: libpcap reads the EtherType at byte 12 unless the filter says vlan; the decoder removed the tag',
  },
  { file: 'zeek/pbb.pcap', cls: 'link-shim', why: '802.1ah PBB: libpcap sees EtherType 0x88e7, the decoder the customer frame inside' },
  {
    file: 'zeek/wikipedia.pcap',
    cls: 'arp',
    why: "ARP: libpcap's host/net without ip also test ARP sender and target addresses; ARP has no decoded IP header",
  },
  {
    file: 'zeek/ipv6-http-atomic-frag.pcap',
    cls: 'ipv6-extension-header',
    why: "fragment, destination-options and hop-by-hop headers before TCP: libpcap's port tests read only the fixed header's next header, its tcp one fragment header further",
  },
  {
    file: 'zeek/ipv4/fragmented-4.pcap',
    cls: 'later-fragment',
    why: "non-first fragments of TCP: libpcap's tcp is IP protocol 6 and takes them, the decoder does not make them TCP",
  },
  {
    file: 'tcpdump/kday3.pcap',
    cls: 'bad-ip-header',
    why: 'an IPv4 EtherType with a header saying version 6: libpcap does not look at the version, the decoder rejects the header',
  },
];

const LINK_SHIMS = new Set([0x8100, 0x88a8, 0x9100, 0x9200, 0x8847, 0x8848, 0x8864, 0x88e7, 0x8903, 0x8926]);

/** The EtherType of an Ethernet or Linux cooked frame, -1 for other link types. */
function etherTypeOf(f: ReadFrame): number {
  if (f.linkType === LINKTYPE.ETHERNET && f.capLen >= 14) return f.data.readUInt16BE(12);
  if (f.linkType === LINKTYPE.LINUX_SLL && f.capLen >= 16) return f.data.readUInt16BE(14);
  if (f.linkType === LINKTYPE.LINUX_SLL2 && f.capLen >= 2) return f.data.readUInt16BE(0);
  return -1;
}

function frameClasses(frames: readonly ReadFrame[]): Map<number, FrameClass | null> {
  const classes = new Map<number, FrameClass | null>();
  forEachPacket(frames, (p, f) => {
    const type = etherTypeOf(f);
    let c: FrameClass | null = null;
    // A shim matters only when the decoder found IP behind it.
    if ((LINK_SHIMS.has(type) || (type >= 0 && type <= 1500)) && p.ip !== null) c = 'link-shim';
    else if (type === ETHERTYPE.ARP) c = 'arp';
    else if (p.ip === null && p.kind === 'other' && p.reason === 'malformed') c = 'bad-ip-header';
    else if (p.ip !== null && p.ip.laterFragment) c = 'later-fragment';
    else if (p.ip !== null && p.ip.version === 6 && p.ip.headerLength > 40) c = 'ipv6-extension-header';
    classes.set(f.index, c);
  });
  return classes;
}

describe.skipIf(!HAVE_TCPDUMP || !HAVE_CORPUS)(`corpus captures against tcpdump${NO_TCPDUMP}${NO_CORPUS}`, () => {
  it('the chosen captures are in the MANIFEST, with TCP, not fuzzed, without link-layer shims or ARP', async () => {
    const rows = new Map((await manifest()).map((r) => [r.file, r]));
    for (const file of CORPUS_FILES) {
      const row = rows.get(file);
      expect(row, file).toBeDefined();
      expect(row!.tcpConversations, file).toBeGreaterThan(0);
      expect(row!.notes, file).not.toMatch(/fuzz|damaged/);
      const classes = frameClasses(await load(join(CORPUS, file)));
      expect([...classes.values()].filter((c) => c === 'link-shim' || c === 'arp'), file).toEqual([]);
    }
  });

  it(`${CORPUS_FILES.length} captures: every frame kept by one is kept by the other`, async () => {
    // The full set where there is more than IPv4 TCP: UDP, ICMP, IPv6.
    const FULL = ['zeek/smtp.pcap', 'zeek/ssh/ssh.pcap', 'zeek/ftp/ipv6.pcap', 'zeek/http/connect-with-header.pcap', 'zeek/tcp/timeout-with-pings.pcap'];
    await expectAgreement(
      CORPUS_FILES.map((f) => join(CORPUS, f)),
      (path) => FULL.some((f) => path.endsWith(f)),
    );
  });

  it.each(EXCLUDED)('left out, $file: the only disagreements are $cls frames', async ({ file, cls }) => {
    const path = join(CORPUS, file);
    const frames = await load(path);
    const verdicts = await againstTcpdump(path, frames, expressionsFor(frames, false));
    const classes = frameClasses(frames);
    const differing = new Set<number>();
    for (const v of verdicts) {
      for (const i of v.ours) if (!v.tcpdump.includes(i)) differing.add(i);
      for (const i of v.tcpdump) if (!v.ours.includes(i)) differing.add(i);
    }
    // Still a reason to leave the capture out, and nothing else disagrees.
    expect(differing.size).toBeGreaterThan(0);
    expect([...differing].filter((i) => classes.get(i) !== cls)).toEqual([]);
  });
});
