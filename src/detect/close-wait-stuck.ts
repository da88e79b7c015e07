import { formatEpoch } from '../capture/timestamp.js';
import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { secondsBetween, type Moment } from '../track/moment.js';
import { appendBounded, at, packetsOf, secs, who, type DetectContext, type Detector, type Instant } from './detector.js';
import type { Evidence, PacketRef } from './finding.js';
import { fact, makeFinding } from './make.js';

/**
 * When check() runs: at a clock tick, as the endpoint leaves CLOSE-WAIT (the segment
 * that took it out), or at the end of the input. A finding the clock raised while it
 * lasted is brought up to date at the last two (not at every tick).
 */
type CheckAt = { kind: 'tick' } | { kind: 'closed'; leaving: PacketRef } | { kind: 'end' };
const TICK: CheckAt = { kind: 'tick' };
const END: CheckAt = { kind: 'end' };

/**
 * docs/findings.md#close-wait-stuck: the peer closed, this side's kernel acknowledged the FIN (CLOSE-WAIT),
 * and its application neither closed nor wrote for longer than the threshold.
 */
function check(c: Connection, e: Endpoint, entered: Moment, now: Instant, ctx: DetectContext, when: CheckAt): void {
  const closedLater = when.kind === 'closed';
  // Quiet since entering CLOSE-WAIT or since its last data, whichever is later.
  let quietFrom: Instant = entered;
  if (e.lastDataFrame > 0 && secondsBetween(entered, { sec: e.lastDataSec, nsec: e.lastDataNsec }) > 0) {
    quietFrom = { sec: e.lastDataSec, nsec: e.lastDataNsec };
  }
  const quiet = secondsBetween(quietFrom, now);
  const existing = ctx.raised(c, 'close-wait-stuck');
  if (existing) {
    if (when.kind !== 'tick' && !existing.details.closedLater && existing.endpoint === e.role) {
      const inState = secondsBetween(entered, now);
      ctx.revise(existing, {
        ...describe(c, e, inState, quiet, closedLater),
        severity: severityOf(c, e, inState, closedLater),
        details: { ...existing.details, secondsInCloseWait: Number(inState.toFixed(6)), closedLater },
        evidence: evidenceOf(c, e, entered, quietFrom, quiet, when),
        // Its own close at last proves it had not closed before the capture, nor stayed busy for good.
        ...(closedLater ? { alternatives: [], confidence: 'likely' as const } : {}),
      });
      if (when.kind === 'closed') appendBounded(existing, when.leaving.capture, when.leaving.frame);
    }
    return;
  }
  if (quiet < ctx.options.closeWaitSeconds) return;
  const peer = c.peer(e);
  const inState = secondsBetween(entered, now);
  const { summary, explanation } = describe(c, e, inState, quiet, closedLater);
  const packets = packetsOf(entered.capture, peer.finAt, entered, quietFrom !== entered ? at(e.lastDataCapture, e.lastDataFrame) : null);
  const mayHaveClosed = mayHaveClosedBefore(c, e);
  ctx.raise(
    c,
    makeFinding(
      'close-wait-stuck',
      severityOf(c, e, inState, closedLater),
      c,
      e,
      entered.capture,
      packets,
      now,
      summary,
      explanation,
      { secondsInCloseWait: Number(inState.toFixed(6)), closedLater, peerFinFrame: peer.finAt?.frame ?? 0, enteredAt: formatEpoch(entered.sec, entered.nsec) },
      {
        confidence: mayHaveClosed ? 'possible' : 'likely',
        evidence: evidenceOf(c, e, entered, quietFrom, quiet, when),
        alternatives: [
          ...(mayHaveClosed ? [`the ${e.role} had closed before the capture began, and was in TIME-WAIT, not CLOSE-WAIT`] : []),
          `the ${e.role}'s application is still busy with the request and will answer and close (a slow job, not a leak)`,
        ],
      },
    ),
  );
}

/**
 * The capture began mid-connection and shows no data from `e`: it may have sent its
 * own FIN before the capture began (then the peer's FIN took it to TIME-WAIT).
 */
function mayHaveClosedBefore(c: Connection, e: Endpoint): boolean {
  return c.partial && e.payloadBytes === 0;
}

/** Peers forget a FIN-WAIT-2 connection after this (Linux tcp_fin_timeout): a close later than that meets a RST. */
const FIN_TIMEOUT_SECONDS = 60;

/**
 * A warning while it lasts, or when the close came so late that the peer had likely
 * forgotten the connection; a close within that is slow, not a leak (a pooled
 * connection closed on its next use looks so): info. Info too where it may not be CLOSE-WAIT at all.
 */
