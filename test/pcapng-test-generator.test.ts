/**
 * The pcapng-test-generator corpus (hadrielk/pcapng-test-generator): every output file,
 * little- and big-endian, read and checked against the block list of its .txt.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAll, type ReadBack, type ReadFrame } from './helpers/read-back.js';
import { CORPUS } from './helpers/env.js';

const ROOT = join(CORPUS, 'pcapng-test-generator');
const HAVE = existsSync(join(ROOT, 'output_le')) && existsSync(join(ROOT, 'output_be'));

interface Description {
  description: string;
  counts: Map<string, number>;
  sequence: string[];
  /** The whole text, for the mentions of comments. */
  text: string;
}

/** Parse a test's .txt: "Description:", "Block counts:" (indented "XYZ: n" lines), "Block sequence: A, B, ...". */
function parseTxt(text: string): Description {
  const description = /^Description:\s*(.*)$/m.exec(text)?.[1]?.trim() ?? '';
  const counts = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^Block counts:/.test(l));
  if (start >= 0) {
    for (const l of lines.slice(start + 1)) {
      const m = /^\s+([A-Z]+):\s*(\d+)\s*$/.exec(l);
      if (!m) break;
      counts.set(m[1]!, Number(m[2]));
    }
  }
  const seqLine = /^Block sequence:\s*(.*)$/m.exec(text)?.[1] ?? '';
  const sequence = seqLine
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return { description, counts, sequence, text };
}

const count = (d: Description, type: string): number => d.counts.get(type) ?? 0;

/** Blocks that Wireshark numbers as frames: packet blocks and custom blocks. */
const FRAME_BLOCKS = new Set(['EPB', 'SPB', 'PB', 'CB', 'DCB']);

/** What each frame should be, from the block sequence: its block type and its section's interface range. */
function expectedFrames(d: Description): Array<{ block: string; ifBase: number; ifCount: number }> {
  const out: Array<{ block: string; ifBase: number; ifCount: number }> = [];
  let base = 0;
  let inSection = 0;
  for (const b of d.sequence) {
    if (b === 'SHB') {
      base += inSection;
      inSection = 0;
    } else if (b === 'IDB') {
      inSection++;
    } else if (FRAME_BLOCKS.has(b)) {
      out.push({ block: b, ifBase: base, ifCount: inSection });
    }
  }
  return out;
}

/** Test files, as paths relative to output_le/ (and output_be/). */
function listTests(): string[] {
  if (!HAVE) return [];
  const out: string[] = [];
  for (const category of readdirSync(join(ROOT, 'output_le')).sort()) {
    for (const f of readdirSync(join(ROOT, 'output_le', category)).sort()) {
      if (f.endsWith('.pcapng')) out.push(join(category, f));
    }
  }
  return out;
}

const TESTS = listTests();

/** Frame fields that must not depend on the file's byte order. */
function comparable(f: ReadFrame): Omit<ReadFrame, 'data' | 'fileOffset'> & { data: string } {
  const { data, fileOffset: _offset, ...rest } = f;
  // A custom block's body is vendor data in the section's byte order (its PEN, and
  // here options after the data): only its length is comparable.
  return { ...rest, data: f.linkType === -1 ? `${data.length} bytes of custom block` : data.toString('hex') };
}

function pen(f: ReadFrame): number[] {
  const b = f.data.subarray(0, 4);
  return [b.readUInt32LE(0), b.readUInt32BE(0)].sort();
}

