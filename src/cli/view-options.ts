import { lookup } from 'node:dns/promises';
import { isIP, isIPv6 } from 'node:net';
import { InvalidArgumentError, Option } from 'commander';
import type { FindingKind } from '../detect/finding.js';
import { FINDING_KINDS } from '../detect/registry.js';
import type { TimeBound } from '../report/view.js';
import { SS_NAMES, TCP_STATES, type TcpState } from '../track/states.js';

/** The filter options the commands share (--host, --port, --state, --finding, --since, --until), parsed as commander reads them. */

/** A repeatable option: each use adds to the list; the help says what none means. */
export function repeatable<T>(flags: string, description: string, parse: (v: string, prev: T[]) => T[], none = 'all'): Option {
  return new Option(flags, description).argParser(parse).default([], none);
}

export function port(v: string, prev: number[]): number[] {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return [...prev, n];
}

/** An address, a network (CIDR) or a host name to resolve; brackets around an IPv6 address are dropped. */
export function host(v: string, prev: string[]): string[] {
  const h = v.trim().replace(/^\[(.*)\]$/, '$1');
  const slash = h.indexOf('/');
  if (slash >= 0) {
    const addr = h.slice(0, slash).replace(/^\[(.*)\]$/, '$1');
    const bits = h.slice(slash + 1);
    const family = isIP(addr);
    const max = family === 6 ? 128 : 32;
    if (family === 0) throw new InvalidArgumentError(`"${addr}" is not an IP address (a network is ADDRESS/PREFIX, e.g. 10.0.0.0/24)`);
    if (!/^\d+$/.test(bits) || Number(bits) > max) throw new InvalidArgumentError(`the prefix length of "${h}" must be 0-${max}`);
    return [...prev, `${addr}/${Number(bits)}`];
  }
  if (isIP(h)) return [...prev, `${h}/${isIPv6(h) ? 128 : 32}`];
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(h)) {
    throw new InvalidArgumentError(`"${v}" is neither an IP address, a network (ADDRESS/PREFIX) nor a host name`);
  }
  // A name: resolved before the capture is read (resolveHosts).
  return [...prev, h];
}

/** Names among `hosts` resolved to every address they have, as tcpdump's `host NAME` does; a name that does not resolve is a usage error. */
export async function resolveHosts(hosts: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const h of hosts) {
    if (h.includes('/')) {
      out.push(h);
      continue;
    }
    let addrs: { address: string; family: number }[];
    try {
      addrs = await lookup(h, { all: true });
    } catch {
      throw new InvalidArgumentError(`--host ${h}: the name does not resolve`);
    }
    for (const a of addrs) out.push(`${a.address}/${a.family === 6 ? 128 : 32}`);
  }
  return out;
}

/** A state as RFC 9293 or `ss` spells it, any case, "_" or "-" (CLOSE_WAIT, close-wait, CLOSE-WAIT). */
export function state(v: string, prev: TcpState[]): TcpState[] {
  const u = v.trim().toUpperCase().replace(/_/g, '-');
  const s = (TCP_STATES as readonly string[]).includes(u) ? (u as TcpState) : SS_NAMES[u];
  if (s === undefined) throw new InvalidArgumentError(`expected one of ${TCP_STATES.join(', ')}`);
  return [...prev, s];
}

export function findingKind(v: string, prev: FindingKind[]): FindingKind[] {
  if (!(FINDING_KINDS as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${FINDING_KINDS.join(', ')}`);
  return [...prev, v as FindingKind];
}

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * A time: UTC date and time as the reports print it ("2026-12-07 10:00:05",
 * "2026-12-07T10:00:05.5Z", an offset such as +01:00 is honoured), epoch seconds
 * ("1765101605.25"), or "+90s" / "+5m" after the capture's first packet.
 */
export function timeBound(v: string): TimeBound {
  const t = v.trim();
  const rel = /^\+(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(t);
  if (rel) return { kind: 'offset', seconds: Number(rel[1]) * UNIT_SECONDS[rel[2] ?? 's']! };
  if (/^\d{9,}(\.\d+)?$/.test(t)) return { kind: 'epoch', seconds: Number(t) };
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?(Z|[+-]\d{2}:?\d{2})?$/i.exec(t);
  if (m) {
    const zone = m[3] === undefined || m[3].toUpperCase() === 'Z' ? 'Z' : m[3].length === 5 ? `${m[3].slice(0, 3)}:${m[3].slice(3)}` : m[3];
    const ms = Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}${zone}`);
    if (!Number.isNaN(ms)) {
      const frac = /\.(\d+)/.exec(m[2] ?? '');
      // Date keeps milliseconds: the rest of the fraction is added back.
      return { kind: 'epoch', seconds: Math.floor(ms / 1000) + (frac ? Number(`0.${frac[1]}`) : 0) };
    }
  }
  throw new InvalidArgumentError('expected a UTC time such as "2026-12-07 10:00:05" (or with T, Z or an offset), epoch seconds, or +90s after the first packet');
}
