import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * tshark as the oracle of the differential tests: one run per capture, its
 * `-T fields` output parsed into rows. Nothing is cached on disk.
 */

/** Fields asked for, in this order (names checked against `tshark -G fields` of 4.0). */
export const TSHARK_FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'frame.protocols',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.flags',
  'tcp.window_size_value',
  'tcp.len',
  'tcp.seq',
] as const;

/**
 * Preferences that make tshark show each frame as captured: raw sequence numbers,
 * no IP reassembly (a first fragment is dissected alone, later ones are data), and
 * no TCP reassembly or sequence analysis (not compared, and slow).
 */
export const TSHARK_PREFS = [
  'tcp.relative_sequence_numbers:FALSE',
  'ip.defragment:FALSE',
  'ipv6.defragment:FALSE',
  'tcp.desegment_tcp_streams:FALSE',
  'tcp.analyze_sequence_numbers:FALSE',
] as const;

/**
 * Heuristic dissectors turned on: Teredo's finds Teredo on any UDP port (relays answer
 * from ports of their own), as tcpsleuth and Zeek do.
 */
export const TSHARK_HEURISTICS = ['teredo_udp'] as const;

/** One frame as tshark prints it; every multi-occurrence field is split on the aggregator. */
export interface TsharkRow {
  number: number;
  /** frame.time_epoch, "" for frames without a timestamp. */
  epoch: string;
  protocols: string[];
  ipSrc: string[];
  ipDst: string[];
  ipv6Src: string[];
  ipv6Dst: string[];
  srcPort: string[];
  dstPort: string[];
  seq: string[];
  ack: string[];
  flags: string[];
  window: string[];
  len: string[];
  /** tcp.seq (absolute, given the prefs): inside ICMP errors tshark gives it but not tcp.seq_raw. */
  seqAbs: string[];
}

export interface TsharkRun {
  file: string;
  /** Exit status (null when killed by a signal). */
  code: number | null;
  /** stderr without the "Running as user root" warning. */
  stderr: string;
  /** tshark reported a problem reading the file (non-zero exit or anything on stderr). */
  failed: boolean;
  rows: TsharkRow[];
}

function list(v: string | undefined): string[] {
  return v === undefined || v === '' ? [] : v.split(',');
}

export function parseTsharkFields(stdout: string): TsharkRow[] {
  const rows: TsharkRow[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const c = line.split('\t');
    rows.push({
      number: Number(c[0]),
      epoch: c[1] ?? '',
      protocols: c[2] ? c[2].split(':') : [],
      ipSrc: list(c[3]),
      ipDst: list(c[4]),
      ipv6Src: list(c[5]),
      ipv6Dst: list(c[6]),
      srcPort: list(c[7]),
      dstPort: list(c[8]),
      seq: list(c[9]),
      ack: list(c[10]),
      flags: list(c[11]),
      window: list(c[12]),
      len: list(c[13]),
      seqAbs: list(c[14]),
    });
  }
  return rows;
}

/** Run tshark over one capture with TSHARK_FIELDS and TSHARK_PREFS (and `extra` arguments). Never rejects for a bad capture. */
export function runTshark(file: string, extra: readonly string[] = []): Promise<TsharkRun> {
  const args = ['-n', '-r', file, ...extra];
  for (const p of TSHARK_PREFS) args.push('-o', p);
  for (const h of TSHARK_HEURISTICS) args.push('--enable-heuristic', h);
  args.push('-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'quote=n');
  for (const f of TSHARK_FIELDS) args.push('-e', f);
  return new Promise((resolve, reject) => {
    execFile('tshark', args, { maxBuffer: 512 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      let code: number | null = 0;
      if (err) {
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string | null };
        if (typeof e.code !== 'number' && e.signal == null) {
          reject(err);
          return;
        }
        code = typeof e.code === 'number' ? e.code : null;
      }
      const errText = stderr
        .split('\n')
        .filter((l) => l.trim() !== '' && !/^Running as user "root"/.test(l))
        .join('\n');
      resolve({ file, code, stderr: errText, failed: code !== 0 || errText !== '', rows: parseTsharkFields(stdout) });
    });
  });
}

/** Run `fn` over every item with at most `limit` running at once; results in item order. */
export async function mapLimit<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, limit = availableParallelism()): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Dotted quad, as tshark prints ip.src. */
export function formatIpv4(a: Uint8Array): string {
  return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
}

/**
 * IPv6 text as tshark prints ipv6.src: Wireshark 4.0 formats with the C library's
 * inet_ntop (glibc here), i.e. RFC 5952 (lower case, no leading zeros, the longest
 * run of two or more zero groups, the first on a tie, compressed to "::"), with
 * glibc's dotted tail for IPv4-compatible (::a.b.c.d) and IPv4-mapped
 * (::ffff:a.b.c.d) addresses.
 */
export function formatIpv6(a: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((a[2 * i]! << 8) | a[2 * i + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      s += `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
      break;
    }
    s += w[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ':';
  return s;
}
