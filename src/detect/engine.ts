import type { Connection, IcmpEvent } from '../track/connection.js';
import type { SegmentInfo } from '../track/tracker.js';
import type { DetectContext, Detector, Instant, SegmentClass } from './detector.js';
import type { Finding, FindingKind, FindingOf, Severity } from './finding.js';
import { DEFAULT_DETECT_OPTIONS, type DetectOptions } from './options.js';
import { DETECTORS, FINDING_KINDS } from './registry.js';
import type { Revision } from './revision.js';
import { review } from './review.js';
import { TCP_FIN, TCP_RST } from '../decode/packet.js';

/**
 * Notes and counters kept at most (a SYN scan refuses a port per packet): past it the
 * oldest goes. A note matters for seconds (a connect()'s SYN retries), a counter for a
 * port's restart window.
 */
const MAX_NOTES = 1 << 16;

const BIT = new Map<FindingKind, number>(FINDING_KINDS.map((k, i) => [k, 1 << i]));

// What a segment is, as a bit set, one bit per SegmentClass.
const SEGMENT_BIT = { all: 1, rst: 2, fin: 4, 'state-change': 8, 'syn-sent': 16, resent: 32, 'zero-window': 64, flagged: 128 } as const satisfies Record<SegmentClass, number>;
const SEGMENT_KINDS = 256;

/** The bits of the classes a detector listens to. */
function segmentMask(d: Detector): number {
  const s = d.segments ?? 'all';
  let m = 0;
  for (const c of typeof s === 'string' ? [s] : s) m |= SEGMENT_BIT[c];
  return m;
}

/**
 * Runs the detectors at their three moments and collects findings, one per kind
 * and connection. `onFinding` hears each finding the moment it is raised (live mode).
 */
export class DetectorEngine implements DetectContext {
  private list: Finding[] = [];
  /** Findings taken back since the list was last read: dropped from it then, in one pass. */
  private withdrawn: Set<Finding> | null = null;
  private readonly byConnection = new Map<Connection, Finding[]>();
  private readonly counters = new Map<string, number>();
  private readonly notes = new Map<string, Finding>();
  onFinding: ((f: Finding) => void) | null = null;
  /** Hears each finding taken back (live mode printed it when it was raised). */
  onWithdraw: ((f: Finding) => void) | null = null;
  /** Hears each raised finding changed (ctx.revise), after the change, with the severity it had before. */
  onRevise: ((f: Finding, severityBefore: Severity) => void) | null = null;
  /** Whose application each kind's text says saw an error (Detector.saw), for the review. */
  private readonly saw = new Map<FindingKind, 'endpoint' | 'peer'>();

  // Each moment's detectors, gathered once: the per-segment loop calls only those that listen.
  private readonly onConn: Detector[];
  private readonly bySegment: Detector[][];
  private readonly onIcmpD: Detector[];
  private readonly onClockD: Detector[];
  private readonly onEndD: Detector[];

  constructor(
    readonly options: DetectOptions = DEFAULT_DETECT_OPTIONS,
    detectors: readonly Detector[] = DETECTORS,
  ) {
    this.onConn = detectors.filter((d) => d.onConnection);
    const onSeg = detectors.filter((d) => d.onSegment);
    // For each kind of segment, the detectors that want it, in registry order (findings keep their order).
    this.bySegment = Array.from({ length: SEGMENT_KINDS }, (_, m) => onSeg.filter((d) => (segmentMask(d) & m) !== 0));
    this.onIcmpD = detectors.filter((d) => d.onIcmp);
    this.onClockD = detectors.filter((d) => d.onClock);
    this.onEndD = detectors.filter((d) => d.onEnd);
    for (const d of detectors) if (d.saw !== undefined) this.saw.set(d.kind, d.saw);
  }

  /** Every finding raised and not withdrawn, in the order raised. */
  get findings(): readonly Finding[] {
    const gone = this.withdrawn;
    if (gone !== null) {
      this.list = this.list.filter((f) => !gone.has(f));
      this.withdrawn = null;
    }
    return this.list;
  }

