import { MAX_RECORD_BYTES } from '../capture/errors.js';
import type { Edit } from './edits.js';
import type { Field, FrameSite, Layout, Unit } from './layout.js';
import type { Rng } from './rng.js';

/**
 * Mutators: each turns a source capture (and its layout) into a list of edits. The
 * structure-aware ones lie where a reader or decoder has to trust the file: record
 * and block lengths, option lengths, IP and TCP header lengths, link types.
 */

export interface MutationContext {
  src: Buffer;
  layout: Layout;
  rng: Rng;
}

export type Mutator = (ctx: MutationContext) => Edit[] | null;

/** Edits that keep every offset where it was (so several can be stacked on one layout). */
export const IN_PLACE = 'in-place';
/** Edits that move bytes: applied after the in-place ones. */
export const RESHAPING = 'reshaping';

export interface MutatorSpec {
  name: string;
  kind: typeof IN_PLACE | typeof RESHAPING;
  weight: number;
  fn: Mutator;
}

const hex = (b: Buffer): string => b.toString('hex');

function intBytes(v: number, size: 1 | 2 | 4, le: boolean): Buffer {
  const b = Buffer.alloc(size);
  v = v >>> 0;
  if (size === 1) b[0] = v & 0xff;
  else if (size === 2) {
    if (le) b.writeUInt16LE(v & 0xffff);
    else b.writeUInt16BE(v & 0xffff);
  } else if (le) b.writeUInt32LE(v);
  else b.writeUInt32BE(v);
  return b;
}

const INTERESTING_32 = [
  0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 15, 16, 19, 20, 23, 24, 27, 28, 31, 32, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x5ea, 0x5dc, 0x3fff, 0x4000, 0x7fff,
  0x8000, 0xfffe, 0xffff, 0x10000, 0x10001, MAX_RECORD_BYTES - 1, MAX_RECORD_BYTES, MAX_RECORD_BYTES + 1, MAX_RECORD_BYTES + 4, 0x7fffffff, 0x80000000,
  0xfffffff0, 0xfffffffc, 0xffffffff,
];
const INTERESTING_16 = [0, 1, 2, 3, 4, 5, 7, 8, 12, 19, 20, 21, 39, 40, 41, 60, 64, 0x7f, 0x80, 0xff, 0x100, 0x5dc, 0x7fff, 0x8000, 0xfffc, 0xfffe, 0xffff];
const INTERESTING_8 = [0, 1, 2, 4, 5, 0x0f, 0x10, 0x3f, 0x40, 0x45, 0x46, 0x4f, 0x60, 0x7f, 0x80, 0xc0, 0xfe, 0xff];

/** A lie for a field: an interesting constant, or the truth nudged. */
function lie(rng: Rng, value: number, size: 2 | 4): number {
  const table = size === 2 ? INTERESTING_16 : INTERESTING_32;
  const max = size === 2 ? 0xffff : 0xffffffff;
  switch (rng.int(4)) {
    case 0:
      return rng.pick(table);
    case 1:
      return Math.min(max, Math.max(0, value + rng.pick([-8, -4, -3, -2, -1, 1, 2, 3, 4, 8, 12, 16])));
    case 2:
      return Math.min(max, rng.pick([value * 2, value >>> 1, value + 0x10000, value ^ 0x80000000]) >>> 0);
    default:
      return size === 2 ? rng.int(0x10000) : rng.u32();
  }
}

function setInt(at: number, v: number, size: 1 | 2 | 4, le: boolean): Edit {
  return { op: 'set', at, hex: hex(intBytes(v, size, le)) };
}

function pickUnit(ctx: MutationContext, filter: (u: Unit) => boolean = () => true): Unit | null {
  const us = ctx.layout.units.filter(filter);
  return us.length ? ctx.rng.pick(us) : null;
}

function pickFrame(ctx: MutationContext, filter: (f: FrameSite) => boolean): FrameSite | null {
  const fs = ctx.layout.frames.filter(filter);
  return fs.length ? ctx.rng.pick(fs) : null;
}

