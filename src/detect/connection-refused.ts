import { packetsOf, who, type Detector } from './detector.js';
import type { Finding } from './finding.js';
import { makeFinding } from './make.js';
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

/** PATTERNS 6: the SYN was answered by RST+ACK: nothing listens on that port. */
export const connectionRefused: Detector = {
  kind: 'connection-refused',
  segments: 'rst',
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'refused') return;
    const c = seg.conn;
    const server = seg.from;
    const client = seg.to;
    const key = c.address('server');
    // Several refusals of one port, later accepted, show a server restart window.
    const n = ctx.count(`refused ${key}`);
    const summary = `${who(c, server)} refused the connection (RST to the SYN): nothing was listening`;
    const explanation = [
      `The ${who(c, client)} sent a SYN (frame ${client.lastSynAt?.frame ?? 0}) and the server's host answered with RST+ACK (frame ${seg.now.frame}): `,
      `no socket listens on port ${key.slice(key.lastIndexOf(':') + 1)} there (or a firewall rejects with a TCP reset). connect() failed with ECONNREFUSED. `,
      refusalSentence(n),
      `Fix: check that the service runs and listens on that address and port (ss -ltn on the server), that it listens on the right interface (0.0.0.0 or :: rather than 127.0.0.1), `,
      `and that clients retry with back-off while a server restarts.`,
    ].join('');
    ctx.raise(c, makeFinding('connection-refused', 'warning', c, server, seg.now.capture, packetsOf(seg.now.capture, client.lastSynAt, seg.now), seg.now, summary, explanation, { refusalsOfThisPort: n }));
  },
};
