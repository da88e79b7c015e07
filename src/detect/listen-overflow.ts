import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { samePacket, secondsBetween, type Moment } from '../track/moment.js';
import type { TcpState } from '../track/states.js';
import type { SegmentInfo } from '../track/tracker.js';
import { appendBounded, packetsOf, secs, who, type DetectContext, type Detector, type Instant } from './detector.js';
import type { FindingOf } from './finding.js';
import { fact, makeFinding } from './make.js';

/** How it stands: still waiting; taken by the listener (at a packet); ended by a RST before that; not taken when the capture ended. */
type Outcome = { kind: 'waiting' } | { kind: 'taken'; at: Moment } | { kind: 'reset'; at: Moment; byListener: boolean } | { kind: 'end'; at: Instant };

/** When the peer's connect() returned: its ACK of the SYN-ACK. */
function peerAck(connector: Endpoint): Moment | null {
  return connector.firstEntered('ESTABLISHED');
}

function describe(c: Connection, listener: Endpoint, resentFrame: number, outcome: Outcome): { summary: string; explanation: string; waited: number | null } {
  const connector = c.peer(listener);
  const acked = peerAck(connector);
  const data = connector.firstDataAt;
  const since = (t: Instant): number => (acked ? secondsBetween(acked, t) : 0);
  const waited = outcome.kind === 'waiting' ? null : since(outcome.at);
  let summary: string;
  let status: string;
  switch (outcome.kind) {
    case 'waiting':
      summary = `${who(c, listener)} had not taken the connection: it sent its SYN-ACK again after the ${connector.role} had acknowledged it`;
      status = `The ${connector.role}'s application saw no error: what it sent went unanswered and its reads blocked. `;
      break;
    case 'taken':
      summary = `${who(c, listener)} did not take the connection until ${secs(waited!)} after the ${connector.role}'s ACK: it sent its SYN-ACK again meanwhile`;
      status = `It took the connection at frame ${outcome.at.frame}, ${secs(waited!)} after the ${connector.role}'s ACK: for that long the ${connector.role}'s application saw no error, but what it sent went unanswered and its reads blocked. `;
      break;
    case 'reset':
      summary = `${who(c, listener)} never took the connection: it ended with a RST ${secs(waited!)} after the ${connector.role}'s ACK`;
      status = outcome.byListener
        ? `The ${listener.role} reset it (frame ${outcome.at.frame}) ${secs(waited!)} after the ${connector.role}'s ACK, before ever taking it: the ${connector.role}'s application, which had seen no error until then, got ECONNRESET. `
        : `The ${connector.role} gave up and reset it (frame ${outcome.at.frame}) ${secs(waited!)} after its ACK, before the ${listener.role} ever took it: its application had waited that long for an answer. `;
      break;
    case 'end':
      summary = `${who(c, listener)} had still not taken the connection when the capture ended, ${secs(waited!)} after the ${connector.role}'s ACK`;
      status =
        `It had still not taken it when the capture ended, ${secs(waited!)} after the ${connector.role}'s ACK. When tcp_synack_retries runs out (5 on Linux: about a minute) the ${listener.role} forgets the connection without a word; ` +
        `the ${connector.role}, which never saw a problem, then gets a RST for its next segment (ECONNRESET) or times out (ETIMEDOUT). `;
      break;
  }
  const explanation = [
    `The ${who(c, connector)} acknowledged the ${listener.role}'s SYN-ACK${acked ? ` (frame ${acked.frame})` : ''}: its connect() returned and the connection was ESTABLISHED for it`,
    data === null ? '. ' : acked !== null && samePacket(data, acked) ? `; that segment carried its first data. ` : `; it sent its first data in frame ${data.frame}. `,
    `The ${who(c, listener)} then sent its SYN-ACK again (frame ${resentFrame}), as it does while a connection is still half-made in SYN-RECEIVED: its kernel had not taken that ACK, and dropped what followed it. `,
    `On Linux that is a full accept queue: when the listening socket already holds as many connections waiting for accept() as its backlog allows, the ACK that completes a handshake is dropped `,
    `(net.ipv4.tcp_abort_on_overflow=0, the default; nstat counts it in TcpExtListenOverflows and TcpExtListenDrops), and the SYN-ACK is sent again until there is room or tcp_synack_retries runs out. `,
    `(In a capture taken anywhere but on the ${listener.role}, an ACK lost on the way looks the same; a full queue does it to many connections at once.) `,
    `What the ${connector.role} sent again meanwhile went unanswered for the same reason, not because the ${listener.role} was gone. `,
    status,
    `Fix: the ${listener.role}'s application accepts too slowly for its load, or its backlog is too small: compare the listening socket's Recv-Q (connections waiting) with its Send-Q (the backlog) in ss -ltn, `,
    `raise listen()'s backlog and net.core.somaxconn, and accept in a loop of its own or with more workers.`,
  ].join('');
  return { summary, explanation, waited };
}

