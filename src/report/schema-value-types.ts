import { CONFIDENCES, SEVERITIES, type Finding, type FindingOf } from '../detect/finding.js';
import { SHIPPED_KINDS } from './finding-schema.js';
import type { Vantage } from '../detect/vantage.js';
import { TCP_STATES } from '../track/states.js';
import type { ZeekConnStateName } from '../track/zeek-conn.js';
import { everyOf, type JsonSchema } from './schema-build.js';

/**
 * The value types the contracts share (the reference lists them under "Value types").
 * Where the source has the values (finding kinds, severities, confidences, TCP states)
 * they are imported, not retyped; where it has only a type (Zeek's conn_state, a
 * vantage), the lists here are checked against it by the compiler.
 */

export const ZEEK_CONN_STATES = everyOf<ZeekConnStateName>()(['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH']);
export const ABORT_CAUSES = everyOf<FindingOf<'abortive-close'>['details']['likelyCause']>()(['unread-data', 'so-linger-zero', 'idle-timeout', 'protocol-close']);
export const VANTAGES = everyOf<Vantage>()(['client', 'server', 'path', 'unknown']);
export const ROLES = everyOf<Finding['endpoint']>()(['client', 'server']);

const TIME_PATTERN = '^-?[0-9]+\\.[0-9]{9}$';

/** Named value types, each described once. */
export const VALUE_TYPES = {
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
  ip: {
    type: 'string',
    pattern: '^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]+)$',
    description: 'An IP address alone: IPv4 dotted, IPv6 as RFC 5952 writes it (no brackets).',
    examples: ['10.0.0.1', '2001:db8::1'],
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
} satisfies Record<string, JsonSchema>;
