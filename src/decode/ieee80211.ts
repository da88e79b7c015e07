import { decodeLlc } from './ethertype.js';
import type { LinkResult } from './link-result.js';

const TYPE_DATA = 2;
const TO_DS = 0x01;
const FROM_DS = 0x02;
const PROTECTED = 0x40;
const ORDER = 0x80;
/** QoS control's "A-MSDU present" bit. */
const AMSDU_PRESENT = 0x80;
/** An A-MSDU subframe's header: destination, source, length. */
const AMSDU_SUBFRAME_HEADER = 14;

/**
 * An IEEE 802.11 data frame at `off` (no radiotap, no FCS), as Aruba's access points
 * tunnel them in GRE: the MAC header (a fourth address between two distribution
 * systems, QoS control, HT control), then LLC/SNAP. Of an A-MSDU only the first
 * subframe is read, as Zeek reads it. Management, control, null and encrypted frames
 * carry no IP we can read: `out.net` stays NET_NONE.
 */
export function decodeIeee80211Data(buf: Buffer, off: number, end: number, out: LinkResult): void {
  if (off + 24 > end) {
    out.truncated = true;
    return;
  }
  const fc0 = buf[off]!;
  const fc1 = buf[off + 1]!;
  const subtype = fc0 >> 4;
  // Data frames with data (subtypes with bit 2 set are null-function frames).
  if (((fc0 >> 2) & 3) !== TYPE_DATA || (subtype & 0x4) !== 0 || (fc1 & PROTECTED) !== 0) return;
  let p = off + 24;
  if ((fc1 & (TO_DS | FROM_DS)) === (TO_DS | FROM_DS)) p += 6;
  let amsdu = false;
  if ((subtype & 0x8) !== 0) {
    if (p + 2 > end) {
      out.truncated = true;
      return;
    }
    amsdu = (buf[p]! & AMSDU_PRESENT) !== 0;
    p += 2;
    if ((fc1 & ORDER) !== 0) p += 4;
  }
  if (amsdu) p += AMSDU_SUBFRAME_HEADER;
  decodeLlc(buf, p, end, out);
}
