import type { Finding, FindingKind, Severity } from '../detect/finding.js';
import type { Connection } from '../track/connection.js';
import { TCP_STATES, type TcpState } from '../track/states.js';
import type { CaptureTotals } from './session.js';

/**
 * The figures a fleet collects from a live capture (docs/live.md, "Metrics and stats"):
 * one snapshot taken on demand, rendered both as Prometheus metrics and as JSON Lines.
 * Every label value is bounded: states, roles and finding kinds are fixed lists,
 * Zeek's conn_state has a dozen values, and ports are only ever a connection's server
 * port, at most `maxPorts` of them.
 */

export type Role = 'client' | 'server';

/** Endpoints of the tracked connections in one state, by their local role and the connection's server port. */
export interface EndpointCount {
  state: TcpState;
  role: Role;
  /** The server's port ("8080"), or "other" once the port limit is reached. */
  port: string;
  count: number;
}

export interface LiveFigures {
  /** Wall time of the snapshot, ms since the epoch. */
  timeMs: number;
  /** Packets libpcap delivered, and those analysed so far. */
  received: number;
  analysed: number;
  /** Drops by the kernel's ring and by the interface: null when the binding cannot read them (never a false zero). */
  kernelDropped: number | null;
  interfaceDropped: number | null;
  /** Packets the analysis queue had no room for. */
  queueDropped: number;
  /** Connections being tracked now, and opened since the start. */
  tracked: number;
  opened: number;
  /** Connections no longer tracked, by Zeek's conn_state when they ended (S0, SF, REJ, RSTO, ...). */
  closed: [string, number][];
  endpoints: EndpointCount[];
  findings: { kind: FindingKind; severity: Severity; count: number }[];
  withdrawn: { kind: FindingKind; count: number }[];
  /** Server ports with a label of their own, the limit, and whether it was reached. */
  ports: number;
  maxPorts: number;
  portLimitReached: boolean;
  /** The process' memory: resident set and V8 heap in use, bytes. */
  rssBytes: number;
  heapUsedBytes: number;
}

/**
 * Counts that no snapshot of the tracker can give: findings raised and withdrawn,
 * connections closed by their conn_state. Fed by the session's hooks.
 */
export class FigureCounts {
  /** "kind severity" -> count, in the order first seen. */
  private readonly raised = new Map<string, { kind: FindingKind; severity: Severity; count: number }>();
  private readonly taken = new Map<FindingKind, number>();
  private readonly closedBy = new Map<string, number>();

  finding(f: Finding): void {
    const key = `${f.kind} ${f.severity}`;
    const r = this.raised.get(key);
    if (r) r.count++;
    else this.raised.set(key, { kind: f.kind, severity: f.severity, count: 1 });
  }

  /** A raised finding changed: counted under its severity now, no longer under `before`. */
  revised(f: Finding, before: Severity): void {
    if (f.severity === before) return;
    const key = `${f.kind} ${before}`;
    const r = this.raised.get(key);
    if (r !== undefined && --r.count === 0) this.raised.delete(key);
    this.finding(f);
  }

  withdrawn(f: Finding): void {
    this.taken.set(f.kind, (this.taken.get(f.kind) ?? 0) + 1);
  }

  closed(c: Connection): void {
    const s = c.connState;
    this.closedBy.set(s, (this.closedBy.get(s) ?? 0) + 1);
  }

  findings(): LiveFigures['findings'] {
    return [...this.raised.values()].map((r) => ({ ...r }));
  }

  withdrawals(): LiveFigures['withdrawn'] {
    return [...this.taken].map(([kind, count]) => ({ kind, count }));
  }

  closedStates(): [string, number][] {
    return [...this.closedBy].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
}

/** Ports given a label of their own, first come first kept, up to a limit; the rest are "other". */
export class PortLabels {
  private readonly known = new Set<number>();
  reached = false;
  /** Called once, when the first port beyond the limit is seen. */
  onLimit: (() => void) | null = null;

  constructor(readonly max: number) {}

  label(port: number): string {
    if (this.known.has(port)) return String(port);
    if (this.known.size < this.max) {
      this.known.add(port);
      return String(port);
    }
    if (!this.reached) {
      this.reached = true;
      this.onLimit?.();
    }
    return 'other';
  }

  get size(): number {
    return this.known.size;
  }
}

/**
 * An endpoint that holds a connection's state: CLOSED and LISTEN have no TCB for this
 * connection (a listener's LISTEN belongs to the listening socket, not to one connection).
 */
function counted(s: TcpState): boolean {
  return s !== 'CLOSED' && s !== 'LISTEN';
}

const STATE_RANK = new Map<TcpState, number>(TCP_STATES.map((s, i) => [s, i]));

/** The tracked connections' endpoints by state, role and server port, in RFC order, then role, then port. */
export function endpointCounts(active: Iterable<Connection>, ports: PortLabels): EndpointCount[] {
  const byKey = new Map<string, EndpointCount>();
  const add = (state: TcpState, role: Role, port: string): void => {
    const key = `${state} ${role} ${port}`;
    const e = byKey.get(key);
    if (e) e.count++;
    else byKey.set(key, { state, role, port, count: 1 });
  };
  for (const c of active) {
    const cs = c.client.state;
    const ss = c.server.state;
    if (!counted(cs) && !counted(ss)) continue;
    const port = ports.label(c.clientIsA ? c.portB : c.portA);
    if (counted(cs)) add(cs, 'client', port);
    if (counted(ss)) add(ss, 'server', port);
  }
  const portOrder = (p: string): number => (p === 'other' ? Infinity : Number(p));
  return [...byKey.values()].sort(
    (a, b) => STATE_RANK.get(a.state)! - STATE_RANK.get(b.state)! || (a.role < b.role ? -1 : a.role > b.role ? 1 : 0) || portOrder(a.port) - portOrder(b.port),
  );
}

/** One snapshot of everything, from the session's counters, the tracker and the counts. */
export function takeFigures(counters: CaptureTotals, active: Iterable<Connection>, opened: number, counts: FigureCounts, ports: PortLabels): LiveFigures {
  const mem = process.memoryUsage();
  const endpoints = endpointCounts(active, ports);
  return {
    timeMs: Date.now(),
    received: counters.received,
    analysed: counters.analysed,
    kernelDropped: counters.kernel?.dropped ?? null,
    interfaceDropped: counters.kernel?.interfaceDropped ?? null,
    queueDropped: counters.queueDropped,
    tracked: counters.activeConnections,
    opened,
    closed: counts.closedStates(),
    endpoints,
    findings: counts.findings(),
    withdrawn: counts.withdrawals(),
    ports: ports.size,
    maxPorts: ports.max,
    portLimitReached: ports.reached,
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
  };
}
