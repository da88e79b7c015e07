/**
 * Differential test against tshark (the oracle) over every capture of the shared corpus:
 * frame count, timestamps to the nanosecond, and for every frame whose TCP header
 * tshark reaches directly over IP, the addresses, ports, raw sequence and ack numbers,
 * flags, window and segment length; for ICMP errors quoting TCP, the quoted ports and
 * sequence number. tshark runs once per capture, at collection (so the test names can
 * say which captures tshark reads cleanly); nothing is cached on disk.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CaptureError } from '../src/capture/errors.js';
import type { Frame } from '../src/capture/frame.js';
import { readCapture, type ReadResult } from '../src/capture/read-capture.js';
import { formatEpoch } from '../src/capture/timestamp.js';
import { Decoder } from '../src/decode/decoder.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, HAVE_TSHARK, manifest, type ManifestRow } from './helpers/env.js';
import { formatIpv4, formatIpv6, mapLimit, runTshark, type TsharkRow, type TsharkRun } from './helpers/tshark.js';

const READY = HAVE_TSHARK && HAVE_CORPUS;

/** What we make of one frame, as strings in tshark's notation. */
interface OurFrame {
  index: number;
  epoch: string;
  kind: 'tcp' | 'icmp-error' | 'other';
  /** For 'other': reason and detail. */
  reason: string;
  /** The IP header is a fragment (first or only one; later ones are never TCP). */
  ipFragment: boolean;
  /** A tunnel's outer datagram is a first fragment: the inner segment goes on in the next one. */
  outerFragment: boolean;
  tcp: {
    src: string;
    dst: string;
    srcPort: string;
    dstPort: string;
    seq: string;
    ack: string;
    flags: string;
    window: string;
    len: string;
  } | null;
  /** For an ICMP error quoting TCP: what the quote holds. */
  quoted: { srcPort: string; dstPort: string; seq: string } | null;
}

interface OurRead {
  frames: OurFrame[];
  result: ReadResult;
  /** A decoder exception, which must never happen. */
  crash: unknown;
}

