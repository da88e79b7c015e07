import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import type { Finding } from '../src/detect/finding.js';
import { findingFilter, groupFilter, groupFindings } from '../src/report/groups.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, HAVE_TSHARK, manifest } from './helpers/env.js';
import { mapLimit } from './helpers/tshark.js';

/**
 * The bridge to Wireshark: each finding's display filter, given to `tshark -Y` with
 * Wireshark's default preferences (what a user opening the file gets), selects exactly
 * the finding's packets; a group's selects exactly its connections' packets.
 */

function tsharkFrames(file: string, filter: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile('tshark', ['-n', '-r', file, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`tshark -Y '${filter}' ${file}: ${stderr || err.message}`));
      else resolve(stdout.split('\n').filter(Boolean).map(Number));
    });
  });
}

interface Case {
  file: string;
  /** One finding's packets, or a group's connections' frames. */
  what: string;
  filter: string;
  frames: number[];
}

/** The cases of one capture: each finding (at most `per` of each kind), and each group of several. */
async function casesOf(file: string, per: number): Promise<Case[]> {
  const frames = new Map<number, number[]>();
  /** Each tracked frame's stream: a group's filter shows its streams, and a later connection may continue one. */
  const streamOf = new Map<number, number>();
  const r = await analyzeCaptures([file], undefined, undefined, {
    onPacket: (p, c) => {
      if (c === null) return;
      let list = frames.get(c.id);
      if (list === undefined) frames.set(c.id, (list = []));
      list.push(p.frame.index);
      streamOf.set(p.frame.index, c.stream);
    },
  });
  const out: Case[] = [];
  const taken = new Map<string, number>();
  const sorted = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);
  for (const f of r.findings) {
    const n = taken.get(f.kind) ?? 0;
    if (n >= per || f.packets.length === 0) continue;
    taken.set(f.kind, n + 1);
    out.push({ file, what: `${f.kind} of connection ${f.connection}`, filter: findingFilter(f, false), frames: sorted(f.packets) });
  }
  for (const g of groupFindings(r.findings)) {
    if (g.findings.length < 2) continue;
    const ids = new Set(g.findings.map((f: Finding) => f.connection));
    const members = r.connections.filter((c) => ids.has(c.id)).flatMap((c) => frames.get(c.id) ?? []);
    const streams = new Set(g.streams);
    const shown = [...streamOf].filter(([, s]) => streams.has(s)).map(([n]) => n);
    // Every member's packet is among them.
    expect(members.filter((n) => !streams.has(streamOf.get(n)!)), `${file}: group ${g.id}`).toEqual([]);
    out.push({ file, what: `group ${g.id} (${g.kind}, ${g.connections.length} connections)`, filter: groupFilter(g), frames: sorted(shown) });
  }
  return out;
}

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .sort()
  .map((f) => join(CAPTURES, f));
const corpus = HAVE_CORPUS ? (await manifest()).filter((m) => m.tcpConversations > 0).map((m) => join(CORPUS, m.file)) : [];

const TSHARK_NAME = HAVE_TSHARK ? '' : ' (skipped: no tshark: apt-get install tshark)';
describe.skipIf(!HAVE_TSHARK)(`display filters select exactly the finding's packets in tshark${TSHARK_NAME}`, () => {
  it("the repo's captures: every finding, every group", async () => {
    const cases = (await Promise.all(ours.map((f) => casesOf(f, Infinity)))).flat();
    expect(cases.length).toBeGreaterThan(60);
    const got = await mapLimit(cases, (c) => tsharkFrames(c.file, c.filter), 2);
    cases.forEach((c, i) => expect(got[i], `${c.file}: ${c.what}: ${c.filter}`).toEqual(c.frames));
  }, 300_000);

  it.skipIf(!HAVE_CORPUS)(`the corpus: every finding, every group${HAVE_CORPUS ? '' : ' (skipped: no ../shared/corpus)'}`, async () => {
    const cases = (await Promise.all(corpus.map((f) => casesOf(f, Infinity)))).flat();
    expect(cases.length).toBeGreaterThan(30);
    const got = await mapLimit(cases, (c) => tsharkFrames(c.file, c.filter), 2);
    cases.forEach((c, i) => expect(got[i], `${c.file}: ${c.what}: ${c.filter}`).toEqual(c.frames));
  }, 600_000);
});
