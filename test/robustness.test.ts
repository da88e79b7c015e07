/**
 * Issue 7: every hostile input gets a clear error; nothing crashes, hangs or balloons.
 *
 * - the fuzzer's regression recipes (test/fixtures/fuzz/*.json: a source capture and
 *   the edits that damage it, re-made at test time) give their expected outcome;
 * - tcpdump's own fuzzer reproducers in the corpus are read fully, with the damage counted;
 * - every decoder, over every cut and thousands of mutations of real-looking frames,
 *   never throws and never reads a byte outside the captured ones;
 * - the hostile headers one by one (IHL < 5, data offset < 5, options overrunning,
 *   zero-length options, IPv6 chains, ICMP quoting garbage, pcapng options overrunning);
 * - damage is reported: a located line per damaged packet, counts in the table and the
 *   JSON, and --strict makes it fatal;
 * - the reports survive binary and huge comments, non-UTF-8 names and 200,000 findings.
 */
import { spawn } from 'node:child_process';
import { createReadStream, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { Frame } from '../src/capture/frame.js';
import { Decoder } from '../src/decode/decoder.js';
import { isSupportedLinkType } from '../src/decode/linktypes.js';
import type { Packet } from '../src/decode/packet.js';
import { loadSource, materialize, parseRecipe } from '../src/fuzz/engine.js';
import { Rng } from '../src/fuzz/rng.js';
import { runInput, type OutcomeSummary } from '../src/fuzz/run-one.js';
import { displayWidth } from '../src/report/text-width.js';
import { renderJson } from '../src/report/json.js';
import { renderTable, wrap, wrapWords } from '../src/report/table.js';
import { cat, pattern, u16be } from './helpers/bytes.js';
import { NH, PROTO, ext, icmp4, icmp6, ipv4, ipv4Opt, ipv6, tcp, tcpOpt } from './helpers/ip-packets.js';
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
} from './helpers/link-layers.js';
import { BulkPcap, pcapFile, type PcapRecordSpec } from './helpers/pcap.js';
import { OPT, Pcapng } from './helpers/pcapng.js';
import { readAll } from './helpers/read-back.js';
import { run } from './helpers/cli.js';
import { CORPUS, HAVE_CORPUS, REPO, manifest } from './helpers/env.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-robust-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------
// The fuzzer's regression recipes
// ---------------------------------------------------------------------------

describe('regression recipes (test/fixtures/fuzz): each re-made input gives its expected outcome', () => {
  const fx = join(REPO, 'test', 'fixtures', 'fuzz');
  const files = readdirSync(fx).filter((f) => f.endsWith('.json')).sort();
  it('there are recipes, from captures/ and from the corpus', () => {
    const roots = files.map((f) => parseRecipe(JSON.parse(readFileSync(join(fx, f), 'utf8'))).source.root);
    expect(roots).toContain('captures');
    expect(roots).toContain('corpus');
  });
  it.for(files)('%s', async (f, ctx) => {
    const raw = JSON.parse(readFileSync(join(fx, f), 'utf8')) as { expect?: OutcomeSummary };
    const recipe = parseRecipe(raw);
    if (recipe.source.root === 'corpus' && !HAVE_CORPUS) return ctx.skip('no ../shared/corpus: nothing to re-make this from');
    const input = materialize(loadSource(recipe.source).bytes, recipe.edits);
    const o = await runInput(input, join(dir, `recipe-${f}`), recipe.via ?? 'file');
    expect(o.failure, `${f}: ${o.failure?.message}\n${o.failure?.stack ?? ''}`).toBeNull();
    expect(raw.expect, `${f} has no "expect" (npm run fuzz -- --replay ${f} --write-expect)`).toBeDefined();
    expect(o.summary).toEqual(raw.expect);
  });
});

// ---------------------------------------------------------------------------
// tcpdump's fuzzer reproducers in the corpus
// ---------------------------------------------------------------------------

/** What each reproducer holds, checked against tshark's view where it has one (expert info). */
const REPRODUCERS: Record<string, { tcp: number; damaged?: number; firstDamage?: RegExp; truncated?: number; ipLengthExceedsFrame?: number; malformed?: Record<string, number>; icmpErrors?: number; unsupported?: number }> = {
  '802_15_4-oobr-1.pcap': { tcp: 0, unsupported: 1 },
  'babel_update_oobr.pcap': { tcp: 2 },
  // tshark: "Bogus IPv6 version" (malformed).
  'beep-oobr.pcap': { tcp: 1, damaged: 1, firstDamage: /IPv6 header with a version other than 6/, malformed: { 'IPv6 header with a version other than 6': 1 } },
  'bgp-as-path-oobr.pcap': { tcp: 4 },
  'bgp-infinite-loop.pcap': { tcp: 5 },
  'heapoverflow-tcp_print.pcap': { tcp: 1 },
  'hoobr_nfs_printfh.pcap': { tcp: 1 },
  // tshark: "IPv4 total length exceeds packet length".
  'icmp-cksum-oobr-3.pcapng': { tcp: 0, icmpErrors: 1, damaged: 1, ipLengthExceedsFrame: 1, firstDamage: /IP length claims more bytes than the frame held/ },
  'icmp-cksum-oobr-4.pcapng': { tcp: 0, icmpErrors: 1, damaged: 1, ipLengthExceedsFrame: 1, firstDamage: /IP length claims more bytes than the frame held/ },
  'isis-seg-fault-1.pcapng': { tcp: 0 },
  'isis-seg-fault-2.pcapng': { tcp: 0 },
  'isis-seg-fault-3.pcapng': { tcp: 0 },
  'mptcp-dss-oobr.pcap': { tcp: 1 },
  'nfs-seg-fault-1.pcapng': { tcp: 1 },
  'ospf2-seg-fault-1.pcapng': { tcp: 0 },
  'resp_4_infiniteloop.pcapng': { tcp: 1 },
  // tshark: "IPv4 total length exceeds packet length (50 bytes)".
  'rpki-rtr-oobr.pcap': { tcp: 1, damaged: 1, ipLengthExceedsFrame: 1, firstDamage: /IP length claims more bytes than the frame held/ },
  'rsvp-inf-loop-2.pcapng': { tcp: 0 },
  'rtp-seg-fault-1.pcapng': { tcp: 0 },
  'rtp-seg-fault-2.pcapng': { tcp: 0 },
  'smb_data_print-oobr.pcapng': { tcp: 4 },
  'smb_data_print-segv.pcap': { tcp: 4 },
  // Its TCP-AO option is cut by the 64-byte snaplen: cut, not damaged.
  'tcp-auth-heapoverflow.pcap': { tcp: 1 },
  // The 46-byte snaplen ends the frame inside the TCP header.
  'tcp_header_heapoverflow.pcap': { tcp: 0, damaged: 1, truncated: 1, firstDamage: /TCP header cut short by the capture/ },
  'telnet-iac-check-oobr.pcap': { tcp: 1 },
  'time_2106_overflow.pcapng': { tcp: 0 },
  'tok2str-oobr-1.pcap': { tcp: 1 },
  'udld-inf-loop-1.pcapng': { tcp: 0 },
  'zmtp1-inf-loop-1.pcapng': { tcp: 1 },
};

