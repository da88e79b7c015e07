import { secondsBetween } from '../track/moment.js';
import { at, packetsOf, secs, type Detector } from './detector.js';
import type { FindingOf } from './finding.js';
import { fact, makeFinding } from './make.js';

declare module './finding.js' {
  interface FindingProse {
    /** Its text around the connection ids it names (rendered from `connection` and details.previousConnection). */
    'port-reuse': { gap: string; holderNote: string; rest: string };
  }
}

/** Its summary and explanation: they name its connection and the one before on the tuple. */
function textOf(f: FindingOf<'port-reuse'>): { summary: string; explanation: string } {
  const p = f.prose!;
  const old = f.details.previousConnection;
  return {
    summary: `client port reused: ${f.endpointAddress} connects again ${p.gap} after connection ${old} on the same 4-tuple ended${p.holderNote}`,
    explanation: `Connection ${f.connection} uses exactly the addresses and ports of connection ${old}, ${p.rest}${f.caveats ?? ''}`,
  };
}

/**
 * docs/findings.md#port-reuse: a new SYN on the 4-tuple of an earlier connection of the capture,
 * within TIME-WAIT's length of its end. Warning when a side may still hold it in TIME-WAIT.
 */
export const portReuse: Detector<'port-reuse'> = {
  kind: 'port-reuse',
  onConnection(c, ctx) {
    const old = c.previous;
    // A new connect() on the tuple: one that began with its SYN, after an earlier connection.
    if (old === null || c.partial) return;
    // A SYN sent again with the ISN of the one before is the same connect() retrying, not a new connection.
    if (old.client.isnKnown && c.client.isnKnown && old.client.isn === c.client.isn) return;
    const start = { sec: c.firstSec, nsec: c.firstNsec };
    const gap = secondsBetween({ sec: old.lastSec, nsec: old.lastNsec }, start);
    const tw = ctx.options.timeWaitSeconds;
    if (gap > tw) return;
    const holder = old.client.firstEntered('TIME-WAIT') ? old.client : old.server.firstEntered('TIME-WAIT') ? old.server : null;
    const inTw = holder !== null && holder.state === 'TIME-WAIT' && secondsBetween(holder.since, start) < tw;
    const prose = {
      gap: secs(gap),
      holderNote: inTw ? `, while the ${holder!.role} still held it in TIME-WAIT` : '',
      rest: [
        `which ended ${secs(gap)} earlier (frame ${old.lastFrame}). `,
        holder
          ? `The ${holder.role} closed that connection first and so held it in TIME-WAIT (60 s on Linux)${inTw ? ', and was still in it when the new SYN came' : ''}. `
          : `No side held it in TIME-WAIT (it ended with a RST or was not seen closing). `,
        inTw
          ? `A SYN into TIME-WAIT is accepted only if its sequence number (or timestamp) is above the old connection's; otherwise the connection is refused or stalls, and stray segments of the old connection can be taken for new data. `
          : '',
        `Reuse this fast means a fixed client port (bind() before connect(), SO_REUSEADDR/SO_REUSEPORT), a tiny ephemeral port range, or a client reconnecting in a loop. `,
        `Fix: let the kernel choose client ports; if the client must bind, use IP_BIND_ADDRESS_NO_PORT; widen net.ipv4.ip_local_port_range; reuse connections (keep-alive, pooling) instead of reconnecting.`,
      ].join(''),
    };
    const f = makeFinding(
        'port-reuse',
        inTw ? 'warning' : 'info',
        c,
        c.client,
        c.firstCapture,
        packetsOf(c.firstCapture, at(old.lastCapture, old.lastFrame), at(c.firstCapture, c.firstFrame)),
        start,
        '',
        '',
        { previousConnection: old.id, gapSeconds: Number(gap.toFixed(6)), timeWaitHolder: holder?.role ?? null, inTimeWait: inTw },
        {
          confidence: 'certain',
          evidence: [fact(at(old.lastCapture, old.lastFrame), 'last packet of the earlier connection on the tuple'), fact(at(c.firstCapture, c.firstFrame), `SYN with a new ISN on the same tuple ${secs(gap)} later`)],
        },
      );
    f.prose = prose;
    Object.assign(f, textOf(f));
    ctx.raise(c, f);
  },
  // A sharded analysis numbers connections at the end: the earlier connection's id is final only then.
  renumber(f, finalId) {
    f.details = { ...f.details, previousConnection: finalId(f.details.previousConnection) };
    Object.assign(f, textOf(f));
  },
};
