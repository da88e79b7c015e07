import { BlockList, isIPv6 } from 'node:net';
import type { AnalysisResult } from '../analyze.js';
import type { Finding, FindingKind, Severity } from '../detect/finding.js';
import type { TcpState } from '../track/states.js';
import { severityRank } from '../detect/finding.js';
import type { Connection } from '../track/connection.js';
import { secondsBetween } from '../track/moment.js';

/** What the user asked to see: filters shared by every reporter so they never disagree. */
export interface ViewOptions {
  minSeverity: Severity;
  /** Keep connections with an endpoint in one of these networks, each "address/prefix" (empty: any). */
  hosts: string[];
  /** Keep connections with an endpoint on one of these ports. */
  ports: number[];
  /** Keep connections either endpoint of which ended in one of these states. */
  states?: TcpState[];
  /** Keep connections with a finding of one of these kinds, and only those findings. */
  kinds?: FindingKind[];
  /** Keep connections active at some time in [since, until] (epoch seconds, or seconds after the first packet). */
  since?: TimeBound | null;
  until?: TimeBound | null;
  /** Keep only connections a packet of which matched the filter expression (Connection.matched). */
  matchedOnly?: boolean;
}

/** An instant given on the command line: absolute, or counted from the capture's first packet. */
export type TimeBound = { kind: 'epoch'; seconds: number } | { kind: 'offset'; seconds: number };

export const DEFAULT_VIEW: ViewOptions = { minSeverity: 'info', hosts: [], ports: [] };

export interface View {
  result: AnalysisResult;
  connections: Connection[];
  findings: Finding[];
}

/** The address of "addr:port" or "[v6]:port". */
export function hostOf(endpoint: string): string {
  const i = endpoint.lastIndexOf(':');
  const h = endpoint.slice(0, i);
  return h.startsWith('[') ? h.slice(1, -1) : h;
}

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

/** The view shows this connection (its host, port, state and time filters; kinds are the findings'). */
export function keepConnection(c: Connection, o: ViewOptions, window: Window | null = null): boolean {
  if (o.matchedOnly && !c.matched) return false;
  if (o.hosts.length) {
    const nets = blockList(o.hosts);
    if (!inHosts(nets, c.address('client')) && !inHosts(nets, c.address('server'))) return false;
  }
  if (o.ports.length && !o.ports.includes(portOf(c.address('client'))) && !o.ports.includes(portOf(c.address('server')))) return false;
  if (o.states?.length && !o.states.includes(c.client.state) && !o.states.includes(c.server.state)) return false;
  if (window !== null) {
    const first = c.firstSec + c.firstNsec / 1e9;
    const last = c.lastSec + c.lastNsec / 1e9;
    if (last < window.since || first > window.until) return false;
  }
  return true;
}

/** The networks as a BlockList, made once per list (a worker thread gets its own copy of the list). */
const lists = new WeakMap<string[], BlockList>();
function blockList(hosts: string[]): BlockList {
  let b = lists.get(hosts);
  if (b === undefined) {
    b = new BlockList();
    for (const h of hosts) {
      const [address, prefix] = h.split('/') as [string, string];
      const family = isIPv6(address) ? 'ipv6' : 'ipv4';
      b.addSubnet(address, Number(prefix), family);
    }
    lists.set(hosts, b);
  }
  return b;
}

function inHosts(hosts: BlockList, endpoint: string): boolean {
  const h = hostOf(endpoint);
  return hosts.check(h, h.includes(':') ? 'ipv6' : 'ipv4');
}

/** The first packet's and the end's times, epoch seconds (NaN without packets). */
export function captureSpan(r: AnalysisResult): { start: number; end: number } {
  let start = Infinity;
  for (const c of r.captures) if (c.first) start = Math.min(start, c.first[0] + c.first[1] / 1e9);
  return { start: Number.isFinite(start) ? start : NaN, end: r.end ? r.end.sec + r.end.nsec / 1e9 : NaN };
}

/** --since and --until as epoch seconds, once the capture's first packet is known. */
export interface Window {
  since: number;
  until: number;
}

export function windowOf(result: AnalysisResult, o: ViewOptions): Window | null {
  if (!o.since && !o.until) return null;
  const { start } = captureSpan(result);
  const at = (b: TimeBound | null | undefined, none: number): number => (b ? (b.kind === 'epoch' ? b.seconds : start + b.seconds) : none);
  return { since: at(o.since, -Infinity), until: at(o.until, Infinity) };
}

/** The findings the view shows: of connections it keeps (by id), at its severity or worse. */
export function viewFindings(findings: readonly Finding[], keptIds: ReadonlySet<number>, o: ViewOptions): Finding[] {
  const min = severityRank(o.minSeverity);
  const kinds = o.kinds?.length ? o.kinds : null;
  return findings.filter((f) => keptIds.has(f.connection) && severityRank(f.severity) >= min && (kinds === null || kinds.includes(f.kind)));
}

/** Ids of the connections with a finding of the kinds asked for (any severity), or null when no kind was asked for. */
export function withKinds(findings: readonly Finding[], o: ViewOptions): Set<number> | null {
  if (!o.kinds?.length) return null;
  const kinds = o.kinds;
  return new Set(findings.filter((f) => kinds.includes(f.kind)).map((f) => f.connection));
}

export function makeView(result: AnalysisResult, o: ViewOptions = DEFAULT_VIEW): View {
  const window = windowOf(result, o);
  const flagged = withKinds(result.findings, o);
  const connections = result.connections.filter((c) => keepConnection(c, o, window) && (flagged === null || flagged.has(c.id)));
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