function severityOf(c: Connection, e: Endpoint, inState: number, closedLater: boolean): 'warning' | 'info' {
  if (mayHaveClosedBefore(c, e) && !closedLater) return 'info';
  return closedLater && inState < FIN_TIMEOUT_SECONDS ? 'info' : 'warning';
}

function evidenceOf(c: Connection, e: Endpoint, entered: Moment, quietFrom: Instant, quiet: number, when: CheckAt): Evidence[] {
  const peer = c.peer(e);
  const out: Evidence[] = [];
  if (peer.finAt !== null) out.push(fact(peer.finAt, `FIN from the ${who(c, peer)}`));
  out.push(fact(entered, `the ${e.role} acknowledged it: CLOSE-WAIT`));
  out.push(fact(null, `no FIN and no data from the ${e.role} for ${secs(quiet)}${quietFrom !== entered ? ' after its last data' : ''}`, entered.capture));
  if (when.kind === 'closed') out.push(fact(when.leaving, `the ${e.role} closed at last`));
  return out;
}

/** `inState`: seconds in CLOSE-WAIT; `quiet`: of them, without a write; `closedLater`: it has left CLOSE-WAIT since. */
function describe(c: Connection, e: Endpoint, inState: number, quiet: number, closedLater: boolean): { summary: string; explanation: string } {
  const peer = c.peer(e);
  const me = who(c, e);
  const them = who(c, peer);
  const summary = closedLater
    ? `${me} sat in CLOSE-WAIT for ${secs(inState)} before closing: its application was slow to notice the peer's close`
    : `${me} has been in CLOSE-WAIT for ${secs(inState)}: its application never closed the socket after the peer did`;
  const explanation = [
    `The ${them} closed its side (FIN${peer.finAt ? `, frame ${peer.finAt.frame}` : ''}). The ${e.role}'s kernel acknowledged it and moved the socket to CLOSE-WAIT, `,
    `where it waits for its own application to call close(). That application was told end-of-file (read() returns 0, once it reads) but `,
    closedLater ? `took ${secs(inState)} to close. ` : `has neither closed nor written anything for ${secs(quiet)}. `,
    ...(closedLater && inState < FIN_TIMEOUT_SECONDS
      ? [
          `It did close, so nothing leaked: an application that notices a closed connection only when it next uses it (a connection pool that checks its idle connections on the next request) looks so. `,
          `If such waits pile up, close on end-of-file instead of on the next use.`,
        ]
      : [
          `Each such socket holds a file descriptor and kernel memory; a pile of them (ss -tan state close-wait) ends in EMFILE, "Too many open files". `,
          `Meanwhile the ${peer.role} sits in FIN-WAIT-2; after its tcp_fin_timeout (60 s on Linux) it forgets the connection, and the ${e.role}'s eventual write or close is answered with a RST. `,
          `Fix: on read() == 0 (or an EOF/closed-stream event in your framework), close the socket, on every code path including errors; look for a leaked connection object or a missing finally/defer. `,
          `A forking server whose children never exit shows the same picture.`,
        ]),
  ].join('');
  return { summary, explanation };
}

export const closeWaitStuck: Detector<'close-wait-stuck'> = {
  kind: 'close-wait-stuck',
  segments: ['state-change', 'flagged'],
  onSegment(seg, ctx) {
    // Data from the side said to be stuck: it was half-closed and still writing, not stuck.
    if (seg.len > 0 && seg.from.state === 'CLOSE-WAIT' && !seg.retransmission && !seg.keepAlive && ctx.raised(seg.conn, 'close-wait-stuck')?.endpoint === seg.from.role) {
      ctx.withdraw(seg.conn, 'close-wait-stuck');
      return;
    }
    // Leaving CLOSE-WAIT late is still a finding, even if no clock tick fell in between.
    if (seg.fromBefore === 'CLOSE-WAIT' && seg.from.state !== 'CLOSE-WAIT') {
      const entered = seg.from.lastEntered('CLOSE-WAIT');
      if (entered) check(seg.conn, seg.from, entered, seg.now, ctx, { kind: 'closed', leaving: at(seg.now.capture, seg.now.frame) });
    }
  },
  onClock(c, now, ctx) {
    for (const e of c.both) if (e.state === 'CLOSE-WAIT') check(c, e, e.since, now, ctx, TICK);
  },
  // An endpoint in CLOSE-WAIT: the clock tells how long its application has not closed.
  needsClock: (c) => c.client.state === 'CLOSE-WAIT' || c.server.state === 'CLOSE-WAIT',
  onEnd(c, end, ctx) {
    // A FIN too close to the end to judge stays "open at end", reported with the connection's states.
    for (const e of c.both) if (e.state === 'CLOSE-WAIT') check(c, e, e.since, end, ctx, END);
  },
};
