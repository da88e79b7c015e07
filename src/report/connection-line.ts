import type { AnalysisResult } from '../analyze.js';
import { formatEpoch } from '../capture/timestamp.js';
import type { Connection } from '../track/connection.js';
import type { Endpoint } from '../track/endpoint.js';
import type { SeqCounters } from '../track/seq-analysis.js';
import { captureView, handshakeHalves, type CaptureView } from '../detect/vantage.js';
import { flagNamesJson } from './flags.js';
import { TUNNEL_ERSPAN, TUNNEL_NAMES, type TunnelLayer, type TunnelPath } from '../decode/tunnel.js';
import { formatIp } from '../util/address.js';
import { LineObject, jsonNumber, jsonString } from './line-object.js';
import { bool, frame, int, intOrNull, list, num, numOrNull, oneOfValues, ref, str } from './schema-build.js';
import { VANTAGES } from './schema-value-types.js';
import { durationSeconds, openAtEnd, secondsInState } from './view.js';

/**
 * A connection of the JSON contract, defined once: each field below is its name, its
 * schema (type and meaning: json-schema.ts puts them in docs/json-schema.json and
 * docs/json.md) and how its value is read from the connection. connectionLine writes
 * a connection with the writer compiled from these lists (line-object.ts), and
 * json.ts's object form is that line parsed, so a field added here is in the writer,
 * the object and the schema at once; then `npm run schema`.
 *
 * Addresses, state names, Zeek's states and history letters are ours, made of
 * characters JSON never escapes: they are `text` fields, written quoted as they are.
 * Texts that may need escaping go through jsonString, computed numbers through
 * jsonNumber.
 */

type End = AnalysisResult['end'];

/** flags.ts's names, in its order. */
const TCP_FLAG_NAMES = ['SYN', 'ACK', 'PSH', 'FIN', 'RST', 'URG', 'ECE', 'CWR', 'AE'] as const;

const orNullInt = (n: number): number | 'null' => (n < 0 ? 'null' : n);

/** The i-th state change of an endpoint, read from its log: Endpoint.transitions would make an object per transition. */
const TRANSITION = new LineObject<Endpoint, number>('A state change of one endpoint.', {
  from: { schema: ref('tcpState', 'The state it left.'), text: (e, i) => e.transitionFrom(i) },
  to: { schema: ref('tcpState', 'The state it entered.'), text: (e, i) => e.transitionTo(i) },
  time: { schema: ref('epochTime', 'When.'), text: (e, i) => formatEpoch(e.transitionAt(i).sec, e.transitionAt(i).nsec) },
  capture: { schema: int('Index of the capture file of the packet that caused it.'), json: (e, i) => e.transitionAt(i).capture },
  frame: { schema: int('Frame number of that packet; 0 when no packet did (a timer: "TIME-WAIT ended (60 s)").'), json: (e, i) => e.transitionAt(i).frame },
  why: { schema: str('What caused it, in words.', ['sent SYN', 'acknowledged the FIN', 'TIME-WAIT ended (60 s)']), json: (e, i) => jsonString(e.transitionWhy(i)) },
});

function transitions(e: Endpoint): string {
  let out = '';
  for (let i = 0, n = e.transitionCount; i < n; i++) out += `${i ? ',' : ''}${TRANSITION.write(e, i)}`;
  return `[${out}]`;
}

const ENDPOINT = new LineObject<Connection, Endpoint, End>("One side's TCP state machine as the packets show it.", {
  address: { schema: ref('address', 'Its address and port.'), text: (c, e) => c.address(e.role) },
  state: { schema: ref('tcpState', 'Its state at the end of the capture (or when the connection was evicted).'), text: (_, e) => e.state },
  since: { schema: ref('epochTime', 'When it entered that state.'), text: (_, e) => formatEpoch(e.since.sec, e.since.nsec) },
  sinceFrame: { schema: int('Frame number of the packet that moved it there; 0 when none did (its first state, or a timer).'), json: (_, e) => e.since.frame },
  secondsInState: { schema: num('Seconds from `since` to the end of the capture (6 decimals).', 0), json: (c, e, end) => jsonNumber(Number(secondsInState(c, e.role, end).toFixed(6))) },
  inferred: { schema: bool('The state was inferred: the capture began with the connection under way (no SYN seen).'), json: (_, e) => e.inferred },
  isn: { schema: intOrNull('Its initial sequence number, as on the wire (0 to 4294967295); null when its SYN was not captured.'), json: (_, e) => (e.isnKnown ? e.isn >>> 0 : 'null') },
  mss: { schema: intOrNull('The MSS option of its SYN (bytes); null when its SYN was not seen or carried none.'), json: (_, e) => orNullInt(e.mss) },
  windowScale: { schema: intOrNull('The window scale option (shift count) of its SYN; null when not seen or none.'), json: (_, e) => orNullInt(e.windowScale) },
  ignoredRsts: { schema: int('RSTs it received that its stack would ignore (sequence number outside the window, RFC 5961): they changed no state.'), json: (_, e) => e.ignoredRsts },
  transitions: { schema: list({ $ref: '#/$defs/transition' }, 'Its state changes, oldest first: the first 32.'), json: (_, e) => transitions(e) },
  transitionsDropped: { schema: int('State changes after the first 32, counted and not listed.'), json: (_, e) => e.transitionsDropped },
});

