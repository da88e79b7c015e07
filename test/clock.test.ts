/**
 * The capture's clock looks only at what is due: TIME-WAIT timers and closed
 * connections waiting to be forgotten come off heaps in the order they run out, and
 * the clock's detectors hear only the connections they can act on (an endpoint in
 * CLOSE-WAIT, a zero window still advertised). The results must be those of a clock
 * that looks at every live connection on every tick, as it did before: the test
 * runs both, the second by putting that full scan in place of the tracker's own.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import type { Detector } from '../src/detect/detector.js';
import { DEFAULT_DETECT_OPTIONS, type DetectOptions } from '../src/detect/options.js';
import { DETECTORS } from '../src/detect/registry.js';
import { toJson } from '../src/report/json.js';
import type { Connection } from '../src/track/connection.js';
import { secondsBetween } from '../src/track/moment.js';
import { ConnectionTracker } from '../src/track/tracker.js';
import { BulkPcap } from './helpers/pcap.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, manifest } from './helpers/env.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-clock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => join(CAPTURES, f));
const corpus = HAVE_CORPUS ? (await manifest()).map((r) => join(CORPUS, r.file)) : [];

/** Where a segment goes in the file (µs), the time it is stamped with (µs), then BulkPcap.tcp's fields. */
type Segment = [at: number, stamp: number, src: number, dst: number, sport: number, dport: number, seq: number, ack: number, flags: number, window: number];
const SYN = 0x02;
const FIN = 0x01;
const RST = 0x04;
const ACK = 0x10;
const PSH = 0x08;

/**
 * `n` connections, one every `gapUs`, on 500 reused tuples, each ending one of seven
 * ways: left in CLOSE-WAIT, closed 3.5 s late, a 2.5 s zero window, reset, closed
 * cleanly (with a FIN retransmitted 8 s into TIME-WAIT, or not, or after 2 s with an
 * ACK that arrives a second later stamped 1.7 s early: the clock steps back). Some
 * reset ones get a stray ACK 3 s after both sides closed (their wait starts again),
 * others one that arrives late, stamped 1.5 s before the reset.
 */
function timersCapture(n: number, gapUs: number): { file: string; seconds: number } {
  const segs: Segment[] = [];
  const C = 0x0a000001;
  const S = 0x0a000002;
  for (let i = 0; i < n; i++) {
    const t = i * gapUs;
    const port = 1024 + (i % 500);
    const a = (i * 7919 + 1) >>> 0;
    const b = (i * 104729 + 7) >>> 0;
    const add = (dt: number, fromClient: boolean, seq: number, ack: number, flags: number, window = 64240, stampDt = dt): void => {
      const addrs = fromClient ? [C, S, port, 80] : [S, C, 80, port];
      segs.push([t + dt, t + stampDt, addrs[0]!, addrs[1]!, addrs[2]!, addrs[3]!, seq, ack, flags, window]);
    };
    add(0, true, a, 0, SYN);
    add(100, false, b, a + 1, SYN | ACK);
    add(200, true, a + 1, b + 1, ACK);
    add(300, true, a + 1, b + 1, ACK | PSH);
    switch (i % 7) {
      case 0:
        add(400, true, a + 1, b + 1, FIN | ACK);
        add(500, false, b + 1, a + 2, ACK);
        break;
      case 1:
        add(400, true, a + 1, b + 1, FIN | ACK);
        add(500, false, b + 1, a + 2, ACK);
        add(3_500_000, false, b + 1, a + 2, FIN | ACK);
        add(3_500_100, true, a + 2, b + 2, ACK);
        break;
      case 2:
        add(400, false, b + 1, a + 1, ACK, 0);
        add(2_500_000, false, b + 1, a + 1, ACK);
        add(2_500_100, true, a + 1, b + 1, FIN | ACK);
        add(2_500_200, false, b + 1, a + 2, FIN | ACK);
        add(2_500_300, true, a + 2, b + 2, ACK);
        break;
      case 3:
        if (i % 3 === 0) {
          add(400, true, a + 1, b + 1, RST | ACK);
          add(3_000_000, false, b + 1, a + 1, ACK);
        } else if (i % 3 === 1) {
          add(2_000_000, true, a + 1, b + 1, RST | ACK);
          add(2_500_000, false, b + 1, a + 1, ACK, 64240, 500_000);
        } else add(400, true, a + 1, b + 1, RST | ACK);
        break;
      case 5:
        // Closed cleanly after 2 s, then an ACK that arrives late, stamped before the close.
        add(2_000_000, true, a + 1, b + 1, FIN | ACK);
        add(2_000_100, false, b + 1, a + 2, FIN | ACK);
        add(2_000_200, true, a + 2, b + 2, ACK);
        add(3_000_000, false, b + 2, a + 2, ACK, 64240, 300_000);
        break;
      default:
        add(400, true, a + 1, b + 1, FIN | ACK);
        add(500, false, b + 1, a + 2, FIN | ACK);
        add(600, true, a + 2, b + 2, ACK);
        if (i % 7 === 4) add(8_000_000, false, b + 1, a + 2, FIN | ACK);
    }
  }
  segs.sort((x, y) => x[0] - y[0]);
  const p = new BulkPcap(segs.length);
  for (const [, stamp, ...rest] of segs) p.tcp(stamp, ...rest);
  const file = join(dir, `timers-${n}-${gapUs}.pcap`);
  writeFileSync(file, p.buf);
  return { file, seconds: (n * gapUs) / 1e6 };
}

