import type { Endpoint } from '../track/endpoint.js';
import { samePacket, secondsBetween } from '../track/moment.js';
import { seqAdd, seqGe } from '../track/seq.js';
import type { SegmentInfo } from '../track/tracker.js';
import { at, packetsOf, secs, who, type Detector } from './detector.js';
import type { Evidence, FindingOf } from './finding.js';
import { fact, makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';

type Cause = FindingOf<'abortive-close'>['details']['likelyCause'];

/** Silence before a RST that makes an application's idle or read timeout the likely cause. */
const IDLE_ABORT_SECONDS = 5;

/** Each cause as the text names it. */
const CAUSES: Record<Cause, string> = {
  'unread-data': 'close() while bytes from the peer sat unread in its receive buffer (Linux resets then, RFC 2525)',
  'so-linger-zero': 'SO_LINGER set to {on, 0 s} before close(), or abort(): a deliberate reset, often meant to avoid TIME-WAIT',
  'idle-timeout': 'an idle or read timeout in the application that gave up on the connection and reset it',
  'protocol-close': 'an answer to a protocol-level close: MPTCP MP_FASTCLOSE asks the peer for exactly this RST (RFC 8684 3.5)',
};

/** The cause the packets support best, and the facts that say so. */
function causeOf(resetter: Endpoint, peer: Endpoint, seg: SegmentInfo): { cause: Cause; why: Evidence[] } {
  const now = seg.now;
  if (peer.mptcpFastClose) return { cause: 'protocol-close', why: [fact(at(peer.lastSentCapture, peer.lastSentFrame), `the ${peer.role} sent MPTCP MP_FASTCLOSE`)] };
  if (seg.idleBefore >= IDLE_ABORT_SECONDS) return { cause: 'idle-timeout', why: [fact(null, `no packet of the connection for ${secs(seg.idleBefore)} before the RST`, now.capture)] };
  if (peer.lastDataFrame > 0) {
    const peerLast = { sec: peer.lastDataSec, nsec: peer.lastDataNsec };
    // Its data was the last word, or the RST closely followed it or this side's answer to it.
    const resetterLast = resetter.lastDataFrame > 0 ? { sec: resetter.lastDataSec, nsec: resetter.lastDataNsec } : null;
    // It never answered anything, or sat on the peer's last bytes for a while: a reply that was
    // read and closed on at once (a request's answer) favours no cause.
    const unanswered = resetterLast === null || (secondsBetween(resetterLast, peerLast) > 0 && secondsBetween(peerLast, now) >= SAT_ON_SECONDS);
    if (unanswered && receivedAll(resetter, peer)) return { cause: 'unread-data', why: [fact(at(peer.lastDataCapture, peer.lastDataFrame), `the ${peer.role}'s last data before the RST, ${resetterLast === null ? `and the ${resetter.role} never sent any` : `${secs(secondsBetween(peerLast, now))} before it, never answered`}, though acknowledged`)] };
  }
  return { cause: 'so-linger-zero', why: [] };
}

const NOTHING_OUTSTANDING = 'nothing outstanding either way';

/** Bytes of the peer's left this long without an answer before the RST: the application was not reading. */
const SAT_ON_SECONDS = 1;

/** The resetter acknowledged all its peer sent (the RST's own ACK counts): unread bytes would have reached it. */
function receivedAll(resetter: Endpoint, peer: Endpoint): boolean {
  return resetter.ackKnown && seqGe(resetter.highestAck, peer.finSeen ? seqAdd(peer.sndNxt, -1) : peer.sndNxt);
}

/**
 * Nothing was outstanding either way: the resetter had acknowledged all of its peer's
 * data and the peer all of the resetter's. No byte was lost; the peer's application reads ECONNRESET instead of
 * end-of-file, which protocols that end sessions this way (Windows SMB after a logoff,
 * clients avoiding TIME-WAIT) expect.
 */
function atRest(resetter: Endpoint, peer: Endpoint): boolean {
  return receivedAll(resetter, peer) && (!seenSending(peer) || !resetter.seqKnown || (peer.ackKnown && seqGe(peer.highestAck, resetter.sndNxt)));
}

/**
 * A close at rest: what the peer (`role`) had in flight, as the capture shows it
 * (`seen`: it shows the peer sending), or, found at the end, its data after the RST.
 */
type Rest = { kind: 'at-rest'; role: string; seen: boolean } | { kind: 'cut-off'; role: string; lastDataFrame: number };

declare module './finding.js' {
  interface FindingProse {
    /** A close at rest's explanation: the sentence on the peer's data (rendered from `rest`) between the rest of the text. */
    'abortive-close': { before: string; rest: Rest; after: string };
  }
}

function restSentence(r: Rest): string {
  if (r.kind === 'cut-off') return `The ${r.role} was still sending (frame ${r.lastDataFrame} came after the RST): its data was cut off, and its application sees ECONNRESET. `;
  const what = r.seen ? 'Nothing was in flight either way, so no byte was lost' : `Everything the ${r.role} sent had been acknowledged (its own acknowledgments are not in the capture)`;
  return `${what}: the ${r.role}'s application reads ECONNRESET instead of end-of-file, which protocols that end their sessions this way (Windows SMB after a logoff, clients that avoid TIME-WAIT) expect. `;
}

function explanationOf(p: NonNullable<FindingOf<'abortive-close'>['prose']>): string {
  return p.before + restSentence(p.rest) + p.after;
}

/** The capture shows `e` sending (not a side only the other's acknowledgments show). */
function seenSending(e: Endpoint): boolean {
  return e.seqKnown || e.packets > 0;
}


/**
 * docs/findings.md#abortive-close: an established connection ended by RST instead of FIN, by a side that
 * still held it. The cause the packets favour is named first, the others after it.
 */
export const abortiveClose: Detector<'abortive-close'> = {
  kind: 'abortive-close',
  saw: 'peer',
  segments: 'rst',
  onEnd(c, _end, ctx) {
    // The peer went on sending after the RST: its data was cut off mid-stream, not at rest.
    // Raised as a close at rest: the end tells whether the peer was in fact still sending.
    const f = ctx.raised(c, 'abortive-close');
    if (f === undefined || f.prose === undefined || f.prose.rest.kind !== 'at-rest') return;
    const abortee = c.peer(c.endpoint(f.endpoint));
    if (abortee.lastDataFrame === 0 || secondsBetween(f, { sec: abortee.lastDataSec, nsec: abortee.lastDataNsec }) <= 0) return;
    const prose = { ...f.prose, rest: { kind: 'cut-off' as const, role: abortee.role, lastDataFrame: abortee.lastDataFrame } };
    ctx.revise(f, {
      severity: 'warning',
      prose,
      explanation: explanationOf(prose) + (f.caveats ?? ''),
      evidence: [...f.evidence.filter((e) => !e.fact.startsWith(NOTHING_OUTSTANDING)), fact(at(abortee.lastDataCapture, abortee.lastDataFrame), `the ${abortee.role} still sending after it`)],
    });
  },
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'abortive') return;
    const c = seg.conn;
    const resetter = seg.from;
    const peer = seg.to;
    const { cause, why } = causeOf(resetter, peer, seg);
    // A RST answering MP_FASTCLOSE is the peer's abort, carried out.
    const aborter = cause === 'protocol-close' ? peer : resetter;
    const abortee = c.peer(aborter);
    const peerClosed = peer.finAt !== null && !samePacket(peer.finAt, seg.now);
    const summary =
      cause === 'protocol-close'
        ? `${who(c, aborter)} aborted the MPTCP connection (MP_FASTCLOSE), and the ${abortee.role} reset the subflow as asked`
        : peerClosed
          ? `${who(c, aborter)} ended the connection with a RST after the ${abortee.role} had closed its side`
          : `${who(c, aborter)} aborted the connection with a RST instead of closing it (no FIN, no TIME-WAIT)`;
    // The other causes the packets leave open: unread bytes need bytes from the peer, an idle timeout a pause before it.
    const peerSent = peer.payloadBytes > 0 || peer.ackedUnseenBy(resetter);
    const fits = (k: Cause): boolean => k !== cause && k !== 'protocol-close' && (k !== 'unread-data' || peerSent) && (k !== 'idle-timeout' || seg.idleBefore >= 1);
    // Closed on a connection at rest (nothing in flight, no bytes left unread): deliberate, and notable only.
    const rest = cause === 'so-linger-zero' && atRest(resetter, peer);
    const others = (Object.keys(CAUSES) as Cause[]).filter(fits).map((k) => CAUSES[k]);
    const saw = peerClosed
      ? `The ${abortee.role} had already sent its FIN (frame ${peer.finAt!.frame}): its application was done sending, and sees ECONNRESET only if it still reads. `
      : cause === 'protocol-close'
        ? `Both applications had the MPTCP connection ended at once; the ${aborter.role}'s application chose it. `
        : `The ${abortee.role}'s application sees ECONNRESET ("connection reset by peer") on its next read or write, if the RST reached it. `;
    const before = [
      `The ${who(c, resetter)} sent a RST (frame ${seg.now.frame}) on a connection it still held, without sending a FIN first. `,
      `Both sides dropped the connection at once: neither went through TIME-WAIT, and any data still unsent in the ${resetter.role}'s buffer was discarded. `,
      saw,
    ].join('');
    const after = [
      cause === 'so-linger-zero'
        ? others.length
          ? `Nothing in the packets singles out a cause: ${CAUSES[cause]}; or ${others.join('; or ')} (each looks the same on the wire). `
          : `With no bytes from the ${peer.role} that could be left unread and no pause before it, the cause is ${CAUSES[cause]}. `
        : `The packets favour ${CAUSES[cause]}. `,
      cause === 'protocol-close' || cause === 'so-linger-zero' ? '' : `Other causes that fit: ${others.join('; ')}. `,
      cause === 'unread-data' ? `Fix: read or drain what the peer sent before closing, or have the protocol say when the peer is done.` : '',
      cause === 'so-linger-zero' ? `Fix: prefer a normal close; SO_REUSEADDR handles a listening port held by TIME-WAIT.` : '',
      cause === 'idle-timeout' ? `Fix: if the timeout is too short for the protocol's pauses, lengthen it; a pool that drops idle connections should close them normally.` : '',
    ].join('');
    const prose = rest ? { before, rest: { kind: 'at-rest' as const, role: abortee.role, seen: seenSending(abortee) }, after } : undefined;
    const explanation = prose ? explanationOf(prose) : before + after;
    const f = makeFinding(
        'abortive-close',
        peerClosed || rest ? 'info' : 'warning',
        c,
        aborter,
        seg.now.capture,
        packetsOf(seg.now.capture, cause === 'unread-data' ? at(peer.lastDataCapture, peer.lastDataFrame) : null, seg.now),
        seg.now,
        summary,
        explanation,
        { likelyCause: cause, peerUnreadBytesLikely: cause === 'unread-data' },
        {
          confidence: cause === 'protocol-close' ? 'certain' : 'likely',
          evidence: [
            ...(peerClosed ? [fact(peer.finAt, `the ${peer.role} sent its FIN`)] : []),
            ...why,
            fact(seg.now, `RST from the ${who(c, resetter)}, which still held the connection: ${resetter.rstHadAck ? 'a RST with ACK, as an aborting socket sends' : resetter.lastDataFrame > 0 ? `a bare RST, the ${resetter.role} having sent data itself ${secs(secondsBetween({ sec: resetter.lastDataSec, nsec: resetter.lastDataNsec }, seg.now))} before it` : 'a bare RST answering no recent data or FIN'}`),
            ...(rest ? [fact(seg.now, seenSending(peer) ? `${NOTHING_OUTSTANDING}: each side had acknowledged all the other sent` : `${NOTHING_OUTSTANDING} the capture can show: the ${resetter.role} had acknowledged all the ${peer.role} sent`)] : []),
          ],
          alternatives: cause === 'protocol-close' ? [] : others,
        },
      );
    if (prose) f.prose = prose;
    ctx.raise(c, f);
  },
};
