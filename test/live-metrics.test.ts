import { spawnSync } from 'node:child_process';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATS_SCHEMA } from '../src/report/json-schema.js';
import { HAVE_CAP, HAVE_PCAP, IS_ROOT, NetnsPair, Proc, SERVER_PY, client, have, python, tcpsleuth } from './live-netns.js';

/**
 * `live --metrics` and `--stats-interval` against real kernels: the server namespace's
 * python sockets leak CLOSE-WAITs, answer and close, get reset, refuse; `tcpsleuth live`
 * captures there. /metrics is scraped with a real HTTP client (Node's fetch, run in the
 * namespace), checked by `promtool check metrics`, and its endpoint gauges must equal
 * the final report's states; no port label may be a client's port. Every stats line
 * must validate against its schema and agree with the report.
 */

const HAVE_PROMTOOL = have('promtool');
const CAN_RUN = IS_ROOT && (HAVE_PCAP || HAVE_CAP) && have('ip') && have('python3');
const WHY = !IS_ROOT ? 'not root' : !(HAVE_PCAP || HAVE_CAP) ? 'no libpcap binding built' : 'ip or python3 missing';

const BACKENDS = [...(HAVE_PCAP ? (['pcap'] as const) : []), ...(HAVE_CAP ? (['cap'] as const) : [])];

