import type { AnalysisResult, CaptureProblem, CaptureSummary, LinkTypeCount } from '../analyze.js';
import type { InterfaceInfo } from '../capture/frame.js';
import type { PacketRef } from '../detect/finding.js';
import type { DetectOptions } from '../detect/options.js';
import { UDP_TUNNEL_NAMES, type DecapConfig } from '../decode/tunnel.js';
import { FORMAT_VERSION, TOOL_NAME } from '../version.js';
import { CONNECTION_DEFS, CONNECTION_SCHEMA } from './connection-line.js';
import { renderFieldReference } from './field-reference.js';
import { DETAILS_DEFS, FINDING, GROUP } from './finding-schema.js';
import { bool, counts, frame, int, list, num, object, orNull, str, type Fields, type JsonSchema } from './schema-build.js';
import { VALUE_TYPES } from './schema-value-types.js';

export { STATS_SCHEMA, renderStatsDoc } from './stats-schema.js';
export { SHIPPED_KINDS } from './finding-schema.js';
export type { JsonSchema } from './schema-build.js';

/**
 * The JSON contract of `tcpsleuth analyze --format json` (json.ts) as one JSON Schema
 * (draft 2020-12): the field reference (docs/json.md) is rendered from it,
 * docs/json-schema.json is it, and test/json-schema.test.ts validates the document of
 * every capture against it. Objects are closed and list as required every field the
 * writer always writes, so a field written and not here (or the other way round) fails
 * the test.
 *
 * Where a field is defined: a connection's, in connection-line.ts (one list drives the
 * writer, the object form and the schema); a finding's and a group's, in
 * finding-schema.ts; a capture's and the document's, here; the value types they share,
 * in schema-value-types.ts. Then `npm run schema`.
 */

/** Objects the document refers to by name, each described once. */
const DEFS = {
  ...VALUE_TYPES,
  packetRef: object('A packet: its capture and frame number there.', {
    capture: int('Index of the capture file in `captures` (0-based).'),
    frame: frame('Frame number in that file (1-based, as Wireshark numbers them).'),
  } satisfies Fields<PacketRef>),
  problem: object('A problem reading the file, located.', {
    message: str('What was wrong.', ['file ends in the middle of a record: 182 bytes needed, 57 left']),
    offset: int('Byte offset in the (decompressed) file.'),
    packet: int('1-based number of the packet being read; 0 for the file header (or a file that could not be opened).'),
  } satisfies Fields<CaptureProblem>),
  ...CONNECTION_DEFS,
} satisfies Record<string, JsonSchema>;

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
    tunnelledTcp: int('Of those, segments found inside a tunnel (VXLAN, Geneve, GRE, ERSPAN, IP-in-IP, GTP-U, Teredo, AYIYA).'),
    tunnelTooDeep: int('Packets in tunnels nested more than 4 deep: not looked into further.'),
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
    connections: list(CONNECTION_SCHEMA, 'The TCP connections, by id; after the view filters (--host, --port, --state, --finding, --since, --until, a filter expression).'),
    findings: list(FINDING, 'The findings, in time order; after the view filters and --min-severity.'),
    groups: list(GROUP, 'The findings grouped, worst first.'),
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
        decap: object(
          'What was decapsulated, when --no-decap, --decap or --vxlan-port said otherwise than the default (every encapsulation, on its standard UDP ports).',
          {
            enabled: bool('False with --no-decap: no tunnel was looked into.'),
            udpPorts: list(
              { type: 'array', prefixItems: [{ type: 'integer', minimum: 1, maximum: 65535 }, { enum: Object.keys(UDP_TUNNEL_NAMES) }], items: false, minItems: 2, maxItems: 2 },
              'The UDP ports decapsulated, each [port, encapsulation]; for a port given twice the later pair holds.',
            ),
          } satisfies Fields<DecapConfig>,
        ),
      } satisfies Fields<DetectOptions>,
      ['maxConnections', 'maxListedConnections', 'decap'],
    ),
  }),
  $defs: { ...DEFS, ...DETAILS_DEFS },
} satisfies JsonSchema;

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
