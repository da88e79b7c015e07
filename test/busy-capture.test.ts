import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSync, type Run } from './helpers/cli.js';
import { CAPTURES } from './helpers/env.js';

/**
 * A busy server's capture (captures/busy-server.pcap: 390 real-kernel connections
 * over four ports, 100 leaked in CLOSE-WAIT on two of them, 30 aborts, 10 refusals;
 * what the kernel said is in busy-server.truth.json): the verdict comes first, one
 * group per cause, explained once, in output sized for a terminal and a ticket.
 */

const BUSY = join(CAPTURES, 'busy-server.pcap');

function cli(args: string[], env: Record<string, string> = {}): Run {
  return runSync(args, { env: { NO_COLOR: '', COLUMNS: '', ...env } });
}

interface Truth {
  observed?: unknown;
}

interface Doc {
  connections: { id: number; stream: number; client: string; server: string; serverState: string; clientState: string; firstTime: string; lastTime: string }[];
  findings: { kind: string; severity: string; connection: number; group: number; displayFilter: string }[];
  groups: { id: number; kind: string; severity: string; where: string; count: number; connections: number[]; findings: number[]; headline: string; pileUp: { counts: number[] } | null }[];
}

const truth = JSON.parse(readFileSync(join(CAPTURES, 'busy-server.truth.json'), 'utf8')) as Truth;
const doc = JSON.parse(cli(['analyze', '--format', 'json', BUSY]).stdout) as Doc;

