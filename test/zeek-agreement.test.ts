import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Frame } from '../src/capture/frame.js';
import { ipv4HeaderChecksumOk, tcpChecksumOk } from '../src/decode/checksum.js';
import { Decoder } from '../src/decode/decoder.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../src/decode/packet.js';
import {
  ZEEK_BASE_LIKELY_SERVER_PORTS,
  ZEEK_SEGMENT_ADDED,
  ZEEK_SEGMENT_REUSED,
  ZEEK_SEGMENT_TIMED_OUT,
  ZeekConnState,
  type ZeekConnOptions,
} from '../src/track/zeek-conn.js';
import { CORPUS, HAVE_CORPUS, manifest } from './helpers/env.js';
import { readConnTsv, runZeekModel, tupleKey, type ConnRow, type ModelConn } from './helpers/zeek.js';

/**
 * Agreement of ZeekConnState (conn_state and history) with the conn.log rows
 * Zeek's own test baselines hold for the corpus captures.
 */

interface Outcome {
  file: string;
  tuple: string;
  zeekState: string;
  zeekHistory: string;
  /** Zeek's orientation, "orig_h:orig_p", when the baseline has it. */
  zeekOrig: string | null;
  /** orig_bytes and resp_bytes when the baseline logs them (not '-'). */
  zeekBytes: [number, number] | null;
  /** duration when logged. */
  zeekDuration: number | null;
  /** Zeek logged outer connections in tunnel_parents: it decapsulated this one. */
  tunnelled: boolean;
  ours: ModelConn | null;
}

/** Rows we are expected to reproduce: TCP, tunnelled or not (tunnel_parents names the outer connections). */
function comparable(r: ConnRow): boolean {
  return r['proto'] === undefined || r['proto'] === 'tcp';
}

/**
 * TCP ports each protocol script adds to likely_server_ports, by the service
 * name conn.log shows once that script's analyzer confirmed the protocol.
 */
const SERVICE_PORTS: Record<string, number[]> = {
  http: [80, 81, 631, 1080, 3128, 8000, 8080, 8888],
  ftp: [21, 2811],
  gridftp: [2811],
  ssh: [22],
  ssl: [443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223],
  smtp: [25, 587],
  pop3: [110],
  imap: [143],
  dns: [53],
  krb: [88],
  krb_tcp: [88],
  mysql: [1434, 3306],
  modbus: [502],
  redis: [6379],
  xmpp: [5222, 5269],
  socks: [1080],
};

/**
 * Zeek's options as the baseline's command line set them: -C ignores checksums;
 * -b loads no protocol scripts beyond those the test names, which we can only
 * infer from the services its conn.log shows (their ports become likely server
 * ports, as the scripts would make them).
 */
function optionsFor(cmd: string, rows: ConnRow[]): ZeekConnOptions {
  const args = cmd.split(/\s+/);
  let likelyServerPorts: ReadonlySet<number> = ZEEK_BASE_LIKELY_SERVER_PORTS;
  if (args.includes('-b')) {
    const ports = new Set<number>();
    for (const r of rows) for (const s of (r['service'] ?? '-').split(',')) for (const p of SERVICE_PORTS[s] ?? []) ports.add(p);
    likelyServerPorts = ports;
  }
  return { ignoreChecksums: args.includes('-C'), likelyServerPorts };
}

/** Our connections left over after matching: on tuples Zeek logs fewer times, or not at all. */
const extras: string[] = [];

