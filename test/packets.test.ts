/**
 * `tcpsleuth packets`: the tcpdump-style listing. Each TCP line must read as
 * `tcpdump -nn -r` prints it (same flags, relative seq/ack, window and length;
 * options left out), the states after each packet must follow the connection's
 * recorded transitions, findings must sit on their packets, and the filters must
 * narrow the listing to the right connections.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures, type AnalysisResult } from '../src/analyze.js';
import { PacketListing, type PacketRecord } from '../src/report/listing.js';
import { analysisLabels, TcpdumpSequence, tcpdumpFlags } from '../src/report/tcpdump.js';
import { SEQ_DUPLICATE_ACK, SEQ_FAST_RETRANSMISSION, SEQ_RETRANSMISSION } from '../src/track/seq-analysis.js';
import { ipv4, tcp, tcpFlags } from './helpers/ip-packets.js';
import { LINKTYPE, asV4, ethernet } from './helpers/link-layers.js';
import { pcapFile, type PcapRecordSpec } from './helpers/pcap.js';
import { useTempDir } from './helpers/temp-dir.js';
import { decodeOne } from './helpers/decode-one.js';
import type { Transition } from '../src/track/endpoint.js';
import type { TcpState } from '../src/track/states.js';
import { run } from './helpers/cli.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, HAVE_TCPDUMP, manifest } from './helpers/env.js';

const tmp = useTempDir();
const capture = (name: string): string => join(CAPTURES, name);
const ALL = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .sort();

/** The listing in process, as the command makes it: analyse, then replay. */
async function list(files: string[], format: 'text' | 'json', connections: Set<number> | null = null): Promise<{ result: AnalysisResult; out: string }> {
  const result = await analyzeCaptures(files);
  let out = '';
  const listing = new PacketListing({ format, connections, findings: result.findings, multiCapture: files.length > 1, color: false, write: (s) => (out += s) });
  await analyzeCaptures(files, undefined, undefined, { onPacket: listing.onPacket });
  listing.flush();
  return { result, out };
}

const records = (out: string): PacketRecord[] =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PacketRecord);

/** The part of a tcpdump TCP line we reproduce: "IP a.p > b.p: Flags [..], seq .., ack .., win .., length N". */
const TCP_PART = /IP6? \S+ > \S+: Flags \[[^\]]*\].*?, length \d+/;

function tcpdumpLines(file: string): string[] {
  // tcpdump exits non-zero on a damaged file after printing what it read: keep that.
  const out = spawnSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 }).stdout;
  return out
    .split('\n')
    .map((l) => l.replace(/, options \[[^\]]*\]/, ''))
    .filter((l) => TCP_PART.test(l))
    .map((l) => {
      // Time of day, then the TCP part (an application-layer decode may follow "length N").
      const time = l.slice(0, 15);
      return `${time} ${TCP_PART.exec(l)![0]}`;
    });
}

function ourLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.split(' | ')[0]!.replace(/^\s*[\d:]+ {2}/, ''))
    .filter((l) => l.includes(': Flags ['));
}

describe.skipIf(!HAVE_TCPDUMP)('packets: lines read as tcpdump -nn prints them (needs tcpdump)', () => {
  it.each(ALL)('%s: same TCP lines, flags, relative seq/ack, window and length', async (name) => {
    const file = capture(name);
    const expected = tcpdumpLines(file);
    const { out } = await list([file], 'text');
    const ours = ourLines(out);
    expect(expected.length).toBeGreaterThan(0);
    expect(ours).toHaveLength(expected.length);
    expect(ours).toEqual(expected);
  });
});

/**
 * Segments tcpdump prints in less common ways: FIN+PSH, URG with its pointer, ECE/CWR,
 * a bare RST, a connection already under way (no SYN), and a 4-tuple used again.
 */
