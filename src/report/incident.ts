import type { AnalysisResult, CaptureSummary } from '../analyze.js';
import { formatIso } from '../capture/timestamp.js';
import { SEVERITIES, severityRank, type Finding, type FindingKind, type Severity } from '../detect/finding.js';
import { FINDING_KINDS } from '../detect/registry.js';
import type { Connection } from '../track/connection.js';
import type { TcpState } from '../track/states.js';
import { durationSeconds } from './json.js';
import type { Ladder } from './ladder.js';
import { makeView, openAtEnd, secondsInState, type View, type ViewOptions } from './view.js';
import { tunnelText } from '../decode/tunnel-text.js';

/**
 * What the incident reports (Markdown, HTML) say, computed once from the same
 * view the table and JSON use, so no report can disagree with another.
 */

/** How much a report shows before it starts leaving things out (and says so). */
export interface ReportLimits {
  /** Ladder diagrams, most severe connections first. */
  diagrams: number;
  /** Packets drawn per diagram; the middle of a long connection is elided. */
  packetsPerDiagram: number;
  /** Findings written out in full. */
  findings: number;
  /** Rows of the connection table (flagged connections first). */
  connections: number;
  /** Markdown: characters at most (what a GitHub comment takes); 0: no limit. */
  maxChars: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = { diagrams: 20, packetsPerDiagram: 60, findings: 200, connections: 500, maxChars: 65_536 };

export type Outcome = 'reset in handshake' | 'handshake incomplete' | 'reset' | 'open at end' | 'FIN both ways' | 'other';

/** Outcomes in the order reports list them, with what each means. */
export const OUTCOMES: ReadonlyArray<readonly [Outcome, string]> = [
  ['reset in handshake', 'refused (RST answering the SYN) or reset before the handshake completed'],
  ['handshake incomplete', 'the handshake never completed (unanswered SYNs)'],
  ['reset', 'ended by a RST after the handshake'],
  ['open at end', 'still open at the end of the capture'],
  ['FIN both ways', 'closed with a FIN from each side'],
  ['other', 'anything else (one FIN only, ended by the clock)'],
];

function everEstablished(c: Connection): boolean {
  if (c.partial) return true;
  const reached = (s: TcpState): boolean => s !== 'CLOSED' && s !== 'LISTEN' && s !== 'SYN-SENT' && s !== 'SYN-RECEIVED';
  return [c.client, c.server].some((e) => reached(e.state) || e.transitions.some((t) => reached(t.to)));
}

/** How a connection ended, in one of a few words a reader sorts by. */
export function outcomeOf(c: Connection): Outcome {
  const rst = c.client.rstSeen || c.server.rstSeen;
  if (!everEstablished(c)) return rst ? 'reset in handshake' : 'handshake incomplete';
  if (rst) return 'reset';
  if (openAtEnd(c)) return 'open at end';
  if (c.client.finSeen && c.server.finSeen) return 'FIN both ways';
  return 'other';
}

export interface CaptureRow {
  file: string;
  format: string;
  linktypes: string;
  /** Interface names and descriptions (pcapng), as the file gives them. */
  interfaces: string[];
  packets: number;
  tcp: number;
  first: string | null;
  last: string | null;
  problems: string[];
}

export interface Summary {
  captures: CaptureRow[];
  first: string | null;
  last: string | null;
  /** Seconds from the first to the last packet of all captures. */
  duration: number | null;
  connections: number;
  partial: number;
  openAtEnd: number;
  outcomes: Array<{ outcome: Outcome; meaning: string; count: number }>;
  /** Final (client, server) state pairs, most frequent first. */
  states: Array<{ client: TcpState; server: TcpState; count: number }>;
  bySeverity: Array<{ severity: Severity; count: number }>;
  byKind: Array<{ kind: FindingKind; severity: Severity; count: number; connections: number }>;
}

function captureRow(c: CaptureSummary): CaptureRow {
  const problems = [
    ...c.errors.map((e) => `error: ${e.message} (byte offset ${e.offset}, packet ${e.packet})`),
    ...c.warnings.map((w) => `warning: ${w.message} (byte offset ${w.offset}, packet ${w.packet})`),
  ];
  if (c.warningsDropped) problems.push(`${c.warningsDropped} more warnings`);
  const d = c.decode;
  if (d.truncatedPayloads) problems.push(`${d.truncatedPayloads} TCP segments cut by snaplen`);
  return {
    file: c.file,
    format: [c.format ?? 'unknown format', c.compression].filter(Boolean).join(', '),
    linktypes: c.linktypes.map((l) => l.name + (l.decoded ? '' : ' (not decoded)')).join(', '),
    interfaces: c.interfaces
      .map((i) => [i.name, i.description].filter((x): x is string => x !== null && x !== '').join(': '))
      .filter((s) => s !== ''),
    packets: c.packets,
    tcp: d.tcp,
    first: c.first ? formatIso(c.first[0], c.first[1]) : null,
    last: c.last ? formatIso(c.last[0], c.last[1]) : null,
    problems,
  };
}

function worstFirst(a: Severity, b: Severity): number {
  return severityRank(b) - severityRank(a);
}

/** An incident report's renderer (markdown.ts, html.ts): the analysis, the view of it, the ladder diagrams drawn, and the size limits. */
export type ReportRenderer = (r: AnalysisResult, view?: ViewOptions, ladders?: ReadonlyMap<number, Ladder>, limits?: ReportLimits) => string;

/** What every report starts from: the view of the result, its summary, and whether several captures were read. */
export function reportBasis(r: AnalysisResult, view?: ViewOptions): { v: View; s: Summary; multi: boolean } {
  const v = makeView(r, view);
  return { v, s: summarize(v), multi: r.captures.length > 1 };
}

export function summarize(v: View): Summary {
  const r = v.result;
  let first: [number, number] | null = null;
  let last: [number, number] | null = null;
  for (const c of r.captures) {
    if (c.first && (first === null || c.first[0] < first[0] || (c.first[0] === first[0] && c.first[1] < first[1]))) first = c.first;
    if (c.last && (last === null || c.last[0] > last[0] || (c.last[0] === last[0] && c.last[1] > last[1]))) last = c.last;
  }
  const outcomes = new Map<Outcome, number>();
  const states = new Map<string, { client: TcpState; server: TcpState; count: number }>();
  for (const c of v.connections) {
    const o = outcomeOf(c);
    outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    const k = `${c.client.state}/${c.server.state}`;
    const s = states.get(k);
    if (s) s.count++;
    else states.set(k, { client: c.client.state, server: c.server.state, count: 1 });
  }
  const kinds = new Map<FindingKind, { severity: Severity; count: number; conns: Set<number> }>();
  for (const f of v.findings) {
    const k = kinds.get(f.kind);
    if (k) {
      k.count++;
      k.conns.add(f.connection);
      if (severityRank(f.severity) > severityRank(k.severity)) k.severity = f.severity;
    } else kinds.set(f.kind, { severity: f.severity, count: 1, conns: new Set([f.connection]) });
  }
  return {
    captures: r.captures.map(captureRow),
    first: first ? formatIso(first[0], first[1]) : null,
    last: last ? formatIso(last[0], last[1]) : null,
    duration: first && last ? last[0] - first[0] + (last[1] - first[1]) / 1e9 : null,
    connections: v.connections.length,
    partial: v.connections.filter((c) => c.partial).length,
    openAtEnd: v.connections.filter(openAtEnd).length,
    outcomes: OUTCOMES.map(([outcome, meaning]) => ({ outcome, meaning, count: outcomes.get(outcome) ?? 0 })).filter((o) => o.count > 0),
    states: [...states.values()].sort((a, b) => b.count - a.count),
    bySeverity: SEVERITIES.map((severity) => ({ severity, count: v.findings.filter((f) => f.severity === severity).length })),
    byKind: [...kinds]
      .map(([kind, k]) => ({ kind, severity: k.severity, count: k.count, connections: k.conns.size }))
      .sort((a, b) => worstFirst(a.severity, b.severity) || FINDING_KINDS.indexOf(a.kind) - FINDING_KINDS.indexOf(b.kind)),
  };
}

/** The connections that have findings, the worst first (then more findings, then by number). */
export function flaggedConnections(v: View): Connection[] {
  const worst = new Map<number, number>();
  const count = new Map<number, number>();
  for (const f of v.findings) {
    worst.set(f.connection, Math.max(worst.get(f.connection) ?? 0, severityRank(f.severity)));
    count.set(f.connection, (count.get(f.connection) ?? 0) + 1);
  }
  return v.connections
    .filter((c) => worst.has(c.id))
    .sort((a, b) => worst.get(b.id)! - worst.get(a.id)! || count.get(b.id)! - count.get(a.id)! || a.id - b.id);
}

/** Rows of the connection table: flagged connections first (worst first), then the rest in order. */
export function tableConnections(v: View, limit: number): { rows: Connection[]; leftOut: number } {
  const flagged = flaggedConnections(v);
  const ids = new Set(flagged.map((c) => c.id));
  const all = [...flagged, ...v.connections.filter((c) => !ids.has(c.id))];
  return { rows: all.slice(0, limit), leftOut: Math.max(0, all.length - limit) };
}

/** "1.23 s", "850 ms", "2 min 5 s". */
export function humanSeconds(s: number): string {
  if (s >= 120) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 0.001) return `${(s * 1000).toFixed(1)} ms`;
  return `${(s * 1e6).toFixed(0)} us`;
}