async function compareFile(file: string): Promise<Outcome[]> {
  const all = readConnTsv(join(CORPUS, 'expected', `${file}.conn.tsv`));
  const rows = all.filter(comparable);
  if (rows.length === 0) return [];
  const ours = await runZeekModel(join(CORPUS, file), optionsFor(rows[0]!['zeek_cmd'] ?? '', all));
  const hasTuple = rows[0]!['orig_h'] !== undefined;
  // Ours by 4-tuple (either orientation), in order of first packet.
  const byKey = new Map<string, ModelConn[]>();
  for (const c of ours) {
    const k = hasTuple ? tupleKey(c.origH, c.origP, c.respH, c.respP) : '*';
    const list = byKey.get(k) ?? [];
    list.push(c);
    byKey.set(k, list);
  }
  const used = new Map<string, number>();
  const outcomes: Outcome[] = rows.map((r): Outcome => {
    const k = hasTuple ? tupleKey(r['orig_h']!, Number(r['orig_p']), r['resp_h']!, Number(r['resp_p'])) : '*';
    // Several Zeek connections on one tuple: match them to ours in time order.
    const i = used.get(k) ?? 0;
    used.set(k, i + 1);
    const mine = byKey.get(k)?.[i] ?? null;
    const ob = r['orig_bytes'];
    const rb = r['resp_bytes'];
    return {
      file,
      tuple: hasTuple ? `${r['orig_h']}:${r['orig_p']} > ${r['resp_h']}:${r['resp_p']}` : '(only connection)',
      zeekState: r['conn_state']!,
      zeekHistory: r['history'] === '-' ? '' : r['history']!,
      zeekOrig: hasTuple ? `${r['orig_h']}:${r['orig_p']}` : null,
      zeekBytes: ob !== undefined && rb !== undefined && ob !== '-' && rb !== '-' ? [Number(ob), Number(rb)] : null,
      zeekDuration: r['duration'] !== undefined && r['duration'] !== '-' ? Number(r['duration']) : null,
      tunnelled: (r['tunnel_parents'] ?? '-') !== '-' && r['tunnel_parents'] !== '',
      ours: mine,
    };
  });
  // Rows of other kinds (tunnelled, UDP) share no tuple with ours, so leftovers are real extras.
  const zeekKeys = new Set(all.filter((r) => r['orig_h'] !== undefined).map((r) => tupleKey(r['orig_h']!, Number(r['orig_p']), r['resp_h']!, Number(r['resp_p']))));
  for (const [k, list] of byKey) {
    const matched = used.get(k) ?? 0;
    for (const c of list.slice(matched)) {
      const note = zeekKeys.has(k) || k === '*' ? 'extra' : 'not in baseline';
      extras.push(`  ${file}\t${c.origH}:${c.origP} > ${c.respH}:${c.respP}\t${note}: ours ${c.connState} ${c.history || '-'}`);
    }
  }
  return outcomes;
}

