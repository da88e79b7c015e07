import type { Connection, IcmpEvent } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import type { SegmentInfo } from '../track/tracker.js';
import type { Finding, FindingKind, FindingOf } from './finding.js';
import type { DetectOptions } from './options.js';

export interface Instant {
  sec: number;
  nsec: number;
}

export interface DetectContext {
  readonly options: DetectOptions;
  /** Record a finding; a connection gets each kind once (later calls are ignored). */
  raise(c: Connection, f: Finding): void;
  /** The finding of that kind already raised on the connection, to refine its details. */
  raised<K extends FindingKind>(c: Connection, kind: K): FindingOf<K> | undefined;
  /** Count occurrences of `key` across the analysis; returns the new count. */
  count(key: string): number;
}

/**
 * A detector reads endpoint states and the facts the tracker keeps; it never
 * re-parses packets. Three moments: each segment, the clock, and the end of input.
 */
export interface Detector {
  readonly kind: FindingKind;
  /**
   * Which segments onSegment can act on, so the engine calls it for no other (most
   * segments are plain data and ACKs): any segment (the default), or only those with
   * RST, with FIN, or that changed an endpoint's state.
   */
  readonly segments?: 'all' | 'rst' | 'fin' | 'state-change';
  onConnection?(c: Connection, ctx: DetectContext): void;
  onSegment?(seg: SegmentInfo, ctx: DetectContext): void;
  onIcmp?(c: Connection, ev: IcmpEvent, ctx: DetectContext): void;
  onClock?(c: Connection, now: Instant, ctx: DetectContext): void;
  onEnd?(c: Connection, end: Instant, ctx: DetectContext): void;
}

/** "client 10.0.0.1:40000" style name of an endpoint. */
export function who(c: Connection, e: Endpoint): string {
  return `${e.role} ${c.address(e.role)}`;
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
 * Add `frame` to a finding's packet list that grows with a run (retransmissions,
 * SYNs): keeps the first and the latest frames only, in constant time per call.
 */
export function appendBounded(packets: number[], frame: number): void {
  if (frame <= 0 || packets[packets.length - 1] === frame) return;
  packets.push(frame);
  if (packets.length > KEEP_HEAD + KEEP_TAIL) packets.splice(KEEP_HEAD, 1);
}

/** Sorted, de-duplicated, positive frame numbers (0 stands for "the clock", not a packet). */
export function frames(...n: number[]): number[] {
  return [...new Set(n.filter((x) => x > 0))].sort((a, b) => a - b);
}
