import type { AnalysisResult, CaptureProblem, CaptureSummary, LinkTypeCount } from '../analyze.js';
import type { InterfaceInfo } from '../capture/frame.js';
import { CONFIDENCES, SEVERITIES, type Evidence, type Finding, type FindingOf, type PacketRef, type ShippedKind } from '../detect/finding.js';
import { FINDING_KINDS } from '../detect/registry.js';
import type { DetectOptions } from '../detect/options.js';
import type { Vantage } from '../detect/vantage.js';
import { TCP_STATES } from '../track/states.js';
import type { ZeekConnStateName } from '../track/zeek-conn.js';
import { FORMAT_VERSION, TOOL_NAME } from '../version.js';

/**
 * The JSON contract of `tcpsleuth analyze --format json` (json.ts, connection-line.ts)
 * as one JSON Schema (draft 2020-12): the field reference (docs/json.md) is rendered
 * from it, docs/json-schema.json is it, and test/json-schema.test.ts validates the
 * document of every capture against it. Objects are closed and list as required every
 * field the writer always writes, so a field added to the writer and not here (or the
 * other way round) fails the test. A field added to the contract goes in json.ts,
 * connection-line.ts and here; then `npm run schema`.
 *
 * Where the source has the values (finding kinds, severities, confidences, TCP states,
 * the format version) they are imported, not retyped; where it has only a type
 * (Zeek's conn_state, a finding's details), the lists here are checked against it
 * by the compiler.
 */

