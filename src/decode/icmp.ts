import { be16, be32 } from '../capture/bytes.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import {
  ICMP_PACKET_TOO_BIG,
  ICMP_PARAMETER_PROBLEM,
  ICMP_REDIRECT,
  ICMP_SOURCE_QUENCH,
  ICMP_TIME_EXCEEDED,
  ICMP_UNREACHABLE,
  type IcmpError,
  type IcmpErrorClass,
} from './packet.js';

const PROTO_TCP = 6;

/** ICMPv4 error types that quote the offending datagram (RFC 792). */
function icmp4Class(type: number): IcmpErrorClass | null {
  switch (type) {
    case 3:
      return ICMP_UNREACHABLE;
    case 4:
      return ICMP_SOURCE_QUENCH;
    case 5:
      return ICMP_REDIRECT;
    case 11:
      return ICMP_TIME_EXCEEDED;
    case 12:
      return ICMP_PARAMETER_PROBLEM;
    default:
      return null;
  }
}

/** ICMPv6 error types (RFC 4443): all quote the offending packet. */
function icmp6Class(type: number): IcmpErrorClass | null {
  switch (type) {
    case 1:
      return ICMP_UNREACHABLE;
    case 2:
      return ICMP_PACKET_TOO_BIG;
    case 3:
      return ICMP_TIME_EXCEEDED;
    case 4:
      return ICMP_PARAMETER_PROBLEM;
    default:
      return null;
  }
}

/**
 * Decode an ICMP or ICMPv6 error at `off` and the IP + TCP header it quotes.
 * Returns false when the message is not an error (echo, neighbour discovery...)
 * or too short to be one.
 */
export function decodeIcmpError(buf: Buffer, off: number, capEnd: number, version: 4 | 6, icmp: IcmpError): boolean {
  if (off + 8 > capEnd) return false;
  const type = buf[off]!;
  const cls = version === 4 ? icmp4Class(type) : icmp6Class(type);
  if (cls === null) return false;
  icmp.version = version;
  icmp.type = type;
  icmp.code = buf[off + 1]!;
  icmp.errorClass = cls;
  icmp.mtu = 0;
  if (version === 4 && type === 3 && icmp.code === 4) icmp.mtu = be16(buf, off + 6); // fragmentation needed
  if (version === 6 && type === 2) icmp.mtu = be32(buf, off + 4);
  icmp.quotesTcp = false;
  const q = icmp.quoted;
  q.hasPorts = false;
  q.hasSeq = false;
  q.hasAckAndFlags = false;
  const qo = off + 8;
  // The quoted header may be ICMPv4-in-IPv4 or ICMPv6-in-IPv6 only; its lengths describe the original.
  const problem = version === 4 ? decodeIpv4(buf, qo, capEnd, capEnd, q.ip, true) : decodeIpv6(buf, qo, capEnd, capEnd, q.ip, true);
  if (problem !== null || q.ip.protocol !== PROTO_TCP || q.ip.laterFragment) return true;
  const t = qo + q.ip.headerLength;
  icmp.quotesTcp = true;
  if (t + 4 <= capEnd) {
    q.hasPorts = true;
    q.srcPort = be16(buf, t);
    q.dstPort = be16(buf, t + 2);
  }
  if (t + 8 <= capEnd) {
    q.hasSeq = true;
    q.seq = be32(buf, t + 4);
  }
  if (t + 14 <= capEnd) {
    q.hasAckAndFlags = true;
    q.ack = be32(buf, t + 8);
    q.flags = ((buf[t + 12]! & 0x01) << 8) | buf[t + 13]!;
  }
  return true;
}