const bitflip: Mutator = ({ src, layout, rng }) => {
  if (src.length === 0) return null;
  const n = rng.range(1, 8);
  const edits: Edit[] = [];
  for (let i = 0; i < n; i++) {
    let at: number;
    // Half the flips land near the start of a record or block, where the lengths are.
    if (layout.units.length && rng.chance(0.5)) {
      const u = rng.pick(layout.units);
      at = u.start + rng.int(Math.min(40, u.end - u.start));
    } else at = rng.int(src.length);
    edits.push({ op: 'xor', at, mask: 1 << rng.int(8) });
  }
  return edits;
};

const bytes: Mutator = ({ src, rng }) => {
  if (src.length === 0) return null;
  const n = rng.range(1, 4);
  const edits: Edit[] = [];
  for (let i = 0; i < n; i++) {
    const at = rng.int(src.length);
    const size = rng.pick([1, 2, 4] as const);
    const v = size === 1 ? rng.pick(INTERESTING_8) : size === 2 ? rng.pick(INTERESTING_16) : rng.pick(INTERESTING_32);
    edits.push(setInt(at, v, size, rng.chance(0.5)));
  }
  return edits;
};

const field: Mutator = ({ layout, rng }) => {
  if (!layout.fields.length) return null;
  const edits: Edit[] = [];
  const n = rng.chance(0.8) ? 1 : rng.range(2, 3);
  for (let i = 0; i < n; i++) {
    const f: Field = rng.pick(layout.fields);
    const v = lie(rng, f.value, f.size);
    edits.push(setInt(f.at, v, f.size, f.le));
    // A block length lie is often told consistently, at both ends.
    if (f.what === 'block-length' && rng.chance(0.4)) edits.push(setInt(f.at - 4 + f.value - 4, v, 4, f.le));
  }
  return edits;
};

const OPTION_CODES = [0, 1, 2, 3, 4, 9, 13, 14, 0x0bac, 0x8001, 0xffff];

const option: Mutator = ({ layout, rng }) => {
  if (!layout.options.length) return null;
  const o = rng.pick(layout.options);
  switch (rng.int(4)) {
    case 0:
      return [setInt(o.at + 2, lie(rng, o.length, 2), 2, o.le)];
    case 1:
      return [setInt(o.at, rng.pick(OPTION_CODES), 2, o.le)];
    case 2:
      // An if_tsresol, if_tsoffset or if_fcslen with an extreme value, in place of this option.
      if (o.length >= 8 && rng.chance(0.5)) return [setInt(o.at, 14, 2, o.le), setInt(o.at + 2, 8, 2, o.le), { op: 'set', at: o.at + 4, hex: hex(rng.chance(0.5) ? Buffer.alloc(8, 0xff) : Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])) }];
      return [setInt(o.at, rng.pick([9, 13]), 2, o.le), setInt(o.at + 2, 1, 2, o.le), setInt(o.at + 4, rng.pick([0, 19, 20, 63, 0x80, 0xbf, 0xc0, 0xff, 0x7f]), 1, o.le)];
    default:
      // Binary garbage in the value: comments and names that are not UTF-8.
      return o.length > 0 ? [{ op: 'set', at: o.at + 4, hex: hex(rng.bytes(Math.min(o.length, 32))) }] : null;
  }
};

const ip: Mutator = (ctx) => {
  const { rng } = ctx;
  const f = pickFrame(ctx, (s) => s.ip >= 0);
  if (f === null) return null;
  const at = f.ip;
  if (f.ipVersion === 4) {
    switch (rng.int(6)) {
      case 0:
        return [setInt(at, 0x40 | rng.int(16), 1, false)]; // IHL 0..15
      case 1:
        return [setInt(at + 2, lie(rng, ctx.src.readUInt16BE(at + 2), 2), 2, false)]; // total length
      case 2:
        return [setInt(at, (rng.pick([0, 5, 6, 15]) << 4) | (ctx.src[at]! & 0x0f), 1, false)]; // version
      case 3:
        return [setInt(at + 9, rng.pick([0, 1, 6, 17, 41, 44, 47, 58, 255]), 1, false)]; // protocol
      case 4:
        return [setInt(at + 6, rng.pick([0x2000, 0x0001, 0x1fff, 0x3fff, 0x4000, 0xffff]), 2, false)]; // fragments
      default:
        // IHL larger than what follows, with options that lie about their own lengths.
        return [setInt(at, 0x4f, 1, false), { op: 'set', at: at + 20, hex: hex(Buffer.from(rng.pick([[0x44, 0, 0, 0], [7, 255, 4], [0x94, 1], [1, 1, 1, 0x82, 40]]))) }];
    }
  }
  switch (rng.int(4)) {
    case 0:
      return [setInt(at + 4, lie(rng, ctx.src.readUInt16BE(at + 4), 2), 2, false)]; // payload length
    case 1:
      return [setInt(at + 6, rng.pick([0, 6, 43, 44, 51, 58, 59, 60, 135, 139, 140]), 1, false)];
    case 2: {
      // A chain of hop-by-hop headers each naming another: longer than any bound.
      const chain = Buffer.alloc(8 * rng.range(2, 24));
      for (let i = 0; i < chain.length; i += 8) chain[i] = rng.pick([0, 60, 43, 44, 51]);
      return [setInt(at + 6, 0, 1, false), { op: 'set', at: at + 40, hex: hex(chain) }];
    }
    default:
      // An extension header whose length runs past everything.
      return [setInt(at + 6, rng.pick([0, 43, 60, 51]), 1, false), { op: 'set', at: at + 40, hex: hex(Buffer.from([6, rng.pick([1, 8, 32, 255])])) }];
  }
};

