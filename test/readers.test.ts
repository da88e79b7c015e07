import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES } from '../src/capture/errors.js';
import { formatEpoch } from '../src/capture/timestamp.js';
import { CHUNK_BYTES } from '../src/capture/window.js';
import { cat, pattern } from './helpers/bytes.js';
import { ipv4, tcp } from './helpers/ip-packets.js';
import { LINKTYPE, asV4, ethernet } from './helpers/link-layers.js';
import { pcapFile, pcapHeader, type PcapOptions, type PcapRecordSpec } from './helpers/pcap.js';
import { BLOCK, OPT, Pcapng } from './helpers/pcapng.js';
import { useTempDir } from './helpers/temp-dir.js';
import { readAll, type ReadBack } from './helpers/read-back.js';

const tmp = useTempDir();

/** Three distinct Ethernet frames of different lengths. */
const FRAMES = [60, 123, 1514].map((n, i) => {
  const f = ethernet(asV4(ipv4({ payload: tcp({ seq: 1000 + i, payload: n - 54 > 0 ? n - 54 : 0 }) })));
  return f.subarray(0, Math.max(60, n));
});

function expectClean(r: ReadBack, format: string, packets: number, bytes: number): void {
  expect(r.result.error).toBeNull();
  expect(r.result.format).toBe(format);
  expect(r.result.packets).toBe(packets);
  expect(r.frames.length).toBe(packets);
  expect(r.result.bytes).toBe(bytes);
  r.frames.forEach((f, i) => expect(f.index).toBe(i + 1));
}

/** A stream that hands over `data` in `size`-byte chunks, as a pipe would. */
function chunked(data: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return Readable.from(chunks);
}

