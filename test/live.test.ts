import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_TSHARK } from './helpers/env.js';
import { BIN, runJson } from './helpers/cli.js';
import { HAVE_BINDING, HAVE_CAP, HAVE_PCAP, IS_ROOT, NetnsPair, Proc, SERVER_PY, client, have, python, tcpsleuth } from './live-netns.js';

/**
 * Live capture against real kernels: two network namespaces joined by a veth pair,
 * python sockets making a CLOSE-WAIT leak, an abortive close and a refused connection,
 * and `tcpsleuth live` on the server's side of the veth.
 */

const CAN_RUN = IS_ROOT && HAVE_BINDING && have('ip') && have('python3');
const WHY = !IS_ROOT ? 'not root' : !HAVE_BINDING ? 'no libpcap binding built (pcap or cap)' : 'ip or python3 missing';
const NAME = CAN_RUN ? 'live capture in a network namespace pair' : `live capture in a network namespace pair (skipped: ${WHY})`;

interface FindingRecord {
  type?: string;
  kind: string;
  severity: string;
  connection: number;
  endpoint: string;
  endpointAddress: string;
  packets: number[];
  summary: string;
}

interface Report {
  type: string;
  findings: FindingRecord[];
  connections: { id: number; client: string; server: string }[];
  live: { packets: number; analysed: number; dropped: number | null; kernelDropped: number | null; queueDropped: number; timestamps: string; backend: string; stoppedBy: string };
}

/** What must agree between live and file analysis: not the clock-dependent wording or time. */
const key = (f: FindingRecord): string => `${f.kind} #${f.connection} ${f.endpoint} ${f.endpointAddress} [${f.packets.join(',')}]`;