type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';
type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/** The part of JSON Schema 2020-12 the contract uses. */
export interface JsonSchema {
  readonly $schema?: string;
  readonly $id?: string;
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, JsonSchema>>;
  readonly title?: string;
  readonly description?: string;
  readonly examples?: readonly JsonValue[];
  readonly type?: JsonType | readonly JsonType[];
  readonly const?: string | number | boolean | null;
  readonly enum?: readonly (string | number | null)[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  /** Fields: each a Field (with a description), built by object(); an if/then condition's need none. */
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly propertyNames?: JsonSchema;
  readonly items?: JsonSchema | false;
  readonly prefixItems?: readonly JsonSchema[];
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly allOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly if?: JsonSchema;
  readonly then?: JsonSchema;
}

/** A property: every one says what it means. */
export type Field = JsonSchema & { readonly description: string };

/** A schema for each property of T (optional ones too): the compiler checks the names against the source's type. */
type Fields<T> = { readonly [P in keyof T]-?: Field };

/** `values`, checked by the compiler to be every member of the union T. */
function everyOf<T extends string | number>() {
  return <const A extends readonly T[]>(values: A & ([T] extends [A[number]] ? unknown : { missing: Exclude<T, A[number]> })): A => values;
}

const ZEEK_CONN_STATES = everyOf<ZeekConnStateName>()(['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH']);
const ABORT_CAUSES = everyOf<FindingOf<'abortive-close'>['details']['likelyCause']>()(['unread-data', 'so-linger-zero', 'idle-timeout', 'protocol-close']);
const VANTAGES = everyOf<Vantage>()(['client', 'server', 'path', 'unknown']);
const ROLES = everyOf<Finding['endpoint']>()(['client', 'server']);
/** flags.ts's names, in its order. */
const TCP_FLAG_NAMES = ['SYN', 'ACK', 'PSH', 'FIN', 'RST', 'URG', 'ECE', 'CWR', 'AE'] as const;

const ref = (name: string, description: string): Field => ({ $ref: `#/$defs/${name}`, description });
const orNull = (name: string, description: string): Field => ({ anyOf: [{ $ref: `#/$defs/${name}` }, { type: 'null' }], description });
const int = (description: string, minimum = 0): Field => ({ type: 'integer', minimum, description });
const intOrNull = (description: string, minimum = 0): Field => ({ type: ['integer', 'null'], minimum, description });
const num = (description: string, minimum?: number): Field => (minimum === undefined ? { type: 'number', description } : { type: 'number', minimum, description });
const numOrNull = (description: string): Field => ({ type: ['number', 'null'], minimum: 0, description });
const str = (description: string, examples?: readonly string[]): Field => (examples ? { type: 'string', description, examples } : { type: 'string', description });
const bool = (description: string): Field => ({ type: 'boolean', description });
const oneOfValues = (type: 'string' | 'integer', values: readonly (string | number)[], description: string): Field => ({ type, enum: values, description });
const list = (items: JsonSchema, description: string): Field => ({ type: 'array', description, items });
/** A frame number: 1-based, per capture file, as Wireshark numbers them. */
const frame = (description: string): Field => int(description, 1);

/** A closed object: every property required but the `optional` ones, none beyond them. */
function object(description: string, properties: Readonly<Record<string, Field>>, optional: readonly string[] = [], nullable = false): Field {
  return {
    type: nullable ? ['object', 'null'] : 'object',
    description,
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    additionalProperties: false,
  };
}

/** An object used as a map: any keys (`keys` says which), each a count. */
function counts(description: string, keys: JsonSchema): Field {
  return { type: 'object', description, propertyNames: keys, additionalProperties: { type: 'integer', minimum: 1 } };
}

const TIME_PATTERN = '^-?[0-9]+\\.[0-9]{9}$';

/** A shipped finding's details, one object per kind: the compiler checks each against the Finding union's. */
const DETAILS: { readonly [K in ShippedKind]: Fields<FindingOf<K>['details']> } = {
  'close-wait-stuck': {
    secondsInCloseWait: num('Seconds it stayed in CLOSE-WAIT: until it closed, or to the end of the capture.', 0),
    closedLater: bool('It did close (FIN) later in the capture, after the threshold: late, not leaked.'),
    peerFinFrame: frame("Frame number of the peer's FIN that put it in CLOSE-WAIT."),
    enteredAt: ref('epochTime', 'When it entered CLOSE-WAIT.'),
  },
  'write-after-fin': {
    bytesWrittenAfterFin: int("Payload bytes it sent after the peer's FIN.", 1),
    finFrame: frame("Frame number of the peer's FIN."),
    rstFrame: frame("Frame number of the peer's RST answering the data."),
    writerClosed: bool('The writer sent its own FIN before the RST: a last message on its way out.'),
    crossed: bool("Its data left before it acknowledged the peer's FIN: the two crossed."),
  },
  'abortive-close': {
    likelyCause: ref('abortCause', 'The cause the packets favour.'),
    peerUnreadBytesLikely: bool('Bytes from the peer were likely left unread when it closed (likelyCause unread-data).'),
  },
  'peer-reset': {
    rstFrame: frame('Frame number of the RST.'),
    answeredFrame: int('Frame number of the data or FIN the RST answered; 0 when none.'),
  },
  'half-open': {
    retransmissions: int('Retransmissions and probes in a row that the silent side left unanswered.', 1),
    backoffSeconds: list({ type: 'number', minimum: 0 }, 'Seconds between successive unanswered tries: the sender\'s back-off, e.g. [0.2, 0.4, 0.8].'),
    silentSeconds: num('Seconds the silent side had sent nothing when the finding was made (or at the end of the capture).', 0),
    gaveUpWithRst: bool('The sender gave up with a RST.'),
    icmpUnreachable: bool('An ICMP unreachable error about the connection was captured.'),
    answeredAfterSeconds: numOrNull("The silent side answered again this long after the run's first retransmission; null: it never did."),
  },
  'connection-refused': {
    refusalsOfThisPort: int("This refusal's number among the refusals by the same server address and port, in time order (1 for the first).", 1),
    synsRefused: int('SYNs of this one connect() (one ISN) refused: a stack that retries after a RST.', 1),
  },
  'syn-timeout': {
    synCount: int('SYNs the client sent (a copy the capture saw twice, within 5 ms, counts once).', 1),
    intervalsSeconds: list({ type: 'number', minimum: 0 }, "Seconds between successive SYNs: the client's back-off, e.g. [1, 2, 4]."),
    icmpUnreachable: bool('An ICMP unreachable error about the connection was captured.'),
    answeredAfterSeconds: numOrNull('The server answered (SYN-ACK or RST) this long after the first SYN; null: it never did.'),
  },
  'handshake-abort': {
    secondsAfterHandshake: num("Seconds from the client's ACK completing the handshake to its RST.", 0),
  },
  'zero-window': {
    seconds: num('Seconds the window stayed at zero: the current episode, or the longest finished one.', 0),
    ongoingAtEnd: bool('The window was still zero at the end of the capture.'),
    probes: int('Zero-window probes it received from the peer.'),
    episodes: int('Times its window went to zero.', 1),
  },
  'half-close': {
    bytesAfterHalfClose: int("Payload bytes the other side sent after this side's FIN.", 1),
  },
  'port-reuse': {
    previousConnection: int('Id of the earlier connection on the same 4-tuple.', 1),
    gapSeconds: num("Seconds from the earlier connection's last packet to this one's SYN.", 0),
    timeWaitHolder: { anyOf: [{ $ref: '#/$defs/role' }, { type: 'null' }], description: 'The side that held the earlier connection in TIME-WAIT (it closed first); null: neither did (it ended with a RST, or was not seen closing).' },
    inTimeWait: bool('The new SYN came while that side was still in TIME-WAIT.'),
  },
  'icmp-unreachable': {
    type: int('ICMP type (3 for IPv4 destination unreachable; 1 for ICMPv6).'),
    code: int('ICMP code.'),
    meaning: str("The type and code in words.", ['host unreachable', 'port unreachable', 'communication administratively prohibited']),
    reporter: str('Address of the host or router that sent the ICMP error (no port; IPv6 without brackets).', ['10.99.0.2']),
    duringHandshake: bool('It came before the handshake completed.'),
  },
  'simultaneous-close': {},
  'listen-overflow': {
    // In the order the detector writes them (finding.ts lists resentFrame second).
    synAcksResent: int('SYN-ACKs the listener sent after its first (a copy the capture saw twice counts).', 1),
    takenAfterSeconds: numOrNull("Seconds from the peer's ACK of the SYN-ACK until the listener showed it took the connection; null: it never did in the capture."),
    resentFrame: frame('Frame number of the first of them: the one that showed the ACK was not taken.'),
  },
  'middlebox-reset': {
    rstFrame: frame('Frame number of the RST.'),
    rstTtl: int('The RST\'s IP TTL (IPv6 hop limit).'),
    endpointTtl: {
      type: 'array',
      prefixItems: [{ type: 'integer', minimum: 0 }, { type: 'integer', minimum: 0 }],
      items: false,
      minItems: 2,
      description: 'The lowest and highest TTL of every other packet of the side the RST claims to come from, [min, max].',
    },
    rstHops: int('Hops from the capture point to whoever sent the RST, from the nearest initial TTL (64, 128, 255).'),
    endpointHops: int('Hops from the capture point to the endpoint, likewise.'),
    idleSeconds: num('Seconds the connection was silent before the segment the RST answered (or before the RST).', 0),
    ignored: bool('The connection went on after it: the side it was sent to did not take it.'),
  },
  'stray-rst': {
    rsts: int('RSTs on the 4-tuple with no connection the capture knows open.', 1),
    spanSeconds: num('Seconds between the first and the last of them.', 0),
    periodSeconds: numOrNull('Mean seconds between them (spanSeconds over the gaps between them); null for one.'),
    firstFrame: frame('Frame number of the first.'),
    lastFrame: frame('Frame number of the last.'),
    connections: int('Connections on the tuple they were seen as (each a lone RST).', 1),
  },
};

/** What each kind is, in a sentence (its details' table says it). */
const KIND_MEANINGS: { readonly [K in ShippedKind]: string } = {
  'close-wait-stuck': "The endpoint received the peer's FIN and then sent neither FIN nor data for --close-wait seconds: its application does not close the socket (a leak, or a slow handler).",
  'write-after-fin': 'The endpoint wrote after the peer had closed and was answered with a RST (EPIPE or ECONNRESET in its application).',
  'abortive-close': 'The endpoint ended the connection with a RST instead of a FIN.',
  'peer-reset': 'The endpoint answered with a bare RST: it no longer had the connection (a restart, a crash, a lost state).',
  'half-open': 'The endpoint went silent while the peer kept retransmitting or probing: it is gone, or a middlebox dropped the connection.',
  'connection-refused': 'The endpoint (the server) answered the SYN with a RST: nothing listened on the port (ECONNREFUSED).',
  'syn-timeout': 'The endpoint (the server) never answered the SYNs (ETIMEDOUT).',
  'handshake-abort': 'The endpoint (the client) reset the connection right after the handshake, before any data.',
  'zero-window': 'The endpoint advertised a zero receive window for --zero-window seconds or more: its application stopped reading.',
  'half-close': 'The endpoint closed its sending side and the peer went on sending: a healthy half-close, noted so it is not taken for a stuck CLOSE-WAIT.',
  'port-reuse': "The endpoint (the client) reused a 4-tuple within --time-wait seconds of the earlier connection's end.",
  'icmp-unreachable': 'An ICMP destination-unreachable error said the endpoint cannot be reached.',
  'simultaneous-close': 'Both sides closed at once: their FINs crossed and both went through CLOSING.',
  'listen-overflow': "The endpoint (the listener) did not take the connection from its accept queue in time: it resent its SYN-ACK after the peer's ACK.",
  'middlebox-reset': "A RST in the endpoint's name that the endpoint did not send: its TTL says something on the path did.",
  'stray-rst': "RSTs in the endpoint's name for no connection the capture knows open.",
};

/**
 * The kinds the schema documents, in output order: a detector not yet shipped (its
 * details declared in its own file, not in ShippedDetails) is in none of the docs.
 */
export const SHIPPED_KINDS: readonly ShippedKind[] = FINDING_KINDS.filter((k): k is ShippedKind => Object.hasOwn(DETAILS, k));

/** Named value types, each described once (the reference lists them under "Value types"). */
const DEFS = {
  epochTime: {
    type: 'string',
    pattern: TIME_PATTERN,
    description:
      "Epoch seconds as an exact decimal string with nine fraction digits (nanoseconds), the form of tshark's frame.time_epoch: a double cannot hold epoch nanoseconds. Negative only before 1970 (a negative pcapng if_tsoffset).",
    examples: ['1700000000.123456789'],
  },
  address: {
    type: 'string',
    pattern: '^([0-9]{1,3}(\\.[0-9]{1,3}){3}|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$',
    description: 'An endpoint as address:port; IPv6 addresses in brackets.',
    examples: ['10.0.0.1:40000', '[2001:db8::1]:443'],
  },
  tcpState: {
    type: 'string',
    enum: TCP_STATES,
    description: "An RFC 9293 (section 3.3.2) connection state, spelled as the RFC spells it (ss's ESTAB is ESTABLISHED, SYN-RECV is SYN-RECEIVED); docs/states.md says how they are inferred from a capture.",
  },
  zeekConnState: {
    type: 'string',
    enum: ZEEK_CONN_STATES,
    description: "Zeek's conn.log conn_state, as Zeek's base/protocols/conn derives it: S0 (SYN, no reply), SF (normal establishment and termination), REJ (rejected), RSTO/RSTR (reset by originator/responder), SH/SHR (half-open), OTH (no SYN seen), etc.",
  },
  findingKind: {
    type: 'string',
    enum: SHIPPED_KINDS,
    description: 'A kind of finding: a connection-lifecycle problem, each described in docs/findings.md, each with its own `details`.',
  },
  severity: {
    type: 'string',
    enum: SEVERITIES,
    description: 'How bad a finding is: error (a failure an application saw), warning (a problem worth a look), info (notable, often healthy).',
  },
  confidence: {
    type: 'string',
    enum: CONFIDENCES,
    description: 'How far the packets go: certain (they alone prove it), likely (the usual cause; the alternatives fit too), possible (one reading among several).',
  },
  role: {
    type: 'string',
    enum: ROLES,
    description: "A side of a connection: the client sent the first SYN (or, with no SYN seen, is guessed to be the side that did); the server is the other.",
  },
  abortCause: {
    type: 'string',
    enum: ABORT_CAUSES,
    description:
      "The likely cause of an abortive close: unread-data (close() with bytes from the peer unread), so-linger-zero (SO_LINGER 0 or a deliberate abort), idle-timeout (an application's idle or read timeout), protocol-close (the protocol ends connections so, e.g. MPTCP's MP_FASTCLOSE).",
  },
  packetRef: object('A packet: its capture and frame number there.', {
    capture: int('Index of the capture file in `captures` (0-based).'),
    frame: frame('Frame number in that file (1-based, as Wireshark numbers them).'),
  } satisfies Fields<PacketRef>),
  problem: object('A problem reading the file, located.', {
    message: str('What was wrong.', ['file ends in the middle of a record: 182 bytes needed, 57 left']),
    offset: int('Byte offset in the (decompressed) file.'),
    packet: int('1-based number of the packet being read; 0 for the file header (or a file that could not be opened).'),
  } satisfies Fields<CaptureProblem>),
  direction: object("What one side sent. The counters are Wireshark's tcp.analysis flags, counted as tshark counts them.", {
    packets: int('TCP segments it sent.'),
    payloadBytes: int('TCP payload bytes it sent (retransmissions included), from the IP length: a snaplen-cut segment counts whole.'),
    ipBytes: int('IP bytes it sent (headers included), as Zeek counts orig_ip_bytes/resp_ip_bytes.'),
    flags: list({ enum: TCP_FLAG_NAMES }, 'Every TCP flag it set at least once, in the order SYN, ACK, PSH, FIN, RST, URG, ECE, CWR, AE.'),
    retransmissions: int('Segments tshark flags tcp.analysis.retransmission.'),
    fastRetransmissions: int('Segments tshark flags tcp.analysis.fast_retransmission (also counted in retransmissions).'),
    spuriousRetransmissions: int('Segments tshark flags tcp.analysis.spurious_retransmission.'),
    outOfOrder: int('Segments tshark flags tcp.analysis.out_of_order.'),
    lostSegments: int("Segments tshark flags tcp.analysis.lost_segment: a gap before them the capture never saw filled in order."),
    duplicateAcks: int('Segments tshark flags tcp.analysis.duplicate_ack.'),
    zeroWindows: int('Segments tshark flags tcp.analysis.zero_window: it advertised a receive window of 0.'),
    zeroWindowProbes: int('Segments tshark flags tcp.analysis.zero_window_probe.'),
    keepAlives: int('Segments tshark flags tcp.analysis.keep_alive.'),
    windowFull: int("Segments tshark flags tcp.analysis.window_full: they filled the peer's advertised window."),
  }),
  transition: object('A state change of one endpoint.', {
    from: ref('tcpState', 'The state it left.'),
    to: ref('tcpState', 'The state it entered.'),
    time: ref('epochTime', 'When.'),
    capture: int('Index of the capture file of the packet that caused it.'),
    frame: int('Frame number of that packet; 0 when no packet did (a timer: "TIME-WAIT ended (60 s)").'),
    why: str('What caused it, in words.', ['sent SYN', 'acknowledged the FIN', 'TIME-WAIT ended (60 s)']),
  }),
  endpoint: object("One side's TCP state machine as the packets show it.", {
    address: ref('address', 'Its address and port.'),
    state: ref('tcpState', 'Its state at the end of the capture (or when the connection was evicted).'),
    since: ref('epochTime', 'When it entered that state.'),
    sinceFrame: int('Frame number of the packet that moved it there; 0 when none did (its first state, or a timer).'),
    secondsInState: num('Seconds from `since` to the end of the capture (6 decimals).', 0),
    inferred: bool('The state was inferred: the capture began with the connection under way (no SYN seen).'),
    isn: intOrNull('Its initial sequence number, as on the wire (0 to 4294967295); null when its SYN was not captured.'),
    mss: intOrNull('The MSS option of its SYN (bytes); null when its SYN was not seen or carried none.'),
    windowScale: intOrNull('The window scale option (shift count) of its SYN; null when not seen or none.'),
    ignoredRsts: int('RSTs it received that its stack would ignore (sequence number outside the window, RFC 5961): they changed no state.'),
    transitions: list({ $ref: '#/$defs/transition' }, 'Its state changes, oldest first: the first 32.'),
    transitionsDropped: int('State changes after the first 32, counted and not listed.'),
  }),
} satisfies Record<string, JsonSchema>;


const detailsDefs = Object.fromEntries(SHIPPED_KINDS.map((k) => [`details-${k}`, object(`${KIND_MEANINGS[k]} See docs/findings.md#${k}.`, DETAILS[k])])) as Record<`details-${ShippedKind}`, Field>;

const capture = object('One capture file read (several files are merged in timestamp order).', {
  file: str('The path as given on the command line; "<stdin>" for standard input.'),
  format: { enum: ['pcap-us', 'pcap-ns', 'pcapng', null], description: 'The file format: pcap with microsecond or nanosecond timestamps, or pcapng; null when it was not recognised (see errors).' },
  compression: { enum: ['gzip', null] satisfies readonly CaptureSummary['compression'][], description: 'gzip when the file was gzip-compressed (recognised by its magic number); null otherwise.' },
  linktypes: list(
    object('Frames of one link type.', {
      linkType: int('The LINKTYPE_ number (1 Ethernet, 113 Linux SLL, 276 SLL2...); -1 for pcapng custom blocks and -2 for systemd journal entries, counted as frames as Wireshark numbers them.', -2),
      name: str('Its name; LINKTYPE(n) for one without a name here.', ['ETHERNET', 'LINUX_SLL2', 'LINKTYPE(147)']),
      packets: int('Frames of this link type.', 1),
      decoded: bool('tcpsleuth decodes this link type; false: its frames are counted, not analysed.'),
    } satisfies Fields<LinkTypeCount>),
    'Frames per link type, in order of first appearance.',
  ),
  interfaces: list(
    object('One capture interface (a pcap file has one; a pcapng file one per interface description block).', {
      id: int('Interface number across the whole file (pcapng: across sections).'),
      linkType: int('Its LINKTYPE_ number.'),
      name: { type: ['string', 'null'], description: 'if_name; null when the file gives none.', examples: ['eth0'] },
      description: { type: ['string', 'null'], description: 'if_description; null when the file gives none.' },
      snapLen: int('Snapshot length in bytes; 0: no limit.'),
      tsUnitsPerSecond: int('Timestamp units per second (1000000 for microseconds, 1000000000 for nanoseconds; pcapng if_tsresol).', 1),
      tsOffsetSeconds: { type: 'integer', description: 'Seconds added to every timestamp of the interface (pcapng if_tsoffset); 0 without.' },
    } satisfies Fields<Omit<InterfaceInfo, 'fcsLen'>>),
    'The interfaces, the first 1000 of them.',
  ),
  interfacesDropped: int('Interfaces beyond the 1000 listed.'),
  packets: int('Frames in the file, TCP or not.'),
  bytes: int('Captured bytes of those frames.'),
  firstTime: orNull('epochTime', 'Earliest frame time; null without timestamped frames.'),
  lastTime: orNull('epochTime', 'Latest frame time; null without timestamped frames.'),
  errors: list({ $ref: '#/$defs/problem' }, 'What ended the reading of the file early (at most one: a missing, unrecognised, damaged or truncated file). Everything read before it is analysed.'),
  warnings: list({ $ref: '#/$defs/problem' }, 'Problems that did not stop reading (a damaged packet, an odd length), in file order: the first 100.'),
  warningsDropped: int('Warnings beyond the 100 listed.'),
  decode: object('What the decoder saw in the file.', {
    tcp: int('TCP segments decoded.'),
    icmpErrors: int('ICMP and ICMPv6 errors quoting a TCP segment.'),
    ipFragments: int('IP fragments (first or later); TCP is decoded from first fragments only.'),
    truncated: int('Frames cut short by the capture before their TCP header was complete.'),
    truncatedPayloads: int('TCP segments whose payload the snaplen cut (their length is still known from the IP header: not damage).'),
    malformed: counts('Frames with impossible headers, by what was wrong: {"IPv4 header with a version other than 4": 1}.', { type: 'string', minLength: 1 }),
    unsupportedLinkTypes: counts('Frames of link types tcpsleuth does not decode, by LINKTYPE_ number (as a string key): {"147": 10}.', { type: 'string', pattern: '^-?[0-9]+$' }),
    ipLengthExceedsFrame: int('IP headers claiming more bytes than the frame held (the length was cut to the frame).'),
    badTcpOptions: int('TCP segments with a malformed option (a zero or overrunning length): the options after it were ignored.'),
    damagedPackets: int('Frames with damage of any kind, each counted once: malformed, truncated, an IP length lie or bad TCP options.'),
    firstDamage: object(
      'The first damaged frame; null when damagedPackets is 0.',
      {
        message: str('What was wrong with it.', ['TCP header cut short by the capture']),
        offset: int('Byte offset of its record in the (decompressed) file.'),
        packet: frame('Its frame number.'),
      },
      [],
      true,
    ),
  }),
});

const connection = object('One TCP connection (a 4-tuple from SYN to close; a reused tuple starts a new one).', {
  id: int('Connection id, 1-based, in order of first packet.', 1),
  stream: int("Wireshark's tcp.stream number (0-based): `tcp.stream eq N` shows it in Wireshark; -1 when it has none.", -1),
  client: ref('address', 'The client: the side that sent the first SYN (guessed when no SYN was seen; see partial).'),
  server: ref('address', 'The server.'),
  ipVersion: oneOfValues('integer', [4, 6], 'IP version.'),
  partial: bool('No SYN began it in the capture: roles are guessed and states inferred.'),
  clientState: ref('tcpState', "The client's state at the end (endpoints.client.state)."),
  serverState: ref('tcpState', "The server's state at the end (endpoints.server.state)."),
  connState: ref('zeekConnState', "Zeek's conn_state for it, as conn.log would say."),
  history: { type: 'string', pattern: '^\\^?[A-Za-z]*$', description: "Zeek's history string (conn.log history): S SYN, h SYN-ACK, A ACK, D data, F FIN, R RST...; upper case from the client, lower case from the server; a leading ^ when Zeek flipped the roles.", examples: ['ShADadFf'] },
  openAtEnd: bool('Neither side had finished with it when the capture ended.'),
  firstTime: ref('epochTime', 'Time of its first packet.'),
  lastTime: ref('epochTime', 'Time of its last packet.'),
  duration: num('lastTime minus firstTime, seconds (9 decimals). Negative when the capture\'s clock stepped back between them.'),
  handshakeRtt: numOrNull("Seconds from the client's SYN to its ACK of the SYN-ACK (tshark's tcp.analysis.initial_rtt); null when the handshake was not seen whole."),
  firstCapture: int('Index of the capture file holding its first packet.'),
  firstFrame: frame('Frame number of its first packet there.'),
  lastCapture: int('Index of the capture file holding its last packet.'),
  lastFrame: frame('Frame number of its last packet there.'),
  previousConnection: intOrNull('Id of the earlier connection on the same 4-tuple it reused while that one was still tracked; null when none.', 1),
  evicted: bool('Finished early because too many connections were live (--max-connections; see tracking.evicted): its state is as of its last packet.'),
  view: object("What the capture shows of the connection: where it was taken, and what it lacks.", {
    vantage: oneOfValues('string', VANTAGES, "Where the capture was taken, for this connection: on the client's host, the server's, in the path between, or unknown (from the handshake's timing, checksum offload and TTLs)."),
    clues: list({ type: 'string' }, 'The clues behind vantage, each a sentence; written for connections with findings only (empty otherwise).'),
    handshake: object(
      'The handshake as captured, in two halves; null when not seen whole.',
      {
        synToSynAck: num("Seconds from the client's SYN (the last one sent before the SYN-ACK) to the SYN-ACK (6 decimals).", 0),
        synAckToAck: num("Seconds from the SYN-ACK to the client's ACK (6 decimals).", 0),
      },
      [],
      true,
    ),
    ttl: object('The highest IP TTL (IPv6 hop limit) of each side\'s packets.', {
      client: intOrNull("The client's; null without a client packet."),
      server: intOrNull("The server's; null without a server packet."),
    }),
    unseen: { anyOf: [{ $ref: '#/$defs/role' }, { type: 'null' }], description: "The side the capture never shows though the other side's ACKs prove it sent (a one-sided capture: tcpdump -Q, a SPAN of one direction, asymmetric routing); null when both are seen." },
    ackedUnseen: object('Segments acknowledged by the other side that the capture never showed, per side.', {
      client: bool('The server acknowledged client bytes the capture lacks.'),
      server: bool('The client acknowledged server bytes the capture lacks.'),
    }),
  }),
  fromClient: ref('direction', 'What the client sent.'),
  fromServer: ref('direction', 'What the server sent.'),
  endpoints: object("Both sides' state machines.", {
    client: ref('endpoint', "The client's."),
    server: ref('endpoint', "The server's."),
  }),
});

const finding = {
  ...object('A lifecycle problem on one connection, with the packets that show it.', {
    kind: ref('findingKind', 'What it is; it decides what `details` holds.'),
    severity: ref('severity', 'How bad it is.'),
    connection: int('Id of its connection (connections[].id).', 1),
    stream: int("Its connection's Wireshark tcp.stream; -1 when it has none.", -1),
    endpoint: ref('role', 'Which side it is about (the side at fault, as each kind defines it).'),
    endpointAddress: ref('address', "That side's address and port."),
    capture: int('Index of the capture file `packets` are frames of.'),
    packets: list({ type: 'integer', minimum: 1 }, 'Frame numbers in that file, ascending, that show it (its `displayFilter` selects them).'),
    otherPackets: list({ $ref: '#/$defs/packetRef' }, 'Its packets in other files than `capture` (several files merged: a connection can span a rotation boundary); empty for one file.'),
    time: ref('epochTime', 'When it became true.'),
    confidence: ref('confidence', 'How far the packets go.'),
    alternatives: list({ type: 'string' }, 'Other causes that fit the same packets, each a short clause.'),
    evidence: list(
      object('One fact the finding rests on.', {
        capture: int('Index of the capture file of the frame (or whose clock shows it).'),
        frame: { type: ['integer', 'null'], minimum: 1, description: 'Frame number of the packet showing it; null for what the clock shows ("no packet from the server for 12.0 s").' },
        fact: str('The fact, in words.', ['FIN from the client 10.0.0.1:40000']),
      } satisfies Fields<Evidence>),
      'The facts it rests on, in the order they happened.',
    ),
    summary: str('One line saying what happened.'),
    explanation: str('A paragraph: what happened, what the applications saw, the likely causes and the fix.'),
    details: { type: 'object', description: 'Numbers and flags particular to the kind: see the table for each kind below.' },
    group: int('Id of its group in `groups`.', 1),
    displayFilter: str('A Wireshark display filter showing its packets: its stream narrowed to its frames ("tcp.stream eq 0 && frame.number in {8, 9}"); the stream alone when several files were merged; empty when there is nothing to filter on.'),
  }),
  allOf: SHIPPED_KINDS.map((k) => ({
    if: { properties: { kind: { const: k } }, required: ['kind'] },
    then: { properties: { details: { $ref: `#/$defs/details-${k}` } } },
  })),
} satisfies Field;

const group = object('Findings that tell one story: the same kind, severity and cause at one endpoint. Every finding is in exactly one group.', {
  id: int('1-based, in the order listed: worst first, then largest, then earliest.', 1),
  kind: ref('findingKind', "Its members' kind."),
  severity: ref('severity', "Its members' severity."),
  endpoint: ref('role', 'The side at fault.'),
  where: str("What the members share: the server's address:port, or the client's address (no port; IPv6 without brackets).", ['10.0.0.5:8080', '10.0.0.7']),
  cause: orNull('abortCause', "The cause the detector named (abortive-close's likelyCause); null for other kinds."),
  headline: str('The verdict in one line.', ["60 connections to 10.0.0.5:8080: stuck in CLOSE-WAIT: the server's application does not close them after the peer's FIN"]),
  count: int('Connections in the group (the length of `connections`).', 1),
  firstTime: ref('epochTime', "Its first member's time."),
  lastTime: ref('epochTime', "Its last member's time."),
  confidence: ref('confidence', 'The most cautious of its members\' confidences (possible before likely before certain).'),
  confidences: object('How many members are of each confidence.', {
    certain: int('Members certain.'),
    likely: int('Members likely.'),
    possible: int('Members possible.'),
  }),
  explanation: str("Its first member's explanation."),
  connections: list({ type: 'integer', minimum: 1 }, "Its members' connection ids, ascending, each once."),
  streams: list({ type: 'integer', minimum: 0 }, "Its members' Wireshark tcp.stream numbers, ascending, each once."),
  findings: list({ type: 'integer', minimum: 0 }, 'Its members: indexes (0-based) into `findings`, in time order.'),
  displayFilter: str('A Wireshark display filter showing the group: its one finding\'s filter, or its streams ("tcp.stream in {21, 27, 28}"); empty when it has no stream.'),
  pileUp: object(
    'How a CLOSE-WAIT pile-up grew: members in the state at twelve even steps across the capture, the last its end. null for other kinds.',
    {
      state: { const: 'CLOSE-WAIT', description: 'The state counted.' },
      times: list({ $ref: '#/$defs/epochTime' }, 'The instants, as the other times.'),
      counts: list({ type: 'integer', minimum: 0 }, 'Members in the state at each instant.'),
    },
    [],
    true,
  ),
});

/** The JSON document of `tcpsleuth analyze --format json`, as JSON Schema 2020-12. */
export const JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: `${TOOL_NAME} analyze --format json, format ${FORMAT_VERSION}`,
  ...object('One analysis of one or more capture files (several merged in timestamp order).', {
    tool: object('The program that wrote the document.', {
      name: { const: TOOL_NAME, description: 'Always "tcpsleuth".' },
      version: { type: 'string', pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+', description: "Its version (package.json's).", examples: ['0.1.0'] },
    }),
    formatVersion: { const: FORMAT_VERSION, description: 'The version of this format: its minor grows when fields are added; its major would grow only if one were renamed or removed, which the contract rules out.' },
    captures: list(capture, 'The capture files, in the order given.'),
    connections: list(connection, 'The TCP connections, by id; after the view filters (--host, --port, --state, --finding, --since, --until, a filter expression).'),
    findings: list(finding, 'The findings, in time order; after the view filters and --min-severity.'),
    groups: list(group, 'The findings grouped, worst first.'),
    tracking: object('What the memory bounds did.', {
      maxConnections: int('Live connections tracked at most (--max-connections): beyond, the least recently active are finished early.', 1),
      evicted: int('Connections finished early for it (each marked "evicted": true).'),
      maxListedConnections: int('Connections kept for the report at most (--max-listed).', 1),
      unlisted: counts('Finished connections without findings left out of the list, by Zeek conn_state: {"SF": 250}.', { $ref: '#/$defs/zeekConnState' }),
    } satisfies Fields<AnalysisResult['tracking']>),
    options: object(
      'The detection thresholds used.',
      {
        closeWaitSeconds: num('CLOSE-WAIT with neither FIN nor data from that side for this long is stuck (--close-wait), seconds.', 0),
        halfOpenRetransmissions: int('Unanswered retransmissions or probes in a row that make a peer half-open (--half-open-retransmissions).', 1),
        synRetransmissions: int('Unanswered SYN retransmissions that make a syn-timeout (--syn-retransmissions).', 1),
        zeroWindowSeconds: num('A zero window lasting this long is reported (--zero-window), seconds.', 0),
        timeWaitSeconds: num("The hosts' TIME-WAIT length (--time-wait), seconds.", 0),
        maxConnections: int('--max-connections, when given (the command line always gives it).', 1),
        maxListedConnections: int('--max-listed, when given (the command line always gives it).', 1),
      } satisfies Fields<DetectOptions>,
      ['maxConnections', 'maxListedConnections'],
    ),
  }),
  $defs: { ...DEFS, ...detailsDefs },
} satisfies JsonSchema;

