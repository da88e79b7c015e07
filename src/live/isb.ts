import { BT_ISB, ISB_ENDTIME } from '../capture/pcapng.js';
import { timestampUnits } from '../capture/timestamp-units.js';

export { BT_ISB };
// Interface Statistics Block options (draft-ietf-opsawg-pcapng 4.6).
const ISB_STARTTIME = 2;
const ISB_IFDROP = 5;
const ISB_FILTERACCEPT = 6;
const ISB_OSDROP = 7;
const ISB_USRDELIV = 8;

export interface IsbFields {
  interfaceId: number;
  /** Units per second of the interface's timestamps. */
  unitsPerSecond: number;
  start: { sec: number; nsec: number };
  end: { sec: number; nsec: number };
  /** libpcap's counters when known: ps_recv, ps_drop, ps_ifdrop. */
  filterAccept: number | null;
  osDrop: number | null;
  ifDrop: number | null;
  /** Packets delivered to tcpsleuth. */
  userDelivered: number;
}

/**
 * The body of an ISB (everything between the block length fields) in the given byte
 * order: interface id, the timestamp (the end of the capture), then the options.
 */
export function isbBody(f: IsbFields, littleEndian: boolean): Buffer {
  const opts: [number, Buffer][] = [];
  const u32 = (b: Buffer, v: number, at: number): void => {
    if (littleEndian) b.writeUInt32LE(v >>> 0, at);
    else b.writeUInt32BE(v >>> 0, at);
  };
  const time = (t: { sec: number; nsec: number }): Buffer => {
    const [hi, lo] = timestampUnits(t.sec, t.nsec, f.unitsPerSecond);
    const b = Buffer.alloc(8);
    u32(b, hi, 0);
    u32(b, lo, 4);
    return b;
  };
  const u64 = (v: number): Buffer => {
    const b = Buffer.alloc(8);
    if (littleEndian) b.writeBigUInt64LE(BigInt(v));
    else b.writeBigUInt64BE(BigInt(v));
    return b;
  };
  opts.push([ISB_STARTTIME, time(f.start)], [ISB_ENDTIME, time(f.end)]);
  if (f.ifDrop !== null) opts.push([ISB_IFDROP, u64(f.ifDrop)]);
  if (f.filterAccept !== null) opts.push([ISB_FILTERACCEPT, u64(f.filterAccept)]);
  if (f.osDrop !== null) opts.push([ISB_OSDROP, u64(f.osDrop)]);
  opts.push([ISB_USRDELIV, u64(f.userDelivered)]);
  // Every value here is 8 bytes: no padding needed.
  const body = Buffer.alloc(12 + opts.length * 12 + 4);
  u32(body, f.interfaceId, 0);
  const head = time(f.end);
  head.copy(body, 4);
  let p = 12;
  for (const [code, value] of opts) {
    if (littleEndian) {
      body.writeUInt16LE(code, p);
      body.writeUInt16LE(value.length, p + 2);
    } else {
      body.writeUInt16BE(code, p);
      body.writeUInt16BE(value.length, p + 2);
    }
    value.copy(body, p + 4);
    p += 4 + value.length;
  }
  // opt_endofopt: four zero bytes, already there.
  return body;
}
