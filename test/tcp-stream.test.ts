/**
 * Connection.stream against tshark's tcp.stream, frame by frame: for every frame of a
 * capture, the stream of the connection our pipeline hands onPacket (TCP segments, and
 * ICMP errors whose quoted tuple we track) must be the number tshark 4.0 gives the
 * frame, and every frame tshark gives a tcp.stream must be one we track.
 *
 * Over the repo's own captures/*.pcap (needs tshark) and every capture of the shared
 * corpus that tshark reads (needs both). tshark runs once per capture, at collection,
 * with IP reassembly off (a first fragment is then dissected as TCP where it arrives,
 * as we decode it, instead of in the frame of the last fragment: cause (c) of the audit
 * gone) and TCP reassembly off (speed; it leaves the numbering alone).
 *
 * What tshark numbers (4.0.17, checked on hand-made captures): conversations by their
 * first frame, never forgotten for the whole file; a tuple splits into a new one at a
 * segment with SYN and without ACK (FIN or RST may be set) whose sequence number differs
 * from that direction's base sequence (set by the direction's first segment: its
 * sequence number for a SYN, one less otherwise, or by the other direction's first ACK:
 * ack - 1; a SYN-ACK with another sequence number re-bases its direction without a split);
 * an unset base never splits, and nothing else does (no time-out, no split at a SYN with
 * the base ISN after FIN or RST). An ICMP error quoting at least 16 bytes of a TCP header
 * finds or creates the conversation of the quoted tuple (so it can take a number).
 *
 * Corpus captures with TCP for neither tshark (no expected/<file>.tshark-expert.tsv, which
 * the corpus README says every file with TCP frames has) nor us are not run through tshark.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, HAVE_TSHARK, manifest } from './helpers/env.js';
import { mapLimit } from './helpers/tshark.js';

/**
 * Cause (a): TCP that tshark reaches through an encapsulation we do not decode, so we
 * track none of it (and tshark's numbers for it are not ours to give). In these files
 * frames tshark shows tunnelled TCP in may go untracked, provided frame.protocols shows
 * the tunnel (an IP layer inside another); the streams only such frames have are taken
 * out of tshark's numbering before the frames we do track are compared.
 */
const UNDECODED_TCP: Record<string, string> = {
  'tcpdump/sflow_expanded.pcap': 'a packet header sampled inside sFlow',
};

interface StreamRow {
  frame: number;
  /** tcp.stream, one per TCP layer tshark shows (none: no TCP). */
  streams: number[];
  protocols: string;
}

interface StreamRun {
  /** tshark exited non-zero: it cannot read the file. */
  failed: boolean;
  stderr: string;
  rows: StreamRow[];
}

const TSHARK_ARGS = [
  // Teredo on any UDP port, as we find it (TSHARK_HEURISTICS).
  '--enable-heuristic',
  'teredo_udp',
  '-o',
  'ip.defragment:FALSE',
  '-o',
  'ipv6.defragment:FALSE',
  '-o',
  'tcp.desegment_tcp_streams:FALSE',
  '-T',
  'fields',
  '-E',
  'separator=/t',
  '-E',
  'occurrence=a',
  '-E',
  'aggregator=,',
  '-E',
  'quote=n',
  '-e',
  'frame.number',
  '-e',
  'tcp.stream',
  '-e',
  'frame.protocols',
];

function tsharkStreams(file: string): Promise<StreamRun> {
  return new Promise((resolve, reject) => {
    execFile('tshark', ['-n', '-r', file, ...TSHARK_ARGS], { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException & { code?: unknown }).code !== 'number') {
        reject(err);
        return;
      }
      const rows: StreamRow[] = [];
      for (const line of stdout.split('\n')) {
        if (line === '') continue;
        const [n, s, protocols] = line.split('\t');
        rows.push({ frame: Number(n), streams: s ? s.split(',').map(Number) : [], protocols: protocols ?? '' });
      }
      const errText = stderr
        .split('\n')
        .filter((l) => l.trim() !== '' && !/^Running as user "root"/.test(l))
        .join('\n');
      resolve({ failed: err !== null, stderr: errText, rows });
    });
  });
}

/** frame -> the stream of the connection onPacket was given (frames without one are absent). */
async function ourStreams(file: string): Promise<Map<number, number>> {
  const m = new Map<number, number>();
  await analyzeCaptures([file], undefined, undefined, {
    onPacket: (p, c) => {
      if (c !== null) m.set(p.frame.index, c.stream);
    },
  });
  return m;
}

/** TCP inside a tunnel: an IP/IPv6 layer inside another before the TCP, no ICMP quote. */
function tunnelled(protocols: string): boolean {
  const layers = protocols.split(':');
  const tcpAt = layers.indexOf('tcp');
  const before = tcpAt < 0 ? layers : layers.slice(0, tcpAt);
  return !before.some((l) => l === 'icmp' || l === 'icmpv6') && before.filter((l) => l === 'ip' || l === 'ipv6').length >= 2;
}

interface Comparison {
  /** Frames compared (tracked by us or numbered by tshark). */
  compared: number;
  /** Frames with TCP tshark numbers and we, by cause (a), do not track. */
  undecoded: number;
  problems: string[];
}