function pct(n: number, d: number): string {
  return d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`;
}

/**
 * Levels reached when this test was written, with the FDDI, 802.1ah (PBB) and
 * VN-Tag link decoders in place (without them llc.pcap's 1333 connections and
 * those of pbb.pcap and vntag_vlan_sandwich_clean.pcap go missing, and the
 * overall figures fall to about 12%). The rows still differing are Zeek test
 * scripts acting on connections (a netcontrol packet filter in smtp.pcap's
 * test, GridFTP's skip_further_processing, the FTP analyzer's 'X' for an
 * over-long command), not TCP analysis. The tunnelled rows (zeek/tunnels/) agree
 * in conn_state; two GTP-U histories differ because Zeek reassembles the fragmented
 * outer datagrams and we reassemble no IP fragments. Raise these when agreement
 * improves; a drop is a regression.
 */
const MIN_STATE_AGREEMENT = 1535 / 1537;
const MIN_HISTORY_AGREEMENT = 1531 / 1537;
/** The same over the connections we produce at all (decoder coverage aside). */
const MIN_STATE_AGREEMENT_FOUND = 1535 / 1537;
const MIN_HISTORY_AGREEMENT_FOUND = 1531 / 1537;
/** Tunnelled connections whose history may differ: those whose outer datagrams were fragmented. */
const TUNNEL_HISTORY_EXPECTED_TO_DIFFER = 2;

describe.skipIf(!HAVE_CORPUS)('Zeek conn_state/history agreement (needs ../shared/corpus)', () => {
  it('agrees with the conn.log of Zeek baselines', async () => {
    const files = (await manifest()).map((m) => m.file).filter((f) => existsSync(join(CORPUS, 'expected', `${f}.conn.tsv`)));
    let n = 0;
    let found = 0;
    let stateOk = 0;
    let histOk = 0;
    let orientOk = 0;
    let orientN = 0;
    let bytesOk = 0;
    let bytesN = 0;
    let durOk = 0;
    let durN = 0;
    let tunnelN = 0;
    let tunnelStateOk = 0;
    let tunnelHistOk = 0;
    const lines: string[] = [];
    const perFile: string[] = [];
    for (const f of files) {
      const outcomes = await compareFile(f);
      if (outcomes.length === 0) continue;
      let fs = 0;
      let fh = 0;
      for (const o of outcomes) {
        n++;
        const s = o.ours?.connState === o.zeekState;
        const h = o.ours?.history === o.zeekHistory;
        if (s) stateOk++;
        if (h) histOk++;
        if (s) fs++;
        if (h) fh++;
        if (o.tunnelled) {
          tunnelN++;
          if (s) tunnelStateOk++;
          if (h) tunnelHistOk++;
        }
        if (o.ours === null) {
          lines.push(`  ${o.file}\t${o.tuple}\tzeek ${o.zeekState} ${o.zeekHistory || '-'}\tours (missing)`);
          continue;
        }
        found++;
        if (o.zeekOrig !== null) {
          orientN++;
          if (`${o.ours.origH}:${o.ours.origP}` === o.zeekOrig) orientOk++;
        }
        if (o.zeekBytes !== null) {
          bytesN++;
          if (o.ours.origBytes === o.zeekBytes[0] && o.ours.respBytes === o.zeekBytes[1]) bytesOk++;
          else lines.push(`  ${o.file}\t${o.tuple}\tbytes zeek ${o.zeekBytes.join('/')} ours ${o.ours.origBytes}/${o.ours.respBytes}`);
        }
        if (o.zeekDuration !== null) {
          durN++;
          // Zeek logs microseconds.
          if (Math.abs(o.ours.duration - o.zeekDuration) < 1.5e-6) durOk++;
          else lines.push(`  ${o.file}\t${o.tuple}\tduration zeek ${o.zeekDuration} ours ${o.ours.duration.toFixed(6)}`);
        }
        if (!s || !h) lines.push(`  ${o.file}\t${o.tuple}\tzeek ${o.zeekState} ${o.zeekHistory || '-'}\tours ${o.ours.connState} ${o.ours.history || '-'}`);
      }
      perFile.push(`  ${f}\t${outcomes.length} conns\tconn_state ${fs}/${outcomes.length}\thistory ${fh}/${outcomes.length}`);
    }
    console.log(
      [
        `Zeek agreement over ${n} TCP connections in ${perFile.length} files (${found} of them found):`,
        `  conn_state ${stateOk}/${n} (${pct(stateOk, n)}), history ${histOk}/${n} (${pct(histOk, n)})`,
        `  among found: conn_state ${pct(stateOk, found)}, history ${pct(histOk, found)}; orientation ${orientOk}/${orientN}, orig/resp bytes ${bytesOk}/${bytesN}, duration ${durOk}/${durN}`,
        `  in tunnels (Zeek's tunnel_parents set): conn_state ${tunnelStateOk}/${tunnelN}, history ${tunnelHistOk}/${tunnelN}`,
        'Per file:',
        ...perFile,
        lines.length ? 'Differences:' : 'No differences.',
        ...lines,
        extras.length ? 'Connections of ours Zeek does not log:' : 'No connections of ours beyond Zeek\'s.',
        ...extras,
      ].join('\n'),
    );
    expect(n).toBeGreaterThan(0);
    expect(stateOk / n).toBeGreaterThanOrEqual(MIN_STATE_AGREEMENT);
    expect(histOk / n).toBeGreaterThanOrEqual(MIN_HISTORY_AGREEMENT);
    expect(stateOk / found).toBeGreaterThanOrEqual(MIN_STATE_AGREEMENT_FOUND);
    expect(histOk / found).toBeGreaterThanOrEqual(MIN_HISTORY_AGREEMENT_FOUND);
    // Every tunnelled connection Zeek logs is found inside its tunnel, in the same state.
    expect(tunnelN).toBeGreaterThanOrEqual(10);
    expect(tunnelStateOk).toBe(tunnelN);
    expect(tunnelHistOk).toBeGreaterThanOrEqual(tunnelN - TUNNEL_HISTORY_EXPECTED_TO_DIFFER);
  });
});

// ---------------------------------------------------------------------------
// Rules checked on made-up segments (no corpus needed).

const SA = TCP_SYN | TCP_ACK;
const FA = TCP_FIN | TCP_ACK;
const PA = TCP_PSH | TCP_ACK;

/** Feed [fromA, flags, seq, ack, len, time?] segments; times default to 0.1 s apart. */
function run(segments: Array<[boolean, number, number, number, number, number?]>, opts: ZeekConnOptions = {}, ports: [number, number] = [40000, 80]): ZeekConnState {
  const z = new ZeekConnState(ports[0], ports[1], opts);
  segments.forEach(([fromA, flags, seq, ack, len, t], i) => {
    const time = t ?? i * 0.1;
    expect(z.segment(fromA, flags, seq, ack, len, 65535, true, time)).toBe(ZEEK_SEGMENT_ADDED);
  });
  return z;
}

