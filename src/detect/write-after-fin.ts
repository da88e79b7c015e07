import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { samePacket, secondsBetween, type Moment } from '../track/moment.js';
import { packetsOf, who, type DetectContext, type Detector } from './detector.js';
import type { Evidence } from './finding.js';
import { fact, makeFinding } from './make.js';

/**
 * The writer's own FIN went out before the RST came: its write after the peer's FIN was
 * its last (a TLS close_notify, a protocol's goodbye), and it closed. No later write
 * exists to fail with EPIPE.
 */
function closingWrite(writer: Endpoint, rst: Moment): boolean {
  return writer.finAt !== null && !samePacket(writer.finAt, rst) && (secondsBetween(writer.finAt, rst) >= 0 || finFollowedWrite(writer));
}

/** Its FIN left right behind its last data (close_notify, then close()), whatever crossed them. */
function finFollowedWrite(writer: Endpoint): boolean {
  return writer.finAt !== null && writer.lastDataFrame > 0 && secondsBetween({ sec: writer.lastDataSec, nsec: writer.lastDataNsec }, writer.finAt) <= CLOSE_AFTER_WRITE_SECONDS;
}

/** A FIN this soon after the data is the same close() (a TLS library writes close_notify, then closes). */
const CLOSE_AFTER_WRITE_SECONDS = 0.05;
/** A reply this soon after the request is an answer to it, written before the FIN behind the request was read. */
const REPLY_SECONDS = 0.01;

/** The closer's FIN followed its last data at once: it did not wait for an answer. */
function askedAndLeft(closer: Endpoint): boolean {
  return closer.lastDataFrame > 0 && closer.finAt !== null && secondsBetween({ sec: closer.lastDataSec, nsec: closer.lastDataNsec }, closer.finAt) <= REPLY_SECONDS;
}

/**
 * The closer sent a request and its FIN right behind it, and the writer's bytes came
 * back at once: the answer to that request, which the closer never waited for.
 */
function replyToLast(closer: Endpoint, writer: Endpoint): boolean {
  const at = writer.dataAfterPeerFinAt;
  return at !== null && askedAndLeft(closer) && secondsBetween({ sec: closer.lastDataSec, nsec: closer.lastDataNsec }, at) <= REPLY_SECONDS;
}

/**
 * Its data left before it acknowledged the peer's FIN: the two crossed on the wire,
 * and it did not write after reading an end-of-file.
 */
function crossedFin(writer: Endpoint): boolean {
  const at = writer.dataAfterPeerFinAt;
  const got = writer.firstEntered('CLOSE-WAIT') ?? writer.firstEntered('CLOSING') ?? writer.firstEntered('TIME-WAIT');
  return at !== null && (got === null || isEarlier(at.sec, at.nsec, got.sec, got.nsec));
}

function evidenceOf(c: Connection, closer: Endpoint, writer: Endpoint, rst: Moment): Evidence[] {
  const out = [fact(closer.finAt, `FIN from the ${who(c, closer)}`), fact(writer.dataAfterPeerFinAt, `data from the ${writer.role} after it, ${writer.dataAfterPeerFin} bytes`), fact(rst, `RST from the ${closer.role}`)];
  if (writer.finAt !== null && !samePacket(writer.finAt, rst)) out.push(fact(writer.finAt, `FIN from the ${writer.role}`));
  return out.sort((a, b) => (a.frame ?? 0) - (b.frame ?? 0));
}

/** A last write on the way out, or one that crossed the FIN: info, no EPIPE and no SIGPIPE to follow. */
type Mild = 'closing' | 'crossed' | 'reply';

function raiseMild(c: Connection, rst: Moment, ctx: DetectContext, closer: Endpoint, writer: Endpoint, why: Mild): void {
  const n = writer.dataAfterPeerFin;
  const data = writer.dataAfterPeerFinAt?.frame ?? 0;
  const summary = {
    closing: `${who(c, writer)} sent a last ${n} bytes and its own FIN after the ${closer.role} had closed; the ${closer.role} answered with a RST (a normal end for TLS and similar protocols)`,
    crossed: `${who(c, writer)} sent ${n} bytes that crossed the ${closer.role}'s FIN; the ${closer.role} answered with a RST`,
    reply: `${who(c, writer)} answered the ${closer.role}'s last request, which the ${closer.role} had sent with its FIN without waiting for the answer; it answered with a RST`,
  }[why];
  const explanation = [
    `The ${who(c, closer)} closed (FIN, frame ${closer.finAt!.frame}). `,
    {
      closing: `The ${writer.role} then sent ${n} bytes (frame ${data}) and closed its side too (FIN, frame ${writer.finAt?.frame ?? 0}): a final message on the way out, such as a TLS close_notify alert or a protocol's goodbye. `,
      crossed: `The ${writer.role}'s ${n} bytes (frame ${data}) left before it had acknowledged that FIN: the two crossed on the wire, and the ${writer.role} did not ignore an end-of-file. `,
      reply: `Its last request (frame ${closer.lastDataFrame}) went out with that FIN right behind it, and the ${writer.role}'s ${n} bytes (frame ${data}) came back at once: the answer, which the ${closer.role} had closed without waiting for. `,
    }[why],
    `The ${closer.role}'s socket was fully closed, so its kernel answered those bytes with a RST (frame ${rst.frame}). `,
    why === 'closing'
      ? `The ${writer.role} had finished: no later write exists to fail with EPIPE. At most its application reads ECONNRESET instead of end-of-file if it reads once more. `
      : `The ${writer.role}'s write succeeded; its application sees ECONNRESET or EPIPE only if it goes on using the connection. `,
    why === 'reply'
      ? `Fix, if the answer matters: the ${closer.role} should read the answer to its last request (or shutdown(SHUT_WR) and read until end-of-file) before closing.`
      : `Nothing to fix unless the ${closer.role} meant to receive those bytes (then it should shutdown(SHUT_WR) and read until end-of-file before closing).`,
  ].join('');
  ctx.raise(
    c,
    makeFinding(
      'write-after-fin',
      'info',
      c,
      writer,
      rst.capture,
      packetsOf(rst.capture, closer.finAt, writer.dataAfterPeerFinAt, rst),
      rst,
      summary,
      explanation,
      { bytesWrittenAfterFin: n, finFrame: closer.finAt!.frame, rstFrame: rst.frame, writerClosed: why === 'closing', crossed: why === 'crossed' },
      { confidence: why === 'reply' ? 'likely' : 'certain', evidence: evidenceOf(c, closer, writer, rst), alternatives: why === 'reply' ? [`the ${writer.role} ignored the end-of-file and wrote anyway, and happened to do so at once`] : [] },
    ),
  );
}
import { rstMeaning } from './rst-kind.js';
import { isEarlier } from '../util/time.js';

