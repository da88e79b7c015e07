import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, type TcpPacket } from '../decode/packet.js';
import {
  SEQ_FAST_RETRANSMISSION,
  SEQ_FLAG_NAMES,
  SEQ_RETRANSMISSION,
  SEQ_SPURIOUS_RETRANSMISSION,
} from '../track/seq-analysis.js';

/**
 * How tcpdump prints a TCP segment (print-tcp.c), for the packet listing and the
 * ladder diagrams: its flag letters and its relative sequence numbers.
 */

/**
 * tcpdump's tcp_flag_values, in its order: F S R P . U E W. tcpdump 4.99.3
 * (Debian 12) prints nothing for AE (ex-NS); the JSON output names it.
 */
const TCPDUMP_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [TCP_FIN, 'F'],
  [TCP_SYN, 'S'],
  [TCP_RST, 'R'],
  [TCP_PSH, 'P'],
  [TCP_ACK, '.'],
  [TCP_URG, 'U'],
  [TCP_ECE, 'E'],
  [TCP_CWR, 'W'],
];

/** The letters tcpdump prints between `Flags [` and `]`: "S.", "P.", "FP.", or "none". */
export function tcpdumpFlags(flags: number): string {
  let s = '';
  for (const [bit, l] of TCPDUMP_FLAGS) if (flags & bit) s += l;
  return s === '' ? 'none' : s;
}

/** Sequence bases of one 4-tuple, as tcpdump's tcp_seq_hash entry holds them. */
interface Bases {
  /** Base of what the lower endpoint (address, then port) sends, and of what the higher one sends. */
  lo: number;
  hi: number;
}

/** One segment's numbers as tcpdump prints them. */
export interface TcpdumpNumbers {
  seq: number;
  ack: number;
  /** False when tcpdump printed absolute numbers (no ACK flag, or the packet that set the bases). */
  relative: boolean;
}

/**
 * tcpdump's relative sequence numbers (without -S): only segments with ACK are
 * made relative. The first ACK-carrying segment of a 4-tuple, and every one with
 * SYN (the SYN-ACK), sets the bases (its own seq, and ack - 1 for the other side)
 * and is itself printed absolute. Bases belong to the 4-tuple for the whole
 * capture, whatever connections the tracker sees on it, as in tcpdump.
 */
export class TcpdumpSequence {
  private readonly bases = new Map<string, Bases>();
  /**
   * The 4-tuple of the last segment looked up (its lower endpoint first) and its
   * bases: most segments follow one of their own connection, found without a key.
   */
  private readonly lastLo = new Uint8Array(16);
  private readonly lastHi = new Uint8Array(16);
  private lastVersion = 0;
  private lastLoPort = -1;
  private lastHiPort = -1;
  private lastBases: Bases | null = null;

  /**
   * 4-tuples remembered at most (tcpdump keeps them all). Past it the oldest tenth
   * is forgotten: such a tuple's next ACK sets its bases again (printed absolute once).
   */
  constructor(readonly maxTuples = 200_000) {}

  readonly out: TcpdumpNumbers = { seq: 0, ack: 0, relative: false };

  /** Numbers of a segment as tcpdump prints them. Reuses `out`. */
  numbers(p: TcpPacket): TcpdumpNumbers {
    const { ip, tcp } = p;
    const o = this.out;
    o.seq = tcp.seq;
    o.ack = tcp.ack;
    o.relative = false;
    if (!(tcp.flags & TCP_ACK)) return o;
    // tcpdump's collating order: addresses compared bytewise, then ports.
    const n = ip.version === 4 ? 4 : 16;
    let cmp = 0;
    for (let i = 0; i < n && cmp === 0; i++) cmp = ip.src[i]! - ip.dst[i]!;
    const rev = cmp > 0 || (cmp === 0 && tcp.srcPort > tcp.dstPort);
    const lo = rev ? ip.dst : ip.src;
    const hi = rev ? ip.src : ip.dst;
    const loPort = rev ? tcp.dstPort : tcp.srcPort;
    const hiPort = rev ? tcp.srcPort : tcp.dstPort;
    let b = this.sameAsLast(ip.version, lo, loPort, hi, hiPort, n) ? this.lastBases : null;
    let fresh = false;
    if (b === null) {
      const addr = (a: Uint8Array): string => Buffer.from(a.buffer, a.byteOffset, n).toString('hex');
      const key = `${ip.version}|${addr(lo)}|${loPort}|${addr(hi)}|${hiPort}`;
      b = this.bases.get(key) ?? null;
      if (b === null) {
        if (this.bases.size >= this.maxTuples) this.forgetOldest();
        b = { lo: 0, hi: 0 };
        this.bases.set(key, b);
        fresh = true;
      }
      this.remember(ip.version, lo, loPort, hi, hiPort, n, b);
    }
    // The tuple's first ACK-carrying segment, and every SYN-ACK, sets its bases and is printed absolute.
    if (fresh || tcp.flags & TCP_SYN) {
      this.setBases(b, tcp.seq, tcp.ack, rev);
      return o;
    }
    o.seq = (tcp.seq - (rev ? b.hi : b.lo)) >>> 0;
    o.ack = (tcp.ack - (rev ? b.lo : b.hi)) >>> 0;
    o.relative = true;
    return o;
  }

