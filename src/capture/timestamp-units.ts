/**
 * Timestamps as the pcapng writer stores them: a 64-bit count of an interface's
 * units (if_tsresol), for any time a reader delivered (seconds and nanoseconds).
 */
import { unitsPerSecond as unitsOfTsresol } from './timestamp.js';

const U32 = 0x1_0000_0000;

/** The if_tsresol byte for a resolution in units per second (a power of 10 or of 2). */
export function tsresolFor(unitsPerSecond: number): number {
  for (let n = 0; n <= 19; n++) if (10 ** n === unitsPerSecond) return n;
  for (let n = 1; n <= 63; n++) if (2 ** n === unitsPerSecond) return 0x80 | n;
  throw new RangeError(`timestamp resolution ${unitsPerSecond} units/s is neither a power of 10 (up to 10^19) nor of 2 (up to 2^63)`);
}

/** Units per second of an if_tsresol byte the writer can store times in (up to 10^-19 or 2^-63). */
export function unitsOf(tsresol: number): number {
  if (!Number.isInteger(tsresol) || tsresol < 0 || tsresol > 0xff) throw new RangeError(`if_tsresol ${tsresol} is not a byte`);
  const n = tsresol & 0x7f;
  if (tsresol & 0x80 ? n > 63 : n > 19) throw new RangeError(`if_tsresol 0x${tsresol.toString(16)} is out of range`);
  return unitsOfTsresol(tsresol);
}

/**
 * Timestamp `sec.nsec` as a 64-bit count of units of an interface whose times are
 * offset by `offsetSec`, split in [high, low] 32-bit halves. It is the smallest count
 * that reads back as exactly `sec.nsec` (readers truncate to nanoseconds), so any
 * time read from a file at any resolution is written back unchanged.
 */
export function timestampUnits(sec: number, nsec: number, unitsPerSec: number, offsetSec = 0): [number, number] {
  if (!Number.isSafeInteger(sec) || !Number.isInteger(nsec) || nsec < 0 || nsec >= 1e9) {
    throw new RangeError(`timestamp ${sec}.${nsec} is not whole seconds and 0..999999999 nanoseconds`);
  }
  const s = sec - offsetSec;
  if (unitsPerSec <= 1e9 && 1e9 % unitsPerSec === 0 && s >= 0 && s < 2 ** 42) {
    // Exact in doubles: s = sh * 2^21 + sl, every partial product below 2^52.
    const per = 1e9 / unitsPerSec;
    const frac = Math.ceil(nsec / per);
    const sh = Math.floor(s / 2 ** 21);
    const sl = s - sh * 2 ** 21;
    const x = sh * unitsPerSec; // times 2^21
    const y = sl * unitsPerSec + frac;
    const xHigh = Math.floor(x / 2 ** 11);
    const low = (x - xHigh * 2 ** 11) * 2 ** 21 + y;
    const carry = Math.floor(low / U32);
    return [xHigh + carry, low - carry * U32];
  }
  const u = BigInt(unitsPerSec);
  const v = BigInt(s) * u + (BigInt(nsec) * u + 999_999_999n) / 1_000_000_000n;
  if (v < 0n || v >= 1n << 64n) {
    throw new RangeError(`timestamp ${sec}.${String(nsec).padStart(9, '0')} does not fit the interface's 64-bit timestamp (offset ${offsetSec} s)`);
  }
  return [Number(v >> 32n), Number(v & 0xffffffffn)];
}