const rows = HAVE_CORPUS ? (await manifest()).filter((r) => r.notes.includes('fuzzed')) : [];

describe.skipIf(!HAVE_CORPUS)(`tcpdump fuzzer reproducers in the corpus${HAVE_CORPUS ? '' : ' (skipped: no ../shared/corpus)'}`, () => {
  it('every "fuzzed" MANIFEST row has an expectation here', () => {
    expect(rows.map((r) => r.file.replace(/^tcpdump\//, '')).sort()).toEqual(Object.keys(REPRODUCERS).sort());
  });

  it.each(rows.map((r) => [r.file, r.packets] as const))('%s: read fully, tshark\'s %i packets, damage counted, reports valid', async (file, packets) => {
    const want = REPRODUCERS[file.replace(/^tcpdump\//, '')]!;
    const started = performance.now();
    const r = await analyzeCaptures([join(CORPUS, file)]);
    const c = r.captures[0]!;
    const d = c.decode;
    expect(c.errors).toEqual([]);
    expect(c.packets).toBe(packets);
    expect(d.tcp).toBe(want.tcp);
    expect(d.damagedPackets).toBe(want.damaged ?? 0);
    expect(d.truncated).toBe(want.truncated ?? 0);
    expect(d.ipLengthExceedsFrame).toBe(want.ipLengthExceedsFrame ?? 0);
    expect(Object.fromEntries(d.malformed)).toEqual(want.malformed ?? {});
    expect(d.icmpErrors).toBe(want.icmpErrors ?? 0);
    expect([...d.unsupportedLinkTypes.values()].reduce((a, b) => a + b, 0)).toBe(want.unsupported ?? 0);
    if (want.firstDamage) {
      expect(d.firstDamage).toMatch(want.firstDamage);
      expect(d.firstDamagedFrame).toBeGreaterThan(0);
      // The damage is a located warning too: one per damaged packet.
      expect(c.warnings.map((w) => w.message)).toEqual([d.firstDamage]);
      expect(c.warnings[0]!.packet).toBe(d.firstDamagedFrame);
    }
    const json = JSON.parse(renderJson(r)) as { captures: Array<{ decode: { damagedPackets: number } }> };
    expect(json.captures[0]!.decode.damagedPackets).toBe(want.damaged ?? 0);
    expect(renderTable(r)).toContain(`${packets} packets`);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

// ---------------------------------------------------------------------------
// Decoders: never a throw, never a byte outside the captured ones
// ---------------------------------------------------------------------------

const LEAD = 5;

/**
 * Decode `data` cut to `capLen` (wire length `origLen`) from a buffer whose every byte
 * read is checked: any index outside the captured bytes is recorded.
 */
function guardedDecode(decoder: Decoder, linkType: number, data: Buffer, capLen: number, origLen: number): { packet: Packet; outside: number[] } {
  const backing = Buffer.alloc(LEAD + capLen + 32, 0xee);
  data.copy(backing, LEAD, 0, capLen);
  const lo = LEAD;
  const hi = LEAD + capLen;
  const outside: number[] = [];
  const check = (i: number): void => {
    if (!(i >= lo && i < hi)) outside.push(i);
  };
  const guarded = new Proxy(backing, {
    get(target, prop) {
      if (typeof prop === 'string' && /^(-?\d+|NaN|Infinity|-Infinity)$/.test(prop)) {
        check(Number(prop));
        return target[Number(prop)];
      }
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]): unknown => {
        if (prop === 'copy') {
          const start = (args[2] as number | undefined) ?? 0;
          const end = (args[3] as number | undefined) ?? target.length;
          if (end > start) {
            check(start);
            check(end - 1);
          }
        } else if (prop !== 'toString' || args.length > 1) {
          // Any other access to the bytes through a method is checked by its range, when it has one.
          if (typeof args[1] === 'number') check(args[1]);
          if (typeof args[2] === 'number' && (args[2] as number) > 0) check((args[2] as number) - 1);
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const f = new Frame();
  f.index = 1;
  f.sec = 1_700_000_000;
  f.linkType = linkType;
  f.buf = guarded;
  f.offset = LEAD;
  f.capLen = capLen;
  f.origLen = origLen;
  return { packet: decoder.decode(f), outside };
}

const SEG = tcp({ sport: 40000, dport: 443, seq: 1, ack: 2, flags: 'PA', options: [tcpOpt.nop(), tcpOpt.nop(), tcpOpt.timestamps(1, 2), tcpOpt.sack([[5, 9]])], payload: 24 });
const V4 = ipv4({ options: ipv4Opt.routerAlert(), payload: SEG });
const V6 = ipv6({ ext: [ext.hopByHop(), ext.routing(), ext.destOpts(), ext.ah()], payload: SEG });
const QUOTE4 = ipv4({ payload: tcp({ flags: 'S' }) }).subarray(0, 28);
const ICMP4 = ipv4({ proto: PROTO.ICMP, payload: icmp4(3, 3, QUOTE4) });
const ICMP6 = ipv6({ nextHeader: NH.ICMPV6, payload: icmp6(1, 4, ipv6({ ext: [ext.destOpts()], payload: tcp({ flags: 'S' }) })) });

/** Real-looking frames of every link layer we decode, each carrying TCP or an ICMP error. */
const FRAMES: Array<{ name: string; linkType: number; data: Buffer; kind: Packet['kind'] }> = [
  { name: 'Ethernet IPv4 options', linkType: LINKTYPE.ETHERNET, data: ethernet(asV4(V4)), kind: 'tcp' },
  { name: 'Ethernet QinQ IPv6 extension headers', linkType: LINKTYPE.ETHERNET, data: ethernet(qinq(10, 20, asV6(V6))), kind: 'tcp' },
  { name: 'Ethernet VLAN ICMPv4 error', linkType: LINKTYPE.ETHERNET, data: ethernet(vlan(7, asV4(ICMP4))), kind: 'icmp-error' },
  { name: 'Ethernet ICMPv6 error', linkType: LINKTYPE.ETHERNET, data: ethernet(asV6(ICMP6)), kind: 'icmp-error' },
  { name: 'Ethernet PPPoE', linkType: LINKTYPE.ETHERNET, data: ethernet(pppoe(asV4(V4))), kind: 'tcp' },
  { name: 'Ethernet MPLS', linkType: LINKTYPE.ETHERNET, data: ethernet(mpls([16, 17], V6)), kind: 'tcp' },
  { name: 'Ethernet MPLS pseudowire', linkType: LINKTYPE.ETHERNET, data: ethernet(mplsPw([20], ethernet(asV4(V4)))), kind: 'tcp' },
  { name: 'Ethernet 802.2 SNAP', linkType: LINKTYPE.ETHERNET, data: ethernet(llcSnap(asV4(V4))), kind: 'tcp' },
  { name: 'SLL', linkType: LINKTYPE.LINUX_SLL, data: sll(asV4(V4)), kind: 'tcp' },
  { name: 'SLL2', linkType: LINKTYPE.LINUX_SLL2, data: sll2(asV6(V6)), kind: 'tcp' },
  { name: 'NULL', linkType: LINKTYPE.NULL, data: nullLink(AF.INET, V4), kind: 'tcp' },
  { name: 'LOOP', linkType: LINKTYPE.LOOP, data: loopLink(AF.INET6_BSD, V6), kind: 'tcp' },
  { name: 'PPP', linkType: LINKTYPE.PPP, data: ppp(asV4(V4)), kind: 'tcp' },
  { name: 'Cisco HDLC', linkType: LINKTYPE.C_HDLC, data: cHdlc(asV6(V6)), kind: 'tcp' },
  { name: 'NFLOG', linkType: LINKTYPE.NFLOG, data: nflog(AF.INET, V4), kind: 'tcp' },
  { name: 'RAW', linkType: LINKTYPE.RAW, data: V6, kind: 'tcp' },
  { name: 'IPV4', linkType: LINKTYPE.IPV4, data: ICMP4, kind: 'icmp-error' },
  { name: 'IPV6', linkType: LINKTYPE.IPV6, data: V6, kind: 'tcp' },
];

function describePacket(p: Packet): string {
  return p.kind === 'other' ? `other (${p.reason}${p.detail ? `: ${p.detail}` : ''})` : p.kind;
}

describe('decoders never throw and never read outside the captured bytes', () => {
  it.each(FRAMES.map((f) => [f.name, f] as const))('%s: whole, it decodes; cut anywhere by the capture, it is cut (never malformed)', (_name, f) => {
    const decoder = new Decoder();
    const whole = guardedDecode(decoder, f.linkType, f.data, f.data.length, f.data.length);
    expect(describePacket(whole.packet)).toBe(f.kind);
    expect(whole.outside).toEqual([]);
    for (let k = 0; k < f.data.length; k++) {
      const { packet, outside } = guardedDecode(decoder, f.linkType, f.data, k, f.data.length);
      expect(outside, `cut at ${k}: read outside`).toEqual([]);
      expect(packet.kind === 'other' && packet.reason === 'malformed', `cut at ${k}: ${describePacket(packet)}`).toBe(false);
      // The frame really ending there (no snaplen) may be malformed, but reads nothing beyond it either.
      expect(guardedDecode(decoder, f.linkType, f.data, k, k).outside, `ended at ${k}`).toEqual([]);
    }
    expect(decoder.stats.damagedPackets).toBeGreaterThan(0);
  });

  it.each(FRAMES.map((f) => [f.name, f] as const))('%s: 500 random mutations, each counted as damaged exactly when it is', (_name, f) => {
    const rng = new Rng(f.data.length * 7919 + f.linkType);
    const decoder = new Decoder();
    let damaged = 0;
    decoder.onDamage = () => damaged++;
    for (let i = 0; i < 500; i++) {
      const m = Buffer.from(f.data);
      for (let j = rng.range(1, 6); j > 0; j--) {
        const at = rng.int(m.length);
        m[at] = rng.chance(0.5) ? m[at]! ^ (1 << rng.int(8)) : rng.pick([0, 0xff, 0x45, 0x60, 0x0f, 0xf0, 0x81, rng.int(256)]);
      }
      const capLen = rng.chance(0.3) ? rng.int(m.length + 1) : m.length;
      const origLen = rng.chance(0.3) ? capLen + rng.int(2000) : rng.chance(0.1) ? rng.int(capLen + 1) : Math.max(capLen, m.length);
      const before = decoder.stats.damagedPackets;
      const { packet, outside } = guardedDecode(decoder, f.linkType, m, capLen, origLen);
      expect(outside, `mutation ${i}: read outside`).toEqual([]);
      const isDamaged =
        (packet.kind === 'other' && (packet.reason === 'malformed' || packet.reason === 'truncated')) ||
        (packet.kind === 'tcp' && (packet.tcp.badOptions || packet.ip.lengthExceedsFrame)) ||
        (packet.kind === 'icmp-error' && packet.ip.lengthExceedsFrame) ||
        (packet.kind === 'other' && packet.ip !== null && packet.ip.lengthExceedsFrame);
      expect(decoder.stats.damagedPackets - before, `mutation ${i}: ${describePacket(packet)}`).toBe(isDamaged ? 1 : 0);
    }
    expect(damaged).toBe(decoder.stats.damagedPackets);
  });

  const linkTypes = Array.from({ length: 300 }, (_, i) => i).filter(isSupportedLinkType);
  it(`random bytes under every supported link type (${linkTypes.length}): no throw, no read outside`, () => {
    const rng = new Rng(99);
    const decoder = new Decoder();
    for (const lt of linkTypes) {
      for (let i = 0; i < 300; i++) {
        const n = rng.int(120);
        const data = rng.bytes(n);
        // Steer some toward the interesting paths: IP version nibbles, EtherTypes, families.
        if (n > 0 && rng.chance(0.3)) data[0] = rng.pick([0x45, 0x4f, 0x60, 0x02, 0xff]);
        if (n > 13 && rng.chance(0.3)) u16be(rng.pick([0x0800, 0x86dd, 0x8100, 0x8847, 0x8864, 0x88a8, 0x0020])).copy(data, 12);
        const { outside } = guardedDecode(decoder, lt, data, n, rng.chance(0.5) ? n : n + rng.int(100));
        expect(outside, `link type ${lt}, input ${i}`).toEqual([]);
      }
    }
  });
});

// ---------------------------------------------------------------------------
// Hostile headers one by one
// ---------------------------------------------------------------------------

function decodeRaw(packet: Buffer, capLen = packet.length, origLen = packet.length): { packet: Packet; decoder: Decoder; outside: number[] } {
  const decoder = new Decoder();
  const r = guardedDecode(decoder, LINKTYPE.RAW, packet, capLen, origLen);
  return { ...r, decoder };
}

describe('hostile headers', () => {
  it.each([0, 1, 2, 3, 4])('IPv4 IHL %i: malformed, damaged, located', (ihl) => {
    const { packet, decoder, outside } = decodeRaw(ipv4({ ihl, payload: tcp() }));
    expect(describePacket(packet)).toBe('other (malformed: IPv4 header length below 20 bytes)');
    expect(outside).toEqual([]);
    expect(decoder.stats).toMatchObject({ damagedPackets: 1, firstDamagedFrame: 1, firstDamage: 'IPv4 header length below 20 bytes' });
  });

  it('IPv4 IHL 15 with 20 bytes of header: past the end of the frame (malformed), or cut (truncated) under a snaplen', () => {
    const p = ipv4({ ihl: 15, payload: [] });
    expect(describePacket(decodeRaw(p).packet)).toBe('other (malformed: IPv4 header length runs past the end of the frame)');
    expect(describePacket(decodeRaw(p, p.length, 200).packet)).toBe('other (truncated: IPv4 header cut short by the capture)');
  });

  it.each([0, 1, 2, 3, 4])('TCP data offset %i: malformed', (off) => {
    const { packet, decoder } = decodeRaw(ipv4({ payload: tcp({ dataOffset: off, payload: 8 }) }));
    expect(describePacket(packet)).toBe('other (malformed: TCP data offset below 5 (header under 20 bytes))');
    expect(decoder.stats.damagedPackets).toBe(1);
  });

  it('TCP data offset 15 in a 20-byte segment: longer than the segment', () => {
    expect(describePacket(decodeRaw(ipv4({ payload: tcp({ dataOffset: 15 }) })).packet)).toBe('other (malformed: TCP header longer than the segment the IP header describes)');
  });

  it.each([
    ['zero-length option', [tcpOpt.raw(2, 0, [0, 0])]],
    ['length-1 option', [tcpOpt.raw(8, 1), tcpOpt.nop()]],
    ['option overrunning the header', [tcpOpt.raw(5, 40, [])]],
    ['zero-length option after good ones', [tcpOpt.mss(1460), tcpOpt.raw(30, 0)]],
    ['option kind in the last header byte', [tcpOpt.nop(), tcpOpt.nop(), tcpOpt.nop(), Buffer.from([19])]],
  ] as const)('TCP %s: the segment is kept, its options flagged and counted as damage', (_name, options) => {
    const { packet, decoder, outside } = decodeRaw(ipv4({ payload: tcp({ options: [...options], payload: 10 }) }));
    expect(packet.kind).toBe('tcp');
    if (packet.kind !== 'tcp') return;
    expect(packet.tcp.badOptions).toBe(true);
    expect(packet.tcp.payloadLength).toBe(10);
    expect(outside).toEqual([]);
    expect(decoder.stats).toMatchObject({ tcp: 1, badTcpOptions: 1, damagedPackets: 1 });
  });

  it('an IP total length beyond the frame is damage too, counted once even when TCP is then malformed', () => {
    const seg = tcp({ payload: 10 });
    const lie = ipv4({ totalLength: 1500, payload: seg });
    const one = decodeRaw(lie);
    expect(one.packet.kind).toBe('tcp');
    expect(one.decoder.stats).toMatchObject({ ipLengthExceedsFrame: 1, damagedPackets: 1 });
    const both = decodeRaw(ipv4({ totalLength: 1500, payload: tcp({ dataOffset: 2 }) }));
    expect(describePacket(both.packet)).toMatch(/malformed: TCP data offset below 5/);
    expect(both.decoder.stats).toMatchObject({ ipLengthExceedsFrame: 1, damagedPackets: 1, firstDamage: 'IP length claims more bytes than the frame held (cut to the frame)' });
  });

  it('IPv6: a chain of hop-by-hop headers each naming another stops at the bound', () => {
    const chain = Array.from({ length: 40 }, () => ext.raw(NH.HOP_BY_HOP, 0, Buffer.alloc(6)));
    const { packet, outside } = decodeRaw(ipv6({ ext: chain, nextHeader: NH.HOP_BY_HOP, payload: tcp() }));
    expect(describePacket(packet)).toBe('other (malformed: IPv6 extension header chain too long)');
    expect(outside).toEqual([]);
  });

  it('IPv6: routing headers naming themselves until the frame ends: past the end (malformed), or cut (truncated)', () => {
    const chain = Array.from({ length: 5 }, () => ext.raw(NH.ROUTING, 0, Buffer.alloc(6)));
    const p = ipv6({ ext: chain, nextHeader: NH.ROUTING, payload: [] });
    expect(describePacket(decodeRaw(p).packet)).toBe('other (malformed: IPv6 extension header runs past the end of the frame)');
    expect(describePacket(decodeRaw(p, p.length, p.length + 100).packet)).toBe('other (truncated: IPv6 extension header cut short by the capture)');
  });

  it('IPv6: AH, fragment and destination options with lengths that overrun', () => {
    for (const e of [ext.raw(NH.AH, 255, Buffer.alloc(6)), ext.raw(NH.DEST_OPTS, 255, Buffer.alloc(6)), ext.raw(NH.FRAGMENT, 0, Buffer.alloc(2))]) {
      const { packet, outside } = decodeRaw(ipv6({ ext: [e], payload: [] }));
      expect(packet.kind === 'other' && (packet.reason === 'malformed' || packet.reason === 'truncated'), describePacket(packet)).toBe(true);
      expect(outside).toEqual([]);
    }
  });

  const garbageQuotes: Array<[string, Buffer]> = [
    ['random bytes', pattern(40, 0x99)],
    ['an IPv4 header with IHL 15 and nothing after it', cat([0x4f, 0, 0, 0x3c, 0, 0, 0, 0, 64, PROTO.TCP], Buffer.alloc(10))],
    ['an IPv4 header with IHL 1', cat([0x41, 0, 0, 0x3c, 0, 0, 0, 0, 64, PROTO.TCP], Buffer.alloc(10))],
    ['a TCP header cut after one port byte', ipv4({ payload: tcp() }).subarray(0, 21)],
    ['an ICMP error quoting an ICMP error', ipv4({ proto: PROTO.ICMP, payload: icmp4(3, 1, QUOTE4) })],
    ['nothing at all', Buffer.alloc(0)],
  ];
  it.each(garbageQuotes)('ICMPv4 quoting %s: an ICMP error quoting no TCP (or only what is there)', (_name, quote) => {
    const { packet, outside } = decodeRaw(ipv4({ proto: PROTO.ICMP, payload: icmp4(3, 3, quote) }));
    expect(outside).toEqual([]);
    expect(packet.kind).toBe('icmp-error');
    if (packet.kind === 'icmp-error' && packet.icmp.quotesTcp) expect(packet.icmp.quoted.hasSeq).toBe(false);
  });

  it('ICMPv6 quoting an IPv6 header whose extension chain runs past the quote', () => {
    const inner = ipv6({ ext: Array.from({ length: 8 }, () => ext.destOpts()), payload: tcp() }).subarray(0, 72);
    const { packet, outside } = decodeRaw(ipv6({ nextHeader: NH.ICMPV6, payload: icmp6(1, 0, inner) }));
    expect(outside).toEqual([]);
    expect(packet.kind).toBe('icmp-error');
    if (packet.kind === 'icmp-error') expect(packet.icmp.quotesTcp).toBe(false);
  });

  it('link layers that lie: a PPPoE length of 0, an 802.3 length past the frame, 20 VLAN tags, 20 MPLS labels', () => {
    const d = new Decoder();
    const pppoe0 = ethernet(asType(ETHERTYPE.PPPOE_SESSION, cat([0x11, 0], u16be(1), u16be(0), u16be(0x21), V4)));
    expect(describePacket(guardedDecode(d, LINKTYPE.ETHERNET, pppoe0, pppoe0.length, pppoe0.length).packet)).toMatch(/^other \((malformed|truncated)/);
    const long8023 = ethernet(asType(1500, cat([0xaa, 0xaa, 3, 0, 0, 0], u16be(0x0800), V4)));
    expect(guardedDecode(d, LINKTYPE.ETHERNET, long8023, long8023.length, long8023.length).packet.kind).toBe('tcp');
    let tags = asV4(V4);
    for (let i = 0; i < 20; i++) tags = vlan(i, tags);
    expect(guardedDecode(d, LINKTYPE.ETHERNET, ethernet(tags), ethernet(tags).length, ethernet(tags).length).outside).toEqual([]);
    const labels = ethernet(mpls(Array.from({ length: 20 }, (_, i) => i + 16), V4));
    expect(guardedDecode(d, LINKTYPE.ETHERNET, labels, labels.length, labels.length).outside).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// pcapng options that lie
// ---------------------------------------------------------------------------

describe('pcapng options overrunning or odd', () => {
  const ng = new Pcapng(true);
  const frame = ethernet(asV4(ipv4({ payload: tcp({ flags: 'S' }) })));

  async function read(name: string, data: Buffer): ReturnType<typeof readAll> {
    const p = join(dir, name);
    writeFileSync(p, data);
    return readAll(p);
  }

  it('an IDB option claiming 65535 bytes: a warning naming the packet that follows; the interface and its packets are kept', async () => {
    const idb = ng.idb({ name: 'eth0', tsresol: 9 });
    idb.writeUInt16LE(0xffff, 16 + 2); // the if_name option's length
    const r = await read('idb-over.pcapng', cat(ng.shb(), idb, ng.epb({ data: frame, ts: 5_000_000_000n })));
    expect(r.result.error).toBeNull();
    expect(r.warnings).toEqual([{ message: 'option 2 of 65535 bytes overruns its block; options ignored from there', fileOffset: 28 + 16, packet: 1 }]);
    expect(r.interfaces[0]).toMatchObject({ name: null, tsUnitsPerSecond: 1e6 });
    expect(r.frames).toHaveLength(1);
  });

  it('options too short for their value (if_tsresol of 0 bytes, if_tsoffset of 4) are ignored; an out-of-range if_tsresol is a warning', async () => {
    const idb = ng.idb({ options: [[OPT.IF_TSRESOL, []], [OPT.IF_TSOFFSET, [1, 2, 3, 4]], [OPT.IF_FCSLEN, []]] });
    const bad = ng.idb({ tsresol: 0x80 | 64 });
    const r = await read('idb-short.pcapng', cat(ng.shb(), idb, bad, ng.epb({ data: frame, ts: 1_000_000n }), ng.epb({ ifId: 1, data: frame })));
    expect(r.result.error).toBeNull();
    expect(r.interfaces.map((i) => [i.tsUnitsPerSecond, i.tsOffsetSeconds, i.fcsLen])).toEqual([
      [1e6, 0, -1],
      [1e6, 0, -1],
    ]);
    expect(r.warnings.map((w) => [w.message, w.packet])).toEqual([['interface 1: if_tsresol 0xc0 is out of range, using microseconds', 1]]);
    expect(r.frames[0]!.time).toBe('1.000000000');
  });

  it('70,000 interfaces in one section: 65,536 kept (a warning), the reports list 1,000; a packet naming one beyond is an error', async () => {
    const idb = ng.idb();
    const idbs = Buffer.concat(Array.from({ length: 70_000 }, () => idb));
    const file = join(dir, 'idbs.pcapng');
    const kept = ng.epb({ ifId: 65_535, data: frame });
    writeFileSync(file, cat(ng.shb(), idbs, kept, ng.epb({ ifId: 69_999, data: frame })));
    const r = await analyzeCaptures([file]);
    const c = r.captures[0]!;
    expect(c.packets).toBe(1);
    expect(c.errors).toEqual([{ message: 'packet block names interface 69999, beyond the 65536 interfaces kept for a section', offset: 28 + idbs.length + kept.length + 8, packet: 2 }]);
    expect(c.warnings.map((w) => w.message)).toEqual(['more than 65536 interfaces in one section: the rest are not kept, and packets naming them are damage']);
    expect(c.interfaces).toHaveLength(1000);
    expect(c.interfacesDropped).toBe(65_536 - 1000);
    const json = JSON.parse(renderJson(r)) as { captures: Array<{ interfaces: unknown[]; interfacesDropped: number }> };
    expect([json.captures[0]!.interfaces.length, json.captures[0]!.interfacesDropped]).toEqual([1000, 64_536]);
  });

  it('zero-length, binary, invalid UTF-8 and 65,535-byte comments are kept as strings; an option after opt_endofopt is not read', async () => {
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const huge = Buffer.alloc(65535, 0x41);
    const epbs = [
      ng.epb({ data: frame, options: [[OPT.COMMENT, []]] }),
      ng.epb({ data: frame, options: [[OPT.COMMENT, binary]] }),
      ng.epb({ data: frame, options: [[OPT.COMMENT, huge]] }),
      ng.epb({ data: frame, options: [[OPT.END, []], [OPT.COMMENT, 'after the end']] }),
    ];
    const r = await read('comments.pcapng', cat(ng.shb(), ng.idb(), ...epbs));
    expect(r.result.error).toBeNull();
    expect(r.warnings).toEqual([]);
    expect(r.frames.map((f) => f.comments?.map((c) => c.length))).toEqual([[0], [binary.toString('utf8').length], [65535], undefined]);
  });
});

// ---------------------------------------------------------------------------
// Damage is reported
// ---------------------------------------------------------------------------

/** A handshake and a little data, with packets 3, 5 and 6 damaged in three different ways. */
function damagedCapture(): Buffer {
  const c = (flags: string, seq: number, ack: number, payload = 0): Buffer => tcp({ sport: 40000, dport: 80, flags, seq, ack, payload });
  const s = (flags: string, seq: number, ack: number, payload = 0): Buffer => tcp({ sport: 80, dport: 40000, flags, seq, ack, payload });
  const fromC = (seg: Buffer, o: Partial<Parameters<typeof ipv4>[0]> = {}): Buffer => ethernet(asV4(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', payload: seg, ...o })));
  const fromS = (seg: Buffer): Buffer => ethernet(asV4(ipv4({ src: '10.0.0.2', dst: '10.0.0.1', payload: seg })));
  const frames = [
    fromC(c('S', 100, 0)),
    fromS(s('SA', 500, 101)),
    fromC(c('A', 101, 501), { ihl: 3 }), // malformed
    fromC(c('PA', 101, 501, 10)),
    fromC(c('PA', 111, 501, 10), { totalLength: 400 }), // IP length lie
    fromS(tcp({ sport: 80, dport: 40000, flags: 'A', seq: 501, ack: 121, options: [tcpOpt.raw(2, 0)] })), // bad option
    fromC(c('FA', 121, 501)),
  ];
  return pcapFile(frames.map((data, i): PcapRecordSpec => ({ data, sec: 1_700_000_000 + i })));
}

describe('damage is reported, not hidden', () => {
  it('analysis: each damaged packet is a located warning, counted in decode (JSON) and the table capture line', async () => {
    const file = join(dir, 'damaged.pcap');
    const bytes = damagedCapture();
    writeFileSync(file, bytes);
    const r = await analyzeCaptures([file]);
    const c = r.captures[0]!;
    expect(c.errors).toEqual([]);
    // Record offsets: the third record starts after the header and two records.
    const recordStart = (n: number): number => {
      let p = 24;
      for (let i = 1; i < n; i++) p += 16 + bytes.readUInt32LE(p + 8);
      return p;
    };
    expect(c.warnings).toEqual([
      { message: 'IPv4 header length below 20 bytes', offset: recordStart(3), packet: 3 },
      { message: 'IP length claims more bytes than the frame held (cut to the frame)', offset: recordStart(5), packet: 5 },
      { message: 'TCP option with a zero or overrunning length (options after it ignored)', offset: recordStart(6), packet: 6 },
    ]);
    expect(c.decode).toMatchObject({ damagedPackets: 3, firstDamagedFrame: 3, firstDamagedOffset: recordStart(3), ipLengthExceedsFrame: 1, badTcpOptions: 1 });
    const json = JSON.parse(renderJson(r)) as { captures: Array<{ decode: Record<string, unknown> }> };
    expect(json.captures[0]!.decode).toMatchObject({
      damagedPackets: 3,
      firstDamage: { message: 'IPv4 header length below 20 bytes', offset: recordStart(3), packet: 3 },
      ipLengthExceedsFrame: 1,
      badTcpOptions: 1,
      malformed: { 'IPv4 header length below 20 bytes': 1 },
    });
    expect(renderTable(r).split('\n')[0]).toMatch(/\(1 malformed, 3 damaged packets, the first is packet 3\)$/);
  });

  it('CLI: one stderr line per damaged packet (file, offset, packet), exit 0; --strict: exit 2 naming the first', async () => {
    const file = join(dir, 'damaged-cli.pcap');
    writeFileSync(file, damagedCapture());
    const plain = await run(['analyze', file]);
    expect(plain.code).toBe(0);
    const lines = plain.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^tcpsleuth: warning: ${file}: IPv4 header length below 20 bytes \\(byte offset \\d+, packet 3\\)$`));
    expect(lines[2]).toMatch(/TCP option with a zero or overrunning length .*\(byte offset \d+, packet 6\)$/);
    const strict = await run(['analyze', '--strict', '--format', 'json', file]);
    expect(strict.code).toBe(2);
    const last = strict.stderr.trim().split('\n');
    expect(last).toHaveLength(4);
    expect(last[3]).toMatch(new RegExp(`^tcpsleuth: ${file}: damage is fatal with --strict, the first of 3 problems: IPv4 header length below 20 bytes \\(byte offset \\d+, packet 3\\)$`));
    // The report is still written, and valid.
    expect((JSON.parse(strict.stdout) as { captures: Array<{ decode: { damagedPackets: number } }> }).captures[0]!.decode.damagedPackets).toBe(3);
  });

  it('--strict: a clean capture passes; a reader warning alone is fatal', async () => {
    const clean = await run(['analyze', '--strict', join(REPO, 'captures', 'close-wait-stuck.pcap')]);
    expect(clean.code).toBe(0);
    expect(clean.stderr).toBe('');
    const ng = new Pcapng(true);
    const file = join(dir, 'tsresol.pcapng');
    writeFileSync(file, cat(ng.shb(), ng.idb({ tsresol: 0x7f }), ng.epb({ data: ethernet(asV4(ipv4({ payload: tcp({ flags: 'S' }) }))) })));
    const r = await run(['analyze', '--strict', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/damage is fatal with --strict: interface 0: if_tsresol 0x7f is out of range, using microseconds \(byte offset \d+, packet 1\)$/);
  });

  it('a thousand damaged packets: 100 lines, then a count; --strict names the first of 1000', async () => {
    const bad = ethernet(asV4(ipv4({ ihl: 2, payload: tcp() })));
    const file = join(dir, 'thousand.pcap');
    writeFileSync(file, pcapFile(Array.from({ length: 1000 }, () => ({ data: bad }))));
    const r = await run(['analyze', '--strict', file]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(102);
    expect(lines[100]).toBe(`tcpsleuth: warning: ${file}: 900 more warnings not shown`);
    expect(lines[101]).toMatch(/the first of 1000 problems: IPv4 header length below 20 bytes \(byte offset 24, packet 1\)$/);
    expect(r.stdout.split('\n')[0]).toMatch(/1000 damaged packets, the first is packet 1\)$/);
  });
});

// ---------------------------------------------------------------------------
// Reports never break on odd content
// ---------------------------------------------------------------------------

describe('reports never break on odd content', () => {
  it('binary and 64 KiB comments, non-UTF-8 and control characters in interface names: valid JSON, a sound table', async () => {
    const ng = new Pcapng(true);
    const weird = Buffer.from([0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x32, 0x4a, 0x0a, 0x0d, 0x22, 0x5c, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
    const frames = [
      ethernet(asV4(ipv4({ payload: tcp({ flags: 'S', seq: 1 }) }))),
      ethernet(asV4(ipv4({ src: '10.0.0.2', dst: '10.0.0.1', payload: tcp({ sport: 80, dport: 40000, flags: 'RA', ack: 2 }) }))),
    ];
    const file = join(dir, 'odd.pcapng');
    writeFileSync(
      file,
      cat(
        ng.shb({ options: [[OPT.COMMENT, weird], [OPT.SHB_HARDWARE, Buffer.alloc(3000, 0xff)]] }),
        ng.idb({ name: weird.toString('latin1'), options: [[OPT.IF_NAME, weird], [OPT.IF_DESCRIPTION, weird]] }),
        ng.epb({ data: frames[0]!, ts: 1n, options: [[OPT.COMMENT, Buffer.from(Array.from({ length: 256 }, (_, i) => i))]] }),
        ng.epb({ data: frames[1]!, ts: 2n, options: [[OPT.COMMENT, Buffer.alloc(65535, 0x80)]] }),
      ),
    );
    const json = await run(['analyze', '--format', 'json', file]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { captures: Array<{ interfaces: Array<{ name: unknown; description: unknown }> }>; findings: unknown[] };
    expect(typeof doc.captures[0]!.interfaces[0]!.name).toBe('string');
    expect(typeof doc.captures[0]!.interfaces[0]!.description).toBe('string');
    expect(doc.findings).toHaveLength(1);
    const table = await run(['analyze', file]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/odd\.pcapng: pcapng, ETHERNET, 2 packets/);
    expect(table.stdout).toMatch(/^\[1\] WARNING connection-refused: connection 1, server /m);
    expect(table.stdout).not.toContain('\u001b');
  });

  it('display width: wide characters take two columns, combining and control characters none', () => {
    expect(displayWidth('10.0.0.1:40000')).toBe(14);
    expect(displayWidth('漢字')).toBe(4);
    expect(displayWidth('é')).toBe(1);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('a\tb')).toBe(2);
  });

  it('wrap cuts prose where filling the lines word by word cuts it', () => {
    // wrapWords is the word-by-word fill wrap() used for every text before its fast path for single-spaced prose.
    const byWords = wrapWords;
    const rng = new Rng(20261206);
    const gaps = [' ', ' ', ' ', ' ', '  ', '\n', '\t', ' \n '];
    let spaced = 0;
    for (let i = 0; i < 3000; i++) {
      const words: string[] = [];
      for (let n = rng.int(12); n > 0; n--) words.push('x'.repeat(1 + rng.int(rng.int(4) === 0 ? 40 : 9)));
      // Half the texts single-spaced (the fast path), the rest with uneven whitespace inside and around.
      const even = i % 2 === 0;
      let text = even ? words.join(' ') : words.map((w) => w + gaps[rng.int(gaps.length)]!).join('');
      if (!even && rng.int(2) === 0) text = ' ' + text;
      if (even) spaced++;
      const width = rng.int(50);
      const indent = ' '.repeat(rng.int(8));
      expect(wrap(text, width, indent), JSON.stringify({ text, width, indent })).toBe(byWords(text, width, indent));
    }
    expect(spaced).toBe(1500);
  });
});

/** n connections refused: SYN, then RST+ACK from the server, 20 us apart. */
function refusedConnections(n: number): Buffer {
  const p = new BulkPcap(n * 2);
  for (let i = 0; i < n; i++) {
    const client = (0x0a000000 + (i >>> 14)) >>> 0;
    const sport = 1024 + (i & 0x3fff);
    const isn = (i * 2654435761) >>> 0;
    p.tcp(i * 20, client, 0xc0000201, sport, 80, isn, 0, 0x02);
    p.tcp(i * 20 + 5, 0xc0000201, client, 80, sport, 0, isn + 1, 0x14);
  }
  return p.buf;
}

/** Run the CLI with stdout to a file; resolves to the exit code, stderr, wall time and peak RSS. */
function cliToFile(args: string[], out: string): Promise<{ code: number; stderr: string; seconds: number; maxRssMB: number }> {
  const script = `
    const { main } = await import(${JSON.stringify(join(REPO, 'dist', 'cli', 'main.js'))});
    const code = await main([process.execPath, 'tcpsleuth', ...${JSON.stringify(args)}]);
    process.stderr.write('MAXRSS ' + process.resourceUsage().maxRSS + '\\n');
    process.exitCode = code;
  `;
  const fd = openSync(out, 'w');
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('close', (code) => {
      closeSync(fd);
      const rss = /MAXRSS (\d+)/.exec(stderr);
      resolve({ code: code ?? -1, stderr: stderr.replace(/MAXRSS \d+\n/, ''), seconds: (performance.now() - started) / 1000, maxRssMB: rss ? Number(rss[1]) / 1024 : -1 });
    });
  });
}

describe('200,000 findings', () => {
  const N = 200_000;
  const file = join(dir, 'refused-200k.pcap');
  writeFileSync(file, refusedConnections(N));

  it('JSON: complete and valid (checked line by line: it is half a gigabyte), in bounded time and memory', async () => {
    const out = join(dir, 'refused.json');
    const r = await cliToFile(['analyze', '--format', 'json', file], out);
    console.log(`200k refused connections, JSON: ${r.seconds.toFixed(1)} s, peak RSS ${r.maxRssMB.toFixed(0)} MB`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // writeJson puts one record per line: each record line must parse alone, and the
    // skeleton (every record replaced by 0) must parse as the whole document.
    let skeleton = '';
    let records = 0;
    let findings = 0;
    let list = '';
    const lines = createInterface({ input: createReadStream(out, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      const m = /^ {4}(\{.*\}),?$/.exec(line);
      if (m) {
        const rec = JSON.parse(m[1]!) as { kind?: string };
        records++;
        if (list === 'findings' && rec.kind === 'connection-refused') findings++;
        skeleton += line.endsWith(',') ? '0,' : '0';
      } else {
        const l = /^ {2}"(\w+)": \[/.exec(line);
        if (l) list = l[1]!;
        skeleton += line;
      }
    }
    const doc = JSON.parse(skeleton) as { captures: number[]; connections: number[]; findings: number[] };
    expect(doc.captures).toHaveLength(1);
    expect(doc.connections).toHaveLength(N);
    expect(doc.findings).toHaveLength(N);
    expect(findings).toBe(N);
    // The capture, each connection and finding, and the findings' one group.
    expect(records).toBe(1 + 2 * N + 1);
    expect(r.seconds).toBeLessThan(120);
    expect(r.maxRssMB).toBeLessThan(2500);
  }, 240_000);

  it('table: complete (every connection a row, the findings one group), in bounded time and memory', async () => {
    const out = join(dir, 'refused.txt');
    const r = await cliToFile(['analyze', file], out);
    console.log(`200k refused connections, table: ${r.seconds.toFixed(1)} s, peak RSS ${r.maxRssMB.toFixed(0)} MB`);
    expect(r.code).toBe(0);
    let rows = 0;
    let blocks = 0;
    let first = '';
    let verdict = false;
    const lines = createInterface({ input: createReadStream(out, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!first) first = line;
      if (/^ *\d+\*? +\d+ +[\d.]+:\d+ /.test(line)) rows++;
      else if (/^\[\d+\] WARNING connection-refused: /.test(line)) blocks++;
      else if (line.startsWith(`  WARNING ${N} connections to 192.0.2.1:80: refused`)) verdict = true;
    }
    expect(first).toMatch(/refused-200k\.pcap: pcap-us, ETHERNET, 400000 packets/);
    expect(rows).toBe(N);
    expect(blocks).toBe(1);
    expect(verdict).toBe(true);
    expect(r.seconds).toBeLessThan(120);
    expect(r.maxRssMB).toBeLessThan(2500);
  }, 240_000);
});
