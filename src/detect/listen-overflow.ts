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
function peerAck(b: Endpoint): Moment | null {
  return b.firstEntered('ESTABLISHED');
}

function describe(c: Connection, a: Endpoint, resentFrame: number, outcome: Outcome): { summary: string; explanation: string; waited: number | null } {
  const b = c.peer(a);
  const acked = peerAck(b);
  const data = b.firstDataAt;
  const since = (t: Instant): number => (acked ? secondsBetween(acked, t) : 0);
  const waited = outcome.kind === 'waiting' ? null : since(outcome.at);
  let summary: string;
  let status: string;
  switch (outcome.kind) {
    case 'waiting':
      summary = `${who(c, a)} had not taken the connection: it sent its SYN-ACK again after the ${b.role} had acknowledged it`;
      status = `The ${b.role}'s application saw no error: what it sent went unanswered and its reads blocked. `;
      break;
    case 'taken':
      summary = `${who(c, a)} did not take the connection until ${secs(waited!)} after the ${b.role}'s ACK: it sent its SYN-ACK again meanwhile`;
      status = `It took the connection at frame ${outcome.at.frame}, ${secs(waited!)} after the ${b.role}'s ACK: for that long the ${b.role}'s application saw no error, but what it sent went unanswered and its reads blocked. `;
      break;
    case 'reset':
      summary = `${who(c, a)} never took the connection: it ended with a RST ${secs(waited!)} after the ${b.role}'s ACK`;
      status = outcome.byListener
        ? `The ${a.role} reset it (frame ${outcome.at.frame}) ${secs(waited!)} after the ${b.role}'s ACK, before ever taking it: the ${b.role}'s application, which had seen no error until then, got ECONNRESET. `
        : `The ${b.role} gave up and reset it (frame ${outcome.at.frame}) ${secs(waited!)} after its ACK, before the ${a.role} ever took it: its application had waited that long for an answer. `;
      break;
    case 'end':
      summary = `${who(c, a)} had still not taken the connection when the capture ended, ${secs(waited!)} after the ${b.role}'s ACK`;
      status =
        `It had still not taken it when the capture ended, ${secs(waited!)} after the ${b.role}'s ACK. When tcp_synack_retries runs out (5 on Linux: about a minute) the ${a.role} forgets the connection without a word; ` +
        `the ${b.role}, which never saw a problem, then gets a RST for its next segment (ECONNRESET) or times out (ETIMEDOUT). `;
      break;
  }
  const explanation = [
    `The ${who(c, b)} acknowledged the ${a.role}'s SYN-ACK${acked ? ` (frame ${acked.frame})` : ''}: its connect() returned and the connection was ESTABLISHED for it`,
    data === null ? '. ' : acked !== null && samePacket(data, acked) ? `; that segment carried its first data. ` : `; it sent its first data in frame ${data.frame}. `,
    `The ${who(c, a)} then sent its SYN-ACK again (frame ${resentFrame}), as it does while a connection is still half-made in SYN-RECEIVED: its kernel had not taken that ACK, and dropped what followed it. `,
    `On Linux that is a full accept queue: when the listening socket already holds as many connections waiting for accept() as its backlog allows, the ACK that completes a handshake is dropped `,
    `(net.ipv4.tcp_abort_on_overflow=0, the default; nstat counts it in TcpExtListenOverflows and TcpExtListenDrops), and the SYN-ACK is sent again until there is room or tcp_synack_retries runs out. `,
    `(In a capture taken anywhere but on the ${a.role}, an ACK lost on the way looks the same; a full queue does it to many connections at once.) `,
    `What the ${b.role} sent again meanwhile went unanswered for the same reason, not because the ${a.role} was gone. `,
    status,
    `Fix: the ${a.role}'s application accepts too slowly for its load, or its backlog is too small: compare the listening socket's Recv-Q (connections waiting) with its Send-Q (the backlog) in ss -ltn, `,
    `raise listen()'s backlog and net.core.somaxconn, and accept in a loop of its own or with more workers.`,
  ].join('');
  return { summary, explanation, waited };
}

