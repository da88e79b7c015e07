import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJson } from './helpers/cli.js';
import { CLIENT_PY, HAVE_BINDING, IS_ROOT, NetnsPair, Proc, SERVER_PY, have, python, tcpsleuth } from './live-netns.js';

/**
 * Live capture decapsulates as analyze does: the kernel's own vxlan devices carry a
 * TCP connection between two namespaces over a veth underlay, and `tcpsleuth live`
 * captures on the underlay, where every segment is inside IPv4/UDP/VXLAN/Ethernet.
 * ss in both namespaces is the truth for the inner connection.
 */

const CAN_RUN = IS_ROOT && HAVE_BINDING && have('ip') && have('python3') && have('ss');

/** Why the kernel cannot make a vxlan device (tried in a namespace of its own), or null when it can. */
function vxlanMissing(): string | null {
  const ns = `tsl-vxprobe-${process.pid}-${randomBytes(3).toString('hex')}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return 'cannot make a network namespace';
  try {
    const r = spawnSync('ip', ['-n', ns, 'link', 'add', 'vxp', 'type', 'vxlan', 'id', '1', 'dstport', '4789'], { encoding: 'utf8' });
    return r.status === 0 ? null : `the kernel cannot make a vxlan device: ${r.stderr.trim()}`;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

const NO_VXLAN = CAN_RUN ? vxlanMissing() : null;
const WHY = !IS_ROOT ? 'not root' : !HAVE_BINDING ? 'no libpcap binding built (pcap or cap)' : !CAN_RUN ? 'ip, ss or python3 missing' : NO_VXLAN;
const NAME = WHY === null ? 'live capture through VXLAN on a veth underlay' : `live capture through VXLAN on a veth underlay (skipped: ${WHY})`;

interface FindingRecord {
  type?: string;
  kind: string;
  connection: number;
  endpoint: string;
  endpointAddress: string;
}

interface TunnelLayerRecord {
  type: string;
  erspanType: number | null;
  src: string;
  dst: string;
  srcPort: number | null;
  dstPort: number | null;
  id: number | null;
  reverseId: number | null;
}

interface ConnectionRecord {
  id: number;
  client: string;
  server: string;
  tunnel: TunnelLayerRecord[];
  clientState: string;
  serverState: string;
}

interface Analysed {
  findings: FindingRecord[];
  connections: ConnectionRecord[];
  captures: { packets: number; decode: { tcp: number; tunnelledTcp: number } }[];
}

interface Report extends Analysed {
  type: string;
  live: { packets: number; stoppedBy: string };
}

/** A VXLAN overlay on the pair: one device each side, inner addresses PREFIX.1 (A) and PREFIX.2 (B). */
interface Overlay {
  dev: string;
  vni: number;
  port: number;
  prefix: string;
}

const VX4789: Overlay = { dev: 'vx0', vni: 42, port: 4789, prefix: '10.97.0' };
/** Linux's own default port for a vxlan device made without dstport. */
const VX8472: Overlay = { dev: 'vx1', vni: 43, port: 8472, prefix: '10.96.0' };
/** A port no decoder knows: decapsulated only when asked. */
const VX4799: Overlay = { dev: 'vx2', vni: 44, port: 4799, prefix: '10.95.0' };

interface SsSocket {
  state: string;
  local: string;
  peer: string;
}

/** `ss -tanoi` in a namespace: its TCP sockets (the -i detail lines skipped). */
function ss(ns: string): { text: string; sockets: SsSocket[] } {
  const text = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-tanoi'], { encoding: 'utf8' });
  const sockets = text
    .split('\n')
    .filter((l) => /^[A-Z]/.test(l) && !l.startsWith('State'))
    .map((l) => {
      const [state, , , local, peer] = l.trim().split(/\s+/);
      return { state: state!, local: local!, peer: peer! };
    });
  return { text, sockets };
}

describe.skipIf(WHY !== null)(NAME, () => {
  const pair = new NetnsPair();
  const tmp = mkdtempSync(join(tmpdir(), 'tcpsleuth-live-tunnel-'));
  const procs: Proc[] = [];
  const BASE = 7400;

  const start = (p: Proc): Proc => {
    procs.push(p);
    return p;
  };
  /** tcpsleuth live in A, on the underlay veth: it sees only encapsulated segments. */
  const live = async (args: string[]): Promise<Proc> => {
    const p = start(tcpsleuth(pair.a, ['live', '-i', pair.ifA, ...args]));
    await p.until((x) => x.stderr.includes('listening on'), 15_000, 'tcpsleuth live to start');
    return p;
  };
  /** The client exchanges (live-netns.ts CLIENT_PY) from A to B's inner address. */
  const client = async (o: Overlay, steps: string[]): Promise<void> => {
    const c = start(python(pair.a, CLIENT_PY, [`${o.prefix}.2`, String(BASE), ...steps]));
    const code = await c.exited;
    if (code !== 0) throw new Error(`client failed (${code}): ${c.stderr}`);
  };
  const stop = async (p: Proc): Promise<Report> => {
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const report = JSON.parse(p.stdout.trim().split('\n').at(-1)!) as Report;
    expect(report.type).toBe('report');
    expect(report.live.stoppedBy).toContain('SIGTERM');
    return report;
  };
  /** The layer every segment of an overlay's connection came in: A's underlay address to B's, first packet from A. */
  const layer = (o: Overlay): TunnelLayerRecord => ({
    type: 'vxlan',
    erspanType: null,
    src: pair.addrA,
    dst: pair.addrB,
    srcPort: expect.any(Number) as number,
    dstPort: o.port,
    id: o.vni,
    reverseId: o.vni,
  });

  beforeAll(async () => {
    pair.up();
    for (const o of [VX4789, VX8472, VX4799]) {
      for (const [ns, dev, local, remote, host] of [
        [pair.a, pair.ifA, pair.addrA, pair.addrB, 1],
        [pair.b, pair.ifB, pair.addrB, pair.addrA, 2],
      ] as const) {
        const vxlan = ['link', 'add', o.dev, 'type', 'vxlan', 'id', String(o.vni), 'local', local, 'remote', remote, 'dstport', String(o.port), 'dev', dev];
        execFileSync('ip', ['-n', ns, ...vxlan]);
        execFileSync('ip', ['-n', ns, 'addr', 'add', `${o.prefix}.${host}/24`, 'dev', o.dev]);
        execFileSync('ip', ['-n', ns, 'link', 'set', o.dev, 'mtu', '1450', 'up']);
      }
    }
    // One server on every address of B: each overlay's inner address reaches the same ports.
    const server = start(python(pair.b, SERVER_PY, ['0.0.0.0', String(BASE), '120']));
    await server.until((p) => p.stdout.includes('ready'), 10_000, 'the server');
  });

  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    pair.down();
    rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'VXLAN on 4789: the inner connections carry their tunnel, their states agree with ss, close-wait-stuck and connection-refused are raised; --no-decap on the -w file finds no TCP',
    async () => {
      const o = VX4789;
      const out = join(tmp, 'vxlan-4789.pcapng');
      const p = await live(['--format', 'json', '--close-wait', '1s', '-w', out, 'udp', 'port', String(o.port)]);
      await client(o, ['refused', 'closewait']);
      // Nothing follows the client's FIN: the clock alone makes the CLOSE-WAIT stuck.
      await p.until((x) => x.stdout.includes('"kind":"close-wait-stuck"'), 8_000, 'close-wait-stuck printed live');

      // The kernels' truth, with the connection still held by the server.
      const server = ss(pair.b);
      const clientSide = ss(pair.a);
      const report = await stop(p);

      const serverAddr = `${o.prefix}.2:${BASE}`;
      const held = report.connections.find((c) => c.server === serverAddr);
      expect(held, JSON.stringify(report.connections)).toBeDefined();
      expect(held!.client).toMatch(new RegExp(`^${o.prefix.replaceAll('.', '\\.')}\\.1:\\d+$`));
      expect(held!.tunnel).toEqual([layer(o)]);

      const onServer = server.sockets.find((s) => s.local === serverAddr && s.peer === held!.client);
      const onClient = clientSide.sockets.find((s) => s.local === held!.client && s.peer === serverAddr);
      expect(onServer?.state, server.text).toBe('CLOSE-WAIT');
      expect(onClient?.state, clientSide.text).toBe('FIN-WAIT-2');
      expect(held!.serverState).toBe(onServer!.state);
      expect(held!.clientState).toBe(onClient!.state);

      const refusedAddr = `${o.prefix}.2:${BASE + 2}`;
      const refused = report.connections.find((c) => c.server === refusedAddr);
      expect(refused, JSON.stringify(report.connections)).toBeDefined();
      expect(refused!.tunnel).toEqual([layer(o)]);
      expect([refused!.clientState, refused!.serverState]).toEqual(['CLOSED', 'CLOSED']);
      // Refused: no socket is left for it on either side.
      expect(clientSide.sockets.filter((s) => s.peer === refusedAddr)).toEqual([]);
      expect(server.sockets.filter((s) => s.local === refusedAddr)).toEqual([]);

      expect(report.connections).toHaveLength(2);
      const findings = report.findings.map((f) => `${f.kind} #${f.connection} ${f.endpoint} ${f.endpointAddress}`).sort();
      expect(findings).toEqual([`close-wait-stuck #${held!.id} server ${serverAddr}`, `connection-refused #${refused!.id} server ${refusedAddr}`].sort());
      expect(report.captures[0]!.decode.tunnelledTcp).toBe(report.captures[0]!.decode.tcp);
      expect(report.captures[0]!.decode.tcp).toBeGreaterThanOrEqual(2 + 8);

      // The same packets, read back: the same connections in the same tunnel; none without decapsulation.
      expect(statSync(out).size).toBeGreaterThan(0);
      const analysed = runJson<Analysed>(['analyze', '--format', 'json', '--close-wait', '1s', out]);
      expect(analysed.captures[0]!.packets).toBe(report.live.packets);
      expect(analysed.connections.map((c) => [c.client, c.server, c.tunnel])).toEqual(report.connections.map((c) => [c.client, c.server, c.tunnel]));
      const plain = runJson<Analysed>(['analyze', '--format', 'json', '--no-decap', out]);
      expect(plain.captures[0]!.packets).toBe(report.live.packets);
      expect(plain.connections).toEqual([]);
      expect(plain.findings).toEqual([]);
      expect(plain.captures[0]!.decode.tcp).toBe(0);
    },
    40_000,
  );

  it('VXLAN on 8472 (the Linux default) is decapsulated by default; the table marks the connection and names its tunnel', async () => {
    const o = VX8472;
    const p = await live(['--close-wait', '1s', 'udp', 'port', String(o.port)]);
    await client(o, ['refused']);
    await p.until((x) => /connection-refused #1~?:/.test(x.stdout), 8_000, 'the live line');
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.stdout).toMatch(new RegExp(`connection-refused #1~?: server ${o.prefix.replaceAll('.', '\\.')}\\.2:${BASE + 2} refused the connection`));
    expect(p.stdout).toContain(`In tunnels: 1 (vxlan ${pair.addrA}>${pair.addrB} VNI ${o.vni}: 1).`);
    expect(p.stdout).toMatch(/^ *1~ /m);
  });

  it('--no-decap in live mode: the encapsulated segments are captured (the -w file has them) but no TCP connection is seen', async () => {
    const o = VX4789;
    const out = join(tmp, 'no-decap.pcapng');
    const p = await live(['--format', 'json', '--no-decap', '--stats-interval', '1s', '-w', out, 'udp', 'port', String(o.port)]);
    await client(o, ['healthy']);
    // No finding to wait for: the stats lines say when the exchange's packets are in.
    await p.until((x) => x.stdout.split('\n').some((l) => l.startsWith('{"type":"stats"') && (JSON.parse(l) as { packets: { analysed: number } }).packets.analysed >= 8), 10_000, 'the packets');
    const report = await stop(p);
    expect(report.live.packets).toBeGreaterThanOrEqual(8);
    expect(report.connections).toEqual([]);
    expect(report.findings).toEqual([]);
    expect(report.captures[0]!.decode.tcp).toBe(0);

    const decapsulated = runJson<Analysed>(['analyze', '--format', 'json', out]);
    expect(decapsulated.connections.map((c) => [c.server, c.clientState, c.tunnel])).toEqual([[`${o.prefix}.2:${BASE + 3}`, expect.any(String), [layer(o)]]]);
  });

  it('VXLAN on 4799: live decapsulates it with --vxlan-port 4799; analyze of its -w file only with --vxlan-port or --decap udp:4799=vxlan', async () => {
    const o = VX4799;
    const out = join(tmp, 'vxlan-4799.pcapng');
    const p = await live(['--format', 'json', '--vxlan-port', String(o.port), '-w', out, 'udp', 'port', String(o.port)]);
    await client(o, ['refused']);
    await p.until((x) => x.stdout.includes('"kind":"connection-refused"'), 8_000, 'connection-refused printed live');
    const report = await stop(p);
    expect(report.connections.map((c) => [c.server, c.tunnel])).toEqual([[`${o.prefix}.2:${BASE + 2}`, [layer(o)]]]);

    const plain = runJson<Analysed>(['analyze', '--format', 'json', out]);
    expect(plain.captures[0]!.packets).toBe(report.live.packets);
    expect(plain.connections).toEqual([]);
    for (const opt of [['--vxlan-port', String(o.port)], ['--decap', `udp:${o.port}=vxlan`]]) {
      const r = runJson<Analysed>(['analyze', '--format', 'json', ...opt, out]);
      expect(r.connections.map((c) => [c.server, c.tunnel])).toEqual([[`${o.prefix}.2:${BASE + 2}`, [layer(o)]]]);
      expect(r.findings.map((f) => f.kind)).toEqual(['connection-refused']);
    }
  });
});
