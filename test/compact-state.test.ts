/**
 * What a connection keeps is made small without changing what it reports: the
 * endpoint's rarely set fields live in a side object made on first use, a
 * direction's counters are made at its first flagged segment, and a retired
 * connection's sequence analysis keeps its counters only.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { DEFAULT_DETECT_OPTIONS } from '../src/detect/options.js';
import { Endpoint } from '../src/track/endpoint.js';
import { SeqAnalysis, SeqCounters, SEQ_DUPLICATE_ACK, SEQ_RETRANSMISSION } from '../src/track/seq-analysis.js';
import { TCP_ACK, TCP_SYN } from '../src/decode/packet.js';
import { defineSideFields } from '../src/util/side-fields.js';
import { CORPUS, HAVE_CORPUS } from './helpers/env.js';

const AT = { sec: 1, nsec: 0, frame: 1, capture: 0 };

/** The counters of `s`, and nothing else it holds. */
function counts(s: SeqCounters): Record<string, number> {
  return Object.fromEntries(Object.keys(new SeqCounters()).map((k) => [k, s[k as keyof SeqCounters] as number]));
}

describe('side fields', () => {
  class Side {
    count = 0;
    at: number | null = null;
    on = false;
  }
  class Main {
    side: Side | null = null;
    declare count: number;
    declare at: number | null;
    declare on: boolean;
  }
  defineSideFields(Main.prototype, 'side', () => new Side());

  it('reads initial values without a side object, and makes one only for another value', () => {
    const m = new Main();
    expect([m.count, m.at, m.on]).toEqual([0, null, false]);
    m.count = 0;
    m.at = null;
    m.on = false;
    expect(m.side).toBeNull();
    m.count++;
    expect(m.side).toBeInstanceOf(Side);
    expect([m.count, m.at, m.on]).toEqual([1, null, false]);
    m.at = 7;
    m.on = true;
    expect([m.side!.count, m.side!.at, m.side!.on]).toEqual([1, 7, true]);
    // The fields are the accessors', not own properties of the main object.
    expect(Object.keys(m)).toEqual(['side']);
  });

  it('refuses a field that could not be read back without its object', () => {
    class Bad {
      name = 'x';
    }
    expect(() => defineSideFields(Main.prototype, 'side', () => new Bad())).toThrow(/number, a boolean or null/);
    expect(() => defineSideFields(Main.prototype, 'side; x', () => new Side())).toThrow(/plain field name/);
  });

  it('an endpoint makes its side object at its first zero window, not before', () => {
    const e = new Endpoint('client', 'ESTABLISHED', AT);
    e.zeroWindowSince = null;
    e.dataAfterPeerFin += 0;
    expect(e.extras).toBeNull();
    e.zeroWindowSince = AT;
    e.zeroWindowEpisodes++;
    expect(e.extras).not.toBeNull();
    expect([e.zeroWindowSince, e.zeroWindowEpisodes, e.probes]).toEqual([AT, 1, 0]);
  });
});

describe('a released sequence analysis', () => {
  /** A handshake, a duplicate ACK and a segment sent again. */
  function analyzed(): SeqAnalysis {
    const a = new SeqAnalysis();
    let frame = 0;
    const seg = (fromA: boolean, flags: number, seq: number, ack: number, len: number): number => a.analyze(fromA, flags, seq, ack, len, 1000, -1, 1, ++frame * 1000, frame);
    seg(true, TCP_SYN, 100, 0, 0);
    seg(false, TCP_SYN | TCP_ACK, 500, 101, 0);
    seg(true, TCP_ACK, 101, 501, 0);
    seg(true, TCP_ACK, 101, 501, 10);
    seg(true, TCP_ACK, 111, 501, 10);
    seg(false, TCP_ACK, 501, 111, 0);
    expect(seg(false, TCP_ACK, 501, 111, 0) & SEQ_DUPLICATE_ACK).toBeTruthy();
    expect(seg(true, TCP_ACK, 111, 501, 10) & SEQ_RETRANSMISSION).toBeTruthy();
    return a;
  }

  it('keeps every counter of both sides', () => {
    const a = analyzed();
    const before = [counts(a.fromA), counts(a.fromB)];
    expect(before[0]!.retransmissions).toBe(1);
    expect(before[1]!.dupAcks).toBe(1);
    a.release();
    a.release();
    expect([counts(a.fromA), counts(a.fromB)]).toEqual(before);
  });

  it('makes counters only for a side with a flagged segment: the others share zeros', () => {
    const clean = new SeqAnalysis();
    clean.analyze(true, TCP_SYN, 100, 0, 0, 1000, -1, 1, 0, 1);
    clean.analyze(false, TCP_SYN | TCP_ACK, 500, 101, 0, 1000, -1, 1, 1000, 2);
    const other = new SeqAnalysis();
    expect(clean.fromA).toBe(other.fromB);
    expect(counts(clean.fromB)).toEqual(counts(new SeqCounters()));
    const a = analyzed();
    expect(a.fromA).not.toBe(a.fromB);
    expect(a.fromA).not.toBe(other.fromA);
    // The zeros are never written: a frozen object would throw.
    expect(Object.isFrozen(other.fromA)).toBe(true);
  });

  it('refuses a segment after it', () => {
    const a = analyzed();
    a.release();
    expect(() => a.analyze(true, TCP_ACK, 121, 501, 0, 1000, -1, 2, 0, 99)).toThrow(/internal error/);
  });

  // Connections retire (TIME-WAIT cut to a millisecond) with retransmissions and duplicate ACKs counted.
  it.skipIf(!HAVE_CORPUS)('reports what it reported before retiring, on real captures', async () => {
    const run = async (file: string, timeWaitSeconds: number) => {
      const r = await analyzeCaptures([join(CORPUS, file)], { ...DEFAULT_DETECT_OPTIONS, timeWaitSeconds });
      return r.connections.map((c) => ({ retired: c.retired, counts: [counts(c.analysisOf('client')), counts(c.analysisOf('server'))] }));
    };
    let retiredWithCounts = 0;
    for (const file of ['zeek/ssh/ssh.pcap', 'zeek/pop3/pop3.pcap']) {
      const kept = await run(file, 1e6);
      const retired = await run(file, 0.001);
      expect(retired.map((c) => c.counts)).toEqual(kept.map((c) => c.counts));
      // Those reset retire either way; those left in TIME-WAIT only when it is cut short.
      retiredWithCounts += retired.filter((c, i) => c.retired && !kept[i]!.retired && c.counts.some((s) => s.retransmissions! + s.dupAcks! + s.windowUpdates! > 0)).length;
    }
    expect(retiredWithCounts).toBeGreaterThan(3);
  });
});
