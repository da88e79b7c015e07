import type { Frame } from '../capture/frame.js';
import { decodeIcmpError } from './icmp.js';
import { decodeIpv4, type LayerProblem } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { LinkResult, NET_IPV4, NET_IPV6, type NetProto } from './link-result.js';
import { linkDecoder, type LinkDecoder } from './linktypes.js';
import {
  IcmpError,
  IpHeader,
  TcpHeader,
  type IcmpErrorPacket,
  type OtherPacket,
  type OtherReason,
  type Packet,
  type TcpPacket,
} from './packet.js';
import { decodeTcp } from './tcp.js';
import { decap, decapTableFor, DecapTable, mayCarryTunnel } from './decap.js';
import { DECAP_CUT, DECAP_NOT } from './decap-result.js';
import { TunnelPath, type DecapConfig } from './tunnel.js';

const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_ICMPV6 = 58;
const LINK_CUT = { truncated: true, detail: 'link-layer header cut short by the capture' } as const;
const TUNNEL_CUT = { truncated: true, detail: 'tunnel header cut short by the capture' } as const;
const TUNNEL_PAST_END = { truncated: false, detail: 'tunnel header runs past the end of its datagram' } as const;
const INNER_LINK_CUT = { truncated: true, detail: 'link-layer header inside a tunnel cut short by the capture' } as const;
/** An IP packet's largest size (IPv6 jumbograms aside): bounds an inner packet whose outer datagram is a fragment. */
const MAX_IP_PACKET = 65535;

/** Counts of what the decoder saw, for the capture summary. */
export class DecodeStats {
  tcp = 0;
  icmpErrors = 0;
  /** IP fragments (first or later); TCP is decoded from first fragments only. */
  ipFragments = 0;
  /** Frames whose link type we do not decode, by link type. */
  readonly unsupportedLinkTypes = new Map<number, number>();
  /** TCP segments found inside a tunnel (VXLAN, GRE, ...). */
  tunnelledTcp = 0;
  /** Packets nested in more tunnels than MAX_TUNNEL_DEPTH: not looked into further. */
  tunnelTooDeep = 0;
  /** Frames cut short by the capture before their TCP header was complete. */
  truncated = 0;
  /** TCP segments whose payload the capture cut short (snaplen): their length is still known. */
  truncatedPayloads = 0;
  /** IP headers claiming more bytes than the frame held: the length was cut to the frame. */
  ipLengthExceedsFrame = 0;
  /** Frames with impossible headers, by what was wrong. */
  readonly malformed = new Map<string, number>();
  /** TCP segments with a malformed option (a zero or overrunning length): the options after it were ignored. */
  badTcpOptions = 0;
  /**
   * Frames with damage of any kind, each counted once: malformed, cut before the TCP
   * header (truncated), an IP length claiming more than the frame held, or malformed
   * TCP options. (A TCP payload cut by the snaplen is not damage: its length is known.)
   */
  damagedPackets = 0;
  /** The first damaged frame: its number (0: none), the byte offset of its record (-1: none) and what was wrong. */
  firstDamagedFrame = 0;
  firstDamagedOffset = -1;
  firstDamage = '';
}

const IP_LENGTH_LIE = 'IP length claims more bytes than the frame held (cut to the frame)';
const TCP_BAD_OPTIONS = 'TCP option with a zero or overrunning length (options after it ignored)';

/**
 * Frame -> Packet. Owns one packet object of each kind and refills it per frame,
 * so decoding allocates nothing.
 */
export class Decoder {
  readonly stats = new DecodeStats();
  private readonly link = new LinkResult();
  /** The encapsulations of the packet decoded last, outermost first (depth 0: none). */
  readonly tunnel = new TunnelPath();
  private readonly tcpPacket: TcpPacket = { kind: 'tcp', frame: null as unknown as Frame, ip: new IpHeader(), tcp: new TcpHeader(), tunnel: this.tunnel };
  private readonly icmpPacket: IcmpErrorPacket = { kind: 'icmp-error', frame: null as unknown as Frame, ip: this.tcpPacket.ip, icmp: new IcmpError(), tunnel: this.tunnel };
  /** Which UDP ports carry which encapsulation; null: decapsulation is off. */
  private readonly decapTable: DecapTable | null;
  /** Where the inner packet descend() found ends: in the capture, and as sent. */
  private innerCapEnd = 0;
  private innerWireEnd = 0;
  private readonly otherPacket: OtherPacket = { kind: 'other', frame: null as unknown as Frame, reason: 'not-ip', detail: '', ip: null };
  /** The last frame's link type and its decoder. */
  private linkType = -1;
  private linkDecoder: LinkDecoder | undefined = undefined;
  /** The frame being decoded was already counted as damaged. */
  private counted = false;
  /**
   * Hears every damaged frame once, with what was wrong first (a constant string):
   * the analysis turns these into located warnings. Called before decode returns.
   */
  onDamage: ((frame: Frame, detail: string) => void) | null = null;