describe('ZeekConnState rules', () => {
  it('logs a normal exchange as SF ShADadFf with byte counts from sequence numbers', () => {
    const z = run([
      [true, TCP_SYN, 1000, 0, 0],
      [false, SA, 5000, 1001, 0],
      [true, TCP_ACK, 1001, 5001, 0],
      [true, PA, 1001, 5001, 100],
      [false, TCP_ACK, 5001, 1101, 0],
      [false, PA, 5001, 1101, 300],
      [true, FA, 1101, 5301, 0],
      [false, FA, 5301, 1102, 0],
      [true, TCP_ACK, 1102, 5302, 0],
    ]);
    expect([z.connState, z.history, z.origBytes, z.respBytes, z.origIsA]).toEqual(['SF', 'ShADadFf', 100, 300, true]);
  });

  it('logs retransmissions at the 1st and 10th occurrence', () => {
    const segs: Array<[boolean, number, number, number, number]> = [
      [true, TCP_SYN, 0, 0, 0],
      [false, SA, 0, 1, 0],
      [true, PA, 1, 1, 10],
    ];
    for (let i = 0; i < 10; i++) segs.push([true, PA, 1, 1, 10]);
    expect(run(segs).history).toBe('ShDTT');
  });

  it('tells apart S0, REJ, RSTOS0, RSTR and lone RSTs', () => {
    expect(run([[true, TCP_SYN, 0, 0, 0]]).connState).toBe('S0');
    expect(run([[true, TCP_SYN, 0, 0, 0], [false, TCP_RST | TCP_ACK, 0, 1, 0]]).connState).toBe('REJ');
    const rstos0 = run([[true, TCP_SYN, 0, 0, 0], [true, TCP_RST, 1, 0, 0]]);
    expect([rstos0.connState, rstos0.history]).toEqual(['RSTOS0', 'SR']);
    const rstr = run([[true, TCP_SYN, 0, 0, 0], [false, SA, 0, 1, 0], [true, TCP_ACK, 1, 1, 0], [false, TCP_RST, 1, 0, 0]]);
    expect([rstr.connState, rstr.history]).toEqual(['RSTR', 'ShAr']);
    expect(run([[true, TCP_RST, 7, 0, 0]]).connState).toBe('OTH');
  });

  it('drops bad checksums with a C, unless checksums are ignored', () => {
    const bad = new ZeekConnState(40000, 80);
    bad.segment(true, TCP_SYN, 0, 0, 0, 1024, false, 0);
    expect([bad.connState, bad.history]).toEqual(['OTH', 'C']);
    const ignored = new ZeekConnState(40000, 80, { ignoreChecksums: true });
    ignored.segment(true, TCP_SYN, 0, 0, 0, 1024, false, 0);
    expect([ignored.connState, ignored.history]).toEqual(['S0', 'S']);
  });

  it('flips a connection whose SYN-ACK came first: at once from a server port, else on the next ACK', () => {
    const byPort = run([[true, SA, 5000, 1001, 0], [false, TCP_ACK, 1001, 5001, 0]], {}, [80, 40000]);
    expect([byPort.origIsA, byPort.history, byPort.connState]).toEqual([false, '^hA', 'S1']);
    const byAck = run([[true, SA, 5000, 1001, 0], [false, TCP_ACK, 1001, 5001, 0]], { likelyServerPorts: new Set() }, [80, 40000]);
    expect([byAck.origIsA, byAck.history, byAck.connState]).toEqual([false, '^hA', 'S1']);
    const scan = run([[true, SA, 5000, 1001, 0], [false, TCP_RST, 1001, 0, 0]], { likelyServerPorts: new Set() }, [80, 40000]);
    expect([scan.origIsA, scan.history]).toEqual([true, 'Hr']);
  });

  it('ends connections on Zeek timers and on reuse of the tuple by a new SYN', () => {
    const zeek = { sessionRules: true };
    // What the session rules make of `next` (a segment of A's) after `first`.
    const after = (first: [number, number, number], next: [number, number, number], opts: ZeekConnOptions = zeek): number => {
      const z = new ZeekConnState(40000, 80, opts);
      expect(z.segment(true, first[0], first[1], 0, 0, 65535, true, first[2])).toBe(ZEEK_SEGMENT_ADDED);
      const r = z.segment(true, next[0], next[1], 0, 0, 65535, true, next[2]);
      expect(z.removed).toBe(r !== ZEEK_SEGMENT_ADDED);
      return r;
    };
    // tcp_attempt_delay: an unanswered SYN is given up 5 s on.
    expect(after([TCP_SYN, 0, 0], [TCP_SYN, 0, 4.9])).toBe(ZEEK_SEGMENT_ADDED);
    expect(after([TCP_SYN, 0, 0], [TCP_SYN, 0, 5.0])).toBe(ZEEK_SEGMENT_TIMED_OUT);
    // tcp_close_delay after a RST.
    expect(after([TCP_RST, 9, 0], [TCP_ACK, 9, 4])).toBe(ZEEK_SEGMENT_ADDED);
    expect(after([TCP_RST, 9, 0], [TCP_ACK, 9, 5])).toBe(ZEEK_SEGMENT_TIMED_OUT);
    // A retransmitted SYN stays; a SYN with another sequence number starts a new connection.
    expect(after([TCP_SYN, 100, 0], [TCP_SYN, 100, 0.1])).toBe(ZEEK_SEGMENT_ADDED);
    expect(after([TCP_SYN, 100, 0], [TCP_SYN, 999, 0.1])).toBe(ZEEK_SEGMENT_REUSED);
    // Without the session rules the connection takes every segment.
    expect(after([TCP_SYN, 0, 0], [TCP_SYN, 999, 10], {})).toBe(ZEEK_SEGMENT_ADDED);
  });

  it('opens the connection for a segment whose TCP header was cut short, and goes no further', () => {
    const z = new ZeekConnState(40000, 80);
    expect(z.segment(true, TCP_SYN, 0, 0, 0, 65535, true, 0, false, false)).toBe(ZEEK_SEGMENT_ADDED);
    expect([z.packets, z.startTime, z.connState, z.history]).toEqual([1, 0, 'OTH', '']);
    // The first packet still decides the roles by port: a SYN-ACK from port 80 flips them.
    const flipped = new ZeekConnState(80, 40000);
    flipped.segment(true, SA, 0, 0, 0, 65535, true, 0, false, false);
    expect([flipped.origIsA, flipped.history]).toEqual([false, '^']);
  });

  it('logs a content gap when an ack covers bytes never seen', () => {
    const z = run([
      [true, TCP_SYN, 0, 0, 0],
      [false, SA, 0, 1, 0],
      [true, TCP_ACK, 1, 1, 0],
      [false, PA, 101, 1, 100], // bytes 1..100 never seen
      [true, TCP_ACK, 1, 201, 0],
    ]);
    expect(z.history).toBe('ShAdg');
  });
});

