/**
 * By default `analyze` works out Zeek's conn_state and history on a second thread
 * (src/track/offload-thread.ts) for inputs of 16 MiB or more (here: of any size,
 * TCPSLEUTH_OFFLOAD_MIN_BYTES=0); `--threads 1` keeps everything on one. Both must write
 * the same document: for every real-kernel capture, every capture of Zeek's TCP
 * tests (flipped roles, rejected and reset connections, partial ones) and more of
 * the corpus, and for a SYN flood whose records wrap the ring many times while the
 * memory bounds retire and unlist connections. Runs the built CLI: the thread loads
 * the built module.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { synFlood as synFloodPcap } from './helpers/scenarios.js';
import { useTempDir } from './helpers/temp-dir.js';
import { BIN, run as cli } from './helpers/cli.js';
import { CAPTURES, CORPUS, HAVE_CORPUS } from './helpers/env.js';
import { mapLimit } from './helpers/tshark.js';
import { RING_RECORDS } from '../src/track/offload-thread.js';
import { analyzeCaptures } from '../src/analyze.js';
import { toJson } from '../src/report/json.js';

const run = promisify(execFile);

/** The offload thread for inputs of any size (by default only from 16 MiB on). */
const ENV = { ...process.env, TCPSLEUTH_OFFLOAD_MIN_BYTES: '0' };

async function analyze(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return cli(['analyze', ...args], undefined, { env: ENV });
}

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => join(CAPTURES, f));
const zeekTcp = HAVE_CORPUS
  ? readdirSync(join(CORPUS, 'zeek', 'tcp'))
      .filter((f) => /\.pcap(ng)?$/.test(f))
      .map((f) => join(CORPUS, 'zeek', 'tcp', f))
  : [];
const moreCorpus = HAVE_CORPUS
  ? ['zeek/ssh/ssh.pcap', 'zeek/wikipedia.pcap', 'tcpdump/resp_3_malicious.pcap', 'zeek/pop3/pop3.pcap', 'zeek/smtp.pcap', 'zeek/ftp/ipv6.pcap', 'zeek/http/concurrent-range-requests.pcap', 'zeek/globus-url-copy.pcap', 'zeek/auth_change_session_keys.pcap'].map((f) => join(CORPUS, f))
  : [];

const tmp = useTempDir();

/** A SYN flood of `n` spoofed sources, as a file. */
function synFlood(n: number): string {
  return tmp.write(`flood-${n}.pcap`, synFloodPcap(n));
}