describe.skipIf(!HAVE)('pcapng-test-generator corpus', () => {
  it('is all there: both byte orders, each test with its .txt', () => {
    expect(TESTS.length).toBeGreaterThanOrEqual(24);
    for (const t of TESTS) {
      expect(existsSync(join(ROOT, 'output_be', t)), `output_be/${t}`).toBe(true);
      expect(existsSync(join(ROOT, 'output_le', t.replace(/\.pcapng$/, '.txt'))), `${t} .txt`).toBe(true);
    }
  });

  for (const t of TESTS) {
    describe(t, () => {
      const results = new Map<'le' | 'be', ReadBack>();
      const desc = parseTxt(readFileSync(join(ROOT, 'output_le', t.replace(/\.pcapng$/, '.txt')), 'utf8'));
      const frames = expectedFrames(desc);
      const packets = count(desc, 'EPB') + count(desc, 'SPB') + count(desc, 'PB') + count(desc, 'CB') + count(desc, 'DCB');

      it('its .txt is consistent (block counts match the sequence)', () => {
        expect(desc.sequence.length).toBeGreaterThan(0);
        const fromSeq = new Map<string, number>();
        for (const b of desc.sequence) fromSeq.set(b, (fromSeq.get(b) ?? 0) + 1);
        expect(fromSeq).toEqual(desc.counts);
        expect(frames.length).toBe(packets);
      });

      for (const order of ['le', 'be'] as const) {
        it(`${order.toUpperCase()}: reads without error; frames = EPB+SPB+PB+CB+DCB; interfaces = IDBs`, async () => {
          const txtPath = join(ROOT, `output_${order}`, t.replace(/\.pcapng$/, '.txt'));
          const d = order === 'le' ? desc : parseTxt(readFileSync(txtPath, 'utf8'));
          expect(d.counts).toEqual(desc.counts);
          const r = await readAll(join(ROOT, `output_${order}`, t));
          results.set(order, r);
          expect(r.result.error).toBeNull();
          expect(r.result.format).toBe('pcapng');
          expect(r.result.compression).toBeNull();
          expect(r.warnings).toEqual([]);
          expect(r.result.packets).toBe(packets);
          expect(r.frames.length).toBe(packets);
          expect(r.interfaces.length).toBe(count(d, 'IDB'));
          expect(r.interfaces.map((i) => i.id)).toEqual(r.interfaces.map((_, i) => i));

          r.frames.forEach((f, i) => {
            const e = frames[i]!;
            const where = `frame ${i + 1} (${e.block})`;
            expect(f.index, where).toBe(i + 1);
            expect(f.capLen, where).toBe(f.data.length);
            if (e.block === 'CB' || e.block === 'DCB') {
              expect(f.linkType, where).toBe(-1);
              expect(f.interfaceId, where).toBe(-1);
              expect(f.hasTime, where).toBe(false);
              return;
            }
            expect(f.capLen, where).toBeLessThanOrEqual(f.origLen);
            expect(f.hasTime, where).toBe(e.block !== 'SPB');
            if (e.block === 'SPB') {
              // An SPB belongs to the first interface of its section.
              expect(f.interfaceId, where).toBe(e.ifBase);
            } else {
              expect(f.interfaceId, where).toBeGreaterThanOrEqual(e.ifBase);
              expect(f.interfaceId, where).toBeLessThan(e.ifBase + e.ifCount);
            }
            expect(f.linkType, where).toBe(r.interfaces[f.interfaceId]!.linkType);
            if (f.hasTime) expect(f.time, where).toMatch(/^\d+\.\d{9}$/);
          });

          // Comments: where the .txt says packets carry them (a comment, or EPBs "with all options").
          if (/comment/i.test(d.text) || /EPBs with all options/i.test(d.description)) {
            r.frames.forEach((f, i) => {
              if (frames[i]!.block === 'EPB') expect(f.comments, `frame ${i + 1}`).not.toBeNull();
            });
          }
        });
      }

      it('LE and BE give identical frames and interfaces', () => {
        const le = results.get('le');
        const be = results.get('be');
        expect(le, 'LE read').toBeDefined();
        expect(be, 'BE read').toBeDefined();
        if (le === undefined || be === undefined) return;
        expect(be.frames.map(comparable)).toEqual(le.frames.map(comparable));
        be.frames.forEach((f, i) => {
          if (f.linkType === -1) expect(pen(f)).toEqual(pen(le.frames[i]!));
        });
        const iface = (r: ReadBack): unknown[] =>
          r.interfaces.map((i) => ({ id: i.id, linkType: i.linkType, snapLen: i.snapLen, name: i.name, description: i.description, ts: i.tsUnitsPerSecond, off: i.tsOffsetSeconds, fcs: i.fcsLen }));
        expect(iface(be)).toEqual(iface(le));
      });
    });
  }
});
