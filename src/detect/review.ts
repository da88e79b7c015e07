import type { Connection } from '../track/connection.js';
import type { DetectContext } from './detector.js';
import { CONFIDENCES, type Confidence, type Finding, type FindingKind } from './finding.js';
import type { Revision } from './revision.js';
import { captureView, type Vantage } from './vantage.js';

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
export function review(c: Connection, findings: readonly Finding[], sawOf: ReadonlyMap<FindingKind, 'endpoint' | 'peer'>, ctx: Pick<DetectContext, 'revise'>): void {
  if (findings.length === 0) return;
  let vantage: Vantage | null = null;
  let unseen: 'client' | 'server' | null | undefined;
  for (const f of findings) {
    if (reviewed.has(f)) continue;
    reviewed.add(f);
    if (f.kind === 'stray-rst') continue;
    const change: Revision<FindingKind> = {};
    let confidence = f.confidence;
    // Caveats added to the explanation.
    let added = '';
    if (unseen === undefined) unseen = captureView(c, false).unseen;
    if (unseen !== null) {
      confidence = atMost(confidence, 'likely');
      added += ` (The capture holds none of the ${unseen}'s packets, though the other side acknowledged them: a capture of one direction. What the ${unseen} sent, and when, is inferred from those acknowledgments.)`;
    }
    if (c.partial) {
      confidence = atMost(confidence, 'possible');
      if (f.severity === 'error') change.severity = 'warning';
      change.alternatives = [...f.alternatives, 'the capture began after the connection opened: what came before it is unknown, and the states are inferred'];
    }
    const saw = sawOf.get(f.kind);
    if (saw !== undefined) {
      const role = saw === 'endpoint' ? f.endpoint : f.endpoint === 'client' ? 'server' : 'client';
      vantage ??= captureView(c, false).vantage;
      if (vantage !== role) {
        confidence = atMost(confidence, 'likely');
        added +=
          vantage === 'unknown'
            ? ` (Where the capture was taken the packets do not reveal: what the ${role}'s application saw is what it would see if these packets reached it.)`
            : ` (Captured ${WHERE[vantage]}, not on the ${role}'s host: what its application saw is what it would see if these packets reached it.)`;
        // One connection's SYN-ACK sent again proves a dropped ACK only where the listener's own kernel is watched.
        if (f.kind === 'listen-overflow' && vantage !== 'server') {
          change.severity = 'info';
          confidence = 'possible';
        }
      }
    }
    if (confidence !== f.confidence) change.confidence = confidence;
    if (added !== '') {
      change.caveats = (f.caveats ?? '') + added;
      change.explanation = f.explanation + added;
    }
    if (Object.keys(change).length > 0) ctx.revise(f, change);
  }
}