describe("Zeek's conn_state on a second thread", () => {
  it('is used from 16 MiB on (or as told), never with --threads 1', async () => {
    // process emits 'worker' for every thread started: a preloaded module reports it, and
    // whether the thread's module ran (it says 'ready'): the CLI runs from dist/bundle/,
    // and a thread module missing there would fall back to one thread unseen.
    const hook = tmp.write(
      'hook.mjs',
      Buffer.from(
        "process.on('worker', (w) => { process.stderr.write('THREAD\\n'); w.on('message', (m) => { if (m === 'ready') process.stderr.write('READY\\n'); }); });\n",
      ),
    );
    const threads = async (args: string[], env: NodeJS.ProcessEnv): Promise<boolean> => {
      // --port 1: no connection shown, a small document whatever the capture.
      const { stderr } = await run(process.execPath, ['--import', hook, BIN, 'analyze', '--format', 'json', '--port', '1', ...args], { maxBuffer: 256 << 20, env });
      if (stderr.includes('THREAD')) expect(stderr).toContain('READY');
      return stderr.includes('THREAD');
    };
    const small = join(CAPTURES, 'half-open.pcap');
    expect(await threads([small], ENV)).toBe(true);
    expect(await threads(['--threads', '1', small], ENV)).toBe(false);
    expect(await threads([small], process.env)).toBe(false);
    // 16 MiB of SYNs (70 bytes a frame): the default starts the thread.
    const big = synFlood(Math.ceil((16 << 20) / 70));
    expect(await threads([big], process.env)).toBe(true);
  });

  const files = [...ours, ...zeekTcp, ...moreCorpus];

  it(`gives the document one thread gives, for ${files.length} captures (json and table)`, async () => {
    let compared = 0;
    await mapLimit(files, async (f) => {
      for (const format of ['json', 'table']) {
        const one = await analyze(['--format', format, '--threads', '1', f]);
        const two = await analyze(['--format', format, f]);
        expect(two.code, f).toBe(one.code);
        expect(two.stderr, f).toBe(one.stderr);
        expect(two.stdout, `${f} (${format})`).toBe(one.stdout);
        compared++;
      }
    }, 2);
    expect(compared).toBe(2 * files.length);
    // Not a comparison of empty documents: the verdicts are there, and varied.
    const states = new Set<string>();
    for (const f of files) {
      const doc = JSON.parse((await analyze(['--format', 'json', f])).stdout) as { connections: { connState: string; history: string }[] };
      for (const c of doc.connections) states.add(c.connState);
    }
    // The lab captures alone show 7 (S0 REJ RSTO RSTR S1 SF SH); the corpus adds more.
    expect(states.size).toBeGreaterThanOrEqual(HAVE_CORPUS ? 8 : 7);
    // 300 processes: about a minute alone, over two beside the rest of the suite on a busy 2-core machine.
  }, 300_000);

  it('packets and annotate, which read no verdict, use it too and write what one thread writes', async () => {
    const hook = tmp.write('hook2.mjs', Buffer.from("process.on('worker', () => process.stderr.write('THREAD\\n'));\n"));
    const cli = async (args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> =>
      run(process.execPath, ['--import', hook, BIN, ...args], { maxBuffer: 256 << 20, env, encoding: 'utf8' });
    for (const f of ours) {
      for (const args of [['packets', f], ['packets', '--format', 'json', f]]) {
        const one = await cli(args, process.env);
        const two = await cli(args, ENV);
        expect(one.stderr).not.toContain('THREAD');
        // Two passes, a thread each.
        expect(two.stderr.split('THREAD').length - 1, f).toBe(2);
        expect(two.stdout, `${f} ${args.join(' ')}`).toBe(one.stdout);
      }
      const out = (n: number): string => join(tmp.path, `annotated-${n}.pcapng`);
      const one = await cli(['annotate', f, '-o', out(1)], process.env);
      const two = await cli(['annotate', f, '-o', out(2)], ENV);
      expect(one.stderr).not.toContain('THREAD');
      expect(two.stderr).toContain('THREAD');
      expect(readFileSync(out(2)).equals(readFileSync(out(1))), f).toBe(true);
    }
  }, 300_000);

  it('that cannot start leaves the work to the analysis itself (here: the sources, uncompiled, have no thread module)', async () => {
    const f = join(CAPTURES, 'write-after-fin.pcap');
    const asked = await analyzeCaptures([f], undefined, undefined, { offload: true });
    const plain = await analyzeCaptures([f]);
    expect(JSON.stringify(toJson(asked))).toBe(JSON.stringify(toJson(plain)));
    expect(asked.connections.map((c) => c.connState)).toEqual(['RSTO']);
  });

  it('gives the same document through ring wraps, evictions and unlisted connections', async () => {
    // Per SYN a record for the new connection and one for its segment; most are then retired and unlisted.
    const n = 100_000;
    expect(2 * n).toBeGreaterThan(RING_RECORDS);
    const flood = synFlood(n);
    const bounds = ['--max-connections', '2000', '--max-listed', '3000'];
    const one = await analyze(['--format', 'json', '--threads', '1', ...bounds, flood]);
    const two = await analyze(['--format', 'json', ...bounds, flood]);
    expect(two.stdout).toBe(one.stdout);
    const doc = JSON.parse(two.stdout) as { connections: { connState: string }[]; tracking: { evicted: number; unlisted: Record<string, number> } };
    expect(doc.tracking.evicted).toBeGreaterThan(n - 3000);
    // Every connection is accounted for, by Zeek's verdict, listed or not.
    const unlisted = Object.values(doc.tracking.unlisted).reduce((a, b) => a + b, 0);
    expect(unlisted).toBeGreaterThan(n / 2);
    expect(unlisted + doc.connections.length).toBe(n);
    expect(Object.keys(doc.tracking.unlisted)).toEqual(['S0']);
  });

  it('several captures merged, standard input and a damaged capture alike', async () => {
    const all = await analyze(['--format', 'json', '--threads', '1', ...ours]);
    expect((await analyze(['--format', 'json', ...ours])).stdout).toBe(all.stdout);
    const f = join(CAPTURES, 'write-after-fin.pcap');
    const stdin = (threads: string): Promise<{ stdout: string }> => run('sh', ['-c', `"${process.execPath}" "${BIN}" analyze --format json ${threads} - < "${f}"`], { env: ENV });
    const viaStdin = (await stdin('')).stdout;
    expect(viaStdin).toBe((await stdin('--threads 1')).stdout);
    const byPath = (await analyze(['--format', 'json', f])).stdout;
    const conns = (s: string): unknown[] => (JSON.parse(s) as { connections: unknown[] }).connections;
    expect(conns(viaStdin)).toHaveLength(1);
    expect(conns(viaStdin)).toEqual(conns(byPath));
    // Cut in the middle of a record: what was read before it is analysed and reported, exit 2, on both paths.
    const whole = readFileSync(join(CAPTURES, 'half-open.pcap'));
    const cut = tmp.write('cut.pcap', whole.subarray(0, whole.length - 7));
    const a = await analyze(['--format', 'json', '--threads', '1', cut]);
    const b = await analyze(['--format', 'json', cut]);
    expect(a.code).toBe(2);
    expect(b.code).toBe(2);
    expect(b.stdout).toBe(a.stdout);
    expect(b.stderr).toBe(a.stderr);
  });
});
