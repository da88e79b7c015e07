import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES } from '../src/capture/errors.js';
import { cat, pattern } from './helpers/bytes.js';
import { LINKTYPE } from './helpers/link-layers.js';
import { pcapFile, pcapHeader, pcapRecord } from './helpers/pcap.js';
import { Pcapng } from './helpers/pcapng.js';
import { gzipStored } from './helpers/gzip.js';
import { useTempDir } from './helpers/temp-dir.js';
import { readAll, type ReadBack } from './helpers/read-back.js';

const tmp = useTempDir();

/** Two good records, then whatever damage a test appends. */
const R1 = pattern(60, 1);
const R2 = pattern(70, 2);
const PCAP_GOOD = pcapFile([
  { data: R1, sec: 1, frac: 1 },
  { data: R2, sec: 2, frac: 2 },
]);
/** Where the third pcap record would start. */
const PCAP_END = 24 + 16 + 60 + 16 + 70;

const ng = new Pcapng(true);
const NG_HEAD = cat(ng.shb(), ng.idb({ linkType: LINKTYPE.RAW }));
const NG_GOOD = cat(NG_HEAD, ng.epb({ ts: 1n, data: R1 }), ng.epb({ ts: 2n, data: R2 }));

interface Expected {
  message: RegExp;
  fileOffset: number;
  packet: number;
  /** Frames delivered before the damage (R1 and R2 when 2). */
  before: number;
  format?: string | null;
}

function expectDamage(r: ReadBack, e: Expected): void {
  const err = r.result.error;
  expect(err, 'an error').not.toBeNull();
  if (err === null) return;
  expect(err.name).toBe('CaptureError');
  expect(err.message).toMatch(e.message);
  expect({ fileOffset: err.fileOffset, packet: err.packet }).toEqual({ fileOffset: e.fileOffset, packet: e.packet });
  expect(r.frames.length).toBe(e.before);
  expect(r.result.packets).toBe(e.before);
  if (e.before >= 1) expect(r.frames[0]!.data).toEqual(R1);
  if (e.before >= 2) expect(r.frames[1]!.data).toEqual(R2);
  if (e.format !== undefined) expect(r.result.format).toBe(e.format);
}

async function read(name: string, data: Buffer): Promise<ReadBack> {
  return readAll(tmp.write(name, data));
}

/** A raw block with any type and length fields, and a body. */
function rawBlock(type: number, len: number, body: Buffer): Buffer {
  return cat(ng.u32(type), ng.u32(len), body);
}

describe('not a capture', () => {
  it('empty file', async () => {
    expectDamage(await read('empty', Buffer.alloc(0)), { message: /empty file/, fileOffset: 0, packet: 0, before: 0, format: null });
  });

  it('a text file', async () => {
    const r = await read('notes.txt', Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n'));
    expectDamage(r, { message: /not a capture file: neither pcap nor pcapng \(starts with 47 45 54 20\)/, fileOffset: 0, packet: 0, before: 0, format: null });
  });

  it('three bytes: too short for any magic', async () => {
    expectDamage(await read('short', Buffer.from([0xd4, 0xc3, 0xb2])), { message: /not a capture file/, fileOffset: 0, packet: 0, before: 0 });
  });

  const magics: Array<[string, number[], RegExp]> = [
    ['zstd', [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0], /zstd-compressed.*zstd -d/],
    ['lz4', [0x04, 0x22, 0x4d, 0x18, 0, 0, 0, 0], /lz4-compressed/],
    ['bzip2', [0x42, 0x5a, 0x68, 0x39, 0x31, 0x41], /bzip2-compressed/],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], /xz-compressed/],
    ['snoop', [...Buffer.from('snoop\0\0\0'), 0, 0, 0, 2], /snoop/],
  ];
  for (const [name, bytes, message] of magics) {
    it(`${name} magic is named`, async () => {
      expectDamage(await read(`x.${name}`, Buffer.from(bytes)), { message, fileOffset: 0, packet: 0, before: 0, format: null });
    });
  }

  it('a nonexistent path', async () => {
    const r = await readAll(`${tmp.path}/does/not/exist.pcap`);
    expectDamage(r, { message: /cannot open: no such file/, fileOffset: 0, packet: 0, before: 0, format: null });
    expect(r.result.bytes).toBe(0);
  });

  it('a directory', async () => {
    expectDamage(await readAll(tmp.path), { message: /is a directory/, fileOffset: 0, packet: 0, before: 0, format: null });
  });
});

