/**
 * The sharded path (--threads N) writes the very document one thread writes: JSON
 * and table, with view filters, for every real-kernel capture, a sample of the corpus,
 * and several files merged. Runs the built CLI: worker threads load the built modules.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ipv4, tcp } from './helpers/ip-packets.js';
import { asV4, ethernet } from './helpers/link-layers.js';
import { pcapFile, type PcapRecordSpec } from './helpers/pcap.js';
import { useTempDir } from './helpers/temp-dir.js';
import { BIN, run as cli } from './helpers/cli.js';
import { CAPTURES, CORPUS, HAVE_CORPUS } from './helpers/env.js';
import { mapLimit } from './helpers/tshark.js';

const run = promisify(execFile);

async function analyze(args: string[]): Promise<{ stdout: string; code: number }> {
  const { stdout, code } = await cli(['analyze', ...args]);
  return { stdout, code };
}

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => join(CAPTURES, f));
const corpus = HAVE_CORPUS
  ? ['zeek/ssh/ssh.pcap', 'zeek/wikipedia.pcap', 'tcpdump/resp_3_malicious.pcap', 'zeek/tcp/fin_retransmission.pcap', 'zeek/pop3/pop3.pcap', 'zeek/smtp.pcap', 'zeek/ftp/ipv6.pcap', 'zeek/http/concurrent-range-requests.pcap', 'zeek/http/cooper-grill-dvwa.pcapng', 'zeek/tcp/missing-syn.pcap']
      .map((f) => join(CORPUS, f))
  : [];

const tmp = useTempDir();

/**
 * Twelve clients refused by one server, each from its own port (so from several
 * shards), then a client that connects three times from one port (port reuse).
 */
function refusalsAndReuse(): string {
  const records: PcapRecordSpec[] = [];
  let t = 0;
  const frame = (src: string, dst: string, spec: Parameters<typeof tcp>[0]): void => {
    records.push({ sec: 1700000000 + Math.floor(t / 1e6), frac: t % 1e6, data: ethernet(asV4(ipv4({ src, dst, payload: tcp(spec) }))) });
    t += 1000;
  };
  for (let i = 0; i < 12; i++) {
    frame('10.1.0.1', '10.1.0.2', { sport: 41000 + i * 7, dport: 8080, flags: 'S', seq: 100 + i });
    frame('10.1.0.2', '10.1.0.1', { sport: 8080, dport: 41000 + i * 7, flags: 'RA', seq: 0, ack: 101 + i });
  }
  for (let k = 0; k < 3; k++) {
    frame('10.1.0.3', '10.1.0.4', { sport: 50000, dport: 80, flags: 'S', seq: 5000 * (k + 1) });
    frame('10.1.0.4', '10.1.0.3', { sport: 80, dport: 50000, flags: 'RA', seq: 0, ack: 5000 * (k + 1) + 1 });
    t += 2_000_000;
  }
  return tmp.write('refusals.pcap', pcapFile(records));
}

describe('one thread and several write the same document', () => {
  const cases: [string, string[]][] = [
    ...[...ours, ...corpus].map((f): [string, string[]] => [f.slice(f.lastIndexOf('/', f.lastIndexOf('/') - 1) + 1), [f]]),
    // Several files, merged by time, in every thread alike.
    ['all of captures/ at once', ours],
  ];

  it.each(cases)('%s', async (_name, files) => {
    const variants: string[][] = [
      ['--format', 'json'],
      ['--format', 'table'],
      ['--format', 'json', '--min-severity', 'warning', '--port', '8080'],
    ];
    await mapLimit(variants, async (v) => {
      const one = await analyze([...v, '--threads', '1', ...files]);
      const two = await analyze([...v, '--threads', '2', ...files]);
      expect(two.code).toBe(one.code);
      expect(two.stdout).toBe(one.stdout);
      if (v.includes('json')) {
        const listed = (JSON.parse(one.stdout) as { connections: { client: string; server: string }[] }).connections;
        // --port lists only that port's connections; unfiltered, every capture here has some.
        if (v.includes('--port')) expect(listed.filter((c) => !c.client.endsWith(':8080') && !c.server.endsWith(':8080'))).toEqual([]);
        else expect(listed).not.toEqual([]);
      }
    }, 3);
  });

  // As many threads as the machine has cores (the CLI takes no more), two at least.
  const N = Math.max(2, availableParallelism());
  it(`connections spread over ${N} threads are numbered, and refusals counted, as by one`, async () => {
    // Refusals of one server from many client ports land in different shards; port reuse links connections of one shard.
    const files = [refusalsAndReuse(), join(CAPTURES, 'port-reuse.pcap'), join(CAPTURES, 'half-open.pcap')];
    const one = await analyze(['--format', 'json', '--threads', '1', ...files]);
    const many = await analyze(['--format', 'json', '--threads', String(N), ...files]);
    expect(many.stdout).toBe(one.stdout);
    const doc = JSON.parse(one.stdout) as { connections: { id: number }[]; findings: { kind: string; details: Record<string, number> }[] };
    expect(doc.connections.map((c) => c.id)).toEqual(doc.connections.map((_, i) => i + 1));
    expect(doc.findings.some((f) => f.kind === 'port-reuse')).toBe(true);
    expect(Math.max(...doc.findings.filter((f) => f.kind === 'connection-refused').map((f) => f.details.refusalsOfThisPort!))).toBeGreaterThan(1);
  });

  it('--fail-on sees the same findings on the sharded path', async () => {
    const f = join(CAPTURES, 'close-wait-stuck.pcap');
    expect((await analyze(['--fail-on', 'error', '--threads', '2', f])).code).toBe((await analyze(['--fail-on', 'error', f])).code);
    expect((await analyze(['--fail-on', 'error', '--threads', '2', '--port', '1', f])).code).toBe(0);
  });

  it('a pipe is read by one thread whatever --threads says (every thread would read from it)', async () => {
    const f = refusalsAndReuse(); // thirteen tuples: both shards have connections
    const viaPipe = await run('bash', ['-c', `"${process.execPath}" "${BIN}" analyze --format json --threads 2 <(cat "${f}")`]);
    const direct = await analyze(['--format', 'json', f]);
    const conns = (s: string): unknown => (JSON.parse(s) as { connections: unknown }).connections;
    expect(conns(viaPipe.stdout)).toEqual(conns(direct.stdout));
  });

  it('standard input is read by one thread whatever --threads says', async () => {
    const f = join(CAPTURES, 'peer-reset.pcap');
    const { stdout } = await run('sh', ['-c', `"${process.execPath}" "${BIN}" analyze --format json --threads 2 - < "${f}"`]);
    const direct = await analyze(['--format', 'json', '--threads', '1', f]);
    const conns = (s: string): unknown[] => (JSON.parse(s) as { connections: unknown[] }).connections;
    expect(conns(stdout)).toHaveLength(1);
    expect(conns(stdout)).toEqual(conns(direct.stdout));
  });
});
