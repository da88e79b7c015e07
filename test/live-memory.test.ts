import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../src/analyze.js';
import { readCapture } from '../src/capture/read-capture.js';
import { Decoder } from '../src/decode/decoder.js';
import type { FindingKind } from '../src/detect/finding.js';
import { DEFAULT_DETECT_OPTIONS } from '../src/detect/options.js';
import { CAPTURES } from './helpers/env.js';

/**
 * Live capture runs for days: past --max-listed it lets finished connections go even
 * when they have findings (printed as they were raised), so memory follows live
 * connections. Every finding is either in the report or counted as let go, by kind.
 */

async function run(file: string, maxListed: number | undefined, releaseFlagged: boolean): Promise<Pipeline> {
  // A short TIME-WAIT, so that the capture's finished connections retire within its 10 s.
  const p = new Pipeline({ ...DEFAULT_DETECT_OPTIONS, timeWaitSeconds: 0.5, maxListedConnections: maxListed });
  p.releaseFlagged = releaseFlagged;
  const d = new Decoder();
  await readCapture(file, { onInterface() {}, onWarning() {}, onFrame: (f) => p.packet(d, f) });
  p.finish();
  return p;
}

function byKind(kinds: Iterable<[string, number]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of kinds) out[k] = (out[k] ?? 0) + n;
  return out;
}

describe('live capture: the connection list stays bounded, findings included', () => {
  it('busy-server.pcap with --max-listed 20: at most 20 finished connections kept; every finding listed or counted', async () => {
    const file = join(CAPTURES, 'busy-server.pcap');
    const whole = await run(file, undefined, false);
    const live = await run(file, 20, true);
    // Analysis without the release keeps every connection with a finding.
    const bounded = await run(file, 20, false);
    expect(bounded.tracker.connections.filter((c) => c.retired).length).toBeGreaterThan(20);

    expect(live.tracker.connections.filter((c) => c.retired).length).toBeLessThanOrEqual(20);
    expect(live.released).toBeGreaterThan(0);
    const listed = byKind(live.engine.findings.map((f) => [f.kind, 1]));
    const all = byKind([...Object.entries(listed), ...live.releasedFindings]);
    expect(all).toEqual(byKind(whole.engine.findings.map((f) => [f.kind, 1])));
    // What is listed is what the whole analysis says of those connections.
    const ids = new Set(live.tracker.connections.map((c) => c.id));
    const wholeOfListed = whole.engine.findings.filter((f) => ids.has(f.connection)).map((f) => `${f.connection} ${f.kind} ${f.severity}`);
    expect(live.engine.findings.map((f) => `${f.connection} ${f.kind} ${f.severity}`).sort()).toEqual(wholeOfListed.sort());
  });
});

describe('the detector engine lets go of what it was told to', () => {
  it('a released connection takes its findings, and the notes on them, with it', async () => {
    const { DetectorEngine } = await import('../src/detect/engine.js');
    const engine = new DetectorEngine(DEFAULT_DETECT_OPTIONS, []);
    const c1 = { raised: 0 } as never;
    const c2 = { raised: 0 } as never;
    const f1 = { kind: 'connection-refused', connection: 1 } as never;
    const f2 = { kind: 'connection-refused', connection: 2 } as never;
    engine.raise(c1, f1);
    engine.raise(c2, f2);
    engine.remember('connect 1', f1);
    engine.remember('connect 2', f2);
    const counted = new Map<FindingKind, number>();
    engine.release(new Set([c1]), counted);
    expect(engine.findings).toEqual([f2]);
    expect(engine.remembered('connect 1')).toBeUndefined();
    expect(engine.remembered('connect 2')).toBe(f2);
    expect(engine.findingsOf(c1)).toEqual([]);
    expect([...counted]).toEqual([['connection-refused', 1]]);
  });
});
