import { analyzeCaptures } from '../analyze.js';
import { formatIso } from '../capture/timestamp.js';
import { TCP_ACK, TCP_RST, TCP_SYN, type Packet } from '../decode/packet.js';
import { severityRank, type Finding, type Severity } from '../detect/finding.js';
import type { DetectOptions } from '../detect/options.js';
import type { Connection } from '../track/connection.js';
import type { TcpState } from '../track/states.js';
import type { SegmentInfo } from '../track/tracker.js';
import { escapeHtml } from './escape.js';
import { flaggedConnections, type ReportLimits } from './incident.js';
import { findingsAt, indexFindings, type FindingIndex } from './listing.js';
import { analysisLabels, tcpdumpFlags, timeOfDay } from './tcpdump.js';
import type { View } from './view.js';

/**
 * Ladder (sequence) diagrams of flagged connections: two timelines, client and
 * server, one arrow per packet, each endpoint's state written along its timeline
 * where it changes, the findings' packets highlighted. The packets are gathered in
 * a second pass over the captures with bounded memory: per diagram the first
 * packets, the last ones and the findings' and state changes' packets in between,
 * the rest counted and said to be left out.
 */

export interface LadderFindingMark {
  kind: string;
  severity: Severity;
  connection: number;
}

export interface LadderPacket {
  /** 1-based position among the connection's packets (TCP and ICMP errors). */
  ordinal: number;
  capture: number;
  frame: number;
  sec: number;
  nsec: number;
  hasTime: boolean;
  kind: 'tcp' | 'icmp';
  /** Sent by the client (for ICMP: the error went to the server). */
  fromClient: boolean;
  flags: number;
  /** Relative to each side's initial sequence number, as Wireshark shows them (SYN = 0). */
  seq: number;
  ack: number;
  len: number;
  win: number;
  analysis: number;
  /** The state the packet moved each endpoint to, or null when unchanged. */
  clientTo: TcpState | null;
  serverTo: TcpState | null;
  findings: LadderFindingMark[];
  /** ICMP errors: what the error says. */
  text: string;
  /** pcapng packet comments (bounded). */
  comments: string[];
}

export interface Ladder {
  connection: number;
  client: string;
  server: string;
  partial: boolean;
  initial: { client: TcpState; server: TcpState };
  startSec: number;
  startNsec: number;
  /** Packets of the connection (TCP and ICMP errors quoting it). */
  total: number;
  /** The packets drawn, in order; gaps in `ordinal` are left out. */
  packets: LadderPacket[];
}

/** A gap between two drawn packets. */
export interface Elision {
  count: number;
  firstFrame: number;
  lastFrame: number;
}

export type LadderRow = { packet: LadderPacket } | { elided: Elision };

const MAX_COMMENTS = 4;
const MAX_COMMENT_CHARS = 300;

interface Building {
  ladder: Ladder;
  /** Pass-1 identity, so a file that changed between passes is not drawn wrongly. */
  firstCapture: number;
  firstFrame: number;
  baseClient: number | null;
  baseServer: number | null;
  head: LadderPacket[];
  tail: LadderPacket[];
  middle: LadderPacket[];
}

const important = (p: LadderPacket): boolean => p.findings.length > 0 || p.clientTo !== null || p.serverTo !== null;

/** Collects the packets of the chosen connections during a replay (Pipeline.onPacket). */
export class LadderCollector {
  private readonly byId = new Map<number, Building>();
  private readonly idx: FindingIndex;
  private readonly headSize: number;
  private readonly tailSize: number;
  private readonly middleSize: number;
  private capture = 0;

  constructor(
    connections: readonly Connection[],
    findings: readonly Finding[],
    private readonly limit: number,
  ) {
    this.idx = indexFindings(findings);
    this.headSize = Math.max(1, Math.floor(limit * 0.4));
    this.tailSize = Math.max(0, limit - this.headSize);
    this.middleSize = Math.max(1, Math.floor(limit * 0.2));
    for (const c of connections) {
      this.byId.set(c.id, {
        ladder: {
          connection: c.id,
          client: c.address('client'),
          server: c.address('server'),
          partial: c.partial,
          initial: { client: c.client.initialState, server: c.server.initialState },
          startSec: c.firstSec,
          startNsec: c.firstNsec,
          total: 0,
          packets: [],
        },
        firstCapture: c.firstCapture,
        firstFrame: c.firstFrame,
        baseClient: null,
        baseServer: null,
        head: [],
        tail: [],
        middle: [],
      });
    }
  }

