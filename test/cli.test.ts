import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './helpers/cli.js';
import { CORPUS, HAVE_CORPUS } from './helpers/env.js';

const tmp = mkdtempSync(join(tmpdir(), 'tcpsleuth-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('CLI usage', () => {
  it('prints help with examples for the program and for analyze, exit 0', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('analyze');
    expect(top.stdout).toContain('Examples:');
    const sub = await run(['analyze', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--format');
    expect(sub.stdout).toContain('Examples:');
  });

  it('exits 2 on usage errors, with a one-line reason', async () => {
    const bad = await run(['analyze', '--format', 'xml', 'x.pcap']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^tcpsleuth: .*'xml' is invalid/m);
    const missing = await run(['analyze']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('tcpsleuth: no capture given (a file, "-" for standard input, or -r FILE)\n');
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
  });

  it('exits 2 with a one-line error for a missing file, and no stack trace', async () => {
    const r = await run(['analyze', join(tmp, 'nope.pcap')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`tcpsleuth: ${join(tmp, 'nope.pcap')}: cannot open: no such file`]);
  });
});

describe.skipIf(!HAVE_CORPUS)('CLI analyze (needs ../shared/corpus)', () => {
  const v4 = join(CORPUS, 'suricata-verify/tcp-rst-unacked-stream-01-raw/input.pcap');
  const v6 = join(CORPUS, 'zeek/ipv6-http-atomic-frag.pcap');

  it('writes the JSON contract: captures, connections with client/server endpoints, findings', async () => {
    const r = await run(['analyze', '--format', 'json', v4, v6]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as {
      captures: Array<Record<string, unknown>>;
      connections: Array<Record<string, unknown>>;
      findings: unknown[];
    };
    expect(Array.isArray(j.findings)).toBe(true);
    for (const f of j.findings as Array<Record<string, unknown>>) {
      for (const k of ['kind', 'severity', 'connection', 'endpoint', 'packets', 'time', 'summary', 'explanation']) expect(f).toHaveProperty(k);
      expect(['error', 'warning', 'info']).toContain(f['severity']);
    }
    expect(j.captures).toHaveLength(2);
    for (const c of j.captures) {
      for (const k of ['file', 'format', 'linktypes', 'packets', 'firstTime', 'lastTime', 'errors']) expect(c).toHaveProperty(k);
      expect(c['errors']).toEqual([]);
      expect(String(c['firstTime'])).toMatch(/^\d+\.\d{9}$/);
    }
    expect(j.captures[0]!['packets']).toBe(8);
    // The two files are merged by time: ids follow first packets, whichever file they are in.
    expect(j.connections.map((c) => c['id'])).toEqual(j.connections.map((_, i) => i + 1));
    expect(j.connections.find((c) => c['client'] === '1.1.1.1:12345')).toMatchObject({ server: '2.2.2.2:8080' });
    for (const c of j.connections) {
      for (const k of ['clientState', 'serverState', 'connState', 'history']) expect(c).toHaveProperty(k);
    }
    const six = j.connections.find((c) => String(c['client']).startsWith('['));
    expect(six, 'an IPv6 connection').toBeDefined();
    expect(String(six!['server'])).toMatch(/^\[[0-9a-f:]+\]:\d+$/);
  });

  it('reads standard input, plain or gzip-compressed', async () => {
    const bytes = readFileSync(v4);
    for (const input of [bytes, gzipSync(bytes)]) {
      const r = await run(['analyze', '--format', 'json', '-'], input);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout) as { captures: Array<{ file: string; packets: number }>; connections: unknown[] };
      expect(j.captures[0]).toMatchObject({ file: '<stdin>', packets: 8 });
      expect(j.connections).toHaveLength(1);
    }
  });

  it('reports what it read before damage, names file/offset/packet, exits 2', async () => {
    const bytes = readFileSync(v4);
    const cut = join(tmp, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, 300));
    const r = await run(['analyze', '--format', 'json', cut]);
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout) as { captures: Array<{ packets: number; errors: Array<{ offset: number; packet: number }> }>; connections: unknown[] };
    expect(j.captures[0]!.packets).toBe(3);
    expect(j.captures[0]!.errors[0]).toMatchObject({ packet: 4 });
    expect(j.connections).toHaveLength(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^tcpsleuth: ${cut}: .*\\(byte offset \\d+, packet 4\\)$`));
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('prints a table with one row per connection', async () => {
    const r = await run(['analyze', v4]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1.1.1.1:12345');
    expect(r.stdout).toContain('2.2.2.2:8080');
    expect(r.stdout).toMatch(/8 packets/);
  });
});
