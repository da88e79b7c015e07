/**
 * The detectors declare which connections their onClock can act on
 * (Detector.needsClock); registry.ts clockNeeded ORs them for the tracker's clock
 * watch (the tracker takes it through its constructor). It must say yes exactly
 * where the clock's findings can become true: an endpoint in CLOSE-WAIT
 * (close-wait-stuck), or a zero window still advertised (zero-window).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { clockNeeded, DETECTORS } from '../src/detect/registry.js';
import type { Connection } from '../src/track/connection.js';
import type { Moment } from '../src/track/moment.js';
import { TCP_STATES } from '../src/track/states.js';
import { CAPTURES } from './helpers/env.js';

/** Where the clock's findings can become true. */
function trackerNeedsClock(c: Connection): boolean {
  return c.client.state === 'CLOSE-WAIT' || c.server.state === 'CLOSE-WAIT' || c.client.zeroWindowSince !== null || c.server.zeroWindowSince !== null;
}

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => join(CAPTURES, f));

describe('clockNeeded', () => {
  it('is declared by exactly the detectors with onClock', () => {
    for (const d of DETECTORS) expect(d.needsClock !== undefined, d.kind).toBe(d.onClock !== undefined);
  });

  // A connection's state and windows change only with its own packets: each is checked after each of them.
  it.each(ours)('%s: agrees with the tracker after every packet, on its connection', async (file) => {
    let checked = 0;
    let needed = 0;
    await analyzeCaptures([file], undefined, undefined, {
      onPacket: (_p, c) => {
        if (c === null) return;
        expect(clockNeeded(c)).toBe(trackerNeedsClock(c));
        checked++;
        if (trackerNeedsClock(c)) needed++;
      },
    });
    expect(checked).toBeGreaterThan(0);
    if (/close-wait|zero-window/.test(file)) expect(needed).toBeGreaterThan(0);
  });

  it('agrees with the tracker for every state and zero-window combination of both endpoints', async () => {
    let conn: Connection | null = null;
    await analyzeCaptures([join(CAPTURES, 'zero-window.pcap')], undefined, undefined, { onPacket: (_p, c) => void (conn ??= c) });
    const c = conn as Connection | null;
    expect(c).not.toBeNull();
    const moment = c!.client.since as Moment;
    const windows: (Moment | null)[] = [null, moment];
    let yes = 0;
    for (const cs of TCP_STATES)
      for (const ss of TCP_STATES)
        for (const cw of windows)
          for (const sw of windows) {
            c!.client.state = cs;
            c!.server.state = ss;
            c!.client.zeroWindowSince = cw;
            c!.server.zeroWindowSince = sw;
            const want = trackerNeedsClock(c!);
            if (want) yes++;
            expect(clockNeeded(c!), `${cs} ${ss} ${cw !== null} ${sw !== null}`).toBe(want);
          }
    expect(yes).toBeGreaterThan(0);
  });
});