interface Report {
  connections: { client: string; server: string; clientState: string; serverState: string }[];
  findings: { kind: string; severity: string }[];
  live: { packets: number; dropped: number | null };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (label values here hold no escaped quotes). */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const port = (addr: string): string => addr.slice(addr.lastIndexOf(':') + 1);
const COUNTED = (s: string): boolean => s !== 'CLOSED' && s !== 'LISTEN';

/** The report's endpoints as the gauge counts them: "state role port" -> count. */
function reportEndpoints(r: Report): Map<string, number> {
  const m = new Map<string, number>();
  const add = (k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  for (const c of r.connections) {
    if (COUNTED(c.clientState)) add(`${c.clientState} client ${port(c.server)}`);
    if (COUNTED(c.serverState)) add(`${c.serverState} server ${port(c.server)}`);
  }
  return m;
}

describe.skipIf(!CAN_RUN)(`live --metrics and --stats-interval${CAN_RUN ? '' : ` (skipped: ${WHY})`}`, () => {
  const pair = new NetnsPair();
  const procs: Proc[] = [];
  const BASE = 7500;
  const ajv = new Ajv2020.default({ strict: true, allErrors: true });
  const validStats = ajv.compile(STATS_SCHEMA);

  beforeAll(async () => {
    pair.up();
    const server = python(pair.b, SERVER_PY, [pair.addrB, String(BASE), '120']);
    procs.push(server);
    await server.until((p) => p.stdout.includes('ready'), 10_000, 'the server');
  });
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    pair.down();
  });

  /** GET the URL from inside the server namespace, where the metrics listen. */
  const scrape = (url: string): { status: number; type: string; body: string } => {
    const js = `const r = await fetch(process.argv[1]); process.stdout.write(JSON.stringify({ status: r.status, type: r.headers.get('content-type'), body: await r.text() }));`;
    const r = spawnSync('ip', ['netns', 'exec', pair.b, process.execPath, '--input-type=module', '-e', js, url], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`scrape failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { status: number; type: string; body: string };
  };

  it.each(BACKENDS)(
    'with the %s binding: /metrics is valid exposition, its endpoint gauges are the report\'s states, no label is a client port; stats lines follow their schema',
    async (backend) => {
      const live = tcpsleuth(pair.b, ['live', '-i', pair.ifB, '--backend', backend, '--close-wait', '1s', '--metrics', '127.0.0.1:0', '--stats-interval', '1s', '--format', 'json', '--duration', '60s', 'tcp']);
      procs.push(live);
      await live.until((p) => /metrics on (http:\S+)/.test(p.stderr), 15_000, 'the metrics line');
      const url = /metrics on (http:\S+)/.exec(live.stderr)![1]!;
      await client(pair, BASE, ['closewait', 'closewait', 'closewait', 'healthy', 'healthy', 'abortive', 'refused']);
      // The leaks turn stuck by the clock; then nothing more happens until the stop.
      await live.until((p) => (p.stdout.match(/"kind":"close-wait-stuck"/g) ?? []).length >= 3, 15_000, 'three close-wait-stuck findings');
      await new Promise((r) => setTimeout(r, 1500));

      const got = scrape(url);
      expect(got.status).toBe(200);
      expect(got.type).toMatch(/^text\/plain; version=0\.0\.4/);
      if (HAVE_PROMTOOL) {
        const check = spawnSync('promtool', ['check', 'metrics'], { input: got.body, encoding: 'utf8' });
        expect(`${check.stdout}${check.stderr}`).toBe('');
        expect(check.status).toBe(0);
      }
      expect(scrape(url.replace(/\/metrics$/, '/nothing')).status).toBe(404);

      live.kill('SIGINT');
      await live.exited;
      const lines = live.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
      const report = lines.at(-1) as unknown as Report;
      expect(report.live.dropped === null || report.live.dropped === 0).toBe(true);

      const all = samples(got.body);
      // The endpoint gauges: exactly the report's states (CLOSED and LISTEN hold no connection).
      const gauges = new Map(all.filter((s) => s.name === 'tcpsleuth_endpoints' && s.value > 0).map((s) => [`${s.labels.state} ${s.labels.role} ${s.labels.port}`, s.value]));
      const want = reportEndpoints(report);
      expect(Object.fromEntries(gauges)).toEqual(Object.fromEntries(want));
      expect(gauges.get(`CLOSE-WAIT server ${BASE}`)).toBe(3);
      // Ports are server ports only: a client's ephemeral port never becomes a label.
      const clientPorts = new Set(report.connections.map((c) => port(c.client)));
      const serverPorts = new Set(report.connections.map((c) => port(c.server)));
      for (const s of all.filter((x) => x.labels.port !== undefined)) {
        expect(serverPorts.has(s.labels.port!)).toBe(true);
        expect(clientPorts.has(s.labels.port!)).toBe(false);
      }
      // Findings by kind and severity: what the report says (all of them were raised before the scrape).
      const findings = new Map<string, number>();
      for (const f of report.findings) findings.set(`${f.kind} ${f.severity}`, (findings.get(`${f.kind} ${f.severity}`) ?? 0) + 1);
      const raised = new Map(all.filter((s) => s.name === 'tcpsleuth_findings_total').map((s) => [`${s.labels.kind} ${s.labels.severity}`, s.value]));
      expect(Object.fromEntries(raised)).toEqual(Object.fromEntries(findings));
      const one = (name: string): number | undefined => all.find((s) => s.name === name)?.value;
      expect(one('tcpsleuth_connections_opened_total')).toBe(report.connections.length);
      expect(one('tcpsleuth_packets_received_total')).toBeGreaterThan(0);
      expect(all.some((s) => s.name === 'process_resident_memory_bytes' && s.value > 0)).toBe(true);
      const drops = all.filter((s) => s.name === 'tcpsleuth_packets_dropped_total').map((s) => s.labels.by);
      // Never a false zero: the kernel's count only where the binding can read it.
      expect(drops).toEqual(backend === 'pcap' ? ['kernel', 'interface', 'queue'] : ['queue']);

      // The stats lines: each valid, the last one's endpoints the report's too.
      const stats = lines.filter((l) => l.type === 'stats');
      expect(stats.length).toBeGreaterThanOrEqual(3);
      for (const s of stats) expect(validStats(s), JSON.stringify(validStats.errors)).toBe(true);
      const last = stats.at(-1) as unknown as { endpoints: { state: string; role: string; port: string; count: number }[]; connections: { opened: number } };
      expect(Object.fromEntries(last.endpoints.map((e) => [`${e.state} ${e.role} ${e.port}`, e.count]))).toEqual(Object.fromEntries(want));
      expect(last.connections.opened).toBe(report.connections.length);
    },
    60_000,
  );
});