describe('pcap damage', () => {
  it('truncated file header', async () => {
    expectDamage(await read('hdr.pcap', PCAP_GOOD.subarray(0, 10)), { message: /file ends in the middle of a file header: 24 bytes needed, 10 left/, fileOffset: 0, packet: 0, before: 0 });
  });

  it('truncated record header right after the file header', async () => {
    expectDamage(await read('rh0.pcap', PCAP_GOOD.subarray(0, 24 + 7)), { message: /middle of a record: 16 bytes needed, 7 left/, fileOffset: 24, packet: 1, before: 0 });
  });

  it('truncated record header', async () => {
    const f = cat(PCAP_GOOD, pcapRecord({ data: pattern(40) }).subarray(0, 11));
    expectDamage(await read('rh.pcap', f), { message: /middle of a record: 16 bytes needed, 11 left/, fileOffset: PCAP_END, packet: 3, before: 2, format: 'pcap-us' });
  });

  it('truncated record data', async () => {
    const f = cat(PCAP_GOOD, pcapRecord({ data: pattern(40) }).subarray(0, 16 + 25));
    expectDamage(await read('rd.pcap', f), { message: /middle of a record: 56 bytes needed, 41 left/, fileOffset: PCAP_END, packet: 3, before: 2 });
  });

  it('captured length over 16 MiB: an error, not an allocation', async () => {
    const f = cat(PCAP_GOOD, pcapRecord({ data: pattern(8), capLen: MAX_RECORD_BYTES + 1 }));
    expect(f.length).toBeLessThan(300);
    const before = process.memoryUsage().arrayBuffers;
    const r = await read('huge.pcap', f);
    const grown = process.memoryUsage().arrayBuffers - before;
    expectDamage(r, { message: /record claims 16777217 captured bytes, more than the 16777216/, fileOffset: PCAP_END, packet: 3, before: 2 });
    expect(grown).toBeLessThan(MAX_RECORD_BYTES);
  });

  it('captured length 0xFFFFFFFF in a big-endian nanosecond file', async () => {
    const o = { le: false, nanos: true };
    const f = cat(pcapFile([{ data: R1 }, { data: R2 }], o), pcapRecord({ data: [], capLen: 0xffffffff }, o));
    expectDamage(await read('huge-be.pcap', f), { message: /record claims 4294967295 captured bytes/, fileOffset: PCAP_END, packet: 3, before: 2, format: 'pcap-ns' });
  });

  it('unsupported version', async () => {
    const f = pcapFile([{ data: R1 }], { version: [3, 0] });
    expectDamage(await read('v3.pcap', f), { message: /unsupported pcap version 3\.0/, fileOffset: 4, packet: 0, before: 0 });
  });

  it('unsupported version, big-endian', async () => {
    const f = cat(pcapHeader({ le: false, version: [1, 0] }), pcapRecord({ data: R1 }, { le: false }));
    expectDamage(await read('v1be.pcap', f), { message: /unsupported pcap version 1\.0/, fileOffset: 4, packet: 0, before: 0 });
  });
});

