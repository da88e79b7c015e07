import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { secondsBetween, type Moment } from '../track/moment.js';

/** Where the capture was taken, for one connection: on a host, in the path between, or unknown. */
export type Vantage = 'client' | 'server' | 'path' | 'unknown';

/** What the packets of one connection say about the capture's view of it. */
export interface CaptureView {
  vantage: Vantage;
  /** The clues behind `vantage`, each a short sentence. */
  clues: string[];
  /**
   * The side the capture never shows, though the other side's ACKs prove it sent
   * (a one-sided capture: tcpdump -Q, a SPAN port of one direction, asymmetric routing).
   */
  unseen: 'client' | 'server' | null;
  /** Segments of each side acknowledged by the other and never captured. */
  ackedUnseen: { client: boolean; server: boolean };
}

/** Initial TTLs (hop limits) that stacks use: Linux and macOS 64, Windows 128, many routers and Solaris 255. */
const INITIAL_TTLS = [32, 64, 128, 255] as const;

/** Hops from its sender to the capture point: its nearest initial TTL minus what arrived. */
export function hopsOf(ttl: number): number {
  for (const t of INITIAL_TTLS) if (ttl <= t) return t - ttl;
  return 0;
}

/** "53" or "52-53": the TTLs of a side's packets without RST. */
export function ttlRange(e: Endpoint): string {
  return e.ttlMin === e.ttlMax ? `${e.ttlMin}` : `${e.ttlMin}-${e.ttlMax}`;
}

/**
 * One side answering within this share of the other's time is the host the capture
 * sat on: its kernel's answer never crossed the network.
 */
const NEAR_SHARE = 0.1;
/** Handshake answers both faster than this say nothing: the hosts are next to each other. */
const TIMING_FLOOR_SECONDS = 0.001;

/** The handshake's two halves as captured: the client's SYN to the SYN-ACK, and the SYN-ACK to the client's ACK; null when not seen whole. */
export function handshakeHalves(c: Connection): [number, number] | null {
  const cl = c.client;
  const synAck = c.server.synAckAt;
  if (synAck === null || cl.firstSynAt === null || c.handshakeRtt < 0) return null;
  const syn: Moment = cl.lastSynAt !== null && secondsBetween(cl.lastSynAt, synAck) >= 0 ? cl.lastSynAt : cl.firstSynAt;
  const toSynAck = secondsBetween(syn, synAck);
  const toAck = c.handshakeRtt - secondsBetween(cl.firstSynAt, synAck);
  return toSynAck < 0 || toAck < 0 ? null : [toSynAck, toAck];
}

/** From the handshake's timing: which end answered at once. */
function byTiming(c: Connection, clues: string[] | null): Vantage {
  // A SYN or SYN-ACK sent again makes the halves pair an answer with the wrong question.
  const halves = c.client.synCount === 1 && c.server.synCount === 1 ? handshakeHalves(c) : null;
  if (halves === null) return 'unknown';
  const [toSynAck, toAck] = halves;
  const ms = (s: number): string => `${(s * 1000).toFixed(3)} ms`;
  const timing = (): string => `SYN to SYN-ACK ${ms(toSynAck)}, SYN-ACK to ACK ${ms(toAck)}`;
  if (Math.max(toSynAck, toAck) < TIMING_FLOOR_SECONDS) {
    clues?.push(`${timing()}: both within a millisecond, the hosts are close to the capture and to each other`);
    return 'unknown';
  }
  if (toAck <= NEAR_SHARE * toSynAck) {
    clues?.push(`${timing()}: the client answered at once, so the capture was taken at the client's end`);
    return 'client';
  }
  if (toSynAck <= NEAR_SHARE * toAck) {
    clues?.push(`${timing()}: the server answered at once, so the capture was taken at the server's end`);
    return 'server';
  }
  clues?.push(`${timing()}: both answers crossed a network, so the capture was taken between the hosts`);
  return 'path';
}

