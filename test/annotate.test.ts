import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import type { InterfaceInfo } from '../src/capture/frame.js';
import { PcapngWriter, readOptions, timestampUnits, tsresolFor } from '../src/capture/pcapng-writer.js';
import { SplitTime, splitUnits, unitsPerSecond } from '../src/capture/timestamp.js';
import { runAnnotate, type AnnotateFlags } from '../src/cli/annotate-command.js';
import { DEFAULT_DETECT_OPTIONS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_LISTED_CONNECTIONS } from '../src/detect/options.js';
import { packetAnnotations, truncateUtf8 } from '../src/report/annotations.js';
import { cat, pattern } from './helpers/bytes.js';
import { ipv4, tcp } from './helpers/ip-packets.js';
import { LINKTYPE, asType, asV4, ethernet } from './helpers/link-layers.js';
import { pcapFile } from './helpers/pcap.js';
import { BLOCK, OPT, Pcapng } from './helpers/pcapng.js';
import { useTempDir } from './helpers/temp-dir.js';
import { readAll, type ReadBack } from './helpers/read-back.js';
import { runBinary } from './helpers/cli.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, HAVE_TSHARK, REPO } from './helpers/env.js';
import { mapLimit } from './helpers/tshark.js';

const tmp = useTempDir();

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const FLAGS: AnnotateFlags = {
  output: '',
  annotate: 'all',
  minSeverity: 'info',
  closeWait: DEFAULT_DETECT_OPTIONS.closeWaitSeconds,
  halfOpenRetransmissions: DEFAULT_DETECT_OPTIONS.halfOpenRetransmissions,
  synRetransmissions: DEFAULT_DETECT_OPTIONS.synRetransmissions,
  zeroWindow: DEFAULT_DETECT_OPTIONS.zeroWindowSeconds,
  timeWait: DEFAULT_DETECT_OPTIONS.timeWaitSeconds,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  maxListed: DEFAULT_MAX_LISTED_CONNECTIONS,
};

interface Annotated {
  code: number;
  stderr: string;
  stdout: Buffer;
}

