import type { AnalysisResult } from '../analyze.js';
import { formatIso } from '../capture/timestamp.js';
import type { Finding } from '../detect/finding.js';
import { codeFence, escapeMarkdown as md } from './escape.js';
import {
  DEFAULT_REPORT_LIMITS,
  connectionRow,
  findingsBySeverity,
  framesText,
  humanSeconds,
  oneDay,
  severityCounts,
  summarize,
  trackingNotes,
  tableConnections,
  type ReportLimits,
} from './incident.js';
import { diagramConnections, leftOutOf, renderLadderText, type Ladder } from './ladder.js';
import { makeView, type ViewOptions } from './view.js';
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

function findingBlock(f: Finding, n: number, multi: boolean, hasDiagram: boolean): string {
  const where = `connection ${f.connection}, ${f.endpoint} ${md(f.endpointAddress)}`;
  const out = [`### ${n}. ${f.severity.toUpperCase()} \`${f.kind}\`: ${where}`, '', `**${md(f.summary)}**`, '', md(f.explanation), ''];
  const g = supportText(f, multi);
  out.push(`- Confidence: ${g.confidence}`);
  if (g.evidence.length) out.push(`- What the capture shows: ${g.evidence.map(md).join('; ')}`);
  if (g.alternatives) out.push(`- Also fits: ${md(g.alternatives)}`);
  out.push(`- Packets: ${framesText(f, multi)}`);
  out.push(`- Since: ${formatIso(f.sec, f.nsec)}`);
  if (hasDiagram) out.push(`- Diagram: see "Connection ${f.connection}" under Ladder diagrams`);
  return out.join('\n');
}

export function renderMarkdown(
  r: AnalysisResult,
  view?: ViewOptions,
  ladders: ReadonlyMap<number, Ladder> = new Map(),
  limits: ReportLimits = DEFAULT_REPORT_LIMITS,
): string {
  const v = makeView(r, view);
  const s = summarize(v);
  const multi = r.captures.length > 1;
  const out: string[] = [];
  out.push(`# TCP connection report: ${s.captures.map((c) => md(c.file)).join(', ') || 'no capture'}`, '');

  // Summary.
  const packets = s.captures.reduce((a, c) => a + c.packets, 0);
  const tcp = s.captures.reduce((a, c) => a + c.tcp, 0);
  out.push('## Summary', '');
  out.push(`- **Captures:** ${s.captures.length} file${s.captures.length === 1 ? '' : 's'}, ${packets} packets (${tcp} TCP)`);
  if (s.first && s.last) out.push(`- **Time:** ${s.first} to ${s.last} (${humanSeconds(s.duration ?? 0)})`);
  out.push(`- **Connections:** ${s.connections}${s.partial ? `, ${s.partial} already under way when the capture began` : ''}, ${s.openAtEnd} open at the end`);
  out.push(`- **Findings:** ${severityCounts(s)}`);
  for (const n of trackingNotes(r)) out.push(`- ${n}`);
  out.push('');
  if (s.outcomes.length) {
    out.push(table(['Outcome', 'Meaning', 'Connections'], s.outcomes.map((o) => [o.outcome, o.meaning, String(o.count)]), ['l', 'l', 'r']), '');
    out.push(table(['Client state at the end', 'Server state at the end', 'Connections'], s.states.map((x) => [x.client, x.server, String(x.count)]), ['l', 'l', 'r']), '');
  }
  if (s.byKind.length) {
    out.push(table(['Severity', 'Finding', 'Count', 'Connections'], s.byKind.map((k) => [k.severity, `\`${k.kind}\``, String(k.count), String(k.connections)]), ['l', 'l', 'r', 'r']), '');
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
  for (const [i, c] of s.captures.entries()) for (const p of c.problems) out.push(`- capture ${i + 1}: ${md(p)}`);
  if (s.captures.some((c) => c.problems.length)) out.push('');

  // Findings.
  const { chosen, leftOut: diagramsLeftOut } = diagramConnections(v, limits);
  const drawn = new Set(chosen.filter((c) => ladders.has(c.id)).map((c) => c.id));
  const findings = findingsBySeverity(v);
  out.push(`## Findings (${findings.length})`, '');
  if (!findings.length) out.push('No findings.', '');
  for (const [i, f] of findings.slice(0, limits.findings).entries()) out.push(findingBlock(f, i + 1, multi, drawn.has(f.connection)), '');
  if (findings.length > limits.findings) {
    out.push(`*${findings.length - limits.findings} more findings left out (limit ${limits.findings}); \`--format json\` has them all.*`, '');
  }

  // Connections.
  const t = tableConnections(v, limits.connections);
  const day = oneDay(v);
  out.push(`## Connections (${v.connections.length})`, '');
  if (t.rows.length) {
    out.push(
      table(
        ['#', 'Client', 'Server', 'Client state', 'Server state', 'Start (UTC)', 'Duration', 'c>s pkts / bytes', 's>c pkts / bytes', 'Outcome', 'Findings'],
        t.rows.map((c) => {
          const row = connectionRow(v, c, day);
          const st = (state: string, since: string): string => (since ? `${state} (${since})` : state);
          return [row.id, md(row.client), md(row.server), st(row.clientState, row.clientFor), st(row.serverState, row.serverFor), row.start, row.duration, row.fromClient, row.fromServer, row.outcome, row.findings];
        }),
        ['r', 'l', 'l', 'l', 'l', 'l', 'r', 'r', 'r', 'l', 'l'],
      ),
      '',
    );
    if (t.leftOut) out.push(`*${t.leftOut} more connections left out of this table (limit ${limits.connections}; flagged ones come first); \`--format json\` has them all.*`, '');
    if (v.connections.some((c) => c.partial)) out.push('\\* no SYN seen: the capture began mid-connection; roles are guessed and states inferred.', '');
    out.push('States are each endpoint\'s RFC 9293 state at the end of the capture, with the time spent in it.', '');
  } else out.push('No TCP connections.', '');

  // Diagrams.
  if (chosen.length) {
    out.push('## Ladder diagrams', '');
    out.push(
      `One per flagged connection, worst first${diagramsLeftOut ? ` (${chosen.length} of ${chosen.length + diagramsLeftOut}: ${diagramsLeftOut} more flagged connections left out, limit ${limits.diagrams})` : ''}. Sequence numbers are relative (SYN = 0); \`<<\` marks a finding's packets; a state is written beside its timeline where it changes.`,
      '',
    );
    for (const c of chosen) {
      const l = ladders.get(c.id);
      const kinds = [...new Set(v.findings.filter((f) => f.connection === c.id).map((f) => f.kind))];
      out.push(`### Connection ${c.id}: ${md(c.address('client'))} to ${md(c.address('server'))} (${kinds.join(', ')})`, '');
      if (l === undefined) {
        out.push('*No diagram: its packets were not found again when the captures were re-read.*', '');
        continue;
      }
      const body = renderLadderText(l);
      const fence = codeFence(body);
      out.push(`${fence}text`, body, fence, '');
      const notes = l.packets.flatMap((p) => p.comments.map((k) => `- frame ${p.frame}: ${md(k)}`));
      if (notes.length) out.push('Packet comments:', '', ...notes, '');
      const gone = leftOutOf(l);
      if (gone) out.push(`*${gone} of ${l.total} packets left out (limit ${limits.packetsPerDiagram} per diagram): the first and last ones and those of findings and state changes are drawn.*`, '');
    }
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