describe('pcap', () => {
  const variants: Array<{ name: string; o: PcapOptions; format: string; records: PcapRecordSpec[]; times: string[] }> = [];
  for (const le of [true, false]) {
    const order = le ? 'LE' : 'BE';
    variants.push({
      name: `microseconds, ${order}`,
      o: { le },
      format: 'pcap-us',
      records: [
        { data: FRAMES[0]!, sec: 1700000000, frac: 123456 },
        { data: FRAMES[1]!, sec: 1700000001, frac: 999999 },
        { data: FRAMES[2]!, sec: 4294967295, frac: 1 },
      ],
      times: ['1700000000.123456000', '1700000001.999999000', '4294967295.000001000'],
    });
    variants.push({
      name: `nanoseconds, ${order}`,
      o: { le, nanos: true },
      format: 'pcap-ns',
      records: [
        { data: FRAMES[0]!, sec: 1700000000, frac: 123456789 },
        { data: FRAMES[1]!, sec: 1700000001, frac: 999999999 },
        { data: FRAMES[2]!, sec: 0, frac: 1 },
      ],
      times: ['1700000000.123456789', '1700000001.999999999', '0.000000001'],
    });
  }

  for (const v of variants) {
    it(v.name, async () => {
      const file = pcapFile(v.records, { ...v.o, snaplen: 65535 });
      const r = await readAll(tmp.write(`pcap-${v.format}-${v.o.le ? 'le' : 'be'}.pcap`, file));
      expectClean(r, v.format, 3, file.length);
      expect(r.frames.map((f) => f.time)).toEqual(v.times);
      let off = 24;
      r.frames.forEach((f, i) => {
        expect(f.data.equals(FRAMES[i]!)).toBe(true);
        expect(f.capLen).toBe(FRAMES[i]!.length);
        expect(f.origLen).toBe(FRAMES[i]!.length);
        expect(f.linkType).toBe(LINKTYPE.ETHERNET);
        expect(f.interfaceId).toBe(0);
        expect(f.hasTime).toBe(true);
        expect(f.comments).toBeNull();
        expect(f.fcsLen).toBe(-1);
        expect(f.fileOffset).toBe(off);
        off += 16 + FRAMES[i]!.length;
      });
      expect(r.interfaces).toHaveLength(1);
      expect(r.interfaces[0]).toMatchObject({ id: 0, linkType: 1, snapLen: 65535, tsUnitsPerSecond: v.o.nanos ? 1e9 : 1e6, tsOffsetSeconds: 0, fcsLen: -1 });
    });
  }

  it('a microsecond fraction of a second or more is carried into the seconds', async () => {
    const r = await readAll(tmp.write('carry.pcap', pcapFile([{ data: FRAMES[0]!, sec: 10, frac: 2500000 }])));
    expect(r.result.error).toBeNull();
    expect(r.frames[0]!.time).toBe('12.500000000');
  });

  it('snaplen-cut records keep their wire length', async () => {
    const r = await readAll(tmp.write('snap.pcap', pcapFile([{ data: FRAMES[2]!.subarray(0, 96), origLen: 1514 }], { snaplen: 96 })));
    expect(r.frames[0]).toMatchObject({ capLen: 96, origLen: 1514 });
    expect(r.interfaces[0]!.snapLen).toBe(96);
  });

  it('no records at all', async () => {
    const r = await readAll(tmp.write('empty-records.pcap', pcapHeader({ linkType: LINKTYPE.RAW })));
    expectClean(r, 'pcap-us', 0, 24);
    expect(r.interfaces[0]!.linkType).toBe(LINKTYPE.RAW);
  });

  for (const le of [true, false]) {
    it(`FCS bits in the link type field (${le ? 'LE' : 'BE'})`, async () => {
      const file = pcapFile([{ data: cat(FRAMES[0]!, [1, 2, 3, 4]) }], { le, linkType: LINKTYPE.ETHERNET, fcsBytes: 4 });
      const r = await readAll(tmp.write(`fcs-${le}.pcap`, file));
      expect(r.result.error).toBeNull();
      expect(r.frames[0]!.linkType).toBe(LINKTYPE.ETHERNET);
      expect(r.frames[0]!.fcsLen).toBe(4);
      expect(r.interfaces[0]!.linkType).toBe(LINKTYPE.ETHERNET);
      expect(r.interfaces[0]!.fcsLen).toBe(4);
    });
  }

  it('FCS length bits without the F bit mean nothing; reserved bits do not change the link type', async () => {
    const field = (0x20000000 | 0x00ff0000 | LINKTYPE.LINUX_SLL) >>> 0;
    const r = await readAll(tmp.write('nofbit.pcap', pcapFile([{ data: pattern(40) }], { linkTypeField: field })));
    expect(r.frames[0]!.linkType).toBe(LINKTYPE.LINUX_SLL);
    expect(r.frames[0]!.fcsLen).toBe(-1);
  });

  for (const le of [true, false]) {
    it(`Kuznetzov's patched format, 24-byte record headers (${le ? 'LE' : 'BE'})`, async () => {
      const file = pcapFile(
        FRAMES.map((data, i) => ({ data, sec: 1600000000 + i, frac: 500000 })),
        { le, kuznetzov: true },
      );
      const r = await readAll(tmp.write(`kuz-${le}.pcap`, file));
      expectClean(r, 'pcap-us', 3, file.length);
      expect(r.frames.map((f) => f.time)).toEqual(['1600000000.500000000', '1600000001.500000000', '1600000002.500000000']);
      let off = 24;
      r.frames.forEach((f, i) => {
        expect(f.data.equals(FRAMES[i]!)).toBe(true);
        expect(f.fileOffset).toBe(off);
        off += 24 + FRAMES[i]!.length;
      });
    });
  }
});

