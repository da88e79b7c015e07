import { be16, be32 } from '../capture/bytes.js';
import type { LayerProblem } from './ipv4.js';
import type { TcpHeader } from './packet.js';

const TCP_CUT = { truncated: true, detail: 'TCP header cut short by the capture' } as const;
const TCP_BAD_OFFSET = { truncated: false, detail: 'TCP data offset below 5 (header under 20 bytes)' } as const;
const TCP_HEADER_PAST_SEGMENT = { truncated: false, detail: 'TCP header longer than the segment the IP header describes' } as const;

const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WSCALE = 3;
const OPT_SACK_PERMITTED = 4;
const OPT_SACK = 5;
const OPT_TIMESTAMP = 8;
const OPT_MPTCP = 30;
const OPT_TFO = 34;
const OPT_EXPERIMENTAL = 254;
const TFO_EXID = 0xf989;

/**
 * Decode a TCP header at `off`. `segLen` is the segment length the IP header states
 * (header + payload); `capEnd` ends the captured bytes. The payload length always
 * comes from `segLen`, so Ethernet padding never counts and a snaplen-cut segment
 * keeps its real length.
 */
export function decodeTcp(buf: Buffer, off: number, capEnd: number, segLen: number, tcp: TcpHeader): LayerProblem {
  if (off + 20 > capEnd) return TCP_CUT;
  const hl = (buf[off + 12]! >> 4) * 4;
  if (hl < 20) return TCP_BAD_OFFSET;
  if (hl > segLen) return TCP_HEADER_PAST_SEGMENT;
  tcp.srcPort = be16(buf, off);
  tcp.dstPort = be16(buf, off + 2);
  tcp.seq = be32(buf, off + 4);
  tcp.ack = be32(buf, off + 8);
  tcp.headerLength = hl;
  tcp.flags = ((buf[off + 12]! & 0x01) << 8) | buf[off + 13]!;
  tcp.reserved = (buf[off + 12]! >> 1) & 0x07;
  tcp.window = be16(buf, off + 14);
  tcp.checksum = be16(buf, off + 16);
  tcp.urgent = be16(buf, off + 18);
  tcp.payloadLength = segLen - hl;
  tcp.payloadOffset = off + hl;
  const capPayload = capEnd - (off + hl);
  tcp.capturedPayload = capPayload <= 0 ? 0 : capPayload < tcp.payloadLength ? capPayload : tcp.payloadLength;
  tcp.truncated = tcp.capturedPayload < tcp.payloadLength || off + hl > capEnd;
  decodeOptions(buf, off + 20, off + hl, capEnd, tcp);
  return null;
}

function decodeOptions(buf: Buffer, start: number, hdrEnd: number, capEnd: number, tcp: TcpHeader): void {
  tcp.mss = -1;
  tcp.windowScale = -1;
  tcp.sackPermitted = false;
  tcp.sackCount = 0;
  tcp.hasTimestamp = false;
  tcp.tfoCookieLength = -1;
  tcp.mptcpSubtypes = 0;
  tcp.badOptions = false;
  tcp.optionsTruncated = hdrEnd > capEnd;
  const end = hdrEnd < capEnd ? hdrEnd : capEnd;
  let p = start;
  // Every step advances p by at least 1, so this ends within 40 iterations.
  while (p < end) {
    const kind = buf[p]!;
    if (kind === OPT_EOL) return;
    if (kind === OPT_NOP) {
      p++;
      continue;
    }
    if (p + 2 > end) {
      if (end === hdrEnd) tcp.badOptions = true;
      return;
    }
    const len = buf[p + 1]!;
    if (len < 2) {
      tcp.badOptions = true;
      return;
    }
    if (p + len > end) {
      if (p + len > hdrEnd) tcp.badOptions = true;
      return;
    }
    switch (kind) {
      case OPT_MSS:
        if (len === 4) tcp.mss = be16(buf, p + 2);
        break;
      case OPT_WSCALE:
        if (len === 3) tcp.windowScale = buf[p + 2]!;
        break;
      case OPT_SACK_PERMITTED:
        if (len === 2) tcp.sackPermitted = true;
        break;
      case OPT_SACK:
        if ((len - 2) % 8 === 0) {
          const n = Math.min((len - 2) / 8, 4);
          for (let i = 0; i < n; i++) {
            tcp.sack[2 * i] = be32(buf, p + 2 + 8 * i);
            tcp.sack[2 * i + 1] = be32(buf, p + 6 + 8 * i);
          }
          tcp.sackCount = n;
        }
        break;
      case OPT_TIMESTAMP:
        if (len === 10) {
          tcp.hasTimestamp = true;
          tcp.tsVal = be32(buf, p + 2);
          tcp.tsEcr = be32(buf, p + 6);
        }
        break;
      case OPT_TFO:
        tcp.tfoCookieLength = len - 2;
        break;
      case OPT_MPTCP:
        // The subtype is the high nibble of the byte after the length.
        if (len >= 3) tcp.mptcpSubtypes |= 1 << (buf[p + 2]! >> 4);
        break;
      case OPT_EXPERIMENTAL:
        // RFC 7413's pre-assignment form: kind 254 with ExID 0xF989.
        if (len >= 4 && be16(buf, p + 2) === TFO_EXID) tcp.tfoCookieLength = len - 4;
        break;
    }
    p += len;
  }
}
