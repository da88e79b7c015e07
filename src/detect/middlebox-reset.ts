import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import type { Moment } from '../track/moment.js';
import { RESET_UNDONE } from '../track/state-machine.js';
import { packetsOf, secs, who, type DetectContext, type Detector, type Instant } from './detector.js';
import type { Evidence, FindingKind } from './finding.js';
import { fact, makeFinding } from './make.js';
import { rstMeaning } from './rst-kind.js';
import { hopsOf, ttlRange } from './vantage.js';
import { forgedRst } from '../track/forged-rst.js';

/** The findings that read a RST as its claimed sender's doing, and which side that sender is. */
const RST_FINDINGS: ReadonlyArray<[FindingKind, 'endpoint' | 'peer']> = [
  ['connection-refused', 'endpoint'],
  ['peer-reset', 'endpoint'],
  ['abortive-close', 'endpoint'],
  ['handshake-abort', 'endpoint'],
  ['write-after-fin', 'peer'],
];

/**
 * The RST `x` sent at `frame`, if `x` went on sending after it: its state log shows
 * the RST taken back (the state machine's RESET_UNDONE) before any later RST of its own.
 */
function undoneReset(x: Endpoint, capture: number, frame: number): Moment | null {
  for (let i = 0, n = x.transitionCount; i < n - 1; i++) {
    const at = x.transitionAt(i);
    if (at.frame !== frame || at.capture !== capture || x.transitionTo(i) !== 'CLOSED') continue;
    return x.transitionWhy(i + 1) === RESET_UNDONE ? at : null;
  }
  return null;
}

interface Forged {
  x: Endpoint;
  rst: Moment;
  idle: number;
  ignored: boolean;
  why: Evidence;
}

function raise(c: Connection, f: Forged, at: Instant, ctx: DetectContext): void {
  const { x, rst } = f;
  const y = c.peer(x);
  const rstTtl = x.rstTtl;
  const ttl: [number, number] = [x.ttlMin, x.ttlMax];
  const rstHops = rstTtl >= 0 ? hopsOf(rstTtl) : -1;
  const endpointHops = x.ttlMax >= 0 ? hopsOf(x.ttlMax) : -1;
  const ttlSays =
    rstTtl >= 0 && forgedRst(x, rstTtl)
      ? `Its IP TTL is ${rstTtl} where every other packet of the ${x.role} arrived with ${ttlRange(x)}: it was made ${rstHops} hop${rstHops === 1 ? '' : 's'} from the capture point, the ${x.role} is ${endpointHops}. `
      : '';
  const idle = f.idle >= 1 ? `The connection had been idle for ${secs(f.idle)} before it: a NAT, firewall or load balancer whose idle timeout ran out answers the next segment this way. ` : '';
  const summary = f.ignored
    ? `a RST claiming to come from the ${who(c, x)} was not its own: the connection went on after it`
    : `a RST claiming to come from the ${who(c, x)} was made by a box in the path${f.idle >= 1 ? ` after ${secs(f.idle)} idle` : ''}`;
  const explanation = [
    `A RST (frame ${rst.frame}) carries the ${x.role}'s address, but the ${x.role} did not send it. `,
    ttlSays,
    f.ignored ? `The ${x.role} went on sending after it, which a host that reset the connection cannot do; the ${y.role} ${y.state === 'CLOSED' ? 'took it' : 'did not take it'}. ` : '',
    idle,
    f.ignored && y.state !== 'CLOSED'
      ? `No application is shown to have seen an error. `
      : `The ${y.role}'s application sees ECONNRESET all the same, if the RST reached it; the ${x.role} may still hold the connection open. `,
    f.ignored
      ? `If nothing on the path should send RSTs, look for an IPS, or for RST injection aimed at the connection.`
      : `Fix: find the box (a firewall, NAT, load balancer or IPS between the hosts; its logs name the policy or timeout); if it is an idle timeout, send TCP keep-alives more often than it (several cloud NATs and load balancers forget a connection after 350 s idle).`,
  ].join('');
  const evidence = [f.why];
  if (f.idle >= 1) evidence.push(fact(null, `no packet of the connection for ${secs(f.idle)} before it`, rst.capture));
  ctx.raise(
    c,
    // Ignored by the side it was sent to, it cost no application anything: info.
    makeFinding('middlebox-reset', f.ignored && y.state !== 'CLOSED' ? 'info' : 'warning', c, x, rst.capture, packetsOf(rst.capture, rst), at, summary, explanation, {
      rstFrame: rst.frame,
      rstTtl,
      endpointTtl: ttl,
      rstHops,
      endpointHops,
      idleSeconds: Number(f.idle.toFixed(6)),
      ignored: f.ignored,
    }, {
      confidence: 'likely',
      evidence,
      alternatives: f.ignored
        ? [`the ${x.role}'s host sent it and then ignored its own reset (no common stack does)`]
        : [`the ${x.role}'s route changed so that its packets take another number of hops (rare within one connection)`],
    }),
  );
}

/**
 * docs/findings.md#middlebox-reset: a RST its claimed sender did not send. Its TTL fits none of that
 * sender's other packets (raised at the RST), or the sender went on sending after
 * it (found at the end: the findings that took it for the sender's are withdrawn).
 */
export const middleboxReset: Detector<'middlebox-reset'> = {
  kind: 'middlebox-reset',
  saw: 'peer',
  segments: 'rst',
  onSegment(seg, ctx) {
    if (rstMeaning(seg, ctx.options) !== 'middlebox') return;
    const x = seg.from;
    const why = fact(seg.now, `RST from the ${x.role}'s address with TTL ${x.rstTtl}, its other packets ${ttlRange(x)}`);
    raise(seg.conn, { x, rst: seg.now.moment(), idle: seg.idleBefore, ignored: false, why }, seg.now, ctx);
  },
  onEnd(c, _end, ctx) {
    if (ctx.raised(c, 'middlebox-reset')) return;
    for (const [kind, sender] of RST_FINDINGS) {
      const f = ctx.raised(c, kind);
      if (f === undefined) continue;
      const x = sender === 'endpoint' ? c.endpoint(f.endpoint) : c.peer(c.endpoint(f.endpoint));
      const rst = undoneReset(x, f.capture, Math.max(...f.packets));
      if (rst === null) continue;
      ctx.withdraw(c, kind);
      const why = fact(rst, `RST from the ${x.role}'s address, after which the ${x.role} sent more segments`);
      raise(c, { x, rst, idle: 0, ignored: true, why }, rst, ctx);
      return;
    }
  },
};
