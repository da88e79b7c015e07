import { secondsBetween } from '../track/moment.js';
import { at, packetsOf, who, type Detector } from './detector.js';
import { makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';

/**
 * PATTERNS 3: an established connection ended by RST instead of FIN: SO_LINGER
 * {1, 0} then close(), or close() with unread data in the receive buffer.
 */
export const abortiveClose: Detector = {
  kind: 'abortive-close',
  segments: 'rst',
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'abortive') return;
    const c = seg.conn;
    const a = seg.from;
    const b = seg.to;
    // Unread data is likely when the peer's last data came after anything this side sent back.
    const bLast = b.lastDataFrame > 0 ? { sec: b.lastDataSec, nsec: b.lastDataNsec } : null;
    const aLast = a.lastDataFrame > 0 ? { sec: a.lastDataSec, nsec: a.lastDataNsec } : null;
    const unread = bLast !== null && (aLast === null || secondsBetween(aLast, bLast) > 0);
    const summary = `${who(c, a)} aborted the connection with a RST instead of closing it (no FIN, no TIME-WAIT)`;
    const linger = `SO_LINGER set to {on, 0 s} before close() (a deliberate abort, often meant to avoid TIME-WAIT: prefer a normal close; SO_REUSEADDR handles the listening port)`;
    const cause = unread
      ? `Two causes produce this RST. The packets favour close() with unread data: the ${b.role} sent bytes (last in frame ${b.lastDataFrame}) that the ${a.role}'s application never answered, and Linux resets a connection closed with bytes still in its receive buffer (RFC 2525); read or drain what the peer sent before closing, or have the protocol say when the peer is done. The other cause, which the wire cannot tell apart if the application did read them, is ${linger}.`
      : `Nothing the ${b.role} sent was left unanswered, so the likely cause is ${linger}. The other cause, close() with unread data in the receive buffer, would need data from the ${b.role} that no packet shows unanswered.`;
    const explanation = [
      `The ${who(c, a)} sent a RST (frame ${seg.now.frame}) on an established connection without sending a FIN first. `,
      `Both sides dropped the connection at once: neither went through TIME-WAIT, and any data still unsent in the ${a.role}'s buffer was discarded. `,
      `The ${b.role}'s application sees ECONNRESET ("connection reset by peer") on its next read or write. `,
      cause,
    ].join('');
    ctx.raise(
      c,
      makeFinding('abortive-close', 'warning', c, a, seg.now.capture, packetsOf(seg.now.capture, unread ? at(b.lastDataCapture, b.lastDataFrame) : null, seg.now), seg.now, summary, explanation, {
        likelyCause: unread ? 'unread-data' : 'so-linger-zero',
        peerUnreadBytesLikely: unread,
      }),
    );
  },
};