export interface ConnectionRow {
  id: string;
  client: string;
  server: string;
  clientState: string;
  serverState: string;
  /** Time in the state at the end, for open states ("" otherwise). */
  clientFor: string;
  serverFor: string;
  start: string;
  duration: string;
  fromClient: string;
  fromServer: string;
  outcome: Outcome;
  findings: string;
  /** The tunnels it was carried in, in words ("" when none). */
  tunnel: string;
}

/** One connection as the table shows it (the same columns as `analyze`'s table, plus the outcome). `oneDay`: the date is in the summary. */
export function connectionRow(v: View, c: Connection, oneDay = false): ConnectionRow {
  const r = v.result;
  const inState = (role: 'client' | 'server'): string => {
    const e = c[role];
    const open = e.state !== 'CLOSED' && e.state !== 'LISTEN';
    return open ? humanSeconds(secondsInState(c, role, r.end)) : '';
  };
  const start = formatIso(c.firstSec, c.firstNsec);
  const kinds = [...new Set(v.findings.filter((f) => f.connection === c.id).map((f) => f.kind))];
  return {
    id: `${c.id}${c.partial ? '*' : ''}${c.tunnel !== null ? TUNNEL_MARK : ''}`,
    tunnel: tunnelText(c.tunnel),
    client: c.address('client'),
    server: c.address('server'),
    clientState: c.client.state,
    serverState: c.server.state,
    clientFor: inState('client'),
    serverFor: inState('server'),
    start: (r.captures.length > 1 ? `[${c.firstCapture + 1}] ` : '') + (oneDay ? start.slice(11) : start.replace('T', ' ')),
    duration: humanSeconds(durationSeconds(c)),
    fromClient: `${c.client.packets} / ${c.client.payloadBytes}`,
    fromServer: `${c.server.packets} / ${c.server.payloadBytes}`,
    outcome: outcomeOf(c),
    findings: kinds.join(', '),
  };
}

