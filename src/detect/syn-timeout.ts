import { TCP_ACK, TCP_RST, TCP_SYN } from '../decode/packet.js';
import type { Connection } from '../track/connection.js';
import { secondsBetween } from '../track/moment.js';
import type { SegmentInfo } from '../track/tracker.js';
import { appendBounded, at, gaps, isLoopback, packetsOf, secs, who, type DetectContext, type Detector, type Instant } from './detector.js';
import type { FindingOf } from './finding.js';
import { fact, makeFinding } from './make.js';

/** Below any kernel's SYN retransmission timeout (a fifth of Linux's 1 s, for jitter and clocks). */
const MIN_SYN_RTO_SECONDS = 0.2;

/** "The client ... sent its SYN 4 times (first in frame 1), 1.02 s, 1.02 s, 1.02 s apart". */
function synsSent(c: Connection, n: number, steps: readonly number[]): string {
  const apart = steps.length ? `, ${steps.map((s) => secs(s)).join(', ')} apart` : '';
  return `The ${who(c, c.client)} sent its SYN ${n} times (first in frame ${c.client.firstSynAt?.frame ?? 0})${apart}`;
}

function check(c: Connection, now: Instant, frame: number, capture: number, ctx: DetectContext, atEnd: boolean): void {
  const client = c.client;
  const server = c.server;
  if (client.state !== 'SYN-SENT' || server.packets > 0 || c.partial) return;
  // Acknowledgments of a server the capture does not show: it answered, unseen (a one-sided capture).
  if (server.ackedUnseenBy(client)) return;
  // The SYNs of the client's unanswered run: a copy the capture saw twice is one SYN (tracker's copyOfLast).
  const n = client.unanswered;
  if (n - 1 < (atEnd ? 1 : ctx.options.synRetransmissions)) return;
  // No SYN retransmission timer fires this soon (RFC 6298's initial RTO is 1 s; Linux's 1 s, Windows' 3 s): SYNs this close are not one connect() retrying.
  if (client.unansweredTimes.length > 1 && gaps(client.unansweredTimes).some((g) => g < MIN_SYN_RTO_SECONDS)) return;
  const unreachable = c.icmp.some((i) => i.errorClass === 'unreachable');
  const steps = gaps(client.unansweredTimes);
  const waited = client.firstSynAt ? secondsBetween(client.firstSynAt, now) : 0;
  const loopback = isLoopback(c.address('server'));
  const summary = loopback
    ? `${n} SYNs to the loopback address ${c.address('server')} got no reply: a kernel there answers every SYN, so these were not sent to one (crafted or replayed packets)`
    : `${who(c, server)} never answered: ${n} SYNs from the client over ${secs(waited)} got no reply`;
  const explanation = loopback
    ? [
        synsSent(c, n, steps),
        `, and nothing came back. On the loopback interface the host's own kernel receives every SYN and answers it, with a SYN-ACK or a RST, unless a local firewall drops it: `,
        `SYNs that draw nothing there were most likely written into the capture (a test file, a replay), not sent by a connect(). No application is shown to have waited.`,
      ].join('')
    : [
    synsSent(c, n, steps),
    `, and nothing came back: no SYN-ACK, no RST. The server's host is down or unreachable, or a firewall silently drops SYNs to that port. `,
    `Linux retries tcp_syn_retries times (6: about 127 s with the classic 1, 2, 4, 8, 16, 32, 64 s back-off; recent kernels start with linear 1 s retries) before connect() fails with ETIMEDOUT`,
    unreachable ? ` - here ICMP unreachable errors came back, so connect() fails with EHOSTUNREACH instead` : '',
    `. Fix: check that the server is up and reachable on that port (a firewall that rejects, rather than drops, makes clients fail fast); give connect() a timeout shorter than the kernel's.`,
      ].join('');
  const d = { synCount: n, intervalsSeconds: steps, icmpUnreachable: unreachable, answeredAfterSeconds: null };
  const existing = ctx.raised(c, 'syn-timeout');
  if (existing) {
    ctx.revise(existing, { summary, explanation, details: d });
    appendBounded(existing, capture, frame);
    return;
  }
  // A kernel on the loopback interface answers every SYN (SYN-ACK or RST): unanswered ones there were not sent to a kernel.
  ctx.raise(
    c,
    makeFinding('syn-timeout', loopback ? 'info' : 'warning', c, server, capture, packetsOf(capture, client.firstSynAt, at(capture, frame)), now, summary, explanation, d, {
      confidence: loopback ? 'possible' : 'likely',
      evidence: [fact(client.firstSynAt, 'SYN from the client'), fact(at(capture, frame), loopback ? `SYN number ${n}, the same sequence number` : `SYN number ${n}, the same connect() retrying`), fact(null, `nothing from the server for ${secs(waited)}`, capture)],
      alternatives: [
        ...(loopback ? ['crafted packets replayed onto the loopback interface, where a kernel would have answered'] : []),
        "the capture misses the server's direction (a one-sided capture or asymmetric routing)",
        'a firewall that drops the SYNs, or drops the answers on their way back',
      ],
    }),
  );
}