/** Bring a raised finding up to date with how it ended. */
function refine(c: Connection, f: FindingOf<'listen-overflow'>, a: Endpoint, outcome: Outcome): void {
  const d = describe(c, a, f.details.resentFrame, outcome);
  f.summary = d.summary;
  f.explanation = d.explanation;
  f.details = { ...f.details, synAcksResent: a.synCount - 1, takenAfterSeconds: outcome.kind === 'taken' ? Number(d.waited!.toFixed(6)) : null };
  // The packet that ended it (the end of the capture is none).
  if (outcome.kind === 'taken' || outcome.kind === 'reset') appendBounded(f, outcome.at.capture, outcome.at.frame);
}

/** The side that dropped the handshake's ACK, if `e` is it and it has just left SYN-RECEIVED. */
function left(e: Endpoint, before: TcpState): boolean {
  return e.ackDropped && before === 'SYN-RECEIVED' && e.state !== 'SYN-RECEIVED';
}

function onSegment(seg: SegmentInfo, ctx: DetectContext): void {
  const c = seg.conn;
  const a = seg.from;
  const f = ctx.raised(c, 'listen-overflow');
  if (f === undefined) {
    // The tracker moved it back to SYN-RECEIVED on this SYN-ACK (state-machine.ts, synAckResentAfterAck).
    if (!(a.ackDropped && a.state === 'SYN-RECEIVED' && seg.fromBefore === 'ESTABLISHED')) return;
    const d = describe(c, a, seg.now.frame, { kind: 'waiting' });
    const packets = packetsOf(seg.now.capture, a.synAckAt, peerAck(c.peer(a)), c.peer(a).firstDataAt, seg.now);
    const peer = c.peer(a);
    ctx.raise(
      c,
      makeFinding('listen-overflow', 'warning', c, a, seg.now.capture, packets, seg.now, d.summary, d.explanation, { synAcksResent: a.synCount - 1, takenAfterSeconds: null, resentFrame: seg.now.frame }, {
        confidence: 'likely',
        evidence: [fact(peerAck(peer), `the ${peer.role} acknowledged the SYN-ACK`), fact(seg.now, `the ${a.role} sent the same SYN-ACK again, on its retransmission timer`)],
        alternatives: [`the ${peer.role}'s ACK was lost between the capture point and the ${a.role} (the same packets, seen from anywhere but the ${a.role}'s host)`],
      }),
    );
    return;
  }
  const server = f.endpoint === a.role ? a : seg.to;
  if (f.details.takenAfterSeconds !== null || !server.ackDropped) return;
  const before = server === a ? seg.fromBefore : seg.toBefore;
  const now = seg.now.moment();
  if (left(server, before)) refine(c, f, server, server.state === 'CLOSED' ? { kind: 'reset', at: now, byListener: server === a } : { kind: 'taken', at: now });
}

/**
 * docs/findings.md#listen-overflow (a kind of our own): the listener sent its SYN-ACK
 * again after the peer had acknowledged it. Its kernel had not taken the handshake's
 * last ACK (a full accept queue drops it) while the peer, ESTABLISHED, sent into it.
 * Raised on that SYN-ACK; says, when the listener shows it took the connection (or
 * at the end), how long the peer waited.
 */
export const listenOverflow: Detector = {
  kind: 'listen-overflow',
  // The SYN-ACK that moved it back to SYN-RECEIVED, and the segment that took it out.
  segments: 'state-change',
  onSegment,
  onEnd(c, end, ctx) {
    const f = ctx.raised(c, 'listen-overflow');
    if (f === undefined || f.details.takenAfterSeconds !== null) return;
    const a = c.endpoint(f.endpoint);
    if (a.state === 'SYN-RECEIVED') refine(c, f, a, { kind: 'end', at: end });
  },
};