const TCP_OPTION_LIES = [
  [2, 0],
  [2, 1],
  [8, 1],
  [5, 255],
  [5, 3, 0],
  [3, 40],
  [34, 0],
  [254, 2],
  [254, 3, 0xf9],
  [1, 1, 1, 2],
  [5, 34],
];

const tcp: Mutator = (ctx) => {
  const { rng } = ctx;
  const f = pickFrame(ctx, (s) => s.l4Kind === 'tcp');
  if (f === null) return null;
  const at = f.l4;
  switch (rng.int(4)) {
    case 0:
      return [setInt(at + 12, (rng.int(16) << 4) | (ctx.src[at + 12]! & 0x0f), 1, false)]; // data offset 0..15
    case 1: {
      // Options that lie: zero length, length 1, overrunning the header.
      const opt = Buffer.from(rng.pick(TCP_OPTION_LIES));
      const edits: Edit[] = [{ op: 'set', at: at + 20, hex: hex(opt) }];
      if (f.tcpHeaderLength <= 20 || rng.chance(0.3)) edits.push(setInt(at + 12, (rng.range(6, 15) << 4) | (ctx.src[at + 12]! & 0x0f), 1, false));
      return edits;
    }
    case 2:
      return [setInt(at + 13, rng.int(256), 1, false)]; // flags
    default:
      return [{ op: 'set', at: at + 20, hex: hex(rng.bytes(rng.range(1, 40))) }, setInt(at + 12, 0xf0, 1, false)];
  }
};

const icmp: Mutator = (ctx) => {
  const { rng } = ctx;
  const f = pickFrame(ctx, (s) => s.ip >= 0 && s.l4 >= 0 && s.l4 + 8 <= s.dataEnd);
  if (f === null) return null;
  const edits: Edit[] = [];
  // Turn the packet into an ICMP error (if it is not one) quoting whatever follows.
  if (f.l4Kind !== 'icmp') {
    if (f.ipVersion === 4) edits.push(setInt(f.ip + 9, 1, 1, false), { op: 'set', at: f.l4, hex: hex(Buffer.from([rng.pick([3, 4, 5, 11, 12]), rng.int(16), 0, 0, 0, 0, 0x05, 0xdc])) });
    else edits.push(setInt(f.ip + 6, 58, 1, false), { op: 'set', at: f.l4, hex: hex(Buffer.from([rng.pick([1, 2, 3, 4]), rng.int(8), 0, 0, 0, 0, 0x05, 0xdc])) });
  }
  const q = f.l4 + 8;
  switch (rng.int(4)) {
    case 0:
      edits.push({ op: 'set', at: q, hex: hex(rng.bytes(rng.range(1, 48))) });
      break;
    case 1:
      // A quoted IPv4 header with IHL 15 or IHL 1, then nothing much.
      edits.push({ op: 'set', at: q, hex: hex(Buffer.from([rng.pick([0x4f, 0x41, 0x45]), 0, 0, 0, 0, 0, 0, 0, 64, 6])) });
      break;
    case 2: {
      // A quoted IPv6 header with a chain of extension headers.
      const h = Buffer.alloc(40 + 8 * rng.range(1, 20));
      h[0] = 0x60;
      h[6] = 0;
      for (let i = 40; i < h.length; i += 8) h[i] = rng.pick([0, 60, 43, 6]);
      edits.push({ op: 'set', at: q, hex: hex(h) });
      break;
    }
    default:
      // The quote is this very packet's IP header: an error quoting an error quoting...
      edits.push({ op: 'copy', from: f.ip, length: Math.min(f.dataEnd - f.ip, 64), to: q });
  }
  return edits;
};