/**
 * `tcpsleuth live --stats-interval`: one JSON Lines record per interval, the figures
 * `--metrics` serves (src/live/figures.ts). Counts are totals since the start.
 */
export const STATS_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: `${TOOL_NAME} live --stats-interval, format ${FORMAT_VERSION}`,
  ...object("One line of live capture figures (the same figures as --metrics' /metrics).", {
    type: { const: 'stats', description: 'Always "stats": tells these lines from the "finding", "withdrawn" and "report" records.' },
    time: ref('epochTime', 'When the figures were taken (wall clock).'),
    interface: str('The interface captured on.', ['eth0']),
    packets: object('Packets, since the start.', {
      received: int('Delivered by libpcap.'),
      analysed: int('Analysed (the rest are queued, or were dropped by the queue).'),
    }),
    dropped: object('Packets lost, since the start.', {
      kernel: intOrNull("By the kernel: the capture ring was full (libpcap's ps_drop); null when the binding cannot read it (cap)."),
      interface: intOrNull("By the interface or its driver, for all traffic (ps_ifdrop); null when the binding cannot read it."),
      queue: int("By tcpsleuth: its analysis fell behind and its queue was full (they are still in the -w file)."),
    }),
    connections: object('TCP connections.', {
      tracked: int('Tracked now.'),
      opened: int('Seen to start, since the start.'),
      closed: counts('No longer tracked (over, or evicted), by how they ended as Zeek\'s conn_state: {"SF": 250, "RSTO": 3}.', { $ref: '#/$defs/zeekConnState' }),
    }),
    endpoints: list(
      object("Endpoints of the tracked connections in one state, by local role and the connection's server port. CLOSED and LISTEN are not counted: neither holds this connection.", {
        state: ref('tcpState', 'The RFC 9293 state.'),
        role: oneOfValues('string', ROLES, 'The endpoint\'s role: the client opened the connection.'),
        port: { type: 'string', pattern: '^([0-9]{1,5}|other)$', description: 'The connection\'s server port (never a client\'s ephemeral port), or "other" for ports past --metrics-max-ports.', examples: ['8080', 'other'] },
        count: int('Endpoints.', 1),
      }),
      'The endpoints, by state in RFC order, then role, then port; states with none are left out.',
    ),
    findings: list(
      object('Findings of one kind and severity.', {
        kind: ref('findingKind', 'The kind.'),
        severity: ref('severity', 'Its severity when raised.'),
        count: int('Raised since the start.', 1),
      }),
      'Findings raised since the start, whatever --min-severity prints.',
    ),
    withdrawn: list(
      object('Findings of one kind taken back.', {
        kind: ref('findingKind', 'The kind.'),
        count: int('Taken back since the start.', 1),
      }),
      'Findings taken back because a later packet showed otherwise.',
    ),
    ports: object('The bound on port labels.', {
      labelled: int('Server ports counted under their own number.'),
      max: int('The limit (--metrics-max-ports).', 1),
      limitReached: bool('A port was counted as "other" because the limit was reached.'),
    }),
    memory: object("tcpsleuth's own memory.", {
      rssBytes: int('Resident set size, bytes.'),
      heapUsedBytes: int('V8 heap in use, bytes.'),
    }),
  }),
  $defs: { epochTime: DEFS.epochTime, tcpState: DEFS.tcpState, zeekConnState: DEFS.zeekConnState, findingKind: DEFS.findingKind, severity: DEFS.severity },
} satisfies JsonSchema;

