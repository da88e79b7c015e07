import type { AnalysisResult, CaptureSummary } from '../analyze.js';
import { formatEpoch } from '../capture/timestamp.js';
import type { Finding } from '../detect/finding.js';
import type { Connection } from '../track/connection.js';
import { connectionLine } from './connection-line.js';
import { captureSpan, durationSeconds, makeView, type ViewOptions } from './view.js';
import { mapIterable } from '../util/iterate.js';
import { FORMAT_VERSION, TOOL_NAME, TOOL_VERSION } from '../version.js';
import { cautious, confidenceCounts, findingFilter, groupFilter, groupFindings, groupSpan, headline, placeOf, type FindingGroup } from './groups.js';
import { pileUp } from './pile-up.js';

/**
 * The JSON contract (README "JSON output"): later versions add fields, never
 * rename or remove them. Times are epoch seconds as exact decimal strings, like
 * tshark's frame.time_epoch, since a double cannot hold epoch nanoseconds.
 */

function time(t: [number, number] | null): string | null {
  return t === null ? null : formatEpoch(t[0], t[1]);
}

function captureJson(c: CaptureSummary): Record<string, unknown> {
  const d = c.decode;
  return {
    file: c.file,
    format: c.format,
    compression: c.compression,
    linktypes: c.linktypes,
    interfaces: c.interfaces.map((i) => ({
      id: i.id,
      linkType: i.linkType,
      name: i.name,
      description: i.description,
      snapLen: i.snapLen,
      tsUnitsPerSecond: i.tsUnitsPerSecond,
      tsOffsetSeconds: i.tsOffsetSeconds,
    })),
    interfacesDropped: c.interfacesDropped ?? 0,
    packets: c.packets,
    bytes: c.bytes,
    firstTime: time(c.first),
    lastTime: time(c.last),
    errors: c.errors,
    warnings: c.warnings,
    warningsDropped: c.warningsDropped,
    decode: {
      tcp: d.tcp,
      tunnelledTcp: d.tunnelledTcp,
      tunnelTooDeep: d.tunnelTooDeep,
      icmpErrors: d.icmpErrors,
      ipFragments: d.ipFragments,
      truncated: d.truncated,
      truncatedPayloads: d.truncatedPayloads,
      malformed: Object.fromEntries(d.malformed),
      unsupportedLinkTypes: Object.fromEntries(d.unsupportedLinkTypes),
      ipLengthExceedsFrame: d.ipLengthExceedsFrame,
      badTcpOptions: d.badTcpOptions,
      // Each damaged frame once (malformed, truncated, IP length lie, bad TCP options), and the first of them.
      damagedPackets: d.damagedPackets,
      firstDamage: d.damagedPackets ? { message: d.firstDamage, offset: d.firstDamagedOffset, packet: d.firstDamagedFrame } : null,
    },
  };
}

export { durationSeconds };

/** A connection as an object: its line (connection-line.ts, the one definition of its fields) parsed. */
export function connectionJson(c: Connection, end: AnalysisResult['end']): Record<string, unknown> {
  return JSON.parse(connectionLine(c, end)) as Record<string, unknown>;
}

/** `group`: the id of its group in the same document, when groups are written. */
export function findingJson(f: Finding, group: FindingGroup | null = null, multi = false): Record<string, unknown> {
  return {
    kind: f.kind,
    severity: f.severity,
    connection: f.connection,
    stream: f.stream,
    endpoint: f.endpoint,
    endpointAddress: f.endpointAddress,
    capture: f.capture,
    packets: f.packets,
    otherPackets: f.otherPackets,
    time: formatEpoch(f.sec, f.nsec),
    confidence: f.confidence,
    alternatives: f.alternatives,
    evidence: f.evidence,
    summary: f.summary,
    explanation: f.explanation,
    details: f.details,
    ...(group === null ? {} : { group: group.id }),
    displayFilter: findingFilter(f, multi),
  };
}