function oddCapture(): string {
  const recs: PcapRecordSpec[] = [];
  let us = 0;
  const seg = (src: string, dst: string, t: Parameters<typeof tcp>[0]): void => {
    us += 1000;
    recs.push({ data: ethernet(asV4(ipv4({ src, dst, payload: tcp(t) }))), sec: 1700000000, frac: us });
  };
  const A = '10.3.0.1';
  const B = '10.3.0.2';
  // A connection seen from its middle: the first ACK packet sets tcpdump's bases.
  seg(A, B, { sport: 5000, dport: 80, seq: 1000, ack: 9000, flags: 'PA', payload: 10 });
  seg(B, A, { sport: 80, dport: 5000, seq: 9000, ack: 1010, flags: 'A' });
  seg(A, B, { sport: 5000, dport: 80, seq: 1010, ack: 9000, flags: 'PAU', urgent: 3, payload: 5 });
  seg(A, B, { sport: 5000, dport: 80, seq: 1015, ack: 9000, flags: 'FPA', payload: 2 });
  seg(B, A, { sport: 80, dport: 5000, seq: 9000, ack: 1018, flags: 'FA' });
  seg(A, B, { sport: 5000, dport: 80, seq: 1018, ack: 9001, flags: 'A' });
  // The same tuple again, opened with SYN, ECN negotiated, ended by a bare RST.
  seg(A, B, { sport: 5000, dport: 80, seq: 77777, flags: 'SEC' });
  seg(B, A, { sport: 80, dport: 5000, seq: 4242, ack: 77778, flags: 'SAE' });
  seg(A, B, { sport: 5000, dport: 80, seq: 77778, ack: 4243, flags: 'A' });
  seg(A, B, { sport: 5000, dport: 80, seq: 77778, ack: 4243, flags: 'PAC', payload: 100 });
  seg(B, A, { sport: 80, dport: 5000, seq: 4243, ack: 0, flags: 'R' });
  // A zero window.
  seg(B, A, { sport: 81, dport: 5001, seq: 1, ack: 1, flags: 'A', window: 0 });
  return tmp.write('odd.pcap', pcapFile(recs));
}

describe.skipIf(!HAVE_TCPDUMP)('packets: the less common segments read as tcpdump prints them (needs tcpdump)', () => {
  it('FIN+PSH, URG, ECE/CWR, bare RST, mid-stream start, a reused tuple', async () => {
    const file = oddCapture();
    const expected = tcpdumpLines(file);
    expect(expected).toHaveLength(12);
    const ours = ourLines((await list([file], 'text')).out);
    expect(ours).toEqual(expected);
    expect(ours.join('\n')).toContain('Flags [FP.]');
    expect(ours.join('\n')).toContain('urg 3');
    expect(ours.join('\n')).toContain('Flags [SEW]');
  });
});