  /** The segment that sets a tuple's bases: its own seq, and ack - 1 for the other side. */
  private setBases(b: Bases, seq: number, ack: number, rev: boolean): void {
    const own = seq >>> 0;
    const other = (ack - 1) >>> 0;
    b.lo = rev ? other : own;
    b.hi = rev ? own : other;
  }

  private sameAsLast(version: number, lo: Uint8Array, loPort: number, hi: Uint8Array, hiPort: number, n: number): boolean {
    if (this.lastBases === null || version !== this.lastVersion || loPort !== this.lastLoPort || hiPort !== this.lastHiPort) return false;
    for (let i = 0; i < n; i++) if (lo[i] !== this.lastLo[i] || hi[i] !== this.lastHi[i]) return false;
    return true;
  }

  private remember(version: number, lo: Uint8Array, loPort: number, hi: Uint8Array, hiPort: number, n: number, b: Bases): void {
    this.lastVersion = version;
    this.lastLoPort = loPort;
    this.lastHiPort = hiPort;
    for (let i = 0; i < n; i++) {
      this.lastLo[i] = lo[i]!;
      this.lastHi[i] = hi[i]!;
    }
    this.lastBases = b;
  }

  private forgetOldest(): void {
    // The last tuple's bases may be among those forgotten: its next ACK sets them again.
    this.lastBases = null;
    let n = Math.max(1, Math.floor(this.maxTuples / 10));
    for (const k of this.bases.keys()) {
      if (n-- <= 0) break;
      this.bases.delete(k);
    }
  }

  get size(): number {
    return this.bases.size;
  }
}

/** Wireshark's Info-column words for the tcp.analysis flags. */
const ANALYSIS_LABELS: Record<string, string> = {
  retransmission: 'TCP Retransmission',
  fast_retransmission: 'TCP Fast Retransmission',
  spurious_retransmission: 'TCP Spurious Retransmission',
  out_of_order: 'TCP Out-Of-Order',
  lost_segment: 'TCP Previous segment not captured',
  ack_lost_segment: 'TCP ACKed unseen segment',
  duplicate_ack: 'TCP Dup ACK',
  zero_window: 'TCP ZeroWindow',
  zero_window_probe: 'TCP ZeroWindowProbe',
  zero_window_probe_ack: 'TCP ZeroWindowProbeAck',
  keep_alive: 'TCP Keep-Alive',
  keep_alive_ack: 'TCP Keep-Alive ACK',
  window_update: 'TCP Window Update',
  window_full: 'TCP Window Full',
  reused_ports: 'TCP Port numbers reused',
};

/**
 * The tcp.analysis flags of a segment as Wireshark's Info column words them
 * ("TCP Retransmission", "TCP Dup ACK"); a fast or spurious retransmission is
 * named alone, as Wireshark does.
 */
export function analysisLabels(mask: number): string[] {
  let m = mask;
  if (m & (SEQ_FAST_RETRANSMISSION | SEQ_SPURIOUS_RETRANSMISSION)) m &= ~SEQ_RETRANSMISSION;
  const out: string[] = [];
  for (const [bit, name] of SEQ_FLAG_NAMES) if (m & bit) out.push(ANALYSIS_LABELS[name] ?? name);
  return out;
}

/** The second timeOfDay last formatted, and its "HH:MM:SS." (a listing's packets come a few thousand a second). */
let daySecond = NaN;
let dayPrefix = '';

/** "19:37:26.094819": time of day in UTC with microseconds, as tcpdump prints it (TZ=UTC). */
export function timeOfDay(sec: number, nsec: number): string {
  if (sec !== daySecond) {
    const d = ((sec % 86400) + 86400) % 86400;
    const p2 = (n: number): string => String(n).padStart(2, '0');
    dayPrefix = `${p2(Math.floor(d / 3600))}:${p2(Math.floor((d % 3600) / 60))}:${p2(d % 60)}.`;
    daySecond = sec;
  }
  return dayPrefix + String(Math.floor(nsec / 1000)).padStart(6, '0');
}