const LINK_TYPES = [0, 1, 6, 9, 10, 12, 14, 50, 101, 104, 105, 108, 113, 127, 129, 178, 189, 195, 228, 229, 239, 242, 249, 252, 263, 276];

const linktype: Mutator = ({ layout, rng }) => {
  const fs = layout.fields.filter((f) => f.what === 'linktype');
  if (!fs.length) return null;
  const f = rng.pick(fs);
  let v = rng.chance(0.8) ? rng.pick(LINK_TYPES) : rng.int(0x10000);
  if (f.size === 4 && rng.chance(0.2)) v = (v | 0x04000000 | (rng.int(16) << 28)) >>> 0; // FCS bits
  return [setInt(f.at, v, f.size, f.le)];
};

const MAGICS = [0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34, 0xd4c3b2a1, 0x4d3cb2a1, 0x34cdb2a1, 0x0a0d0d0a];

const magic: Mutator = ({ layout, rng }) => {
  if (layout.format === 'pcap') return [setInt(0, rng.pick(MAGICS), 4, false)];
  const shbs = layout.units.filter((u) => u.type === 0x0a0d0d0a);
  if (!shbs.length) return null;
  const u = rng.pick(shbs);
  // The byte-order magic: swapped, or garbage.
  return [setInt(u.start + 8, rng.pick([0x1a2b3c4d, 0x4d3c2b1a, 0, 0xffffffff]), 4, false)];
};

const truncateBoundary: Mutator = ({ layout, rng }) => {
  const u = rng.pick(layout.units.length ? layout.units : [{ start: 0, end: 0 } as Unit]);
  const len = u.end - u.start;
  const delta = rng.pick([0, 0, 1, 4, 7, 8, 11, 12, 15, 16, 20, 23, 24, 27, 28, len - 4, len - 1, rng.int(len + 1)]);
  return [{ op: 'truncate', length: u.start + Math.max(0, Math.min(len, delta)) }];
};

const truncate: Mutator = ({ src, rng }) => [{ op: 'truncate', length: rng.int(src.length + 1) }];

const tail: Mutator = ({ layout, rng }) => {
  switch (rng.int(4)) {
    case 0:
      return [{ op: 'append', hex: hex(rng.bytes(rng.range(1, 64))) }];
    case 1: {
      // A record or block header alone, or one claiming huge lengths.
      const le = layout.units[0]?.le ?? true;
      const len = rng.pick([12, 16, 0x1000000, 0xffffffff, 32, 28]);
      const type = layout.format === 'pcapng' ? rng.pick([6, 3, 1, 0x0a0d0d0a, 0x0bad, 2, 5]) : rng.u32();
      return [{ op: 'append', hex: hex(Buffer.concat([intBytes(type, 4, le), intBytes(len, 4, le), intBytes(len, 4, le)]).subarray(0, rng.range(1, 12))) }];
    }
    case 2:
      return [{ op: 'append', hex: '00'.repeat(rng.range(1, 40)) }];
    default: {
      // A copy of the start of a real record or block.
      const u = pickUnitRaw(layout, rng);
      return u ? [{ op: 'copy', from: u.start, length: rng.range(1, Math.max(1, u.end - u.start - 1)), to: 0x7fffffff }] : null;
    }
  }
};

function pickUnitRaw(layout: Layout, rng: Rng): Unit | null {
  return layout.units.length ? rng.pick(layout.units) : null;
}

const duplicate: Mutator = (ctx) => {
  const u = pickUnit(ctx, (x) => x.kind !== 'file-header' || ctx.layout.format === 'pcapng');
  const to = pickUnit(ctx, (x) => x.kind !== 'file-header');
  if (u === null || to === null) return null;
  return [{ op: 'copy', from: u.start, length: u.end - u.start, to: ctx.rng.chance(0.5) ? to.start : to.end }];
};

