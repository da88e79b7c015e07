import type { Connection } from '../track/connection.js';
import { secondsBetween } from '../track/moment.js';
import { appendBounded, at, packetsOf, secs, who, type DetectContext, type Detector, type Instant } from './detector.js';
import { makeFinding } from './make.js';

function intervals(c: Connection): number[] {
  const times = c.client.unansweredTimes;
  const out: number[] = [];
  for (let i = 1; i < times.length; i++) out.push(Number((times[i]! - times[i - 1]!).toFixed(6)));
  return out;
}

function check(c: Connection, now: Instant, frame: number, capture: number, ctx: DetectContext, atEnd: boolean): void {
  const client = c.client;
  const server = c.server;
  if (client.state !== 'SYN-SENT' || server.packets > 0 || c.partial) return;
  const retrans = client.synCount - 1;
  if (retrans < (atEnd ? 1 : ctx.options.synRetransmissions)) return;
  const unreachable = c.icmp.some((i) => i.errorClass === 'unreachable');
  const steps = intervals(c);
  const waited = client.firstSynAt ? secondsBetween(client.firstSynAt, now) : 0;
  const summary = `${who(c, server)} never answered: ${client.synCount} SYNs from the client over ${secs(waited)} got no reply`;
  const explanation = [
    `The ${who(c, client)} sent its SYN ${client.synCount} times (first in frame ${client.firstSynAt?.frame ?? 0})`,
    steps.length ? `, ${steps.map((s) => secs(s)).join(', ')} apart` : '',
    `, and nothing came back: no SYN-ACK, no RST. The server's host is down or unreachable, or a firewall silently drops SYNs to that port. `,
    `Linux retries tcp_syn_retries times (6: about 127 s with the classic 1, 2, 4, 8, 16, 32, 64 s back-off; recent kernels start with linear 1 s retries) before connect() fails with ETIMEDOUT`,
    unreachable ? ` - here ICMP unreachable errors came back, so connect() fails with EHOSTUNREACH instead` : '',
    `. Fix: check that the server is up and reachable on that port (a firewall that rejects, rather than drops, makes clients fail fast); give connect() a timeout shorter than the kernel's.`,
  ].join('');
  const d = { synCount: client.synCount, intervalsSeconds: steps, icmpUnreachable: unreachable };
  const existing = ctx.raised(c, 'syn-timeout');
  if (existing) {
    existing.summary = summary;
    existing.explanation = explanation;
    existing.details = d;
    appendBounded(existing, capture, frame);
    return;
  }
  ctx.raise(c, makeFinding('syn-timeout', 'warning', c, server, capture, packetsOf(capture, client.firstSynAt, at(capture, frame)), now, summary, explanation, d));
}

/** PATTERNS 7: the SYN retransmitted with no answer at all. */
export const synTimeout: Detector = {
  kind: 'syn-timeout',
  segments: 'syn-sent',
  onSegment(seg, ctx) {
    if (seg.from === seg.conn.client && seg.from.state === 'SYN-SENT') check(seg.conn, seg.now, seg.now.frame, seg.now.capture, ctx, false);
  },
  onEnd(c, end, ctx) {
    check(c, end, 0, c.lastCapture, ctx, true);
  },
};
