import { frames, who, type Detector } from './detector.js';
import { makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';

/** PATTERNS 6: the SYN was answered by RST+ACK: nothing listens on that port. */
export const connectionRefused: Detector = {
  kind: 'connection-refused',
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
      n > 1 ? `This is refusal number ${n} for this server in the capture: if the port answers again later, the service was restarting. ` : '',
      `Fix: check that the service runs and listens on that address and port (ss -ltn on the server), that it listens on the right interface (0.0.0.0 or :: rather than 127.0.0.1), `,
      `and that clients retry with back-off while a server restarts.`,
    ].join('');
    ctx.raise(c, makeFinding('connection-refused', 'warning', c, server, seg.now.capture, frames(client.lastSynAt?.frame ?? 0, seg.now.frame), seg.now, summary, explanation, { refusalsOfThisPort: n }));
  },
};
