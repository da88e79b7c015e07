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

export function makeView(result: AnalysisResult, o: ViewOptions = DEFAULT_VIEW): View {
  const keep = (c: Connection): boolean => {
    const eps = [c.address('client'), c.address('server')];
    if (o.hosts.length && !eps.some((e) => o.hosts.includes(hostOf(e)))) return false;
    if (o.ports.length && !eps.some((e) => o.ports.includes(portOf(e)))) return false;
    return true;
  };
  const connections = result.connections.filter(keep);
  const ids = new Set(connections.map((c) => c.id));
  const min = severityRank(o.minSeverity);
  const findings = result.findings.filter((f) => ids.has(f.connection) && severityRank(f.severity) >= min);
  return { result, connections, findings };
}

/** Seconds the endpoint has spent in its current state, as of the end of the capture. */
export function secondsInState(c: Connection, role: 'client' | 'server', end: { sec: number; nsec: number } | null): number {
  const e = role === 'client' ? c.client : c.server;
  return end === null ? 0 : Math.max(0, secondsBetween(e.since, end));
}

/** Neither endpoint has finished with the connection. */
export function openAtEnd(c: Connection): boolean {
  const done = (s: string): boolean => s === 'CLOSED' || s === 'TIME-WAIT' || s === 'LISTEN';
  return !(done(c.client.state) && done(c.server.state));
}
