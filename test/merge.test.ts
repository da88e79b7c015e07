/**
 * Several captures are one stream in timestamp order: a capture cut into a rotation
 * set (given in any order), or dealt out over two "interfaces" that each saw part of
 * every connection, gives the same analysis as the whole file.
 */
import { gzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import type { Finding } from '../src/detect/finding.js';
import { toJson } from '../src/report/json.js';
import { runJson, runSync } from './helpers/cli.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, REPO } from './helpers/env.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-merge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Pcap {
  header: Buffer;
  records: { bytes: Buffer; sec: number; frac: number }[];
}

/** A pcap file's header and records (little- or big-endian, micro- or nanoseconds). */
function readPcap(file: string): Pcap {
  const b = readFileSync(file);
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const records: Pcap['records'] = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const len = 16 + u32(o + 8);
    records.push({ bytes: b.subarray(o, o + len), sec: u32(o), frac: u32(o + 4) });
    o += len;
  }
  return { header: b.subarray(0, 24), records };
}

/** Deal the records out to files: `which(i)` names the part record `i` goes to. */
function split(p: Pcap, name: string, parts: number, which: (i: number) => number): string[] {
  const files: string[] = [];
  for (let k = 0; k < parts; k++) {
    const f = join(dir, `${name}.${k}.pcap`);
    writeFileSync(f, Buffer.concat([p.header, ...p.records.filter((_, i) => which(i) === k).map((r) => r.bytes)]));
    files.push(f);
  }
  return files;
}

function strictlyIncreasing(p: Pcap): boolean {
  return p.records.every((r, i) => i === 0 || r.sec > p.records[i - 1]!.sec || (r.sec === p.records[i - 1]!.sec && r.frac > p.records[i - 1]!.frac));
}

/** The analysis without what names files and frame numbers (those differ by construction). */
function comparable(j: unknown): unknown {
  if (Array.isArray(j)) return j.map(comparable);
  if (j && typeof j === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(j)) {
      if (k === 'captures' || k === 'displayFilter' || /(^f|F)rames?$|(^c|C)apture$/.test(k)) continue;
      if ((k === 'packets' || k === 'otherPackets') && Array.isArray(v)) continue;
      out[k] = comparable(v);
    }
    return out;
  }
  // Prose names frames too.
  if (typeof j === 'string') return j.replace(/\b(frames?|packets?) #?\d+((, | and | to |-|\u2013)#?\d+)*/g, '$1 N');
  return j;
}

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => join(CAPTURES, f));
const corpus = HAVE_CORPUS ? ['zeek/ssh/ssh.pcap', 'zeek/wikipedia.pcap', 'tcpdump/resp_3_malicious.pcap', 'zeek/cisco-fabric-path.pcap', 'zeek/pop3/pop3.pcap'].map((f) => join(CORPUS, f)) : [];
const files = [...ours, ...corpus].filter((f) => strictlyIncreasing(readPcap(f)));