function hex4(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

function addr(version: 4 | 6, a: Uint8Array): string {
  return version === 4 ? formatIpv4(a) : formatIpv6(a);
}

async function readOurs(path: string): Promise<OurRead> {
  const decoder = new Decoder();
  const frames: OurFrame[] = [];
  let crash: unknown = null;
  const result = await readCapture(path, {
    onInterface: () => undefined,
    onWarning: () => undefined,
    onFrame: (frame: Frame) => {
      const f: OurFrame = {
        index: frame.index,
        epoch: frame.hasTime ? formatEpoch(frame.sec, frame.nsec) : '',
        kind: 'other',
        reason: '',
        tcp: null,
        quoted: null,
        ipFragment: false,
        outerFragment: false,
      };
      frames.push(f);
      if (crash !== null) return;
      try {
        const p = decoder.decode(frame);
        f.kind = p.kind;
        if (p.kind === 'tcp') {
          const { ip, tcp } = p;
          f.ipFragment = ip.fragment;
          f.outerFragment = p.tunnel.outerFragment;
          f.tcp = {
            src: addr(ip.version, ip.src),
            dst: addr(ip.version, ip.dst),
            srcPort: String(tcp.srcPort),
            dstPort: String(tcp.dstPort),
            seq: String(tcp.seq),
            ack: String(tcp.ack),
            flags: hex4((tcp.reserved << 9) | tcp.flags),
            window: String(tcp.window),
            len: String(tcp.payloadLength),
          };
        } else if (p.kind === 'icmp-error') {
          const q = p.icmp.quoted;
          if (p.icmp.quotesTcp) {
            f.quoted = { srcPort: q.hasPorts ? String(q.srcPort) : '', dstPort: q.hasPorts ? String(q.dstPort) : '', seq: q.hasSeq ? String(q.seq) : '' };
          }
        } else {
          f.reason = p.detail ? `${p.reason}: ${p.detail}` : p.reason;
        }
      } catch (e) {
        crash = e;
      }
    },
  });
  return { frames, result, crash };
}

/**
 * How tshark reached TCP in a frame, from frame.protocols:
 * - 'direct': the only TCP layer sits on the only IP/IPv6 layer before it (IPv6
 *   extension headers between them allowed), whatever link layers, tags, labels or
 *   PPPoE come first. We must decode these as TCP, field for field.
 * - 'icmp-quote': ip, icmp, ip, tcp (or the ICMPv6 form): an ICMP error quoting a
 *   segment; tshark's tcp.* fields then hold the quoted header.
 * - 'tunnel': TCP behind a second IP layer, or behind a link layer inside a tunnel.
 *   We decapsulate these, so the innermost IP layer's addresses and the first TCP
 *   layer's fields must be ours, field for field. In the corpus: VXLAN, Geneve, GTP-U,
 *   GRE (plain, over UDP, ERSPAN, WCCP, Aruba WLAN), AYIYA, Teredo (tshark's heuristic
 *   turned on), IPv4-in-IPv6 and IPv6-in-IPv6.
 * - 'sampled': a copy of a packet header inside a monitoring protocol (sFlow): not a
 *   packet on the wire, never TCP to us.
 * - 'none': no TCP.
 */
type TcpPath = 'none' | 'direct' | 'icmp-quote' | 'tunnel' | 'sampled';

/** Protocols whose payload is a sample of some other packet, not a tunnel. */
const SAMPLERS = new Set(['sflow']);

const IP_LAYERS = new Set(['ip', 'ipv6']);

function tcpPath(protocols: string[]): { path: TcpPath; ipLayer: string } {
  const first = protocols.indexOf('tcp');
  if (first < 0) return { path: 'none', ipLayer: '' };
  if (protocols.slice(0, first).some((l) => SAMPLERS.has(l))) return { path: 'sampled', ipLayer: '' };
  const tcpCount = protocols.filter((l) => l === 'tcp').length;
  const before = protocols.slice(0, first);
  const ips = before.filter((l) => IP_LAYERS.has(l));
  // The layer carrying TCP, skipping IPv6 extension headers (ipv6.hopopts, ipv6.fraghdr...).
  let i = first - 1;
  while (i >= 0 && protocols[i]!.startsWith('ipv6.')) i--;
  const carrier = i >= 0 ? protocols[i]! : '';
  if (tcpCount !== 1 || !IP_LAYERS.has(carrier)) return { path: 'tunnel', ipLayer: carrier };
  const icmp = before.some((l) => l === 'icmp' || l === 'icmpv6');
  if (!icmp && ips.length === 1) return { path: 'direct', ipLayer: carrier };
  if (icmp && ips.length === 2) {
    // ip, icmp, ip, tcp: the ICMP error sits directly on the outer IP layer.
    let j = i - 1;
    const icmpLayer = protocols[j];
    if (icmpLayer === 'icmp' || icmpLayer === 'icmpv6') {
      j--;
      while (j >= 0 && protocols[j]!.startsWith('ipv6.')) j--;
      if (j >= 0 && IP_LAYERS.has(protocols[j]!)) return { path: 'icmp-quote', ipLayer: carrier };
    }
  }
  return { path: 'tunnel', ipLayer: carrier };
}

type TcpFields = NonNullable<OurFrame['tcp']>;
const TCP_KEYS: readonly (keyof TcpFields)[] = ['src', 'dst', 'srcPort', 'dstPort', 'seq', 'ack', 'flags', 'window', 'len'];

/**
 * tshark's view of a direct TCP frame: the first occurrence of each field ('' where
 * tshark has none). With one IP layer before the only TCP layer, the first ip/ipv6
 * and tcp values are that layer's (later ones come from payloads such as OpenFlow's).
 */
function tsharkTcp(r: TsharkRow, ipLayer: string): TcpFields {
  return {
    src: (ipLayer === 'ip' ? r.ipSrc[0] : r.ipv6Src[0]) ?? '',
    dst: (ipLayer === 'ip' ? r.ipDst[0] : r.ipv6Dst[0]) ?? '',
    srcPort: r.srcPort[0] ?? '',
    dstPort: r.dstPort[0] ?? '',
    seq: r.seq[0] ?? '',
    ack: r.ack[0] ?? '',
    flags: r.flags[0] ?? '',
    window: r.window[0] ?? '',
    len: r.len[0] ?? '',
  };
}

/**
 * tshark's view of a tunnelled TCP frame: the addresses of the IP layer carrying the
 * first TCP layer (the innermost before it: as many ip or ipv6 values are listed as
 * there are layers of that family before it), and that TCP layer's fields.
 */
function tsharkInnerTcp(r: TsharkRow, ipLayer: string): TcpFields | null {
  const first = r.protocols.indexOf('tcp');
  const before = r.protocols.slice(0, first).filter((l) => l === ipLayer).length;
  const src = ipLayer === 'ip' ? r.ipSrc : ipLayer === 'ipv6' ? r.ipv6Src : null;
  const dst = ipLayer === 'ip' ? r.ipDst : ipLayer === 'ipv6' ? r.ipv6Dst : null;
  if (src === null || dst === null || before === 0) return null;
  const t = tsharkTcp(r, ipLayer);
  return { ...t, src: src[before - 1] ?? '', dst: dst[before - 1] ?? '' };
}

function show(o: unknown): string {
  return JSON.stringify(o);
}

function diffTcp(want: TcpFields, ours: TcpFields, keys: readonly (keyof TcpFields)[]): string[] {
  return keys.filter((k) => want[k] !== ours[k]).map((k) => `${k} tshark ${want[k] || '(none)'} ours ${ours[k]}`);
}

/**
 * Timestamps where tshark is the one that is wrong: pcap records whose fraction field
 * is out of range. tshark 4.0 neither normalises nor range-checks it: a microsecond
 * field of 1000000 prints as ".1000000000" (ten digits), and 0x80000000 overflows
 * tshark's 32-bit nanosecond arithmetic (to 0 for microseconds, to a negative
 * "-S.2147483648" for nanoseconds). We carry the excess into the seconds (reader
 * comment in src/capture/pcap.ts), so our values are the record's real instant.
 * Each entry pins both tshark's text and ours, so a change on either side is seen.
 */
const EPOCH_EXCEPTIONS: Readonly<Record<string, Readonly<Record<number, { tshark: string; ours: string }>>>> = {
  'tcpdump/timestamp_invalid_micro.pcap': {
    // sec 1418145370, usec 1000000 = exactly one more second.
    2: { tshark: '1418145370.1000000000', ours: '1418145371.000000000' },
    // sec 1418145370, usec 0x80000000 = 2147.483648 s more; tshark's usec*1000 wraps to 0.
    3: { tshark: '1418145370.000000000', ours: '1418147517.483648000' },
  },
  'tcpdump/timestamp_invalid_nano.pcap': {
    // sec 1418145370, nsec 1000000000 = exactly one more second.
    2: { tshark: '1418145370.1000000000', ours: '1418145371.000000000' },
    // sec 1418145370, nsec 0x80000000 = 2.147483648 s more; tshark reads it as a negative int32.
    3: { tshark: '-1418145370.2147483648', ours: '1418145372.147483648' },
  },
};

/** Every disagreement between tshark's rows and our frames, one line each. */
function compare(file: string, rows: TsharkRow[], ours: OurFrame[]): string[] {
  const out: string[] = [];
  if (rows.length !== ours.length) out.push(`packet count: tshark ${rows.length}, ours ${ours.length}`);
  const n = Math.min(rows.length, ours.length);
  const epochExceptions = EPOCH_EXCEPTIONS[file] ?? {};
  for (let k = 0; k < n; k++) {
    const r = rows[k]!;
    const o = ours[k]!;
    const at = `frame ${r.number}`;
    if (o.index !== r.number) out.push(`${at}: our frame number is ${o.index}`);
    const ex = epochExceptions[r.number];
    if (ex !== undefined) {
      if (r.epoch !== ex.tshark || o.epoch !== ex.ours) {
        out.push(`${at}: out-of-range pcap fraction: expected tshark "${ex.tshark}" and ours "${ex.ours}", got tshark "${r.epoch}", ours "${o.epoch}"`);
      }
    } else if (o.epoch !== r.epoch) {
      out.push(`${at}: time_epoch tshark "${r.epoch}", ours "${o.epoch}"`);
    }
    const { path, ipLayer } = tcpPath(r.protocols);
    const proto = r.protocols.join(':');
    const inner = path === 'tunnel' ? tsharkInnerTcp(r, ipLayer) : null;
    if (path === 'direct' || inner !== null) {
      const want = inner ?? tsharkTcp(r, ipLayer);
      const headerKeys = TCP_KEYS.filter((key) => key !== 'len');
      const headerComplete = headerKeys.every((key) => want[key] !== '');
      if (headerComplete && want.len !== '' && o.outerFragment && o.tcp !== null) {
        // The tunnel's outer datagram is a first fragment and tshark (reassembly off)
        // counts only the segment bytes this fragment holds; we take the segment's
        // length from its own IP header, the rest being in the next fragment.
        const d = diffTcp(want, o.tcp, TCP_KEYS.filter((key) => key !== 'len'));
        if (Number(o.tcp.len) < Number(want.len)) d.push(`len tshark ${want.len} ours ${o.tcp.len} (less than this fragment holds)`);
        if (d.length > 0) out.push(`${at} [${proto}]: ${d.join(', ')}`);
      } else if (headerComplete && want.len !== '') {
        if (o.tcp === null) out.push(`${at} [${proto}]: tshark TCP ${show(want)}; ours ${o.kind} (${o.reason})`);
        else {
          const d = diffTcp(want, o.tcp, TCP_KEYS);
          if (d.length > 0) out.push(`${at} [${proto}]: ${d.join(', ')}`);
        }
      } else if (headerComplete && (o.ipFragment || r.protocols.includes('cfp'))) {
        // tshark has the whole fixed header but no tcp.len, and rightly or not, we do:
        // - IP fragments with reassembly off: the segment goes on in later fragments, so
        //   tshark gives no segment length; we decode the first fragment's TCP header
        //   (Packet.ip.fragment is set) and count only the bytes of this fragment.
        // - Cisco FabricPath (cfp): tshark's dissector takes the frame's last 4 bytes as
        //   an FCS that these captures do not have (the IP total length ends exactly at
        //   the frame's end), which leaves it a TCP header 4 bytes short.
        if (o.tcp === null) out.push(`${at} [${proto}]: tshark TCP header ${show(want)}; ours ${o.kind} (${o.reason})`);
        else {
          const d = diffTcp(want, o.tcp, headerKeys);
          if (d.length > 0) out.push(`${at} [${proto}]: ${d.join(', ')}`);
        }
      } else if (o.kind === 'tcp' || !/^(truncated|malformed)/.test(o.reason)) {
        // tshark ran out of bytes inside the TCP header: we must call it cut short or damaged, not TCP.
        out.push(`${at} [${proto}]: tshark could not dissect the TCP header (${show(want)}); ours ${o.kind} ${o.reason} ${show(o.tcp)}`);
      }
    } else if (path === 'icmp-quote') {
      const want = { srcPort: r.srcPort[0] ?? '', dstPort: r.dstPort[0] ?? '', seq: r.seq[0] ?? r.seqAbs[0] ?? '' };
      if (o.kind !== 'icmp-error' || o.quoted === null) {
        out.push(`${at} [${proto}]: tshark ICMP error quoting TCP ${show(want)}; ours ${o.kind} ${o.reason}`);
      } else if (show(o.quoted) !== show(want)) {
        out.push(`${at} [${proto}]: quoted TCP tshark ${show(want)}, ours ${show(o.quoted)}`);
      }
    } else {
      // No TCP for tshark, or a sampled copy of a TCP header (sFlow), or TCP not on IP.
      if (o.kind === 'tcp') out.push(`${at} [${proto}]: tshark has no TCP on the wire (${path}); ours TCP ${show(o.tcp)}`);
      if (o.kind === 'icmp-error' && o.quoted !== null && o.quoted.srcPort !== '') {
        out.push(`${at} [${proto}]: tshark shows no quoted TCP; ours ICMP error quoting ${show(o.quoted)}`);
      }
    }
  }
  return out;
}

function report(file: string, problems: string[], max = 12): string {
  const more = problems.length > max ? `\n  ... and ${problems.length - max} more` : '';
  return `${file}: ${problems.length} mismatch(es) with tshark\n  ${problems.slice(0, max).join('\n  ')}${more}`;
}

function errorText(e: CaptureError | null): string {
  return e === null ? 'none' : `${e.message} (offset ${e.fileOffset}, packet ${e.packet})`;
}

/**
 * Damaged copies of a few corpus captures, written to a temporary directory (never into
 * the repository) and removed afterwards. tshark 4.0 reads every corpus capture without
 * error, so without these the "tshark reports an error" path would test nothing.
 * One source per format and byte order; each is cut or corrupted the way real
 * damage looks.
 */
interface Damaged {
  /** Test name and key: "<source> [how]". */
  name: string;
  path: string;
}

/** Offsets of the records (pcap) or blocks (pcapng) of a capture, walked naively. */
function recordOffsets(b: Buffer): { le: boolean; offsets: number[]; pcapng: boolean } {
  const offsets: number[] = [];
  if (b.readUInt32BE(0) === 0x0a0d0d0a) {
    let le = true;
    for (let p = 0; p + 12 <= b.length; ) {
      if (b.readUInt32BE(p) === 0x0a0d0d0a) le = b.readUInt32LE(p + 8) === 0x1a2b3c4d;
      const len = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
      offsets.push(p);
      if (len < 12) break;
      p += len;
    }
    return { le, offsets, pcapng: true };
  }
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  for (let p = 24; p + 16 <= b.length; ) {
    offsets.push(p);
    p += 16 + (le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8));
  }
  return { le, offsets, pcapng: false };
}