describe('pcapng damage', () => {
  const afterGood = NG_GOOD.length;

  it('truncated section header (the file header)', async () => {
    expectDamage(await read('shb.pcapng', NG_GOOD.subarray(0, 20)), { message: /middle of a file header: 28 bytes needed, 20 left/, fileOffset: 0, packet: 0, before: 0 });
  });

  it('truncated block', async () => {
    const f = cat(NG_GOOD, ng.epb({ data: pattern(40) }).subarray(0, 30));
    expectDamage(await read('tb.pcapng', f), { message: /middle of a record: 72 bytes needed, 30 left/, fileOffset: afterGood, packet: 3, before: 2, format: 'pcapng' });
  });

  it('truncated block header (fewer than 12 bytes left)', async () => {
    const f = cat(NG_GOOD, ng.epb({ data: pattern(40) }).subarray(0, 6));
    expectDamage(await read('tbh.pcapng', f), { message: /middle of a record: 12 bytes needed, 6 left/, fileOffset: afterGood, packet: 3, before: 2 });
  });

  it('block length not a multiple of 4', async () => {
    const f = cat(NG_GOOD, rawBlock(6, 30, Buffer.alloc(40)));
    expectDamage(await read('len30.pcapng', f), { message: /block of type 0x6 has length 30, not a multiple of 4/, fileOffset: afterGood + 4, packet: 3, before: 2 });
  });

  it('block length below 12', async () => {
    const f = cat(NG_GOOD, rawBlock(1, 8, Buffer.alloc(40)));
    expectDamage(await read('len8.pcapng', f), { message: /block of type 0x1 has length 8, not a multiple of 4 of at least 12/, fileOffset: afterGood + 4, packet: 3, before: 2 });
  });

  it('block length 0', async () => {
    const f = cat(NG_GOOD, rawBlock(6, 0, Buffer.alloc(40)));
    expectDamage(await read('len0.pcapng', f), { message: /has length 0/, fileOffset: afterGood + 4, packet: 3, before: 2 });
  });

  it('trailing length differs from the leading one', async () => {
    const epb = ng.epb({ data: pattern(40) });
    epb.writeUInt32LE(epb.length + 4, epb.length - 4);
    const f = cat(NG_GOOD, epb);
    expectDamage(await read('trailer.pcapng', f), {
      message: new RegExp(`has length ${epb.length} but its trailing length says ${epb.length + 4}`),
      fileOffset: afterGood + epb.length - 4,
      packet: 3,
      before: 2,
    });
  });

  it('block length over 16 MiB: an error, not an allocation', async () => {
    const f = cat(NG_GOOD, rawBlock(6, MAX_RECORD_BYTES + 4, Buffer.alloc(40)));
    const before = process.memoryUsage().arrayBuffers;
    const r = await read('huge.pcapng', f);
    const grown = process.memoryUsage().arrayBuffers - before;
    expectDamage(r, { message: /claims 16777220 bytes, more than the 16777216 allowed/, fileOffset: afterGood + 4, packet: 3, before: 2 });
    expect(grown).toBeLessThan(MAX_RECORD_BYTES);
  });

  it('EPB naming an interface the section does not have', async () => {
    const f = cat(NG_GOOD, ng.epb({ ifId: 1, data: pattern(40) }));
    expectDamage(await read('noif.pcapng', f), { message: /names interface 1, but the section has 1 interface/, fileOffset: afterGood + 8, packet: 3, before: 2 });
  });

  it('EPB naming an interface of an earlier section', async () => {
    // Interface 0 exists in the first section only: the new section has none.
    const f = cat(NG_GOOD, ng.shb(), ng.epb({ ifId: 0, data: pattern(40) }));
    expectDamage(await read('oldif.pcapng', f), { message: /names interface 0, but the section has 0 interface/, fileOffset: afterGood + 28 + 8, packet: 3, before: 2 });
  });

  it('EPB captured length exceeding its block', async () => {
    const f = cat(NG_GOOD, ng.epb({ data: pattern(40), capLen: 41 }));
    expectDamage(await read('caplen.pcapng', f), { message: /captured length 41 exceeds the 40 bytes its block holds/, fileOffset: afterGood + 20, packet: 3, before: 2 });
  });

  it('EPB too short for its fixed fields', async () => {
    const f = cat(NG_GOOD, ng.block(6, Buffer.alloc(12)));
    expectDamage(await read('short-epb.pcapng', f), { message: /packet block is 24 bytes, less than 32/, fileOffset: afterGood + 4, packet: 3, before: 2 });
  });

  it('SPB before any IDB', async () => {
    const f = cat(NG_GOOD, ng.shb(), ng.spb({ data: pattern(40) }));
    expectDamage(await read('spb.pcapng', f), { message: /simple packet block before any interface description block/, fileOffset: afterGood + 28, packet: 3, before: 2 });
  });

  it('first SHB with a bad byte-order magic', async () => {
    const shb = ng.shb();
    shb.writeUInt32LE(0x1a2b3c4e, 8);
    expectDamage(await read('bom1.pcapng', cat(shb, ng.idb())), { message: /bad byte-order magic/, fileOffset: 8, packet: 0, before: 0 });
  });

  it('a later SHB with a bad byte-order magic', async () => {
    const shb = ng.shb();
    shb.writeUInt32LE(0, 8);
    expectDamage(await read('bom2.pcapng', cat(NG_GOOD, shb)), { message: /bad byte-order magic/, fileOffset: afterGood + 8, packet: 3, before: 2 });
  });

  it('unsupported version in the first SHB', async () => {
    expectDamage(await read('v2.pcapng', cat(ng.shb({ major: 2, minor: 0 }), ng.idb())), { message: /unsupported pcapng version 2\.0/, fileOffset: 12, packet: 0, before: 0 });
  });

  it('unsupported version in a later, big-endian SHB', async () => {
    const be = new Pcapng(false);
    expectDamage(await read('v0be.pcapng', cat(NG_GOOD, be.shb({ major: 0, minor: 9 }))), {
      message: /unsupported pcapng version 0\.9/,
      fileOffset: afterGood + 12,
      packet: 3,
      before: 2,
    });
  });

  it('SHB shorter than 28 bytes', async () => {
    const f = cat(NG_GOOD, ng.block(0x0a0d0d0a, cat(ng.u32(0x1a2b3c4d), ng.u16(1), ng.u16(0))));
    expectDamage(await read('short-shb.pcapng', f), { message: /section header block is 20 bytes, less than 28/, fileOffset: afterGood + 4, packet: 3, before: 2 });
  });

  it('an option overrunning its block is a warning, and the packet is kept', async () => {
    const epb = ng.epb({ data: pattern(40), comments: ['abcdefgh'] });
    // The comment option's length field (after 28 fixed bytes and 40 of data) claims 200 bytes.
    epb.writeUInt16LE(200, 28 + 40 + 2);
    const r = await read('optover.pcapng', cat(NG_GOOD, epb));
    expect(r.result.error).toBeNull();
    expect(r.frames.length).toBe(3);
    expect(r.frames[2]!.comments).toBeNull();
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]!.message).toMatch(/overruns its block/);
    expect(r.warnings[0]!.fileOffset).toBe(afterGood + 28 + 40);
  });
});