type Tick = (this: ConnectionTracker, sec: number, nsec: number) => void;
interface TrackerInside {
  active: Set<Connection>;
  options: { timeWaitSeconds: number; closedLingerSeconds: number };
  forget(c: Connection): void;
}

/** The clock as it was: every live connection on every tick. */
function fullScanTick(this: TrackerInside, sec: number, nsec: number): void {
  const tw = this.options.timeWaitSeconds;
  const at = { sec, nsec };
  const idle = (s: string): boolean => s === 'CLOSED' || s === 'LISTEN';
  for (const c of this.active) {
    for (const e of [c.client, c.server]) {
      if (e.state === 'TIME-WAIT' && secondsBetween(e.since, at) >= tw) {
        e.enter('CLOSED', { sec: e.since.sec + tw, nsec: e.since.nsec, frame: 0, capture: e.since.capture }, `TIME-WAIT ended (${tw} s)`);
      }
    }
    if (idle(c.client.state) && idle(c.server.state) && sec - c.lastSec + (nsec - c.lastNsec) / 1e9 > this.options.closedLingerSeconds) this.forget(c);
  }
}

/** Run `body` with the tracker's clock replaced by the full scan. */
async function withFullScan<T>(body: () => Promise<T>): Promise<T> {
  const proto = ConnectionTracker.prototype as unknown as { tick: Tick; clockWatch: () => Connection[] };
  const { tick, clockWatch } = proto;
  proto.tick = fullScanTick as unknown as Tick;
  proto.clockWatch = function (this: TrackerInside): Connection[] {
    return [...this.active];
  };
  try {
    return await body();
  } finally {
    proto.tick = tick;
    proto.clockWatch = clockWatch;
  }
}

/** The registry's detectors, their onClock calls counted. */
function countingClock(calls: { n: number }): Detector[] {
  return DETECTORS.map((d) => {
    if (!d.onClock) return d;
    const onClock = d.onClock.bind(d);
    return { ...d, onClock: (c, now, ctx) => void (calls.n++, onClock(c, now, ctx)) } satisfies Detector;
  });
}

/** Everything the analysis reports, and each finding with the packet it was raised at. */
async function analysis(file: string, options: DetectOptions, calls = { n: 0 }): Promise<string> {
  let packets = 0;
  const raisedAt: [string, number, number][] = [];
  const r = await analyzeCaptures([file], options, undefined, {
    detectors: countingClock(calls),
    onPacket: () => void packets++,
    onFinding: (f) => void raisedAt.push([f.kind, f.connection, packets + 1]),
  });
  return JSON.stringify({ report: toJson(r), raisedAt });
}

