import { TCP_FIN } from '../decode/packet.js';
import { samePacket, secondsBetween } from '../track/moment.js';
import { packetsOf, who, type Detector } from './detector.js';
import { fact, makeFinding } from './make.js';

/**
 * docs/findings.md#half-close: one side shut down its sending direction (FIN) and kept receiving;
 * the other sent more data and then closed. Healthy: annotated so that nobody
 * mistakes it for a stuck CLOSE-WAIT.
 */
export const halfClose: Detector<'half-close'> = {
  kind: 'half-close',
  segments: 'fin',
  onSegment(seg, ctx) {
    if (!(seg.flags & TCP_FIN) || seg.from.finAt === null || !samePacket(seg.from.finAt, seg.now)) return;
    const b = seg.from; // closes last
    const a = seg.to; // half-closed first
    if (a.finAt === null || a.rstAt !== null || b.dataAfterPeerFin === 0) return;
    // Its data must follow its receipt of the FIN (CLOSE-WAIT): bytes that crossed the FIN, or rode on its own, are a close, not a half-close.
    const got = b.firstEntered('CLOSE-WAIT');
    const sent = b.dataAfterPeerFinAt;
    if (got === null || sent === null || secondsBetween(got, sent) <= 0) return;
    const c = seg.conn;
    const summary = `${who(c, a)} half-closed (shutdown SHUT_WR) and went on receiving ${b.dataAfterPeerFin} bytes before the ${b.role} closed: healthy`;
    const explanation = [
      `The ${who(c, a)} sent its FIN first (frame ${a.finAt.frame}) but kept its receiving side open: the ${b.role} sent ${b.dataAfterPeerFin} more bytes (from frame ${b.dataAfterPeerFinAt?.frame ?? 0}), `,
      `which the ${a.role} acknowledged rather than reset, and then closed (frame ${seg.now.frame}). `,
      `That is shutdown(SHUT_WR): "I have nothing more to send, but tell me everything you have". It is the right way to make sure the peer has received all data before the connection goes, `,
      `and it is not a stuck CLOSE-WAIT: the ${b.role} was in CLOSE-WAIT only while it finished sending.`,
    ].join('');
    ctx.raise(
      c,
      makeFinding('half-close', 'info', c, a, seg.now.capture, packetsOf(seg.now.capture, a.finAt, b.dataAfterPeerFinAt, seg.now), seg.now, summary, explanation, { bytesAfterHalfClose: b.dataAfterPeerFin }, {
        confidence: 'certain',
        evidence: [fact(a.finAt, `FIN from the ${who(c, a)}`), fact(b.dataAfterPeerFinAt, `the ${b.role} went on sending: ${b.dataAfterPeerFin} bytes after it`), fact(seg.now, `FIN from the ${b.role}`)],
      }),
    );
  },
};
