import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { FigureCounts, PortLabels, endpointCounts, takeFigures, type LiveFigures } from '../src/live/figures.js';
import { MetricsServer, parseMetricsAddress } from '../src/live/metrics.js';
import type { LiveCounters } from '../src/live/session.js';
import { statsRecord } from '../src/live/stats-line.js';
import { STATS_SCHEMA } from '../src/report/json-schema.js';
import type { Connection } from '../src/track/connection.js';
import type { TcpState } from '../src/track/states.js';
import { runSync } from './helpers/cli.js';
import { HAVE_BINDING, have } from './live-netns.js';

/**
 * The live figures without a capture: bounded labels, the stats line's schema, the
 * /metrics endpoint over real HTTP, and the --metrics option's errors.
 */

/** Just what the figures read of a connection. */
function conn(client: TcpState, server: TcpState, clientPort: number, serverPort: number, clientIsA = true): Connection {
  return {
    client: { state: client },
    server: { state: server },
    clientIsA,
    portA: clientIsA ? clientPort : serverPort,
    portB: clientIsA ? serverPort : clientPort,
    connState: 'SF',
  } as unknown as Connection;
}

const COUNTERS: LiveCounters = { received: 10, analysed: 9, kernel: null, queueDropped: 1, activeConnections: 3, states: [] };

