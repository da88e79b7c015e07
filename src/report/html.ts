import { formatIso } from '../capture/timestamp.js';
import type { Severity } from '../detect/finding.js';
import { escapeHtml as e } from './escape.js';
import {
  DEFAULT_REPORT_LIMITS,
  connectionRow,
  framesText,
  humanSeconds,
  oneDay,
  reportBasis,
  type ReportRenderer,
  tableConnections,
  tunnelNote,
  trackingNotes,
} from './incident.js';
import { tunnelText } from '../decode/tunnel-text.js';
import { diagramConnections, leftOutOf, renderLadderSvg, type Ladder } from './ladder.js';
import { captureSpan } from './view.js';
import { supportText } from './support.js';
import { findingFilter, groupConfidence, groupFilter, groupFindings, groupTimes, headline, hiddenBySeverity, placeOf, verdicts, type FindingGroup } from './groups.js';
import { pileUp, type PileUp } from './pile-up.js';

/**
 * `analyze --format html`: one self-contained page for an incident write-up.
 * Nothing is fetched (inline CSS, no fonts, no scripts, and a Content Security
 * Policy that forbids loading anything), every string is escaped, and the
 * ladder diagrams are inline SVG. Same content as the Markdown report.
 */

const CSS = `
:root { color-scheme: light; --fg: #1d2733; --muted: #5f6b7a; --line: #d8dee6; --bg: #ffffff; --panel: #f6f8fa;
  --error: #b71c1c; --error-bg: #fde7e4; --warning: #8a4b00; --warning-bg: #fff1d6; --info: #1f5f99; --info-bg: #e3f0fb; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 22px 0 8px; }
.sub { color: var(--muted); margin: 0; overflow-wrap: anywhere; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13.5px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; margin: 18px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .k { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 22px; font-weight: 600; }
.card .d { color: var(--muted); font-size: 13px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 18px; align-items: start; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 10px; }
th, td { text-align: left; padding: 5px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
table.conns { font-size: 13.5px; }
table.conns th, table.conns td { padding: 5px 7px; }
table.conns td { white-space: nowrap; }
table.conns td:last-child { white-space: normal; min-width: 10em; }
.kinds { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
small { color: var(--muted); font-size: 12px; font-weight: normal; }
.nowrap { white-space: nowrap; }
tr.flagged td:first-child { box-shadow: inset 3px 0 0 var(--error); }
.wrap { overflow-x: auto; }
.badge { display: inline-block; border-radius: 4px; padding: 0 7px; font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .03em; }
.badge.error { background: var(--error-bg); color: var(--error); }
.badge.warning { background: var(--warning-bg); color: var(--warning); }
.badge.info { background: var(--info-bg); color: var(--info); }
.finding { border: 1px solid var(--line); border-left-width: 5px; border-radius: 6px; padding: 10px 16px; margin: 12px 0; }
.finding.error { border-left-color: var(--error); }
.finding.warning { border-left-color: #e08a00; }
.finding.info { border-left-color: var(--info); }
.finding h3 { margin: 2px 0 6px; font-size: 16px; }
.finding .summary { font-weight: 600; margin: 4px 0; }
.finding .explanation { margin: 4px 0 8px; }
.finding .meta { color: var(--muted); font-size: 13.5px; margin: 0; }
.note { color: var(--muted); font-size: 13.5px; font-style: italic; }
.problems { color: var(--error); font-size: 13.5px; }
figure { margin: 18px 0 30px; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
figcaption { font-weight: 600; margin-bottom: 8px; overflow-wrap: anywhere; }
.diagram { overflow-x: auto; }
.diagram svg { display: block; max-width: none; background: #fff; }
.legend { display: flex; flex-wrap: wrap; gap: 16px; color: var(--muted); font-size: 13px; margin-top: 6px; }
.legend i { display: inline-block; width: 22px; height: 3px; vertical-align: middle; margin-right: 5px; }
ul.comments { font-size: 13.5px; margin: 6px 0; }
ul.verdict { list-style: none; padding: 0; margin: 8px 0; font-size: 16px; }
ul.verdict li { margin: 6px 0; }
figure.pileup { border: 0; padding: 0; margin: 8px 0; }
figure.pileup figcaption { font-weight: normal; color: var(--muted); font-size: 13px; }
.members { overflow-wrap: anywhere; }
code.filter { overflow-wrap: anywhere; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
a { color: #1f5fa8; }
@media print { h2 { break-after: avoid; } figure { break-inside: avoid; } }
`;