describe('pcapng', () => {
  for (const le of [true, false]) {
    it(`basic file (${le ? 'LE' : 'BE'}): SHB, IDB, EPBs`, async () => {
      const ng = new Pcapng(le);
      const blocks = [
        ng.shb({ options: [[OPT.SHB_USERAPPL, 'tcpsleuth tests']] }),
        ng.idb({ linkType: LINKTYPE.ETHERNET, snaplen: 262144, name: 'eth0' }),
        ...FRAMES.map((data, i) => ng.epb({ ts: 1700000000000000n + BigInt(i) * 1500001n, data })),
      ];
      const file = cat(...blocks);
      const r = await readAll(tmp.write(`basic-${le}.pcapng`, file));
      expectClean(r, 'pcapng', 3, file.length);
      expect(r.frames.map((f) => f.time)).toEqual(['1700000000.000000000', '1700000001.500001000', '1700000003.000002000']);
      let off = blocks[0]!.length + blocks[1]!.length;
      r.frames.forEach((f, i) => {
        expect(f.data.equals(FRAMES[i]!)).toBe(true);
        expect(f).toMatchObject({ capLen: FRAMES[i]!.length, origLen: FRAMES[i]!.length, linkType: 1, interfaceId: 0, hasTime: true, comments: null, fileOffset: off });
        off += blocks[2 + i]!.length;
      });
      expect(r.interfaces).toHaveLength(1);
      expect(r.interfaces[0]).toMatchObject({ id: 0, linkType: 1, snapLen: 262144, name: 'eth0', description: null, tsUnitsPerSecond: 1e6, tsOffsetSeconds: 0, fcsLen: -1 });
      expect(r.warnings).toEqual([]);
    });
  }

  /** One interface with these IDB options, one EPB per timestamp; the frames' times. */
  async function times(name: string, idb: Parameters<Pcapng['idb']>[0], ts: bigint[], le = true): Promise<string[]> {
    const ng = new Pcapng(le);
    const file = cat(ng.shb(), ng.idb(idb), ...ts.map((t) => ng.epb({ ts: t, data: FRAMES[0]! })));
    const r = await readAll(tmp.write(name, file));
    expect(r.result.error).toBeNull();
    expect(r.warnings).toEqual([]);
    return r.frames.map((f) => f.time);
  }

  /** What a timestamp of `t` units of `unitsPerSec` is, exactly, truncated to the nanosecond. */
  function exact(t: bigint, unitsPerSec: bigint, offset = 0n): string {
    const sec = t / unitsPerSec + offset;
    const nsec = ((t % unitsPerSec) * 1000000000n) / unitsPerSec;
    return formatEpoch(Number(sec), Number(nsec));
  }

  for (const le of [true, false]) {
    it(`if_tsresol 10^-9, timestamps beyond 2^53 exact to the nanosecond (${le ? 'LE' : 'BE'})`, async () => {
      const ts = [1700000000123456789n, 1700000000999999999n, 4102444800000000001n];
      expect(await times(`ns-${le}.pcapng`, { tsresol: 9 }, ts, le)).toEqual(['1700000000.123456789', '1700000000.999999999', '4102444800.000000001']);
    });
  }

  it('if_tsresol 10^-3', async () => {
    expect(await times('ms.pcapng', { tsresol: 3 }, [1700000000123n, 1700000000999n])).toEqual(['1700000000.123000000', '1700000000.999000000']);
  });

  it('if_tsresol 10^-6 given explicitly', async () => {
    expect(await times('us.pcapng', { tsresol: 6 }, [1700000000654321n])).toEqual(['1700000000.654321000']);
  });

  it('if_tsresol 2^-20', async () => {
    const u = 1n << 20n;
    const ts = [1700000000n * u, 1700000000n * u + 1n, 1700000000n * u + (u >> 1n), 1700000000n * u + u - 1n];
    expect(await times('pow20.pcapng', { tsresol: 0x80 | 20 }, ts)).toEqual(ts.map((t) => exact(t, u)));
    expect(exact(ts[1]!, u)).toBe('1700000000.000000953');
  });

  it('if_tsresol 2^-32 (NTP-style fractions)', async () => {
    const u = 1n << 32n;
    const ts = [1700000000n * u + 0xffffffffn, 1700000000n * u + 0x80000000n, 1700000000n * u + 12345678n];
    const got = await times('pow32.pcapng', { tsresol: 0x80 | 32 }, ts);
    expect(got).toEqual(ts.map((t) => exact(t, u)));
    expect(got[0]).toBe('1700000000.999999999');
    expect(got[1]).toBe('1700000000.500000000');
  });

  it('if_tsresol 10^-12 (picoseconds) truncates to the nanosecond', async () => {
    // 64 bits of picoseconds reach only 213 days past the epoch.
    const u = 10n ** 12n;
    const ts = [12345678n * u + 123456789999n, 0xffffffffffffffffn];
    expect(await times('ps.pcapng', { tsresol: 12 }, ts)).toEqual(['12345678.123456789', exact(ts[1]!, u)]);
    expect(exact(ts[1]!, u)).toBe('18446744.073709551');
  });

  it('if_tsoffset adds seconds', async () => {
    expect(await times('off.pcapng', { tsoffset: 1700000000 }, [1500000n, 2000001n])).toEqual(['1700000001.500000000', '1700000002.000001000']);
  });

  it('if_tsoffset with if_tsresol 10^-9, big-endian', async () => {
    expect(await times('off-ns-be.pcapng', { tsresol: 9, tsoffset: 1000 }, [123456789n], false)).toEqual(['1000.123456789']);
  });

  it('a negative if_tsoffset', async () => {
    // 3.25 s - 5 s = -1.75 s
    expect(await times('neg.pcapng', { tsoffset: -5 }, [3250000n])).toEqual(['-1.750000000']);
  });

  it('several sections: interface ids numbered on across sections, byte order per section', async () => {
    const a = new Pcapng(true);
    const b = new Pcapng(false);
    const file = cat(
      a.shb(),
      a.idb({ linkType: LINKTYPE.ETHERNET }),
      a.idb({ linkType: LINKTYPE.RAW, tsresol: 9 }),
      a.epb({ ifId: 1, ts: 5000000001n, data: FRAMES[0]! }),
      a.epb({ ifId: 0, ts: 6000000n, data: FRAMES[1]! }),
      b.shb(),
      b.idb({ linkType: LINKTYPE.NULL, tsresol: 3 }),
      b.epb({ ifId: 0, ts: 7001n, data: FRAMES[2]! }),
      a.shb(),
      a.idb({ linkType: LINKTYPE.LINUX_SLL }),
      a.idb({ linkType: LINKTYPE.LINUX_SLL2, name: 'any' }),
      a.epb({ ifId: 1, ts: 8000000n, data: FRAMES[0]! }),
      a.epb({ ifId: 0, ts: 9000000n, data: FRAMES[1]! }),
    );
    const r = await readAll(tmp.write('sections.pcapng', file));
    expectClean(r, 'pcapng', 5, file.length);
    expect(r.interfaces.map((i) => [i.id, i.linkType])).toEqual([
      [0, LINKTYPE.ETHERNET],
      [1, LINKTYPE.RAW],
      [2, LINKTYPE.NULL],
      [3, LINKTYPE.LINUX_SLL],
      [4, LINKTYPE.LINUX_SLL2],
    ]);
    expect(r.frames.map((f) => [f.interfaceId, f.linkType, f.time])).toEqual([
      [1, LINKTYPE.RAW, '5.000000001'],
      [0, LINKTYPE.ETHERNET, '6.000000000'],
      [2, LINKTYPE.NULL, '7.001000000'],
      [4, LINKTYPE.LINUX_SLL2, '8.000000000'],
      [3, LINKTYPE.LINUX_SLL, '9.000000000'],
    ]);
    expect(r.frames.map((f) => f.data.length)).toEqual([60, 123, 1514, 60, 123]);
  });

  it('EPB comments are kept, in order, UTF-8; blocks without comments give null', async () => {
    const ng = new Pcapng(false);
    const file = cat(
      ng.shb(),
      ng.idb(),
      ng.epb({ data: FRAMES[0]!, comments: ['first', 'second — ünïcödé ✓'] }),
      ng.epb({ data: FRAMES[1]! }),
      ng.epb({ data: FRAMES[2]!, options: [[OPT.EPB_FLAGS, ng.u32(1)]], comments: ['after flags'] }),
      ng.epb({ data: pattern(3), comments: ['odd-length data, odd-length comment'] }),
    );
    const r = await readAll(tmp.write('comments.pcapng', file));
    expect(r.result.error).toBeNull();
    expect(r.frames.map((f) => f.comments)).toEqual([['first', 'second — ünïcödé ✓'], null, ['after flags'], ['odd-length data, odd-length comment']]);
    expect(r.frames[3]!.data).toEqual(pattern(3));
  });

  it('SPB: captured length from the IDB snaplen, no timestamp', async () => {
    const ng = new Pcapng(true);
    const big = pattern(100, 1);
    const file = cat(
      ng.shb(),
      ng.idb({ snaplen: 64 }),
      ng.spb({ data: big.subarray(0, 64), origLen: 100 }), // cut to the snaplen
      ng.spb({ data: pattern(41, 2) }), // shorter than the snaplen, padded to 44 in the block
      ng.epb({ ts: 1000000n, data: pattern(50, 3) }),
    );
    const r = await readAll(tmp.write('spb.pcapng', file));
    expectClean(r, 'pcapng', 3, file.length);
    expect(r.frames.map((f) => [f.capLen, f.origLen, f.hasTime])).toEqual([
      [64, 100, false],
      [41, 41, false],
      [50, 50, true],
    ]);
    expect(r.frames[0]!.data).toEqual(big.subarray(0, 64));
    expect(r.frames[1]!.data).toEqual(pattern(41, 2));
    expect(r.frames[0]!.interfaceId).toBe(0);
  });

  it('SPB with snaplen 0: no limit', async () => {
    const ng = new Pcapng(false);
    const file = cat(ng.shb(), ng.idb({ snaplen: 0 }), ng.spb({ data: FRAMES[2]! }));
    const r = await readAll(tmp.write('spb0.pcapng', file));
    expect(r.result.error).toBeNull();
    expect(r.frames[0]).toMatchObject({ capLen: 1514, origLen: 1514 });
    expect(r.frames[0]!.data.equals(FRAMES[2]!)).toBe(true);
  });

  for (const le of [true, false]) {
    it(`obsolete Packet Block (type 2) (${le ? 'LE' : 'BE'})`, async () => {
      const ng = new Pcapng(le);
      const file = cat(
        ng.shb(),
        ng.idb({ linkType: LINKTYPE.ETHERNET }),
        ng.idb({ linkType: LINKTYPE.RAW }),
        ng.pb({ ifId: 1, drops: 7, ts: 1700000000250000n, data: FRAMES[1]!, origLen: 200, comments: ['old style'] }),
        ng.pb({ ifId: 0, ts: 1700000001000000n, data: FRAMES[0]! }),
      );
      const r = await readAll(tmp.write(`pb-${le}.pcapng`, file));
      expectClean(r, 'pcapng', 2, file.length);
      expect(r.frames[0]).toMatchObject({ interfaceId: 1, linkType: LINKTYPE.RAW, capLen: 123, origLen: 200, time: '1700000000.250000000', comments: ['old style'] });
      expect(r.frames[0]!.data.equals(FRAMES[1]!)).toBe(true);
      expect(r.frames[1]).toMatchObject({ interfaceId: 0, time: '1700000001.000000000', comments: null });
    });
  }

  it('NRB, ISB, DSB, unknown and local-use blocks are skipped; custom blocks are numbered frames', async () => {
    const ng = new Pcapng(true);
    const file = cat(
      ng.shb(),
      ng.nrb([{ ip: '192.0.2.1', names: ['a.example', 'b.example'] }]),
      ng.idb(),
      ng.epb({ ts: 1n, data: FRAMES[0]! }),
      ng.isb({ ifId: 0, ts: 2n, options: [[4, ng.u64(10n)]] }),
      ng.block(BLOCK.DSB, cat(ng.u32(0x544c534b), ng.u32(8), pattern(8))),
      ng.block(0x12345678, pattern(33)),
      ng.block(0x80000001, pattern(4)),
      ng.custom({ pen: 32473, data: pattern(20), copy: true }),
      ng.epb({ ts: 3n, data: FRAMES[1]! }),
      ng.custom({ copy: false }),
      ng.block(0x0000000c, []), // an unassigned type, empty body
    );
    const r = await readAll(tmp.write('skip.pcapng', file));
    expectClean(r, 'pcapng', 4, file.length);
    expect(r.frames.map((f) => [f.index, f.linkType, f.interfaceId])).toEqual([
      [1, LINKTYPE.ETHERNET, 0],
      [2, -1, -1],
      [3, LINKTYPE.ETHERNET, 0],
      [4, -1, -1],
    ]);
    expect(r.frames[1]!.hasTime).toBe(false);
    expect(r.frames[1]!.data).toEqual(cat(ng.u32(32473), pattern(20)));
    expect(r.frames[2]!.data.equals(FRAMES[1]!)).toBe(true);
  });

  it('IDB if_fcslen sets the frames\' FCS length', async () => {
    const ng = new Pcapng(false);
    const file = cat(ng.shb(), ng.idb({ fcslen: 4 }), ng.epb({ data: cat(FRAMES[0]!, [9, 9, 9, 9]) }));
    const r = await readAll(tmp.write('fcslen.pcapng', file));
    expect(r.frames[0]!.fcsLen).toBe(4);
    expect(r.interfaces[0]!.fcsLen).toBe(4);
  });
});