describe('live figures', () => {
  it('count endpoints by state, role and server port, leaving out CLOSED and LISTEN, in RFC order', () => {
    const ports = new PortLabels(10);
    const got = endpointCounts(
      [conn('FIN-WAIT-2', 'CLOSE-WAIT', 50001, 8080), conn('FIN-WAIT-2', 'CLOSE-WAIT', 50002, 8080, false), conn('ESTABLISHED', 'ESTABLISHED', 40000, 443), conn('CLOSED', 'LISTEN', 40001, 443), conn('TIME-WAIT', 'CLOSED', 40002, 22)],
      ports,
    );
    expect(got).toEqual([
      { state: 'ESTABLISHED', role: 'client', port: '443', count: 1 },
      { state: 'ESTABLISHED', role: 'server', port: '443', count: 1 },
      { state: 'FIN-WAIT-2', role: 'client', port: '8080', count: 2 },
      { state: 'CLOSE-WAIT', role: 'server', port: '8080', count: 2 },
      { state: 'TIME-WAIT', role: 'client', port: '22', count: 1 },
    ]);
  });

  it('label at most --metrics-max-ports ports, first come first kept; the rest are "other", said once', () => {
    const ports = new PortLabels(2);
    let said = 0;
    ports.onLimit = () => said++;
    const got = endpointCounts([conn('ESTABLISHED', 'ESTABLISHED', 1, 80), conn('ESTABLISHED', 'ESTABLISHED', 2, 81), conn('ESTABLISHED', 'ESTABLISHED', 3, 82), conn('ESTABLISHED', 'ESTABLISHED', 4, 83)], ports);
    expect(got.filter((e) => e.role === 'server').map((e) => [e.port, e.count])).toEqual([
      ['80', 1],
      ['81', 1],
      ['other', 2],
    ]);
    expect(said).toBe(1);
    expect(ports.reached).toBe(true);
    // A labelled port keeps its label.
    expect(ports.label(80)).toBe('80');
    expect(ports.label(9999)).toBe('other');
    expect(said).toBe(1);
  });

  it('the stats line follows its schema, unknown drops as null', () => {
    const counts = new FigureCounts();
    counts.finding({ kind: 'close-wait-stuck', severity: 'warning' } as never);
    counts.finding({ kind: 'close-wait-stuck', severity: 'warning' } as never);
    counts.withdrawn({ kind: 'half-open' } as never);
    counts.closed(conn('CLOSED', 'CLOSED', 1, 2));
    const f = takeFigures(COUNTERS, [conn('FIN-WAIT-2', 'CLOSE-WAIT', 50001, 8080)], 4, counts, new PortLabels(5));
    const line = JSON.parse(statsRecord('eth0', f)) as Record<string, unknown>;
    const validate = new Ajv2020.default({ strict: true, allErrors: true }).compile(STATS_SCHEMA);
    expect(validate(line), JSON.stringify(validate.errors)).toBe(true);
    expect(line.dropped).toEqual({ kernel: null, interface: null, queue: 1 });
    expect(line.connections).toEqual({ tracked: 3, opened: 4, closed: { SF: 1 } });
    expect(line.findings).toEqual([{ kind: 'close-wait-stuck', severity: 'warning', count: 2 }]);
    // A port label that is neither a number nor "other" is not a stats line.
    expect(validate({ ...line, endpoints: [{ state: 'CLOSE-WAIT', role: 'server', port: '10.0.0.1', count: 1 }] })).toBe(false);
  });

  it('--metrics takes [ADDR:]PORT', () => {
    expect(parseMetricsAddress('9464')).toEqual({ host: null, port: 9464 });
    expect(parseMetricsAddress(':9464')).toEqual({ host: null, port: 9464 });
    expect(parseMetricsAddress('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseMetricsAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    for (const bad of ['', 'abc', '70000', '::1:9464', '1.2.3.4:', 'host:port']) expect(parseMetricsAddress(bad), bad).toBeNull();
  });
});

describe('/metrics over HTTP', () => {
  const figures = (): LiveFigures => {
    const counts = new FigureCounts();
    counts.finding({ kind: 'peer-reset', severity: 'error' } as never);
    counts.closed(conn('CLOSED', 'CLOSED', 1, 2));
    return takeFigures({ ...COUNTERS, kernel: { received: 20, dropped: 2, interfaceDropped: 0 } }, [conn('FIN-WAIT-2', 'CLOSE-WAIT', 50001, 8080)], 4, counts, new PortLabels(5));
  };

  it('serves the exposition format, 404 elsewhere, 405 for other methods; promtool finds nothing wrong', async () => {
    const m = await MetricsServer.start({ host: '127.0.0.1', port: 0 }, { device: 'eth0', backend: 'pcap' }, figures);
    try {
      const r = await fetch(m.url);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const body = await r.text();
      expect(body).toContain('tcpsleuth_endpoints{state="CLOSE-WAIT",role="server",port="8080"} 1');
      expect(body).toContain('tcpsleuth_findings_total{kind="peer-reset",severity="error"} 1');
      expect(body).toContain('tcpsleuth_connections_closed_total{conn_state="SF"} 1');
      expect(body).toContain('tcpsleuth_packets_dropped_total{by="kernel"} 2');
      expect(body).toContain('tcpsleuth_build_info{version=');
      expect(body).toMatch(/^process_resident_memory_bytes \d+/m);
      // Scraped twice, counters set from totals do not double.
      expect(await (await fetch(m.url)).text()).toContain('tcpsleuth_packets_dropped_total{by="kernel"} 2');
      if (have('promtool')) {
        const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
        expect(`${check.stdout}${check.stderr}`).toBe('');
        expect(check.status).toBe(0);
      }
      expect((await fetch(m.url.replace('/metrics', '/other'))).status).toBe(404);
      expect((await fetch(m.url, { method: 'POST' })).status).toBe(405);
    } finally {
      await m.close();
    }
  });

  it.skipIf(!HAVE_BINDING)(`an address in use is an error before the capture starts, exit 2${HAVE_BINDING ? '' : ' (skipped: no libpcap binding built)'}`, async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = runSync(['live', '-i', 'lo', '--metrics', `127.0.0.1:${port}`, '--duration', '1s']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`tcpsleuth: --metrics: cannot listen on 127.0.0.1:${port}: the address is in use (EADDRINUSE)`);
      expect(r.stdout).toBe('');
    } finally {
      busy.close();
    }
  });

  it('bad values are usage errors', () => {
    for (const [args, want] of [
      [['--metrics', 'x:y'], /expected \[ADDRESS:\]PORT/],
      [['--stats-interval', '500ms'], /at least 1s/],
      [['--metrics-max-ports', '0'], /at least 1/],
    ] as const) {
      const r = runSync(['live', '-i', 'lo', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(want);
    }
  });
});