/** RFC 1071 sum, written out plainly as the reference. */
function internetChecksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) + (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A raw IPv4 TCP packet (LINKTYPE_RAW) with correct checksums and `payload` bytes. */
function ipv4Tcp(payload: number[]): Buffer {
  const src = [192, 0, 2, 1];
  const dst = [198, 51, 100, 7];
  const tcp = [0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0, ...payload];
  const pseudo = [...src, ...dst, 0, 6, tcp.length >> 8, tcp.length & 0xff];
  const c = internetChecksum([...pseudo, ...tcp]);
  tcp[16] = c >> 8;
  tcp[17] = c & 0xff;
  const total = 20 + tcp.length;
  const ip = [0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0, ...src, ...dst];
  const ic = internetChecksum(ip);
  ip[10] = ic >> 8;
  ip[11] = ic & 0xff;
  return Buffer.from([...ip, ...tcp]);
}

function decodeRaw(buf: Buffer, capLen = buf.length): ReturnType<Decoder['decode']> {
  const f = new Frame();
  f.linkType = 101;
  f.buf = buf;
  f.capLen = capLen;
  f.origLen = buf.length;
  return new Decoder().decode(f);
}

describe('tcpChecksumOk', () => {
  it('accepts right checksums, rejects a flipped bit, and cannot tell for cut segments', () => {
    for (const payload of [[], [1, 2, 3], [0xde, 0xad, 0xbe, 0xef]]) {
      const good = ipv4Tcp(payload);
      const p = decodeRaw(good);
      if (p.kind !== 'tcp') throw new Error('not decoded as TCP');
      expect(tcpChecksumOk(good, p.ip, p.tcp)).toBe(true);
      expect(ipv4HeaderChecksumOk(good, p.ip)).toBe(true);
      const bad = Buffer.from(good);
      bad[bad.length - 1] ^= 0x10;
      const q = decodeRaw(bad);
      if (q.kind !== 'tcp') throw new Error('not decoded as TCP');
      expect(tcpChecksumOk(bad, q.ip, q.tcp)).toBe(false);
    }
    const cut = ipv4Tcp([1, 2, 3, 4]);
    const c = decodeRaw(cut, cut.length - 2);
    if (c.kind !== 'tcp') throw new Error('not decoded as TCP');
    expect(tcpChecksumOk(cut, c.ip, c.tcp)).toBeNull();
  });
});
