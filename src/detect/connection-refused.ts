import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { appendBounded, isLoopback, packetsOf, who, type Detector } from './detector.js';
import type { Finding } from './finding.js';
import { fact, makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';

/** What the count of refusals says; nothing for the first. */
function refusalSentence(n: number): string {
  return n > 1 ? `This is refusal number ${n} for this server in the capture: if the port answers again later, the service was restarting. ` : '';
}

/**
 * Count the refusals of each server again over `findings` (in time order). A sharded
 * analysis counts per shard; the merge calls this so the numbers are the capture's.
 */
export function renumberRefusals(findings: Finding[]): void {
  const seen = new Map<string, number>();
  for (const f of findings) {
    if (f.kind !== 'connection-refused') continue;
    const n = (seen.get(f.endpointAddress) ?? 0) + 1;
    seen.set(f.endpointAddress, n);
    const was = f.details.refusalsOfThisPort;
    if (n === was) continue;
    const anchor = 'ECONNREFUSED. ';
    const at = f.explanation.indexOf(anchor) + anchor.length;
    const rest = f.explanation.slice(at);
    f.explanation = f.explanation.slice(0, at) + refusalSentence(n) + rest.slice(refusalSentence(was).length);
    f.details.refusalsOfThisPort = n;
  }
}

function summaryOf(c: Connection, server: Endpoint, syns: number): string {
  return syns > 1
    ? `${who(c, server)} refused the connection (RST to each of the ${syns} SYNs of one connect()): nothing was listening`
    : `${who(c, server)} refused the connection (RST to the SYN): nothing was listening`;
}

/** docs/findings.md#connection-refused: the SYN was answered by RST+ACK: nothing listens on that port. */
export const connectionRefused: Detector = {
  kind: 'connection-refused',
  segments: 'rst',
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'refused') return;
    const c = seg.conn;
    const server = seg.from;
    const client = seg.to;
    // The same connect() trying again (a SYN with the ISN of the refused one before): one refusal, counted.
    const connect = `refused connect ${c.address('client')} ${c.address('server')} ${client.isn}`;
    const again = client.isnKnown ? ctx.remembered(connect) : undefined;
    if (again !== undefined && again.kind === 'connection-refused') {
      again.details.synsRefused++;
      again.summary = summaryOf(c, server, again.details.synsRefused);
      again.evidence.push(fact(seg.now, `RST+ACK to the same connect()'s SYN number ${again.details.synsRefused} (same ISN)`));
      appendBounded(again, seg.now.capture, seg.now.frame);
      return;
    }
    const key = c.address('server');
    // Several refusals of one port, later accepted, show a server restart window.
    const n = ctx.count(`refused ${key}`);
    const summary = summaryOf(c, server, 1);
    const explanation = [
      `The ${who(c, client)} sent a SYN (frame ${client.lastSynAt?.frame ?? 0}) and the server's host answered with RST+ACK (frame ${seg.now.frame}): `,
      `no socket listens on port ${key.slice(key.lastIndexOf(':') + 1)} there (or a firewall rejects with a TCP reset). connect() failed with ECONNREFUSED. `,
      refusalSentence(n),
      `Fix: check that the service runs and listens on that address and port (ss -ltn on the server), `,
      // A socket bound to loopback alone refuses other addresses, never loopback itself.
      isLoopback(c.address('server')) ? '' : `that it listens on the right interface (0.0.0.0 or :: rather than 127.0.0.1), `,
      `and that clients retry with back-off while a server restarts.`,
    ].join('');
    const f = makeFinding('connection-refused', 'warning', c, server, seg.now.capture, packetsOf(seg.now.capture, client.lastSynAt, seg.now), seg.now, summary, explanation, { refusalsOfThisPort: n, synsRefused: 1 }, {
        confidence: 'certain',
        evidence: [fact(client.lastSynAt, `SYN from the ${who(c, client)}`), fact(seg.now, `RST+ACK from the server's address acknowledging exactly that SYN`)],
        alternatives: ['a firewall on the way that rejects with a TCP reset (the same packets)'],
      });
    if (client.isnKnown) ctx.remember(connect, f);
    ctx.raise(c, f);
  },
};