/** runAnnotate in-process, with captured standard streams. */
async function annotate(input: string, output: string, flags: Partial<AnnotateFlags> = {}, stdin?: Buffer): Promise<Annotated> {
  let stderr = '';
  const chunks: Buffer[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  const code = await runAnnotate(input, { ...FLAGS, ...flags, output }, {
    stdin: Readable.from(stdin === undefined ? [] : [stdin]),
    stdout,
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stderr, stdout: Buffer.concat(chunks) };
}

let outN = 0;
const outPath = (): string => join(tmp.path, `out-${++outN}.pcapng`);

interface Tshark {
  code: number | null;
  stdout: string;
  stderr: string;
}

function tshark(args: string[]): Promise<Tshark> {
  return new Promise((resolve, reject) => {
    execFile('tshark', args, { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      if (typeof code !== 'number') {
        reject(err);
        return;
      }
      const cleaned = stderr
        .split('\n')
        .filter((l) => l.trim() !== '' && !/^Running as user "root"/.test(l))
        .join('\n');
      resolve({ code, stdout, stderr: cleaned });
    });
  });
}

const FRAME_FIELDS = ['frame.number', 'frame.time_epoch', 'frame.cap_len', 'frame.len', 'frame.interface_id', 'frame.encap_type', 'frame.md5_hash'];

/**
 * One tshark run: per frame its number, epoch, captured and wire length, interface,
 * encapsulation and an MD5 of its bytes (absent fields as ""), and its comments.
 * -T json keeps comments with commas or tabs apart.
 */
async function tsharkFrames(file: string, filter?: string): Promise<{ rows: string[][]; comments: Map<number, string[]>; stderr: string; code: number | null }> {
  const args = ['-n', '-r', file, '-o', 'frame.generate_md5_hash:TRUE', '-T', 'json', ...[...FRAME_FIELDS, 'frame.comment'].flatMap((f) => ['-e', f])];
  if (filter !== undefined) args.push('-Y', filter);
  const r = await tshark(args);
  const rows: string[][] = [];
  const comments = new Map<number, string[]>();
  const parsed = r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as Array<{ _source: { layers: Record<string, string[]> } }>);
  for (const row of parsed) {
    const l = row._source.layers;
    rows.push(FRAME_FIELDS.map((f) => (l[f] ?? []).join(',')));
    comments.set(Number(l['frame.number']![0]), l['frame.comment'] ?? []);
  }
  return { rows, comments, stderr: r.stderr, code: r.code };
}

/** Every frame's comments, as tshark gives them. */
async function tsharkComments(file: string, filter?: string): Promise<Map<number, string[]>> {
  const r = await tsharkFrames(file, filter);
  expect(r.stderr).toBe('');
  return r.comments;
}

/** Frame numbers tshark's display filter keeps. */
async function tsharkMatches(file: string, filter: string): Promise<number[]> {
  const r = await tshark(['-n', '-r', file, '-Y', filter, '-T', 'fields', '-e', 'frame.number']);
  expect(r.stderr).toBe('');
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

/** Our reader on both files: same frames (bytes, times, lengths, interfaces, link types); comments kept, ours added after them. */
function expectSameFrames(a: ReadBack, b: ReadBack): void {
  expect(b.result.error).toBeNull();
  expect(b.frames.length).toBe(a.frames.length);
  for (let i = 0; i < a.frames.length; i++) {
    const x = a.frames[i]!;
    const y = b.frames[i]!;
    const at = `frame ${x.index}`;
    expect({ at, index: y.index, time: y.time, hasTime: y.hasTime, linkType: y.linkType, interfaceId: y.interfaceId, capLen: y.capLen, origLen: y.origLen }).toEqual({
      at,
      index: x.index,
      time: x.time,
      hasTime: x.hasTime,
      linkType: x.linkType,
      interfaceId: x.interfaceId,
      capLen: x.capLen,
      origLen: x.origLen,
    });
    expect(y.data.equals(x.data), `${at}: bytes`).toBe(true);
    const before = x.comments ?? [];
    const after = y.comments ?? [];
    expect(after.slice(0, before.length), `${at}: existing comments kept`).toEqual(before);
    for (const c of after.slice(before.length)) expect(c.startsWith('tcpsleuth'), `${at}: added comment "${c}"`).toBe(true);
  }
  const iface = (i: InterfaceInfo): unknown[] => [i.id, i.linkType, i.snapLen, i.name, i.description, i.tsUnitsPerSecond, i.tsOffsetSeconds, i.fcsLen];
  expect(b.interfaces.map(iface)).toEqual(a.interfaces.map(iface));
}

/** A pcapng file's blocks, walked independently of the readers: type, byte order and body. */
function blocks(file: Buffer): Array<{ type: number; le: boolean; body: Buffer }> {
  const out: Array<{ type: number; le: boolean; body: Buffer }> = [];
  let le = true;
  for (let p = 0; p < file.length; ) {
    if (file.readUInt32BE(p) === BLOCK.SHB) le = file.readUInt32LE(p + 8) === 0x1a2b3c4d;
    const len = le ? file.readUInt32LE(p + 4) : file.readUInt32BE(p + 4);
    const trailer = le ? file.readUInt32LE(p + len - 4) : file.readUInt32BE(p + len - 4);
    expect(len % 4, 'block length a multiple of 4').toBe(0);
    expect(trailer, 'trailing block length').toBe(len);
    out.push({ type: le ? file.readUInt32LE(p) : file.readUInt32BE(p), le, body: file.subarray(p + 8, p + len - 4) });
    p += len;
  }
  return out;
}

/** Raw option values with `code` of the blocks of `type` (options start `skip` bytes into the body; EPB: after the data). */
function rawOptions(file: Buffer, type: number, code: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of blocks(file).filter((x) => x.type === type)) {
    let start = type === BLOCK.SHB ? 16 : type === BLOCK.IDB ? 8 : 0;
    if (type === BLOCK.EPB) start = 20 + ((((b.le ? b.body.readUInt32LE(12) : b.body.readUInt32BE(12)) + 3) >>> 2) << 2);
    for (const o of readOptions(b.body, start, b.body.length, b.le)) if (o.code === code) out.push(Buffer.from(o.value));
  }
  return out;
}

/** Each EPB's raw comments, in file order. */
function epbComments(file: Buffer): Buffer[][] {
  return blocks(file)
    .filter((b) => b.type === BLOCK.EPB)
    .map((b) => {
      const start = 20 + ((((b.le ? b.body.readUInt32LE(12) : b.body.readUInt32BE(12)) + 3) >>> 2) << 2);
      return readOptions(b.body, start, b.body.length, b.le)
        .filter((o) => o.code === OPT.COMMENT)
        .map((o) => Buffer.from(o.value));
    });
}

// ---------------------------------------------------------------------------
// The writer
// ---------------------------------------------------------------------------

const FRAME_A = ethernet(asV4(ipv4({ payload: tcp({ seq: 1, payload: 7 }) })));
const FRAME_B = ethernet(asV4(ipv4({ payload: tcp({ seq: 99, payload: 300 }) })));

describe('pcapng writer', () => {
  it('converts any time to interface units exactly: read back, it is the same nanosecond', () => {
    const t = new SplitTime();
    const resolutions = [0, 1, 3, 6, 9, 12, 19, 0x80 | 1, 0x80 | 10, 0x80 | 20, 0x80 | 30, 0x80 | 32, 0x80 | 40, 0x80 | 63];
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (const r of resolutions) {
      const units = unitsPerSecond(r);
      expect(tsresolFor(units)).toBe(r);
      for (let k = 0; k < 300; k++) {
        // Any 64-bit count, then what a reader makes of it, then back.
        const hi = Math.floor(rnd() * 2 ** 32);
        const lo = Math.floor(rnd() * 2 ** 32);
        splitUnits(hi, lo, units, t);
        // Seconds beyond 2^53 (coarse resolutions, absurd counts) are not exact even in the reader.
        if (!Number.isSafeInteger(t.sec)) continue;
        const [h2, l2] = timestampUnits(t.sec, t.nsec, units);
        const again = new SplitTime();
        splitUnits(h2, l2, units, again);
        expect([again.sec, again.nsec]).toEqual([t.sec, t.nsec]);
        // Never later than the original count, and identical where a unit is a whole number of nanoseconds.
        const orig = (BigInt(hi) << 32n) | BigInt(lo);
        const back = (BigInt(h2) << 32n) | BigInt(l2);
        expect(back <= orig).toBe(true);
        if (units <= 1e9 && 1e9 % units === 0) expect(back).toBe(orig);
      }
    }
    // Fast path and BigInt path agree at the edges.
    expect(timestampUnits(0, 0, 1e9)).toEqual([0, 0]);
    expect(timestampUnits(2 ** 42 - 1, 999_999_999, 1e9)).toEqual([Number(((2n ** 42n - 1n) * 1_000_000_000n + 999_999_999n) >> 32n), Number(((2n ** 42n - 1n) * 1_000_000_000n + 999_999_999n) & 0xffffffffn)]);
    expect(timestampUnits(1_700_000_000, 123_456_789, 1e6)).toEqual([Number((1_700_000_000_123_457n) >> 32n), Number(1_700_000_000_123_457n & 0xffffffffn)]);
    expect(() => timestampUnits(-1, 0, 1e9)).toThrow(RangeError);
    expect(() => timestampUnits(2 ** 40, 0, 2 ** 63)).toThrow(RangeError);
    expect(timestampUnits(-100, 5000, 1e6, -200)).toEqual([0, 100 * 1e6 + 5]);
  });

  it('writes sections of both byte orders, interfaces of mixed resolutions and offsets, EPB/SPB/custom blocks; our reader reads back exactly that', async () => {
    const file = join(tmp.path, 'writer-mixed.pcapng');
    const w = PcapngWriter.open(file, { bufferBytes: 256 });
    w.writeSectionHeader({ comments: ['first section', Uint8Array.of(0xff, 0x00, 0x41)], hardware: 'test rig' });
    expect(w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 0, name: 'eth0', tsresol: 9 })).toBe(0);
    expect(w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 100, name: 'eth1', tsresol: 6, tsOffsetSeconds: -3600, fcsLen: 4 })).toBe(1);
    expect(w.addInterface({ linkType: LINKTYPE.RAW, snapLen: 65535, tsresol: 0x80 | 20, description: 'binary fractions' })).toBe(2);
    w.writePacket(0, 1_700_000_000, 123_456_789, FRAME_A, FRAME_A.length, ['a comment', 'ünïcødé ✓']);
    w.writePacket(1, 1_700_000_000, 5_000, FRAME_B.subarray(0, 100), FRAME_B.length);
    w.writeSimplePacket(FRAME_B, FRAME_B.length); // interface 0: no snaplen, so all of it
    w.writeCustomBlock(cat([0, 0, 0x7e, 0xd9], pattern(9)));
    const big = pattern(70_000, 3); // bigger than the buffer
    w.writePacket(2, 1_700_000_001, 953, big, big.length);
    w.writeSectionHeader({ bigEndian: true, userAppl: null });
    expect(w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 64, tsresol: 9 })).toBe(0);
    w.writePacket(0, 4_000_000_000, 999_999_999, FRAME_A, 5000);
    w.writeSimplePacket(FRAME_B.subarray(0, 64), FRAME_B.length);
    await w.close();
    expect(w.bytesFlushed).toBe(statSync(file).size);

    const r = await readAll(file);
    expect(r.result.error).toBeNull();
    expect(r.warnings).toEqual([]);
    expect(r.frames.map((f) => [f.index, f.hasTime ? f.time : '', f.linkType, f.interfaceId, f.capLen, f.origLen])).toEqual([
      [1, '1700000000.123456789', 1, 0, FRAME_A.length, FRAME_A.length],
      [2, '1700000000.000005000', 1, 1, 100, FRAME_B.length],
      [3, '', 1, 0, FRAME_B.length, FRAME_B.length],
      [4, '', -1, -1, 16, 16], // PEN and data, padded
      [5, '1700000001.000000953', LINKTYPE.RAW, 2, 70_000, 70_000],
      [6, '4000000000.999999999', 1, 3, FRAME_A.length, 5000],
      [7, '', 1, 3, 64, FRAME_B.length],
    ]);
    expect(r.frames[0]!.comments).toEqual(['a comment', 'ünïcødé ✓']);
    expect(r.frames[4]!.data.equals(big)).toBe(true);
    expect(r.frames[6]!.data.equals(FRAME_B.subarray(0, 64))).toBe(true);
    expect(r.interfaces.map((i) => [i.name, i.description, i.snapLen, i.tsUnitsPerSecond, i.tsOffsetSeconds, i.fcsLen])).toEqual([
      ['eth0', null, 0, 1e9, 0, -1],
      ['eth1', null, 100, 1e6, -3600, 4],
      [null, 'binary fractions', 65535, 2 ** 20, 0, -1],
      [null, null, 64, 1e9, 0, -1],
    ]);
    const bytes = readFileSync(file);
    expect(blocks(bytes).map((b) => [b.type, b.le])).toEqual([
      [BLOCK.SHB, true],
      [BLOCK.IDB, true],
      [BLOCK.IDB, true],
      [BLOCK.IDB, true],
      [BLOCK.EPB, true],
      [BLOCK.EPB, true],
      [BLOCK.SPB, true],
      [BLOCK.CB, true],
      [BLOCK.EPB, true],
      [BLOCK.SHB, false],
      [BLOCK.IDB, false],
      [BLOCK.EPB, false],
      [BLOCK.SPB, false],
    ]);
    expect(rawOptions(bytes, BLOCK.SHB, OPT.COMMENT)).toEqual([Buffer.from('first section'), Buffer.from([0xff, 0x00, 0x41])]);
    expect(rawOptions(bytes, BLOCK.SHB, OPT.SHB_USERAPPL)).toEqual([Buffer.from('tcpsleuth')]);
  });

  it.skipIf(!HAVE_TSHARK)('writes what tshark reads with the same times, lengths and interfaces (needs tshark)', async () => {
    const file = join(tmp.path, 'writer-tshark.pcapng');
    const w = PcapngWriter.open(file);
    w.writeSectionHeader({ comments: ['hello'] });
    w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 0 });
    w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 0, tsresol: 6, tsOffsetSeconds: 1000 });
    w.writePacket(0, 1_700_000_000, 1, FRAME_A, FRAME_A.length, ['c1']);
    w.writePacket(1, 1_700_000_000, 999_999_000, FRAME_B, 2000, ['c2, with a comma', 'c3']);
    w.writeSectionHeader({ bigEndian: true });
    w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 60, tsresol: 0x80 | 10 });
    w.writePacket(0, 1_800_000_000, 0, FRAME_A, FRAME_A.length);
    w.writeSimplePacket(FRAME_B.subarray(0, 60), FRAME_B.length);
    await w.close();
    const t = await tsharkFrames(file);
    expect(t.stderr).toBe('');
    expect(t.rows.map((r) => r.slice(0, 5))).toEqual([
      ['1', '1700000000.000000001', String(FRAME_A.length), String(FRAME_A.length), '0'],
      ['2', '1700000000.999999000', String(FRAME_B.length), '2000', '1'],
      ['3', '1800000000.000000000', String(FRAME_A.length), String(FRAME_A.length), '0'],
      ['4', '', '60', String(FRAME_B.length), '0'],
    ]);
    const comments = await tsharkComments(file);
    expect(comments.get(1)).toEqual(['c1']);
    expect(comments.get(2)).toEqual(['c2, with a comma', 'c3']);
  });

  it('refuses bad calls before writing a byte of the block, so the file stays valid', async () => {
    const file = join(tmp.path, 'writer-refusals.pcapng');
    const w = PcapngWriter.open(file, { bufferBytes: 128 });
    expect(() => w.addInterface({ linkType: 1, snapLen: 0 })).toThrow(/section header first/);
    w.writeSectionHeader();
    w.addInterface({ linkType: 1, snapLen: 0, tsOffsetSeconds: 100 });
    expect(() => w.writePacket(1, 0, 0, FRAME_A)).toThrow(/interface 1/);
    expect(() => w.writePacket(0, 50, 0, FRAME_A)).toThrow(RangeError); // before the interface's offset
    expect(() => w.writePacket(0, 200, 1e9, FRAME_A)).toThrow(RangeError);
    expect(() => w.writePacket(0, 200, 0, FRAME_A, -1)).toThrow(RangeError);
    expect(() => w.writePacket(0, 200, 0, FRAME_A, FRAME_A.length, ['x'.repeat(65536)])).toThrow(/65535/);
    expect(() => w.writePacket(0, 200, 0, FRAME_A, FRAME_A.length, null, [{ code: 0, value: Uint8Array.of(1) }])).toThrow(RangeError);
    expect(() => w.addInterface({ linkType: 70000, snapLen: 0 })).toThrow(RangeError);
    expect(() => w.addInterface({ linkType: 1, snapLen: 0, tsresol: 20 })).toThrow(RangeError);
    expect(() => w.addInterface({ linkType: 1, snapLen: 0, options: [{ code: 9, value: Uint8Array.of(6) }] })).toThrow(/tsresol/);
    expect(() => w.writeSimplePacket(FRAME_A, FRAME_A.length + 1)).toThrow(/snaplen rule/);
    expect(() => w.writeBlock(BLOCK.SHB, Buffer.alloc(16))).toThrow();
    expect(() => w.writeCustomBlock(Uint8Array.of(1, 2))).toThrow();
    w.writePacket(0, 200, 0, FRAME_A, FRAME_A.length, [truncateUtf8('é'.repeat(40000))]);
    await w.close();
    expect(() => w.writePacket(0, 200, 0, FRAME_A)).toThrow(/closed/);
    const r = await readAll(file);
    expect(r.result.error).toBeNull();
    expect(r.warnings).toEqual([]);
    expect(r.frames).toHaveLength(1);
    expect(r.frames[0]!.time).toBe('200.000000000');
    const c = r.frames[0]!.comments![0]!;
    expect(Buffer.byteLength(c)).toBeLessThanOrEqual(65535);
    expect(c.endsWith('é [...]')).toBe(true);
  });

  it('streams: hands full buffers to the stream, flush() waits for them, drain() follows back-pressure', async () => {
    const chunks: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        chunks.push(Buffer.from(chunk));
        setTimeout(cb, 1);
      },
    });
    const w = PcapngWriter.open(slow, { bufferBytes: 4096 });
    w.writeSectionHeader();
    w.addInterface({ linkType: 1, snapLen: 0 });
    for (let i = 0; i < 40; i++) w.writePacket(0, 1000 + i, 0, FRAME_B, FRAME_B.length);
    expect(w.bytesFlushed).toBeGreaterThan(2 * 4096); // 40 * ~290 bytes through a 4 KiB buffer
    expect(w.needsDrain).toBe(true);
    await w.drain();
    expect(w.needsDrain).toBe(false);
    w.writePacket(0, 2000, 0, FRAME_A);
    await w.flush();
    expect(slow.writableLength).toBe(0);
    await w.close();
    expect(slow.writableFinished).toBe(true);
    const file = tmp.write('streamed.pcapng', Buffer.concat(chunks));
    const r = await readAll(file);
    expect(r.result.error).toBeNull();
    expect(r.frames).toHaveLength(41);
    expect(r.frames[39]!.time).toBe('1039.000000000');
    expect(r.frames[40]!.time).toBe('2000.000000000');
    expect(w.bytesFlushed).toBe(Buffer.concat(chunks).length);
  });
});