const reorder: Mutator = (ctx) => {
  const us = ctx.layout.units.filter((x) => x.kind !== 'file-header');
  if (us.length < 2) return null;
  const i = ctx.rng.int(us.length - 1);
  const a = us[i]!;
  const b = ctx.rng.chance(0.7) ? us[i + 1]! : us[ctx.rng.range(i + 1, us.length - 1)]!;
  // b moves before a: copy it there, then remove the original (now shifted by its length).
  return [
    { op: 'copy', from: b.start, length: b.end - b.start, to: a.start },
    { op: 'remove', at: b.start + (b.end - b.start), length: b.end - b.start },
  ];
};

const removeUnit: Mutator = (ctx) => {
  const u = pickUnit(ctx, (x) => x.kind !== 'file-header');
  return u ? [{ op: 'remove', at: u.start, length: u.end - u.start }] : null;
};

export const MUTATORS: readonly MutatorSpec[] = [
  { name: 'bitflip', kind: IN_PLACE, weight: 6, fn: bitflip },
  { name: 'bytes', kind: IN_PLACE, weight: 4, fn: bytes },
  { name: 'field', kind: IN_PLACE, weight: 6, fn: field },
  { name: 'option', kind: IN_PLACE, weight: 3, fn: option },
  { name: 'ip', kind: IN_PLACE, weight: 5, fn: ip },
  { name: 'tcp', kind: IN_PLACE, weight: 5, fn: tcp },
  { name: 'icmp', kind: IN_PLACE, weight: 3, fn: icmp },
  { name: 'linktype', kind: IN_PLACE, weight: 3, fn: linktype },
  { name: 'magic', kind: IN_PLACE, weight: 1, fn: magic },
  { name: 'truncate-boundary', kind: RESHAPING, weight: 4, fn: truncateBoundary },
  { name: 'truncate', kind: RESHAPING, weight: 1, fn: truncate },
  { name: 'tail', kind: RESHAPING, weight: 2, fn: tail },
  { name: 'duplicate', kind: RESHAPING, weight: 2, fn: duplicate },
  { name: 'reorder', kind: RESHAPING, weight: 2, fn: reorder },
  { name: 'remove-unit', kind: RESHAPING, weight: 1, fn: removeUnit },
];

const TOTAL_WEIGHT = MUTATORS.reduce((n, m) => n + m.weight, 0);

function pickMutator(rng: Rng): MutatorSpec {
  let w = rng.int(TOTAL_WEIGHT);
  for (const m of MUTATORS) {
    if (w < m.weight) return m;
    w -= m.weight;
  }
  return MUTATORS[0]!;
}

export interface Mutation {
  /** Mutator names, in the order their edits apply. */
  names: string[];
  edits: Edit[];
}

/**
 * One to four mutations of a source: in-place ones first (the layout still holds for
 * them), then at most one or two that move bytes, and sometimes gzip over it all
 * (with damage to the compressed bytes now and then).
 */
export function mutate(ctx: MutationContext): Mutation {
  const { rng } = ctx;
  const n = rng.pick([1, 1, 1, 2, 2, 3, 4]);
  const chosen: MutatorSpec[] = [];
  for (let i = 0; i < n; i++) chosen.push(pickMutator(rng));
  chosen.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === IN_PLACE ? -1 : 1));
  const names: string[] = [];
  const edits: Edit[] = [];
  for (const m of chosen) {
    const e = m.fn(ctx);
    if (e === null || e.length === 0) continue;
    names.push(m.name);
    edits.push(...e);
  }
  if (edits.length === 0) {
    names.push('bitflip');
    edits.push({ op: 'xor', at: rng.int(Math.max(1, ctx.src.length)), mask: 1 << rng.int(8) });
  }
  if (rng.chance(ctx.layout.gzip ? 0.5 : 0.06)) {
    names.push('gzip');
    edits.push({ op: 'gzip' });
    if (rng.chance(0.4)) {
      names.push('gzip-damage');
      // Positions past the end are clamped (xor ignores them): aim at the compressed size roughly.
      const approx = Math.max(20, Math.floor(ctx.src.length / 3));
      edits.push(rng.chance(0.5) ? { op: 'truncate', length: rng.range(1, approx) } : { op: 'xor', at: rng.range(0, approx), mask: 1 << rng.int(8) });
    }
  }
  return { names, edits };
}
