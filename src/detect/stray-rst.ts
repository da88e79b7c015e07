import { TCP_FIN, TCP_RST, TCP_SYN } from '../decode/packet.js';
import { appendBounded, networkOf, packetsOf, secs, who, type Detector } from './detector.js';
import type { FindingOf } from './finding.js';
import { fact, makeFinding } from './make.js';
import { onlyRsts, rstMeaning } from './rst-kind.js';
import { ttlRange } from './vantage.js';
import { forgedRst } from '../track/forged-rst.js';
import { secondsBetween } from '../track/moment.js';

/** The tuple, the same whichever side is taken for the client (connections of lone RSTs guess roles). */
function tupleKey(a: string, b: string): string {
  return a < b ? `stray ${a} ${b}` : `stray ${b} ${a}`;
}

/** Where the capture saw the RSTs: alone, answering a segment of a connection it never saw open, or after the connection ended. */
type Context = 'alone' | 'unknown' | 'ended';

/** Its text, from its details `d` and what its note keeps. */
function describe(f: FindingOf<'stray-rst'>, d: FindingOf<'stray-rst'>['details'], sender: string, receiver: string, context: Context): { summary: string; explanation: string } {
  const one = d.rsts === 1;
  const period = d.periodSeconds === null ? '' : `, one every ${secs(d.periodSeconds)} on average`;
  const where = {
    alone: 'no connection the capture saw was open on that tuple then',
    unknown: 'it answers a segment on a tuple where no connection the capture saw was open then',
    ended: 'after the connection on that tuple had ended',
  }[context];
  const summary = one ? `a lone RST from ${sender}'s address to ${receiver}: ${where}` : `${d.rsts} RSTs from ${sender}'s address to ${receiver} over ${secs(d.spanSeconds)}${period}: ${where}`;
  const explanation = [
    {
      alone: one ? `A RST (frame ${d.firstFrame}) stands alone: nothing else on its tuple around it, no connection open there then. ` : `RSTs (frames ${d.firstFrame} to ${d.lastFrame}) stand alone: nothing else on their tuple around them, no connection open there then. `,
      unknown: `A segment and the RST that answered it (frame ${d.firstFrame}) stand alone: no connection the capture saw was open on the tuple then; the RST's sender held none for it, and nothing shows that anyone else did. `,
      ended: `The connection had ended (both sides closed, or waiting out TIME-WAIT) when a RST came (frame ${d.firstFrame}), with nothing before it for a while: it answers nothing of that connection. `,
    }[context],
    `A RST answers a segment for a connection its sender does not have, or aborts one it does; the capture shows no connection that an application held `,
    `(the rest was not captured: a capture of one direction, or one started later; or it was never there: spoofed or scanning traffic; or a firewall or NAT cleaning up its state sent the RST). `,
    notes.get(f)?.forged ?? '',
    one ? '' : `Repeated at a steady pace, it is usually a peer that keeps poking a connection the other side has long forgotten (a stale client retrying, keep-alives to a rebooted host). `,
    `No application is shown to have seen an error. To learn who keeps the connection alive, capture both directions at the ${f.endpoint === 'client' ? 'server' : 'client'}'s end.`,
  ].join('');
  return { summary, explanation };
}

/** What a note keeps beside its details: its context and what its first RST showed, the connection it last counted. */
interface Note {
  context: Context;
  /** A sentence on a forged or crafted first RST, or ''. */
  forged: string;
  lastConnection: number;
}
const notes = new WeakMap<FindingOf<'stray-rst'>, Note>();

/**
 * docs/findings.md#stray-rst: RSTs on a tuple with no connection the capture knows: one note per
 * tuple, counted, on the first connection they were seen as (after a few seconds each
 * lone RST counts as a connection of its own).
 */
