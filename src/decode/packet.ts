import type { Frame } from '../capture/frame.js';
import type { TunnelPath } from './tunnel.js';

/**
 * Decoded packets. The decoder owns one object of each kind and refills it for every
 * frame (gopacket's DecodingLayerParser idea): consumers copy what they keep.
 */

/** An IPv4 or IPv6 header, extension headers folded in. */
export class IpHeader {
  version: 4 | 6 = 4;
  /** Addresses; IPv4 uses the first 4 bytes. */
  readonly src = new Uint8Array(16);
  readonly dst = new Uint8Array(16);
  /** Offset of the IP header in the frame buffer. */
  offset = 0;
  /** Header length including IPv4 options or IPv6 extension headers. */
  headerLength = 0;
  /** Upper-layer protocol (after IPv6 extension headers). */
  protocol = 0;
  ttl = 0;
  /** IPv4 identification (or IPv6 fragment identification), 0 if none. */
  id = 0;
  /** Bytes of upper-layer data the IP header says there are (may exceed what was captured). */
  payloadLength = 0;
  /** IPv4 total length / IPv6 40 + payload length, as on the wire. */
  totalLength = 0;
  /** A fragment that is not the first: its payload starts mid-datagram. */
  laterFragment = false;
  /** Any fragment (first or later). */
  fragment = false;
  /** The length field was 0 and the frame length was used (TSO/GSO captures). */
  lengthFromFrame = false;
  /** IPv6 jumbogram (hop-by-hop jumbo payload option). */
  jumbo = false;
  /**
   * The length field claims more than the frame held on the wire (damage, or a
   * length-padded packet inside a shorter PPPoE/802.3 frame): payloadLength was cut
   * to what the frame held, as Wireshark does; totalLength keeps the claim.
   */
  lengthExceedsFrame = false;

  /** Address bytes in use: 4 or 16. */
  get addrLen(): number {
    return this.version === 4 ? 4 : 16;
  }
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;
export const TCP_AE = 0x100; // formerly NS (RFC 3540), now AccECN

/** MPTCP option subtypes (RFC 8684 3): MP_FASTCLOSE ends a whole MPTCP connection; MP_TCPRST gives a subflow RST's reason. */
export const MPTCP_FASTCLOSE = 0x7;
export const MPTCP_TCPRST = 0x8;

export class TcpHeader {
  srcPort = 0;
  dstPort = 0;
  /** Sequence and acknowledgment numbers as unsigned 32-bit values. */
  seq = 0;
  ack = 0;
  /** Header length in bytes (data offset * 4). */
  headerLength = 0;
  /** The nine flag bits, TCP_* constants. */
  flags = 0;
  /** The three reserved bits between data offset and AE (0-7); tshark's tcp.flags is `reserved << 9 | flags`. */
  reserved = 0;
  /** Raw window field, before scaling. */
  window = 0;
  checksum = 0;
  urgent = 0;
  /** Segment length from the IP length: the real payload even when the capture cut it. */
  payloadLength = 0;
  /** Payload bytes actually present in the capture. */
  capturedPayload = 0;
  /** Offset of the payload in the frame buffer. */
  payloadOffset = 0;
  /** The capture cut this segment short (snaplen). */
  truncated = false;
  // Options; -1 or false when absent.
  mss = -1;
  windowScale = -1;
  sackPermitted = false;
  /** Number of SACK blocks and their edges: left0, right0, left1, right1, ... */
  sackCount = 0;
  readonly sack = new Float64Array(8);
  hasTimestamp = false;
  tsVal = 0;
  tsEcr = 0;
  /** TCP Fast Open option (RFC 7413): -1 absent, 0 cookie request, else cookie length. */
  tfoCookieLength = -1;
  /** MPTCP (RFC 8684, kind 30) subtypes present, one bit each (1 << subtype); 0 without MPTCP. */
  mptcpSubtypes = 0;
  /** An option was malformed (zero or overrunning length); the rest were ignored. */
  badOptions = false;
  /** Options continue past the captured bytes. */
  optionsTruncated = false;
}

/** The part of the offending segment an ICMP error quotes. */
export class QuotedTcp {
  readonly ip = new IpHeader();
  /** The quote holds at least the ports. */
  hasPorts = false;
  srcPort = 0;
  dstPort = 0;
  /** The quote holds the sequence number (8 bytes of TCP header). */
  hasSeq = false;
  seq = 0;
  /** The quote holds the acknowledgment number and flags (ICMPv6 quotes usually do). */
  hasAckAndFlags = false;
  ack = 0;
  flags = 0;
}

export const ICMP_UNREACHABLE = 'unreachable';
export const ICMP_TIME_EXCEEDED = 'time-exceeded';
export const ICMP_PACKET_TOO_BIG = 'packet-too-big';
export const ICMP_PARAMETER_PROBLEM = 'parameter-problem';
export const ICMP_SOURCE_QUENCH = 'source-quench';
export const ICMP_REDIRECT = 'redirect';
export type IcmpErrorClass =
  | typeof ICMP_UNREACHABLE
  | typeof ICMP_TIME_EXCEEDED
  | typeof ICMP_PACKET_TOO_BIG
  | typeof ICMP_PARAMETER_PROBLEM
  | typeof ICMP_SOURCE_QUENCH
  | typeof ICMP_REDIRECT;

export class IcmpError {
  /** 4 for ICMP, 6 for ICMPv6. */
  version: 4 | 6 = 4;
  type = 0;
  code = 0;
  errorClass: IcmpErrorClass = ICMP_UNREACHABLE;
  /** Next-hop MTU of a packet-too-big / fragmentation-needed message, else 0. */
  mtu = 0;
  /** The quoted IP header is TCP and was decoded. */
  quotesTcp = false;
  readonly quoted = new QuotedTcp();
}

export type OtherReason =
  | 'unsupported-linktype'
  | 'not-ip'
  | 'ip-fragment'
  | 'not-tcp'
  | 'truncated'
  | 'malformed'
  | 'pseudo-frame';

interface Decoded {
  /** The frame the packet came from (reused by the reader). */
  frame: Frame;
}

export interface TcpPacket extends Decoded {
  readonly kind: 'tcp';
  /** The innermost IP header (the one carrying the TCP segment). */
  ip: IpHeader;
  tcp: TcpHeader;
  /** The tunnels it came in, outermost first; depth 0 when none. */
  tunnel: TunnelPath;
}

export interface IcmpErrorPacket extends Decoded {
  readonly kind: 'icmp-error';
  ip: IpHeader;
  icmp: IcmpError;
  tunnel: TunnelPath;
}

export interface OtherPacket extends Decoded {
  readonly kind: 'other';
  reason: OtherReason;
  /** What was wrong, for malformed and truncated packets. */
  detail: string;
  /** The IP header when one was decoded. */
  ip: IpHeader | null;
}

export type Packet = TcpPacket | IcmpErrorPacket | OtherPacket;
