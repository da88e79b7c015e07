import type { AnalysisResult } from '../analyze.js';
import { formatIso } from '../capture/timestamp.js';
import { SEVERITIES, severityRank, type Finding, type Severity } from '../detect/finding.js';
import type { Connection } from '../track/connection.js';
import type { Transition } from '../track/endpoint.js';
import { openAtEnd } from './view.js';

import { tunnelText } from '../decode/tunnel-text.js';
/**
 * What `tcpsleuth annotate` writes into a capture: packet comments on the frames that
 * show a finding or change an endpoint's state, and a section-header comment that
 * sums up the analysis. Every comment starts with "tcpsleuth", so
 * `frame.comment contains "tcpsleuth"` finds them all in Wireshark.
 */

export const ANNOTATE_WHAT = ['all', 'findings', 'states'] as const;
export type AnnotateWhat = (typeof ANNOTATE_WHAT)[number];

export interface AnnotationOptions {
  annotate: AnnotateWhat;
  /** Findings of this severity or worse are annotated (state changes always are, with "states"/"all"). */
  minSeverity: Severity;
  /** Index of the capture whose frames are annotated (default 0). */
  capture?: number;
}

/** A pcapng option holds at most 65535 bytes. */
export const MAX_COMMENT_BYTES = 0xffff;

/** `s` cut to at most `max` UTF-8 bytes, on a character boundary, marked when cut. */
export function truncateUtf8(s: string, max = MAX_COMMENT_BYTES): string {
  if (Buffer.byteLength(s, 'utf8') <= max) return s;
  const mark = ' [...]';
  const b = Buffer.from(s, 'utf8');
  let end = max - mark.length;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--; // not inside a character
  return b.toString('utf8', 0, end) + mark;
}

/** "tcpsleuth: server 10.0.0.2:8080 CLOSE-WAIT -> LAST-ACK (sent FIN)", with "in vxlan 10.98.0.1>10.98.0.2 VNI 42" after the address of a tunnelled connection. */
export function transitionComment(c: Connection, role: 'client' | 'server', t: Transition): string {
  const inTunnel = c.tunnel !== null ? ` in ${tunnelText(c.tunnel)}` : '';
  return truncateUtf8(`tcpsleuth: ${role} ${c.address(role)}${inTunnel} ${t.from} -> ${t.to} (${t.why})`);
}

/** "tcpsleuth warning close-wait-stuck: server 10.0.0.2:8080 has been in CLOSE-WAIT for 2.01 s: ..." */
export function findingComment(f: Finding): string {
  return truncateUtf8(`tcpsleuth ${f.severity} ${f.kind}: ${f.summary}`);
}

/**
 * The comments for each frame (1-based number) of the capture: state changes first
 * (by connection, client then server, in the order they happened), then findings,
 * worst first. Transitions made by the clock alone (TIME-WAIT running out) have no
 * frame and get no comment.
 */
export function packetAnnotations(r: AnalysisResult, o: AnnotationOptions): Map<number, string[]> {
  const capture = o.capture ?? 0;
  const out = new Map<number, string[]>();
  const add = (frame: number, text: string): void => {
    if (frame <= 0) return;
    const list = out.get(frame);
    if (list === undefined) out.set(frame, [text]);
    else if (!list.includes(text)) list.push(text);
  };
  if (o.annotate !== 'findings') {
    for (const c of r.connections) {
      for (const role of ['client', 'server'] as const) {
        for (const t of c[role].transitions) if (t.at.capture === capture) add(t.at.frame, transitionComment(c, role, t));
      }
    }
  }
  if (o.annotate !== 'states') {
    const min = severityRank(o.minSeverity);
    const fs = r.findings.filter((f) => (f.capture === capture || f.otherPackets.some((p) => p.capture === capture)) && severityRank(f.severity) >= min);
    fs.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
    for (const f of fs) {
      if (f.capture === capture) for (const p of f.packets) add(p, findingComment(f));
      for (const p of f.otherPackets) if (p.capture === capture) add(p.frame, findingComment(f));
    }
  }
  return out;
}

