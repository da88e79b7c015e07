/**
 * pcapng options as the writer takes them and as the rewriter reads them from a
 * block: a code and a value, padded to 32 bits in the file, the list ended by
 * opt_endofopt.
 */
import { OPT_END } from './pcapng-codes.js';

/** An option value is at most this long (its length field has 16 bits). */
export const MAX_OPTION_BYTES = 0xffff;

/** A string (written as UTF-8) or bytes (written as they are). */
export type OptionValue = string | Uint8Array;

/** One option as it goes into a block: code and value, in the section's byte order for numbers. */
export interface PcapngOption {
  code: number;
  value: Uint8Array;
}

export function bytesOf(v: OptionValue): Uint8Array {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** `n` rounded up to a multiple of 4 (pcapng pads every field to 32 bits). */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}

export function checkOption(o: PcapngOption): void {
  if (!Number.isInteger(o.code) || o.code <= 0 || o.code > 0xffff) throw new RangeError(`option code ${o.code} is not 1..65535`);
  if (o.value.length > MAX_OPTION_BYTES) throw new RangeError(`option ${o.code} is ${o.value.length} bytes, more than ${MAX_OPTION_BYTES}`);
}

/** Bytes the options take, opt_endofopt included (none when there are no options). */
export function optionsSize(opts: readonly PcapngOption[]): number {
  if (opts.length === 0) return 0;
  let n = 4;
  for (const o of opts) n += 4 + pad4(o.value.length);
  return n;
}

/**
 * The options in `buf[start, end)` of a block in the given byte order, up to
 * opt_endofopt. An option that overruns the area ends the walk (the readers drop it
 * too). Values are views into `buf`: copy them to keep them.
 */
export function readOptions(buf: Buffer, start: number, end: number, le: boolean): PcapngOption[] {
  const out: PcapngOption[] = [];
  for (let p = start; p + 4 <= end; ) {
    const code = le ? buf.readUInt16LE(p) : buf.readUInt16BE(p);
    const vl = le ? buf.readUInt16LE(p + 2) : buf.readUInt16BE(p + 2);
    if (code === OPT_END || p + 4 + vl > end) break;
    out.push({ code, value: buf.subarray(p + 4, p + 4 + vl) });
    p += 4 + pad4(vl);
  }
  return out;
}

/** An option with its own copy of the value. */
export const copyOption = (o: PcapngOption): PcapngOption => ({ code: o.code, value: Uint8Array.from(o.value) });
