/**
 * One story per connection (docs/findings.md#reading-a-finding): no
 * two findings on one connection may contradict each other, nor a finding the
 * connection's own states. Every capture in captures/, and the corpus where present.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures, type AnalysisResult } from '../src/analyze.js';
import type { Finding, FindingKind, FindingOf } from '../src/detect/finding.js';
import type { Connection } from '../src/track/connection.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, manifest } from './helpers/env.js';

type Rule = (c: Connection, f: readonly Finding[]) => string | null;

const of = <K extends FindingKind>(f: readonly Finding[], kind: K): FindingOf<K> | undefined => f.find((x): x is FindingOf<K> => x.kind === kind);
const serious = (f: Finding | undefined): boolean => f !== undefined && f.severity !== 'info';

/** Each rule names what would contradict what; null when it holds. */
const RULES: Record<string, Rule> = {
  'stuck in CLOSE-WAIT beside a healthy half-close': (_c, f) => (serious(of(f, 'close-wait-stuck')) && of(f, 'half-close') ? 'both' : null),
  'a dead peer beside a healthy half-close': (_c, f) => (of(f, 'half-open')?.severity === 'error' && of(f, 'half-close') ? 'both' : null),
  'a dead peer while both sides closed with FINs': (c, f) => {
    const h = of(f, 'half-open');
    const done = (s: string): boolean => s === 'TIME-WAIT' || s === 'CLOSED';
    return h?.severity === 'error' && c.client.finSeen && c.server.finSeen && !c.client.rstSeen && !c.server.rstSeen && done(c.client.state) && done(c.server.state) ? h.summary : null;
  },
  'stuck in CLOSE-WAIT, and not in CLOSE-WAIT at the end': (c, f) => {
    const s = of(f, 'close-wait-stuck');
    return s && !s.details.closedLater && c.endpoint(s.endpoint).state !== 'CLOSE-WAIT' ? `${s.endpoint} ends ${c.endpoint(s.endpoint).state}` : null;
  },
  'stuck in CLOSE-WAIT without a FIN from the peer': (c, f) => {
    const s = of(f, 'close-wait-stuck');
    return s && !c.peer(c.endpoint(s.endpoint)).finSeen ? s.summary : null;
  },
  'refused, and the client established after all': (c, f) => (of(f, 'connection-refused') && c.client.firstEntered('ESTABLISHED') ? 'client ESTABLISHED' : null),
  'no answer to the SYNs, and an answer in the capture': (c, f) => {
    const s = of(f, 'syn-timeout');
    return s && s.details.answeredAfterSeconds === null && c.server.packets > 0 ? `server sent ${c.server.packets}` : null;
  },
  'an error for a last write that went out with its own FIN': (c, f) => {
    const w = of(f, 'write-after-fin');
    return w?.severity === 'error' && c.endpoint(w.endpoint).finSeen && w.details.writerClosed ? w.summary : null;
  },
  'a RST both the endpoint’s and a middlebox’s': (_c, f) => {
    const m = of(f, 'middlebox-reset');
    if (!m) return null;
    const same = f.filter((x) => (x.kind === 'abortive-close' || x.kind === 'peer-reset') && x.endpoint === m.endpoint && x.packets.includes(m.details.rstFrame));
    return same.length ? same.map((x) => x.kind).join(', ') : null;
  },
  'a lone RST said to matter to an application': (c, f) => {
    const rstsOnly = c.client.packets === c.client.rstPackets && c.server.packets === c.server.rstPackets;
    const bad = f.filter((x) => x.severity !== 'info');
    return c.partial && rstsOnly && bad.length ? bad.map((x) => x.kind).join(', ') : null;
  },
  'a connection without its handshake, certain of an error': (c, f) => {
    const bad = f.filter((x) => x.kind !== 'stray-rst' && (x.severity === 'error' || x.confidence === 'certain'));
    return c.partial && bad.length ? bad.map((x) => `${x.kind} ${x.severity} ${x.confidence}`).join(', ') : null;
  },
  'a finding citing a packet that is not in the capture': (_c, f) => {
    const bad = f.filter((x) => x.packets.some((n) => n < 1) || x.evidence.some((e) => e.frame !== null && e.frame < 1) || /frame 0\b/.test(x.explanation));
    return bad.length ? bad.map((x) => x.kind).join(', ') : null;
  },
};

/** The contradictions in one analysis, as "connection id: rule (what)". */
function contradictions(r: AnalysisResult): string[] {
  const byConn = new Map<number, Finding[]>();
  for (const f of r.findings) byConn.set(f.connection, [...(byConn.get(f.connection) ?? []), f]);
  const out: string[] = [];
  for (const c of r.connections) {
    const f = byConn.get(c.id);
    if (!f) continue;
    for (const [name, rule] of Object.entries(RULES)) {
      const what = rule(c, f);
      if (what !== null) out.push(`#${c.id}: ${name} (${what})`);
    }
  }
  return out;
}

describe('one story per connection: the contradiction rules', () => {
  it('catch what they name (each rule fires on a made-up contradiction)', async () => {
    // A real analysis, then findings forced into contradictions the detectors do not make.
    const r = await analyzeCaptures([join(CAPTURES, 'half-close.pcap')]);
    const hc = r.findings.find((f) => f.kind === 'half-close')!;
    const forged: Finding = { ...hc, kind: 'close-wait-stuck', severity: 'warning', details: { secondsInCloseWait: 9, closedLater: false, peerFinFrame: 1 } } as Finding;
    const found = contradictions({ ...r, findings: [...r.findings, forged] });
    expect(found.some((x) => x.includes('beside a healthy half-close'))).toBe(true);
    expect(found.some((x) => x.includes('not in CLOSE-WAIT at the end'))).toBe(true);
    const zero = { ...hc, packets: [0] } as Finding;
    expect(contradictions({ ...r, findings: [zero] }).some((x) => x.includes('not in the capture'))).toBe(true);
  });

  const ours = readdirSync(CAPTURES).filter((f) => f.endsWith('.pcap'));
  for (const file of ours) {
    it(`captures/${file}`, async () => {
      expect(contradictions(await analyzeCaptures([join(CAPTURES, file)]))).toEqual([]);
    });
  }

  it.skipIf(!HAVE_CORPUS)(`every corpus capture with TCP${HAVE_CORPUS ? '' : ' (skipped: no ../shared/corpus)'}`, async () => {
    const rows = (await manifest()).filter((m) => m.tcpConversations > 0);
    expect(rows.length).toBeGreaterThan(200);
    const all: string[] = [];
    for (const m of rows) {
      const r = await analyzeCaptures([join(CORPUS, m.file)]);
      for (const x of contradictions(r)) all.push(`${m.file} ${x}`);
    }
    expect(all).toEqual([]);
  }, 600_000);
});
