import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Counter, Gauge, Registry } from 'prom-client';
import { TOOL_VERSION } from '../version.js';
import type { LiveFigures } from './figures.js';

/**
 * `live --metrics`: the live figures in Prometheus' text exposition format on /metrics,
 * made by prom-client (the ecosystem's client library). Names follow Prometheus'
 * conventions (docs/live.md, "Metrics and stats"): a tcpsleuth_ prefix, _total on
 * counters, base units; process_* and nodejs_* are prom-client's default metrics.
 */

type Prom = typeof import('prom-client');

/** Where to listen: `--metrics [ADDR:]PORT`. A bare port (or ":PORT") listens on every address, as exporters do. */
export interface MetricsAddress {
  host: string | null;
  port: number;
}

/** Parse `9464`, `:9464`, `127.0.0.1:9464`, `[::1]:9464` or `localhost:9464`; null when it is none of those. */
export function parseMetricsAddress(v: string): MetricsAddress | null {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:[\]]*):)?(\d{1,5})$/.exec(v.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  let host: string | null = m[1] ?? null;
  if (host !== null && host.startsWith('[')) host = host.slice(1, -1);
  if (host === '') host = null;
  return { host, port };
}

/** The metrics, filled from one snapshot per scrape. */
class LiveMetrics {
  readonly registry: Registry;
  private readonly endpoints: Gauge<'state' | 'role' | 'port'>;
  /** Every endpoint series ever shown: one that empties reads 0 rather than vanishing. */
  private readonly endpointSeries = new Map<string, { state: string; role: string; port: string }>();
  private readonly findings: Counter<'kind' | 'severity'>;
  private readonly withdrawn: Counter<'kind'>;
  private readonly opened: Counter;
  private readonly closed: Counter<'conn_state'>;
  private readonly tracked: Gauge;
  private readonly packets: Counter;
  private readonly analysed: Counter;
  private readonly dropped: Counter<'by'>;
  private readonly ports: Gauge;
  private readonly portLimit: Gauge;
  private readonly portLimitReached: Gauge;

