import { gzipSync } from 'node:zlib';

/**
 * The primitive edits every mutation is expressed in. A mutated input is its source
 * file plus a list of edits applied in order, so any input can be written down as a
 * small JSON recipe (test/fixtures/fuzz/*.json) and made again byte for byte: no
 * corpus bytes are ever copied into the repository.
 *
 * Positions are clamped to the buffer as it is when the edit applies, so every list
 * of edits applies to every buffer.
 */
export type Edit =
  /** Overwrite bytes at `at` (hex); bytes past the end are dropped. */
  | { op: 'set'; at: number; hex: string }
  /** XOR one byte with `mask` (a bit flip when mask is a power of two). */
  | { op: 'xor'; at: number; mask: number }
  /** Keep the first `length` bytes. */
  | { op: 'truncate'; length: number }
  /** Insert bytes (hex) before `at`. */
  | { op: 'insert'; at: number; hex: string }
  /** Remove `length` bytes from `at`. */
  | { op: 'remove'; at: number; length: number }
  /** Insert a copy of `[from, from + length)` before `to` (a duplicated record or block). */
  | { op: 'copy'; from: number; length: number; to: number }
  /** Append bytes (hex). */
  | { op: 'append'; hex: string }
  /** Replace the whole input by its gzip compression. */
  | { op: 'gzip' };

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export function applyEdit(b: Buffer, e: Edit): Buffer {
  switch (e.op) {
    case 'set': {
      const v = Buffer.from(e.hex, 'hex');
      const at = clamp(e.at, 0, b.length);
      const out = Buffer.from(b);
      v.copy(out, at, 0, Math.min(v.length, b.length - at));
      return out;
    }
    case 'xor': {
      if (e.at < 0 || e.at >= b.length) return b;
      const out = Buffer.from(b);
      out[e.at] = out[e.at]! ^ (e.mask & 0xff);
      return out;
    }
    case 'truncate':
      return b.subarray(0, clamp(e.length, 0, b.length));
    case 'insert': {
      const at = clamp(e.at, 0, b.length);
      return Buffer.concat([b.subarray(0, at), Buffer.from(e.hex, 'hex'), b.subarray(at)]);
    }
    case 'remove': {
      const at = clamp(e.at, 0, b.length);
      const end = clamp(at + Math.max(0, e.length), at, b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(end)]);
    }
    case 'copy': {
      const from = clamp(e.from, 0, b.length);
      const end = clamp(from + Math.max(0, e.length), from, b.length);
      const to = clamp(e.to, 0, b.length);
      return Buffer.concat([b.subarray(0, to), b.subarray(from, end), b.subarray(to)]);
    }
    case 'append':
      return Buffer.concat([b, Buffer.from(e.hex, 'hex')]);
    case 'gzip':
      return gzipSync(b, { level: 6 });
  }
}

export function applyEdits(source: Buffer, edits: readonly Edit[]): Buffer {
  let b = source;
  for (const e of edits) b = applyEdit(b, e);
  return b;
}

/** Parse and check a list of edits from JSON (recipes are data: never trust their shape). */
export function parseEdits(v: unknown): Edit[] {
  if (!Array.isArray(v)) throw new Error('edits: expected an array');
  return v.map((x: unknown, i): Edit => {
    if (typeof x !== 'object' || x === null) throw new Error(`edit ${i}: expected an object`);
    const o = x as Record<string, unknown>;
    const num = (k: string): number => {
      const n = o[k];
      if (typeof n !== 'number' || !Number.isInteger(n)) throw new Error(`edit ${i}: ${k} must be an integer`);
      return n;
    };
    const hex = (k: string): string => {
      const h = o[k];
      if (typeof h !== 'string' || !/^(?:[0-9a-f]{2})*$/i.test(h)) throw new Error(`edit ${i}: ${k} must be hex`);
      return h.toLowerCase();
    };
    switch (o.op) {
      case 'set':
        return { op: 'set', at: num('at'), hex: hex('hex') };
      case 'xor':
        return { op: 'xor', at: num('at'), mask: num('mask') };
      case 'truncate':
        return { op: 'truncate', length: num('length') };
      case 'insert':
        return { op: 'insert', at: num('at'), hex: hex('hex') };
      case 'remove':
        return { op: 'remove', at: num('at'), length: num('length') };
      case 'copy':
        return { op: 'copy', from: num('from'), length: num('length'), to: num('to') };
      case 'append':
        return { op: 'append', hex: hex('hex') };
      case 'gzip':
        return { op: 'gzip' };
      default:
        throw new Error(`edit ${i}: unknown op ${String(o.op)}`);
    }
  });
}
