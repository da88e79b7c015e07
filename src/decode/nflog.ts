import { NET_IPV4, NET_IPV6, type LinkResult } from './link-result.js';

const NFULA_PAYLOAD = 9;
const AF_INET = 2;
const AF_INET6 = 10;
/** TLVs walked at most; each is at least 4 bytes, so a frame cannot make this loop long anyway. */
const MAX_TLVS = 256;

/**
 * LINKTYPE_NFLOG (239), Linux netfilter log: family(1), version(1), resource id(2),
 * then TLVs whose length and type are in the capturing host's byte order (little
 * endian on every platform that writes them in practice), padded to 4 bytes.
 */
export function decodeNflog(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 4 > end) {
    out.truncated = true;
    return;
  }
  const family = buf[off]!;
  let p = off + 4;
  for (let i = 0; i < MAX_TLVS && p + 4 <= end; i++) {
    const len = buf[p]! | (buf[p + 1]! << 8);
    const type = (buf[p + 2]! | (buf[p + 3]! << 8)) & 0x7fff;
    if (len < 4) return;
    if (type === NFULA_PAYLOAD) {
      if (family === AF_INET) out.net = NET_IPV4;
      else if (family === AF_INET6) out.net = NET_IPV6;
      out.offset = p + 4;
      out.end = p + len; // the TLV's length bounds the packet; padding follows
      return;
    }
    p += (len + 3) & ~3;
  }
}
