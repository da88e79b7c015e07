/**
 * What tcpsleuth itself reports (connState and history of each connection in
 * `analyze` output) against Zeek's conn.log baselines in the corpus. Unlike
 * zeek-agreement.test.ts, which checks the Zeek model with Zeek's own connection
 * splitting (inactivity timers, checksum drops), this uses tcpsleuth's
 * connections: one per lifecycle, checksums not verified. The rows it cannot match
 * are the price of that choice, listed by the test.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { CORPUS, HAVE_CORPUS, manifest } from './helpers/env.js';
import { readConnTsv, tupleKey, type ConnRow } from './helpers/zeek.js';

/**
 * Measured on the corpus when this test was written (2026-11-23): 1504 of 1527 of Zeek's
 * TCP rows (not tunnelled) get the same conn_state. Fails if it drops below.
 */
const MIN_CONN_STATE = 0.984;

function comparable(r: ConnRow): boolean {
  if (r['proto'] !== undefined && r['proto'] !== 'tcp') return false;
  const tp = r['tunnel_parents'];
  return tp === undefined || tp === '-' || tp === '';
}

function splitEndpoint(e: string): [string, number] {
  const i = e.lastIndexOf(':');
  const h = e.slice(0, i);
  return [h.startsWith('[') ? h.slice(1, -1) : h, Number(e.slice(i + 1))];
}

describe.skipIf(!HAVE_CORPUS)('tcpsleuth analyze vs Zeek conn.log (needs ../shared/corpus)', () => {
  it('connState agrees with Zeek conn_state, matched by 4-tuple', async () => {
    const rows = (await manifest()).filter((r) => r.expected === 'zeek-conn');
    let total = 0;
    let same = 0;
    let sameHistory = 0;
    let withHistory = 0;
    const diffs: string[] = [];
    for (const m of rows) {
      const tsv = join(CORPUS, 'expected', `${m.file}.conn.tsv`);
      if (!existsSync(tsv)) continue;
      const zeek = readConnTsv(tsv).filter(comparable);
      if (!zeek.length) continue;
      const r = await analyzeCaptures([join(CORPUS, m.file)]);
      const byTuple = new Map<string, Array<{ state: string; history: string }>>();
      for (const c of r.connections) {
        const [ch, cp] = splitEndpoint(c.address('client'));
        const [sh, sp] = splitEndpoint(c.address('server'));
        const k = tupleKey(ch, cp, sh, sp);
        if (!byTuple.has(k)) byTuple.set(k, []);
        byTuple.get(k)!.push({ state: c.connState, history: c.history });
      }
      const single = zeek.length === 1 && zeek[0]!['orig_h'] === undefined;
      for (const z of zeek) {
        total++;
        // The four RST traces give only conn_state and history: one connection each.
        const mine = single ? r.connections.map((c) => ({ state: c.connState, history: c.history })).shift() : byTuple.get(tupleKey(z['orig_h']!, Number(z['orig_p']), z['resp_h']!, Number(z['resp_p'])))?.shift();
        if (mine?.state === z['conn_state']) same++;
        else diffs.push(`${m.file} ${z['orig_h']}:${z['orig_p']} > ${z['resp_h']}:${z['resp_p']} zeek ${z['conn_state']} ${z['history']} ours ${mine ? `${mine.state} ${mine.history}` : 'none'}`);
        if (z['history'] !== undefined && z['history'] !== '-') {
          withHistory++;
          if (mine?.history === z['history']) sameHistory++;
        }
      }
    }
    const frac = same / total;
    console.log(`conn_state: ${same}/${total} (${(frac * 100).toFixed(2)}%), history: ${sameHistory}/${withHistory}`);
    console.log(diffs.slice(0, 40).join('\n'));
    expect(total).toBeGreaterThan(100);
    expect(frac).toBeGreaterThanOrEqual(MIN_CONN_STATE);
  });
});