// ---------------------------------------------------------------------------
// annotate: round trips
// ---------------------------------------------------------------------------

async function roundTrip(file: string): Promise<void> {
  const out = outPath();
  const a = await annotate(file, out);
  // Warnings about the file's content (as analyze prints them) are fine; nothing else.
  for (const line of a.stderr.split('\n').filter(Boolean)) expect(line).toMatch(/^tcpsleuth: warning: /);
  expect(a.code).toBe(0);
  expectSameFrames(await readAll(file), await readAll(out));
  if (!HAVE_TSHARK) return;
  const [x, y] = await Promise.all([tsharkFrames(file), tsharkFrames(out)]);
  expect(y.stderr, 'tshark reads the annotated file without complaint').toBe(x.stderr);
  expect(y.code).toBe(x.code);
  const isPcap = readFileSync(file).readUInt32BE(0) !== BLOCK.SHB;
  // A pcap file has no interfaces, so tshark shows no frame.interface_id for it; pcapng says 0.
  const rows = isPcap ? x.rows.map((r) => r.map((v, i) => (i === 4 && v === '' ? '0' : v))) : x.rows;
  expect(y.rows.length).toBe(rows.length);
  for (let i = 0; i < rows.length; i++) expect(y.rows[i], `frame ${i + 1}`).toEqual(rows[i]);
  // Existing comments are still there, first.
  for (const [n, list] of x.comments) expect(y.comments.get(n)!.slice(0, list.length), `frame ${n} comments`).toEqual(list);
}

