import type { AnalysisResult } from '../analyze.js';
import type { Finding, Severity } from '../detect/finding.js';
import { severityRank } from '../detect/finding.js';
import type { Connection } from '../track/connection.js';
import { secondsBetween } from '../track/moment.js';

/** What the user asked to see: filters shared by every reporter so they never disagree. */
export interface ViewOptions {
  minSeverity: Severity;
  /** Keep connections with an endpoint on this address (exact match of the printed form). */
  hosts: string[];
  /** Keep connections with an endpoint on one of these ports. */
  ports: number[];
}

export const DEFAULT_VIEW: ViewOptions = { minSeverity: 'info', hosts: [], ports: [] };

export interface View {
  result: AnalysisResult;
  connections: Connection[];
  findings: Finding[];
}

function hostOf(endpoint: string): string {
  const i = endpoint.lastIndexOf(':');
  const h = endpoint.slice(0, i);
  return h.startsWith('[') ? h.slice(1, -1) : h;
}

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

/** The view shows this connection (its host and port filters). */
export function keepConnection(c: Connection, o: ViewOptions): boolean {
  if (!o.hosts.length && !o.ports.length) return true;
  const eps = [c.address('client'), c.address('server')];
  if (o.hosts.length && !eps.some((e) => o.hosts.includes(hostOf(e)))) return false;
  if (o.ports.length && !eps.some((e) => o.ports.includes(portOf(e)))) return false;
  return true;
}

/** The findings the view shows: of connections it keeps (by id), at its severity or worse. */
export function viewFindings(findings: readonly Finding[], keptIds: ReadonlySet<number>, o: ViewOptions): Finding[] {
  const min = severityRank(o.minSeverity);
  return findings.filter((f) => keptIds.has(f.connection) && severityRank(f.severity) >= min);
}

export function makeView(result: AnalysisResult, o: ViewOptions = DEFAULT_VIEW): View {
  const connections = result.connections.filter((c) => keepConnection(c, o));
  const findings = viewFindings(result.findings, new Set(connections.map((c) => c.id)), o);
  return { result, connections, findings };
}

/** Seconds the endpoint has spent in its current state, as of the end of the capture. */
export function secondsInState(c: Connection, role: 'client' | 'server', end: { sec: number; nsec: number } | null): number {
  const e = c.endpoint(role);
  return end === null ? 0 : Math.max(0, secondsBetween(e.since, end));
}

/** Seconds from the connection's first packet to its last. */
export function durationSeconds(c: Connection): number {
  return c.lastSec - c.firstSec + (c.lastNsec - c.firstNsec) / 1e9;
}

/** Neither endpoint has finished with the connection. */
export function openAtEnd(c: Connection): boolean {
  return !c.ended;
}
