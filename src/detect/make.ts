import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import type { Instant, Packets } from './detector.js';
import type { FindingKind, FindingOf, Severity } from './finding.js';

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
): FindingOf<K> {
  return {
    kind,
    severity,
    connection: c.id,
    endpoint: about.role,
    endpointAddress: c.address(about.role),
    capture,
    packets: packets.packets,
    otherPackets: packets.otherPackets,
    sec: at.sec,
    nsec: at.nsec,
    summary,
    explanation,
    details,
  } as FindingOf<K>;
}
