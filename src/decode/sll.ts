import { be16 } from '../capture/bytes.js';
import { resolveEtherType } from './ethertype.js';
import type { LinkResult } from './link-result.js';

/** ARPHRD_NETLINK: nflog/nfqueue netlink messages, never IP in the protocol field's sense. */
const ARPHRD_NETLINK = 824;

/**
 * LINKTYPE_LINUX_SLL (113), what `tcpdump -i any` wrote before libpcap 1.10:
 * packet type(2), ARPHRD type(2), address length(2), address(8), protocol(2).
 */
export function decodeSll(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 16 > end) {
    out.truncated = true;
    return;
  }
  if (be16(buf, off + 2) === ARPHRD_NETLINK) return;
  resolveEtherType(be16(buf, off + 14), buf, off + 16, end, out);
}

/**
 * LINKTYPE_LINUX_SLL2 (276), `tcpdump -i any` since libpcap 1.10: protocol(2),
 * reserved(2), interface index(4), ARPHRD type(2), packet type(1), address length(1), address(8).
 */
export function decodeSll2(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 20 > end) {
    out.truncated = true;
    return;
  }
  if (be16(buf, off + 8) === ARPHRD_NETLINK) return;
  resolveEtherType(be16(buf, off), buf, off + 20, end, out);
}
