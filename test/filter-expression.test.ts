import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSync } from './helpers/cli.js';
import { CAPTURES, CORPUS, HAVE_TCPDUMP, HAVE_TSHARK, REPO } from './helpers/env.js';

/**
 * `analyze FILE EXPR` selects the connections tcpdump's capture filter would have
 * captured: the same as `tcpdump -r FILE -w - EXPR | tcpsleuth analyze -`. Connections
 * are compared as unordered address:port pairs (a filter that drops a SYN leaves the
 * piped analysis guessing the roles), every packet of ours still being analysed.
 */

interface Doc {
  connections: { client: string; server: string }[];
}

function pairs(doc: Doc): string[] {
  return [...new Set(doc.connections.map((c) => [c.client, c.server].sort().join(' ')))].sort();
}

function ours(file: string, expr: string): string[] {
  const r = runSync(['analyze', '--format', 'json', file, expr]);
  expect(r.code, r.stderr).toBe(0);
  return pairs(JSON.parse(r.stdout) as Doc);
}

function viaTcpdump(file: string, expr: string): string[] {
  const pcap = execFileSync('tcpdump', ['-r', file, '-w', '-', expr], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  if (pcap.length <= 24) return [];
  const r = runSync(['analyze', '--format', 'json', '-'], { input: pcap });
  expect(r.code, r.stderr).toBe(0);
  return pairs(JSON.parse(r.stdout) as Doc);
}

const CASES: Array<[string, string[]]> = [
  [join(CAPTURES, 'busy-server.pcap'), ['port 8080', 'tcp port 6000 or port 7000', 'not port 8080 and host 10.99.0.2', 'src host 10.99.0.1 and dst port 9090', 'portrange 6000-7999', 'net 10.99.0.0/24 and not (port 8080 or 9090)']],
  [join(CAPTURES, 'healthy-ipv6.pcap'), ['ip6 and port 7003', 'host fd00:99:0:0::2', 'net fd00:99::/32 and tcp']],
  [join(CAPTURES, 'icmp-unreachable.pcap'), ['tcp and not icmp', 'host 10.99.0.1 and tcp']],
  [join(CAPTURES, 'port-reuse.pcap'), ['dst port 7017', 'tcp']],
  [join(CORPUS, 'zeek/ssh/ssh.pcap'), ['net 131.159.0.0/16', 'port 22 and not host 192.168.1.79', 'src net 192.168.0.0/16']],
  [join(CORPUS, 'zeek/wikipedia.pcap'), ['port 80', 'host 10.0.2.15 and not port 443', 'net 208.80.152.0/22 or port 53']],
  [join(CORPUS, 'zeek/pop3/pop3.pcap'), ['port 110', 'not port 110']],
  [join(CORPUS, 'tcpdump/resp_1_benchmark.pcap'), ['port 6379', 'src port 6379']],
];

describe.skipIf(!HAVE_TCPDUMP)(`a filter expression selects the connections tcpdump's filter keeps${HAVE_TCPDUMP ? '' : ' (skipped: no tcpdump)'}`, () => {
  for (const [file, exprs] of CASES) {
    const present = existsSync(file);
    it.skipIf(!present)(`${file.replace(`${REPO}/`, '').replace(`${CORPUS}/`, 'corpus/')}${present ? '' : ' (skipped: no ../shared/corpus)'}`, () => {
      let some = 0;
      for (const expr of exprs) {
        const want = viaTcpdump(file, expr);
        expect(ours(file, expr), expr).toEqual(want);
        if (want.length) some++;
      }
      expect(some, 'the expressions select something').toBeGreaterThan(0);
    });
  }

  it.skipIf(!HAVE_TSHARK)(`only ICMP errors: the connection they quote, as tshark shows it from the ICMP alone${HAVE_TSHARK ? '' : ' (skipped: no tshark)'}`, () => {
    // Our tracker makes no connection of an ICMP error alone (the piped analysis has none); tshark numbers the quoted tuple.
    const file = join(CAPTURES, 'icmp-unreachable.pcap');
    const dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-filter-'));
    const only = join(dir, 'icmp.pcap');
    execFileSync('tcpdump', ['-r', file, '-w', only, 'icmp'], { stdio: 'ignore' });
    const fields = execFileSync('tshark', ['-r', only, '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    rmSync(dir, { recursive: true, force: true });
    const quoted = [
      ...new Set(
        fields
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const [src, sport, dst, dport] = l.split('\t') as [string, string, string, string];
            // The quoted (inner) header's addresses come last.
            return [`${src.split(',').pop()}:${sport}`, `${dst.split(',').pop()}:${dport}`].sort().join(' ');
          }),
      ),
    ].sort();
    expect(quoted).toHaveLength(1);
    expect(ours(file, 'icmp')).toEqual(quoted);
  });

  it('a filter word it does not know is a usage error, exit 2, one line', () => {
    const r = runSync(['analyze', join(CAPTURES, 'busy-server.pcap'), 'vlan', '3']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tcpsleuth: invalid filter "vlan 3": "vlan" /);
  });

  it('-r FILE takes every argument as the expression', () => {
    const r = runSync(['analyze', '--format', 'json', '-r', join(CAPTURES, 'busy-server.pcap'), 'port', '6000']);
    expect(r.code).toBe(0);
    expect(pairs(JSON.parse(r.stdout) as Doc).every((p) => p.includes(':6000'))).toBe(true);
    expect((JSON.parse(r.stdout) as Doc).connections).toHaveLength(10);
  });
});
