import { secondsBetween } from '../track/moment.js';
import { packetsOf, secs, who, type Detector } from './detector.js';
import { fact, makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';

/** docs/findings.md#handshake-abort: the handshake completed, then the client reset before any data. */
export const handshakeAbort: Detector<'handshake-abort'> = {
  kind: 'handshake-abort',
  saw: 'peer',
  segments: 'rst',
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'handshake-abort') return;
    const c = seg.conn;
    const client = seg.from;
    const est = client.firstEntered('ESTABLISHED');
    const after = est ? secondsBetween(est, seg.now) : 0;
    const summary = `${who(c, client)} reset the connection ${secs(after)} after the handshake, before any data`;
    const explanation = [
      `The three-way handshake completed${est ? ` (frame ${est.frame})` : ''} and the ${who(c, client)} then sent a RST (frame ${seg.now.frame}) without sending any data: `,
      `typically a client that timed out or was cancelled while the server had not yet accepted the connection (a full accept queue, a slow accept loop), a health check that only tests the handshake, or a port scanner. `,
      `On the server the connection sat completed in the listen queue. On Linux accept() still returns it and the first read() fails with ECONNRESET; BSD and POSIX systems make accept() itself fail with ECONNABORTED, which must simply be retried. `,
      `Fix: a server must treat both errors as per-connection events and keep accepting; a server that stops its accept loop on them stops serving. If clients give up this early, check the server's accept latency and backlog (ss -ltn shows Recv-Q against the backlog).`,
    ].join('');
    ctx.raise(
      c,
      makeFinding('handshake-abort', 'warning', c, client, seg.now.capture, packetsOf(seg.now.capture, est, seg.now), seg.now, summary, explanation, { secondsAfterHandshake: Number(after.toFixed(6)) }, {
        confidence: 'likely',
        evidence: [fact(est, 'the client acknowledged the SYN-ACK: the handshake completed'), fact(seg.now, `RST from the client ${secs(after)} later, no data sent either way`)],
        alternatives: ['a health check or port scanner that only tests the handshake'],
      }),
    );
  },
};
