import { TCP_RST } from '../decode/packet.js';
import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { secondsBetween } from '../track/moment.js';
import { isSynchronized } from '../track/states.js';
import type { Now } from '../track/now.js';
import { appendBounded, at, gaps, pacing, packetsOf, secs, who, type DetectContext, type Detector, type Instant } from './detector.js';
import type { FindingOf } from './finding.js';
import type { Revision } from './revision.js';
import { fact, makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';
import { captureView, hopsOf } from './vantage.js';

/** What the run of `n` was made of. */
function runKind(retransmitter: Endpoint, n: number): string {
  return retransmitter.unansweredProbes === n ? 'keep-alive probes' : retransmitter.unansweredProbes > 0 ? 'retransmissions and probes' : 'retransmissions';
}

/** What the waits of a run of `what` show, in brackets, or nothing. */
function paced(steps: readonly number[], what: string, icmp: boolean): string {
  switch (pacing(steps)) {
    case 'backing-off':
      return ' (exponential back-off)';
    case 'even':
      if (what === 'keep-alive probes') return ' (the keep-alive interval, TCP_KEEPINTVL)';
      // RFC 6069: each ICMP unreachable undoes a step of the retransmission timer's back-off.
      return icmp ? ' (no back-off: the ICMP errors undo it, RFC 6069)' : ' (evenly spaced)';
    default:
      return '';
  }
}

/** "The client ... sent 5 retransmissions (first in frame 9), waiting ... between them (exponential back-off)". */
function runSent(c: Connection, retransmitter: Endpoint, n: number, what: string, steps: readonly number[], icmp: boolean): string {
  const waits = steps.length ? `, waiting ${steps.map((s) => secs(s)).join(', ')} between them${paced(steps, what, icmp)}` : '';
  return `The ${who(c, retransmitter)} sent ${n} ${what} (first in frame ${retransmitter.unansweredFirst?.frame ?? 0})${waits}`;
}

/**
 * Both sides had closed: the silent side sent its FIN (acknowledged), and what goes unanswered is
 * the retransmitter's closing. No application waits for it; the host may well be there.
 */
function afterClose(silent: Endpoint, retransmitter: Endpoint): boolean {
  return silent.finSeen && retransmitter.finSeen;
}

/** What else fits the silence: nothing on the path where the capture sat at the silent side's own end. */
function alternativesOf(c: Connection, silent: Endpoint, retransmitter: Endpoint): string[] {
  const atSilent = captureView(c, false).vantage === silent.role;
  if (afterClose(silent, retransmitter))
    return atSilent
      ? [`a host firewall on the ${silent.role}'s host dropping what arrives after the capture point`]
      : [`the capture, not the network, lost the ${silent.role}'s packets from its close on (a mirror port or capture that dropped them)`];
  return atSilent
    ? [`a host firewall on the ${silent.role}'s host dropping what arrives after the capture point`, `the ${silent.role}'s host is stopped (a virtual machine paused or migrating)`]
    : [`a firewall or NAT on the path dropped the connection's state and now discards its packets, with the ${silent.role} alive`, `the ${silent.role}'s host is stopped (a virtual machine paused or migrating)`];
}

/**
 * The capture sits at the silent side's end: on its host, where those segments reached its
 * TCP, or (its TTL says) a router or more before it, where the last hops could still lose them.
 */
function atSilentEnd(silent: Endpoint): string {
  const hops = silent.ttlMax < 0 ? 0 : hopsOf(silent.ttlMax);
  if (hops === 0) {
    return `The capture was taken at the ${silent.role}'s end, so those segments reached its host and its TCP answered none: a host firewall dropping them after the capture point (tcpdump sees packets before netfilter does) behaves so. `;
  }
  return (
    `The capture was taken near the ${silent.role}'s end, ${hops} router${hops === 1 ? '' : 's'} before it (its packets arrived with TTL ${silent.ttlMax}): those segments got that far, ` +
    `and were lost on the last hop${hops === 1 ? '' : 's'} (a NAT or firewall there that forgot the connection once it closed), or reached its host and its TCP answered none (a host firewall that drops them). `
  );
}

function describe(c: Connection, retransmitter: Endpoint, silent: Endpoint, now: Instant, gaveUp: boolean): { summary: string; explanation: string; details: FindingOf<'half-open'>['details'] } {
  const quiet = silent.packets > 0 ? secondsBetween({ sec: silent.lastSentSec, nsec: silent.lastSentNsec }, now) : secondsBetween(c.client.since, now);
  const unreachable = c.icmp.some((i) => i.errorClass === 'unreachable');
  const steps = gaps(retransmitter.unansweredTimes);
  const n = retransmitter.unanswered;
  const what = runKind(retransmitter, n);
  if (afterClose(silent, retransmitter)) {
    const atSilent = captureView(c, false).vantage === silent.role;
    return {
      summary: `${who(c, silent)} did not acknowledge the ${retransmitter.role}'s FIN: ${n} ${what} went unanswered after both sides had closed`,
      explanation: [
        runSent(c, retransmitter, n, what, steps, unreachable),
        `, after the ${who(c, silent)} had closed its side (FIN, frame ${silent.finAt?.frame ?? 0}), and it acknowledged none of them. `,
        `Both applications had closed, so none waits for this: the ${retransmitter.role}'s kernel retries its FIN until it gives up. `,
        // Its own FIN unacknowledged and never resent says more than where the capture sits: its TCP was gone.
        !silent.finAcked
          ? `The ${silent.role}'s own FIN was never acknowledged either, yet it never sent it again: from its close on, nothing of the ${silent.role} reached the capture. Its host went away, or a NAT or firewall between dropped the connection's state as it closed. `
          : atSilent
            ? atSilentEnd(silent)
            : `Something between dropped the ${silent.role}'s answers or the ${retransmitter.role}'s FIN: a NAT or firewall that forgets a connection once it sees a FIN, or a lossy path. `,
        `It cost the ${retransmitter.role} only a lingering socket. Fix: nothing for the applications; if many connections end this way, look at the middlebox's or host firewall's handling of closing connections.`,
      ].join(''),
      details: { retransmissions: n, backoffSeconds: steps, silentSeconds: Number(quiet.toFixed(6)), gaveUpWithRst: gaveUp, icmpUnreachable: unreachable, answeredAfterSeconds: null },
    };
  }
  const summary = `${who(c, silent)} stopped answering: ${n} ${what} from the ${retransmitter.role} went unacknowledged over ${secs(retransmitter.unansweredTimes.at(-1) ?? 0)}`;
  const explanation = [
    runSent(c, retransmitter, n, what, steps, unreachable),
    `, and the ${who(c, silent)} has sent nothing for ${secs(quiet)}: no ACK, no FIN, no RST. `,
    `Either its host vanished (crashed, lost power or its network), or a firewall or NAT on the path dropped the connection's state and now discards its packets while the ${silent.role} lives on: from one end the two look the same (a capture at the ${silent.role}'s end, or the middlebox's drop counters, tell them apart). `,
    gaveUp ? `The ${retransmitter.role} gave up and reset the connection itself (frame ${retransmitter.rstAt?.frame ?? 0}). ` : '',
    unreachable
      ? `ICMP destination-unreachable errors came back for it, so the ${retransmitter.role}'s application sees EHOSTUNREACH (or ENETUNREACH) instead of a plain timeout. `
      : `Until the ${retransmitter.role}'s kernel gives up (tcp_retries2: about 15 minutes of back-off on Linux, or TCP_USER_TIMEOUT), its application's writes succeed into the buffer and reads block; then they fail with ETIMEDOUT. `,
    `Fix: put timeouts on the application's reads and writes, set TCP_USER_TIMEOUT for connections that must fail fast, and enable TCP keep-alive (SO_KEEPALIVE with short TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT) so idle connections to dead peers are found; then check what happened to the ${silent.role}.`,
  ].join('');
  return {
    summary,
    explanation,
    details: { retransmissions: n, backoffSeconds: steps, silentSeconds: Number(quiet.toFixed(6)), gaveUpWithRst: gaveUp, icmpUnreachable: unreachable, answeredAfterSeconds: null },
  };
}

/**
 * The silent side sent something after all. The finding keeps the run as it was last
 * refined and says how long the silence lasted: a warning when it answered (it was not
 * gone), still an error when it answered with a RST (it came back without the connection).
 */
function answered(c: Connection, f: FindingOf<'half-open'>, silent: Endpoint, now: Now, rst: boolean, ctx: DetectContext): void {
  const retransmitter = c.peer(silent);
  const d = f.details;
  // The run began (the finding was raised on it), and its first is kept once answered.
  const after = secondsBetween(retransmitter.unansweredFirst!, now);
  const n = d.retransmissions;
  const what = runKind(retransmitter, n);
  // The answer has just cleared the run's times: its back-off is the finding's.
  const revision: Revision<'half-open'> = { details: { ...d, answeredAfterSeconds: Number(after.toFixed(6)) } };
  const head = `${runSent(c, retransmitter, n, what, d.backoffSeconds, d.icmpUnreachable)}, and the ${who(c, silent)} sent nothing until frame ${now.frame}, ${secs(after)} after the first of them`;
  if (rst) {
    // It came back without the connection: still an error, and the end of it.
    revision.summary = `${who(c, silent)} was silent for ${secs(after)}, then reset the connection: it had lost it`;
    revision.explanation = [
      `${head}: a RST. `,
      `The ${silent.role}'s host came back without the connection (it rebooted, its application's socket was gone, or a NAT or firewall on the way lost the connection's state and answered for it) and reset it. `,
      `The ${retransmitter.role}'s application saw its reads and writes stall for ${secs(after)}, then fail with ECONNRESET (EPIPE and SIGPIPE for a write after that). `,
      `Fix: find what happened to the ${silent.role} at that time; the ${retransmitter.role} must treat ECONNRESET as the end of the connection and reconnect.`,
    ].join('');
  } else {
    revision.severity = 'warning';
    revision.summary = `${who(c, silent)} was silent for ${secs(after)}: ${n} ${what} from the ${retransmitter.role} went unacknowledged, then it answered again`;
    revision.explanation = [
      `${head}. `,
      `A peer that answers again was not gone: for that long everything between the two was lost (a link, route or firewall failure, a NAT or load-balancer failing over) or the ${silent.role}'s host was stopped (a virtual machine paused or migrated). `,
      `The connection survived: the ${retransmitter.role}'s application saw its reads and writes stall for that long, without an error, unless a timeout of its own was shorter. `,
      `Fix: find what interrupted the path or the ${silent.role} at that time; an application that cannot wait that long needs timeouts of its own (TCP_USER_TIMEOUT, read and write deadlines).`,
    ].join('');
  }
  ctx.revise(f, revision);
  appendBounded(f, now.capture, now.frame);
}

function raiseOrUpdate(c: Connection, retransmitter: Endpoint, now: Instant, frame: number, capture: number, ctx: DetectContext, gaveUp: boolean): void {
  const silent = c.peer(retransmitter);
  const existing = ctx.raised(c, 'half-open');
  const d = describe(c, retransmitter, silent, now, gaveUp);
  if (existing) {
    // The run went on (or a new one began after an answer): refine the same finding with the final count.
    if (existing.endpoint !== silent.role) return;
    ctx.revise(existing, { severity: afterClose(silent, retransmitter) ? 'warning' : 'error', ...d });
    appendBounded(existing, capture, frame);
    return;
  }
  ctx.raise(
    c,
    makeFinding('half-open', afterClose(silent, retransmitter) ? 'warning' : 'error', c, silent, capture, packetsOf(capture, retransmitter.unansweredFirst, at(capture, frame)), now, d.summary, d.explanation, d.details, {
      confidence: 'likely',
      evidence: [fact(retransmitter.unansweredFirst, `the ${retransmitter.role} sent again what it had sent before`), fact(at(capture, frame), `try number ${retransmitter.unanswered}, still unacknowledged`), fact(null, `nothing from the ${silent.role} since`, capture)],
      alternatives: alternativesOf(c, silent, retransmitter),
    }),
  );
}

/**
 * docs/findings.md#half-open: one side keeps retransmitting (or probing) into silence. Raised when
 * the run of unanswered retransmissions reaches the threshold, refined as it grows.
 */
export const halfOpen: Detector<'half-open'> = {
  kind: 'half-open',
  saw: 'peer',
  // Its own RST, a segment sent again into the silence, or, once raised, the silent side's answer.
  segments: ['rst', 'resent', 'flagged'],
  onSegment(seg, ctx) {
    const raised = ctx.raised(seg.conn, 'half-open');
    if (raised !== undefined && raised.endpoint === seg.from.role) {
      const silent = seg.from;
      // Its "answer" a SYN-ACK sent again: it was alive, and had never taken the connection (listen-overflow).
      if (silent.ackDropped && silent.state === 'SYN-RECEIVED') ctx.withdraw(seg.conn, 'half-open');
      // A RST from a side that still knew the connection: alive, it aborted (abortive-close tells it).
      else if (seg.flags & TCP_RST && raised.details.answeredAfterSeconds === null && rstMeaning(seg, ctx.options) === 'abortive') ctx.withdraw(seg.conn, 'half-open');
      else if (raised.details.answeredAfterSeconds === null) answered(seg.conn, raised, silent, seg.now, (seg.flags & TCP_RST) !== 0, ctx);
      return;
    }
    const retransmitter = seg.from;
    if (seg.flags & TCP_RST) {
      // The sender giving up on the silent peer with a RST of its own.
      if (rstMeaning(seg, ctx.options) === 'gave-up') raiseOrUpdate(seg.conn, retransmitter, seg.now, seg.now.frame, seg.now.capture, ctx, true);
      return;
    }
    if (retransmitter.unanswered < ctx.options.halfOpenRetransmissions) return;
    if (!isSynchronized(seg.fromBefore)) return; // SYN retransmissions are syn-timeout
    const silent = seg.to;
    if (silent.ackDropped && silent.state === 'SYN-RECEIVED') return; // alive, resending its SYN-ACK: listen-overflow
    if (!(seg.retransmission || seg.keepAlive || seg.windowProbe)) return;
    // Its segments are missing from the capture, not from the wire: its peer acknowledged them.
    if (silent.ackedUnseenBy(retransmitter)) return;
    raiseOrUpdate(seg.conn, retransmitter, seg.now, seg.now.frame, seg.now.capture, ctx, false);
  },
  onEnd(c, end, ctx) {
    // Still unanswered when the capture ended: the silence lasted until then, not just until the last try.
    const f = ctx.raised(c, 'half-open');
    if (f === undefined || f.details.answeredAfterSeconds !== null) return;
    const silent = c.endpoint(f.endpoint);
    if (silent.ackedUnseenBy(c.peer(silent))) {
      ctx.withdraw(c, 'half-open');
      return;
    }
    const retransmitter = c.peer(silent);
    // The run the finding was last refined on (nothing from the silent side has ended it since).
    if (retransmitter.unanswered !== f.details.retransmissions) return;
    ctx.revise(f, describe(c, retransmitter, silent, end, f.details.gaveUpWithRst));
  },
};
