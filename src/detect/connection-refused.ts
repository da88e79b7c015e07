import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { appendBounded, isLoopback, networkOf, packetsOf, who, type Detector } from './detector.js';
import type { FindingOf } from './finding.js';
import { fact, makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';

/** What the count of refusals says; nothing for the first. */
function refusalSentence(n: number): string {
  return n > 1 ? `This is refusal number ${n} for this server in the capture: if the port answers again later, the service was restarting. ` : '';
}

declare module './finding.js' {
  interface FindingProse {
    /** Its explanation around the sentence that counts the refusals (rendered from details.refusalsOfThisPort). */
    'connection-refused': { before: string; after: string };
  }
}

function explanationOf(f: FindingOf<'connection-refused'>): string {
  return f.prose!.before + refusalSentence(f.details.refusalsOfThisPort) + f.prose!.after + (f.caveats ?? '');
}

function summaryOf(c: Connection, server: Endpoint, syns: number): string {
  return syns > 1
    ? `${who(c, server)} refused the connection (RST to each of the ${syns} SYNs of one connect()): nothing was listening`
    : `${who(c, server)} refused the connection (RST to the SYN): nothing was listening`;
}

/** docs/findings.md#connection-refused: the SYN was answered by RST+ACK: nothing listens on that port. */
export const connectionRefused: Detector<'connection-refused'> = {
  kind: 'connection-refused',
  saw: 'peer',
  segments: 'rst',
  // Each shard counts its own refusals: the merge counts them again over the capture, in time order.
  recount(findings) {
    const seen = new Map<string, number>();
    for (const f of findings) {
      if (f.kind !== 'connection-refused') continue;
      const key = `${f.endpointAddress} ${f.network ?? ''}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      if (n === f.details.refusalsOfThisPort) continue;
      f.details = { ...f.details, refusalsOfThisPort: n };
      f.explanation = explanationOf(f);
    }
  },
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'refused') return;
    const c = seg.conn;
    const server = seg.from;
    const client = seg.to;
    // The same connect() trying again (a SYN with the ISN of the refused one before): one refusal, counted.
    const connect = `refused connect ${c.address('client')} ${c.address('server')} ${client.isn} ${networkOf(c)}`;
    const again = client.isnKnown ? ctx.remembered(connect) : undefined;
    if (again !== undefined && again.kind === 'connection-refused') {
      const synsRefused = again.details.synsRefused + 1;
      ctx.revise(again, {
        details: { ...again.details, synsRefused },
        summary: summaryOf(c, server, synsRefused),
        evidence: [...again.evidence, fact(seg.now, `RST+ACK to the same connect()'s SYN number ${synsRefused} (same ISN)`)],
      });
      appendBounded(again, seg.now.capture, seg.now.frame);
      return;
    }
    const key = c.address('server');
    // Several refusals of one port, later accepted, show a server restart window.
    const n = ctx.count(`refused ${key} ${networkOf(c)}`);
    const summary = summaryOf(c, server, 1);
    const before = [
      `The ${who(c, client)} sent a SYN (frame ${client.lastSynAt?.frame ?? 0}) and the server's host answered with RST+ACK (frame ${seg.now.frame}): `,
      `no socket listens on port ${key.slice(key.lastIndexOf(':') + 1)} there (or a firewall rejects with a TCP reset). connect() failed with ECONNREFUSED. `,
    ].join('');
    const after = [
      `Fix: check that the service runs and listens on that address and port (ss -ltn on the server), `,
      // A socket bound to loopback alone refuses other addresses, never loopback itself.
      isLoopback(c.address('server')) ? '' : `that it listens on the right interface (0.0.0.0 or :: rather than 127.0.0.1), `,
      `and that clients retry with back-off while a server restarts.`,
    ].join('');
    const explanation = before + refusalSentence(n) + after;
    const f = makeFinding('connection-refused', 'warning', c, server, seg.now.capture, packetsOf(seg.now.capture, client.lastSynAt, seg.now), seg.now, summary, explanation, { refusalsOfThisPort: n, synsRefused: 1 }, {
        confidence: 'certain',
        evidence: [fact(client.lastSynAt, `SYN from the ${who(c, client)}`), fact(seg.now, `RST+ACK from the server's address acknowledging exactly that SYN`)],
        alternatives: ['a firewall on the way that rejects with a TCP reset (the same packets)'],
      });
    f.prose = { before, after };
    if (client.isnKnown) ctx.remember(connect, f);
    ctx.raise(c, f);
  },
};
