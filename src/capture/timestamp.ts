/**
 * pcapng timestamps are 64-bit counts of interface-defined units. A double holds
 * integers exactly only up to 2^53, and epoch nanoseconds pass that, so the split
 * into seconds and nanoseconds is done without ever forming the 64-bit value.
 */

/** Result holder reused by the readers. */
export class SplitTime {
  sec = 0;
  nsec = 0;
}

const TWO32 = 4294967296;

/** Units per second for an if_tsresol byte: MSB clear 10^-n, set 2^-n. */
export function unitsPerSecond(tsresol: number): number {
  const n = tsresol & 0x7f;
  return tsresol & 0x80 ? 2 ** n : 10 ** n;
}

/**
 * Split `hi * 2^32 + lo` units into seconds and nanoseconds (truncating, as
 * Wireshark does). Exact for every resolution a real capture uses.
 */
export function splitUnits(hi: number, lo: number, unitsPerSec: number, out: SplitTime): void {
  let sec: number;
  let rem: number;
  if (hi < 0x200000) {
    // The value is below 2^53: plain arithmetic is exact.
    const v = hi * TWO32 + lo;
    sec = Math.floor(v / unitsPerSec);
    rem = v - sec * unitsPerSec;
  } else if (unitsPerSec < 2 ** 36) {
    // Long division by 16-bit digits keeps every intermediate below 2^53.
    const u = unitsPerSec;
    let cur = hi >>> 16;
    let q = Math.floor(cur / u);
    let r = cur - q * u;
    cur = r * 65536 + (hi & 0xffff);
    let d = Math.floor(cur / u);
    r = cur - d * u;
    q = q * 65536 + d;
    cur = r * 65536 + (lo >>> 16);
    d = Math.floor(cur / u);
    r = cur - d * u;
    q = q * 65536 + d;
    cur = r * 65536 + (lo & 0xffff);
    d = Math.floor(cur / u);
    r = cur - d * u;
    q = q * 65536 + d;
    sec = q;
    rem = r;
  } else {
    const v = (BigInt(hi) << 32n) | BigInt(lo);
    const u = BigInt(unitsPerSec);
    // The remainder may pass 2^53 (resolutions finer than 2^-53 s): nanoseconds from it in BigInt too.
    out.sec = Number(v / u);
    out.nsec = Number(((v % u) * 1_000_000_000n) / u);
    return;
  }
  out.sec = sec;
  out.nsec = remainderToNanos(rem, unitsPerSec);
}

function remainderToNanos(rem: number, unitsPerSec: number): number {
  if (unitsPerSec === 1e9) return rem;
  if (unitsPerSec <= 1e9 && 1e9 % unitsPerSec === 0) return rem * (1e9 / unitsPerSec);
  const scaled = rem * 1e9;
  if (scaled <= Number.MAX_SAFE_INTEGER) return Math.floor(scaled / unitsPerSec);
  return Number((BigInt(rem) * 1000000000n) / BigInt(unitsPerSec));
}

/** "1700000000.123456789", exact; the form tshark prints as frame.time_epoch. */
export function formatEpoch(sec: number, nsec: number): string {
  if (sec < 0 && nsec > 0) {
    // Negative times (a negative if_tsoffset) print as -S.F with F counted away from zero.
    const s = -(sec + 1);
    const n = 1e9 - nsec;
    return `-${s}.${String(n).padStart(9, '0')}`;
  }
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/** The last second formatIso turned into a date: a report's rows mostly fall in a few seconds, and a Date per row was a tenth of the table's time. */
let isoSec = NaN;
let isoBase = '';

/** ISO 8601 in UTC with microseconds, for people. */
export function formatIso(sec: number, nsec: number): string {
  if (sec !== isoSec) {
    const d = new Date(sec * 1000);
    if (Number.isNaN(d.getTime())) return formatEpoch(sec, nsec);
    isoBase = d.toISOString().slice(0, 19);
    isoSec = sec;
  }
  return `${isoBase}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}Z`;
}
