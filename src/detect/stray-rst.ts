import { appendBounded, packetsOf, secs, who, type Detector } from './detector.js';
import type { FindingOf } from './finding.js';
import { fact, makeFinding } from './make.js';
import { onlyRsts, rstMeaning } from './rst-kind.js';

/** The tuple, the same whichever side is taken for the client (connections of lone RSTs guess roles). */
function tupleKey(a: string, b: string): string {
  return a < b ? `stray ${a} ${b}` : `stray ${b} ${a}`;
}

/** Where the capture saw the RSTs: alone, answering a segment of a connection it never saw open, or after the connection ended. */
type Context = 'alone' | 'unknown' | 'ended';

function describe(f: FindingOf<'stray-rst'>, sender: string, receiver: string, context: Context): void {
  const d = f.details;
  const one = d.rsts === 1;
  const period = d.periodSeconds === null ? '' : `, one every ${secs(d.periodSeconds)} on average`;
  const where = {
    alone: 'no connection the capture saw was open on that tuple',
    unknown: 'the capture never saw the connection open, nor anything but the segment answered',
    ended: 'after the connection on that tuple had ended',
  }[context];
  f.summary = one ? `${sender} sent a lone RST to ${receiver}: ${where}` : `${sender} sent ${d.rsts} RSTs to ${receiver} over ${secs(d.spanSeconds)}${period}: ${where}`;
  f.explanation = [
    {
      alone: one ? `A RST (frame ${d.firstFrame}) is all the capture holds of this tuple. ` : `RSTs (frames ${d.firstFrame} to ${d.lastFrame}) are all the capture holds of this tuple. `,
      unknown: `A segment and the RST that answered it (frame ${d.firstFrame}) are all the capture holds of this tuple: its sender held no connection for it, and nothing shows that anyone else did. `,
      ended: `The connection had ended (both sides closed, or waiting out TIME-WAIT) when a RST came (frame ${d.firstFrame}), with nothing before it for a while: it answers nothing of that connection. `,
    }[context],
    `A RST answers a segment for a connection its sender does not have, or aborts one it does; the capture shows no connection that an application held `,
    `(the rest was not captured: a capture of one direction, or one started later; or it was never there: spoofed or scanning traffic; or a firewall or NAT cleaning up its state sent the RST). `,
    one ? '' : `Repeated at a steady pace, it is usually a peer that keeps poking a connection the other side has long forgotten (a stale client retrying, keep-alives to a rebooted host). `,
    `No application is shown to have seen an error. To learn who keeps the connection alive, capture both directions at the ${f.endpoint === 'client' ? 'server' : 'client'}'s end.`,
  ].join('');
}

/** Each note's context, as its first RST set it. */
const contexts = new WeakMap<FindingOf<'stray-rst'>, Context>();
/** The connection each note last counted. */
const lastConnection = new WeakMap<FindingOf<'stray-rst'>, number>();

/**
 * PATTERNS 15: RSTs on a tuple with no connection the capture knows: one note per
 * tuple, counted, on the first connection they were seen as (after a few seconds each
 * lone RST counts as a connection of its own).
 */
export const strayRst: Detector = {
  kind: 'stray-rst',
  segments: 'rst',
  onSegment(seg, ctx) {
    const c = seg.conn;
    // A stray RST, or one more on a connection already noted as such.
    if (ctx.raised(c, 'stray-rst') === undefined && rstMeaning(seg, ctx.options) !== 'stray') return;
    const now = seg.now;
    const key = tupleKey(c.address('client'), c.address('server'));
    const seen = ctx.remembered(key);
    if (seen !== undefined && seen.kind === 'stray-rst') {
      const d = seen.details;
      const span = now.sec - seen.sec + (now.nsec - seen.nsec) / 1e9;
      if (lastConnection.get(seen) !== c.id) {
        lastConnection.set(seen, c.id);
        d.connections++;
      }
      d.rsts++;
      d.spanSeconds = Number(span.toFixed(6));
      d.periodSeconds = Number((span / (d.rsts - 1)).toFixed(6));
      d.lastFrame = now.frame;
      appendBounded(seen, now.capture, now.frame);
      if (seen.evidence.length < 2) seen.evidence.push(fact(now, `latest RST of the run, ${secs(span)} after the first`));
      else seen.evidence[1] = fact(now, `latest RST of the run (number ${d.rsts}), ${secs(span)} after the first`);
      describe(seen, c.address(seg.from.role), c.address(seg.to.role), contexts.get(seen) ?? 'alone');
      return;
    }
    const x = seg.from;
    const y = seg.to;
    const f = makeFinding('stray-rst', 'info', c, x, now.capture, packetsOf(now.capture, now), now, '', '', { rsts: 1, spanSeconds: 0, periodSeconds: null, firstFrame: now.frame, lastFrame: now.frame, connections: 1 }, {
      confidence: 'certain',
      evidence: [
        fact(
          now,
          c.partial
            ? `RST from the ${who(c, x)}, with ${onlyRsts(c) ? 'nothing else' : 'only the segment it answers'} of the connection captured`
            : `RST from the ${who(c, x)} ${secs(seg.idleBefore)} after the connection's last packet, both sides closed`,
        ),
      ],
      alternatives: [],
    });
    const context: Context = c.partial ? (onlyRsts(c) ? 'alone' : 'unknown') : 'ended';
    contexts.set(f, context);
    describe(f, c.address(x.role), c.address(y.role), context);
    ctx.remember(key, f);
    lastConnection.set(f, c.id);
    ctx.raise(c, f);
  },
};