/**
 * docs/findings.md#write-after-fin: the peer closed (FIN), this side ignored the end-of-file and wrote;
 * the peer's kernel, with no socket left to deliver to, answered with RST.
 */
export const writeAfterFin: Detector<'write-after-fin'> = {
  kind: 'write-after-fin',
  saw: 'endpoint',
  segments: 'rst',
  onEnd(c, _end, ctx) {
    // Its FIN right behind its data crossed the RST: a last write on the way out after all.
    const f = ctx.raised(c, 'write-after-fin');
    if (f === undefined || f.severity !== 'error') return;
    const writer = c.endpoint(f.endpoint);
    const closer = c.peer(writer);
    if (closer.rstAt === null || !finFollowedWrite(writer)) return;
    ctx.withdraw(c, 'write-after-fin');
    raiseMild(c, closer.rstAt, ctx, closer, writer, 'closing');
  },
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'write-after-fin') return;
    const c = seg.conn;
    const closer = seg.from;
    const writer = seg.to;
    const finFrame = closer.finAt!.frame;
    const dataFrame = writer.dataAfterPeerFinAt?.frame ?? 0;
    const rst = seg.now.moment();
    const mild: Mild | null = closingWrite(writer, rst) ? 'closing' : crossedFin(writer) ? 'crossed' : replyToLast(closer, writer) ? 'reply' : null;
    if (mild !== null) {
      raiseMild(c, rst, ctx, closer, writer, mild);
      return;
    }
    const summary = `${who(c, writer)} wrote ${writer.dataAfterPeerFin} bytes after the ${closer.role} had closed, and got a RST back`;
    const explanation = [
      `The ${who(c, closer)} closed the connection (FIN, frame ${finFrame}); its process had called close() or exited, so no socket was left to receive. `,
      `The ${writer.role}'s application wrote ${writer.dataAfterPeerFin} bytes after that FIN had reached it (frame ${dataFrame}): it had not read the end-of-file yet, or went on regardless${
        askedAndLeft(closer) ? ` (the ${closer.role} sent its last request, frame ${closer.lastDataFrame}, right before its FIN: those bytes may be the answer it closed without waiting for)` : ''
      }. `,
      `The ${closer.role}'s kernel answered that data with a RST (frame ${seg.now.frame}). `,
      `What the ${writer.role} saw: that write() succeeded (the data only reached its own send buffer); its next read() returns 0 (the end-of-file the FIN left), `,
      `and the write() after the RST fails with EPIPE (Linux reports a RST that meets CLOSE-WAIT so, not as ECONNRESET) and raises SIGPIPE, which kills a process that neither ignores SIGPIPE nor writes with MSG_NOSIGNAL. `,
      `Fix: when read() returns 0, stop writing and close the socket; check every write for EPIPE/ECONNRESET; ignore SIGPIPE (or use MSG_NOSIGNAL) so a reset peer is an error to handle, not a crash. `,
      `If the ${closer.role} meant to keep receiving, it should call shutdown(SHUT_WR) instead of close(): that half-close accepts the data, with no RST.`,
    ].join('');
    ctx.raise(
      c,
      makeFinding(
        'write-after-fin',
        'error',
        c,
        writer,
        seg.now.capture,
        packetsOf(seg.now.capture, closer.finAt, writer.dataAfterPeerFinAt, seg.now),
        seg.now,
        summary,
        explanation,
        { bytesWrittenAfterFin: writer.dataAfterPeerFin, finFrame, rstFrame: seg.now.frame, writerClosed: false, crossed: false },
        {
          confidence: 'likely',
          evidence: evidenceOf(c, closer, writer, rst),
          alternatives: [`the ${closer.role} called shutdown(SHUT_RD) or its socket was killed without closing (the same RST)`],
        },
      ),
    );
  },
};