  readonly onPacket = (p: Packet, c: Connection | null, seg: SegmentInfo | null): void => {
    if (seg !== null) this.capture = seg.now.capture;
    if (c === null) return;
    const b = this.byId.get(c.id);
    if (b === undefined || b.firstFrame !== c.firstFrame || b.firstCapture !== c.firstCapture) return;
    const frame = p.frame;
    const rec: LadderPacket = {
      ordinal: ++b.ladder.total,
      capture: this.capture,
      frame: frame.index,
      sec: frame.sec,
      nsec: frame.nsec,
      hasTime: frame.hasTime,
      kind: 'tcp',
      fromClient: true,
      flags: 0,
      seq: 0,
      ack: 0,
      len: 0,
      win: 0,
      analysis: 0,
      clientTo: null,
      serverTo: null,
      findings: [],
      text: '',
      comments: (frame.comments ?? []).slice(0, MAX_COMMENTS).map((k) => (k.length > MAX_COMMENT_CHARS ? `${k.slice(0, MAX_COMMENT_CHARS)}…` : k)),
    };
    if (p.kind === 'tcp' && seg !== null) {
      const tcp = p.tcp;
      const fromClient = seg.from.role === 'client';
      const f = tcp.flags;
      // Wireshark's relative numbers: a side's base is its ISN (or the first seq seen - 1).
      let own = fromClient ? b.baseClient : b.baseServer;
      if (own === null || (f & TCP_SYN && !(f & TCP_RST))) own = f & TCP_SYN ? tcp.seq : (tcp.seq - 1) >>> 0;
      let other = fromClient ? b.baseServer : b.baseClient;
      if (other === null && f & TCP_ACK) other = (tcp.ack - 1) >>> 0;
      if (fromClient) {
        b.baseClient = own;
        b.baseServer = other;
      } else {
        b.baseServer = own;
        b.baseClient = other;
      }
      rec.fromClient = fromClient;
      rec.flags = f;
      rec.seq = (tcp.seq - own) >>> 0;
      rec.ack = other === null ? 0 : (tcp.ack - other) >>> 0;
      rec.len = tcp.payloadLength;
      rec.win = tcp.window;
      rec.analysis = seg.analysis;
      const beforeClient = fromClient ? seg.fromBefore : seg.toBefore;
      const beforeServer = fromClient ? seg.toBefore : seg.fromBefore;
      if (beforeClient !== c.client.state) rec.clientTo = c.client.state;
      if (beforeServer !== c.server.state) rec.serverTo = c.server.state;
    } else if (p.kind === 'icmp-error') {
      const last = c.icmp[c.icmp.length - 1];
      if (last !== undefined && last.at.frame === frame.index) rec.capture = last.at.capture;
      const toward = last?.toward ?? 'client';
      rec.kind = 'icmp';
      rec.fromClient = toward === 'server';
      const i = p.icmp;
      rec.text = `ICMP${i.version === 6 ? 'v6' : ''} ${i.errorClass} ${i.type}/${i.code} from ${last?.reporter ?? '?'}`;
    } else return;
    rec.findings = findingsAt(this.idx, rec.capture, rec.frame).map((f) => ({ kind: f.kind, severity: f.severity, connection: f.connection }));
    this.keep(b, rec);
  };

  private keep(b: Building, rec: LadderPacket): void {
    if (b.head.length < this.headSize) {
      b.head.push(rec);
      return;
    }
    b.tail.push(rec);
    if (b.tail.length <= this.tailSize) return;
    const out = b.tail.shift()!;
    if (!important(out)) return;
    if (b.middle.length < this.middleSize) {
      b.middle.push(out);
      return;
    }
    // A finding's packet displaces a mere state change.
    if (out.findings.length > 0) {
      const i = b.middle.findIndex((m) => m.findings.length === 0);
      if (i >= 0) {
        b.middle.splice(i, 1);
        b.middle.push(out);
      }
    }
  }

  /** The diagrams, by connection id. */
  ladders(): Map<number, Ladder> {
    const out = new Map<number, Ladder>();
    for (const [id, b] of this.byId) {
      const tail = [...b.tail];
      // Keep within the limit: drop the oldest plain packets of the tail first.
      let over = b.head.length + b.middle.length + tail.length - this.limit;
      for (let i = 0; over > 0 && i < tail.length; ) {
        if (!important(tail[i]!)) {
          tail.splice(i, 1);
          over--;
        } else i++;
      }
      while (over > 0 && tail.length > 0) {
        tail.shift();
        over--;
      }
      out.set(id, { ...b.ladder, packets: [...b.head, ...b.middle, ...tail] });
    }
    return out;
  }
}

