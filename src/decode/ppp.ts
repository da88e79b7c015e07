import { be16 } from '../capture/bytes.js';
import { pppProtocol, resolveEtherType } from './ethertype.js';
import type { LinkResult } from './link-result.js';

/**
 * LINKTYPE_PPP (9) and LINKTYPE_PPP_HDLC (50): an optional HDLC address/control
 * pair (FF 03), then the protocol field, which may be compressed to one byte (RFC 1661).
 */
export function decodePpp(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 2 > end) {
    out.truncated = true;
    return;
  }
  if (buf[off] === 0xff && buf[off + 1] === 0x03) off += 2;
  if (off + 1 > end) {
    out.truncated = true;
    return;
  }
  // Protocol-field compression: an odd first byte is a 1-byte protocol.
  if (buf[off]! & 0x01) {
    pppProtocol(buf[off]!, buf, off + 1, end, out);
    return;
  }
  if (off + 2 > end) {
    out.truncated = true;
    return;
  }
  pppProtocol(be16(buf, off), buf, off + 2, end, out);
}

/** LINKTYPE_C_HDLC (104), Cisco HDLC: address, control, then an EtherType. */
export function decodeCiscoHdlc(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 4 > end) {
    out.truncated = true;
    return;
  }
  resolveEtherType(be16(buf, off + 2), buf, off + 4, end, out);
}
