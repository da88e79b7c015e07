/**
 * What the reports say of tunnelled connections: the table's mark and summary line,
 * the incident reports' note, `packets` with each packet's own encapsulation,
 * `annotate`'s comments, and findings grouped per virtual network (the same address
 * in two VNIs is two hosts). On a real-kernel VXLAN capture (captures/tunnel/) and on
 * a made-up one with two VNIs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { readCapture } from '../src/capture/read-capture.js';
import { groupFindings, placeOf } from '../src/report/groups.js';
import { ethernet, asV4 } from './helpers/link-layers.js';
import { ipv4, tcp } from './helpers/ip-packets.js';
import { pcapFile } from './helpers/pcap.js';
import { udp, vxlan } from './helpers/tunnels.js';
import { run } from './helpers/cli.js';
import { CAPTURES } from './helpers/env.js';
import { useTempDir } from './helpers/temp-dir.js';

const tmp = useTempDir();
const CAPTURE = join(CAPTURES, 'tunnel', 'vxlan-close-wait.pcap');
/** How the capture's tunnel reads, in either outer direction (the truth file: VNI 42 between 10.98.0.1 and 10.98.0.2). */
const LAYER = /vxlan 10\.98\.0\.[12]>10\.98\.0\.[12] VNI 42/;

describe('tunnelled connections in the reports (captures/tunnel/vxlan-close-wait.pcap)', () => {
  it('the table marks the row ~, sums the tunnels up and says what ~ means', async () => {
    const r = await run(['analyze', CAPTURE], undefined, { env: { COLUMNS: '200' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^In tunnels: 1 \(vxlan 10\.98\.0\.1>10\.98\.0\.2 VNI 42: 1\)\.$/m);
    expect(r.stdout).toMatch(/^\s*1~\s/m);
    expect(r.stdout).toMatch(/^~ carried in a tunnel/m);
    // The capture line counts the segments found inside.
    expect(r.stdout).toMatch(/\(\d+ TCP segments in tunnels\)/);
    const plain = await run(['analyze', '--no-decap', CAPTURE]);
    expect(plain.stdout).toMatch(/No TCP connections\./);
    expect(plain.stdout).not.toMatch(/In tunnels/);
  });

  it('the incident reports say which tunnel, under the table and over the diagram', async () => {
    const md = await run(['analyze', '-f', 'md', CAPTURE]);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/\| 1~ \|/);
    // Markdown escapes the ~ (strikethrough) and the > (an HTML character).
    expect(md.stdout).toMatch(/^\\~ carried in a tunnel \(the addresses shown are the inner ones\): vxlan 10\.98\.0\.1&gt;10\.98\.0\.2 VNI 42 \(1\)\.$/m);
    expect(md.stdout).toMatch(/^### Connection 1: .* in vxlan 10\.98\.0\.1&gt;10\.98\.0\.2 VNI 42 \(close-wait-stuck\)$/m);
    const html = await run(['analyze', '-f', 'html', CAPTURE]);
    expect(html.stdout).toMatch(/<p class="note">~ carried in a tunnel/);
    expect(html.stdout).toMatch(/ in <span class="mono">vxlan 10\.98\.0\.1&gt;10\.98\.0\.2 VNI 42<\/span>/);
  });

  it('packets: each line begins with its own packet\'s encapsulation; JSON lines carry it as `tunnel`', async () => {
    const text = await run(['packets', '--color', 'never', CAPTURE]);
    const lines = text.stdout.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) expect(l).toMatch(new RegExp(`^\\s*\\d+ +\\S+ ${LAYER.source}: IP 10\\.99\\.0\\.[12]\\.\\d+ > 10\\.99\\.0\\.[12]\\.\\d+: Flags`));
    // Both outer directions show up, each as its packet went.
    expect(lines.some((l) => l.includes('vxlan 10.98.0.1>10.98.0.2'))).toBe(true);
    expect(lines.some((l) => l.includes('vxlan 10.98.0.2>10.98.0.1'))).toBe(true);
    const json = await run(['packets', '-f', 'json', CAPTURE]);
    for (const l of json.stdout.split('\n').filter((x) => x !== '')) {
      const rec = JSON.parse(l) as { src: string; tunnel: Array<{ type: string; src: string; dst: string; srcPort: number; dstPort: number; id: number }> };
      expect(rec.src).toMatch(/^10\.99\.0\.[12]:\d+$/);
      expect(rec.tunnel).toHaveLength(1);
      const t = rec.tunnel[0]!;
      expect([t.type, t.id, t.dstPort]).toEqual(['vxlan', 42, 4789]);
      expect([t.src, t.dst].sort()).toEqual(['10.98.0.1', '10.98.0.2']);
    }
    // Without decapsulation there is no connection to list.
    const none = await run(['packets', '--no-decap', CAPTURE]);
    expect(none.stdout).toBe('');
  });

  it("annotate: the state-change comments name the connection's tunnel", async () => {
    const out = join(tmp.path, 'vxlan.pcapng');
    const r = await run(['annotate', CAPTURE, '-o', out]);
    expect(r.code).toBe(0);
    const comments: string[] = [];
    await readCapture(out, {
      onInterface: () => undefined,
      onWarning: () => undefined,
      onFrame: (f) => {
        for (const c of f.comments ?? []) comments.push(c);
      },
    });
    const changes = comments.filter((c) => c.startsWith('tcpsleuth: '));
    expect(changes.length).toBeGreaterThan(0);
    for (const c of changes) expect(c).toMatch(/^tcpsleuth: (client|server) 10\.99\.0\.[12]:\d+ in vxlan 10\.98\.0\.1>10\.98\.0\.2 VNI 42 /);
  });
});

describe('findings grouped per virtual network', () => {
  /** A SYN to 10.0.0.5:80 answered by a RST, inside VXLAN VNI `vni` between two VTEPs; the same ISN in every one (the same connect() retried, were they in one network). */
  function refused(vni: number, clientPort: number): Buffer[] {
    const syn = ipv4({ src: '10.0.0.7', dst: '10.0.0.5', payload: tcp({ sport: clientPort, dport: 80, seq: 1000, ack: 0, flags: 'S' }) });
    const rst = ipv4({ src: '10.0.0.5', dst: '10.0.0.7', payload: tcp({ sport: 80, dport: clientPort, seq: 0, ack: 1001, flags: 'RA' }) });
    const wrap = (inner: Buffer, out: { src: string; dst: string }, sport: number): Buffer =>
      ethernet(asV4(ipv4({ ...out, proto: 17, payload: udp({ sport, dport: 4789, payload: vxlan(vni, ethernet(asV4(inner))) }) })));
    return [wrap(syn, { src: '192.0.2.1', dst: '192.0.2.2' }, 40000 + vni), wrap(rst, { src: '192.0.2.2', dst: '192.0.2.1' }, 50000 + vni)];
  }

  it('the same server address refused in two VNIs is two groups; one VNI, one group', async () => {
    const frames = [...refused(100, 40001), ...refused(200, 40001), ...refused(100, 40002)];
    const path = join(tmp.path, 'two-vnis.pcap');
    writeFileSync(path, pcapFile(frames.map((data, i) => ({ data, sec: 1700000000, frac: i * 1000 }))));
    const r = await analyzeCaptures([path]);
    // The same 4-tuple in two VNIs: two connections; a second client port in VNI 100: a third.
    expect(r.connections.map((c) => c.tunnel?.layers[0]!.id)).toEqual([100, 200, 100]);
    const refusals = r.findings.filter((f) => f.kind === 'connection-refused');
    expect(refusals).toHaveLength(3);
    // Counted per network: the second refusal in VNI 100 is its second, VNI 200's its first.
    expect(refusals.map((f) => f.kind === 'connection-refused' && f.details.refusalsOfThisPort)).toEqual([1, 1, 2]);
    const groups = groupFindings(refusals);
    expect(groups.map((g) => [placeOf(g), g.connections])).toEqual([
      ['10.0.0.5:80 in VXLAN VNI 100', [1, 3]],
      ['10.0.0.5:80 in VXLAN VNI 200', [2]],
    ]);
    // The verdict says where; the JSON's groups too.
    const json = JSON.parse((await run(['analyze', '-f', 'json', path])).stdout) as { groups: Array<{ where: string; count: number }> };
    expect(json.groups.map((g) => [g.where, g.count])).toEqual([
      ['10.0.0.5:80 in VXLAN VNI 100', 2],
      ['10.0.0.5:80 in VXLAN VNI 200', 1],
    ]);
    const table = await run(['analyze', path]);
    expect(table.stdout).toMatch(/2 connections to 10\.0\.0\.5:80 in VXLAN VNI 100: refused/);
    expect(table.stdout).toMatch(/1 connection to 10\.0\.0\.5:80 in VXLAN VNI 200: refused/);
  });
});
