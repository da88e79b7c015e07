import { packetsOf, type Detector } from './detector.js';
import { fact, makeFinding } from './make.js';

/** docs/findings.md#simultaneous-close: both FINs crossed; both sides went through CLOSING into TIME-WAIT. */
export const simultaneousClose: Detector<'simultaneous-close'> = {
  kind: 'simultaneous-close',
  segments: 'state-change',
  onSegment(seg, ctx) {
    // Only a segment that moved someone into CLOSING or TIME-WAIT can complete the picture.
    if (!seg.stateChanged) return;
    const c = seg.conn;
    const cc = c.client.firstEntered('CLOSING');
    const sc = c.server.firstEntered('CLOSING');
    if (!cc || !sc) return;
    const both = c.client.firstEntered('TIME-WAIT') !== null && c.server.firstEntered('TIME-WAIT') !== null;
    const summary = `simultaneous close: both sides sent FIN before receiving the other's${both ? '; both went through CLOSING into TIME-WAIT' : ''}`;
    const explanation = [
      `The client (${c.address('client')}) and the server (${c.address('server')}) both called close() at about the same time: each FIN (frames ${c.client.finAt?.frame ?? 0} and ${c.server.finAt?.frame ?? 0}) left before the other arrived. `,
      `RFC 9293 handles this: each side moves FIN-WAIT-1 -> CLOSING -> TIME-WAIT, so both hold the connection in TIME-WAIT afterwards (twice the usual TIME-WAIT cost, harmless unless it happens at a very high rate). `,
      `Nothing to fix; it is shown so that the crossing FINs are not mistaken for lost packets.`,
    ].join('');
    ctx.raise(
      c,
      makeFinding('simultaneous-close', 'info', c, c.client, seg.now.capture, packetsOf(seg.now.capture, c.client.finAt, c.server.finAt, cc, sc), seg.now, summary, explanation, {}, {
        confidence: 'certain',
        evidence: [fact(c.client.finAt, 'FIN from the client'), fact(c.server.finAt, "FIN from the server, not acknowledging the client's")],
      }),
    );
  },
};
