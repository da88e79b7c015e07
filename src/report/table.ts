import type { AnalysisResult, CaptureSummary } from '../analyze.js';
import { formatIso } from '../capture/timestamp.js';
import { SEVERITIES, type Finding } from '../detect/finding.js';
import type { Connection } from '../track/connection.js';
import { BoxTable } from './box-table.js';
import { durationSeconds } from './json.js';
import { makeView, openAtEnd, secondsInState, type ViewOptions } from './view.js';
import { mapIterable } from '../util/iterate.js';
import { supportText } from './support.js';

function captureLine(c: CaptureSummary): string {
  const parts = [c.format ?? 'unknown format'];
  if (c.compression) parts.push(c.compression);
  const lts = c.linktypes.map((l) => l.name + (l.decoded ? '' : ' (not decoded)'));
  if (lts.length) parts.push(lts.join('+'));
  parts.push(`${c.packets} packets`);
  if (c.first && c.last) parts.push(`${formatIso(c.first[0], c.first[1])} .. ${formatIso(c.last[0], c.last[1])}`);
  const d = c.decode;
  const extra: string[] = [];
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

function secs(s: number): string {
  return s >= 100 ? `${Math.round(s)}s` : s >= 1 ? `${s.toFixed(1)}s` : `${(s * 1000).toFixed(0)}ms`;
}

function findingBlock(f: Finding, width: number): string {
  const head = `  [${f.kind}] connection ${f.connection}, ${f.endpoint} ${f.endpointAddress}`;
  const own = f.packets.length ? `${f.packets.join(', ')}${f.capture > 0 || f.otherPackets.length ? ` (capture ${f.capture + 1})` : ''}` : '';
  const other = f.otherPackets.map((p) => `${p.frame} (capture ${p.capture + 1})`);
  const pk = own || other.length ? `      packets: ${[own, ...other].filter(Boolean).join(', ')}` : '';
  const g = supportText(f, f.capture > 0 || f.otherPackets.length > 0);
  const grounds = wrap(`confidence: ${g.confidence}${g.evidence.length ? `; shown by ${g.evidence.join('; ')}` : ''}${g.alternatives ? `; also fits: ${g.alternatives}` : ''}`, width, '      ');
  return [head, wrap(f.summary, width, '      '), wrap(f.explanation, width, '      '), grounds, pk].filter(Boolean).join('\n');
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

/** The terminal view: captures, the connection table with both endpoints' states, findings by severity. */
export function renderTable(r: AnalysisResult, view?: ViewOptions, width = 100): string {
  const parts: string[] = [];
  writeTable(r, view, width, (s) => parts.push(s));
  return parts.join('');
}

/** renderTable written piece by piece, for output of any size. */
export function writeTable(r: AnalysisResult, view: ViewOptions | undefined, width: number, write: (chunk: string) => void): void {
  const out = new LineWriter(write);
  writeTableLines(r, view, width, out);
  out.flush();
}

/** A connection's part of the table: its row, and its line in the list of connections open at the end. */
export interface TableRow {
  id: number;
  cells: string[];
  partial: boolean;
  openAtEnd: boolean;
  /** Its line in the list of connections open at the end, if asked for and open. */
  open: string | null;
}

/**
 * `findings`: how many findings the view shows for it; `multi`: several captures were
 * read; `openLine`: make its line of the open list (null otherwise, open or not).
 */
export function tableRow(c: Connection, findings: number, end: AnalysisResult['end'], multi: boolean, openLine = true): TableRow {
  const state = (role: 'client' | 'server'): string => {
    const e = c.endpoint(role);
    const open = e.state !== 'CLOSED' && e.state !== 'LISTEN';
    return open ? `${e.state} ${secs(secondsInState(c, role, end))}` : e.state;
  };
  return {
    id: c.id,
    cells: [
      `${c.id}${c.partial ? '*' : ''}`,
      c.address('client'),
      c.address('server'),
      state('client'),
      state('server'),
      `${c.connState} ${c.history}`,
      (multi ? `[${c.firstCapture + 1}] ` : '') + formatIso(c.firstSec, c.firstNsec).replace('T', ' '),
      secs(durationSeconds(c)),
      `${c.client.packets}/${c.client.payloadBytes}`,
      `${c.server.packets}/${c.server.payloadBytes}`,
      findings ? String(findings) : '',
    ],
    partial: c.partial,
    openAtEnd: openAtEnd(c),
    open: openLine && openAtEnd(c)
      ? `  ${c.id}: ${c.address('client')} ${c.client.state} (${secs(secondsInState(c, 'client', end))}) <-> ${c.address('server')} ${c.server.state} (${secs(secondsInState(c, 'server', end))})`
      : null,
  };
}

/** Findings the view shows, per connection id. */
export function findingCounts(findings: readonly Finding[]): Map<number, number> {
  const count = new Map<number, number>();
  for (const f of findings) count.set(f.connection, (count.get(f.connection) ?? 0) + 1);
  return count;
}

function writeTableLines(r: AnalysisResult, view: ViewOptions | undefined, width: number, out: LineWriter): void {
  const v = makeView(r, view);
  const count = findingCounts(v.findings);
  const multi = r.captures.length > 1;
  // Rows are made twice (to size the columns, then to write them) rather than kept:
  // tens of thousands of rows were the table's peak memory. The open list's lines
  // are made once, for the first OPEN_LISTED open rows only.
  let openLines = 0;
  const rows = (measuring: boolean): Iterable<TableRow> =>
    mapIterable(v.connections, (c) => {
      const row = tableRow(c, count.get(c.id) ?? 0, r.end, multi, measuring && openLines < OPEN_LISTED);
      if (row.open !== null) openLines++;
      return row;
    });
  writeTableRows(r, rows, v.connections.length, v.findings, width, out);
}

/** The table around rows made elsewhere (a sharded analysis renders them in its threads). */
export function writeTableDocument(r: AnalysisResult, rows: TableRow[], findings: readonly Finding[], width: number, write: (chunk: string) => void): void {
  const out = new LineWriter(write);
  writeTableRows(r, () => rows, rows.length, findings, width, out);
  out.flush();
}

/** Open connections listed by name at the end of the table. */
const OPEN_LISTED = 50;

/**
 * `rows(measuring)` gives the same `count` rows each time it is called (twice: to size
 * the columns, then to write them); the open list's lines are read from the first.
 */
function writeTableRows(r: AnalysisResult, rows: (measuring: boolean) => Iterable<TableRow>, count: number, findings: readonly Finding[], width: number, out: LineWriter): void {
  out.push(...r.captures.map(captureLine));
  if (count === 0) {
    out.push('No TCP connections.');
    return;
  }
  const t = new BoxTable(['#', 'Client', 'Server', 'Client state', 'Server state', 'Zeek', 'Start (UTC)', 'Duration', 'c>s pkts/bytes', 's>c pkts/bytes', 'Findings']);
  let partial = false;
  let openCount = 0;
  const open: string[] = [];
  for (const row of rows(true)) {
    t.measure(row.cells);
    if (row.partial) partial = true;
    if (row.openAtEnd && openCount++ < OPEN_LISTED && row.open !== null) open.push(row.open);
  }
  t.writeRows(mapIterable(rows(false), (row) => row.cells), (l) => out.line(l));
  const notes: string[] = [];
  if (partial) notes.push('* no SYN seen: the capture began mid-connection; client and server are guessed, states inferred.');
  notes.push('States are each endpoint\'s RFC 9293 state at the end of the capture, with the time spent in it.');
  out.push(notes.join('\n'));

  for (const sev of SEVERITIES) {
    const fs = findings.filter((f) => f.severity === sev);
    if (!fs.length) continue;
    out.push('', `${sev.toUpperCase()}S (${fs.length})`);
    for (const f of fs) out.push(findingBlock(f, width), '');
  }
  if (!findings.length) out.push('', 'No findings.');
  const tr = r.tracking;
  const unlisted = Object.values(tr.unlisted).reduce((a, b) => a + b, 0);
  if (tr.evicted) out.push('', `${tr.evicted} connections were finished early: more than ${tr.maxConnections} were live at once (--max-connections).`);
  if (unlisted) out.push(`${unlisted} finished connections without findings are counted, not listed (--max-listed): ${Object.entries(tr.unlisted).map(([k, n]) => `${k} ${n}`).join(', ')}.`);
  if (openCount) {
    out.push('', `Open at the end of the capture (${openCount}):`);
    for (const line of open) out.push(line);
    if (openCount > OPEN_LISTED) out.push(`  ... and ${openCount - OPEN_LISTED} more (see --format json)`);
  }
}