export const strayRst: Detector<'stray-rst'> = {
  kind: 'stray-rst',
  segments: 'rst',
  onSegment(seg, ctx) {
    const c = seg.conn;
    // A stray RST, or one more on a connection already noted as such.
    if (!(seg.flags & TCP_RST) || (ctx.raised(c, 'stray-rst') === undefined && rstMeaning(seg, ctx.options) !== 'stray')) return;
    const now = seg.now;
    const key = `${tupleKey(c.address('client'), c.address('server'))} ${networkOf(c)}`;
    const seen = ctx.remembered(key);
    const run = seen !== undefined && seen.kind === 'stray-rst' ? notes.get(seen) : undefined;
    if (seen !== undefined && seen.kind === 'stray-rst' && run !== undefined) {
      const span = secondsBetween(seen, now);
      const was = seen.details;
      const connections = run.lastConnection !== c.id ? was.connections + 1 : was.connections;
      run.lastConnection = c.id;
      const rsts = was.rsts + 1;
      const d = { ...was, rsts, spanSeconds: Number(span.toFixed(6)), periodSeconds: Number((span / (rsts - 1)).toFixed(6)), lastFrame: now.frame, connections };
      appendBounded(seen, now.capture, now.frame);
      // The run's latest RST replaces the one before it among the facts (the first ones stay).
      const latest = fact(now, `latest RST of the run (number ${rsts}), ${secs(span)} after the first`);
      const evidence = rsts > 2 ? [...seen.evidence.slice(0, -1), latest] : [...seen.evidence, latest];
      ctx.revise(seen, { details: d, evidence, ...describe(seen, d, c.address(seg.from.role), c.address(seg.to.role), run.context) });
      return;
    }
    const x = seg.from;
    const y = seg.to;
    const prev = c.previous;
    // A connection of lone RSTs right after one the capture saw end on the tuple: a RST after that end.
    const context: Context = c.partial && prev === null ? (onlyRsts(c) ? 'alone' : 'unknown') : 'ended';
    const idle = prev !== null ? secondsBetween({ sec: prev.lastSec, nsec: prev.lastNsec }, now) : seg.idleBefore;
    const f = makeFinding('stray-rst', 'info', c, x, now.capture, packetsOf(now.capture, now), now, '', '', { rsts: 1, spanSeconds: 0, periodSeconds: null, firstFrame: now.frame, lastFrame: now.frame, connections: 1 }, {
      confidence: 'certain',
      evidence: [
        fact(
          now,
          context === 'ended'
            ? `RST from the ${who(c, x)} ${secs(idle)} after the last packet of the connection before it on the tuple, which had ended`
            : `RST from the ${who(c, x)}, with ${onlyRsts(c) ? 'nothing else' : 'only the segment it answers'} of the connection captured`,
        ),
      ],
      alternatives: [`a NAT, firewall or load balancer sent it in ${c.address(x.role)}'s name (clearing its state)`],
    });
    const note: Note = { context, forged: '', lastConnection: c.id };
    if ((seg.flags & (TCP_SYN | TCP_FIN)) !== 0) note.forged = `It carries ${seg.flags & TCP_SYN ? 'SYN' : ''}${(seg.flags & (TCP_SYN | TCP_FIN)) === (TCP_SYN | TCP_FIN) ? ' and ' : ''}${seg.flags & TCP_FIN ? 'FIN' : ''} beside RST, which no TCP stack sends together: a crafted packet. `;
    // The same host on the earlier connection (roles of a connection of lone RSTs are guessed, so matched by address).
    const before = prev === null ? undefined : prev.address('client') === c.address(x.role) ? prev.client : prev.server;
    if (before !== undefined && x.rstTtl >= 0 && forgedRst(before, x.rstTtl)) {
      note.forged = `Its TTL (${x.rstTtl}) fits none of that host's packets on the connection before (${ttlRange(before)}): a box on the path made it, such as a NAT or firewall clearing its state. `;
      f.evidence.push(fact(now, `its TTL ${x.rstTtl}, where the same address's earlier packets had ${ttlRange(before)}`));
    }
    notes.set(f, note);
    Object.assign(f, describe(f, f.details, c.address(x.role), c.address(y.role), context));
    ctx.remember(key, f);
    ctx.raise(c, f);
  },
};
