import { formatEpoch } from '../capture/timestamp.js';
import type { Finding } from '../detect/finding.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TCP_URG, type IcmpErrorPacket, type Packet, type TcpPacket } from '../decode/packet.js';
import type { Connection } from '../track/connection.js';
import { seqFlagNames } from '../track/seq-analysis.js';
import type { TcpState } from '../track/states.js';
import type { SegmentInfo } from '../track/tracker.js';
import { formatIp } from '../util/address.js';
import { plainText } from './escape.js';
import { TUNNEL_ERSPAN, TUNNEL_NAMES, type TunnelPath } from '../decode/tunnel.js';
import { tunnelText } from '../decode/tunnel-text.js';
import { flagNames } from './flags.js';
import { analysisLabels, TcpdumpSequence, tcpdumpFlags, timeOfDay } from './tcpdump.js';

/**
 * `tcpsleuth packets`: one line per TCP segment (and per ICMP error quoting a
 * connection) in the style of `tcpdump -# -nn` (frame number, time, endpoints,
 * flags, relative seq/ack, window, length; TCP options left out), followed by both
 * endpoints' states after it, its tshark analysis flags, and the findings whose
 * packets include it. Fed by the second pass over the captures (Pipeline.onPacket),
 * it keeps nothing per packet: lines are written out as they are made.
 */

/** Findings by the (capture, frame) of their packets. */
export type FindingIndex = Map<number, Map<number, Finding[]>>;

export function indexFindings(findings: readonly Finding[]): FindingIndex {
  const idx: FindingIndex = new Map();
  const add = (f: Finding, capture: number, frame: number): void => {
    let frames = idx.get(capture);
    if (frames === undefined) idx.set(capture, (frames = new Map()));
    const list = frames.get(frame);
    if (list === undefined) frames.set(frame, [f]);
    else if (!list.includes(f)) list.push(f);
  };
  for (const f of findings) {
    for (const n of f.packets) add(f, f.capture, n);
    for (const p of f.otherPackets) add(f, p.capture, p.frame);
  }
  return idx;
}

export function findingsAt(idx: FindingIndex, capture: number, frame: number): Finding[] {
  return idx.get(capture)?.get(frame) ?? [];
}

export interface ListingOptions {
  format: 'text' | 'json';
  /** Ids of the connections to list; null lists all. */
  connections: ReadonlySet<number> | null;
  /** The findings to annotate packets with (the view's). */
  findings: readonly Finding[];
  /** Frame numbers are written capture:frame (1-based capture) when several captures are read. */
  multiCapture: boolean;
  /** ANSI colours for state changes, findings and analysis flags (text only). */
  color: boolean;
  write(chunk: string): void;
}

/** One line of `--format json` (JSON Lines). */
export interface PacketRecord {
  capture: number;
  frame: number;
  /** Epoch seconds, exact, as a decimal string; null for a frame without a timestamp. */
  time: string | null;
  connection: number;
  kind: 'tcp' | 'icmp-error';
  from: 'client' | 'server';
  src: string;
  dst: string;
  /** tcpdump's letters ("S.", "FP.") and the flag names. */
  tcpdumpFlags: string;
  flags: string[];
  /** seq/ack as tcpdump prints them: relative once the connection's bases are known. */
  seq: number;
  ack: number | null;
  relative: boolean;
  seqAbsolute: number;
  ackAbsolute: number | null;
  len: number;
  win: number;
  /** Both endpoints' states after the packet, and the ones it changed. */
  client: TcpState;
  server: TcpState;
  changed: Partial<Record<'client' | 'server', { from: TcpState; to: TcpState }>>;
  /** tcp.analysis.<name> flags, as tshark names the fields. */
  analysis: string[];
  findings: Array<{ kind: string; severity: string; connection: number; endpoint: string }>;
  comments: string[];
  /** For ICMP errors: what it says. */
  icmp?: string;
  /** The encapsulations this packet came in, outermost first, as it carried them (absent when none). */
  tunnel?: PacketTunnelLayer[];
}

/** One encapsulation of one packet: its outer addresses, UDP ports and id as on the wire. */
export interface PacketTunnelLayer {
  type: string;
  /** ERSPAN's type (1, 2 or 3); null for the other encapsulations. */
  erspanType: number | null;
  src: string;
  dst: string;
  srcPort: number | null;
  dstPort: number | null;
  id: number | null;
}

function packetTunnel(t: TunnelPath): PacketTunnelLayer[] {
  const out: PacketTunnelLayer[] = [];
  for (let i = 0; i < t.depth; i++) {
    const l = t.layers[i]!;
    out.push({
      type: TUNNEL_NAMES[l.kind],
      erspanType: l.kind === TUNNEL_ERSPAN ? l.variant : null,
      src: formatIp(l.version, l.src),
      dst: formatIp(l.version, l.dst),
      srcPort: l.inUdp ? l.srcPort : null,
      dstPort: l.inUdp ? l.dstPort : null,
      id: l.id >= 0 ? l.id : null,
    });
  }
  return out;
}