function makeDamaged(dir: string, all: ManifestRow[]): Damaged[] {
  const out: Damaged[] = [];
  const kinds = [
    ['pcap-us', 'LE'],
    ['pcap-us', 'BE'],
    ['pcap-ns', 'LE'],
    ['pcapng', 'LE'],
    ['pcapng', 'BE'],
    ['pcapng', 'mixed'],
  ] as const;
  for (const [format, order] of kinds) {
    const row = all.find((r) => r.format === format && r.byteOrder === order && r.packets >= 5);
    if (row === undefined) continue;
    const b = readFileSync(join(CORPUS, row.file));
    const { le, offsets, pcapng } = recordOffsets(b);
    const base = row.file.replace(/[^A-Za-z0-9.]+/g, '_');
    const write = (how: string, data: Buffer): void => {
      const path = join(dir, `${base}.${how}`);
      writeFileSync(path, data);
      out.push({ name: `${row.file} [${how}]`, path });
    };
    // The last record (or block) loses its last 3 bytes.
    write('cut-in-last-record', b.subarray(0, b.length - 3));
    // Cut 7 bytes into the last record's header.
    write('cut-in-record-header', b.subarray(0, offsets[offsets.length - 1]! + 7));
    const bad = Buffer.from(b);
    if (pcapng) {
      // The third block's length is no multiple of 4.
      const at = offsets[2]!;
      if (le) bad.writeUInt32LE(bad.readUInt32LE(at + 4) + 2, at + 4);
      else bad.writeUInt32BE(bad.readUInt32BE(at + 4) + 2, at + 4);
      write('bad-block-length', bad);
      // (No cut inside the section header: tshark then no longer sees pcapng at all and
      // its file-type heuristics accept the fragment as some other format, e.g. JSON.)
    } else {
      // The last record claims 4 GB of captured bytes. (Not an early record: tshark
      // guesses the pcap variant from the first records' headers, and damage there
      // makes it misread the whole file as another variant.)
      const at = offsets[offsets.length - 1]!;
      if (le) bad.writeUInt32LE(0xfffffff0, at + 8);
      else bad.writeUInt32BE(0xfffffff0, at + 8);
      write('huge-caplen', bad);
      // Only the start of the file header survives.
      write('cut-in-file-header', b.subarray(0, 20));
    }
  }
  return out;
}