/** docs/live-stats.md: what the stats lines are, then their field reference. */
export function renderStatsDoc(schema: JsonSchema = STATS_SCHEMA): string {
  return [
    `# Live stats lines (format ${FORMAT_VERSION})`,
    '',
    '<!-- Generated by `npm run schema` from src/report/json-schema.ts: edit that file, not this one. -->',
    '',
    '`tcpsleuth live --stats-interval 10s` writes one `{"type":"stats",...}` line to standard output every interval, for log',
    'shippers: the figures `--metrics` serves on `/metrics` (see [live.md](live.md#metrics-and-stats)). Counts are totals since',
    'the start; take differences between lines for rates. [`live-stats-schema.json`](live-stats-schema.json) is the JSON Schema',
    '(draft 2020-12) of one line. Later versions add fields, never rename or remove them.',
    '',
    '## Field reference',
    '',
    renderFieldReference(schema),
  ].join('\n');
}

// ---------------------------------------------------------------------------
// The field reference
// ---------------------------------------------------------------------------

const DEF_PREFIX = '#/$defs/';

function resolve(root: JsonSchema, s: JsonSchema): JsonSchema {
  if (s.$ref === undefined) return s;
  if (!s.$ref.startsWith(DEF_PREFIX)) throw new Error(`only local $defs references are rendered: ${s.$ref}`);
  const target = root.$defs?.[s.$ref.slice(DEF_PREFIX.length)];
  if (target === undefined) throw new Error(`no such definition: ${s.$ref}`);
  return target;
}

