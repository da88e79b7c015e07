import { tunnelNetwork } from '../decode/tunnel-text.js';
import type { Connection, IcmpEvent } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import type { SegmentInfo } from '../track/tracker.js';
import type { Finding, FindingKind, FindingOf, PacketRef } from './finding.js';
import type { Revision } from './revision.js';
import type { DetectOptions } from './options.js';

export interface Instant {
  sec: number;
  nsec: number;
}

export interface DetectContext {
  readonly options: DetectOptions;
  /** Record a finding; a connection gets each kind once (later calls are ignored). */
  raise(c: Connection, f: Finding): void;
  /**
   * Take back the connection's finding of that kind: a later packet showed it to be
   * something else (another detector reports that). It may be raised again.
   */
  withdraw(c: Connection, kind: FindingKind): void;
  /** The finding of that kind already raised on the connection, to refine its details. */
  raised<K extends FindingKind>(c: Connection, kind: K): FindingOf<K> | undefined;
  /**
   * Change a raised finding (a later packet told more): its severity, text or
   * details. The only way to change them, so that live mode hears of it.
   */
  revise<K extends FindingKind>(f: FindingOf<K>, change: Revision<K>): void;
  /** Count occurrences of `key` across the analysis; returns the new count. */
  count(key: string): number;
  /** A finding kept under `key` across connections (one note for many of them), or undefined. */
  remembered(key: string): Finding | undefined;
  remember(key: string, f: Finding): void;
}

/**
 * Kinds of segment, as the engine sorts them before calling onSegment: any; with RST;
 * with FIN; one that changed an endpoint's state; one whose sender is in SYN-SENT
 * after it; one sent again (a retransmission, keep-alive or window probe); one of a
 * connection either side of which has advertised a zero window; one of a connection
 * with a finding already (to tell how a condition found while it lasted ended).
 */
export type SegmentClass = 'all' | 'rst' | 'fin' | 'state-change' | 'syn-sent' | 'resent' | 'zero-window' | 'flagged';

/**
 * A detector reads endpoint states and the facts the tracker keeps; it never
 * re-parses packets. Three moments: each segment, the clock, and the end of input.
 */
export interface Detector<K extends FindingKind = FindingKind> {
  readonly kind: K;
  /**
   * Which segments onSegment can act on, so the engine calls it for no other (most
   * segments are plain data and ACKs): one class or several (SegmentClass), any
   * segment by default.
   */
  readonly segments?: SegmentClass | readonly SegmentClass[];
  onConnection?(c: Connection, ctx: DetectContext): void;
  onSegment?(seg: SegmentInfo, ctx: DetectContext): void;
  onIcmp?(c: Connection, ev: IcmpEvent, ctx: DetectContext): void;
  /**
   * Each tick of the capture's clock, for the connections needsClock says it can act
   * on (the tracker watches those: registry.ts clockNeeded).
   */
  onClock?(c: Connection, now: Instant, ctx: DetectContext): void;
  /** The connection's state is one onClock can act on; a detector with onClock declares it. */
  needsClock?(c: Connection): boolean;
  onEnd?(c: Connection, end: Instant, ctx: DetectContext): void;
  /**
   * Whose application its text says saw an error (an errno, a signal): the side the
   * finding is about, or its peer; none by default. The end-of-connection review
   * bounds that claim by where the capture was taken.
   */
  readonly saw?: 'endpoint' | 'peer';
  /**
   * A sharded analysis numbers connections at the end: a finding whose text or
   * details name another connection's id renders them again with `finalId` (its own
   * `connection` is final already).
   */
  renumber?(f: FindingOf<K>, finalId: (provisional: number) => number): void;
  /**
   * A sharded analysis counts per shard: a kind whose findings count each other
   * counts its own again among all of them, in output order, once the shards are merged.
   */
  recount?(findings: readonly Finding[]): void;
}

