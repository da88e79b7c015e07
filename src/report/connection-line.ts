import type { AnalysisResult } from '../analyze.js';
import { formatEpoch } from '../capture/timestamp.js';
import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import { flagNamesJson } from './flags.js';
import { captureView, handshakeHalves } from '../detect/vantage.js';
import { durationSeconds, openAtEnd, secondsInState } from './view.js';

/**
 * One connection as a line of the JSON document, written out directly: the same
 * text as JSON.stringify of json.ts's connectionJson (test/json-line.test.ts checks
 * it on every capture) with no object built per field. Addresses, state names,
 * Zeek's states and history letters are ours, made of characters JSON never
 * escapes, so they are written as they are. A field added to the contract goes in both.
 */
export function connectionLine(c: Connection, end: AnalysisResult['end']): string {
  return (
    `{"id":${c.id},"stream":${c.stream},"client":"${c.address('client')}","server":"${c.address('server')}","ipVersion":${c.version},` +
    `"partial":${c.partial},"clientState":"${c.client.state}","serverState":"${c.server.state}",` +
    `"connState":"${c.connState}","history":"${c.history}","openAtEnd":${openAtEnd(c)},` +
    `"firstTime":"${formatEpoch(c.firstSec, c.firstNsec)}","lastTime":"${formatEpoch(c.lastSec, c.lastNsec)}",` +
    `"duration":${num(Number(durationSeconds(c).toFixed(9)))},"handshakeRtt":${c.handshakeRtt >= 0 ? num(Number(c.handshakeRtt.toFixed(9))) : 'null'},` +
    `"firstCapture":${c.firstCapture},"firstFrame":${c.firstFrame},"lastCapture":${c.lastCapture},"lastFrame":${c.lastFrame},` +
    `"previousConnection":${c.previousId ? c.previousId : 'null'},"evicted":${c.evicted},"view":${view(c)},` +
    `"fromClient":${direction(c, c.client)},"fromServer":${direction(c, c.server)},` +
    `"endpoints":{"client":${endpoint(c, c.client, end)},"server":${endpoint(c, c.server, end)}}}`
  );
}

function view(c: Connection): string {
  const v = captureView(c, c.raised !== 0);
  let clues = '';
  for (let i = 0; i < v.clues.length; i++) clues += `${i ? ',' : ''}${str(v.clues[i]!)}`;
  const h = handshakeHalves(c);
  const ttl = (t: number): string => (t < 0 ? 'null' : String(t));
  return (
    `{"vantage":"${v.vantage}","clues":[${clues}],"handshake":${h === null ? 'null' : `{"synToSynAck":${num(Number(h[0].toFixed(6)))},"synAckToAck":${num(Number(h[1].toFixed(6)))}}`},` +
    `"ttl":{"client":${ttl(c.client.ttlMax)},"server":${ttl(c.server.ttlMax)}},"unseen":${v.unseen === null ? 'null' : `"${v.unseen}"`},` +
    `"ackedUnseen":{"client":${v.ackedUnseen.client},"server":${v.ackedUnseen.server}}}`
  );
}

function direction(c: Connection, d: Endpoint): string {
  const a = c.analysisOf(d.role);
  return (
    `{"packets":${d.packets},"payloadBytes":${d.payloadBytes},"ipBytes":${d.ipBytes},"flags":${flagNamesJson(d.flags)},` +
    `"retransmissions":${a.retransmissions},"fastRetransmissions":${a.fastRetransmissions},"spuriousRetransmissions":${a.spuriousRetransmissions},` +
    `"outOfOrder":${a.outOfOrder},"lostSegments":${a.lostSegments},"duplicateAcks":${a.dupAcks},"zeroWindows":${a.zeroWindows},` +
    `"zeroWindowProbes":${a.zeroWindowProbes},"keepAlives":${a.keepAlives},"windowFull":${a.windowFull}}`
  );
}

function endpoint(c: Connection, e: Endpoint, end: AnalysisResult['end']): string {
  let transitions = '';
  // Read from the endpoint's log: Endpoint.transitions would make an object per transition.
  for (let i = 0, n = e.transitionCount; i < n; i++) {
    const at = e.transitionAt(i);
    transitions +=
      `${i ? ',' : ''}{"from":"${e.transitionFrom(i)}","to":"${e.transitionTo(i)}","time":"${formatEpoch(at.sec, at.nsec)}",` +
      `"capture":${at.capture},"frame":${at.frame},"why":${str(e.transitionWhy(i))}}`;
  }
  return (
    `{"address":"${c.address(e.role)}","state":"${e.state}","since":"${formatEpoch(e.since.sec, e.since.nsec)}","sinceFrame":${e.since.frame},` +
    `"secondsInState":${num(Number(secondsInState(c, e.role, end).toFixed(6)))},"inferred":${e.inferred},` +
    `"isn":${e.isnKnown ? e.isn >>> 0 : 'null'},"mss":${e.mss >= 0 ? e.mss : 'null'},"windowScale":${e.windowScale >= 0 ? e.windowScale : 'null'},` +
    `"ignoredRsts":${e.ignoredRsts},"transitions":[${transitions}],"transitionsDropped":${e.transitionsDropped}}`
  );
}

/** A computed number as JSON writes it (no NaN or Infinity in JSON: null). Counters and ids are integers, written as they are. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** A string as JSON writes it (escaped); the few distinct "why" texts are escaped once each. */
function str(s: string): string {
  let j = escaped.get(s);
  if (j === undefined) {
    j = JSON.stringify(s);
    if (escaped.size > 4096) escaped.clear();
    escaped.set(s, j);
  }
  return j;
}

const escaped = new Map<string, string>();
