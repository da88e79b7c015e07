import { TCP_FIN } from '../decode/packet.js';
import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { at, packetsOf, who, type Detector } from './detector.js';
import { fact, makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';

/**
 * Before this RST the server had sent its SYN-ACK and nothing else (the detectors
 * run after the tracker has counted the RST, which carries no SYN).
 */
function neverTaken(c: Connection, resetter: Endpoint): boolean {
  return resetter === c.server && resetter.synCount > 0 && resetter.packets - 1 === resetter.synCount;
}

/** The sender's FIN, not data, met a side without the connection: the sender had closed, nobody waits for an answer. */
function describeClosing(c: Connection, resetter: Endpoint, sender: Endpoint, answered: number, rst: number): { summary: string; explanation: string } {
  const early = sender.payloadBytes === 0 && c.client === sender;
  return {
    summary: `${who(c, resetter)} answered the ${sender.role}'s FIN with a RST: it no longer had the connection${early ? ' (the client closed before sending anything)' : ''}`,
    explanation: [
      `The ${sender.role} closed (FIN, frame ${answered}) and the ${who(c, resetter)} answered with a bare RST (frame ${rst}): it held no connection for that FIN. `,
      early
        ? `The client closed without sending anything, around its handshake: a connect() it gave up on (a timeout, or a happy-eyeballs race won by another address). A server that had not taken the connection, or found the FIN outside its window, answers so. `
        : `It had lost or never taken the connection. `,
      `The ${sender.role}'s application had closed already, so it sees no error; no application is shown to have been affected.`,
    ].join(''),
  };
}

function describe(c: Connection, resetter: Endpoint, sender: Endpoint, answered: number, rst: number): { summary: string; explanation: string } {
  if (neverTaken(c, resetter)) {
    return {
      summary: `${who(c, resetter)} reset the connection at the ${sender.role}'s first segment after the handshake: it had never taken it`,
      explanation: [
        `The ${sender.role} acknowledged the ${resetter.role}'s SYN-ACK, so its connect() returned, and sent a segment (frame ${answered}); the ${who(c, resetter)}, which had sent nothing but its SYN-ACK, answered with a bare RST (frame ${rst}), `,
        `the answer of a kernel that holds no connection for it: it never completed this one. `,
        `On Linux that is a full accept queue with net.ipv4.tcp_abort_on_overflow=1: the ACK that completes a handshake while the listening socket already holds as many connections waiting for accept() as its backlog allows is answered with a RST (nstat counts it in TcpExtListenOverflows). `,
        `The listening socket closed in between (the application restarting) looks the same. `,
        `The ${sender.role}'s application saw connect() succeed, then ECONNRESET on its first read (EPIPE with SIGPIPE on a later write). `,
        `Fix: compare the ${resetter.role}'s listen queue with its backlog (ss -ltn: Recv-Q against Send-Q, and TcpExtListenOverflows); raise listen()'s backlog and net.core.somaxconn and accept faster. Clients should retry a request that failed with ECONNRESET on a fresh connection.`,
      ].join(''),
    };
  }
  return {
    summary: `${who(c, resetter)} answered the ${sender.role}'s segment with a RST: it no longer knew the connection`,
    explanation: [
      `The ${sender.role} sent a segment (frame ${answered}) and the ${who(c, resetter)} answered with a bare RST (frame ${rst}), never having sent a FIN. `,
      `A RST without ACK whose sequence number echoes the segment's acknowledgment is what a kernel sends for a segment that belongs to no socket it has: `,
      `the ${resetter.role}'s host rebooted or crashed and came back, its socket was killed without a FIN getting through (a killed process behind a firewall or NAT that dropped the FIN, a conntrack or load-balancer flush), or the connection was handed to another host. `,
      `The ${sender.role}'s application sees ECONNRESET on read, and EPIPE with SIGPIPE on a later write. `,
      `Fix: treat ECONNRESET as a normal event (reconnect, retry idempotent requests); find out why the ${resetter.role} lost the connection: reboots, restarts without graceful shutdown, idle timeouts in a middlebox (TCP keep-alive shorter than that timeout keeps the state alive).`,
    ].join(''),
  };
}

/**
 * docs/findings.md#peer-reset: a segment answered by a bare RST from a side that never closed: its
 * kernel no longer knows the connection (host rebooted, socket killed, state lost),
 * or, from a server that had sent only its SYN-ACK, never took it (a full accept
 * queue that resets, a listener closed in between).
 */
export const peerReset: Detector<'peer-reset'> = {
  kind: 'peer-reset',
  saw: 'peer',
  segments: 'rst',
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'peer-reset') return;
    const c = seg.conn;
    const resetter = seg.from;
    const sender = seg.to;
    const answered = sender.lastSentFrame;
    const answeredAt = at(sender.lastSentCapture, answered);
    // The segment answered was only its FIN: the other application had already closed, and waits for nothing.
    const closing = (sender.lastFlags & TCP_FIN) !== 0 && !(sender.lastDataFrame === answered && sender.lastDataCapture === sender.lastSentCapture);
    const d = closing ? describeClosing(c, resetter, sender, answered, seg.now.frame) : describe(c, resetter, sender, answered, seg.now.frame);
    ctx.raise(
      c,
      makeFinding('peer-reset', closing ? 'info' : 'error', c, resetter, seg.now.capture, packetsOf(seg.now.capture, answeredAt, seg.now), seg.now, d.summary, d.explanation, { rstFrame: seg.now.frame, answeredFrame: answered }, {
        confidence: 'likely',
        evidence: [fact(answeredAt, `${closing ? 'FIN' : 'data'} from the ${who(c, sender)}`), fact(seg.now, `bare RST from the ${resetter.role} ${closing ? 'answering it' : 'answering it at once'}, the ${resetter.role} never having sent a FIN`)],
        alternatives: [
          ...(neverTaken(c, resetter)
            ? [`the listening socket was closed in between (the application restarting)`]
            : [`a firewall, NAT or load balancer that lost the connection's state answered for the ${resetter.role} (then the RST's TTL may differ from the ${resetter.role}'s)`]),
        ],
      }),
    );
  },
};