/** The connections that get a diagram: the flagged ones, worst first, up to the limit. */
export function diagramConnections(v: View, limits: ReportLimits): { chosen: Connection[]; leftOut: number } {
  const flagged = flaggedConnections(v);
  return { chosen: flagged.slice(0, limits.diagrams), leftOut: Math.max(0, flagged.length - limits.diagrams) };
}

/**
 * Second pass over the captures: the packets of the connections that get a diagram.
 * `paths` must be re-readable (standard input copied to a file first: replay.ts).
 */
export async function collectLadders(paths: string[], options: DetectOptions, v: View, limits: ReportLimits): Promise<Map<number, Ladder>> {
  const { chosen } = diagramConnections(v, limits);
  if (chosen.length === 0) return new Map();
  const collector = new LadderCollector(chosen, v.findings, limits.packetsPerDiagram);
  await analyzeCaptures(paths, options, undefined, { onPacket: collector.onPacket });
  return collector.ladders();
}

/** The drawn packets with elision markers where packets were left out. */
export function ladderRows(l: Ladder): LadderRow[] {
  const rows: LadderRow[] = [];
  let prev: LadderPacket | null = null;
  for (const p of l.packets) {
    const gap = p.ordinal - (prev === null ? 0 : prev.ordinal) - 1;
    if (gap > 0) rows.push({ elided: { count: gap, firstFrame: prev === null ? 0 : prev.frame + 1, lastFrame: p.frame - 1 } });
    rows.push({ packet: p });
    prev = p;
  }
  const after = l.total - (prev === null ? 0 : prev.ordinal);
  if (after > 0) rows.push({ elided: { count: after, firstFrame: prev === null ? 0 : prev.frame + 1, lastFrame: -1 } });
  return rows;
}

/** Packets of the connection not drawn. */
export function leftOutOf(l: Ladder): number {
  return l.total - l.packets.length;
}

/** "[P.] seq 1 ack 1 len 18", the arrow's label. */
export function arrowLabel(p: LadderPacket): string {
  if (p.kind === 'icmp') return p.text;
  let s = `[${tcpdumpFlags(p.flags)}] seq ${p.seq}`;
  if (p.flags & TCP_ACK) s += ` ack ${p.ack}`;
  s += ` len ${p.len}`;
  if (p.win === 0 && !(p.flags & TCP_RST)) s += ' win 0';
  return s;
}

function relTime(l: Ladder, p: LadderPacket): string {
  if (!p.hasTime) return '';
  return `+${(p.sec - l.startSec + (p.nsec - l.startNsec) / 1e9).toFixed(6)}`;
}

function findingNames(p: LadderPacket, l: Ladder): string {
  return p.findings.map((f) => (f.connection === l.connection ? f.kind : `${f.kind} (#${f.connection})`)).join(', ');
}

function elisionText(e: Elision): string {
  const n = `${e.count} packet${e.count === 1 ? '' : 's'} left out`;
  if (e.lastFrame < 0) return `${n} (after frame ${e.firstFrame - 1})`;
  return e.firstFrame <= e.lastFrame ? `${n} (frames ${e.firstFrame}–${e.lastFrame})` : n;
}

// ---------------------------------------------------------------------------
// SVG
// ---------------------------------------------------------------------------

const W = 1060;
const CX = 310;
const SX = 730;
const ROW = 26;
const GAP = 30;
const TOP = 86;

function worstSeverity(p: LadderPacket): Severity {
  let w: Severity = 'info';
  for (const f of p.findings) if (severityRank(f.severity) > severityRank(w)) w = f.severity;
  return w;
}