  constructor(prom: Prom, info: { device: string; backend: string }) {
    const registry = new prom.Registry();
    this.registry = registry;
    const registers = [registry];
    new prom.Gauge({ name: 'tcpsleuth_build_info', help: 'Always 1: the version of tcpsleuth and the capture it runs.', labelNames: ['version', 'interface', 'backend'], registers }).set(
      { version: TOOL_VERSION, interface: info.device, backend: info.backend },
      1,
    );
    this.endpoints = new prom.Gauge({
      name: 'tcpsleuth_endpoints',
      help: 'Endpoints of the tracked connections in each RFC 9293 state (CLOSED and LISTEN not counted), by local role and the connection\'s server port.',
      labelNames: ['state', 'role', 'port'],
      registers,
    });
    this.findings = new prom.Counter({ name: 'tcpsleuth_findings_total', help: 'Findings raised, by kind and severity when raised.', labelNames: ['kind', 'severity'], registers });
    this.withdrawn = new prom.Counter({ name: 'tcpsleuth_findings_withdrawn_total', help: 'Findings taken back because a later packet showed otherwise, by kind.', labelNames: ['kind'], registers });
    this.opened = new prom.Counter({ name: 'tcpsleuth_connections_opened_total', help: 'TCP connections seen to start (their first packet).', registers });
    this.closed = new prom.Counter({
      name: 'tcpsleuth_connections_closed_total',
      help: 'TCP connections no longer tracked (over, or evicted), by how they ended as Zeek\'s conn_state.',
      labelNames: ['conn_state'],
      registers,
    });
    this.tracked = new prom.Gauge({ name: 'tcpsleuth_connections_tracked', help: 'TCP connections tracked now.', registers });
    this.packets = new prom.Counter({ name: 'tcpsleuth_packets_received_total', help: 'Packets libpcap delivered to tcpsleuth.', registers });
    this.analysed = new prom.Counter({ name: 'tcpsleuth_packets_analysed_total', help: 'Packets analysed.', registers });
    this.dropped = new prom.Counter({
      name: 'tcpsleuth_packets_dropped_total',
      help: 'Packets lost: by="kernel" (the capture ring was full), "interface" (the driver, all traffic), "queue" (tcpsleuth\'s analysis fell behind). The kernel and interface series are absent when the binding cannot read them.',
      labelNames: ['by'],
      registers,
    });
    this.ports = new prom.Gauge({ name: 'tcpsleuth_metrics_port_labels', help: 'Server ports with a port label of their own.', registers });
    this.portLimit = new prom.Gauge({ name: 'tcpsleuth_metrics_port_labels_max', help: 'The limit on port labels (--metrics-max-ports); past it, ports are labelled "other".', registers });
    this.portLimitReached = new prom.Gauge({ name: 'tcpsleuth_metrics_port_limit_reached', help: '1 once a server port was labelled "other" because the port label limit was reached.', registers });
    prom.collectDefaultMetrics({ register: registry });
    // Gauges named like counters: `promtool check metrics` rejects them, and they say nothing of the capture.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  }

  update(f: LiveFigures): void {
    const seen = this.endpointSeries;
    for (const e of f.endpoints) seen.set(`${e.state} ${e.role} ${e.port}`, { state: e.state, role: e.role, port: e.port });
    const now = new Map(f.endpoints.map((e) => [`${e.state} ${e.role} ${e.port}`, e.count]));
    for (const [key, labels] of seen) this.endpoints.set(labels, now.get(key) ?? 0);
    // Counters are set from the session's totals, which only grow.
    this.findings.reset();
    for (const x of f.findings) this.findings.inc({ kind: x.kind, severity: x.severity }, x.count);
    this.withdrawn.reset();
    for (const x of f.withdrawn) this.withdrawn.inc({ kind: x.kind }, x.count);
    setTotal(this.opened, f.opened);
    this.closed.reset();
    for (const [state, n] of f.closed) this.closed.inc({ conn_state: state }, n);
    this.tracked.set(f.tracked);
    setTotal(this.packets, f.received);
    setTotal(this.analysed, f.analysed);
    this.dropped.reset();
    if (f.kernelDropped !== null) this.dropped.inc({ by: 'kernel' }, f.kernelDropped);
    if (f.interfaceDropped !== null) this.dropped.inc({ by: 'interface' }, f.interfaceDropped);
    this.dropped.inc({ by: 'queue' }, f.queueDropped);
    this.ports.set(f.ports);
    this.portLimit.set(f.maxPorts);
    this.portLimitReached.set(f.portLimitReached ? 1 : 0);
  }
}

function setTotal(c: Counter, n: number): void {
  c.reset();
  c.inc(n);
}

export class MetricsServer {
  private constructor(
    private readonly server: Server,
    /** The address it listens on, as a URL. */
    readonly url: string,
  ) {}

  /** Listen (rejects with the socket's error: EADDRINUSE, EACCES, EADDRNOTAVAIL). */
  static async start(at: MetricsAddress, info: { device: string; backend: string }, figures: () => LiveFigures): Promise<MetricsServer> {
    const prom = await import('prom-client');
    const metrics = new LiveMetrics(prom, info);
    const server = createServer((req, res) => void serve(req, res, metrics, figures));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: at.port, host: at.host ?? undefined }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return new MetricsServer(server, `http://${host}:${a.port}/metrics`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function serve(req: IncomingMessage, res: ServerResponse, metrics: LiveMetrics, figures: () => LiveFigures): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'Allow': 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
    return;
  }
  if (path === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<html><head><title>tcpsleuth live</title></head><body><a href="/metrics">Metrics</a></body></html>\n');
    return;
  }
  if (path !== '/metrics') {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found: the metrics are at /metrics\n');
    return;
  }
  try {
    metrics.update(figures());
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : body);
  } catch (e) {
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`tcpsleuth: cannot make the metrics: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}