  /** `decap` says what to decapsulate (default: every encapsulation, on its standard ports). */
  constructor(decap?: DecapConfig | DecapTable | null) {
    this.decapTable = decap === null ? null : decap instanceof DecapTable ? decap : decapTableFor(decap);
  }

  decode(frame: Frame): Packet {
    this.counted = false;
    if (frame.linkType < 0) return this.other(frame, 'pseudo-frame', '', null);
    // Every frame of a run has the link type of the one before: the table is asked only at a change.
    if (frame.linkType !== this.linkType) {
      this.linkType = frame.linkType;
      this.linkDecoder = linkDecoder(frame.linkType);
    }
    const dec = this.linkDecoder;
    if (dec === undefined) {
      const m = this.stats.unsupportedLinkTypes;
      m.set(frame.linkType, (m.get(frame.linkType) ?? 0) + 1);
      return this.other(frame, 'unsupported-linktype', '', null);
    }
    const buf = frame.buf;
    let capEnd = frame.offset + frame.capLen;
    // Where the frame would end had nothing been cut (never before what we have).
    let wireEnd = frame.offset + (frame.origLen > frame.capLen ? frame.origLen : frame.capLen);
    const link = this.link;
    link.reset();
    dec(buf, frame.offset, capEnd, link);
    if (link.truncated) return this.problem(frame, LINK_CUT, null);
    if (link.net !== NET_IPV4 && link.net !== NET_IPV6) return this.other(frame, 'not-ip', '', null);
    if (link.end >= 0) {
      // A link-layer length field (PPPoE, 802.3, NFLOG) ends the packet: what follows is padding.
      if (link.end < capEnd) capEnd = link.end < link.offset ? link.offset : link.end;
      if (link.end < wireEnd) wireEnd = link.end < link.offset ? link.offset : link.end;
    }

    const ip = this.tcpPacket.ip;
    this.tunnel.reset();
    let net: NetProto = link.net;
    let off = link.offset;
    // One turn per IP header: the outer one, then one per tunnel (descend).
    for (;;) {
      const problem = net === NET_IPV4 ? decodeIpv4(buf, off, capEnd, wireEnd, ip, false) : decodeIpv6(buf, off, capEnd, wireEnd, ip, false);
      if (problem !== null) return this.problem(frame, problem, null);
      if (ip.lengthExceedsFrame) {
        this.stats.ipLengthExceedsFrame++;
        this.damaged(frame, IP_LENGTH_LIE);
      }
      if (ip.fragment) {
        this.stats.ipFragments++;
        if (ip.laterFragment) return this.other(frame, 'ip-fragment', '', ip);
      }
      const l4 = ip.offset + ip.headerLength;
      if (ip.protocol === PROTO_TCP) return this.tcp(frame, l4, capEnd);
      const ipEnd = l4 + ip.payloadLength;
      if ((ip.protocol === PROTO_ICMP && ip.version === 4) || (ip.protocol === PROTO_ICMPV6 && ip.version === 6)) {
        // The quote ends with the outer datagram: an Ethernet trailer or padding is not quoted TCP.
        return this.icmp(frame, l4, ipEnd < capEnd ? ipEnd : capEnd);
      }
      const stop = this.descend(frame, l4, ipEnd, capEnd, wireEnd);
      if (stop !== null) return stop;
      net = this.link.net;
      off = this.link.offset;
      capEnd = this.innerCapEnd;
      wireEnd = this.innerWireEnd;
    }
  }

