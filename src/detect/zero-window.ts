import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { secondsBetween } from '../track/moment.js';
import { packetsOf, secs, who, type DetectContext, type Detector, type Instant } from './detector.js';
import type { PacketRef } from './finding.js';
import { fact, makeFinding } from './make.js';

function check(c: Connection, e: Endpoint, now: Instant, packet: PacketRef | null, ctx: DetectContext, atEnd: boolean): void {
  // The current episode, or the longest finished one.
  const open = e.zeroWindowSince !== null;
  const dur = open ? secondsBetween(e.zeroWindowSince!, now) : e.zeroWindowLongest;
  const start = open ? e.zeroWindowSince : e.zeroWindowLongestAt;
  if (start === null || dur < ctx.options.zeroWindowSeconds) return;
  const peer = c.peer(e);
  const ongoing = open && atEnd;
  const summary = `${who(c, e)} stopped reading: it advertised a zero window for ${secs(dur)}${ongoing ? ' (still zero at the end of the capture)' : ''}`;
  const explanation = [
    `From frame ${start.frame} the ${who(c, e)} advertised a receive window of 0: its receive buffer was full because its application was not reading. `,
    `The ${peer.role} could send nothing more and kept probing the window (${e.zeroWindowProbesReceived} zero-window probes seen); its application's writes block, or fail with EAGAIN on non-blocking sockets, once its own send buffer fills. `,
    ongoing ? `The window was still zero when the capture ended. ` : `The window reopened after ${secs(dur)}. `,
    `This is a stall in the ${e.role}'s application, not a network fault: it is busy, blocked on something else (a lock, a database, a slow consumer downstream), or reads too little at a time. `,
    `Fix: find what the ${e.role}'s reading thread was doing (a stack dump during the stall), read promptly into application buffers, and put a timeout on the ${peer.role}'s writes.`,
  ].join('');
  const d = { seconds: Number(dur.toFixed(6)), ongoingAtEnd: ongoing, probes: e.zeroWindowProbesReceived, episodes: e.zeroWindowEpisodes };
  const existing = ctx.raised(c, 'zero-window');
  if (existing) {
    if (existing.endpoint === e.role && d.seconds > existing.details.seconds) {
      ctx.revise(existing, { summary, explanation, details: d });
    }
    return;
  }
  ctx.raise(
    c,
    makeFinding('zero-window', 'warning', c, e, start.capture, packetsOf(start.capture, start, packet), now, summary, explanation, d, {
      confidence: 'certain',
      evidence: [fact(start, `the ${e.role} advertised a zero window`), fact(packet, ongoing ? `still zero ${secs(dur)} later` : `the window reopened ${secs(dur)} later`, start.capture)],
      alternatives: [`the ${e.role}'s receive buffer is small for the rate (SO_RCVBUF set low), so short pauses close it`],
    }),
  );
}

/** docs/findings.md#zero-window: a receiver advertised a zero window for longer than the threshold. */
export const zeroWindow: Detector<'zero-window'> = {
  kind: 'zero-window',
  segments: 'zero-window',
  onSegment(seg, ctx) {
    // An episode that just ended (window reopened) or one that is still going.
    for (const e of seg.conn.both) if (e.zeroWindowSeen) check(seg.conn, e, seg.now, seg.now, ctx, false);
  },
  onClock(c, now, ctx) {
    for (const e of c.both) if (e.zeroWindowSince !== null) check(c, e, now, null, ctx, false);
  },
  // A zero window still advertised: the clock tells how long it lasts.
  needsClock: (c) => c.client.zeroWindowSince !== null || c.server.zeroWindowSince !== null,
  onEnd(c, end, ctx) {
    for (const e of c.both) if (e.zeroWindowSeen) check(c, e, end, null, ctx, true);
  },
};
