import type { Connection } from '../track/connection.js';
import { CONFIDENCES, type Confidence, type Finding, type FindingKind } from './finding.js';
import { captureView, type Vantage } from './vantage.js';

/**
 * Whose application a kind's text says saw an error (an errno, a signal): the side
 * the finding is about, or its peer; null for kinds that claim none.
 */
const SAW: Record<FindingKind, 'endpoint' | 'peer' | null> = {
  'close-wait-stuck': null,
  'write-after-fin': 'endpoint',
  'abortive-close': 'peer',
  'peer-reset': 'peer',
  'half-open': 'peer',
  'connection-refused': 'peer',
  'syn-timeout': 'peer',
  'handshake-abort': 'peer',
  'zero-window': null,
  'half-close': null,
  'port-reuse': null,
  'icmp-unreachable': 'peer',
  'simultaneous-close': null,
  'listen-overflow': 'peer',
  'middlebox-reset': 'peer',
  'stray-rst': null,
};

const WHERE: Record<Exclude<Vantage, 'unknown'>, string> = {
  client: "at the client's end",
  server: "at the server's end",
  path: 'between the hosts',
};

/** The weaker of two confidences. */
function atMost(c: Confidence, cap: Confidence): Confidence {
  return CONFIDENCES.indexOf(c) >= CONFIDENCES.indexOf(cap) ? c : cap;
}

/** Findings already reviewed (an evicted connection is ended twice). */
const reviewed = new WeakSet<Finding>();

/**
 * After the detectors, at the connection's end: what the capture can show of it
 * bounds what each finding claims. A connection seen without its handshake gives
 * no certainty and no error; what an application saw is firm only for the host the
 * capture was taken on, and said as such; the capture point is named.
 */
export function review(c: Connection, findings: readonly Finding[]): void {
  if (findings.length === 0) return;
  let vantage: Vantage | null = null;
  let unseen: 'client' | 'server' | null | undefined;
  for (const f of findings) {
    if (reviewed.has(f)) continue;
    reviewed.add(f);
    if (f.kind === 'stray-rst') continue;
    if (unseen === undefined) unseen = captureView(c, false).unseen;
    if (unseen !== null) {
      f.confidence = atMost(f.confidence, 'likely');
      f.explanation += ` (The capture holds none of the ${unseen}'s packets, though the other side acknowledged them: a capture of one direction. What the ${unseen} sent, and when, is inferred from those acknowledgments.)`;
    }
    if (c.partial) {
      f.confidence = atMost(f.confidence, 'possible');
      if (f.severity === 'error') f.severity = 'warning';
      f.alternatives.push('the capture began after the connection opened: what came before it is unknown, and the states are inferred');
    }
    const saw = SAW[f.kind];
    if (saw === null) continue;
    const role = saw === 'endpoint' ? f.endpoint : f.endpoint === 'client' ? 'server' : 'client';
    vantage ??= captureView(c, false).vantage;
    if (vantage === role) continue;
    f.confidence = atMost(f.confidence, 'likely');
    f.explanation +=
      vantage === 'unknown'
        ? ` (Where the capture was taken the packets do not reveal: what the ${role}'s application saw is what it would see if these packets reached it.)`
        : ` (Captured ${WHERE[vantage]}, not on the ${role}'s host: what its application saw is what it would see if these packets reached it.)`;
    // One connection's SYN-ACK sent again proves a dropped ACK only where the listener's own kernel is watched.
    if (f.kind === 'listen-overflow' && vantage !== 'server') {
      f.severity = 'info';
      f.confidence = 'possible';
    }
  }
}
