import { formatIso } from '../capture/timestamp.js';
import type { Connection } from '../track/connection.js';
import { findingFilter, groupConfidence, groupFilter, groupFindings, groupTimes, headline, hiddenBySeverity, placeOf, verdicts, type FindingGroup } from './groups.js';
import { pileUp, type PileUp } from './pile-up.js';
import { codeFence, escapeMarkdown as md } from './escape.js';
import {
  DEFAULT_REPORT_LIMITS,
  connectionRow,
  framesText,
  humanSeconds,
  oneDay,
  severityCounts,
  reportBasis,
  type ReportRenderer,
  trackingNotes,
  tableConnections,
  tunnelNote,
  type ReportLimits,
} from './incident.js';
import { tunnelText } from '../decode/tunnel-text.js';
import { diagramConnections, leftOutOf, renderLadderText, type Ladder } from './ladder.js';
import { captureSpan, type View } from './view.js';
import { supportText } from './support.js';

/**
 * `analyze --format md`: the incident report as Markdown to paste into an issue
 * tracker: summary, findings with their explanations, the connection table, and a
 * text ladder per flagged connection in a code block. Same content as the HTML
 * report, from the same view.
 */

function table(head: string[], rows: string[][], align?: Array<'l' | 'r'>): string {
  const sep = head.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(sep), ...rows.map(line)].join('\n');
}

/** Members a group lists by id before "and N more". */
const MEMBERS = 100;