/** Bring a raised finding up to date with how it ended. */
function refine(c: Connection, f: FindingOf<'listen-overflow'>, listener: Endpoint, outcome: Outcome, ctx: DetectContext): void {
  const d = describe(c, listener, f.details.resentFrame, outcome);
  ctx.revise(f, {
    summary: d.summary,
    explanation: d.explanation,
    details: { ...f.details, synAcksResent: listener.synCount - 1, takenAfterSeconds: outcome.kind === 'taken' ? Number(d.waited!.toFixed(6)) : null },
  });
  // The packet that ended it (the end of the capture is none).
  if (outcome.kind === 'taken' || outcome.kind === 'reset') appendBounded(f, outcome.at.capture, outcome.at.frame);
}

/** The side that dropped the handshake's ACK, if `e` is it and it has just left SYN-RECEIVED. */
function left(e: Endpoint, before: TcpState): boolean {
  return e.ackDropped && before === 'SYN-RECEIVED' && e.state !== 'SYN-RECEIVED';
}

function onSegment(seg: SegmentInfo, ctx: DetectContext): void {
  const c = seg.conn;
  const f = ctx.raised(c, 'listen-overflow');
  if (f === undefined) {
    // Raised on the listener's SYN-ACK sent again.
    const listener = seg.from;
    // The tracker moved it back to SYN-RECEIVED on this SYN-ACK (state-machine.ts, synAckResentAfterAck).
    if (!(listener.ackDropped && listener.state === 'SYN-RECEIVED' && seg.fromBefore === 'ESTABLISHED')) return;
    const d = describe(c, listener, seg.now.frame, { kind: 'waiting' });
    const connector = c.peer(listener);
    const packets = packetsOf(seg.now.capture, listener.synAckAt, peerAck(connector), connector.firstDataAt, seg.now);
    ctx.raise(
      c,
      makeFinding('listen-overflow', 'warning', c, listener, seg.now.capture, packets, seg.now, d.summary, d.explanation, { synAcksResent: listener.synCount - 1, takenAfterSeconds: null, resentFrame: seg.now.frame }, {
        confidence: 'likely',
        evidence: [fact(peerAck(connector), `the ${connector.role} acknowledged the SYN-ACK`), fact(seg.now, `the ${listener.role} sent the same SYN-ACK again, on its retransmission timer`)],
        alternatives: [`the ${connector.role}'s ACK was lost between the capture point and the ${listener.role} (the same packets, seen from anywhere but the ${listener.role}'s host)`],
      }),
    );
    return;
  }
  // The segment is the listener's or the connector's.
  const fromListener = f.endpoint === seg.from.role;
  const listener = fromListener ? seg.from : seg.to;
  if (f.details.takenAfterSeconds !== null || !listener.ackDropped) return;
  const before = fromListener ? seg.fromBefore : seg.toBefore;
  const now = seg.now.moment();
  if (left(listener, before)) refine(c, f, listener, listener.state === 'CLOSED' ? { kind: 'reset', at: now, byListener: fromListener } : { kind: 'taken', at: now }, ctx);
}

/**
 * docs/findings.md#listen-overflow (a kind of our own): the listener sent its SYN-ACK
 * again after the peer had acknowledged it. Its kernel had not taken the handshake's
 * last ACK (a full accept queue drops it) while the peer, ESTABLISHED, sent into it.
 * Raised on that SYN-ACK; says, when the listener shows it took the connection (or
 * at the end), how long the peer waited.
 */
export const listenOverflow: Detector<'listen-overflow'> = {
  kind: 'listen-overflow',
  saw: 'peer',
  // The SYN-ACK that moved it back to SYN-RECEIVED, and the segment that took it out.
  segments: 'state-change',
  onSegment,
  onEnd(c, end, ctx) {
    const f = ctx.raised(c, 'listen-overflow');
    if (f === undefined || f.details.takenAfterSeconds !== null) return;
    const listener = c.endpoint(f.endpoint);
    if (listener.state === 'SYN-RECEIVED') refine(c, f, listener, { kind: 'end', at: end }, ctx);
  },
};