const SCENARIOS = existsSync(CAPTURES) ? readdirSync(CAPTURES).filter((f) => f.endsWith('.pcap')).sort() : [];

describe(`annotate round trip: every captures/*.pcap${HAVE_TSHARK ? '' : ' (tshark missing: our reader only)'}`, () => {
  it.each(SCENARIOS)('%s', async (name) => {
    await roundTrip(join(CAPTURES, name));
  });
});

/** Corpus captures with pcapng features (sections, byte orders, resolutions, SPB, custom blocks, comments) and some pcap. */
const CORPUS_SAMPLE = [
  'zeek/pcapng-multi-interface.pcapng', // two interfaces, if_tsresol 9 and 6
  'zeek/ldap/gap-data-missing.pcapng', // 126 IDBs, NRB, comment
  'zeek/http/cooper-grill-dvwa.pcapng', // nanoseconds, ISB
  'zeek/vlan-pcp-dei.pcapng', // packet comment
  'zeek/redis/start-with-server.pcapng',
  'zeek/tcp/retransmit-timeout.pcapng',
  'zeek/http/get-to-ssh-server.pcap', // nanosecond pcap
  'zeek/nflog-http.pcap',
  'zeek/linux_dlt_sll2.pcap',
  'tcpdump/time_2106_overflow.pcapng',
  'tcpdump/time_2107.pcapng',
  'tcpdump/vsock-1.pcapng',
  'tcpdump/icmp-length-zero.pcapng',
  'tcpdump/of13_ericsson.pcapng',
  'tcpdump/pptp.pcap', // big-endian pcap
  'tcpdump/ipoib.pcap',
  'tcpdump/tcp-handshake-nano.pcap',
  'tcpdump/kday4.pcap', // snaplen 511
  'suricata-verify/bug-4376/syn_retransmit_with_ts.pcap',
  'suricata-verify/tcp-empty-sack/tcp-opt.pcap',
  'suricata-verify/bug-2646-01/input.pcap',
  'suricata-verify/tcp-fastopen-10-syn-data-ignore/input.pcap',
];

