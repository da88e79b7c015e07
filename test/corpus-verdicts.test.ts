/**
 * The corpus findings as judged by hand from the packets (tshark), never from our
 * own text: test/fixtures/corpus-verdicts.tsv. "before" rows judge what an earlier
 * version said; "after" rows judge what this one says. A finding judged FALSE must
 * not come back, one judged TRUE must not disappear, and no warning or error goes
 * unjudged: a change that makes a new one must bring its verdict.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import type { Finding } from '../src/detect/finding.js';
import { CORPUS, HAVE_CORPUS, REPO, manifest } from './helpers/env.js';

interface Verdict {
  judged: 'before' | 'after';
  file: string;
  client: string;
  server: string;
  kind: string;
  endpoint: string;
  /** The frames the judged finding showed; '*': any (one row for many identical findings). */
  frames: number[] | '*';
  severity: string;
  verdict: 'TRUE' | 'PARTIAL' | 'FALSE';
  fact: string;
}

function verdicts(): Verdict[] {
  const lines = readFileSync(join(REPO, 'test', 'fixtures', 'corpus-verdicts.tsv'), 'utf8').split('\n');
  const out: Verdict[] = [];
  for (const l of lines) {
    if (!l || l.startsWith('#') || l.startsWith('judged\t')) continue;
    const c = l.split('\t');
    out.push({
      judged: c[0] as Verdict['judged'],
      file: c[1]!,
      client: c[2]!,
      server: c[3]!,
      kind: c[4]!,
      endpoint: c[5]!,
      frames: c[6] === '*' ? '*' : c[6]!.split(',').map(Number),
      severity: c[7]!,
      verdict: c[8] as Verdict['verdict'],
      fact: c[9] ?? '',
    });
  }
  return out;
}

interface Seen {
  file: string;
  client: string;
  server: string;
  f: Finding;
}

const same = (v: Verdict, s: Seen): boolean => v.file === s.file && v.client === s.client && v.server === s.server && v.kind === s.f.kind && v.endpoint === s.f.endpoint && v.severity === s.f.severity;
const shows = (v: Verdict, s: Seen): boolean => v.frames === '*' || v.frames.some((n) => s.f.packets.includes(n));

describe.skipIf(!HAVE_CORPUS)(`corpus findings against the verdicts judged from the packets${HAVE_CORPUS ? '' : ' (skipped: no ../shared/corpus)'}`, () => {
  it('no FALSE comes back, no TRUE disappears, no warning or error is unjudged, no flood of one event', async () => {
    const all = verdicts();
    expect(all.filter((v) => v.judged === 'after').length).toBeGreaterThan(20);
    const seen: Seen[] = [];
    for (const m of (await manifest()).filter((x) => x.tcpConversations > 0)) {
      const r = await analyzeCaptures([join(CORPUS, m.file)]);
      const perKind = new Map<string, number>();
      for (const f of r.findings) {
        const c = r.connections.find((x) => x.id === f.connection)!;
        seen.push({ file: m.file, client: c.address('client'), server: c.address('server'), f });
        if (f.severity !== 'info') perKind.set(f.kind, (perKind.get(f.kind) ?? 0) + 1);
      }
      // Many findings of one kind in one file are one event told many times (a stray RST a minute for a day).
      for (const [kind, n] of perKind) expect(n, `${m.file}: ${n} ${kind}`).toBeLessThanOrEqual(10);
    }
    const after = all.filter((v) => v.judged === 'after');
    const judgedNow = (s: Seen): Verdict | undefined => after.find((v) => same(v, s) && shows(v, s));
    const problems: string[] = [];
    for (const s of seen) {
      const v = judgedNow(s);
      const what = `${s.file} ${s.client} ${s.server} ${s.f.kind}/${s.f.severity}/${s.f.endpoint} [${s.f.packets.join(',')}]`;
      if (v === undefined && s.f.severity !== 'info') problems.push(`unjudged: ${what}: ${s.f.summary}`);
      if (v?.verdict === 'FALSE') problems.push(`judged FALSE: ${what}: ${v.fact}`);
    }
    // A finding judged FALSE before comes back if the same claim stands on the same packets and nobody judged it since.
    for (const v of all.filter((x) => x.judged === 'before' && x.verdict === 'FALSE')) {
      const back = seen.find((s) => same(v, s) && (v.frames === '*' || s.f.packets[0] === v.frames[0]) && judgedNow(s) === undefined);
      if (back) problems.push(`FALSE again: ${v.file} ${v.kind}/${v.severity} [${v.frames}]: ${v.fact}`);
    }
    for (const v of after.filter((x) => x.verdict === 'TRUE')) {
      if (!seen.some((s) => same(v, s) && shows(v, s))) problems.push(`TRUE gone: ${v.file} ${v.client} ${v.server} ${v.kind}/${v.severity}/${v.endpoint} [${v.frames}]`);
    }
    expect(problems).toEqual([]);
  }, 600_000);
});
