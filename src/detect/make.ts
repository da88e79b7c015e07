import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { networkOf, type Instant, type Packets } from './detector.js';
import type { Confidence, Evidence, FindingKind, FindingOf, PacketRef, Severity } from './finding.js';

/** What a finding rests on: its facts, how far they go, and the other causes that fit them. */
export interface Support {
  evidence: Evidence[];
  confidence: Confidence;
  alternatives?: string[];
}

/** A fact tied to a packet (or, with no packet, to the clock). */
export function fact(ref: PacketRef | null | undefined, text: string, capture = 0): Evidence {
  return ref === null || ref === undefined || ref.frame <= 0 ? { capture: ref?.capture ?? capture, frame: null, fact: text } : { capture: ref.capture, frame: ref.frame, fact: text };
}

/** Assemble a finding's common fields. */
export function makeFinding<K extends FindingKind>(
  kind: K,
  severity: Severity,
  c: Connection,
  about: Endpoint,
  capture: number,
  packets: Packets,
  at: Instant,
  summary: string,
  explanation: string,
  details: FindingOf<K>['details'],
  support: Support,
): FindingOf<K> {
  return {
    kind,
    severity,
    connection: c.id,
    stream: c.stream,
    endpoint: about.role,
    endpointAddress: c.address(about.role),
    capture,
    packets: packets.packets,
    otherPackets: packets.otherPackets,
    sec: at.sec,
    nsec: at.nsec,
    confidence: support.confidence,
    alternatives: support.alternatives ?? [],
    evidence: support.evidence,
    summary,
    explanation,
    details,
    ...networkMember(c),
  } as FindingOf<K>;
}

/** The finding's network member, only for a connection in a tunnel with a network id. */
function networkMember(c: Connection): { network?: string } {
  const n = networkOf(c);
  return n === '' ? {} : { network: n };
}