describe.skipIf(!CAN_RUN)(NAME, () => {
  const pair = new NetnsPair();
  const tmp = mkdtempSync(join(tmpdir(), 'tcpsleuth-live-'));
  const procs: Proc[] = [];
  const BASE = 7300;

  const start = (p: Proc): Proc => {
    procs.push(p);
    return p;
  };
  const live = async (args: string[]): Promise<Proc> => {
    const p = start(tcpsleuth(pair.b, ['live', ...args]));
    await p.until((x) => x.stderr.includes('listening on'), 15_000, 'tcpsleuth live to start');
    return p;
  };

  beforeAll(async () => {
    pair.up();
    const server = start(python(pair.b, SERVER_PY, [pair.addrB, String(BASE), '120']));
    await server.until((p) => p.stdout.includes('ready'), 10_000, 'the server');
  });

  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    pair.down();
    rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'prints each finding as it is known (close-wait-stuck by the clock alone), ends on Ctrl-C with the report, and the -w file gives the same findings',
    async () => {
      const out = join(tmp, 'live.pcapng');
      const p = await live(['-i', pair.ifB, '--format', 'json', '--close-wait', '1s', '-w', out, 'tcp', 'and', 'host', pair.addrA]);
      await client(pair, BASE, ['abortive', 'refused', 'closewait']);
      // No packet follows the client's FIN: only the wall clock can make the CLOSE-WAIT stuck.
      const stuckAfter = Date.now();
      await p.until((x) => x.stdout.includes('"kind":"close-wait-stuck"'), 8_000, 'close-wait-stuck printed live');
      expect(Date.now() - stuckAfter).toBeGreaterThan(500);
      const liveLines = p.stdout.trim().split('\n').map((l) => JSON.parse(l) as FindingRecord);
      expect(liveLines.every((f) => f.type === 'finding')).toBe(true);
      expect(liveLines.map((f) => f.kind).sort()).toEqual(['abortive-close', 'close-wait-stuck', 'connection-refused']);
      expect(liveLines.find((f) => f.kind === 'close-wait-stuck')!.endpointAddress).toBe(`${pair.addrB}:${BASE}`);
      expect(liveLines.find((f) => f.kind === 'connection-refused')!.endpointAddress).toBe(`${pair.addrB}:${BASE + 2}`);
      expect(liveLines.find((f) => f.kind === 'abortive-close')!.endpoint).toBe('client');

      // A later, healthy exchange, so the file holds a packet past the threshold too.
      await client(pair, BASE, ['healthy']);
      await new Promise((r) => setTimeout(r, 300));
      p.kill('SIGINT');
      expect(await p.exited).toBe(0);

      const lines = p.stdout.trim().split('\n');
      const report = JSON.parse(lines.at(-1)!) as Report;
      expect(report.type).toBe('report');
      expect(lines.slice(0, -1).map((l) => (JSON.parse(l) as FindingRecord).kind)).toEqual(liveLines.map((f) => f.kind));
      expect(report.live.stoppedBy).toContain('SIGINT');
      expect(report.live.queueDropped).toBe(0);
      if (report.live.backend === 'pcap') {
        expect(report.live.dropped).toBe(0);
        expect(report.live.kernelDropped).toBe(0);
        expect(report.live.timestamps).toBe('kernel');
      }
      expect(report.connections).toHaveLength(4);
      const liveKeys = report.findings.map(key).sort();
      expect(liveKeys).toEqual(liveLines.map(key).sort());

      // The file, read back by `tcpsleuth analyze`: the same findings on the same packets.
      expect(statSync(out).size).toBeGreaterThan(0);
      const analysed = runJson<{
        findings: FindingRecord[];
        captures: { packets: number }[];
      }>(['analyze', '--format', 'json', '--close-wait', '1s', out]);
      expect(analysed.captures[0]!.packets).toBe(report.live.packets);
      expect(analysed.findings.map(key).sort()).toEqual(liveKeys);
      if (HAVE_TSHARK) {
        const t = spawnSync('tshark', ['-n', '-r', out], { encoding: 'utf8' });
        expect(t.status).toBe(0);
        expect(t.stdout.trim().split('\n')).toHaveLength(report.live.packets);
      }
    },
    40_000,
  );

  it('ends on SIGTERM with the table report, the drop count and the live finding lines', async () => {
    const p = await live(['-i', pair.ifB, `tcp port ${BASE + 2}`]);
    await client(pair, BASE, ['refused']);
    await p.until((x) => /connection-refused #1:/.test(x.stdout), 5_000, 'the live line');
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const first = p.stdout.split('\n')[0]!;
    expect(first).toMatch(/^\d\d:\d\d:\d\d\.\d{6} warning connection-refused #1: server 10\.98\.0\.2:7302 refused the connection/);
    expect(p.stdout).toMatch(/^Verdict:\n {2}WARNING 1 connection to [\d.]+:\d+: refused/m);
    expect(p.stdout).toContain('stopped by SIGTERM');
    expect(p.stdout).toMatch(/Dropped packets: (0\.|unknown)/);
    // Not a terminal: no status line.
    expect(p.stderr).not.toContain('\r');
  });

  it('stops by itself after --count packets, on -i any (Linux cooked capture)', async () => {
    const p = await live(['-i', 'any', '--count', '2', 'tcp', 'port', String(BASE + 2)]);
    await client(pair, BASE, ['refused']);
    expect(await p.exited).toBe(0);
    expect(p.stderr).toContain('link type LINUX_SLL');
    expect(p.stdout).toMatch(/connection-refused #1:/);
    expect(p.stdout).toContain('stopped by --count 2; 2 packets');
  });

  it.skipIf(!have('script'))('shows a status line on a terminal, refreshed each second, and stops after --duration', async () => {
    // script(1) gives tcpsleuth a pseudo-terminal for stdout and stderr.
    const cmd = `ip netns exec ${pair.b} ${process.execPath} ${BIN} live -i ${pair.ifB} --duration 2500ms tcp`;
    const p = start(new Proc('script', ['-qfec', cmd, '/dev/null']));
    await p.until((x) => x.stdout.includes('listening on'), 10_000, 'start');
    await client(pair, BASE, ['refused']);
    expect(await p.exited).toBe(0);
    expect(p.stdout).toMatch(/\r\x1b\[K\S+: \d+ packets, (\d+ dropped|drops unknown), \d+ active connections?: CLOSED 1/);
    expect(p.stdout).toContain('stopped by --duration 2.5 s');
    expect(p.stdout).toMatch(/connection-refused #1:/);
  });

  it('a CLOSE-WAIT stuck by the clock alone, no packet after it, is stuck in the -w file too (its ISB holds the stop time)', async () => {
    const out = join(tmp, 'stopped.pcapng');
    const p = await live(['-i', pair.ifB, '--format', 'json', '--close-wait', '1s', '-w', out, 'tcp', 'and', 'host', pair.addrA]);
    await client(pair, BASE, ['closewait']);
    await p.until((x) => x.stdout.includes('"kind":"close-wait-stuck"'), 8_000, 'close-wait-stuck printed live');
    p.kill('SIGINT');
    expect(await p.exited).toBe(0);
    const report = JSON.parse(p.stdout.trim().split('\n').at(-1)!) as Report;
    const analysed = runJson<{
      findings: FindingRecord[];
      captures: { packets: number; lastTime: string }[];
    }>(['analyze', '--format', 'json', '--close-wait', '1s', out]);
    expect(analysed.captures[0]!.packets).toBe(report.live.packets);
    expect(analysed.findings.map(key).sort()).toEqual(report.findings.map(key).sort());
    expect(analysed.findings.map((f) => f.kind)).toContain('close-wait-stuck');
  });

  it('leaves a readable -w file when killed with SIGKILL (flushed about once a second)', async () => {
    const out = join(tmp, 'killed.pcapng');
    const p = await live(['-i', pair.ifB, '-w', out, 'tcp']);
    await client(pair, BASE, ['refused', 'refused', 'healthy']);
    await new Promise((r) => setTimeout(r, 1600));
    p.kill('SIGKILL');
    await p.exited;
    const r = runJson<{
      findings: FindingRecord[];
      captures: { packets: number; errors: unknown[] }[];
    }>(['analyze', '--format', 'json', out]);
    expect(r.captures[0]!.errors).toEqual([]);
    // Two refusals (2 packets each) and a healthy exchange (at least 8).
    expect(r.captures[0]!.packets).toBeGreaterThanOrEqual(12);
    expect(r.findings.filter((f) => f.kind === 'connection-refused')).toHaveLength(2);
    if (HAVE_TSHARK) expect(spawnSync('tshark', ['-n', '-r', out]).status).toBe(0);
  });

  it.skipIf(!HAVE_CAP || !HAVE_PCAP)('also runs through the cap binding: receipt timestamps, drops reported as unknown', async () => {
    const p = await live(['-i', pair.ifB, '--backend', 'cap', '--duration', '2s', 'tcp', 'port', String(BASE + 2)]);
    expect(p.stderr).toContain('cap binding (timestamps taken on receipt)');
    await client(pair, BASE, ['refused']);
    expect(await p.exited).toBe(0);
    expect(p.stdout).toMatch(/connection-refused #1:/);
    expect(p.stdout).toContain('Dropped packets: unknown');
  });
});
