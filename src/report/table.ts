import type { AnalysisResult, CaptureSummary } from '../analyze.js';
import { formatIso } from '../capture/timestamp.js';
import { severityRank, type Finding, type Severity } from '../detect/finding.js';
import type { Connection } from '../track/connection.js';
import { displayWidth } from './text-width.js';
import { durationSeconds } from './json.js';
import { captureSpan, makeView, openAtEnd, secondsInState, type ViewOptions } from './view.js';
import { mapIterable } from '../util/iterate.js';
import { supportText } from './support.js';
import { OUTCOMES, outcomeOf, TUNNEL_MARK, TUNNELS_NAMED, type Outcome } from './incident.js';
import { findingFilter, groupConfidence, groupFilter, groupFindings, groupTimes, headline, hiddenBySeverity, verdicts, type FindingGroup } from './groups.js';
import { pileUp } from './pile-up.js';
import { tunnelText } from '../decode/tunnel-text.js';

function captureLine(c: CaptureSummary): string {
  const parts = [c.format ?? 'unknown format'];
  if (c.compression) parts.push(c.compression);
  const lts = c.linktypes.map((l) => l.name + (l.decoded ? '' : ' (not decoded)'));
  if (lts.length) parts.push(lts.join('+'));
  parts.push(`${c.packets} packets`);
  if (c.first && c.last) parts.push(`${formatIso(c.first[0], c.first[1])} .. ${formatIso(c.last[0], c.last[1])}`);
  const d = c.decode;
  const extra: string[] = [];
  if (d.tunnelledTcp) extra.push(`${d.tunnelledTcp} TCP segments in tunnels`);
  if (d.truncatedPayloads) extra.push(`${d.truncatedPayloads} TCP segments cut by snaplen`);
  if (d.truncated) extra.push(`${d.truncated} frames cut before the TCP header`);
  const bad = [...d.malformed.values()].reduce((a, b) => a + b, 0);
  if (bad) extra.push(`${bad} malformed`);
  if (d.ipFragments) extra.push(`${d.ipFragments} IP fragments`);
  if (d.damagedPackets) extra.push(`${d.damagedPackets} damaged packet${d.damagedPackets === 1 ? '' : 's'}, the first is packet ${d.firstDamagedFrame}`);
  return `${c.file}: ${parts.join(', ')}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

/** Whitespace other than single spaces between words: the text needs splitting into words. */
const UNEVEN = /[^\S ]| {2}|^ | $/;

/** Wrap prose to `width` columns with an indent (runs of whitespace become one space). */
export function wrap(text: string, width: number, indent: string): string {
  return width - indent.length < 1 || UNEVEN.test(text) ? wrapWords(text, width, indent) : wrapSpaced(text, width, indent);
}

/**
 * wrap() of words separated by single spaces (and room for one character at least),
 * cut where the greedy fill of wrapWords would break, without splitting the text
 * into words first: a table's findings are thousands of paragraphs.
 */
function wrapSpaced(text: string, width: number, indent: string): string {
  const room = width - indent.length;
  const n = text.length;
  let out = '';
  for (let at = 0; at < n; ) {
    let end: number;
    let next: number;
    if (n - at <= room) end = next = n;
    else if (text.charCodeAt(at + room) === 0x20) {
      end = at + room;
      next = end + 1;
    } else {
      end = text.lastIndexOf(' ', at + room);
      // A word longer than the room has a line of its own.
      if (end <= at) end = text.indexOf(' ', at);
      if (end < 0) end = n;
      next = end + 1;
    }
    out += (at === 0 ? indent : `\n${indent}`) + text.slice(at, end);
    at = next;
  }
  return out;
}

/** wrap() word by word: any whitespace between words. */
export function wrapWords(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = indent;
  for (const w of words) {
    if (line.length > indent.length && line.length + 1 + w.length > width) {
      lines.push(line);
      line = indent + w;
    } else line += (line.length > indent.length ? ' ' : '') + w;
  }
  if (line.length > indent.length) lines.push(line);
  return lines.join('\n');
}

/**
 * Characters of lines handed on at once: hundreds of thousands of findings never make
 * one giant string, and a piece fits StdoutBuffer's buffer (three bytes a character
 * at most), which encodes it in place instead of allocating a Buffer for it.
 */
const PIECE_CHARS = 16 * 1024;

/** Lines handed on in pieces of PIECE_CHARS or so. */
class LineWriter {
  private lines: string[] = [];
  private size = 0;
  constructor(private readonly write: (chunk: string) => void) {}

  push(...lines: string[]): void {
    for (const l of lines) this.line(l);
  }

  /** One line, without the rest-argument array push makes. */
  line(l: string): void {
    this.lines.push(l);
    this.size += l.length + 1;
    if (this.size > PIECE_CHARS) this.flush();
  }

  flush(): void {
    if (this.lines.length === 0) return;
    // One join makes one flat string (the `+=` of every line made a rope to flatten); the
    // empty last line gives the final newline without a second string.
    this.lines.push('');
    this.write(this.lines.join('\n'));
    this.lines = [];
    this.size = 0;
  }
}

/** The terminal view: the verdict, the figures, the connection table with both endpoints' states, the findings by group. */
export function renderTable(r: AnalysisResult, view?: ViewOptions, o: TableOptions = PLAIN_TABLE): string {
  const parts: string[] = [];
  writeTable(r, view, o, (s) => parts.push(s));
  return parts.join('');
}

/** renderTable written piece by piece, for output of any size. */
export function writeTable(r: AnalysisResult, view: ViewOptions | undefined, o: TableOptions, write: (chunk: string) => void): void {
  const out = new LineWriter(write);
  writeTableLines(r, view, o, out);
  out.flush();
}

/** A duration in at most two units: "850ms", "4.2s", "2m 05s", "3h 12m", "13d 5h". */
export function shortDuration(s: number): string {
  if (s < 0.9995) return `${Math.round(s * 1000)}ms`;
  if (s < 59.95) return `${s.toFixed(1)}s`;
  const t = Math.floor(s);
  const two = (n: number): string => String(n).padStart(2, '0');
  if (t < 3600) return `${Math.floor(t / 60)}m ${two(t % 60)}s`;
  if (t < 86400) return `${Math.floor(t / 3600)}h ${two(Math.floor(t / 60) % 60)}m`;
  return `${Math.floor(t / 86400)}d ${Math.floor(t / 3600) % 24}h`;
}

/** How the table is laid out. */
export interface TableOptions {
  /** The terminal's columns; null: no terminal, so every column, and prose wrapped at 100. */
  width: number | null;
  /** ANSI colours for severities. */
  color: boolean;
  /** List every connection, not only those with findings or open at the end. */
  all: boolean;
}

export const PLAIN_TABLE: TableOptions = { width: null, color: false, all: true };

/** Prose width without a terminal. */
const PROSE = 100;

const SGR: Record<Severity, string> = { error: '\x1b[1;31m', warning: '\x1b[33m', info: '\x1b[36m' };

function paint(o: TableOptions, sev: Severity, s: string): string {
  return o.color ? `${SGR[sev]}${s}\x1b[0m` : s;
}

/** Wrap with a first-line indent and another for the lines after it (a word longer than a line has one of its own). */
export function hang(text: string, width: number, first: string, rest: string): string {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const w of text.split(/\s+/)) {
    if (w === '') continue;
    if (!empty && line.length + 1 + w.length > width) {
      lines.push(line);
      line = rest + w;
    } else line += (empty ? '' : ' ') + w;
    empty = false;
  }
  lines.push(line);
  return lines.join('\n');
}

/** A connection's part of the table: its row, and what the figures count of it. */
export interface TableRow {
  id: number;
  cells: string[];
  partial: boolean;
  openAtEnd: boolean;
  /** Findings the view shows for it, and the worst one's severity. */
  findings: number;
  worst: Severity | null;
  outcome: Outcome;
  /** "client state/server state" at the end. */
  states: string;
  /** The tunnels it was carried in, in words ("" when none). */
  tunnel: string;
}

interface Column {
  head: string;
  right: boolean;
}

const COLUMNS: readonly Column[] = [
  { head: '#', right: true },
  { head: 'Stream', right: true },
  { head: 'Client', right: false },
  { head: 'Server', right: false },
  { head: 'Client state', right: false },
  { head: 'Server state', right: false },
  { head: 'Zeek', right: false },
  { head: 'Start (UTC)', right: false },
  { head: 'Duration', right: true },
  { head: 'c>s pkts/bytes', right: true },
  { head: 's>c pkts/bytes', right: true },
  { head: 'Findings', right: false },
];
const ZEEK = 6;
const FINDINGS = 11;
/** Columns given up, in this order, until the table fits the terminal. */
const DROP_ORDER = [10, 9, 7, 6, 8, 1];

/**
 * `shown`: the findings the view shows for it; `multi`: several captures were read.
 */
export function tableRow(c: Connection, shown: readonly Finding[], end: AnalysisResult['end'], multi: boolean): TableRow {
  const state = (role: 'client' | 'server'): string => {
    const e = c.endpoint(role);
    const open = e.state !== 'CLOSED' && e.state !== 'LISTEN';
    return open ? `${e.state} ${shortDuration(secondsInState(c, role, end))}` : e.state;
  };
  let worst: Severity | null = null;
  const kinds: string[] = [];
  for (const f of shown) {
    if (worst === null || severityRank(f.severity) > severityRank(worst)) worst = f.severity;
    if (!kinds.includes(f.kind)) kinds.push(f.kind);
  }
  return {
    id: c.id,
    cells: [
      `${c.id}${c.partial ? '*' : ''}${c.tunnel !== null ? TUNNEL_MARK : ''}`,
      c.stream >= 0 ? String(c.stream) : '',
      c.address('client'),
      c.address('server'),
      state('client'),
      state('server'),
      `${c.connState} ${c.history}`,
      (multi ? `[${c.firstCapture + 1}] ` : '') + formatIso(c.firstSec, c.firstNsec).replace('T', ' ').slice(0, 23),
      shortDuration(durationSeconds(c)),
      `${c.client.packets}/${c.client.payloadBytes}`,
      `${c.server.packets}/${c.server.payloadBytes}`,
      kinds.join(','),
    ],
    partial: c.partial,
    openAtEnd: openAtEnd(c),
    findings: shown.length,
    worst,
    outcome: outcomeOf(c),
    states: `${c.client.state}/${c.server.state}`,
    tunnel: tunnelText(c.tunnel),
  };
}

/** The findings the view shows, per connection id. */
export function findingsByConnection(findings: readonly Finding[]): Map<number, Finding[]> {
  const by = new Map<number, Finding[]>();
  for (const f of findings) {
    const list = by.get(f.connection);
    if (list) list.push(f);
    else by.set(f.connection, [f]);
  }
  return by;
}

/** What the view left out, for the table to say. */
export interface Hidden {
  /** "158 warnings", of connections the view keeps, below --min-severity; null: none. */
  findings: string | null;
  minSeverity: Severity;
  /** Connections the filters (host, port, state, finding, time) left out. */
  connections: number;
}

function hiddenOf(findings: readonly Finding[], view: ViewOptions | undefined, keptIds: ReadonlySet<number>, shown: readonly Finding[], connections: number): Hidden {
  const all = findings.filter((f) => keptIds.has(f.connection));
  return { findings: hiddenBySeverity(all, shown), minSeverity: view?.minSeverity ?? 'info', connections };
}

function writeTableLines(r: AnalysisResult, view: ViewOptions | undefined, o: TableOptions, out: LineWriter): void {
  const v = makeView(r, view);
  const by = findingsByConnection(v.findings);
  const multi = r.captures.length > 1;
  const kept = new Set(v.connections.map((c) => c.id));
  // Rows are made twice (to size the columns, then to write them) rather than kept:
  // tens of thousands of rows were the table's peak memory.
  const rows = (): Iterable<TableRow> => mapIterable(v.connections, (c) => tableRow(c, by.get(c.id) ?? [], r.end, multi));
  writeTableRows(r, rows, v.connections.length, v.findings, hiddenOf(r.findings, view, kept, v.findings, r.connections.length - v.connections.length), o, out);
}

/** The table around rows made elsewhere (a sharded analysis renders them in its threads); `all`: every finding before the view. */
export function writeTableDocument(r: AnalysisResult, rows: TableRow[], shown: readonly Finding[], all: readonly Finding[], hiddenConnections: number, view: ViewOptions, o: TableOptions, write: (chunk: string) => void): void {
  const out = new LineWriter(write);
  const kept = new Set(rows.map((x) => x.id));
  writeTableRows(r, () => rows, rows.length, shown, hiddenOf(all, view, kept, shown, hiddenConnections), o, out);
  out.flush();
}

/** Above this many connections the table lists only those with findings or open at the end (unless --all). */
const FEW = 40;
/** Verdict lines at most; the groups below list the rest. */
const VERDICTS = 8;

/** `rows()` gives the same `count` rows each time it is called (twice: to size the columns, then to write them). */
function writeTableRows(r: AnalysisResult, rows: () => Iterable<TableRow>, count: number, findings: readonly Finding[], hidden: Hidden, o: TableOptions, out: LineWriter): void {
  const pw = o.width ?? PROSE;
  // Without a terminal a capture's line stays whole: one line per file to grep.
  for (const c of r.captures) out.line(o.width === null ? captureLine(c) : hang(captureLine(c), pw, '', '    '));
  const groups = groupFindings(findings);
  writeVerdict(groups, hidden, o, pw, out);
  if (count === 0) {
    out.push('', hang(hidden.connections ? `No TCP connections match the filters (${hidden.connections} left out).` : 'No TCP connections.', pw, '', '  '));
    return;
  }
  const selective = !o.all && count > FEW;
  const keep = (x: TableRow): boolean => !selective || x.findings > 0 || x.openAtEnd;
  // The figures count every row; the columns are sized on the rows shown.
  const widths = COLUMNS.map((c) => displayWidth(c.head));
  const outcomes = new Map<Outcome, number>();
  const open = new Map<string, number>();
  const tunnels = new Map<string, number>();
  let partial = 0;
  let shown = 0;
  for (const x of rows()) {
    outcomes.set(x.outcome, (outcomes.get(x.outcome) ?? 0) + 1);
    if (x.openAtEnd) open.set(x.states, (open.get(x.states) ?? 0) + 1);
    if (x.tunnel) tunnels.set(x.tunnel, (tunnels.get(x.tunnel) ?? 0) + 1);
    if (x.partial) partial++;
    if (!keep(x)) continue;
    shown++;
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, displayWidth(x.cells[i]!));
  }
  const figures = OUTCOMES.filter(([k]) => outcomes.has(k)).map(([k]) => `${k} ${outcomes.get(k)}`);
  out.push('', hang(`Connections: ${count}${partial ? ` (${partial} already under way when the capture began)` : ''}: ${figures.join(', ')}.`, pw, '', '  '));
  if (hidden.connections) out.line(`${hidden.connections} more left out by the filters.`);
  const openTotal = [...open.values()].reduce((a, b) => a + b, 0);
  if (openTotal) {
    const pairs = [...open].sort((a, b) => b[1] - a[1]);
    const list = pairs.slice(0, 6).map(([k, n]) => `${k} ${n}`).join(', ') + (pairs.length > 6 ? `, ${pairs.length - 6} more state pairs` : '');
    out.line(hang(`Open at the end: ${openTotal} (client/server states: ${list}).`, pw, '', '  '));
  }
  if (tunnels.size) out.line(hang(tunnelsLine(tunnels), pw, '', '  '));
  out.push('', hang(selective ? `Connections with findings or open at the end: ${shown} of ${count} (--all lists every one).` : `Connections (${count}):`, pw, '', '  '));
  const layout = fit(widths, o.width);
  out.line(layout.line(COLUMNS.map((c) => c.head), null, o));
  out.line(layout.rule());
  for (const x of rows()) if (keep(x)) out.line(layout.line(x.cells, x.worst, o));
  const notes: string[] = [];
  if (partial) notes.push('* no SYN seen: the capture began mid-connection; client and server are guessed, states inferred.');
  if (tunnels.size) notes.push(`${TUNNEL_MARK} carried in a tunnel: addresses and ports are the inner ones; --format json lists each encapsulation.`);
  notes.push("States are each endpoint's RFC 9293 state at the end of the capture, with the time spent in it.");
  if (layout.shows(ZEEK)) notes.push("Zeek: conn_state, then history: S SYN, H SYN-ACK, A pure ACK, D data, F FIN, R RST, C bad checksum, G gap, T retransmitted data, W zero window, I inconsistent flags, Q SYN with FIN or RST, ^ direction flipped; upper case client, lower case server.");
  if (layout.dropped.length) notes.push(`Left out to fit ${o.width} columns: ${layout.dropped.map((i) => COLUMNS[i]!.head).join(', ')} (COLUMNS or a wider terminal shows them; --format json has everything).`);
  for (const n of notes) out.line(hang(n, pw, '', '  '));
  writeGroups(r, groups, multi(r), o, pw, out);
  const tr = r.tracking;
  const unlisted = Object.values(tr.unlisted).reduce((a, b) => a + b, 0);
  if (tr.evicted) out.push('', hang(`${tr.evicted} connections were finished early: more than ${tr.maxConnections} were live at once (--max-connections).`, pw, '', ''));
  if (unlisted) out.line(hang(`${unlisted} finished connections without findings are counted, not listed (--max-listed): ${Object.entries(tr.unlisted).map(([k, n]) => `${k} ${n}`).join(', ')}.`, pw, '', ''));
}

/** "In tunnels: 3 (vxlan 10.98.0.1>10.98.0.2 VNI 42: 2, gre ...: 1)." */
export function tunnelsLine(tunnels: ReadonlyMap<string, number>): string {
  const pairs = [...tunnels].sort((a, b) => b[1] - a[1]);
  const total = pairs.reduce((a, [, n]) => a + n, 0);
  const named = pairs.slice(0, TUNNELS_NAMED).map(([k, n]) => `${k}: ${n}`).join(', ');
  return `In tunnels: ${total} (${named}${pairs.length > TUNNELS_NAMED ? `, ${pairs.length - TUNNELS_NAMED} more tunnels` : ''}).`;
}

function multi(r: AnalysisResult): boolean {
  return r.captures.length > 1;
}

const SEV_TAG: Record<Severity, string> = { error: 'ERROR  ', warning: 'WARNING', info: 'INFO   ' };

/** The verdict: one line per story, worst first, and what the severity filter hides. */
function writeVerdict(groups: FindingGroup[], hidden: Hidden, o: TableOptions, pw: number, out: LineWriter): void {
  out.push('', 'Verdict:');
  const vs = verdicts(groups);
  for (const v of vs.slice(0, VERDICTS)) {
    const ids = v.groups.map((g) => `[${g.id}]`).join('');
    const line = hang(`${v.text} ${ids}`, pw, `  ${SEV_TAG[v.severity]} `, ' '.repeat(10));
    out.line(o.color ? line.replace(SEV_TAG[v.severity], paint(o, v.severity, SEV_TAG[v.severity])) : line);
  }
  if (vs.length > VERDICTS) out.line(`  ... and ${vs.length - VERDICTS} more, listed below.`);
  const worse = hidden.minSeverity === 'error' ? 'errors' : hidden.minSeverity === 'warning' ? 'errors or warnings' : 'findings';
  if (vs.length === 0) out.line(hang(`No ${worse}${hidden.findings ? `; ${hidden.findings} hidden by --min-severity ${hidden.minSeverity}` : ''}.`, pw, '  ', '    '));
  else if (hidden.findings) out.line(hang(`Also ${hidden.findings}, hidden by --min-severity ${hidden.minSeverity}.`, pw, '  ', '    '));
}

/** Members listed before "and N more". */
const MEMBERS_SHOWN = 40;

function writeGroups(r: AnalysisResult, groups: FindingGroup[], several: boolean, o: TableOptions, pw: number, out: LineWriter): void {
  if (!groups.length) return;
  const findings = groups.reduce((n, g) => n + g.findings.length, 0);
  out.push('', hang(`Findings: ${findings} in ${groups.length} group${groups.length === 1 ? '' : 's'}, worst first.`, pw, '', '  '));
  const { start, end } = captureSpan(r);
  for (const g of groups) {
    const first = g.findings[0]!;
    const tag = `[${g.id}] ${paint(o, g.severity, g.severity.toUpperCase())} ${g.kind}: `;
    const plainTag = `[${g.id}] ${g.severity.toUpperCase()} ${g.kind}: `;
    out.push('');
    if (g.findings.length === 1) {
      out.line(tag + hang(`connection ${first.connection}, ${first.endpoint} ${first.endpointAddress}`, pw, plainTag, '    ').slice(plainTag.length));
      out.line(wrap(first.summary, pw, '    '));
    } else {
      out.line(tag + hang(headline(g), pw, plainTag, '    ').slice(plainTag.length));
      out.line(wrap(`${groupTimes(g)}`, pw, '    '));
    }
    out.line(wrap(first.explanation, pw, '    '));
    const sup = supportText(first, several);
    const example = g.findings.length > 1 ? `For example connection ${first.connection}: ${first.summary}. ` : '';
    out.line(wrap(`${example}Confidence: ${groupConfidence(g)}${sup.evidence.length ? `; shown by ${sup.evidence.join('; ')}` : ''}${sup.alternatives ? `; also fits: ${sup.alternatives}` : ''}.`, pw, '    '));
    const shape = pileUp(g, start, end);
    if (shape) out.line(wrap(`${shape.state} sockets at ${shape.counts.length} even steps to the end of the capture: ${shape.counts.join(' ')}`, pw, '    '));
    if (g.findings.length > 1) {
      const ids = g.connections.slice(0, MEMBERS_SHOWN).join(' ');
      const more = g.connections.length - MEMBERS_SHOWN;
      out.line(wrap(`Connections: ${ids}${more > 0 ? ` and ${more} more (--format json lists them)` : ''}`, pw, '    '));
    } else if (first.packets.length || first.otherPackets.length) {
      const own = first.packets.length ? `${first.packets.join(', ')}${several ? ` (capture ${first.capture + 1})` : ''}` : '';
      const other = first.otherPackets.map((p) => `${p.frame} (capture ${p.capture + 1})`);
      out.line(wrap(`Packets: ${[own, ...other].filter(Boolean).join(', ')}`, pw, '    '));
    }
    const filter = g.findings.length === 1 ? findingFilter(first, several) : groupFilter(g);
    if (filter) out.line(filterLine(filter, g, pw));
  }
}

/** The Wireshark filter, wrapped; a group's first MEMBERS_SHOWN streams when it has more. */
function filterLine(filter: string, g: FindingGroup, pw: number): string {
  if (g.streams.length <= MEMBERS_SHOWN || g.findings.length === 1) return wrap(`Wireshark: ${filter}`, pw, '    ');
  return wrap(`Wireshark (the first ${MEMBERS_SHOWN} of ${g.streams.length} streams; --format json has all): tcp.stream in {${g.streams.slice(0, MEMBERS_SHOWN).join(', ')}}`, pw, '    ');
}

/** Column widths chosen for a terminal: what is dropped, and how each line is cut to fit. */
interface Layout {
  dropped: number[];
  shows(column: number): boolean;
  line(cells: readonly string[], worst: Severity | null, o: TableOptions): string;
  rule(): string;
}

const GAP = 2;

function fit(measured: readonly number[], width: number | null): Layout {
  const widths = [...measured];
  const on = widths.map(() => true);
  const total = (): number => widths.reduce((t, w, i) => (on[i] ? t + w + GAP : t), -GAP);
  const dropped: number[] = [];
  if (width !== null) {
    for (const i of DROP_ORDER) {
      if (total() <= width) break;
      on[i] = false;
      dropped.push(i);
    }
    // Still too wide: the findings column, then the addresses, give up their ends.
    for (const [i, least] of [[FINDINGS, 8], [3, 14], [2, 14], [4, 12], [5, 12]] as const) {
      const over = total() - width;
      if (over <= 0) break;
      widths[i] = Math.max(least, widths[i]! - over);
    }
  }
  const cut = (s: string, w: number): string => (displayWidth(s) <= w ? s : `${[...s].slice(0, Math.max(0, w - 1)).join('')}…`);
  const pad = (s: string, i: number): string => {
    const c = cut(s, widths[i]!);
    const room = ' '.repeat(Math.max(0, widths[i]! - displayWidth(c)));
    return COLUMNS[i]!.right ? room + c : c + room;
  };
  return {
    dropped,
    shows: (i) => on[i]!,
    line(cells, worst, o) {
      let s = '';
      for (let i = 0; i < cells.length; i++) {
        if (!on[i]) continue;
        let cell = pad(cells[i]!, i);
        if (i === FINDINGS) cell = cell.trimEnd();
        if (i === FINDINGS && worst !== null && cell) cell = paint(o, worst, cell);
        s += (s ? '  ' : '') + cell;
      }
      const line = s.trimEnd();
      // The last resort: a terminal narrower than the narrowest columns.
      return width !== null && !o.color && displayWidth(line) > width ? cut(line, width) : line;
    },
    rule() {
      return widths.map((w, i) => (on[i] ? '─'.repeat(w) : '')).filter(Boolean).join('  ');
    },
  };
}