function generatorFiles(): string[] {
  const out: string[] = [];
  for (const order of ['output_le', 'output_be']) {
    for (const group of ['basic', 'advanced', 'difficult']) {
      const dir = join(CORPUS, 'pcapng-test-generator', order, group);
      if (existsSync(dir)) for (const f of readdirSync(dir).sort()) if (f.endsWith('.pcapng')) out.push(`pcapng-test-generator/${order}/${group}/${f}`);
    }
  }
  return out;
}

describe.skipIf(!HAVE_CORPUS)(`annotate round trip: a sample of ../shared/corpus${HAVE_TSHARK ? '' : ' (tshark missing: our reader only)'}`, () => {
  const files = HAVE_CORPUS ? [...CORPUS_SAMPLE, ...generatorFiles()] : [];
  it('has the sample, including multi-section, big-endian, mixed-order, SPB and custom-block files', () => {
    for (const f of CORPUS_SAMPLE) expect(existsSync(join(CORPUS, f)), f).toBe(true);
    expect(files).toContain('pcapng-test-generator/output_be/difficult/test202.pcapng');
    expect(files.length).toBeGreaterThan(60);
  });
  it('every file: same packets, bytes, timestamps, lengths, interfaces; comments kept', async () => {
    const failures: string[] = [];
    await mapLimit(files, async (f) => {
      try {
        await roundTrip(join(CORPUS, f));
      } catch (e) {
        failures.push(`${f}: ${e instanceof Error ? e.message.split('\n').slice(0, 6).join(' | ') : String(e)}`);
      }
    }, 4);
    expect(failures).toEqual([]);
  });
  it('copies every block of a multi-section mixed-byte-order file in its section, in its order', async () => {
    const FRAMING: number[] = [BLOCK.SHB, BLOCK.IDB, BLOCK.EPB, BLOCK.SPB];
    const src = join(CORPUS, 'pcapng-test-generator/output_be/difficult/test202.pcapng');
    const out = outPath();
    expect((await annotate(src, out)).code).toBe(0);
    const a = blocks(readFileSync(src));
    const b = blocks(readFileSync(out));
    expect(b.map((x) => [x.type, x.le])).toEqual(a.map((x) => [x.type, x.le]));
    // Blocks other than section headers, interfaces and packets are the same bytes.
    for (let i = 0; i < a.length; i++) {
      if (!FRAMING.includes(a[i]!.type)) expect(b[i]!.body.equals(a[i]!.body), `block ${i}`).toBe(true);
    }
    expect(rawOptions(readFileSync(out), BLOCK.SHB, OPT.COMMENT).slice(0, 1)).toEqual(rawOptions(readFileSync(src), BLOCK.SHB, OPT.COMMENT).slice(0, 1));
    expect(rawOptions(readFileSync(out), BLOCK.IDB, OPT.IF_NAME)).toEqual(rawOptions(readFileSync(src), BLOCK.IDB, OPT.IF_NAME));
  });
});

// ---------------------------------------------------------------------------
// annotate: what it says
// ---------------------------------------------------------------------------