/** From the TTLs: a side whose packets still carry an initial TTL sent them from the capture's host (or its link). */
function byTtl(c: Connection, clues: string[] | null): Vantage {
  const hops = (e: Endpoint): number => (e.ttlMax < 0 ? -1 : hopsOf(e.ttlMax));
  const h = { client: hops(c.client), server: hops(c.server) };
  const said = (r: 'client' | 'server'): string => (h[r] < 0 ? `no ${r} packet` : `${r} TTL ${c.endpoint(r).ttlMax} (${h[r]} hop${h[r] === 1 ? '' : 's'} away)`);
  const both = (): string => `${said('client')}, ${said('server')}`;
  if (h.client === 0 && h.server > 0) {
    clues?.push(`${both()}: the client's packets were captured before any router`);
    return 'client';
  }
  if (h.server === 0 && h.client > 0) {
    clues?.push(`${both()}: the server's packets were captured before any router`);
    return 'server';
  }
  if (h.client > 0 && h.server > 0) {
    clues?.push(`${both()}: both crossed a router before the capture`);
    return 'path';
  }
  if (h.client === 0 && h.server === 0) clues?.push(`${both()}: both still at an initial TTL, on one link with the capture`);
  else if (h.client === 0 || h.server === 0) clues?.push(`${both()}: one side's packets were captured before any router`);
  // One side alone at an initial TTL places the capture on its network, not on its host.
  return 'unknown';
}

/**
 * From checksum offload: a host hands its NIC segments with the checksum left for the
 * NIC to fill in, so its own outgoing segments, captured on it, carry wrong checksums.
 */
function byChecksum(c: Connection, clues: string[] | null): Vantage {
  const bad = (e: Endpoint): boolean => e.checksumsChecked >= 2 && e.checksumsBad === e.checksumsChecked;
  const good = (e: Endpoint): boolean => e.checksumsChecked >= 2 && e.checksumsBad === 0;
  for (const [e, peer] of [[c.client, c.server], [c.server, c.client]] as const) {
    if (bad(e) && (good(peer) || peer.packets === 0)) {
      clues?.push(`every checked TCP checksum of the ${e.role}'s is wrong${peer.packets ? `, the ${peer.role}'s right` : ''}: checksum offload, so captured on the ${e.role}'s host`);
      return e.role;
    }
  }
  return 'unknown';
}

/**
 * Where the capture was taken, from the handshake's timing first (a host answers its
 * peer's segment in microseconds, a peer across the network in an RTT), then checksum
 * offload, then the TTLs (packets captured on their sender's host still carry its
 * initial TTL). A router's own capture sees arriving packets before it decrements
 * them, so timing wins when both speak; only a TTL naming the other end contradicts it.
 */
export function vantageOf(c: Connection, clues: string[] | null = []): { vantage: Vantage; clues: string[] } {
  const timing = byTiming(c, clues);
  const offload = byChecksum(c, clues);
  const said = clues ?? NO_CLUES;
  if (offload !== 'unknown' && (timing === 'unknown' || timing === offload)) return { vantage: offload, clues: said };
  const ttl = byTtl(c, clues);
  // TTLs that crossed a router only say the capture was not on a host: near one end, timing still tells which.
  if (timing !== 'unknown' && ttl !== 'unknown' && timing !== ttl && timing !== 'path' && ttl !== 'path') return { vantage: 'unknown', clues: clues === null ? NO_CLUES : [...clues, 'the clues disagree'] };
  return { vantage: timing !== 'unknown' ? timing : ttl, clues: said };
}

const NO_CLUES: string[] = [];

/**
 * What the capture shows of connection `c` (worked out at report time, from the facts
 * tracked). `withClues`: the sentences behind the vantage too (prose costs; the JSON
 * gives them for connections with findings only).
 */
export function captureView(c: Connection, withClues = true): CaptureView {
  const { vantage, clues } = vantageOf(c, withClues ? [] : null);
  const acked = { client: c.client.ackedUnseenBy(c.server), server: c.server.ackedUnseenBy(c.client) };
  const unseen = c.client.packets === 0 && acked.client ? 'client' : c.server.packets === 0 && acked.server ? 'server' : null;
  return { vantage, clues, unseen, ackedUnseen: acked };
}
