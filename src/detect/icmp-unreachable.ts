import { packetsOf, who, type Detector } from './detector.js';
import { fact, makeFinding } from './make.js';

const V4_CODES: Record<number, string> = {
  0: 'network unreachable',
  1: 'host unreachable',
  2: 'protocol unreachable',
  3: 'port unreachable',
  5: 'source route failed',
  6: 'destination network unknown',
  7: 'destination host unknown',
  9: 'network administratively prohibited',
  10: 'host administratively prohibited',
  11: 'network unreachable for TOS',
  12: 'host unreachable for TOS',
  13: 'communication administratively prohibited',
};
const V6_CODES: Record<number, string> = {
  0: 'no route to destination',
  1: 'communication administratively prohibited',
  2: 'beyond scope of source address',
  3: 'address unreachable',
  4: 'port unreachable',
  5: 'source address failed ingress/egress policy',
  6: 'reject route to destination',
};

/** The errno Linux gives a socket for each destination-unreachable code (icmp_err_convert, icmpv6_err_convert). */
const V4_ERRNO: Record<number, string> = {
  0: 'ENETUNREACH',
  1: 'EHOSTUNREACH',
  2: 'ENOPROTOOPT',
  3: 'ECONNREFUSED',
  5: 'EOPNOTSUPP',
  6: 'ENETUNREACH',
  7: 'EHOSTDOWN',
  8: 'ENONET',
  9: 'ENETUNREACH',
  10: 'EHOSTUNREACH',
  11: 'ENETUNREACH',
  12: 'EHOSTUNREACH',
};
const V6_ERRNO: Record<number, string> = { 0: 'ENETUNREACH', 1: 'EACCES', 2: 'EHOSTUNREACH', 3: 'EHOSTUNREACH', 4: 'ECONNREFUSED', 5: 'EACCES', 6: 'EACCES' };

/** docs/findings.md#icmp-unreachable: an ICMP destination-unreachable quoting one of the connection's segments. */
export const icmpUnreachable: Detector<'icmp-unreachable'> = {
  kind: 'icmp-unreachable',
  saw: 'peer',
  onIcmp(c, ev, ctx) {
    if (ev.errorClass !== 'unreachable') return;
    // Fragmentation needed is path-MTU discovery at work, not unreachability.
    if (ev.version === 4 && ev.code === 4) return;
    const sender = c.endpoint(ev.toward);
    const dest = c.peer(sender);
    const meaning = (ev.version === 4 ? V4_CODES[ev.code] : V6_CODES[ev.code]) ?? `code ${ev.code}`;
    const handshake = sender.state === 'SYN-SENT';
    const errno = (ev.version === 4 ? V4_ERRNO[ev.code] : V6_ERRNO[ev.code]) ?? 'EHOSTUNREACH';
    const prohibited = /prohibited|policy|reject/.test(meaning);
    const summary = `ICMP ${meaning} for ${who(c, dest)} (reported by ${ev.reporter})`;
    const explanation = [
      `${ev.reporter} sent an ICMP${ev.version === 6 ? 'v6' : ''} destination-unreachable (${meaning}, frame ${ev.at.frame}) about a segment the ${sender.role} sent to ${c.address(dest.role)}: `,
      prohibited ? `a firewall or router policy rejects that traffic. ` : `the destination could not be reached on the path. `,
      handshake
        ? `It came during the handshake, so connect() fails with ${errno} on Linux (Linux may ignore a first ICMP error while connect() is retrying and fail on the next). `
        : `On an established connection it is a soft error: the ${sender.role}'s kernel keeps retransmitting, and if the peer never answers the final error is ${errno} instead of ETIMEDOUT. `,
      `Fix: check routing and firewall rules between the two hosts (the reporting address says where the packet was turned back), and whether the ${dest.role} host is up.`,
    ].join('');
    ctx.raise(
      c,
      makeFinding('icmp-unreachable', 'error', c, dest, ev.at.capture, packetsOf(ev.at.capture, ev.at), ev.at, summary, explanation, { type: ev.type, code: ev.code, meaning, reporter: ev.reporter, duringHandshake: handshake }, {
        confidence: 'certain',
        evidence: [fact(ev.at, `ICMP ${meaning} from ${ev.reporter}, quoting a segment the ${sender.role} sent`)],
      }),
    );
  },
};