describe.skipIf(!HAVE_TSHARK)('annotate: tshark finds the comments on exactly the right packets (needs tshark)', () => {
  const cw = join(CAPTURES, 'close-wait-stuck.pcap');

  it('close-wait-stuck.pcap: the finding on packets 8 and 9, the state changes where they happen, a summary in the section header', async () => {
    const out = outPath();
    expect((await annotate(cw, out)).code).toBe(0);
    expect(await tsharkMatches(out, 'frame.comment contains "close-wait-stuck"')).toEqual([8, 9]);
    expect(await tsharkMatches(out, 'frame.comment contains "tcpsleuth warning close-wait-stuck: server 10.99.0.2:7006 has been in CLOSE-WAIT"')).toEqual([8, 9]);
    expect(await tsharkMatches(out, 'frame.comment == "tcpsleuth: server 10.99.0.2:7006 ESTABLISHED -> CLOSE-WAIT (acknowledged the FIN)"')).toEqual([9]);
    expect(await tsharkMatches(out, 'frame.comment == "tcpsleuth: client 10.99.0.1:54224 ESTABLISHED -> FIN-WAIT-1 (sent FIN)"')).toEqual([8]);
    const shb = rawOptions(readFileSync(out), BLOCK.SHB, OPT.COMMENT).map((b) => b.toString('utf8'));
    expect(shb).toHaveLength(1);
    expect(shb[0]).toMatch(/^tcpsleuth analysis of .*close-wait-stuck\.pcap: pcap-us, ETHERNET, 15 packets/);
    expect(shb[0]).toContain('Connections: 1 (1 open at end)');
    expect(shb[0]).toContain('Findings: 1 (0 error, 1 warning, 0 info)');
    expect(shb[0]).toContain('warning close-wait-stuck, connection 1, server 10.99.0.2:7006, packets 8, 9');
    expect(rawOptions(readFileSync(out), BLOCK.SHB, OPT.SHB_USERAPPL)).toEqual([Buffer.from('tcpsleuth')]);
  });

  it('every scenario: the comments tshark shows are exactly the finding and state-change comments of the analysis', async () => {
    for (const name of SCENARIOS) {
      const file = join(CAPTURES, name);
      const out = outPath();
      expect((await annotate(file, out)).code, name).toBe(0);
      const want = packetAnnotations(await analyzeCaptures([file]), { annotate: 'all', minSeverity: 'info' });
      const got = await tsharkComments(out);
      for (const [n, list] of got) expect(list, `${name} frame ${n}`).toEqual(want.get(n) ?? []);
      for (const [n, list] of want) expect(got.get(n), `${name} frame ${n}`).toEqual(list);
    }
  });

  it('other findings: write-after-fin, half-open, connection-refused, port-reuse on their packets', async () => {
    const cases: Array<[string, string, number[]]> = [
      ['write-after-fin.pcap', 'write-after-fin', [6, 8, 9]],
      ['half-open.pcap', 'half-open', [9, 11, 12, 13]],
      ['connection-refused.pcap', 'connection-refused', [1, 2]],
      ['port-reuse.pcap', 'port-reuse', [10, 11, 18, 19]],
      // Its client sets SO_LINGER {1, 0}: the RST alone, no peer data cited as unread.
      ['port-reuse.pcap', 'abortive-close', [18]],
    ];
    for (const [name, kind, packets] of cases) {
      const file = join(CAPTURES, name);
      const out = outPath();
      expect((await annotate(file, out)).code).toBe(0);
      const r = await analyzeCaptures([file]);
      const fromAnalysis = [...new Set(r.findings.filter((f) => f.kind === kind).flatMap((f) => f.packets))].sort((a, b) => a - b);
      expect(fromAnalysis, `${name} ${kind} (analysis)`).toEqual(packets);
      expect(await tsharkMatches(out, `frame.comment contains "${kind}:"`), `${name} ${kind}`).toEqual(packets);
    }
  });

  it('--annotate findings / states, --min-severity and the thresholds choose what is commented', async () => {
    const findingsOnly = outPath();
    expect((await annotate(cw, findingsOnly, { annotate: 'findings' })).code).toBe(0);
    expect(await tsharkMatches(findingsOnly, 'frame.comment contains "tcpsleuth"')).toEqual([8, 9]);
    expect(await tsharkMatches(findingsOnly, 'frame.comment contains " -> "')).toEqual([]);
    const statesOnly = outPath();
    expect((await annotate(cw, statesOnly, { annotate: 'states' })).code).toBe(0);
    expect(await tsharkMatches(statesOnly, 'frame.comment contains "close-wait-stuck"')).toEqual([]);
    expect(await tsharkMatches(statesOnly, 'frame.comment contains " -> "')).toEqual([1, 2, 3, 8, 9]);
    const errorsOnly = outPath();
    expect((await annotate(cw, errorsOnly, { minSeverity: 'error' })).code).toBe(0);
    expect(await tsharkMatches(errorsOnly, 'frame.comment contains "close-wait-stuck"')).toEqual([]);
    const patient = outPath();
    expect((await annotate(cw, patient, { closeWait: 10 })).code).toBe(0);
    expect(await tsharkMatches(patient, 'frame.comment contains "close-wait-stuck"')).toEqual([]);
    expect(rawOptions(readFileSync(patient), BLOCK.SHB, OPT.COMMENT)[0]!.toString()).toContain('close-wait 10 s');
  });
});

// ---------------------------------------------------------------------------
// annotate: hostile input, standard streams, errors
// ---------------------------------------------------------------------------