  raise(c: Connection, f: Finding): void {
    const bit = BIT.get(f.kind)!;
    if (c.raised & bit) return;
    c.raised |= bit;
    this.list.push(f);
    let list = this.byConnection.get(c);
    if (!list) this.byConnection.set(c, (list = []));
    list.push(f);
    this.onFinding?.(f);
  }

  withdraw(c: Connection, kind: FindingKind): void {
    const bit = BIT.get(kind)!;
    if (!(c.raised & bit)) return;
    c.raised &= ~bit;
    const list = this.byConnection.get(c)!;
    const i = list.findIndex((f) => f.kind === kind);
    const f = list[i]!;
    (this.withdrawn ??= new Set()).add(f);
    list.splice(i, 1);
    this.onWithdraw?.(f);
  }

  revise<K extends FindingKind>(f: FindingOf<K>, change: Revision<K>): void {
    const before = f.severity;
    Object.assign(f, change);
    this.onRevise?.(f, before);
  }

  raised<K extends FindingKind>(c: Connection, kind: K): FindingOf<K> | undefined {
    if (!(c.raised & BIT.get(kind)!)) return undefined;
    return this.byConnection.get(c)?.find((f): f is FindingOf<K> => f.kind === kind);
  }

  remembered(key: string): Finding | undefined {
    return this.notes.get(key);
  }

  remember(key: string, f: Finding): void {
    if (this.notes.size >= MAX_NOTES && !this.notes.has(key)) this.notes.delete(this.notes.keys().next().value!);
    this.notes.set(key, f);
  }

  count(key: string): number {
    const n = (this.counters.get(key) ?? 0) + 1;
    if (n === 1 && this.counters.size >= MAX_NOTES) this.counters.delete(this.counters.keys().next().value!);
    this.counters.set(key, n);
    return n;
  }

  connection(c: Connection): void {
    for (const d of this.onConn) d.onConnection!(c, this);
  }

  segment(seg: SegmentInfo): void {
    const { from, to } = seg;
    let m = SEGMENT_BIT.all;
    if (seg.flags & TCP_RST) m |= SEGMENT_BIT.rst;
    if (seg.flags & TCP_FIN) m |= SEGMENT_BIT.fin;
    if (seg.stateChanged) m |= SEGMENT_BIT['state-change'];
    if (from.state === 'SYN-SENT') m |= SEGMENT_BIT['syn-sent'];
    if (seg.retransmission || seg.keepAlive || seg.windowProbe) m |= SEGMENT_BIT.resent;
    if (from.zeroWindowSeen || to.zeroWindowSeen) m |= SEGMENT_BIT['zero-window'];
    if (seg.conn.raised !== 0) m |= SEGMENT_BIT.flagged;
    // Plain data and ACKs of a healthy connection call no detector at all.
    for (const d of this.bySegment[m]!) d.onSegment!(seg, this);
  }

  icmp(c: Connection, ev: IcmpEvent): void {
    for (const d of this.onIcmpD) d.onIcmp!(c, ev, this);
  }

  clock(active: Iterable<Connection>, now: Instant): void {
    for (const c of active) for (const d of this.onClockD) d.onClock!(c, now, this);
  }

  end(connections: Iterable<Connection>, end: Instant): void {
    for (const c of connections) {
      for (const d of this.onEndD) d.onEnd!(c, end, this);
      if (c.raised !== 0) review(c, this.findingsOf(c), this.saw, this);
    }
  }

  /** Forget `gone`'s findings (live capture let the connections go); count them by kind in `into`. */
  release(gone: ReadonlySet<Connection>, into: Map<FindingKind, number>): void {
    const drop = new Set<Finding>();
    for (const c of gone) {
      const fs = this.byConnection.get(c);
      if (fs === undefined) continue;
      for (const f of fs) {
        drop.add(f);
        into.set(f.kind, (into.get(f.kind) ?? 0) + 1);
      }
      this.byConnection.delete(c);
    }
    if (drop.size === 0) return;
    this.list = this.findings.filter((f) => !drop.has(f));
    // A note on a finding let go would keep it alive for nothing.
    for (const [key, f] of this.notes) if (drop.has(f)) this.notes.delete(key);
  }

  findingsOf(c: Connection): readonly Finding[] {
    return this.byConnection.get(c) ?? [];
  }
}