/** The prefix of a tunnelled packet's line: "vxlan 10.98.0.1>10.98.0.2 VNI 42: " ("" when not tunnelled). */
function tunnelPrefix(t: TunnelPath): string {
  return t.depth === 0 ? '' : `${tunnelText(t)}: `;
}

const C = { change: '\x1b[1;33m', finding: '\x1b[1;31m', analysis: '\x1b[36m', reset: '\x1b[0m' };
const FLUSH_AT = 64 * 1024;

function hostPort(version: 4 | 6, a: Uint8Array, port: number): string {
  return `${formatIp(version, a)}.${port}`;
}

/** "IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S.], seq 0, ack 1, win 65160, length 0", as tcpdump -nn prints it (without options). */
export function tcpdumpText(p: TcpPacket, seq: number, ack: number): string {
  const { ip, tcp } = p;
  const f = tcp.flags;
  const len = tcp.payloadLength;
  let s = `${ip.version === 4 ? 'IP' : 'IP6'} ${hostPort(ip.version, ip.src, tcp.srcPort)} > ${hostPort(ip.version, ip.dst, tcp.dstPort)}: Flags [${tcpdumpFlags(f)}]`;
  if (len > 0 || f & (TCP_SYN | TCP_FIN | TCP_RST)) {
    s += `, seq ${seq}`;
    if (len > 0) s += `:${(seq + len) >>> 0}`;
  }
  if (f & TCP_ACK) s += `, ack ${ack}`;
  s += `, win ${tcp.window}`;
  if (f & TCP_URG) s += `, urg ${tcp.urgent}`;
  return `${s}, length ${len}`;
}

/** "ICMP unreachable (type 3 code 1) for 10.0.0.1.40000 > 10.0.0.2.80". */
export function icmpText(p: IcmpErrorPacket): string {
  const { ip, icmp } = p;
  const q = icmp.quoted;
  const mtu = icmp.mtu ? `, mtu ${icmp.mtu}` : '';
  return `${ip.version === 4 ? 'IP' : 'IP6'} ${formatIp(ip.version, ip.src)} > ${formatIp(ip.version, ip.dst)}: ICMP${icmp.version === 6 ? '6' : ''} ${icmp.errorClass} (type ${icmp.type} code ${icmp.code}${mtu}) for ${hostPort(q.ip.version, q.ip.src, q.srcPort)} > ${hostPort(q.ip.version, q.ip.dst, q.dstPort)}`;
}

export class PacketListing {
  private readonly seqs = new TcpdumpSequence();
  private readonly byPacket: FindingIndex;
  private chunk = '';
  private capture = 0;
  /** Lines written. */
  lines = 0;

  constructor(private readonly o: ListingOptions) {
    this.byPacket = indexFindings(o.findings);
  }

  /** The Pipeline.onPacket hook. */
  readonly onPacket = (p: Packet, c: Connection | null, seg: SegmentInfo | null): void => {
    if (c === null) return;
    if (p.kind === 'tcp' && seg !== null) {
      this.capture = seg.now.capture;
      // tcpdump keeps bases for every 4-tuple, listed or not.
      const n = this.seqs.numbers(p);
      if (this.o.connections !== null && !this.o.connections.has(c.id)) return;
      this.tcpLine(p, c, seg, n.seq, n.ack, n.relative);
    } else if (p.kind === 'icmp-error') {
      if (this.o.connections !== null && !this.o.connections.has(c.id)) return;
      const last = c.icmp[c.icmp.length - 1];
      const capture = last !== undefined && last.at.frame === p.frame.index ? last.at.capture : this.capture;
      this.icmpLine(p, c, capture);
    }
  };

  private frameLabel(capture: number, frame: number): string {
    return (this.o.multiCapture ? `${capture + 1}:${frame}` : String(frame)).padStart(this.o.multiCapture ? 8 : 5);
  }

