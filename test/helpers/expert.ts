/**
 * Helpers for the tshark tcp.analysis.* differential tests: a tiny pcap writer for
 * hand-made TCP conversations, and a live tshark query of the analysis flags.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/** The tcp.analysis.* flags tshark 4.0 can report, by field suffix. */
export const TSHARK_ANALYSIS_FIELDS = [
  'retransmission',
  'fast_retransmission',
  'spurious_retransmission',
  'out_of_order',
  'lost_segment',
  'ack_lost_segment',
  'duplicate_ack',
  'zero_window',
  'zero_window_probe',
  'zero_window_probe_ack',
  'keep_alive',
  'keep_alive_ack',
  'window_update',
  'window_full',
  'reused_ports',
] as const;

/**
 * frame -> tcp.analysis.* flag names tshark reports (default preferences), plus the
 * duplicate-ACK number under the key "duplicate_ack_num=<n>".
 */
export function tsharkAnalysisFlags(path: string): Map<number, Set<string>> {
  const args = ['-r', path, '-T', 'fields', '-E', 'occurrence=f', '-e', 'frame.number', '-e', 'tcp.analysis.duplicate_ack_num'];
  for (const f of TSHARK_ANALYSIS_FIELDS) args.push('-e', `tcp.analysis.${f}`);
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
  const m = new Map<number, Set<string>>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const c = line.split('\t');
    const s = new Set<string>();
    if (c[1]) s.add(`duplicate_ack_num=${c[1]}`);
    TSHARK_ANALYSIS_FIELDS.forEach((f, i) => {
      if (c[i + 2]) s.add(f);
    });
    if (s.size > 0) m.set(Number(c[0]), s);
  }
  return m;
}

/** One hand-made segment. Endpoint A is 10.0.0.1 (or 2001:db8::1), B is 10.0.0.2 (2001:db8::2). */
export interface Seg {
  from: 'A' | 'B';
  /** Milliseconds since the start. */
  t: number;
  flags: string;
  seq: number;
  ack: number;
  len?: number;
  win: number;
  /** Window-scale option shift. */
  ws?: number;
}

export interface Conv {
  portA: number;
  portB: number;
  v6?: boolean;
  segs: Seg[];
}

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 };

function tcpFlags(s: string): number {
  let f = 0;
  for (const ch of s) f |= FLAG_BITS[ch] ?? 0;
  return f;
}

function frame(seg: Seg, c: Conv): Buffer {
  const opts: number[] = [];
  if (seg.ws !== undefined) opts.push(1, 3, 3, seg.ws);
  const tcpLen = 20 + opts.length;
  const payload = seg.len ?? 0;
  const tcp = Buffer.alloc(tcpLen + payload, 0x61);
  const fromA = seg.from === 'A';
  tcp.writeUInt16BE(fromA ? c.portA : c.portB, 0);
  tcp.writeUInt16BE(fromA ? c.portB : c.portA, 2);
  tcp.writeUInt32BE(seg.seq >>> 0, 4);
  tcp.writeUInt32BE(seg.ack >>> 0, 8);
  tcp[12] = (tcpLen / 4) << 4;
  tcp[13] = tcpFlags(seg.flags);
  tcp.writeUInt16BE(seg.win, 14);
  tcp.writeUInt32BE(0, 16);
  Buffer.from(opts).copy(tcp, 20);
  let ip: Buffer;
  if (c.v6) {
    ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(tcp.length, 4);
    ip[6] = 6;
    ip[7] = 64;
    ip[8] = 0x20;
    ip[9] = 0x01;
    ip[10] = 0x0d;
    ip[11] = 0xb8;
    ip[24] = 0x20;
    ip[25] = 0x01;
    ip[26] = 0x0d;
    ip[27] = 0xb8;
    ip[23] = fromA ? 1 : 2;
    ip[39] = fromA ? 2 : 1;
  } else {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + tcp.length, 2);
    ip[8] = 64;
    ip[9] = 6;
    Buffer.from([10, 0, 0, fromA ? 1 : 2]).copy(ip, 12);
    Buffer.from([10, 0, 0, fromA ? 2 : 1]).copy(ip, 16);
  }
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(c.v6 ? 0x86dd : 0x0800, 12);
  eth[5] = fromA ? 1 : 2;
  eth[11] = fromA ? 2 : 1;
  return Buffer.concat([eth, ip, tcp]);
}

/**
 * Write the conversations' segments as a microsecond pcap, merged by time (stable), or
 * in the order given when `sorted` is false (to make time run backwards).
 */
export function writeConversations(path: string, convs: Conv[], sorted = true, baseSec = 1_700_000_000): number {
  const all: { seg: Seg; c: Conv; i: number }[] = [];
  let i = 0;
  for (const c of convs) for (const seg of c.segs) all.push({ seg, c, i: i++ });
  if (sorted) all.sort((x, y) => x.seg.t - y.seg.t || x.i - y.i);
  const parts: Buffer[] = [];
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20);
  parts.push(hdr);
  for (const { seg, c } of all) {
    const f = frame(seg, c);
    const rec = Buffer.alloc(16);
    const us = Math.round(seg.t * 1000);
    rec.writeUInt32LE(baseSec + Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    parts.push(rec, f);
  }
  writeFileSync(path, Buffer.concat(parts));
  return all.length;
}