/** What one side sent: its endpoint's counts and its sequence analysis's. */
const DIRECTION = new LineObject<Endpoint, SeqCounters>("What one side sent. The counters are Wireshark's tcp.analysis flags, counted as tshark counts them.", {
  packets: { schema: int('TCP segments it sent.'), json: (d) => d.packets },
  payloadBytes: { schema: int('TCP payload bytes it sent (retransmissions included), from the IP length: a snaplen-cut segment counts whole.'), json: (d) => d.payloadBytes },
  ipBytes: { schema: int('IP bytes it sent (headers included), as Zeek counts orig_ip_bytes/resp_ip_bytes.'), json: (d) => d.ipBytes },
  flags: { schema: list({ enum: TCP_FLAG_NAMES }, 'Every TCP flag it set at least once, in the order SYN, ACK, PSH, FIN, RST, URG, ECE, CWR, AE.'), json: (d) => flagNamesJson(d.flags) },
  retransmissions: { schema: int('Segments tshark flags tcp.analysis.retransmission.'), json: (_, a) => a.retransmissions },
  fastRetransmissions: { schema: int('Segments tshark flags tcp.analysis.fast_retransmission (also counted in retransmissions).'), json: (_, a) => a.fastRetransmissions },
  spuriousRetransmissions: { schema: int('Segments tshark flags tcp.analysis.spurious_retransmission.'), json: (_, a) => a.spuriousRetransmissions },
  outOfOrder: { schema: int('Segments tshark flags tcp.analysis.out_of_order.'), json: (_, a) => a.outOfOrder },
  lostSegments: { schema: int('Segments tshark flags tcp.analysis.lost_segment: a gap before them the capture never saw filled in order.'), json: (_, a) => a.lostSegments },
  duplicateAcks: { schema: int('Segments tshark flags tcp.analysis.duplicate_ack.'), json: (_, a) => a.dupAcks },
  zeroWindows: { schema: int('Segments tshark flags tcp.analysis.zero_window: it advertised a receive window of 0.'), json: (_, a) => a.zeroWindows },
  zeroWindowProbes: { schema: int('Segments tshark flags tcp.analysis.zero_window_probe.'), json: (_, a) => a.zeroWindowProbes },
  keepAlives: { schema: int('Segments tshark flags tcp.analysis.keep_alive.'), json: (_, a) => a.keepAlives },
  windowFull: { schema: int("Segments tshark flags tcp.analysis.window_full: they filled the peer's advertised window."), json: (_, a) => a.windowFull },
});

const HANDSHAKE = new LineObject<readonly [number, number]>(
  'The handshake as captured, in two halves; null when not seen whole.',
  {
    synToSynAck: { schema: num("Seconds from the client's SYN (the last one sent before the SYN-ACK) to the SYN-ACK (6 decimals).", 0), json: (h) => jsonNumber(Number(h[0].toFixed(6))) },
    synAckToAck: { schema: num("Seconds from the SYN-ACK to the client's ACK (6 decimals).", 0), json: (h) => jsonNumber(Number(h[1].toFixed(6))) },
  },
  true,
);

const TTL = new LineObject<Connection>("The highest IP TTL (IPv6 hop limit) of each side's packets.", {
  client: { schema: intOrNull("The client's; null without a client packet."), json: (c) => orNullInt(c.client.ttlMax) },
  server: { schema: intOrNull("The server's; null without a server packet."), json: (c) => orNullInt(c.server.ttlMax) },
});

const ACKED_UNSEEN = new LineObject<CaptureView['ackedUnseen']>('Segments acknowledged by the other side that the capture never showed, per side.', {
  client: { schema: bool('The server acknowledged client bytes the capture lacks.'), json: (a) => a.client },
  server: { schema: bool('The client acknowledged server bytes the capture lacks.'), json: (a) => a.server },
});