function groupBlock(g: FindingGroup, multi: boolean, drawn: ReadonlySet<number>, shape: PileUp | null): string {
  const f = g.findings[0]!;
  const single = g.findings.length === 1;
  const title = single ? `connection ${f.connection}, ${f.endpoint} ${md(f.endpointAddress)}` : `${g.connections.length} connections ${g.endpoint === 'server' ? 'to' : 'from'} ${md(placeOf(g))}`;
  const out = [`### ${g.id}. ${g.severity.toUpperCase()} \`${g.kind}\`: ${title}`, '', `**${md(single ? f.summary : headline(g))}**`, '', md(f.explanation), ''];
  const s = supportText(f, multi);
  out.push(`- Confidence: ${groupConfidence(g)}`);
  if (!single) out.push(`- When: ${groupTimes(g)}`, `- For example, connection ${f.connection}: ${md(f.summary)}`);
  if (s.evidence.length) out.push(`- What the capture shows${single ? '' : ` (connection ${f.connection})`}: ${s.evidence.map(md).join('; ')}`);
  if (s.alternatives) out.push(`- Also fits: ${md(s.alternatives)}`);
  if (shape) out.push(`- ${shape.state} sockets at ${shape.counts.length} even steps to the end of the capture: ${shape.counts.join(' ')}`);
  if (single) out.push(`- Packets: ${framesText(f, multi)}`, `- Since: ${formatIso(f.sec, f.nsec)}`);
  else {
    const more = g.connections.length - MEMBERS;
    out.push(`- Connections: ${g.connections.slice(0, MEMBERS).join(', ')}${more > 0 ? ` and ${more} more (\`--format json\` lists them)` : ''}`);
  }
  const filter = single ? findingFilter(f, multi) : groupFilter(g);
  if (filter) out.push(`- Wireshark: \`${filter}\``);
  const diagrams = g.connections.filter((id) => drawn.has(id));
  if (diagrams.length) out.push(`- Diagram${diagrams.length > 1 ? 's' : ''}: see ${diagrams.slice(0, 3).map((id) => `"Connection ${id}"`).join(', ')} under Ladder diagrams`);
  return out.join('\n');
}

/** A report section: its text, and what was left out of it to fit. */
interface Section {
  text: string;
  leftOut: string | null;
}

export const renderMarkdown: ReportRenderer = (r, view, ladders = new Map<number, Ladder>(), limits = DEFAULT_REPORT_LIMITS) => {
  const { v, s, multi } = reportBasis(r, view);
  const groups = groupFindings(v.findings);
  const { chosen, leftOut: diagramsLeftOut } = diagramConnections(v, limits);
  const drawn = new Set(chosen.filter((c) => ladders.has(c.id)).map((c) => c.id));
  const { start, end } = captureSpan(r);
  const out: string[] = [];
  out.push(`# TCP connection report: ${s.captures.map((c) => md(c.file)).join(', ') || 'no capture'}`, '');

  // The verdict first: one line per story, worst first.
  out.push('## Verdict', '');
  const vs = verdicts(groups);
  for (const x of vs) out.push(`- **${x.severity.toUpperCase()}** ${md(x.text)} (group ${x.groups.map((g) => g.id).join(', ')})`);
  const hidden = hiddenBySeverity(r.findings.filter((f) => v.connections.some((c) => c.id === f.connection)), v.findings);
  if (!vs.length) out.push(`- No findings${hidden ? `; ${hidden} hidden by --min-severity ${view?.minSeverity ?? 'info'}` : ''}.`);
  else if (hidden) out.push(`- Also ${hidden}, hidden by --min-severity ${view?.minSeverity ?? 'info'}.`);
  out.push('');

  // Summary.
  const packets = s.captures.reduce((a, c) => a + c.packets, 0);
  const tcp = s.captures.reduce((a, c) => a + c.tcp, 0);
  out.push('## Summary', '');
  out.push(`- **Captures:** ${s.captures.length} file${s.captures.length === 1 ? '' : 's'}, ${packets} packets (${tcp} TCP)`);
  if (s.first && s.last) out.push(`- **Time:** ${s.first} to ${s.last} (${humanSeconds(s.duration ?? 0)})`);
  out.push(`- **Connections:** ${s.connections}${s.partial ? `, ${s.partial} already under way when the capture began` : ''}, ${s.openAtEnd} open at the end`);
  out.push(`- **Findings:** ${severityCounts(s)} in ${groups.length} group${groups.length === 1 ? '' : 's'}`);
  for (const n of trackingNotes(r)) out.push(`- ${n}`);
  out.push('');
  if (s.outcomes.length) {
    out.push(table(['Outcome', 'Meaning', 'Connections'], s.outcomes.map((o) => [o.outcome, o.meaning, String(o.count)]), ['l', 'l', 'r']), '');
    out.push(table(['Client state at the end', 'Server state at the end', 'Connections'], s.states.slice(0, 20).map((x) => [x.client, x.server, String(x.count)]), ['l', 'l', 'r']), '');
  }
  out.push('### Captures', '');
  out.push(
    table(
      ['#', 'File', 'Format', 'Link types', 'Interfaces', 'Packets', 'First packet (UTC)', 'Last packet (UTC)'],
      s.captures.map((c, i) => [
        String(i + 1),
        md(c.file),
        md(c.format),
        md(c.linktypes),
        c.interfaces.map(md).join('; '),
        String(c.packets),
        c.first ?? '',
        c.last ?? '',
      ]),
      ['r', 'l', 'l', 'l', 'l', 'r', 'l', 'l'],
    ),
    '',
  );
  for (const [i, c] of s.captures.entries()) for (const p of c.problems.slice(0, 20)) out.push(`- capture ${i + 1}: ${md(p)}`);
  if (s.captures.some((c) => c.problems.length)) out.push('');
  const head = out.join('\n');

  // What follows is fitted into what is left of the budget: findings first, then connections, then diagrams.
  const budget = limits.maxChars > 0 ? limits.maxChars : Infinity;
  let findings = findingsSection(groups, multi, drawn, start, end, limits, budget - head.length - 2000);
  const rest = budget - head.length - findings.text.length - 2000;
  const conns = connectionsSection(v, s.first, limits, rest * 0.5);
  const diagrams = diagramsSection(v, chosen, diagramsLeftOut, ladders, limits, rest - conns.text.length);
  // The groups point only at the diagrams that fitted (fewer pointers: the section only shrinks).
  const pointed = new Set([...drawn].filter((id) => diagrams.drawn.has(id)));
  if (pointed.size < drawn.size) findings = findingsSection(groups, multi, pointed, start, end, limits, budget - head.length - 2000);
  const leftOut = [findings.leftOut, conns.leftOut, diagrams.leftOut].filter((x): x is string => x !== null);
  const fitted = leftOut.length && Number.isFinite(budget) ? `*This report is kept under ${budget} characters (--max-chars) and leaves out ${leftOut.join('; ')}; \`--format json\` has everything.*\n\n` : '';
  return `${`${head}\n${fitted}${findings.text}\n${conns.text}\n${diagrams.text}`.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
};

/** Add blocks while they fit in `room` characters. */
function fill(blocks: string[], room: number): { text: string; taken: number } {
  let text = '';
  let taken = 0;
  for (const b of blocks) {
    if (text.length + b.length + 2 > room) break;
    text += `${b}\n\n`;
    taken++;
  }
  return { text, taken };
}

function findingsSection(groups: FindingGroup[], multi: boolean, drawn: ReadonlySet<number>, start: number, end: number, limits: ReportLimits, room: number): Section {
  const total = groups.reduce((n, g) => n + g.findings.length, 0);
  const headLine = `## Findings (${total} in ${groups.length} group${groups.length === 1 ? '' : 's'})\n\n`;
  if (!groups.length) return { text: `${headLine}No findings.\n`, leftOut: null };
  const blocks = groups.slice(0, limits.findings).map((g) => groupBlock(g, multi, drawn, pileUp(g, start, end)));
  const { text, taken } = fill(blocks, room - headLine.length);
  const left = groups.length - taken;
  const why = taken < blocks.length ? 'the size limit' : `limit ${limits.findings}`;
  return {
    text: headLine + text + (left ? `*${left} more group${left === 1 ? '' : 's'} left out (${why}); \`--format json\` has them all.*\n` : ''),
    leftOut: taken < blocks.length ? `${blocks.length - taken} of ${groups.length} finding groups` : null,
  };
}

function connectionsSection(v: View, first: string | null, limits: ReportLimits, room: number): Section {
  const t = tableConnections(v, limits.connections);
  const day = oneDay(v);
  const out: string[] = [`## Connections (${v.connections.length})`, ''];
  if (!t.rows.length) return { text: `${out.join('\n')}\nNo TCP connections.\n`, leftOut: null };
  const head = ['#', 'Stream', 'Client', 'Server', 'Client state', 'Server state', 'Start (UTC)', 'Duration', 'c>s pkts / bytes', 's>c pkts / bytes', 'Outcome', 'Findings'];
  const lines = [table(head, [], ['r', 'r', 'l', 'l', 'l', 'l', 'l', 'r', 'r', 'r', 'l', 'l'])];
  let size = lines[0]!.length;
  let shown = 0;
  for (const c of t.rows) {
    const row = connectionRow(v, c, day);
    const st = (state: string, since: string): string => (since ? `${state} (${since})` : state);
    const line = `| ${[row.id, String(c.stream), md(row.client), md(row.server), st(row.clientState, row.clientFor), st(row.serverState, row.serverFor), row.start, row.duration, row.fromClient, row.fromServer, row.outcome, row.findings].join(' | ')} |`;
    if (size + line.length + 1 > room && shown > 0) break;
    lines.push(line);
    size += line.length + 1;
    shown++;
  }
  out.push(lines.join('\n'), '');
  const left = v.connections.length - shown;
  if (left) out.push(`*${left} more connections left out of this table (${shown < t.rows.length ? 'the size limit' : `limit ${limits.connections}`}; flagged ones come first); \`--format json\` has them all.*`, '');
  if (v.connections.some((c) => c.partial)) out.push('\\* no SYN seen: the capture began mid-connection; roles are guessed and states inferred.', '');
  const tunnels = tunnelNote(t.rows.slice(0, shown));
  if (tunnels !== null) out.push(md(tunnels), '');
  out.push(`States are each endpoint's RFC 9293 state at the end of the capture, with the time spent in it${first && day ? ` (times on ${first.slice(0, 10)})` : ''}. Stream: Wireshark's tcp.stream.`, '');
  return { text: out.join('\n'), leftOut: shown < t.rows.length ? `${v.connections.length - shown} of ${v.connections.length} connection rows` : null };
}

function diagramsSection(v: View, chosen: Connection[], leftOut: number, ladders: ReadonlyMap<number, Ladder>, limits: ReportLimits, room: number): Section & { drawn: Set<number> } {
  if (!chosen.length) return { text: '', leftOut: null, drawn: new Set() };
  const blocks: string[] = [];
  for (const c of chosen) {
    const l = ladders.get(c.id);
    const kinds = [...new Set(v.findings.filter((f) => f.connection === c.id).map((f) => f.kind))];
    const inTunnel = c.tunnel !== null ? ` in ${md(tunnelText(c.tunnel))}` : '';
    const out = [`### Connection ${c.id}: ${md(c.address('client'))} to ${md(c.address('server'))}${inTunnel} (${kinds.join(', ')})`, ''];
    if (l === undefined) {
      out.push('*No diagram: its packets were not found again when the captures were re-read.*');
      blocks.push(out.join('\n'));
      continue;
    }
    const body = renderLadderText(l);
    const fence = codeFence(body);
    out.push(`${fence}text`, body, fence, '');
    const notes = l.packets.flatMap((p) => p.comments.map((k) => `- frame ${p.frame}: ${md(k)}`));
    if (notes.length) out.push('Packet comments:', '', ...notes, '');
    const gone = leftOutOf(l);
    if (gone) out.push(`*${gone} of ${l.total} packets left out (limit ${limits.packetsPerDiagram} per diagram): the first and last ones and those of findings and state changes are drawn.*`);
    blocks.push(out.join('\n'));
  }
  const intro = (n: number): string =>
    `## Ladder diagrams\n\nOne per flagged connection, worst first${leftOut ? ` (${chosen.length} of ${chosen.length + leftOut}: ${leftOut} more flagged connections left out, limit ${limits.diagrams})` : ''}${n < chosen.length ? `; ${chosen.length - n} more left out to fit the size limit` : ''}. Sequence numbers are relative (SYN = 0); \`<<\` marks a finding's packets; a state is written beside its timeline where it changes.\n\n`;
  const { text, taken } = fill(blocks, room - intro(0).length);
  const drawn = new Set(chosen.slice(0, taken).map((c) => c.id));
  if (taken === 0) return { text: '', leftOut: `all ${chosen.length + leftOut} ladder diagrams`, drawn };
  return { text: intro(taken) + text, leftOut: taken < chosen.length ? `${chosen.length - taken} of ${chosen.length + leftOut} ladder diagrams` : null, drawn };
}
