import type { Endpoint } from './endpoint.js';

/**
 * A RST in `from`'s name that `from` did not send. A host sends all its segments of a
 * connection with one initial TTL over one path, so a RST whose TTL fits none of its
 * other packets came from elsewhere (a firewall, NAT, load balancer or IPS).
 * (How soon a RST follows the segment it answers is no test: round trips vary too
 * much within one connection, the handshake's included.)
 */
export function forgedRst(from: Endpoint, ttl: number): boolean {
  return from.ttlMin >= 0 && (ttl < from.ttlMin || ttl > from.ttlMax);
}