const SEV_WORD: Record<Severity, [string, string]> = { error: ['error', 'errors'], warning: ['warning', 'warnings'], info: ['info', 'info'] };

function badge(s: Severity): string {
  return `<span class="badge ${s}">${s}</span>`;
}

function num(n: number): string {
  return `<td class="n">${n}</td>`;
}

/** Members a group lists by id before "and N more". */
const MEMBERS = 200;

/** A pile-up as a small bar chart: members in the state at even steps to the end of the capture. */
function pileUpChart(p: PileUp): string {
  const w = 18;
  const h = 60;
  const max = Math.max(1, ...p.counts);
  const bars = p.counts
    .map((n, i) => {
      const bh = Math.round((n / max) * h);
      return `<rect x="${i * (w + 4)}" y="${h - bh + 14}" width="${w}" height="${bh}" fill="#b26a00"><title>${n} in ${p.state} at ${e(formatIso(Math.floor(p.at[i]!), Math.round((p.at[i]! % 1) * 1e9)))}</title></rect><text x="${i * (w + 4) + w / 2}" y="${h - bh + 11}" font-size="10" text-anchor="middle" fill="#5f6b7a">${n}</text>`;
    })
    .join('');
  const width = p.counts.length * (w + 4);
  return `<figure class="pileup"><svg class="pileup" width="${width}" height="${h + 18}" viewBox="0 0 ${width} ${h + 18}" role="img" aria-label="${p.state} sockets over the capture">${bars}<line x1="0" y1="${h + 14.5}" x2="${width}" y2="${h + 14.5}" stroke="#d8dee6"/></svg><figcaption>${e(p.state)} sockets at ${p.counts.length} even steps to the end of the capture</figcaption></figure>`;
}