function fit(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** One self-contained <svg> (no ids, no external references; styles from the page's classes, with fallbacks inline). */
export function renderLadderSvg(l: Ladder): string {
  const rows = ladderRows(l);
  let height = TOP + 8;
  for (const r of rows) height += 'packet' in r ? ROW : GAP;
  height += 16;
  const e = escapeHtml;
  const head: string[] = [];
  const bg: string[] = [];
  const lines: string[] = [];
  const o: string[] = [];
  head.push(
    `<svg class="ladder" data-connection="${l.connection}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${e(`Ladder diagram of connection ${l.connection}: client ${l.client}, server ${l.server}`)}" font-family="ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="12">`,
  );
  // Column headings and the two endpoint boxes.
  o.push(`<text x="56" y="${TOP - 10}" text-anchor="end" class="muted" fill="#666">frame</text>`);
  o.push(`<text x="150" y="${TOP - 10}" text-anchor="end" class="muted" fill="#666">time (s)</text>`);
  for (const [x, role, addr] of [
    [CX, 'client', l.client],
    [SX, 'server', l.server],
  ] as const) {
    o.push(`<rect x="${x - 130}" y="6" width="260" height="44" rx="6" fill="#eef2f7" stroke="#9aa7b8"/>`);
    o.push(`<text x="${x}" y="24" text-anchor="middle" font-weight="bold" fill="#1d2733">${role}</text>`);
    o.push(`<text x="${x}" y="42" text-anchor="middle" fill="#1d2733">${e(fit(addr, 36))}</text>`);
  }
  // Initial states.
  o.push(`<text x="${CX - 12}" y="${TOP - 10}" text-anchor="end" class="state" fill="#5b3c99" font-weight="bold">${e(l.initial.client)}</text>`);
  o.push(`<text x="${SX + 12}" y="${TOP - 10}" class="state" fill="#5b3c99" font-weight="bold">${e(l.initial.server)}</text>`);
  let y = TOP;
  // Timelines, drawn per row so elided stretches are dashed.
  const line = (y0: number, y1: number, dashed: boolean): void => {
    for (const x of [CX, SX]) {
      lines.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#556" stroke-width="2"${dashed ? ' stroke-dasharray="4 5"' : ''}/>`);
    }
  };
  line(50, TOP, false);
  for (const r of rows) {
    if ('elided' in r) {
      line(y, y + GAP, true);
      o.push(
        `<text x="${(CX + SX) / 2}" y="${y + GAP / 2 + 4}" text-anchor="middle" font-style="italic" fill="#666" class="elided">⋯ ${e(elisionText(r.elided))} ⋯</text>`,
      );
      y += GAP;
      continue;
    }
    const p = r.packet;
    line(y, y + ROW, false);
    const flagged = p.findings.length > 0;
    const sev = worstSeverity(p);
    const y0 = y + 13;
    const y1 = y0 + 8;
    const [xa, xb] = p.fromClient ? [CX, SX] : [SX, CX];
    const dir = p.fromClient ? 1 : -1;
    const colour = flagged ? (sev === 'info' ? '#1f6fb2' : '#c62828') : p.kind === 'icmp' ? '#d35400' : p.fromClient ? '#1f5fa8' : '#2e7d32';
    const details = [
      `frame ${p.frame}${p.capture > 0 ? ` (capture ${p.capture + 1})` : ''}`,
      p.hasTime ? `${timeOfDay(p.sec, p.nsec)} UTC` : 'no timestamp',
      p.kind === 'icmp' ? p.text : `${p.fromClient ? 'client → server' : 'server → client'} ${arrowLabel(p)} win ${p.win}`,
      ...analysisLabels(p.analysis).map((a) => `[${a}]`),
      ...(p.clientTo ? [`client → ${p.clientTo}`] : []),
      ...(p.serverTo ? [`server → ${p.serverTo}`] : []),
      ...(flagged ? [`finding: ${findingNames(p, l)}`] : []),
      ...p.comments.map((k) => `comment: ${k}`),
    ];
    o.push(`<g class="pkt${flagged ? ` flagged ${sev}` : ''}" data-frame="${p.frame}"><title>${e(details.join('\n'))}</title>`);
    if (flagged) {
      bg.push(`<rect x="2" y="${y + 1}" width="${W - 4}" height="${ROW - 2}" rx="3" fill="${sev === 'info' ? '#e3f0fb' : '#fde7e4'}"/>`);
    }
    o.push(`<text x="56" y="${y0 + 4}" text-anchor="end"${flagged ? ' font-weight="bold"' : ''} fill="#333">${p.frame}</text>`);
    o.push(`<text x="150" y="${y0 + 4}" text-anchor="end" fill="#666">${e(relTime(l, p))}</text>`);
    // The arrow: a slight slope for transit time, and a head at the receiver.
    const tipX = xb - dir * 2;
    o.push(
      `<line x1="${xa}" y1="${y0}" x2="${tipX - dir * 8}" y2="${y1 - 0.6}" stroke="${colour}" stroke-width="${flagged ? 2.4 : 1.4}"${p.kind === 'icmp' ? ' stroke-dasharray="6 3"' : ''}/>`,
    );
    o.push(`<polygon points="${tipX},${y1} ${tipX - dir * 10},${y1 - 4.5} ${tipX - dir * 10},${y1 + 3.5}" fill="${colour}"/>`);
    const labels = analysisLabels(p.analysis);
    const label = arrowLabel(p);
    const an = labels.length ? ` ${labels.map((a) => `[${a}]`).join(' ')}` : '';
    const text = fit(label + an, 62);
    const labelMain = text.slice(0, Math.min(label.length, text.length));
    const labelAn = text.slice(labelMain.length);
    o.push(
      `<text x="${(CX + SX) / 2}" y="${y0 - 3}" text-anchor="middle" font-size="11.5" fill="${colour}"${flagged ? ' font-weight="bold"' : ''}>${e(labelMain)}${labelAn ? `<tspan fill="#7b1fa2" font-style="italic">${e(labelAn)}</tspan>` : ''}</text>`,
    );
    // State changes, where they happen: the sender's on departure, the receiver's on arrival.
    const mark = (role: 'client' | 'server', to: TcpState): void => {
      const x = role === 'client' ? CX : SX;
      const sentIt = (role === 'client') === p.fromClient;
      const yy = sentIt ? y0 : y1;
      o.push(`<circle cx="${x}" cy="${yy}" r="4" fill="#5b3c99"/>`);
      o.push(
        role === 'client'
          ? `<text x="${x - 12}" y="${yy + 4}" text-anchor="end" class="state" fill="#5b3c99" font-weight="bold">${e(to)}</text>`
          : `<text x="${x + 12}" y="${yy + 4}" class="state" fill="#5b3c99" font-weight="bold">${e(to)}</text>`,
      );
    };
    if (p.clientTo) mark('client', p.clientTo);
    if (p.serverTo) mark('server', p.serverTo);
    if (flagged) {
      o.push(`<text x="${W - 10}" y="${y0 + 4}" text-anchor="end" font-size="11" font-weight="bold" fill="${sev === 'info' ? '#1f6fb2' : '#b71c1c'}">${e(fit(findingNames(p, l), 32))}</text>`);
    }
    if (p.comments.length) o.push(`<text x="${SX + 150}" y="${y0 + 4}" fill="#8a6d00">✎</text>`);
    o.push('</g>');
    y += ROW;
  }
  line(y, y + 12, false);
  return [...head, ...bg, ...lines, ...o, '</svg>'].join('\n');
}

// ---------------------------------------------------------------------------
// Text (for Markdown)
// ---------------------------------------------------------------------------

const ARROW = 46;
const STATE = 13;

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function padStart(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

/** A compact text ladder for a code block. Strings from the capture are not in it (addresses are ours). */
export function renderLadderText(l: Ladder): string {
  const out: string[] = [];
  const lead = `${padStart('frame', 6)}  ${pad('time (s)', 12)}  `;
  out.push(`${lead}${pad(`client ${l.client}`, STATE + ARROW + 4)}server ${l.server}`);
  out.push(`${' '.repeat(lead.length)}${padStart(l.initial.client, STATE)} |${' '.repeat(ARROW)}| ${l.initial.server}`);
  for (const r of ladderRows(l)) {
    if ('elided' in r) {
      const t = `... ${elisionText(r.elided)} ...`;
      const left = Math.max(0, Math.floor((ARROW - t.length) / 2));
      out.push(`${' '.repeat(lead.length)}${' '.repeat(STATE)} :${pad(' '.repeat(left) + t, ARROW)}:`);
      continue;
    }
    const p = r.packet;
    const label = fit(arrowLabel(p), ARROW - 6);
    const fill = p.kind === 'icmp' ? '~' : '-';
    const line = p.fromClient ? `${fill}${fill}${label}`.padEnd(ARROW - 1, fill) + '>' : `<${fill}${label}`.padEnd(ARROW, fill);
    const notes: string[] = [];
    const an = analysisLabels(p.analysis);
    if (an.length) notes.push(an.map((a) => `[${a}]`).join(' '));
    if (p.findings.length) notes.push(`<< ${findingNames(p, l)}`);
    if (p.comments.length) notes.push('(comment)');
    const cs = p.clientTo ?? '';
    const ss = p.serverTo ?? '';
    const row = `${padStart(String(p.frame), 6)}  ${pad(relTime(l, p), 12)}  ${padStart(cs, STATE)} |${line}| ${pad(ss, STATE)}${notes.length ? ` ${notes.join(' ')}` : ''}`;
    out.push(row.trimEnd());
  }
  return out.join('\n');
}

/** Where the capture's clock stood at the first packet of the ladder, for captions. */
export function ladderStart(l: Ladder): string {
  return formatIso(l.startSec, l.startNsec);
}