/**
 * The server answered after the finding was raised: the SYNs before were lost, and
 * connect() waited (or failed with ECONNREFUSED, for a RST).
 */
function answered(c: Connection, f: FindingOf<'syn-timeout'>, seg: SegmentInfo, ctx: DetectContext): void {
  const client = c.client;
  const server = c.server;
  // The run as last counted: the answer has just reset the client's.
  const n = f.details.synCount;
  const waited = client.firstSynAt ? secondsBetween(client.firstSynAt, seg.now) : 0;
  const refused = (seg.flags & TCP_RST) !== 0;
  const what = refused ? 'a RST' : (seg.flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK) ? 'a SYN-ACK' : 'a segment';
  const summary = refused
    ? `${who(c, server)} refused the connection only after ${n} SYNs, ${secs(waited)} after the first`
    : `${who(c, server)} answered only after ${n} SYNs, ${secs(waited)} after the first: connect() waited that long`;
  const explanation = [
    synsSent(c, n, f.details.intervalsSeconds),
    `; the ${server.role} answered with ${what} (frame ${seg.now.frame}) ${secs(waited)} after the first. `,
    `The SYNs before it were lost on the way or dropped at the server's host: a full listen queue (its application accepts too slowly; nstat's TcpExtListenOverflows and TcpExtListenDrops count them), a firewall or rate limit on new connections, or loss on the path. `,
    refused
      ? `Then nothing listened on the port any more: connect() failed with ECONNREFUSED after ${secs(waited)}. `
      : `The client's connect() succeeded, ${secs(waited)} late; a client with a shorter connect timeout gave up instead (ETIMEDOUT). `,
    `Fix: on the server, compare the listen queue with its backlog (ss -ltn: Recv-Q against Send-Q) and raise the backlog or accept faster; look for drops of SYNs on the path and in firewalls.`,
  ].join('');
  ctx.revise(f, { summary, explanation, details: { ...f.details, answeredAfterSeconds: Number(waited.toFixed(6)) } });
  appendBounded(f, seg.now.capture, seg.now.frame);
}

/** docs/findings.md#syn-timeout: the SYN retransmitted with no answer at all. */
export const synTimeout: Detector<'syn-timeout'> = {
  kind: 'syn-timeout',
  saw: 'peer',
  // The client's SYNs, and the server's first answer once it was raised.
  segments: ['syn-sent', 'flagged'],
  onSegment(seg, ctx) {
    const c = seg.conn;
    if (seg.from === c.server) {
      const f = ctx.raised(c, 'syn-timeout');
      if (f !== undefined && f.details.answeredAfterSeconds === null) answered(c, f, seg, ctx);
      return;
    }
    if (seg.from === c.client && seg.from.state === 'SYN-SENT') check(c, seg.now, seg.now.frame, seg.now.capture, ctx, false);
  },
  onEnd(c, end, ctx) {
    check(c, end, 0, c.lastCapture, ctx, true);
  },
};