/** The marker a tunnelled connection's number carries in tables. */
export const TUNNEL_MARK = '~';

/** Tunnels a table's summary or a report's note names at most; the JSON has every connection's. */
export const TUNNELS_NAMED = 6;

/** The note under a connections table when some of its rows were tunnelled: each tunnel and its connections' ids; null when none was. */
export function tunnelNote(rows: readonly Connection[]): string | null {
  const by = new Map<string, number[]>();
  for (const c of rows) {
    const t = tunnelText(c.tunnel);
    if (t === '') continue;
    const ids = by.get(t);
    if (ids) ids.push(c.id);
    else by.set(t, [c.id]);
  }
  if (by.size === 0) return null;
  const listed = [...by].slice(0, TUNNELS_NAMED).map(([t, ids]) => `${t} (${ids.length > 8 ? `${ids.slice(0, 8).join(', ')} and ${ids.length - 8} more` : ids.join(', ')})`);
  const more = by.size > TUNNELS_NAMED ? `; ${by.size - TUNNELS_NAMED} more tunnels` : '';
  return `${TUNNEL_MARK} carried in a tunnel (the addresses shown are the inner ones): ${listed.join('; ')}${more}.`;
}

/** All connections began on one UTC day (tables then show only the time of day). */
export function oneDay(v: View): boolean {
  const days = new Set(v.connections.map((c) => Math.floor(c.firstSec / 86400)));
  return days.size <= 1;
}

/** "frame 9", "frames 8, 9". */
export function framesText(f: Finding, multi: boolean): string {
  if (!f.packets.length && !f.otherPackets.length) return 'none';
  const own = f.packets.length ? `${f.packets.length === 1 ? 'frame' : 'frames'} ${f.packets.join(', ')}${multi ? ` of capture ${f.capture + 1}` : ''}` : '';
  const other = f.otherPackets.map((p) => `frame ${p.frame} of capture ${p.capture + 1}`);
  return [own, ...other].filter(Boolean).join(', ');
}

/** What the memory bounds left out, as the table says it (empty when nothing was). */
export function trackingNotes(r: AnalysisResult): string[] {
  const tr = r.tracking;
  const out: string[] = [];
  const unlisted = Object.values(tr.unlisted).reduce((a, b) => a + b, 0);
  if (tr.evicted) out.push(`${tr.evicted} connections were finished early: more than ${tr.maxConnections} were live at once.`);
  if (unlisted) {
    out.push(`${unlisted} finished connections without findings are counted, not listed: ${Object.entries(tr.unlisted).map(([k, n]) => `${k} ${n}`).join(', ')}.`);
  }
  return out;
}

/** "3 errors, 1 warning, no info" style counts. */
export function severityCounts(s: Summary): string {
  const parts = s.bySeverity.map(({ severity, count }) => `${count} ${severity === 'info' ? 'info' : count === 1 ? severity : `${severity}s`}`);
  return parts.join(', ');
}