/** A group of findings (groups.ts): its verdict, members and the filter showing them in Wireshark. */
export function groupJson(g: FindingGroup, index: ReadonlyMap<Finding, number>, start: number, end: number, multi: boolean): Record<string, unknown> {
  const { first, last } = groupSpan(g);
  const shape = pileUp(g, start, end);
  return {
    id: g.id,
    kind: g.kind,
    severity: g.severity,
    endpoint: g.endpoint,
    where: placeOf(g),
    cause: g.cause,
    headline: headline(g),
    count: g.connections.length,
    firstTime: formatEpoch(first.sec, first.nsec),
    lastTime: formatEpoch(last.sec, last.nsec),
    confidence: cautious(g),
    confidences: confidenceCounts(g),
    explanation: first.explanation,
    connections: g.connections,
    streams: g.streams,
    findings: g.findings.map((f) => index.get(f)),
    displayFilter: g.findings.length === 1 ? findingFilter(first, multi) : groupFilter(g),
    pileUp: shape === null ? null : { state: shape.state, times: shape.at.map((t) => formatEpoch(Math.floor(t), Math.round((t - Math.floor(t)) * 1e6) * 1000)), counts: shape.counts },
  };
}

/** The document writeJson writes, as an object. */
export function toJson(r: AnalysisResult, view?: ViewOptions): Record<string, unknown> {
  return JSON.parse(renderJson(r, view)) as Record<string, unknown>;
}

export { connectionLine };

/**
 * Write the JSON document piece by piece: one connection or finding per line, so
 * a capture with hundreds of thousands of connections never becomes one giant
 * string in memory, and the output stays easy to grep.
 */
export function writeJson(r: AnalysisResult, view: ViewOptions | undefined, write: (chunk: string) => void): void {
  const v = makeView(r, view);
  writeJsonDocument(r, mapIterable(v.connections, (c) => connectionLine(c, r.end)), v.findings, write);
}

/** The document around connection lines made elsewhere (a sharded analysis renders them in its threads). */
export function writeJsonDocument(r: AnalysisResult, connectionLines: Iterable<string>, findings: readonly Finding[], write: (chunk: string) => void): void {
  // Piece by piece: the writer gathers them (cli/stdout.ts's StdoutBuffer encodes each as it comes).
  const list = (name: string, lines: Iterable<string>, last = false): void => {
    write(`  "${name}": [`);
    let n = 0;
    for (const line of lines) {
      write(n++ ? ',\n    ' : '\n    ');
      write(line);
    }
    write(`${n ? '\n  ' : ''}]${last ? '' : ','}\n`);
  };
  write(`{\n  "tool": {"name":"${TOOL_NAME}","version":"${TOOL_VERSION}"},\n  "formatVersion": "${FORMAT_VERSION}",\n`);
  list('captures', mapIterable(r.captures, (c) => JSON.stringify(captureJson(c))));
  list('connections', connectionLines);
  const groups = groupFindings(findings);
  const groupOf = new Map<Finding, FindingGroup>();
  for (const g of groups) for (const f of g.findings) groupOf.set(f, g);
  const multi = r.captures.length > 1;
  const index = new Map<Finding, number>(findings.map((f, i) => [f, i]));
  list('findings', mapIterable(findings, (f) => JSON.stringify(findingJson(f, groupOf.get(f) ?? null, multi))));
  const { start, end } = captureSpan(r);
  list('groups', mapIterable(groups, (g) => JSON.stringify(groupJson(g, index, start, end, multi))));
  write(`  "tracking": ${JSON.stringify(r.tracking)},\n`);
  write(`  "options": ${JSON.stringify(r.options)}\n}\n`);
}

export function renderJson(r: AnalysisResult, view?: ViewOptions): string {
  const parts: string[] = [];
  writeJson(r, view, (s) => parts.push(s));
  return parts.join('');
}