const rows: ManifestRow[] = READY ? await manifest() : [];
const tmp = READY ? mkdtempSync(join(tmpdir(), 'tcpsleuth-tshark-diff-')) : '';
const damaged: Damaged[] = READY ? makeDamaged(tmp, rows) : [];
const targets = [...rows.map((row) => ({ name: row.file, path: join(CORPUS, row.file) })), ...damaged];
const runs: TsharkRun[] = READY ? await mapLimit(targets, (t) => runTshark(t.path)) : [];
const byName = new Map(targets.map((t, i) => [t.name, { ...t, tshark: runs[i]! }]));
const clean = targets.filter((t) => !byName.get(t.name)!.tshark.failed).map((t) => t.name);
const failing = targets.filter((t) => byName.get(t.name)!.tshark.failed).map((t) => t.name);
const fuzzed = rows.filter((row) => row.notes.includes('fuzzed/damaged')).map((row) => row.file);

describe.skipIf(!READY)(`tshark differential over the corpus${READY ? '' : ' (skipped: tshark or ../shared/corpus missing)'}`, () => {
  afterAll(() => {
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('runs tshark over every MANIFEST capture and the damaged copies', () => {
    expect(rows.length).toBeGreaterThan(0);
    expect(clean.length + failing.length).toBe(targets.length);
    // Every damaged copy is an error for tshark (else it would be compared as clean, and fail there).
    expect(damaged.filter((d) => !byName.get(d.name)!.tshark.failed).map((d) => d.name)).toEqual([]);
  });

  it("tshark's output parses: the MANIFEST's frame counts, and TCP wherever it counts TCP conversations", () => {
    // Guards against a silently empty comparison (a renamed field, a changed separator).
    const counts = rows.filter((row) => byName.get(row.file)!.tshark.rows.length !== row.packets).map((row) => `${row.file}: ${byName.get(row.file)!.tshark.rows.length} != ${row.packets}`);
    expect(counts).toEqual([]);
    const noTcp = rows.filter((row) => row.tcpConversations > 0 && !byName.get(row.file)!.tshark.rows.some((r) => r.protocols.includes('tcp'))).map((row) => row.file);
    expect(noTcp).toEqual([]);
    const direct = rows.reduce((n, row) => n + byName.get(row.file)!.tshark.rows.filter((r) => tcpPath(r.protocols).path === 'direct').length, 0);
    expect(direct).toBeGreaterThan(0);
    // And the tunnelled frames are compared too (VXLAN, Geneve, GRE, GTP-U, Teredo, AYIYA, IP-in-IP).
    const tunnelled = rows.reduce((n, row) => n + byName.get(row.file)!.tshark.rows.filter((r) => tcpPath(r.protocols).path === 'tunnel').length, 0);
    expect(tunnelled).toBeGreaterThan(300);
  });

  describe('captures tshark reads without error: same frames, times and TCP headers', () => {
    it.each(clean)('%s', async (name) => {
      const t = byName.get(name)!;
      const ours = await readOurs(t.path);
      expect(ours.crash, `${name}: decoder threw`).toBeNull();
      expect(ours.result.error, `${name}: tshark reads it cleanly, we say: ${errorText(ours.result.error)}`).toBeNull();
      const problems = compare(name, t.tshark.rows, ours.frames);
      expect(problems, report(name, problems)).toEqual([]);
    });
  });

  describe('captures tshark reports an error on: we report one too, after the same frames', () => {
    it.each(failing)('%s', async (name) => {
      const t = byName.get(name)!;
      const ours = await readOurs(t.path);
      const said = `tshark: "${t.tshark.stderr}" after ${t.tshark.rows.length} frame(s); ours: ${errorText(ours.result.error)} after ${ours.frames.length}`;
      expect(ours.crash, `${name}: decoder threw`).toBeNull();
      expect(ours.result.error, `${name}: we report no error. ${said}`).not.toBeNull();
      // Both deliver every complete record before the damage, and nothing from it.
      expect(ours.frames.length, `${name}: ${said}`).toBe(t.tshark.rows.length);
      const problems = compare(name, t.tshark.rows, ours.frames);
      expect(problems, report(name, problems)).toEqual([]);
    });
  });

  describe('fuzzer reproducers ("fuzzed/damaged"): no crash, no hang, errors where tshark has them', () => {
    it.each(fuzzed)(
      '%s',
      async (file) => {
        const t = byName.get(file)!;
        const started = performance.now();
        const ours = await readOurs(t.path);
        expect(ours.crash, `${file}: decoder threw`).toBeNull();
        expect(performance.now() - started, `${file}: reading took too long`).toBeLessThan(5000);
        if (t.tshark.failed) expect(ours.result.error, `${file}: tshark says "${t.tshark.stderr}"`).not.toBeNull();
        else expect(ours.result.error, `${file}: tshark reads it, we say ${errorText(ours.result.error)}`).toBeNull();
      },
      10_000,
    );
  });
});

/**
 * The project's own tunnel captures (captures/tunnel/, made by Linux's tunnel devices):
 * every frame's inner TCP header as tshark dissects it. tshark knows VXLAN only on
 * 4789: the capture on Linux's older port is decoded as VXLAN by telling it so.
 */
const TUNNEL_DIR = join(CAPTURES, 'tunnel');
const tunnelCaptures = HAVE_TSHARK ? readdirSync(TUNNEL_DIR).filter((f) => f.endsWith('.pcap')) : [];
describe.skipIf(!HAVE_TSHARK)(`tshark differential over captures/tunnel${HAVE_TSHARK ? '' : ' (skipped: no tshark)'}`, () => {
  it.each(tunnelCaptures)('%s: every frame is TCP in a tunnel, with the inner header tshark shows', async (file) => {
    const path = join(TUNNEL_DIR, file);
    const t = await runTshark(path, ['-d', 'udp.port==8472,vxlan']);
    expect(t.failed, t.stderr).toBe(false);
    expect(t.rows.length).toBeGreaterThan(0);
    expect(t.rows.filter((r) => tcpPath(r.protocols).path !== 'tunnel').map((r) => `${r.number}: ${r.protocols.join(':')}`)).toEqual([]);
    const ours = await readOurs(path);
    expect(ours.crash).toBeNull();
    const problems = compare(file, t.rows, ours.frames);
    expect(problems, report(file, problems)).toEqual([]);
  });
});