describe(`annotate: hostile comments and names round-trip byte-exact${HAVE_TSHARK ? '' : ' (tshark missing: our reader only)'}`, () => {
  it('keeps <script>, non-UTF-8 bytes, NULs and a 65535-byte comment exactly, next to its own comments', async () => {
    const script = '<script>alert(1)</script>';
    const notUtf8 = Buffer.from([0xff, 0xfe, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x00, 0x3c, 0x62, 0x3e]);
    const huge = cat(Buffer.from(script), pattern(65535 - script.length, 7));
    const cwFrames = (await readAll(join(CAPTURES, 'close-wait-stuck.pcap'))).frames;
    const ng = new Pcapng(true);
    const ts = (i: number): bigint => BigInt(cwFrames[i]!.sec) * 1_000_000_000n + BigInt(cwFrames[i]!.nsec);
    const file = cat(
      ng.shb({ options: [[OPT.COMMENT, script], [OPT.COMMENT, notUtf8], [OPT.SHB_USERAPPL, script]] }),
      ng.idb({ linkType: LINKTYPE.ETHERNET, tsresol: 9, name: script, options: [[OPT.IF_DESCRIPTION, notUtf8]] }),
      ...cwFrames.map((f, i) =>
        ng.epb({
          ts: ts(i),
          data: f.data,
          options: i === 7 ? [[OPT.COMMENT, script], [OPT.COMMENT, notUtf8], [OPT.EPB_FLAGS, [1, 0, 0, 0]]] : i === 8 ? [[OPT.COMMENT, huge]] : [],
        }),
      ),
    );
    const src = tmp.write('hostile.pcapng', file);
    const out = outPath();
    const a = await annotate(src, out);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const o = readFileSync(out);
    expect(rawOptions(o, BLOCK.SHB, OPT.COMMENT).slice(0, 2)).toEqual([Buffer.from(script), notUtf8]);
    expect(rawOptions(o, BLOCK.IDB, OPT.IF_NAME)).toEqual([Buffer.from(script)]);
    expect(rawOptions(o, BLOCK.IDB, OPT.IF_DESCRIPTION)).toEqual([notUtf8]);
    const comments = epbComments(o);
    expect(comments).toHaveLength(15);
    // Packet 8: its own comments first, byte for byte, then ours; packet 9: the 65535-byte one, then ours.
    expect(comments[7]!.slice(0, 2)).toEqual([Buffer.from(script), notUtf8]);
    expect(comments[7]!.slice(2).map(String)).toEqual([
      'tcpsleuth: client 10.99.0.1:54224 ESTABLISHED -> FIN-WAIT-1 (sent FIN)',
      expect.stringMatching(/^tcpsleuth warning close-wait-stuck: server 10\.99\.0\.2:7006 has been in CLOSE-WAIT/),
    ]);
    expect(comments[8]![0]!.equals(huge)).toBe(true);
    expect(comments[8]!.slice(1).map(String)).toHaveLength(3);
    expect(rawOptions(o, BLOCK.EPB, OPT.EPB_FLAGS)).toEqual([Buffer.from([1, 0, 0, 0])]);
    expectSameFrames(await readAll(src), await readAll(out));
    if (HAVE_TSHARK) {
      const [x, y] = await Promise.all([tsharkFrames(src), tsharkFrames(out)]);
      expect(y.stderr).toBe('');
      expect(y.rows).toEqual(x.rows);
      expect(await tsharkMatches(out, 'frame.comment contains "close-wait-stuck"')).toEqual([8, 9]);
      expect(await tsharkMatches(out, 'frame.comment contains "<script>"')).toEqual([8, 9]);
    }
  });

  it('obsolete Packet Blocks, NRB, ISB, do-not-copy custom blocks and journal entries: same frames, other blocks byte for byte', async () => {
    const ng = new Pcapng(false); // big-endian
    const journal = Buffer.from('__REALTIME_TIMESTAMP=1700000000123456\nMESSAGE=<script>alert(1)</script>\n\0\0');
    const file = cat(
      ng.shb({ options: [[OPT.COMMENT, 'big-endian section']] }),
      ng.idb({ linkType: LINKTYPE.ETHERNET, snaplen: 128, tsresol: 3, tsoffset: 7 }),
      ng.nrb(),
      ng.pb({ ts: 1_700_000_000_123n, data: FRAME_A, comments: ['old packet block'] }),
      ng.custom({ copy: false, data: pattern(12, 1) }),
      ng.block(9, journal),
      ng.spb({ data: FRAME_B.subarray(0, 128), origLen: FRAME_B.length }),
      ng.isb({ ts: 1_700_000_001_000n }),
      ng.epb({ ts: 1_700_000_002_999n, data: FRAME_B.subarray(0, 128), origLen: FRAME_B.length }),
    );
    const src = tmp.write('odd-blocks.pcapng', file);
    await roundTrip(src);
    const out = outPath();
    expect((await annotate(src, out)).code).toBe(0);
    const a = blocks(file);
    const b = blocks(readFileSync(out));
    expect(b.map((x) => [x.type, x.le])).toEqual(a.map((x) => [x.type === BLOCK.PB ? BLOCK.EPB : x.type, x.le]));
    for (const t of [BLOCK.NRB, BLOCK.DCB, 9, BLOCK.ISB, BLOCK.SPB]) {
      expect(b.filter((x) => x.type === t).map((x) => x.body), `block type ${t}`).toEqual(a.filter((x) => x.type === t).map((x) => x.body));
    }
    const back = await readAll(out);
    expect(back.frames.map((f) => [f.index, f.hasTime ? f.time : '', f.linkType])).toEqual([
      [1, '1700000007.123000000', 1],
      [2, '', -1],
      [3, '', -2],
      [4, '', 1],
      [5, '1700000009.999000000', 1],
    ]);
    expect(back.frames[0]!.comments).toEqual(['old packet block']);
  });

  it('a pcap with an FCS and a snaplen becomes one interface with if_fcslen and the same snaplen', async () => {
    const frames = [FRAME_A, FRAME_B].map((d, i) => ({ data: cat(d, [1, 2, 3, 4]).subarray(0, 200), origLen: d.length + 4, sec: 1_600_000_000 + i, frac: 999_999 }));
    const src = tmp.write('fcs.pcap', pcapFile(frames, { fcsBytes: 4, snaplen: 200, nanos: false }));
    const out = outPath();
    expect((await annotate(src, out)).code).toBe(0);
    const [a, b] = [await readAll(src), await readAll(out)];
    expectSameFrames(a, b);
    expect(b.interfaces[0]).toMatchObject({ snapLen: 200, fcsLen: 4, tsUnitsPerSecond: 1e6 });
  });
});

