import { abortiveClose } from './abortive-close.js';
import { closeWaitStuck } from './close-wait-stuck.js';
import { connectionRefused } from './connection-refused.js';
import type { Connection } from '../track/connection.js';
import type { Detector } from './detector.js';
import type { FindingKind } from './finding.js';
import { halfClose } from './half-close.js';
import { halfOpen } from './half-open.js';
import { handshakeAbort } from './handshake-abort.js';
import { icmpUnreachable } from './icmp-unreachable.js';
import { listenOverflow } from './listen-overflow.js';
import { middleboxReset } from './middlebox-reset.js';
import { peerReset } from './peer-reset.js';
import { portReuse } from './port-reuse.js';
import { simultaneousClose } from './simultaneous-close.js';
import { strayRst } from './stray-rst.js';
import { synTimeout } from './syn-timeout.js';
import { writeAfterFin } from './write-after-fin.js';
import { zeroWindow } from './zero-window.js';

/**
 * Every detector, in output order: FINDING_KINDS is theirs, and so is the order of
 * docs/findings.md and the README's table. A new detector is its own file and a line here.
 */
export const DETECTORS = [
  closeWaitStuck,
  writeAfterFin,
  abortiveClose,
  peerReset,
  halfOpen,
  connectionRefused,
  synTimeout,
  handshakeAbort,
  zeroWindow,
  halfClose,
  portReuse,
  icmpUnreachable,
  simultaneousClose,
  listenOverflow,
  middleboxReset,
  strayRst,
] as const satisfies readonly Detector[];

/** The kinds of finding, in output order. */
export const FINDING_KINDS: readonly FindingKind[] = DETECTORS.map((d) => d.kind);

// Every kind a details type is declared for has its detector here.
type Unregistered = Exclude<FindingKind, (typeof DETECTORS)[number]['kind']>;
const EVERY_KIND_REGISTERED: [Unregistered] extends [never] ? true : { unregistered: Unregistered } = true;
void EVERY_KIND_REGISTERED;

/**
 * A connection holds its kinds raised as bits of a small integer (Connection.raised,
 * engine.ts): 31 kinds at most, so that every bit stays below the sign bit.
 */
export const MAX_FINDING_KINDS = 31;
type BitCount = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19 | 20 | 21 | 22 | 23 | 24 | 25 | 26 | 27 | 28 | 29 | 30 | 31;
const KINDS_FIT: (typeof DETECTORS)['length'] extends BitCount ? true : 'more than 31 finding kinds: Connection.raised holds one bit per kind' = true;
void KINDS_FIT;
if (FINDING_KINDS.length > MAX_FINDING_KINDS || new Set(FINDING_KINDS).size !== FINDING_KINDS.length) {
  throw new Error(`registry.ts: ${FINDING_KINDS.length} detectors for ${new Set(FINDING_KINDS).size} kinds: each kind needs exactly one, and Connection.raised holds at most ${MAX_FINDING_KINDS} (one bit per kind)`);
}

/** Detectors whose onClock acts on some connections (needsClock). */
const CLOCKED: readonly Detector[] = DETECTORS.filter((d) => d.needsClock !== undefined);

/** Some detector's onClock can act on `c` now: the tracker watches such connections on the clock. */
export function clockNeeded(c: Connection): boolean {
  for (const d of CLOCKED) if (d.needsClock!(c)) return true;
  return false;
}

/** What the clock's detectors among `detectors` need watched (clockNeeded for the registry's own). */
export function clockNeedOf(detectors: readonly Detector[]): (c: Connection) => boolean {
  if (detectors === DETECTORS) return clockNeeded;
  const clocked = detectors.filter((d) => d.needsClock !== undefined);
  return (c) => clocked.some((d) => d.needsClock!(c));
}

/** The registered detector of each kind. */
const BY_KIND = new Map<FindingKind, Detector>(DETECTORS.map((d) => [d.kind, d]));

export function detectorOf(kind: FindingKind): Detector {
  return BY_KIND.get(kind)!;
}