describe('compression and standard input', () => {
  const plainPcap = pcapFile(FRAMES.map((data, i) => ({ data, sec: 1700000000 + i, frac: 7 })), { nanos: true });
  const ng = new Pcapng(false);
  const plainNg = cat(ng.shb(), ng.idb({ tsresol: 9 }), ...FRAMES.map((data, i) => ng.epb({ ts: 1700000000000000007n + BigInt(i) * 1000000000n, data, comments: [`c${i}`] })));

  async function sameAsPlain(r: ReadBack, plain: Buffer, format: string): Promise<void> {
    const ref = await readAll(tmp.write(`ref-${format}.cap`, plain));
    expect(r.result.error).toBeNull();
    expect(r.result.format).toBe(format);
    expect(r.result.bytes).toBe(plain.length);
    expect(r.frames).toEqual(ref.frames);
    expect(r.frames.map((f) => f.time)).toEqual(['1700000000.000000007', '1700000001.000000007', '1700000002.000000007']);
  }

  it('a gzip-compressed pcap is recognised by its magic, not its name', async () => {
    const r = await readAll(tmp.write('no-gz-suffix.pcap', gzipSync(plainPcap)));
    expect(r.result.compression).toBe('gzip');
    await sameAsPlain(r, plainPcap, 'pcap-ns');
  });

  it('a gzip-compressed pcapng too', async () => {
    const r = await readAll(tmp.write('capture.dat', gzipSync(plainNg)));
    expect(r.result.compression).toBe('gzip');
    await sameAsPlain(r, plainNg, 'pcapng');
    expect(r.frames.map((f) => f.comments)).toEqual([['c0'], ['c1'], ['c2']]);
  });

  it('an uncompressed file named .gz is read as it is', async () => {
    const r = await readAll(tmp.write('lying-name.pcap.gz', plainPcap));
    expect(r.result.compression).toBeNull();
    await sameAsPlain(r, plainPcap, 'pcap-ns');
  });

  it("standard input ('-'), in awkward 5-byte chunks", async () => {
    const r = await readAll('-', chunked(plainNg, 5));
    expect(r.result.compression).toBeNull();
    await sameAsPlain(r, plainNg, 'pcapng');
  });

  it('standard input, one chunk', async () => {
    await sameAsPlain(await readAll('-', Readable.from([plainPcap])), plainPcap, 'pcap-ns');
  });

  it('gzip on standard input, in 3-byte chunks', async () => {
    const r = await readAll('-', chunked(gzipSync(plainPcap), 3));
    expect(r.result.compression).toBe('gzip');
    await sameAsPlain(r, plainPcap, 'pcap-ns');
  });

  it('multi-member gzip (concatenated gzip files) is read to its end', async () => {
    const half = 24 + 16 + FRAMES[0]!.length;
    const r = await readAll(tmp.write('multi.gz', cat(gzipSync(plainPcap.subarray(0, half)), gzipSync(plainPcap.subarray(half)))));
    await sameAsPlain(r, plainPcap, 'pcap-ns');
  });
});

