import { packetsOf, who, type Detector } from './detector.js';
import { makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';

/**
 * PATTERNS 2: the peer closed (FIN), this side ignored the end-of-file and wrote;
 * the peer's kernel, with no socket left to deliver to, answered with RST.
 */
export const writeAfterFin: Detector = {
  kind: 'write-after-fin',
  segments: 'rst',
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'write-after-fin') return;
    const c = seg.conn;
    const closer = seg.from;
    const writer = seg.to;
    const finFrame = closer.finAt!.frame;
    const dataFrame = writer.dataAfterPeerFinAt?.frame ?? 0;
    const summary = `${who(c, writer)} wrote ${writer.dataAfterPeerFin} bytes after the ${closer.role} had closed, and got a RST back`;
    const explanation = [
      `The ${who(c, closer)} closed the connection (FIN, frame ${finFrame}); its process had called close() or exited, so no socket was left to receive. `,
      `The ${writer.role}'s application did not act on the end-of-file and wrote ${writer.dataAfterPeerFin} bytes anyway (frame ${dataFrame}). `,
      `The ${closer.role}'s kernel answered that data with a RST (frame ${seg.now.frame}). `,
      `What the ${writer.role} saw: that write() succeeded (the data only reached its own send buffer); its next read() returns 0 (EOF) or fails with ECONNRESET, `,
      `and the write() after the RST fails with EPIPE and raises SIGPIPE, which kills a process that neither ignores SIGPIPE nor writes with MSG_NOSIGNAL. `,
      `Fix: when read() returns 0, stop writing and close the socket; check every write for EPIPE/ECONNRESET; ignore SIGPIPE (or use MSG_NOSIGNAL) so a reset peer is an error to handle, not a crash. `,
      `If the ${closer.role} meant to keep receiving, it should call shutdown(SHUT_WR) instead of close(): that half-close accepts the data, with no RST.`,
    ].join('');
    ctx.raise(
      c,
      makeFinding('write-after-fin', 'error', c, writer, seg.now.capture, packetsOf(seg.now.capture, closer.finAt, writer.dataAfterPeerFinAt, seg.now), seg.now, summary, explanation, {
        bytesWrittenAfterFin: writer.dataAfterPeerFin,
        finFrame,
        rstFrame: seg.now.frame,
      }),
    );
  },
};