  private tcp(frame: Frame, l4: number, capEnd: number): Packet {
    const p = this.tcpPacket;
    const tp = decodeTcp(frame.buf, l4, capEnd, p.ip.payloadLength, p.tcp);
    if (tp !== null) return this.problem(frame, tp, p.ip);
    this.stats.tcp++;
    if (p.tcp.truncated) this.stats.truncatedPayloads++;
    if (p.tcp.badOptions) {
      this.stats.badTcpOptions++;
      this.damaged(frame, TCP_BAD_OPTIONS);
    }
    if (this.tunnel.depth !== 0) this.stats.tunnelledTcp++;
    p.frame = frame;
    return p;
  }

  private icmp(frame: Frame, l4: number, end: number): Packet {
    const p = this.icmpPacket;
    if (!decodeIcmpError(frame.buf, l4, end, p.ip.version, p.icmp)) return this.other(frame, 'not-tcp', '', p.ip);
    this.stats.icmpErrors++;
    p.frame = frame;
    return p;
  }

  /**
   * The IP payload at `l4` is it an encapsulation? Null when it is: the next layer of
   * the tunnel path is filled, `link` says where the inner packet starts, and
   * innerCapEnd and innerWireEnd where it ends. Otherwise the packet as it stands.
   */
  private descend(frame: Frame, l4: number, ipEnd: number, capEnd: number, wireEnd: number): OtherPacket | null {
    const ip = this.tcpPacket.ip;
    const tunnel = this.tunnel;
    const table = this.decapTable;
    if (table === null || !mayCarryTunnel(ip.protocol)) return this.other(frame, 'not-tcp', '', ip);
    if (tunnel.full) {
      this.stats.tunnelTooDeep++;
      return this.other(frame, 'not-tcp', '', ip);
    }
    const end = ipEnd < capEnd ? ipEnd : capEnd;
    const inner = this.link;
    inner.reset();
    const r = decap(table, frame.buf, ip, l4, end, tunnel.next, inner);
    if (r === DECAP_NOT) return this.other(frame, 'not-tcp', '', ip);
    if (r === DECAP_CUT) {
      // Cut by the capture only when bytes of the datagram are missing. A first fragment's
      // header goes on in the next fragment (not reassembled, as later ones are not); else
      // the datagram itself is too short for the header it claims.
      if (ipEnd > capEnd) return this.problem(frame, TUNNEL_CUT, ip);
      if (ip.fragment) return this.other(frame, 'ip-fragment', '', ip);
      return this.problem(frame, TUNNEL_PAST_END, ip);
    }
    tunnel.push(ip);
    if (inner.truncated) return this.problem(frame, INNER_LINK_CUT, ip);
    if (inner.net !== NET_IPV4 && inner.net !== NET_IPV6) return this.other(frame, 'not-ip', '', ip);
    // A first fragment holds only the start of what it carries: the inner packet's own
    // length is the truth, and the capture ends what we have of it.
    if (ip.fragment) tunnel.outerFragment = true;
    const innerWireEnd = ip.fragment ? inner.offset + MAX_IP_PACKET : ipEnd < wireEnd ? ipEnd : wireEnd;
    // A link-layer length inside (PPPoE in the tunnel) ends the inner packet sooner.
    const w = inner.end >= 0 && inner.end < innerWireEnd ? (inner.end < inner.offset ? inner.offset : inner.end) : innerWireEnd;
    this.innerWireEnd = w;
    this.innerCapEnd = end > w ? w : end;
    return null;
  }

  /** Count a damaged frame (once per frame) and remember the first. */
  private damaged(frame: Frame, detail: string): void {
    if (this.counted) return;
    this.counted = true;
    const s = this.stats;
    if (s.damagedPackets++ === 0) {
      s.firstDamagedFrame = frame.index;
      s.firstDamagedOffset = frame.fileOffset;
      s.firstDamage = detail;
    }
    this.onDamage?.(frame, detail);
  }

  private problem(frame: Frame, problem: NonNullable<LayerProblem>, ip: IpHeader | null): OtherPacket {
    this.damaged(frame, problem.detail);
    if (problem.truncated) {
      this.stats.truncated++;
      return this.other(frame, 'truncated', problem.detail, ip);
    }
    const m = this.stats.malformed;
    m.set(problem.detail, (m.get(problem.detail) ?? 0) + 1);
    return this.other(frame, 'malformed', problem.detail, ip);
  }

  private other(frame: Frame, reason: OtherReason, detail: string, ip: IpHeader | null): OtherPacket {
    const p = this.otherPacket;
    p.frame = frame;
    p.reason = reason;
    p.detail = detail;
    p.ip = ip;
    return p;
  }
}