/** How a connection ended, in a few words. */
export function connectionOutcome(c: Connection): string {
  if (openAtEnd(c)) return c.client.state === 'SYN-SENT' ? 'SYN unanswered' : 'open at end';
  if (c.client.transitions.some((t) => t.to === 'CLOSED' && t.from === 'SYN-SENT')) return 'refused';
  if (c.client.rstSeen || c.server.rstSeen) return 'reset';
  return 'closed with FIN';
}

const OUTCOMES = ['closed with FIN', 'reset', 'refused', 'SYN unanswered', 'open at end'];
/** Findings listed one per line in the summary; the rest are counted. */
const MAX_SUMMARY_FINDINGS = 100;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function seconds(s: number): string {
  return `${Number(s.toFixed(6))} s`;
}

/**
 * The section-header comment: the capture, connections by outcome, findings by
 * severity (each on a line), what was annotated and the thresholds used.
 */
export function summaryComment(r: AnalysisResult, o: AnnotationOptions, annotated: Map<number, string[]>): string {
  const capture = o.capture ?? 0;
  const lines: string[] = [];
  const c = r.captures[capture];
  if (c !== undefined) {
    const parts = [c.format ?? 'unknown format'];
    if (c.compression) parts.push(`${c.compression}-compressed`);
    if (c.linktypes.length) parts.push(c.linktypes.map((l) => l.name).join('+'));
    parts.push(plural(c.packets, 'packet'));
    if (c.first && c.last) parts.push(`${formatIso(c.first[0], c.first[1])} .. ${formatIso(c.last[0], c.last[1])}`);
    lines.push(`tcpsleuth analysis of ${c.file}: ${parts.join(', ')}`);
    for (const e of c.errors) lines.push(`Damaged: ${e.message} (byte offset ${e.offset}, packet ${e.packet}); only the packets before it are here.`);
  }
  const conns = r.connections.filter((x) => x.firstCapture === capture || x.lastCapture === capture);
  const byOutcome = new Map<string, number>();
  for (const x of conns) byOutcome.set(connectionOutcome(x), (byOutcome.get(connectionOutcome(x)) ?? 0) + 1);
  const outcomes = OUTCOMES.filter((k) => byOutcome.has(k)).map((k) => `${byOutcome.get(k)} ${k}`);
  lines.push(`Connections: ${conns.length}${outcomes.length ? ` (${outcomes.join(', ')})` : ''}`);
  const fs = r.findings.filter((f) => f.capture === capture);
  const sev = SEVERITIES.map((s) => `${fs.filter((f) => f.severity === s).length} ${s}`);
  lines.push(`Findings: ${fs.length} (${sev.join(', ')})`);
  const sorted = [...fs].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  for (const f of sorted.slice(0, MAX_SUMMARY_FINDINGS)) {
    const pk = f.packets.length ? `, packets ${f.packets.join(', ')}` : '';
    lines.push(`  ${f.severity} ${f.kind}, connection ${f.connection}, ${f.endpoint} ${f.endpointAddress}${pk}: ${f.summary}`);
  }
  if (sorted.length > MAX_SUMMARY_FINDINGS) lines.push(`  ... and ${sorted.length - MAX_SUMMARY_FINDINGS} more`);
  const what =
    o.annotate === 'states'
      ? 'state changes'
      : `${o.annotate === 'all' ? 'state changes and ' : ''}findings${o.minSeverity === 'info' ? '' : ` (${o.minSeverity} and worse)`}`;
  const comments = [...annotated.values()].reduce((n, l) => n + l.length, 0);
  lines.push(`Annotated: ${what}: ${plural(comments, 'comment')} on ${plural(annotated.size, 'packet')} (filter: frame.comment contains "tcpsleuth")`);
  const t = r.options;
  lines.push(
    `Thresholds: close-wait ${seconds(t.closeWaitSeconds)}, half-open-retransmissions ${t.halfOpenRetransmissions}, ` +
      `syn-retransmissions ${t.synRetransmissions}, zero-window ${seconds(t.zeroWindowSeconds)}, time-wait ${seconds(t.timeWaitSeconds)}`,
  );
  return truncateUtf8(lines.join('\n'));
}
