import type { Evidence, FindingOf, ShippedKind } from '../detect/finding.js';
import { FINDING_KINDS } from '../detect/registry.js';
import { bool, frame, int, list, num, numOrNull, object, orNull, ref, str, type Field, type Fields } from './schema-build.js';

/**
 * The findings and groups of the JSON contract (json.ts's findingJson and groupJson)
 * as JSON Schema: json-schema.ts puts them in the document's schema, and
 * test/json-schema.test.ts checks every document's findings and groups against them.
 */

/** A finding's details, one object per kind: the compiler checks each against the Finding union's. */
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

export const DETAILS_DEFS = Object.fromEntries(SHIPPED_KINDS.map((k) => [`details-${k}`, object(`${KIND_MEANINGS[k]} See docs/findings.md#${k}.`, DETAILS[k])])) as Record<`details-${ShippedKind}`, Field>;

export const FINDING = {
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

export const GROUP = object('Findings that tell one story: the same kind, severity and cause at one endpoint. Every finding is in exactly one group.', {
  id: int('1-based, in the order listed: worst first, then largest, then earliest.', 1),
  kind: ref('findingKind', "Its members' kind."),
  severity: ref('severity', "Its members' severity."),
  endpoint: ref('role', 'The side at fault.'),
  where: str(
    "What the members share: the server's address:port, or the client's address (no port; IPv6 without brackets); followed by the virtual network when their connections are in one (a VXLAN or Geneve VNI, a GRE key, an ERSPAN session), as the same address in two networks is two hosts.",
    ['10.0.0.5:8080', '10.0.0.7', '10.0.0.5:8080 in VXLAN VNI 42'],
  ),
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