  private tcpLine(p: TcpPacket, c: Connection, seg: SegmentInfo, seq: number, ack: number, relative: boolean): void {
    const capture = seg.now.capture;
    const frame = p.frame.index;
    const fromClient = seg.from.role === 'client';
    const changed: PacketRecord['changed'] = {};
    const before = { client: fromClient ? seg.fromBefore : seg.toBefore, server: fromClient ? seg.toBefore : seg.fromBefore };
    if (before.client !== c.client.state) changed.client = { from: before.client, to: c.client.state };
    if (before.server !== c.server.state) changed.server = { from: before.server, to: c.server.state };
    const findings = findingsAt(this.byPacket, capture, frame);
    const tcp = p.tcp;
    if (this.o.format === 'json') {
      const rec: PacketRecord = {
        capture,
        frame,
        time: p.frame.hasTime ? formatEpoch(p.frame.sec, p.frame.nsec) : null,
        connection: c.id,
        kind: 'tcp',
        from: fromClient ? 'client' : 'server',
        src: c.address(fromClient ? 'client' : 'server'),
        dst: c.address(fromClient ? 'server' : 'client'),
        tcpdumpFlags: tcpdumpFlags(tcp.flags),
        flags: flagNames(tcp.flags),
        seq,
        ack: tcp.flags & TCP_ACK ? ack : null,
        relative,
        seqAbsolute: tcp.seq,
        ackAbsolute: tcp.flags & TCP_ACK ? tcp.ack : null,
        len: tcp.payloadLength,
        win: tcp.window,
        client: c.client.state,
        server: c.server.state,
        changed,
        analysis: seqFlagNames(seg.analysis),
        findings: findings.map((f) => ({ kind: f.kind, severity: f.severity, connection: f.connection, endpoint: f.endpoint })),
        comments: p.frame.comments ?? [],
      };
      if (p.tunnel.depth !== 0) rec.tunnel = packetTunnel(p.tunnel);
      this.emit(JSON.stringify(rec));
      return;
    }
    const time = p.frame.hasTime ? timeOfDay(p.frame.sec, p.frame.nsec) : '--:--:--.------';
    const parts = [`${this.frameLabel(capture, frame)}  ${time} ${tunnelPrefix(p.tunnel)}${tcpdumpText(p, seq, ack)}`, this.states(c, changed)];
    const labels = analysisLabels(seg.analysis);
    if (labels.length) parts.push(this.paint(labels.map((l) => `[${l}]`).join(' '), C.analysis));
    this.tail(parts, c, findings, p.frame.comments);
  }

  private icmpLine(p: IcmpErrorPacket, c: Connection, capture: number): void {
    const frame = p.frame.index;
    const findings = findingsAt(this.byPacket, capture, frame);
    const text = icmpText(p);
    if (this.o.format === 'json') {
      const last = c.icmp[c.icmp.length - 1];
      const toward = last?.toward ?? 'client';
      const q = p.icmp.quoted;
      const rec: PacketRecord = {
        capture,
        frame,
        time: p.frame.hasTime ? formatEpoch(p.frame.sec, p.frame.nsec) : null,
        connection: c.id,
        kind: 'icmp-error',
        from: toward === 'client' ? 'server' : 'client',
        src: formatIp(p.ip.version, p.ip.src),
        dst: formatIp(p.ip.version, p.ip.dst),
        tcpdumpFlags: q.hasAckAndFlags ? tcpdumpFlags(q.flags) : '',
        flags: q.hasAckAndFlags ? flagNames(q.flags) : [],
        seq: q.seq,
        ack: q.hasAckAndFlags ? q.ack : null,
        relative: false,
        seqAbsolute: q.seq,
        ackAbsolute: q.hasAckAndFlags ? q.ack : null,
        len: 0,
        win: 0,
        client: c.client.state,
        server: c.server.state,
        changed: {},
        analysis: [],
        findings: findings.map((f) => ({ kind: f.kind, severity: f.severity, connection: f.connection, endpoint: f.endpoint })),
        comments: p.frame.comments ?? [],
        icmp: text,
      };
      if (p.tunnel.depth !== 0) rec.tunnel = packetTunnel(p.tunnel);
      this.emit(JSON.stringify(rec));
      return;
    }
    const time = p.frame.hasTime ? timeOfDay(p.frame.sec, p.frame.nsec) : '--:--:--.------';
    this.tail([`${this.frameLabel(capture, frame)}  ${time} ${tunnelPrefix(p.tunnel)}${text}`, this.states(c, {})], c, findings, p.frame.comments);
  }

  private states(c: Connection, changed: PacketRecord['changed']): string {
    const one = (role: 'client' | 'server'): string => {
      const ch = changed[role];
      return ch ? `${role} ${this.paint(`${ch.from}->${ch.to}`, C.change)}` : `${role} ${c[role].state}`;
    };
    return `#${c.id} ${one('client')} ${one('server')}`;
  }

  private tail(parts: string[], c: Connection, findings: readonly Finding[], comments: string[] | null): void {
    if (findings.length) {
      const names = findings.map((f) => `${f.kind} (${f.severity}${f.connection !== c.id ? `, connection ${f.connection}` : ''})`);
      parts.push(this.paint(`finding ${names.join(', ')}`, C.finding));
    }
    if (comments) for (const k of comments) parts.push(`comment ${JSON.stringify(plainText(k))}`);
    this.emit(parts.join(' | '));
  }

  private paint(s: string, code: string): string {
    return this.o.color ? `${code}${s}${C.reset}` : s;
  }

  private emit(line: string): void {
    this.chunk += `${line}\n`;
    this.lines++;
    if (this.chunk.length >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.chunk) this.o.write(this.chunk);
    this.chunk = '';
  }
}