function clues(v: CaptureView): string {
  let out = '';
  for (let i = 0; i < v.clues.length; i++) out += `${i ? ',' : ''}${jsonString(v.clues[i]!)}`;
  return `[${out}]`;
}

const VIEW = new LineObject<Connection, CaptureView>('What the capture shows of the connection: where it was taken, and what it lacks.', {
  vantage: {
    schema: oneOfValues('string', VANTAGES, "Where the capture was taken, for this connection: on the client's host, the server's, in the path between, or unknown (from the handshake's timing, checksum offload and TTLs)."),
    text: (_, v) => v.vantage,
  },
  clues: { schema: list({ type: 'string' }, 'The clues behind vantage, each a sentence; written for connections with findings only (empty otherwise).'), json: (_, v) => clues(v) },
  handshake: {
    schema: HANDSHAKE.schema,
    json: (c) => {
      const h = handshakeHalves(c);
      return h === null ? 'null' : HANDSHAKE.write(h);
    },
  },
  ttl: { schema: TTL.schema, json: (c) => TTL.write(c) },
  unseen: {
    schema: {
      anyOf: [{ $ref: '#/$defs/role' }, { type: 'null' }],
      description: "The side the capture never shows though the other side's ACKs prove it sent (a one-sided capture: tcpdump -Q, a SPAN of one direction, asymmetric routing); null when both are seen.",
    },
    json: (_, v) => (v.unseen === null ? 'null' : `"${v.unseen}"`),
  },
  ackedUnseen: { schema: ACKED_UNSEEN.schema, json: (_, v) => ACKED_UNSEEN.write(v.ackedUnseen) },
});

const TUNNEL_LAYER = new LineObject<TunnelLayer>('One encapsulation the connection was carried in.', {
  type: { schema: oneOfValues('string', Object.values(TUNNEL_NAMES), 'The encapsulation.'), text: (l) => TUNNEL_NAMES[l.kind] },
  erspanType: { schema: { anyOf: [{ enum: [1, 2, 3] }, { type: 'null' }], description: "ERSPAN's type (I, II or III); null for the other encapsulations." }, json: (l) => (l.kind === TUNNEL_ERSPAN ? l.variant : 'null') },
  src: { schema: ref('ip', "The outer source address of the connection's first packet."), text: (l) => formatIp(l.version, l.src) },
  dst: { schema: ref('ip', 'The outer destination address of that packet.'), text: (l) => formatIp(l.version, l.dst) },
  srcPort: { schema: intOrNull('The outer UDP source port of that packet; null when not carried in UDP.'), json: (l) => (l.inUdp ? l.srcPort : 'null') },
  dstPort: { schema: intOrNull('The outer UDP destination port of that packet; null when not carried in UDP.'), json: (l) => (l.inUdp ? l.dstPort : 'null') },
  id: {
    schema: intOrNull("The VNI (VXLAN, Geneve), GRE key, ERSPAN session or GTP-U TEID of packets going src to dst; null when the encapsulation or packet has none."),
    json: (l) => (l.id >= 0 ? l.id : 'null'),
  },
  reverseId: {
    schema: intOrNull('The same of packets going dst to src (a GTP-U tunnel has a TEID each way); null when none was seen or they carry none.'),
    json: (l) => (l.reverseSeen && l.reverseId >= 0 ? l.reverseId : 'null'),
  },
});

function tunnelLayers(t: TunnelPath | null): string {
  if (t === null) return '[]';
  let out = '';
  for (let i = 0; i < t.depth; i++) out += `${i ? ',' : ''}${TUNNEL_LAYER.write(t.layers[i]!)}`;
  return `[${out}]`;
}

const ENDPOINTS = new LineObject<Connection, End>("Both sides' state machines.", {
  client: { schema: ref('endpoint', "The client's."), json: (c, end) => ENDPOINT.write(c, c.client, end) },
  server: { schema: ref('endpoint', "The server's."), json: (c, end) => ENDPOINT.write(c, c.server, end) },
});