describe('the clock', () => {
  const generated = [timersCapture(3000, 10_000), timersCapture(600, 200_000)];
  const options: [string, DetectOptions][] = [
    ['defaults', DEFAULT_DETECT_OPTIONS],
    ['TIME-WAIT 3 s, few listed', { ...DEFAULT_DETECT_OPTIONS, timeWaitSeconds: 3, maxListedConnections: 400 }],
    ['TIME-WAIT 0.5 s, few live', { ...DEFAULT_DETECT_OPTIONS, timeWaitSeconds: 0.5, maxConnections: 300 }],
  ];

  it.each(generated.flatMap((g) => options.map(([name, o]) => [g.file, name, o, g.seconds] as const)))(
    '%s (%s): the same report as a clock that looks at every live connection',
    async (file, _name, o, seconds) => {
      const fast = { n: 0 };
      const slow = { n: 0 };
      const mine = await analysis(file, o, fast);
      const scanned = await withFullScan(() => analysis(file, o, slow));
      expect(mine).toBe(scanned);
      // The timers did their work: TIME-WAITs ended (where the capture outlasts them), CLOSE-WAIT and zero windows found.
      if (o.timeWaitSeconds < seconds) expect(mine.includes('TIME-WAIT ended')).toBe(true);
      expect(mine.includes('"kind":"close-wait-stuck"')).toBe(true);
      expect(mine.includes('"kind":"zero-window"')).toBe(true);
      expect(fast.n).toBeLessThan(slow.n);
    },
  );

  it.each([...ours, ...corpus])('%s: the same report as a clock that looks at every live connection', async (file) => {
    for (const [, o] of options.slice(0, 2)) expect(await analysis(file, o)).toBe(await withFullScan(() => analysis(file, o)));
  });

  it('forgets a closed connection on time when the clock steps back', async () => {
    // X closes cleanly at 2 s; W is reset at 1.5 s; Z starts at 3 s, and its tick ends X's TIME-WAIT (0.5 s here).
    // Then an ACK of X arrives stamped 0.3 s: X's wait now runs from 0.3 s, so at the tick of Y (5.4 s) X is due
    // and W (due at 6.5 s) is not. X, without findings, is then summarised and left out of the list (at most 2).
    const C = 0x0a000001;
    const S = 0x0a000002;
    const p = new BulkPcap(17);
    const conn = (us: number, port: number): void => {
      p.tcp(us, C, S, port, 80, 1000, 0, SYN);
      p.tcp(us + 100, S, C, 80, port, 5000, 1001, SYN | ACK);
      p.tcp(us + 200, C, S, port, 80, 1001, 5001, ACK);
    };
    conn(0, 1111);
    conn(1_000_000, 2222);
    p.tcp(1_500_000, C, S, 2222, 80, 1001, 5001, RST | ACK);
    p.tcp(2_000_000, C, S, 1111, 80, 1001, 5001, FIN | ACK);
    p.tcp(2_000_100, S, C, 80, 1111, 5001, 1002, FIN | ACK);
    p.tcp(2_000_200, C, S, 1111, 80, 1002, 5002, ACK);
    conn(3_000_000, 3333);
    p.tcp(300_000, S, C, 80, 1111, 5002, 1002, ACK);
    conn(5_400_000, 4444);
    const file = join(dir, 'steps-back.pcap');
    writeFileSync(file, p.buf);
    const o = { ...DEFAULT_DETECT_OPTIONS, timeWaitSeconds: 0.5, maxListedConnections: 2 };
    const r = await analyzeCaptures([file], o);
    expect(r.connections.map((c) => c.address('client'))).toEqual(['10.0.0.1:2222', '10.0.0.1:3333', '10.0.0.1:4444']);
    expect(r.tracking.unlisted).toEqual({ SF: 1 });
    expect(await analysis(file, o)).toBe(await withFullScan(() => analysis(file, o)));
  });

  it('hears only the connections its detectors can act on', async () => {
    // 3,000 connections over 30 s of which 1 in 7 stays in CLOSE-WAIT and 1 in 7 has a 2.5 s zero window:
    // the full scan calls the clock's detectors for every live one (thousands in TIME-WAIT) on each tick.
    const file = generated[0]!.file;
    const fast = { n: 0 };
    const slow = { n: 0 };
    await analysis(file, DEFAULT_DETECT_OPTIONS, fast);
    await withFullScan(() => analysis(file, DEFAULT_DETECT_OPTIONS, slow));
    expect(fast.n).toBeGreaterThan(0);
    expect(fast.n * 5).toBeLessThan(slow.n);
  });
});
