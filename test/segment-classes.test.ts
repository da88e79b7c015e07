/**
 * The detector engine calls a detector's onSegment only for the kinds of segment it
 * declares (Detector.segments): plain data and ACKs of a healthy connection call
 * none. The classes are a filter, never a change: every capture we have must give
 * the same findings when every detector hears every segment.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import type { Detector } from '../src/detect/detector.js';
import { DETECTORS } from '../src/detect/registry.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, manifest } from './helpers/env.js';

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => join(CAPTURES, f));
const corpus = HAVE_CORPUS ? (await manifest()).map((r) => join(CORPUS, r.file)) : [];

/** The registry's detectors with onSegment calls counted; `every`: without their segment classes. */
function counted(every: boolean, calls: { n: number }, change?: (d: Detector) => Detector): Detector[] {
  return DETECTORS.map((d) => {
    const base = change ? change(d) : d;
    if (!base.onSegment) return base;
    const onSegment = base.onSegment.bind(base);
    return {
      ...base,
      ...(every ? { segments: 'all' as const } : {}),
      onSegment: (seg, ctx) => {
        calls.n++;
        onSegment(seg, ctx);
      },
    } satisfies Detector;
  });
}

/** The findings, and the packet each was raised at (live mode reports them then). */
async function findings(file: string, detectors: readonly Detector[]): Promise<string> {
  let packets = 0;
  const raisedAt: [string, number, number][] = [];
  const r = await analyzeCaptures([file], undefined, undefined, {
    detectors,
    onPacket: () => void packets++,
    // Heard before onPacket of the segment that raised it: count that one too.
    onFinding: (f) => void raisedAt.push([f.kind, f.connection, packets + 1]),
  });
  return JSON.stringify({ findings: r.findings, raisedAt });
}

describe('segment classes', () => {
  it.each([...ours, ...corpus])('%s: the same findings when every detector hears every segment', async (file) => {
    const filtered = { n: 0 };
    const every = { n: 0 };
    expect(await findings(file, counted(false, filtered))).toBe(await findings(file, counted(true, every)));
    expect(filtered.n).toBeLessThanOrEqual(every.n);
  });

  it('leaves most segments to no detector at all', async () => {
    const filtered = { n: 0 };
    const every = { n: 0 };
    const file = join(CAPTURES, 'zero-window.pcap');
    await findings(file, counted(false, filtered));
    await findings(file, counted(true, every));
    expect(filtered.n).toBeGreaterThan(0);
    expect(filtered.n * 4).toBeLessThan(every.n);
  });

  // (zero-window.pcap's stall outlasts a clock tick, which raises the finding first: its segments cannot show a misfiling.)
  it.each([
    ['half-open.pcap', 'half-open', 'rst'],
    ['syn-timeout.pcap', 'syn-timeout', 'rst'],
  ] as const)('%s: a detector given the wrong class misses its finding', async (file, kind, wrong) => {
    const path = join(CAPTURES, file);
    const right = await analyzeCaptures([path]);
    expect(right.findings.some((f) => f.kind === kind)).toBe(true);
    const calls = { n: 0 };
    // Either missed, or raised later (from the clock or at the end): not the same.
    const misfiled = counted(false, calls, (d) => (d.kind === kind ? { ...d, segments: wrong } : d));
    expect(await findings(path, misfiled)).not.toBe(await findings(path, counted(false, calls)));
  });
});
