/**
 * Memory grows with live connections, not with the capture: a SYN flood of
 * hundreds of thousands of half-open connections is analysed within a bounded
 * peak, with the evictions it forced reported. Runs the built CLI code in a child
 * process so that the peak RSS measured is the analysis's own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CORPUS, HAVE_CORPUS, REPO } from './helpers/env.js';
import { analyzeCaptures } from '../src/analyze.js';
import { DEFAULT_DETECT_OPTIONS } from '../src/detect/options.js';
import { toJson } from '../src/report/json.js';
import { BulkPcap } from './helpers/pcap.js';
import { synFlood as synFloodPcap } from './helpers/scenarios.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-flood-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A SYN flood of `n` spoofed sources, as a file. */
function synFlood(n: number): string {
  const file = join(dir, `flood-${n}.pcap`);
  writeFileSync(file, synFloodPcap(n));
  return file;
}

interface Run {
  maxRssMB: number;
  connections: number;
  evicted: number;
  unlisted: number;
}

function analyzeInChild(file: string, maxConnections: number, maxListed: number): Run {
  const script = `
    const { analyzeCaptures } = await import(${JSON.stringify(join(REPO, 'dist', 'analyze.js'))});
    const { DEFAULT_DETECT_OPTIONS } = await import(${JSON.stringify(join(REPO, 'dist', 'detect', 'options.js'))});
    const r = await analyzeCaptures([${JSON.stringify(file)}], { ...DEFAULT_DETECT_OPTIONS, maxConnections: ${maxConnections}, maxListedConnections: ${maxListed} });
    const unlisted = Object.values(r.tracking.unlisted).reduce((a, b) => a + b, 0);
    console.log(JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024, connections: r.connections.length, evicted: r.tracking.evicted, unlisted }));
  `;
  // A 160 MiB heap: 400k live connections (about 5 KB each) could not fit, bounded tracking must.
  const out = execFileSync(process.execPath, ['--max-old-space-size=160', '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as Run;
}

describe('memory bounds', () => {
  it('a SYN flood is analysed in bounded memory, and the evictions are reported', () => {
    const small = analyzeInChild(synFlood(100_000), 5_000, 10_000);
    const big = analyzeInChild(synFlood(400_000), 5_000, 10_000);
    // Every SYN opened a connection; the bounds forced evictions and left most out of the list.
    expect(small.evicted).toBeGreaterThan(90_000);
    expect(big.evicted).toBeGreaterThan(390_000);
    expect(big.connections).toBeLessThanOrEqual(10_000 + 5_000);
    expect(big.unlisted + big.connections).toBe(400_000);
    // Four times the flood, nowhere near four times the memory.
    console.log(`peak RSS: 100k SYNs ${small.maxRssMB.toFixed(0)} MB, 400k SYNs ${big.maxRssMB.toFixed(0)} MB`);
    expect(big.maxRssMB).toBeLessThan(small.maxRssMB * 1.5);
  });
});

describe.skipIf(!HAVE_CORPUS)('eviction does not change results when it does not trigger (needs ../shared/corpus)', () => {
  it('a bound just above the live connections gives the same analysis as the default', async () => {
    const file = join(CORPUS, 'zeek/llc.pcap');
    const base = await analyzeCaptures([file]);
    const peak = base.connections.length;
    const tight = await analyzeCaptures([file], { ...DEFAULT_DETECT_OPTIONS, maxConnections: peak + 1, maxListedConnections: peak + 1 });
    const strip = (j: Record<string, unknown>): Record<string, unknown> => ({ ...j, tracking: null, options: null });
    expect(tight.tracking.evicted).toBe(0);
    expect(strip(toJson(tight))).toEqual(strip(toJson(base)));
    // And a bound that does bite is reported.
    const small = await analyzeCaptures([synFlood(1000)], { ...DEFAULT_DETECT_OPTIONS, maxConnections: 100 });
    expect(small.tracking.evicted).toBeGreaterThan(0);
    expect(small.connections.filter((c) => c.evicted).length).toBe(small.tracking.evicted);
  });
});

describe('eviction picks the least recently active', () => {
  it('a connection that keeps talking outlives the idle ones opened after it', async () => {
    // Connection 1 opens first and sends a segment after every new SYN; 300 idle SYNs follow with a bound of 100.
    const n = 300;
    const p = new BulkPcap(1 + 2 * n);
    let us = 0;
    p.tcp(us++, 0x0a000001, 0xc0000201, 40000, 80, 1000, 0, 0x02);
    for (let i = 0; i < n; i++) {
      p.tcp((us += 10), 0x0b000000 + i, 0xc0000201, 1024 + i, 80, i, 0, 0x02);
      p.tcp((us += 10), 0x0a000001, 0xc0000201, 40000, 80, 1000, 0, 0x02);
    }
    const file = join(dir, 'talker.pcap');
    writeFileSync(file, p.buf);
    const r = await analyzeCaptures([file], { ...DEFAULT_DETECT_OPTIONS, maxConnections: 100, maxListedConnections: 1000 });
    expect(r.tracking.evicted).toBeGreaterThan(150);
    const talker = r.connections.find((c) => c.portA === 40000)!;
    expect(talker.evicted).toBe(false);
    expect(talker.client.packets).toBe(n + 1);
    // The idle ones were evicted oldest first: every evicted one opened before every one still live.
    const idle = r.connections.filter((c) => c !== talker);
    const lastEvicted = Math.max(...idle.filter((c) => c.evicted).map((c) => c.id));
    const firstLive = Math.min(...idle.filter((c) => !c.evicted).map((c) => c.id));
    expect(lastEvicted).toBeLessThan(firstLive);
  });
});