describe('annotate: standard input and output, damage, usage', () => {
  const cw = join(CAPTURES, 'close-wait-stuck.pcap');

  it('reads standard input (plain or gzip) and writes standard output: the same file as from disk', async () => {
    const fromDisk = outPath();
    await annotate(cw, fromDisk);
    const want = readFileSync(fromDisk);
    for (const input of [readFileSync(cw), gzipSync(readFileSync(cw))]) {
      const r = await annotate('-', '-', {}, input);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const got = r.stdout;
      // Only the summary's file name (and gzip note) differ.
      const a = await readAll(tmp.write(`stdout-${outN++}.pcapng`, got));
      expectSameFrames(await readAll(cw), a);
      expect(rawOptions(got, BLOCK.SHB, OPT.COMMENT)[0]!.toString()).toMatch(/^tcpsleuth analysis of <stdin>: pcap-us/);
      expect(rawOptions(got, BLOCK.EPB, OPT.COMMENT)).toEqual(rawOptions(want, BLOCK.EPB, OPT.COMMENT));
    }
  });

  it('a slow reader of standard output holds the copy back (no pile-up), and still gets every byte', async () => {
    // 40 MB of capture: far more than the writer's buffer and the reader's chunks.
    // Not TCP (a local EtherType): the analysis has nothing to do, the copy is what is measured.
    const records = Array.from({ length: 30_000 }, (_, i) => ({ data: ethernet(asType(0x88b5, pattern(1300, i))), sec: 1_700_000_000 + Math.floor(i / 1000), frac: i % 1000 }));
    const big = tmp.write('big.pcap', pcapFile(records));
    const chunks: Buffer[] = [];
    let maxQueued = 0;
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _enc, cb) {
        chunks.push(Buffer.from(chunk));
        maxQueued = Math.max(maxQueued, slow.writableLength);
        setTimeout(cb, 20);
      },
    });
    const code = await runAnnotate(big, { ...FLAGS, output: '-' }, { stdin: new PassThrough(), stdout: slow, stderr: { write: () => true } });
    expect(code).toBe(0);
    // Without the hold-back the whole 40 MB would queue up in the stream.
    expect(maxQueued).toBeLessThanOrEqual(3 * 4 * 1024 * 1024);
    expectSameFrames(await readAll(big), await readAll(tmp.write('slow.pcapng', Buffer.concat(chunks))));
  });

  it('damaged input: writes the packets read before the damage, names the damage, exits 2', async () => {
    const bytes = readFileSync(cw);
    const cut = tmp.write('cut.pcap', bytes.subarray(0, 600));
    const out = outPath();
    const r = await annotate(cut, out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tcpsleuth: .*cut\.pcap: file ends in the middle of a record: .*\(byte offset \d+, packet \d+\)$/m);
    expect(r.stderr).toMatch(/wrote the \d+ packets read before the damage/);
    const back = await readAll(out);
    expect(back.result.error).toBeNull();
    expect(back.frames.length).toBe((await readAll(cut)).frames.length);
    expect(rawOptions(readFileSync(out), BLOCK.SHB, OPT.COMMENT)[0]!.toString()).toContain('Damaged: file ends in the middle of a record');
  });

  it('refuses what is not a capture, a missing file, overwriting its input and a terminal; leaves no output behind', async () => {
    const junk = tmp.write('junk.txt', Buffer.from('hello, this is not a capture\n'));
    const out = join(tmp.path, 'never.pcapng');
    const r1 = await annotate(junk, out);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('not a capture file');
    const r2 = await annotate(join(tmp.path, 'missing.pcap'), out);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('cannot open: no such file');
    const copy = tmp.write('self.pcap', readFileSync(cw));
    const r3 = await annotate(copy, copy);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('would overwrite the capture being read');
    expect(readFileSync(copy).equals(readFileSync(cw))).toBe(true);
    const r4 = await annotate(cw, join(tmp.path, 'no-such-dir', 'x.pcapng'));
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/cannot write: no such file or directory/);
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    let err = '';
    expect(await runAnnotate(cw, { ...FLAGS, output: '-' }, { stdin: new PassThrough(), stdout: tty, stderr: { write: (s: string) => (err += s) } })).toBe(2);
    expect(err).toContain('refusing to write a binary capture to a terminal');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp.path).filter((f) => f.includes('.tcpsleuth-'))).toEqual([]);
  });

  const built = existsSync(join(REPO, 'dist', 'cli', 'annotate-command.js'));
  it.skipIf(!built)(`the CLI has the command, with help and examples; -o is required (exit 2); - to - pipes${built ? '' : ' (needs the build: npm test builds dist/ first)'}`, async () => {
    const run = runBinary;
    const help = await run(['annotate', '--help']);
    expect(help.code).toBe(0);
    for (const s of ['--output', '--annotate', '--min-severity', '--close-wait', '--half-open-retransmissions', '--syn-retransmissions', '--zero-window', '--time-wait', 'Examples:', 'standard input']) {
      expect(help.stdout.toString()).toContain(s);
    }
    const noOut = await run(['annotate', cw]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain("required option '-o, --output <file>' not specified");
    const piped = await run(['annotate', '-', '-o', '-'], readFileSync(cw));
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
    const back = await readAll(tmp.write('piped.pcapng', piped.stdout));
    expect(back.frames).toHaveLength(15);
    expect(back.frames[7]!.comments).toContain('tcpsleuth: client 10.99.0.1:54224 ESTABLISHED -> FIN-WAIT-1 (sent FIN)');
  });
});
