/**
 * Wireshark's sequence analysis feeds only the JSON report's tcp.analysis counters
 * and onPacket's per-segment flags: `analyze` in the table, Markdown and HTML
 * formats runs without it (a fifth of the work on the bench capture). Nothing else
 * may change: the table, the findings, the states and Zeek's verdicts must be the
 * same with and without it, on every capture we have.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { DEFAULT_DETECT_OPTIONS } from '../src/detect/options.js';
import { writeTable } from '../src/report/table.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, manifest } from './helpers/env.js';

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => join(CAPTURES, f));
const corpus = HAVE_CORPUS ? (await manifest()).map((r) => join(CORPUS, r.file)) : [];

function table(r: Awaited<ReturnType<typeof analyzeCaptures>>): string {
  let out = '';
  writeTable(r, undefined, { width: 120, color: false, all: true }, (s) => (out += s));
  return out;
}

/** Everything but the sequence analysis' counters. */
function summary(r: Awaited<ReturnType<typeof analyzeCaptures>>): unknown {
  return {
    findings: JSON.stringify(r.findings),
    connections: r.connections.map((c) => [c.id, c.client.state, c.server.state, c.client.transitions, c.server.transitions, c.connState, c.history, c.client.retransmissions, c.server.retransmissions]),
    tracking: r.tracking,
  };
}

describe('analyze without the sequence analysis', () => {
  it.each([...ours, ...corpus])('%s: same table, findings, states and verdicts', async (file) => {
    const on = await analyzeCaptures([file]);
    const off = await analyzeCaptures([file], DEFAULT_DETECT_OPTIONS, undefined, { sequenceAnalysis: false });
    expect(table(off)).toBe(table(on));
    expect(summary(off)).toEqual(summary(on));
    // The work was really left out.
    for (const c of off.connections) expect(c.analysis).toBeNull();
    for (const c of on.connections) expect(c.analysis).not.toBeNull();
  });

  it('refuses to report counters it did not count', async () => {
    const off = await analyzeCaptures([join(CAPTURES, 'close-wait-stuck.pcap')], DEFAULT_DETECT_OPTIONS, undefined, { sequenceAnalysis: false });
    expect(off.connections).toHaveLength(1);
    expect(() => off.connections[0]!.analysisOf('client')).toThrow(/sequence analysis was off/);
  });
});