function types(s: JsonSchema): readonly JsonType[] {
  return s.type === undefined ? [] : typeof s.type === 'string' ? [s.type] : s.type;
}

/** An object with fields of its own (a table), not a map or an open object. */
function isRecord(s: JsonSchema): boolean {
  return types(s).includes('object') && s.properties !== undefined && Object.keys(s.properties).length > 0;
}

/** `details`-style fields: the object's allOf if/then entries keyed by another field's const. */
interface Variant {
  key: string;
  value: string;
  schema: JsonSchema;
}

function variantsOf(root: JsonSchema, s: JsonSchema, field: string): Variant[] {
  const out: Variant[] = [];
  for (const branch of s.allOf ?? []) {
    const cond = Object.entries(branch.if?.properties ?? {});
    const then = branch.then?.properties?.[field];
    if (cond.length === 1 && then !== undefined && typeof cond[0]![1].const === 'string') out.push({ key: cond[0]![0], value: cond[0]![1].const, schema: resolve(root, then) });
  }
  return out;
}

function anchor(path: string): string {
  return (
    path
      .replace(/\[\]/g, '')
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .toLowerCase() || 'document'
  );
}

function code(s: string): string {
  return `\`${s}\``;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** "docs/findings.md#half-open" in a description, as a link from a page in docs/. */
function linked(text: string): string {
  return text.replace(/\bdocs\/([a-z-]+\.md)(#[a-z0-9-]+)?/g, (all, file: string, frag: string | undefined) => `[${all}](${file}${frag ?? ''})`);
}

function literal(v: string | number | boolean | null): string {
  return code(JSON.stringify(v));
}

function joinOr(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
}

/** The reference's pass over the schema: which table each object is in (an object used in several places is one table). */
class Reference {
  /** Object schemas -> the paths they appear at, in document order. */
  private readonly paths = new Map<JsonSchema, string[]>();
  private readonly rendered = new Set<JsonSchema>();
  private readonly out: string[] = [];

  constructor(private readonly root: JsonSchema) {}

  render(): string {
    this.collect(this.root, '');
    this.table(this.root, '', 'The document');
    const defs = Object.entries(this.root.$defs ?? {}).filter(([, s]) => !types(s).includes('object'));
    if (defs.length) {
      this.out.push('<a id="value-types"></a>', '### Value types', '', 'Types used by several fields.', '', '| Type | Values | Meaning |', '|---|---|---|');
      for (const [name, s] of defs) this.out.push(`| <a id="type-${name}"></a>${code(name)} | ${cell(this.valuesOf(s))} | ${cell(this.meaning(s))} |`);
      this.out.push('');
    }
    return this.out.join('\n');
  }

  private collect(s0: JsonSchema, path: string): void {
    const s = resolve(this.root, s0);
    if (isRecord(s)) {
      const seen = this.paths.get(s);
      if (seen) {
        seen.push(path);
        return;
      }
      this.paths.set(s, [path]);
      for (const [name, f] of Object.entries(s.properties ?? {})) {
        const child = path ? `${path}.${name}` : name;
        const variants = variantsOf(this.root, s, name);
        if (variants.length) for (const v of variants) this.collect(v.schema, `${child}<${v.value}>`);
        else this.collect(f, child);
      }
    } else if (s.items) this.collect(s.items, `${path}[]`);
    else for (const alt of s.anyOf ?? []) this.collect(alt, path);
  }

  private title(path: string): string {
    return path.replace(/<[^>]*>/g, '');
  }

  private link(s: JsonSchema): string {
    const path = this.paths.get(s)![0]!;
    return `[${code(this.title(path))}](#${anchor(path)})`;
  }

  /** The type column. */
  private typeOf(s0: JsonSchema): string {
    if (s0.$ref !== undefined) {
      const s = resolve(this.root, s0);
      if (isRecord(s)) return `object, ${this.link(s)}`;
      return `[${s0.$ref.slice(DEF_PREFIX.length)}](#type-${s0.$ref.slice(DEF_PREFIX.length)})`;
    }
    const s = s0;
    if (s.const !== undefined) return `${literal(s.const)} (constant)`;
    if (s.enum !== undefined) return joinOr(s.enum.map(literal));
    if (s.anyOf !== undefined) {
      const alts = s.anyOf.filter((a) => !(a.type === 'null'));
      const text = alts.map((a) => (a.type === 'string' && a.pattern !== undefined ? 'string' : this.typeOf(a)));
      return joinOr(s.anyOf.length > alts.length ? [...text, 'null'] : text);
    }
    const t = types(s);
    const nullable = t.includes('null');
    const base = t.filter((x) => x !== 'null');
    let text: string;
    if (base.length === 1 && base[0] === 'object') {
      if (isRecord(s)) text = `object, ${this.link(s)}`;
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') text = `object: ${this.keyOf(s.propertyNames)} → ${this.typeOf(s.additionalProperties)}`;
      else text = 'object';
    } else if (base.length === 1 && base[0] === 'array') {
      if (s.prefixItems) text = `array [${s.prefixItems.map((p) => this.typeOf(p)).join(', ')}]`;
      else text = `array of ${s.items ? this.typeOf(s.items) : 'anything'}`;
    } else {
      text = base.join(' or ');
      if (s.minimum !== undefined) text += ` ≥ ${s.minimum}`;
    }
    return nullable ? `${text} or null` : text;
  }

  /** A map's keys. */
  private keyOf(s: JsonSchema | undefined): string {
    if (s === undefined) return 'string';
    if (s.$ref !== undefined) return this.typeOf(s);
    return s.pattern !== undefined ? `string matching ${code(s.pattern)}` : 'string';
  }

  /** The meaning column: the description (its docs/*.md citations as links: the reference is in docs/), and the examples. */
  private meaning(s: JsonSchema): string {
    const ex = s.examples?.length ? ` Example${s.examples.length > 1 ? 's' : ''}: ${s.examples.map((e) => code(JSON.stringify(e))).join(', ')}.` : '';
    return `${linked(s.description ?? '')}${ex}`;
  }

  private valuesOf(s: JsonSchema): string {
    if (s.enum !== undefined) return s.enum.map(literal).join(', ');
    if (s.pattern !== undefined) return `${types(s).join(' or ')} matching ${code(s.pattern)}`;
    return types(s).join(' or ');
  }

  /** One object's table, then its nested objects' tables, in document order. */
  private table(s0: JsonSchema, path: string, heading?: string, variant?: Variant): void {
    const s = resolve(this.root, s0);
    if (isRecord(s) || variant) {
      if (this.rendered.has(s)) return;
      this.rendered.add(s);
      const all = this.paths.get(s) ?? [path];
      const name = heading ?? all.map((p) => code(this.title(p))).join(', ');
      this.out.push(`<a id="${anchor(all[0]!)}"></a>`, `### ${name}${variant ? ` when ${code(variant.key)} is ${code(variant.value)}` : ''}`, '', linked(s.description ?? ''), '');
      const fields = Object.entries(s.properties ?? {});
      if (fields.length === 0) this.out.push('No fields: an empty object.', '');
      else {
        this.out.push('| Field | Type | Meaning |', '|---|---|---|');
        for (const [name, f] of fields) {
          const variants = variantsOf(this.root, s, name);
          const type = variants.length ? `object, by ${code(variants[0]!.key)}: ${variants.map((v) => `[${code(v.value)}](#${anchor(`${path ? `${path}.` : ''}${name}<${v.value}>`)})`).join(', ')}` : this.typeOf(f);
          this.out.push(`| ${code(name)} | ${cell(type)} | ${cell(this.meaning(f))} |`);
        }
        this.out.push('');
      }
      for (const [name, f] of fields) {
        const child = path ? `${path}.${name}` : name;
        const variants = variantsOf(this.root, s, name);
        if (variants.length) for (const v of variants) this.table(v.schema, `${child}<${v.value}>`, code(this.title(child)), v);
        else this.table(f, child);
      }
    } else if (s.items) this.table(s.items, `${path}[]`);
    else for (const alt of s.anyOf ?? []) this.table(alt, path);
  }
}

/** The field reference in Markdown: one table per object (field, type, meaning) in document order, then the value types. */
export function renderFieldReference(schema: JsonSchema): string {
  return new Reference(schema).render();
}

/** docs/json.md: the contract in a few sentences, then the field reference. */
export function renderJsonDoc(schema: JsonSchema = JSON_SCHEMA): string {
  return [
    `# JSON output (format ${FORMAT_VERSION})`,
    '',
    '<!-- Generated by `npm run schema` from src/report/json-schema.ts: edit that file, not this one. -->',
    '',
    '`tcpsleuth analyze --format json` writes one JSON document (one connection, finding or group per line, so it stays easy to grep).',
    '[`json-schema.json`](json-schema.json) is its JSON Schema (draft 2020-12); this reference and that file are both generated from',
    'one definition, `src/report/json-schema.ts`, and the tests validate the document of every capture against it.',
    '',
    '**The contract: later versions add fields, never rename or remove them.** `formatVersion` says which fields a document has:',
    'its minor grows when fields are added. The schema is closed (`additionalProperties: false`) so that it lists exactly what',
    'this version writes; a reader should ignore fields it does not know, and validate a newer document with the newer schema.',
    '',
    '**Times** are epoch seconds as exact decimal strings with nine fraction digits (`"1700000000.123456789"`, like tshark\'s',
    '`frame.time_epoch`), since a double cannot hold epoch nanoseconds. Durations are numbers of seconds. Frame numbers are',
    'per capture file and 1-based, as Wireshark numbers them; `capture` fields are 0-based indexes into `captures`. Addresses are',
    '`address:port`, IPv6 in brackets; states are RFC 9293\'s names.',
    '',
    '## Field reference',
    '',
    renderFieldReference(schema),
  ].join('\n');
}