describe('several captures are merged in timestamp order', () => {
  it('has captures to cut up: all of ours but the one whose packets share timestamps', () => {
    // Two packets at one instant have no order between files: busy-server.pcap's eight client threads make such pairs.
    expect(ours.filter((f) => !files.includes(f)).map((f) => basename(f))).toEqual(['busy-server.pcap']);
    expect(files.length).toBeGreaterThanOrEqual(ours.length - 1);
  });

  it.each(files.map((f) => [relative(join(REPO, '..'), f), f] as const))("%s: a rotation set given in reverse, and two interleaved halves, give the whole file's analysis", async (rel, file) => {
    const p = readPcap(file);
    const whole = comparable(toJson(await analyzeCaptures([file])));
    const name = rel.replace(/\W/g, '_');
    const n = p.records.length;

    // tcpdump -C: consecutive parts; listed backwards, as a careless glob might.
    const rotation = split(p, `${name}.rot`, 4, (i) => Math.min(3, Math.floor((i * 4) / n)));
    const r = await analyzeCaptures([...rotation].reverse());
    expect(r.captures.map((c) => c.packets)).toEqual(rotation.map((f) => readPcap(f).records.length).reverse());
    expect(comparable(toJson(r))).toEqual(whole);

    // Two interfaces, each with every other packet: the merge must interleave them packet by packet.
    const halves = split(p, `${name}.alt`, 2, (i) => i % 2);
    expect(comparable(toJson(await analyzeCaptures(halves)))).toEqual(whole);

    // Files that overlap in part: each runs alone (its frames streamed) until the next one's
    // first packet, then the two interleave. Streaming past that packet would reorder them.
    const partly = split(p, `${name}.part`, 3, (i) => {
      const x = (i * 10) / n;
      return x < 4 ? 0 : x < 6 ? i % 2 : x < 8 ? 1 + (i % 2) : 2;
    });
    expect(comparable(toJson(await analyzeCaptures(partly)))).toEqual(whole);
  });

  it.each(files.map((f) => [relative(join(REPO, '..'), f), f] as const))('%s: findings name the same packets, each in the file that holds it', async (_rel, file) => {
    const p = readPcap(file);
    const whole = await analyzeCaptures([file]);
    const n = p.records.length;
    const name = `${_rel.replace(/\W/g, '_')}.refs`;
    // Consecutive halves, and alternate packets: file k's frame j is frame global(k, j) of the whole.
    const layouts: [string[], (k: number, j: number) => number][] = [
      [split(p, `${name}.rot`, 2, (i) => (i < Math.floor(n / 2) ? 0 : 1)), (k, j) => (k === 0 ? j : Math.floor(n / 2) + j)],
      [split(p, `${name}.alt`, 2, (i) => i % 2), (k, j) => 2 * (j - 1) + k + 1],
    ];
    for (const [parts, global] of layouts) {
      const r = await analyzeCaptures(parts);
      const refs = (f: Finding): number[] => [...f.packets.map((j) => global(f.capture, j)), ...f.otherPackets.map((q) => global(q.capture, q.frame))].sort((a, b) => a - b);
      expect(r.findings.map((f) => `${f.kind} ${refs(f).join(',')}`)).toEqual(whole.findings.map((f) => `${f.kind} ${f.packets.join(',')}`));
    }
  });

  it('a long rotation set, one packet a file, on the command line', () => {
    const file = join(CAPTURES, 'port-reuse.pcap');
    const p = readPcap(file);
    const parts = split(p, 'many', p.records.length, (i) => i);
    const run = (args: string[]): { connections: unknown } => runJson(['analyze', '--format', 'json', ...args]);
    // Shuffled: the order on the command line does not matter.
    const shuffled = parts.map((f, i) => [f, (i * 7919) % parts.length] as const).sort((a, b) => a[1] - b[1]).map(([f]) => f);
    expect(comparable(run(shuffled).connections)).toEqual(comparable(run([file]).connections));
  });

  it('three hundred files that all overlap in time (all open at once) merge like the whole file', () => {
    // Each part holds every 300th packet of the whole: all of them span its whole time.
    const file = HAVE_CORPUS ? join(CORPUS, 'zeek/ssh/ssh.pcap') : join(CAPTURES, 'zero-window.pcap');
    const p = readPcap(file);
    const n = Math.min(300, Math.floor(p.records.length / 4));
    const parts = split(p, 'overlap', n, (i) => i % n);
    const r = cli(parts);
    expect(r.code).toBe(0);
    expect(comparable(r.doc.connections)).toEqual(comparable(cli([file]).doc.connections));
  });

  it('mixed inputs (pcap, pcapng, gzip, standard input) merge like plain files', () => {
    const file = join(CAPTURES, 'half-close.pcap');
    const p = readPcap(file);
    const [a, b, c, d] = split(p, 'mixed', 4, (i) => i % 4);
    // b as pcapng (tcpsleuth annotate writes the same packets as pcapng), c gzip-compressed, d on standard input.
    const ng = join(dir, 'mixed.ng.pcapng');
    expect(runSync(['annotate', '--annotate', 'findings', b!, '-o', ng]).code).toBe(0);
    const gz = join(dir, 'mixed.gz');
    writeFileSync(gz, gzipSync(readFileSync(c!)));
    const mixed = runJson<Doc>(['analyze', '--format', 'json', a!, ng, gz, '-'], { input: readFileSync(d!) });
    expect(mixed.captures.map((x) => x.format)).toEqual(['pcap-us', 'pcapng', 'pcap-us', 'pcap-us']);
    expect(mixed.captures.map((x) => x.errors.length)).toEqual([0, 0, 0, 0]);
    expect(comparable(mixed.connections)).toEqual(comparable(cli([file]).doc.connections));
  });

  it('a damaged or missing file among several: located error, exit 2, the others analysed in full', () => {
    const file = join(CAPTURES, 'port-reuse.pcap');
    const p = readPcap(file);
    const [early, late] = split(p, 'damaged', 2, (i) => (i < p.records.length / 2 ? 0 : 1));
    // Cut the later half in the middle of its third record.
    const cut = join(dir, 'damaged.cut.pcap');
    const bytes = readFileSync(late!);
    const third = 24 + p.records.slice(Math.ceil(p.records.length / 2), Math.ceil(p.records.length / 2) + 2).reduce((n, r) => n + r.bytes.length, 0);
    writeFileSync(cut, bytes.subarray(0, third + 20));
    const r = cli([cut, join(dir, 'no-such-file.pcap'), early!]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${cut}: file ends in the middle of a record`);
    expect(r.stderr).toContain(`(byte offset ${third}, packet 3)`);
    expect(r.stderr).toContain('no-such-file.pcap: cannot open: no such file');
    expect(r.doc.captures.map((x) => x.packets)).toEqual([2, 0, readPcap(early!).records.length]);
    // Everything before the damage is analysed: the early half's connections are all there.
    const whole = cli([early!]).doc;
    expect(r.doc.connections.length).toBeGreaterThanOrEqual(whole.connections.length);
  });
});

interface Doc {
  captures: { format: string; packets: number; errors: unknown[] }[];
  connections: unknown[];
}

function cli(args: string[]): { doc: Doc; code: number; stderr: string } {
  const r = runSync(['analyze', '--format', 'json', ...args]);
  return { doc: JSON.parse(r.stdout) as Doc, code: r.code, stderr: r.stderr };
}