/** "client 10.0.0.1:40000" style name of an endpoint. */
/**
 * The virtual network a connection is in ("VXLAN VNI 42"; "" when none). A key that
 * names an address across connections adds it: the same address in two VNIs is two hosts.
 */
export function networkOf(c: Connection): string {
  return c.tunnel === null ? '' : tunnelNetwork(c.tunnel);
}

export function who(c: Connection, e: Endpoint): string {
  return `${e.role} ${c.address(e.role)}`;
}

/** The waits between successive times (seconds, to the microsecond): a run's back-off. */
export function gaps(times: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < times.length; i++) out.push(Number((times[i]! - times[i - 1]!).toFixed(6)));
  return out;
}

/**
 * What a run's waits show, for prose: each at least half as long again as the one
 * before (a retransmission timer backing off), all within a fifth of the first
 * (a fixed interval), or neither; empty under two waits, which show no pattern.
 */
export function pacing(steps: readonly number[]): 'backing-off' | 'even' | null {
  if (steps.length < 2) return null;
  if (steps.every((s, i) => i === 0 || s >= 1.5 * steps[i - 1]!)) return 'backing-off';
  if (steps.every((s) => Math.abs(s - steps[0]!) <= 0.2 * steps[0]!)) return 'even';
  return null;
}

/** Seconds with sensible precision for prose. */
export function secs(s: number): string {
  if (s >= 100) return `${Math.round(s)} s`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  return `${(s * 1000).toFixed(1)} ms`;
}

/** Frames a growing finding keeps: the first few and the latest, so a long run stays cheap. */
const KEEP_HEAD = 3;
const KEEP_TAIL = 9;

/**
 * Add a packet to a finding whose packet list grows with a run (retransmissions,
 * SYNs): keeps the first and the latest only, in constant time per call.
 */
export function appendBounded(f: Finding, capture: number, frame: number): void {
  if (frame <= 0) return;
  let run = runs.get(f);
  if (run === undefined) {
    // As raised: its first packet and the current one, the earlier files' first.
    run = [...f.otherPackets, ...f.packets.map((n) => ({ capture: f.capture, frame: n }))];
    runs.set(f, run);
  }
  const last = run[run.length - 1];
  if (last !== undefined && last.capture === capture && last.frame === frame) return;
  run.push({ capture, frame });
  if (run.length > KEEP_HEAD + KEEP_TAIL) run.splice(KEEP_HEAD, 1);
  // One bound over all the packets, wherever they are; each list in the order they came.
  f.packets = run.filter((r) => r.capture === f.capture).map((r) => r.frame);
  f.otherPackets = run.filter((r) => r.capture !== f.capture);
}

/** The packets of growing findings in the order they came (bounded). */
const runs = new WeakMap<Finding, PacketRef[]>();

/** A finding's packets: frame numbers in its own capture, and those in others. */
export interface Packets {
  packets: number[];
  otherPackets: PacketRef[];
}

/**
 * The packets that show a finding about `capture`: sorted and de-duplicated; a
 * frame 0 (or null) stands for "the clock", not a packet, and is left out.
 */
export function packetsOf(capture: number, ...refs: (PacketRef | null | undefined)[]): Packets {
  const own = new Set<number>();
  const other = new Map<string, PacketRef>();
  for (const r of refs) {
    if (r === null || r === undefined || r.frame <= 0) continue;
    if (r.capture === capture) own.add(r.frame);
    else other.set(`${r.capture}:${r.frame}`, { capture: r.capture, frame: r.frame });
  }
  return {
    packets: [...own].sort((a, b) => a - b),
    otherPackets: [...other.values()].sort((a, b) => a.capture - b.capture || a.frame - b.frame),
  };
}

/** A packet reference from a capture index and a frame number kept apart. */
export function at(capture: number, frame: number): PacketRef {
  return { capture, frame };
}

/** An address:port on the loopback network (127.0.0.0/8 or ::1). */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address.startsWith('[::1]');
}