function compare(run: StreamRun, ours: Map<number, number>, allowUndecoded: boolean): Comparison {
  // Streams tshark gives only to frames we do not track (cause (a) files only) are
  // taken out of its numbering: the later ones shift down to where ours are.
  let removed: number[] = [];
  let undecoded = 0;
  if (allowUndecoded) {
    const tracked = new Set<number>();
    const untracked = new Set<number>();
    for (const r of run.rows) for (const s of r.streams) (ours.has(r.frame) ? tracked : untracked).add(s);
    removed = [...untracked].filter((s) => !tracked.has(s)).sort((a, b) => a - b);
  }
  const renumber = (s: number): number => {
    let below = 0;
    for (const x of removed) if (x < s) below++;
    return s - below;
  };
  const problems: string[] = [];
  let compared = 0;
  const seen = new Set<number>();
  for (const r of run.rows) {
    seen.add(r.frame);
    const mine = ours.get(r.frame);
    if (r.streams.length === 0 && mine === undefined) continue;
    compared++;
    if (mine === undefined) {
      if (allowUndecoded && tunnelled(r.protocols)) {
        undecoded++;
        continue;
      }
      problems.push(`frame ${r.frame}: tshark tcp.stream ${r.streams.join(',')} (${r.protocols}), we track no connection`);
    } else if (r.streams.length === 0) {
      problems.push(`frame ${r.frame}: ours ${mine}, tshark gives no tcp.stream (${r.protocols})`);
    } else if (new Set(r.streams).size !== 1 || renumber(r.streams[0]!) !== mine) {
      // Several TCP layers of one stream (an 802.11 A-MSDU's subframes) are one segment to us: its first.
      const shown = removed.length > 0 ? ` (renumbered past cause-(a) streams: ${r.streams.map(renumber).join(',')})` : '';
      problems.push(`frame ${r.frame}: tshark tcp.stream ${r.streams.join(',')}${shown}, ours ${mine} (${r.protocols})`);
    }
  }
  for (const f of ours.keys()) if (!seen.has(f)) problems.push(`frame ${f}: ours ${ours.get(f)}, tshark has no such frame`);
  return { compared, undecoded, problems };
}

function report(c: Comparison): string {
  const shown = c.problems.slice(0, 25);
  if (c.problems.length > shown.length) shown.push(`... and ${c.problems.length - shown.length} more`);
  return shown.join('\n');
}

const captureFiles = HAVE_TSHARK
  ? readdirSync(CAPTURES)
      .filter((f) => f.endsWith('.pcap'))
      .sort()
  : [];
const READY = HAVE_TSHARK && HAVE_CORPUS;
const corpusFiles = READY ? (await manifest()).map((r) => r.file) : [];
// Ours first (fast): tshark then runs only where either side can have TCP. The corpus
// README: every file with TCP frames has expected/<file>.tshark-expert.tsv.
const ours = new Map<string, Map<number, number>>();
for (const f of corpusFiles) ours.set(f, await ourStreams(join(CORPUS, f)));
const withTcp = corpusFiles.filter((f) => existsSync(join(CORPUS, 'expected', `${f}.tshark-expert.tsv`)) || ours.get(f)!.size > 0);
const withoutTcp = corpusFiles.filter((f) => !withTcp.includes(f));
// tshark once per capture, all at collection, so the names can say what tshark cannot read.
const targets = [...captureFiles.map((f) => join(CAPTURES, f)), ...withTcp.map((f) => join(CORPUS, f))];
const runs = await mapLimit(targets, tsharkStreams, 2);
const runOf = new Map(targets.map((t, i) => [t, runs[i]!]));
const readable = withTcp.filter((f) => !runOf.get(join(CORPUS, f))!.failed);
const unreadable = withTcp.filter((f) => runOf.get(join(CORPUS, f))!.failed);

describe.skipIf(!HAVE_TSHARK)(`tcp.stream of the repo's captures against tshark${HAVE_TSHARK ? '' : ' (skipped: tshark missing)'}`, () => {
  it('finds the captures and tshark reads them all', () => {
    expect(captureFiles.length).toBeGreaterThan(0);
    expect(captureFiles.filter((f) => runOf.get(join(CAPTURES, f))!.failed)).toEqual([]);
  });

  it.each(captureFiles)('%s', async (f) => {
    const run = runOf.get(join(CAPTURES, f))!;
    const c = compare(run, await ourStreams(join(CAPTURES, f)), false);
    expect(c.compared).toBeGreaterThan(0);
    expect(c.problems.length, report(c)).toBe(0);
  });
});

const corpusTitle = READY
  ? `tcp.stream over the corpus against tshark (not run: ${withoutTcp.length} captures with TCP for neither)`
  : 'tcp.stream over the corpus against tshark (skipped: tshark or ../shared/corpus missing)';

describe.skipIf(!READY)(corpusTitle, () => {
  it('every capture listed for cause (a) is in the MANIFEST', () => {
    expect(Object.keys(UNDECODED_TCP).filter((f) => !corpusFiles.includes(f))).toEqual([]);
  });

  it.each(readable)('%s', (f) => {
    const run = runOf.get(join(CORPUS, f))!;
    const reason = UNDECODED_TCP[f];
    const c = compare(run, ours.get(f)!, reason !== undefined);
    expect(c.problems.length, report(c)).toBe(0);
    // A listed file that no longer has tunnelled TCP we miss must leave the list.
    if (reason !== undefined) expect(c.undecoded, `${f} is listed for cause (a) (${reason}) but every TCP frame tshark numbers is tracked`).toBeGreaterThan(0);
  });

  it.skip.each(unreadable.map((f) => [f, runOf.get(join(CORPUS, f))!.stderr.split('\n')[0] ?? '']))('%s (skipped: tshark cannot read it: %s)', () => undefined);
});