describe('tcpdump conventions', () => {
  it('flag letters in tcpdump\'s order', () => {
    expect(tcpdumpFlags(tcpFlags('SA'))).toBe('S.');
    expect(tcpdumpFlags(tcpFlags('FPA'))).toBe('FP.');
    expect(tcpdumpFlags(tcpFlags('RA'))).toBe('R.');
    expect(tcpdumpFlags(tcpFlags('PAUEC'))).toBe('P.UEW');
    expect(tcpdumpFlags(0)).toBe('none');
  });

  it('analysis flags worded as Wireshark\'s Info column, a fast retransmission named alone', () => {
    expect(analysisLabels(SEQ_RETRANSMISSION)).toEqual(['TCP Retransmission']);
    expect(analysisLabels(SEQ_RETRANSMISSION | SEQ_FAST_RETRANSMISSION)).toEqual(['TCP Fast Retransmission']);
    expect(analysisLabels(SEQ_DUPLICATE_ACK)).toEqual(['TCP Dup ACK']);
  });

  it('remembers a bounded number of 4-tuples', () => {
    const seqs = new TcpdumpSequence(10);
    const synAck = (port: number): void => {
      const { packet } = decodeOne(LINKTYPE.ETHERNET, ethernet(asV4(ipv4({ src: '10.0.0.2', dst: '10.0.0.1', payload: tcp({ sport: 80, dport: port, seq: 500, ack: 1001, flags: 'SA' }) }))));
      if (packet.kind !== 'tcp') throw new Error('not TCP');
      seqs.numbers(packet);
    };
    for (let p = 1; p <= 25; p++) synAck(40000 + p);
    expect(seqs.size).toBeLessThanOrEqual(10);
    const { packet } = decodeOne(LINKTYPE.ETHERNET, ethernet(asV4(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', payload: tcp({ sport: 40025, dport: 80, seq: 1001, ack: 501, flags: 'A' }) }))));
    if (packet.kind !== 'tcp') throw new Error('not TCP');
    expect({ ...seqs.numbers(packet) }).toEqual({ seq: 1, ack: 1, relative: true });
  });

  it("a segment of the 4-tuple before it, either way, uses that tuple's bases; a SYN-ACK on it sets them again", () => {
    const seqs = new TcpdumpSequence();
    const seg = (src: string, dst: string, sport: number, dport: number, seq: number, ack: number, flags: string): object => {
      const { packet } = decodeOne(LINKTYPE.ETHERNET, ethernet(asV4(ipv4({ src, dst, payload: tcp({ sport, dport, seq, ack, flags }) }))));
      if (packet.kind !== 'tcp') throw new Error('not TCP');
      return { ...seqs.numbers(packet) };
    };
    expect(seg('10.0.0.2', '10.0.0.1', 80, 40001, 500, 1001, 'SA')).toEqual({ seq: 500, ack: 1001, relative: false });
    expect(seg('10.0.0.1', '10.0.0.2', 40001, 80, 1001, 501, 'A')).toEqual({ seq: 1, ack: 1, relative: true });
    expect(seg('10.0.0.2', '10.0.0.1', 80, 40001, 501, 1011, 'PA')).toEqual({ seq: 1, ack: 11, relative: true });
    // Another tuple in between (its first ACK sets its own bases), then back.
    expect(seg('10.0.0.3', '10.0.0.1', 80, 40001, 7, 8, 'A')).toEqual({ seq: 7, ack: 8, relative: false });
    expect(seg('10.0.0.1', '10.0.0.2', 40001, 80, 1011, 601, 'A')).toEqual({ seq: 11, ack: 101, relative: true });
    expect(seg('10.0.0.2', '10.0.0.1', 80, 40001, 9000, 1012, 'SA')).toEqual({ seq: 9000, ack: 1012, relative: false });
    expect(seg('10.0.0.1', '10.0.0.2', 40001, 80, 1012, 9001, 'A')).toEqual({ seq: 1, ack: 1, relative: true });
  });
});

describe.skipIf(!HAVE_TCPDUMP || !HAVE_CORPUS)('packets: corpus captures agree with tcpdump (needs tcpdump and ../shared/corpus)', () => {
  it('every TCP line tcpdump prints in its plain form, we print the same, in order', async () => {
    const rows = (await manifest()).filter((r) => r.tcpConversations > 0);
    let compared = 0;
    for (const r of rows) {
      const file = join(CORPUS, r.file);
      const theirs = tcpdumpLines(file).map((l) => l.slice(16));
      const ours = ourLines((await list([file], 'text')).out).map((l) => l.slice(16));
      // Packets we do not decode (tunnelled ones) are not compared; tcpdump prints some others its own
      // way (bad headers): those are skipped. Every other line must be ours too, in order.
      const flows = new Set(ours.map((l) => l.slice(0, l.indexOf(': Flags'))));
      let i = 0;
      for (const t of theirs.filter((l) => flows.has(l.slice(0, l.indexOf(': Flags'))))) {
        while (i < ours.length && ours[i] !== t) i++;
        expect(i, `${r.file}: tcpdump's "${t}" not found in order`).toBeLessThan(ours.length);
        i++;
      }
      compared += theirs.length;
    }
    expect(compared).toBeGreaterThan(1000);
  });
});

/** An endpoint's state after (capture, frame), from its recorded transitions (timer ones by time). */
function stateAfter(initial: TcpState, transitions: Transition[], capture: number, frame: number, sec: number, nsec: number): TcpState {
  let s = initial;
  for (const t of transitions) {
    const at = t.at;
    const before = at.frame > 0 ? at.capture < capture || (at.capture === capture && at.frame <= frame) : at.sec < sec || (at.sec === sec && at.nsec <= nsec);
    if (before) s = t.to;
  }
  return s;
}

describe('packets: states, analysis flags and findings on each line', () => {
  it.each(ALL)('%s: states after each packet follow the transitions; changes sit on the packets that made them', async (name) => {
    const { result, out } = await list([capture(name)], 'json');
    const recs = records(out);
    expect(recs.length).toBeGreaterThan(0);
    for (const c of result.connections) {
      const mine = recs.filter((r) => r.connection === c.id && r.kind === 'tcp');
      expect(mine.length).toBe(c.client.packets + c.server.packets);
      for (const role of ['client', 'server'] as const) {
        const e = c[role];
        const initial = e.transitions[0]?.from ?? e.state;
        for (const r of mine) {
          const [sec, nsec] = r.time!.split('.').map(Number) as [number, number];
          expect(r[role], `${name} #${c.id} frame ${r.frame} ${role}`).toBe(stateAfter(initial, e.transitions, r.capture, r.frame, sec, nsec));
        }
        // Every transition a packet caused is flagged as a change on that packet, and nothing else is.
        const changedFrames = mine.filter((r) => r.changed[role]).map((r) => r.frame);
        const transitionFrames = [...new Set(e.transitions.filter((t) => t.at.frame > 0).map((t) => t.at.frame))];
        expect(changedFrames).toEqual(transitionFrames);
        for (const r of mine) {
          const ch = r.changed[role];
          if (!ch) continue;
          const at = e.transitions.filter((t) => t.at.frame === r.frame);
          expect(ch).toEqual({ from: at[0]!.from, to: at[at.length - 1]!.to });
        }
      }
    }
  });

  it.each(ALL)('%s: each finding is on each of its packets, and no packet carries another', async (name) => {
    const { result, out } = await list([capture(name)], 'json');
    const recs = records(out);
    const key = (capture: number, frame: number): string => `${capture}:${frame}`;
    const expected = new Map<string, string[]>();
    for (const f of result.findings) for (const p of f.packets) expected.set(key(f.capture, p), [...(expected.get(key(f.capture, p)) ?? []), f.kind]);
    const seen = new Map<string, string[]>();
    for (const r of recs) if (r.findings.length) seen.set(key(r.capture, r.frame), r.findings.map((f) => f.kind));
    expect(new Map([...seen].map(([k, v]) => [k, [...v].sort()]))).toEqual(new Map([...expected].map(([k, v]) => [k, [...v].sort()])));
  });

  it('ICMP errors quoting a connection are listed, with the icmp-unreachable finding on them', async () => {
    const { out } = await list([capture('icmp-unreachable.pcap')], 'text');
    const icmp = out.split('\n').filter((l) => l.includes(': ICMP '));
    expect(icmp.length).toBe(17);
    expect(icmp[0]).toMatch(/^\s+9 {2}\d\d:\d\d:\d\d\.\d{6} IP 10\.99\.0\.2 > 10\.99\.0\.1: ICMP unreachable \(type 3 code 1\) for 10\.99\.0\.1\.\d+ > 10\.99\.0\.2\.7018 \| #1 client ESTABLISHED server ESTABLISHED \| finding icmp-unreachable \(error\)$/);
  });

  it('tshark analysis flags: retransmissions and keep-alives are named as Wireshark names them', async () => {
    const { result, out } = await list([capture('half-open.pcap')], 'text');
    const retrans = out.split('\n').filter((l) => l.includes('[TCP Retransmission]')).length;
    const c = result.connections[0]!;
    expect(retrans).toBe(c.analysisOf('client').retransmissions + c.analysisOf('server').retransmissions);
    expect(retrans).toBeGreaterThan(2);
    const ka = (await list([capture('close-wait-stuck.pcap')], 'text')).out;
    expect(ka).toMatch(/\| \[TCP Keep-Alive\]/);
    expect(ka).toMatch(/\| \[TCP Keep-Alive ACK\]/);
    const json = records((await list([capture('half-open.pcap')], 'json')).out);
    expect(json.filter((r) => r.analysis.includes('retransmission'))).toHaveLength(retrans);
  });

  it('a line shows the state change as OLD->NEW and both states after it', async () => {
    const { out } = await list([capture('close-wait-stuck.pcap')], 'text');
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(15);
    expect(lines[0]).toMatch(/^\s+1 {2}\S+ IP 10\.99\.0\.1\.54224 > 10\.99\.0\.2\.7006: Flags \[S\], seq \d+, win 64240, length 0 \| #1 client CLOSED->SYN-SENT server LISTEN$/);
    expect(lines[7]).toContain('Flags [F.], seq 19, ack 26, win 63, length 0 | #1 client ESTABLISHED->FIN-WAIT-1 server ESTABLISHED | finding close-wait-stuck (warning)');
    expect(lines[8]).toContain('| #1 client FIN-WAIT-1->FIN-WAIT-2 server ESTABLISHED->CLOSE-WAIT | finding close-wait-stuck (warning)');
    expect(lines[14]).toMatch(/\| #1 client FIN-WAIT-2 server CLOSE-WAIT \| \[TCP Keep-Alive ACK\]$/);
  });

  it('JSON lines carry tcpdump\'s numbers and the absolute ones', async () => {
    const recs = records((await list([capture('close-wait-stuck.pcap')], 'json')).out);
    expect(recs[0]).toMatchObject({ frame: 1, kind: 'tcp', from: 'client', tcpdumpFlags: 'S', flags: ['SYN'], relative: false, ack: null, len: 0, win: 64240, client: 'SYN-SENT', server: 'LISTEN' });
    expect(recs[0]!.seq).toBe(recs[0]!.seqAbsolute);
    expect(recs[3]).toMatchObject({ frame: 4, tcpdumpFlags: 'P.', seq: 1, ack: 1, relative: true, len: 18 });
    expect(recs[3]!.seqAbsolute).toBe((recs[0]!.seqAbsolute + 1) >>> 0);
    expect(recs[7]).toMatchObject({ changed: { client: { from: 'ESTABLISHED', to: 'FIN-WAIT-1' } }, findings: [{ kind: 'close-wait-stuck', severity: 'warning', connection: 1, endpoint: 'server' }] });
    expect(recs[0]!.time).toMatch(/^\d+\.\d{9}$/);
  });
});

describe('packets command: filters, formats, standard input', () => {
  const portReuse = capture('port-reuse.pcap');

  it('--connection N lists only that connection', async () => {
    const r = await run(['packets', '--connection', '2', portReuse]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(8);
    expect(lines.every((l) => l.includes(' | #2 '))).toBe(true);
    expect(lines.map((l) => Number(/^\s*(\d+)/.exec(l)![1]))).toEqual([11, 12, 13, 14, 15, 16, 17, 18]);
  });

  it('--finding KIND lists the connections with that finding, and says so when none has it', async () => {
    const abortive = await run(['packets', '--finding', 'abortive-close', portReuse]);
    expect(new Set(abortive.stdout.trimEnd().split('\n').map((l) => /\| #(\d+) /.exec(l)![1]))).toEqual(new Set(['2']));
    const reuse = await run(['packets', '--finding', 'port-reuse', '--format', 'json', portReuse]);
    expect(new Set(records(reuse.stdout).map((r) => r.connection))).toEqual(new Set([2, 3]));
    const none = await run(['packets', '--finding', 'zero-window', portReuse]);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^tcpsleuth: no connection matches/);
    const bad = await run(['packets', '--finding', 'nonsense', portReuse]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected one of close-wait-stuck');
  });

  it('--min-severity leaves weaker findings off the lines, as in analyze', async () => {
    const r = await run(['packets', '--min-severity', 'warning', portReuse]);
    expect(r.stdout).toContain('finding port-reuse (warning)');
    expect(r.stdout).not.toContain('port-reuse (info');
  });

  it('reads standard input (kept aside for the second pass) and gives the same lines', async () => {
    const file = await run(['packets', portReuse]);
    const stdin = await run(['packets', '-'], readFileSync(portReuse));
    expect(stdin.code).toBe(0);
    expect(stdin.stdout).toBe(file.stdout);
  });

  it('numbers frames capture:frame when several captures are read', async () => {
    const r = await run(['packets', '--format', 'text', capture('close-wait-stuck.pcap'), portReuse]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(15 + 28);
    expect(lines[0]).toMatch(/^\s+1:1 {2}/);
    expect(lines[15]).toMatch(/^\s+2:1 {2}/);
    expect(lines[15]).toContain('| #2 ');
  });

  it('shows help with examples, exits 2 on a missing file', async () => {
    const help = await run(['packets', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--connection');
    expect(help.stdout).toContain('Examples:');
    const missing = await run(['packets', '/nonexistent/x.pcap']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot open');
  });
});