describe('gzip damage', () => {
  /** Many records, so the decompressed stream spans several zlib output chunks. */
  const records = Array.from({ length: 40 }, (_, i) => ({ data: pattern(1000 + i, i), sec: i }));
  const plain = pcapFile(records);
  /** Offset in `plain` of the end of record i (0-based). */
  const recordEnds: number[] = [];
  let at = 24;
  for (const r of records) {
    at += 16 + r.data.length;
    recordEnds.push(at);
  }
  /** How many records lie wholly within the first `n` decompressed bytes. */
  const completeWithin = (n: number): number => recordEnds.filter((e) => e <= n).length;

  function expectPrefix(r: ReadBack, n: number): void {
    expect(r.frames.length).toBe(n);
    r.frames.forEach((f, i) => expect(f.data).toEqual(records[i]!.data));
  }

  it('truncated gzip: the frames before the cut, then an error at the end of what decompressed', async () => {
    const gz = gzipSync(plain);
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
    const recoverable = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH }).length;
    const n = completeWithin(recoverable);
    expect(n).toBeGreaterThan(5);
    const r = await read('cut.pcap', cut);
    expect(r.result.compression).toBe('gzip');
    expect(r.result.error?.message).toMatch(/gzip data is damaged: unexpected end of compressed data/);
    expectPrefix(r, n);
    expect({ fileOffset: r.result.error?.fileOffset, packet: r.result.error?.packet }).toEqual({ fileOffset: recoverable, packet: n + 1 });
  });

  it('gzip cut inside its 10-byte header', async () => {
    const r = await read('cut-header.pcap', gzipSync(plain).subarray(0, 6));
    expect(r.result.compression).toBe('gzip');
    expect(r.result.error?.message).toMatch(/gzip data is damaged/);
    expect(r.result.error?.fileOffset).toBe(0);
    expectPrefix(r, 0);
  });

  it('corrupt gzip (a bad deflate block): every frame decompressed before the damage is delivered', async () => {
    const { gz, blockHeaderOffsets } = gzipStored(plain, 4096);
    const bad = 6; // blocks 0..5 (24576 bytes) are intact
    const damaged = Buffer.from(gz);
    damaged[blockHeaderOffsets[bad]!] = 0x06; // BTYPE 11: reserved, invalid
    const intact = bad * 4096;
    const n = completeWithin(intact);
    expect(n).toBe(23);
    const r = await read('corrupt.pcap', damaged);
    expect(r.result.compression).toBe('gzip');
    expect(r.result.error?.message).toMatch(/gzip data is damaged: invalid compressed data/);
    expectPrefix(r, n);
    expect({ fileOffset: r.result.error?.fileOffset, packet: r.result.error?.packet }).toEqual({ fileOffset: intact, packet: n + 1 });
  });

  it('corrupt gzip CRC: all frames were decompressed, so all are delivered, then the error', async () => {
    const gz = Buffer.from(gzipSync(plain));
    gz[gz.length - 8]! ^= 0xff; // first byte of the CRC-32 trailer
    const r = await read('crc.pcap', gz);
    expect(r.result.compression).toBe('gzip');
    expect(r.result.error?.message).toMatch(/gzip data is damaged/);
    expectPrefix(r, records.length);
    expect({ fileOffset: r.result.error?.fileOffset, packet: r.result.error?.packet }).toEqual({ fileOffset: plain.length, packet: records.length + 1 });
  });

  it('gzip holding a damaged capture: the capture error, offsets in the decompressed stream', async () => {
    const f = cat(PCAP_GOOD, pcapRecord({ data: pattern(8), capLen: MAX_RECORD_BYTES + 1 }));
    const r = await read('gz-huge.pcap', gzipSync(f));
    expect(r.result.compression).toBe('gzip');
    expectDamage(r, { message: /record claims 16777217 captured bytes/, fileOffset: PCAP_END, packet: 3, before: 2 });
  });

  it('gzip holding text', async () => {
    const r = await read('text.gz', gzipSync(Buffer.from('just some text\n')));
    expect(r.result.compression).toBe('gzip');
    expectDamage(r, { message: /not a capture file: neither pcap nor pcapng/, fileOffset: 0, packet: 0, before: 0, format: null });
  });
});