function groupArticle(g: FindingGroup, multi: boolean, drawn: ReadonlySet<number>, shape: PileUp | null): string {
  const f = g.findings[0]!;
  const single = g.findings.length === 1;
  const sup = supportText(f, multi);
  const link = (id: number): string => (drawn.has(id) ? `<a href="#ladder-${id}">${id}</a>` : `<a href="#conn-${id}">${id}</a>`);
  const title = single
    ? `connection ${link(f.connection)}, ${e(f.endpoint)} <span class="mono">${e(f.endpointAddress)}</span>`
    : `${g.connections.length} connections ${g.endpoint === 'server' ? 'to' : 'from'} <span class="mono">${e(placeOf(g))}</span>`;
  const filter = single ? findingFilter(f, multi) : groupFilter(g);
  const more = g.connections.length - MEMBERS;
  return [
    `<article class="finding ${g.severity}" id="group-${g.id}" data-kind="${e(g.kind)}" data-count="${g.connections.length}">`,
    `<h3>${g.id}. ${badge(g.severity)} <code>${e(g.kind)}</code> &middot; ${title}</h3>`,
    `<p class="summary">${e(single ? f.summary : headline(g))}</p>`,
    `<p class="explanation">${e(f.explanation)}</p>`,
    `<p class="grounds">Confidence: <strong>${e(groupConfidence(g))}</strong>${sup.alternatives ? ` &middot; also fits: ${e(sup.alternatives)}` : ''}</p>`,
    single ? '' : `<p class="meta">${e(groupTimes(g))} &middot; for example, connection ${link(f.connection)}: ${e(f.summary)}</p>`,
    sup.evidence.length ? `<ul class="evidence">${sup.evidence.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : '',
    shape ? pileUpChart(shape) : '',
    single
      ? `<p class="meta">Packets: ${e(framesText(f, multi))} &middot; since ${e(formatIso(f.sec, f.nsec))}</p>`
      : `<p class="meta members">Connections: ${g.connections.slice(0, MEMBERS).map(link).join(' ')}${more > 0 ? ` and ${more} more (<code>--format json</code> lists them)` : ''}</p>`,
    filter ? `<p class="meta">Wireshark: <code class="filter">${e(filter)}</code></p>` : '',
    '</article>',
  ]
    .filter(Boolean)
    .join('\n');
}

export const renderHtml: ReportRenderer = (r, view, ladders = new Map<number, Ladder>(), limits = DEFAULT_REPORT_LIMITS) => {
  const { v, s, multi } = reportBasis(r, view);
  const files = s.captures.map((c) => c.file).join(', ') || 'no capture';
  const o: string[] = [];
  o.push(
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="tcpsleuth">',
    `<title>TCP connection report: ${e(files)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    '<header>',
    '<h1>TCP connection report</h1>',
    `<p class="sub">${e(files)}</p>`,
    '</header>',
  );

  // Summary.
  const packets = s.captures.reduce((a, c) => a + c.packets, 0);
  const tcp = s.captures.reduce((a, c) => a + c.tcp, 0);
  const sev = (x: Severity): number => s.bySeverity.find((b) => b.severity === x)?.count ?? 0;
  const groups = groupFindings(v.findings);
  const vs = verdicts(groups);
  const hidden = hiddenBySeverity(r.findings.filter((f) => v.connections.some((c) => c.id === f.connection)), v.findings);
  o.push('<section id="verdict">', '<h2>Verdict</h2>', '<ul class="verdict">');
  for (const x of vs) o.push(`<li>${badge(x.severity)} ${e(x.text)} ${x.groups.map((g) => `<a href="#group-${g.id}">[${g.id}]</a>`).join('')}</li>`);
  if (!vs.length) o.push(`<li>No findings${hidden ? `; ${e(hidden)} hidden by --min-severity ${e(view?.minSeverity ?? 'info')}` : ''}.</li>`);
  else if (hidden) o.push(`<li class="note">Also ${e(hidden)}, hidden by --min-severity ${e(view?.minSeverity ?? 'info')}.</li>`);
  o.push('</ul>', '</section>');
  o.push('<section id="summary">', '<h2>Summary</h2>', '<div class="cards">');
  o.push(`<div class="card"><div class="k">Captures</div><div class="v">${s.captures.length}</div><div class="d">${packets} packets, ${tcp} TCP</div></div>`);
  o.push(
    `<div class="card"><div class="k">Duration</div><div class="v">${s.duration === null ? '&ndash;' : e(humanSeconds(s.duration))}</div><div class="d">${s.first ? `${e(s.first)}<br>to ${e(s.last ?? '')}` : 'no timestamps'}</div></div>`,
  );
  o.push(
    `<div class="card"><div class="k">Connections</div><div class="v">${s.connections}</div><div class="d">${s.openAtEnd} open at the end${s.partial ? `, ${s.partial} begun before the capture` : ''}</div></div>`,
  );
  o.push(
    `<div class="card"><div class="k">Findings</div><div class="v">${v.findings.length}</div><div class="d">${(['error', 'warning', 'info'] as const)
      .map((x) => `<span class="nowrap">${badge(x)} ${sev(x)}</span>`)
      .join(' ')}</div></div>`,
  );
  o.push('</div>');
  for (const n of trackingNotes(r)) o.push(`<p class="note">${e(n)}</p>`);
  o.push('<div class="grid2">');
  if (s.outcomes.length) {
    o.push('<div><h3>Connections by outcome</h3><table><thead><tr><th>Outcome</th><th class="n">Connections</th></tr></thead><tbody>');
    for (const x of s.outcomes) o.push(`<tr><td title="${e(x.meaning)}">${e(x.outcome)} <span class="note">${e(x.meaning)}</span></td>${num(x.count)}</tr>`);
    o.push('</tbody></table>');
    o.push('<h3>Final states</h3><table><thead><tr><th>Client</th><th>Server</th><th class="n">Connections</th></tr></thead><tbody>');
    for (const x of s.states.slice(0, 20)) o.push(`<tr><td>${e(x.client)}</td><td>${e(x.server)}</td>${num(x.count)}</tr>`);
    if (s.states.length > 20) o.push(`<tr><td colspan="3" class="note">${s.states.length - 20} more state pairs</td></tr>`);
    o.push('</tbody></table></div>');
  }
  o.push('<div><h3>Findings by severity</h3>');
  if (s.byKind.length) {
    o.push('<table><thead><tr><th>Severity</th><th>Finding</th><th class="n">Count</th><th class="n">Connections</th></tr></thead><tbody>');
    for (const k of s.byKind) o.push(`<tr><td>${badge(k.severity)}</td><td><code>${e(k.kind)}</code></td>${num(k.count)}${num(k.connections)}</tr>`);
    o.push('</tbody></table>');
  } else o.push('<p>No findings.</p>');
  o.push(
    `<p class="note">${s.bySeverity.map((b) => `${b.count} ${SEV_WORD[b.severity][b.count === 1 ? 0 : 1]}`).join(', ')}</p>`,
    '</div>',
    '</div>',
  );
  o.push('<h3>Captures</h3><div class="wrap"><table><thead><tr><th class="n">#</th><th>File</th><th>Format</th><th>Link types</th><th>Interfaces</th><th class="n">Packets</th><th>First packet (UTC)</th><th>Last packet (UTC)</th></tr></thead><tbody>');
  for (const [i, c] of s.captures.entries()) {
    o.push(
      `<tr><td class="n">${i + 1}</td><td class="mono">${e(c.file)}</td><td>${e(c.format)}</td><td>${e(c.linktypes)}</td><td>${c.interfaces.map(e).join('<br>')}</td>${num(c.packets)}<td class="nowrap">${e(c.first ?? '')}</td><td class="nowrap">${e(c.last ?? '')}</td></tr>`,
    );
    if (c.problems.length) o.push(`<tr><td></td><td colspan="7" class="problems">${c.problems.map(e).join('<br>')}</td></tr>`);
  }
  o.push('</tbody></table></div>', '</section>');

  // Findings.
  const { chosen, leftOut: diagramsLeftOut } = diagramConnections(v, limits);
  const drawn = new Set(chosen.filter((c) => ladders.has(c.id)).map((c) => c.id));
  const { start, end } = captureSpan(r);
  o.push('<section id="findings">', `<h2>Findings (${v.findings.length} in ${groups.length} group${groups.length === 1 ? '' : 's'})</h2>`);
  if (!groups.length) o.push('<p>No findings.</p>');
  for (const g of groups.slice(0, limits.findings)) o.push(groupArticle(g, multi, drawn, pileUp(g, start, end)));
  if (groups.length > limits.findings) {
    const left = groups.length - limits.findings;
    o.push(`<p class="note">${left} more group${left === 1 ? '' : 's'} left out (limit ${limits.findings}); <code>--format json</code> has them all.</p>`);
  }
  o.push('</section>');

  // Connections.
  const t = tableConnections(v, limits.connections);
  const day = oneDay(v);
  const flaggedIds = new Set(v.findings.map((f) => f.connection));
  o.push('<section id="connections">', `<h2>Connections (${v.connections.length})</h2>`);
  if (t.rows.length) {
    o.push(
      `<div class="wrap"><table class="conns"><thead><tr><th class="n">#</th><th>Client</th><th>Server</th><th>Client state</th><th>Server state</th><th>Start (UTC${day && s.first ? `, ${e(s.first.slice(0, 10))}` : ''})</th><th class="n">Duration</th><th class="n">Client&rarr;server<br><small>pkts / bytes</small></th><th class="n">Server&rarr;client<br><small>pkts / bytes</small></th><th>Outcome / findings</th></tr></thead><tbody>`,
    );
    for (const c of t.rows) {
      const row = connectionRow(v, c, day);
      const st = (state: string, since: string): string => `${e(state)}${since ? `<br><small>${e(since)}</small>` : ''}`;
      const kinds = `<span class="kinds">${e(row.findings)}</span>`;
      const link = drawn.has(c.id) ? `<a href="#ladder-${c.id}">${kinds}</a>` : kinds;
      o.push(
        `<tr id="conn-${c.id}"${flaggedIds.has(c.id) ? ' class="flagged"' : ''}><td class="n">${e(row.id)}</td><td class="mono">${e(row.client)}</td><td class="mono">${e(row.server)}</td><td>${st(row.clientState, row.clientFor)}</td><td>${st(row.serverState, row.serverFor)}</td><td>${e(row.start)}</td><td class="n">${e(row.duration)}</td><td class="n">${e(row.fromClient)}</td><td class="n">${e(row.fromServer)}</td><td>${e(row.outcome)}${row.findings ? `<br>${link}` : ''}</td></tr>`,
      );
    }
    o.push('</tbody></table></div>');
    if (t.leftOut) o.push(`<p class="note">${t.leftOut} more connections left out of this table (limit ${limits.connections}; flagged ones come first); <code>--format json</code> has them all.</p>`);
    if (v.connections.some((c) => c.partial)) o.push('<p class="note">* no SYN seen: the capture began mid-connection; roles are guessed and states inferred.</p>');
    const tunnels = tunnelNote(t.rows);
    if (tunnels !== null) o.push(`<p class="note">${e(tunnels)}</p>`);
    o.push('<p class="note">States are each endpoint\'s RFC 9293 state at the end of the capture, with the time spent in it.</p>');
  } else o.push('<p>No TCP connections.</p>');
  o.push('</section>');

  // Diagrams.
  if (chosen.length) {
    o.push('<section id="diagrams">', '<h2>Ladder diagrams</h2>');
    o.push(
      `<p>One per flagged connection, worst first${diagramsLeftOut ? `: ${chosen.length} of ${chosen.length + diagramsLeftOut} drawn, <strong>${diagramsLeftOut} more flagged connections left out</strong> (limit ${limits.diagrams})` : ''}. Sequence numbers are relative (SYN&nbsp;=&nbsp;0). Hover an arrow for its details.</p>`,
    );
    for (const c of chosen) {
      const l = ladders.get(c.id);
      const kinds = [...new Set(v.findings.filter((f) => f.connection === c.id).map((f) => f.kind))];
      o.push(`<figure id="ladder-${c.id}">`);
      o.push(
        `<figcaption>Connection <a href="#conn-${c.id}">${c.id}</a>: <span class="mono">${e(c.address('client'))}</span> &rarr; <span class="mono">${e(c.address('server'))}</span>${c.tunnel !== null ? ` in <span class="mono">${e(tunnelText(c.tunnel))}</span>` : ''} &middot; ${kinds.map((k) => `<code>${e(k)}</code>`).join(', ')}</figcaption>`,
      );
      if (l === undefined) {
        o.push('<p class="note">No diagram: its packets were not found again when the captures were re-read.</p>', '</figure>');
        continue;
      }
      o.push(`<div class="diagram">${renderLadderSvg(l)}</div>`);
      o.push(
        '<div class="legend"><span><i style="background:#1f5fa8"></i>client &rarr; server</span><span><i style="background:#2e7d32"></i>server &rarr; client</span><span><i style="background:#d35400"></i>ICMP error</span><span><i style="background:#c62828;height:6px"></i>a finding&rsquo;s packet</span><span><i style="background:#5b3c99;height:6px;width:6px;border-radius:3px"></i>state change</span></div>',
      );
      const comments = l.packets.flatMap((p) => p.comments.map((k) => `<li>frame ${p.frame}: ${e(k)}</li>`));
      if (comments.length) o.push(`<p>Packet comments:</p><ul class="comments">${comments.join('')}</ul>`);
      const gone = leftOutOf(l);
      if (gone) {
        o.push(
          `<p class="note">${gone} of ${l.total} packets left out (limit ${limits.packetsPerDiagram} per diagram): the first and last packets and those of findings and state changes are drawn; <code>tcpsleuth packets --connection ${c.id}</code> lists them all.</p>`,
        );
      }
      o.push('</figure>');
    }
    o.push('</section>');
  }

  const opt = r.options;
  o.push(
    `<footer>Generated by tcpsleuth. Thresholds: CLOSE-WAIT stuck after ${opt.closeWaitSeconds} s, half-open after ${opt.halfOpenRetransmissions} unanswered retransmissions, syn-timeout after ${opt.synRetransmissions} SYN retransmissions, zero window after ${opt.zeroWindowSeconds} s, TIME-WAIT ${opt.timeWaitSeconds} s.</footer>`,
    '</main>',
    '</body>',
    '</html>',
  );
  return `${o.join('\n')}\n`;
};
