import { at, packetsOf, who, type Detector } from './detector.js';
import { makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';

/**
 * PATTERNS 4: a segment answered by a bare RST from a side that never closed: its
 * kernel no longer knows the connection (host rebooted, socket killed, state lost).
 */
export const peerReset: Detector = {
  kind: 'peer-reset',
  segments: 'rst',
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'peer-reset') return;
    const c = seg.conn;
    const a = seg.from;
    const b = seg.to;
    const answered = b.lastSentFrame;
    const summary = `${who(c, a)} answered the ${b.role}'s segment with a RST: it no longer knew the connection`;
    const explanation = [
      `The ${b.role} sent a segment (frame ${answered}) and the ${who(c, a)} answered with a bare RST (frame ${seg.now.frame}), never having sent a FIN. `,
      `A RST without ACK whose sequence number echoes the segment's acknowledgment is what a kernel sends for a segment that belongs to no socket it has: `,
      `the ${a.role}'s host rebooted or crashed and came back, its socket was killed without a FIN getting through (a killed process behind a firewall or NAT that dropped the FIN, a conntrack or load-balancer flush), or the connection was handed to another host. `,
      `The ${b.role}'s application sees ECONNRESET on read, and EPIPE with SIGPIPE on a later write. `,
      `Fix: treat ECONNRESET as a normal event (reconnect, retry idempotent requests); find out why the ${a.role} lost the connection: reboots, restarts without graceful shutdown, idle timeouts in a middlebox (TCP keep-alive shorter than that timeout keeps the state alive).`,
    ].join('');
    ctx.raise(
      c,
      makeFinding('peer-reset', 'error', c, a, seg.now.capture, packetsOf(seg.now.capture, at(b.lastSentCapture, answered), seg.now), seg.now, summary, explanation, {
        rstFrame: seg.now.frame,
        answeredFrame: answered,
      }),
    );
  },
};