describe('busy-server.pcap: a server with hundreds of connections and several causes', () => {
  it('is the capture the truth file describes (390 connections, 100 left in CLOSE-WAIT on the server)', () => {
    expect(truth).toBeTypeOf('object');
    expect(doc.connections).toHaveLength(390);
    expect(doc.connections.filter((c) => c.serverState === 'CLOSE-WAIT')).toHaveLength(100);
  });

  it('JSON groups cover every finding exactly once, and each finding names its group', () => {
    const seen = new Map<number, number>();
    for (const g of doc.groups) for (const i of g.findings) seen.set(i, (seen.get(i) ?? 0) + 1);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(doc.findings.map((_, i) => i));
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    for (const g of doc.groups) {
      for (const i of g.findings) {
        const f = doc.findings[i]!;
        expect(f.group).toBe(g.id);
        expect(f.kind).toBe(g.kind);
        expect(f.severity).toBe(g.severity);
      }
      expect(g.count).toBe(new Set(g.findings.map((i) => doc.findings[i]!.connection)).size);
    }
  });

  it('one group per leaking port: 60 on :8080 and 40 on :9090, their pile-up growing to the end', () => {
    const cw = doc.groups.filter((g) => g.kind === 'close-wait-stuck');
    expect(cw.map((g) => [g.where.replace(/^.*:/, ''), g.count])).toEqual([
      ['8080', 60],
      ['9090', 40],
    ]);
    for (const g of cw) {
      const counts = g.pileUp!.counts;
      expect(counts[counts.length - 1]).toBe(g.count);
      for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!);
    }
  });

  it('the table: the verdict before the table, each group with its count, each explanation once, within a line budget', () => {
    const r = cli(['analyze', BUSY]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const verdict = lines.indexOf('Verdict:');
    const table = lines.findIndex((l) => /^\s+#\s+Stream\s+Client/.test(l));
    expect(verdict).toBeGreaterThan(0);
    expect(table).toBeGreaterThan(verdict);
    const said = lines.slice(verdict + 1, table).join(' ').replace(/\s+/g, ' ');
    expect(said).toContain('100 connections to 10.99.0.2:8080 (60) and :9090 (40): stuck in CLOSE-WAIT');
    expect(said).toContain('10 connections to 10.99.0.2:6000: refused');
    expect(said).toContain('20 connections from 10.99.0.1: closed by a RST from the client');
    // The worst comes first: no verdict line of a lower severity before one of a higher.
    const sev = lines.slice(verdict + 1, table).map((l) => /^ {2}(ERROR|WARNING|INFO) /.exec(l)?.[1]).filter(Boolean);
    expect(sev.indexOf('INFO')).toBeGreaterThan(sev.lastIndexOf('WARNING'));
    // One explanation per group: the CLOSE-WAIT story is told twice (one group per port), not 100 times.
    const story = r.stdout.split('moved the socket to CLOSE-WAIT').length - 1;
    expect(story).toBe(2);
    // 390 connections: only the 140 with findings or open at the end are rows, no rule between them.
    expect(r.stdout).toContain('Connections with findings or open at the end: 140 of 390 (--all lists every one).');
    expect(lines.length).toBeLessThan(320);
    const all = cli(['analyze', '--all', BUSY]).stdout.split('\n');
    expect(all.length - lines.length).toBe(250);
  });

  it('the Markdown report is under 65,536 characters and says what it left out', () => {
    const r = cli(['analyze', '--format', 'md', BUSY]);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeLessThan(65_536);
    expect(r.stdout.indexOf('## Verdict')).toBeLessThan(r.stdout.indexOf('## Summary'));
    expect(r.stdout).toMatch(/This report is kept under 65536 characters \(--max-chars\) and leaves out [^*]*(connection rows|ladder diagrams)/);
    expect(r.stdout.split('moved the socket to CLOSE-WAIT').length - 1).toBe(2);
    const unlimited = cli(['analyze', '--format', 'md', '--max-chars', '0', BUSY]);
    expect(unlimited.stdout.length).toBeGreaterThan(65_536);
  });

  it("each group's explanation is printed once in the table", () => {
    const out = cli(['analyze', BUSY]).stdout.replace(/\s+/g, ' ');
    for (const g of doc.groups as unknown as { explanation: string }[]) {
      const words = g.explanation.replace(/\s+/g, ' ').slice(0, 120);
      expect(out.split(words).length - 1, words).toBe(1);
    }
  });

  it('--state, --finding, --since/--until and --host (a network, a name, any IPv6 spelling) select connections', () => {
    const json = (args: string[], file = BUSY): Doc => JSON.parse(cli(['analyze', '--format', 'json', ...args, file]).stdout) as Doc;
    const cw = json(['--state', 'close_wait']);
    expect(cw.connections).toHaveLength(100);
    expect(cw.connections.every((c) => c.serverState === 'CLOSE-WAIT' || c.clientState === 'CLOSE-WAIT')).toBe(true);
    const refused = json(['--finding', 'connection-refused']);
    expect(refused.connections).toHaveLength(10);
    expect(new Set(refused.findings.map((f) => f.kind))).toEqual(new Set(['connection-refused']));
    const first = Math.min(...doc.connections.map((c) => Number(c.firstTime)));
    const win = json(['--since', '+3s', '--until', '+5s']);
    // Exactly the connections alive at some time in the window, under their ids in the whole report.
    const alive = doc.connections.filter((c) => Number(c.firstTime) <= first + 5 && Number(c.lastTime) >= first + 3);
    expect(win.connections.map((c) => c.id)).toEqual(alive.map((c) => c.id));
    expect(win.connections.length).toBeLessThan(390);
    const iso = new Date((first + 3) * 1000).toISOString().replace('T', ' ').replace('Z', '');
    expect(json(['--since', iso, '--until', '+5s']).connections.map((c) => c.id)).toEqual(win.connections.map((c) => c.id));
    expect(json(['--host', '10.99.0.0/24']).connections).toHaveLength(390);
    expect(json(['--host', '10.99.0.1', '--port', '6000']).connections).toHaveLength(10);
    expect(json(['--host', '10.98.0.0/16']).connections).toHaveLength(0);
    expect(cli(['analyze', '--host', '10.98.0.0/16', BUSY]).stdout).toContain('No TCP connections match the filters (390 left out).');
    expect(json(['--host', 'fd00:99:0:0:0:0:0:2'], join(CAPTURES, 'healthy-ipv6.pcap')).connections).toHaveLength(1);
    expect(json(['--host', 'localhost']).connections).toHaveLength(0);
  });

  it.each([
    [['--host', '10.0.0.0/33'], /prefix length/],
    [['--host', 'not a host!'], /neither an IP address/],
    [['--host', 'no-such-host.invalid'], /does not resolve/],
    [['--port', '70000'], /port number/],
    [['--since', 'yesterday'], /expected a UTC time/],
    [['--state', 'HALF-OPEN'], /expected one of CLOSED/],
    [['--finding', 'leak'], /expected one of close-wait-stuck/],
  ])('a bad filter value is a usage error, never an empty report: %j', (args, message) => {
    const r = cli(['analyze', ...args, BUSY]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^tcpsleuth: /);
    expect(r.stderr).toMatch(message);
  });

  it('a severity filter says what it hides', () => {
    const r = cli(['analyze', '--min-severity', 'error', BUSY]);
    expect(r.stdout).toContain('No errors; 110 warnings, 30 info hidden by --min-severity error.');
    const w = cli(['analyze', '--min-severity', 'warning', BUSY]);
    expect(w.stdout).toContain('Also 30 info, hidden by --min-severity warning.');
  });
});