const CONNECTION = new LineObject<Connection, End>('One TCP connection (a 4-tuple from SYN to close; a reused tuple starts a new one).', {
  id: { schema: int('Connection id, 1-based, in order of first packet.', 1), json: (c) => c.id },
  stream: { schema: int("Wireshark's tcp.stream number (0-based): `tcp.stream eq N` shows it in Wireshark; -1 when it has none.", -1), json: (c) => c.stream },
  client: { schema: ref('address', 'The client: the side that sent the first SYN (guessed when no SYN was seen; see partial).'), text: (c) => c.address('client') },
  server: { schema: ref('address', 'The server.'), text: (c) => c.address('server') },
  ipVersion: { schema: oneOfValues('integer', [4, 6], 'IP version.'), json: (c) => c.version },
  tunnel: {
    schema: list({ $ref: '#/$defs/tunnelLayer' }, "The encapsulations its first packet came in (VXLAN, Geneve, GRE, ERSPAN, IP-in-IP, GTP-U, Teredo, AYIYA), outermost first; empty when none. The same 4-tuple in another tunnel is another connection."),
    json: (c) => tunnelLayers(c.tunnel),
  },
  partial: { schema: bool('No SYN began it in the capture: roles are guessed and states inferred.'), json: (c) => c.partial },
  clientState: { schema: ref('tcpState', "The client's state at the end (endpoints.client.state)."), text: (c) => c.client.state },
  serverState: { schema: ref('tcpState', "The server's state at the end (endpoints.server.state)."), text: (c) => c.server.state },
  connState: { schema: ref('zeekConnState', "Zeek's conn_state for it, as conn.log would say."), text: (c) => c.connState },
  history: {
    schema: {
      type: 'string',
      pattern: '^\\^?[A-Za-z]*$',
      description:
        "Zeek's history string (conn.log history): S SYN, h SYN-ACK, A ACK, D data, F FIN, R RST...; upper case from the client, lower case from the server; a leading ^ when Zeek flipped the roles.",
      examples: ['ShADadFf'],
    },
    text: (c) => c.history,
  },
  openAtEnd: { schema: bool('Neither side had finished with it when the capture ended.'), json: (c) => openAtEnd(c) },
  firstTime: { schema: ref('epochTime', 'Time of its first packet.'), text: (c) => formatEpoch(c.firstSec, c.firstNsec) },
  lastTime: { schema: ref('epochTime', 'Time of its last packet.'), text: (c) => formatEpoch(c.lastSec, c.lastNsec) },
  duration: { schema: num("lastTime minus firstTime, seconds (9 decimals). Negative when the capture's clock stepped back between them."), json: (c) => jsonNumber(Number(durationSeconds(c).toFixed(9))) },
  handshakeRtt: {
    schema: numOrNull("Seconds from the client's SYN to its ACK of the SYN-ACK (tshark's tcp.analysis.initial_rtt); null when the handshake was not seen whole."),
    json: (c) => (c.handshakeRtt >= 0 ? jsonNumber(Number(c.handshakeRtt.toFixed(9))) : 'null'),
  },
  firstCapture: { schema: int('Index of the capture file holding its first packet.'), json: (c) => c.firstCapture },
  firstFrame: { schema: frame('Frame number of its first packet there.'), json: (c) => c.firstFrame },
  lastCapture: { schema: int('Index of the capture file holding its last packet.'), json: (c) => c.lastCapture },
  lastFrame: { schema: frame('Frame number of its last packet there.'), json: (c) => c.lastFrame },
  previousConnection: {
    schema: intOrNull('Id of the earlier connection on the same 4-tuple it reused while that one was still tracked; null when none.', 1),
    json: (c) => (c.previousId ? c.previousId : 'null'),
  },
  evicted: {
    schema: bool('Finished early because too many connections were live (--max-connections; see tracking.evicted): its state is as of its last packet.'),
    json: (c) => c.evicted,
  },
  view: { schema: VIEW.schema, json: (c) => VIEW.write(c, captureView(c, c.raised !== 0)) },
  fromClient: { schema: ref('direction', 'What the client sent.'), json: (c) => DIRECTION.write(c.client, c.analysisOf(c.client.role)) },
  fromServer: { schema: ref('direction', 'What the server sent.'), json: (c) => DIRECTION.write(c.server, c.analysisOf(c.server.role)) },
  endpoints: { schema: ENDPOINTS.schema, json: (c, end) => ENDPOINTS.write(c, end) },
});

/** A connection's schema, for the document's `connections`. */
export const CONNECTION_SCHEMA = CONNECTION.schema;

/** The objects a connection refers to by name (`ref('direction', ...)` above), for the schema's $defs. */
export const CONNECTION_DEFS = { direction: DIRECTION.schema, transition: TRANSITION.schema, endpoint: ENDPOINT.schema, tunnelLayer: TUNNEL_LAYER.schema };

/** One connection as a line of the JSON document. */
export function connectionLine(c: Connection, end: End): string {
  return CONNECTION.write(c, end);
}
