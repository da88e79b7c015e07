import { be16 } from '../capture/bytes.js';
import { resolveEtherType } from './ethertype.js';
import type { LinkResult } from './link-result.js';

/** LINKTYPE_ETHERNET (1): destination, source, EtherType/length. */
export function decodeEthernet(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 14 > end) {
    out.truncated = true;
    return;
  }
  resolveEtherType(be16(buf, off + 12), buf, off + 14, end, out);
}