describe('records bigger than, and straddling, the 4 MiB read chunk', () => {
  const sha = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
  // The second record's header starts 6 bytes before the first chunk ends; the third is
  // the largest record allowed (16 MiB); then a small one.
  const firstLen = CHUNK_BYTES - 24 - 16 - 6;
  const sizes = [firstLen, 3 * 1024 * 1024 + 5, MAX_RECORD_BYTES, 100];
  const datas = sizes.map((n, i) => pattern(n, 17 * i + 1));
  const hashes = datas.map(sha);
  const file = pcapFile(datas.map((data, i) => ({ data, sec: 1000 + i, frac: i })), { linkType: LINKTYPE.RAW, snaplen: MAX_RECORD_BYTES });
  const offsets = [24, 24 + 16 + sizes[0]!, 24 + 32 + sizes[0]! + sizes[1]!, 24 + 48 + sizes[0]! + sizes[1]! + sizes[2]!];

  function check(r: ReadBack): void {
    expect(r.result.error).toBeNull();
    expect(r.result.packets).toBe(4);
    expect(r.result.bytes).toBe(file.length);
    expect(r.frames.map((f) => f.capLen)).toEqual(sizes);
    expect(r.frames.map((f) => f.fileOffset)).toEqual(offsets);
    expect(r.frames.map((f) => sha(f.data))).toEqual(hashes);
    expect(r.frames.map((f) => f.time)).toEqual(['1000.000000000', '1001.000001000', '1002.000002000', '1003.000003000']);
  }

  it('from a file', async () => {
    expect(offsets[1]! + 16).toBeGreaterThan(CHUNK_BYTES);
    expect(offsets[1]!).toBeLessThan(CHUNK_BYTES);
    check(await readAll(tmp.write('big.pcap', file)));
  });

  it('from standard input in 64 KiB chunks', async () => {
    check(await readAll('-', chunked(file, 65536)));
  });

  it('pcapng: an EPB straddling the chunk boundary', async () => {
    const ng = new Pcapng(true);
    const head = cat(ng.shb(), ng.idb({ linkType: LINKTYPE.RAW }));
    // First EPB ends 20 bytes before the chunk boundary; the second crosses it.
    const firstData = pattern(CHUNK_BYTES - head.length - 32 - 20, 5);
    const second = pattern(5 * 1024 * 1024 + 3, 9);
    const blocks = cat(head, ng.epb({ data: firstData, ts: 1n }), ng.epb({ data: second, ts: 2n, comments: ['big one'] }), ng.epb({ data: pattern(10), ts: 3n }));
    const r = await readAll(tmp.write('big.pcapng', blocks));
    expect(r.result.error).toBeNull();
    expect(r.frames.map((f) => f.capLen)).toEqual([firstData.length, second.length, 10]);
    expect(sha(r.frames[1]!.data)).toBe(sha(second));
    expect(r.frames[1]!.comments).toEqual(['big one']);
    expect(r.frames[1]!.fileOffset).toBe(CHUNK_BYTES - 20);
  });
});
