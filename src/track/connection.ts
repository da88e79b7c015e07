import { formatEndpoint } from '../util/address.js';
import { defineBitFlags, type BitFlagFields } from '../util/bit-flags.js';
import { Endpoint } from './endpoint.js';
import { SeqAnalysis, type SeqCounters } from './seq-analysis.js';
import { ZeekConnState } from './zeek-conn.js';
import type { FlowKeyed } from './flow-table.js';
import type { TunnelPath } from '../decode/tunnel.js';
import type { Moment } from './moment.js';
import { isOver, type TcpState } from './states.js';

/** An ICMP error that quoted one of the connection's segments. */
export interface IcmpEvent {
  at: Moment;
  version: 4 | 6;
  type: number;
  code: number;
  errorClass: string;
  /** The endpoint whose segment was quoted (the error went back to it). */
  toward: 'client' | 'server';
  /** Address that sent the ICMP error (a router, or the destination host). */
  reporter: string;
  mtu: number;
}

/**
 * Connection addresses are copied into shared slabs and found by offset: a slice per
 * connection would cost an ArrayBuffer, a backing store and a view each (several
 * hundred bytes), and even a view alone is about a hundred.
 */
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/** Copy A's address and, right after it, B's (`len` bytes each) into `slab`, a new one when full; their offset. */
function keepAddresses(a: Uint8Array, b: Uint8Array, len: number): number {
  if (slabUsed + 2 * len > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const at = slabUsed;
  for (let i = 0; i < len; i++) {
    slab[at + i] = a[i]!;
    slab[at + len + i] = b[i]!;
  }
  slabUsed += 2 * len;
  return at;
}

/** ICMP errors kept per connection. */
const MAX_ICMP = 16;
const NO_ICMP: readonly IcmpEvent[] = Object.freeze([]);

/** Connection's booleans, one bit each of flagBits (defineBitFlags): this list is their only declaration, Connection's type takes them from it. */
const CONNECTION_FLAGS = [
  /** True when A is the client (it sent the first SYN, or is guessed to be the client). */
  'clientIsA',
  /** No SYN began it in the capture: roles are guessed and states inferred. */
  'partial',
  /** The analysis object's A is this connection's B (it was carried over from an earlier connection). */
  'analysisFlipped',
  /** Retired: over, summarised, its per-segment state dropped. */
  'retired',
  /** Retired early because too many connections were live (see maxConnections). */
  'evicted',
  /** Its analysis object went on with a later connection on the tuple (internal). */
  'analysisHandedOn',
  /** In the tracker's clock watch (KernelTimers.watched). */
  'watched',
] as const;

export interface Connection extends BitFlagFields<typeof CONNECTION_FLAGS> {}

/**
 * One TCP connection: a 4-tuple from its SYN (or the first packet seen) until a
 * new SYN reuses the tuple after it ended. Two Endpoints, client and server.
 */
export class Connection implements FlowKeyed {
  /** 1-based, in order of first packet. */
  id: number;
  readonly version: 4 | 6;
  /** A = the first packet's sender. Its address is addrs[off, off + 4 or 16), B's right after it. */
  readonly addrs: Uint8Array;
  readonly off: number;
  readonly portA: number;
  readonly portB: number;
  /** The tunnels its first packet came in, outermost first (null: none). */
  tunnel: TunnelPath | null = null;
  /** The booleans of CONNECTION_FLAGS, one bit each. */
  flagBits = 0;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** [client, server], made once: loops over both sides allocate nothing. */
  readonly both: readonly [Endpoint, Endpoint];
  /**
   * Wireshark's tcp.stream (wireshark-stream.ts): the latest, where Wireshark split the
   * tuple while the connection lived; -1 until the tracker numbers it.
   */
  stream = -1;
  /** Wireshark's base sequence number of each direction (A's, B's) and which are set (wireshark-stream.ts). */
  wsBaseA = 0;
  wsBaseB = 0;
  wsBases = 0;
  /** A packet of it matched the capture-filter expression (when one was given). */
  matched = false;
  firstCapture = 0;
  firstFrame = 0;
  lastCapture = 0;
  lastFrame = 0;
  firstSec = 0;
  firstNsec = 0;
  lastSec = 0;
  lastNsec = 0;
  /** Handshake: the client's SYN to its ACK of the SYN-ACK (tshark's initial RTT), seconds; -1 if not seen. */
  handshakeRtt = -1;
  /** The connection this one reused the 4-tuple of, while this one lives (see previousId). */
  previous: Connection | null = null;
  /** Id of that connection, 0 if none; kept after retirement drops the reference. */
  previousId = 0;
  /** ICMP errors about it, null until the first (most connections have none). */
  private icmpEvents: IcmpEvent[] | null = null;
  icmpDropped = 0;
  /** Finding kinds already raised (bit per kind), so each is raised once. */
  raised = 0;
  /**
   * Wireshark-compatible sequence analysis (tcp.analysis.* flags) of each segment;
   * null when the analysis runs without it (nothing it reports reads it).
   */
  analysis: SeqAnalysis | null;
  /** Zeek's view of the connection while it lives (null once retired: see connState/history). */
  zeek: ZeekConnState | null;
  /** Zeek's verdict once the connection is retired or settled (fields: an object each cost 40 bytes more). */
  private finalConnState = '';
  private finalHistory = '';

  constructor(
    id: number,
    version: 4 | 6,
    src: Uint8Array,
    sport: number,
    dst: Uint8Array,
    dport: number,
    clientIsA: boolean,
    partial: boolean,
    initial: { client: TcpState; server: TcpState },
    at: Moment,
    /** False: Zeek's verdict is worked out on the offload thread and settled at the end. */
    zeekHere = true,
    /** False: no sequence analysis (analysisOf must not be asked). */
    sequenceAnalysis = true,
  ) {
    this.id = id;
    this.version = version;
    const len = version === 4 ? 4 : 16;
    this.off = keepAddresses(src, dst, len);
    this.addrs = slab; // the slab keepAddresses wrote to
    this.portA = sport;
    this.portB = dport;
    this.clientIsA = clientIsA;
    this.partial = partial;
    this.client = new Endpoint('client', initial.client, at);
    this.server = new Endpoint('server', initial.server, at);
    this.client.inferred = this.server.inferred = partial;
    this.both = [this.client, this.server];
    this.zeek = zeekHere ? new ZeekConnState(sport, dport, { ignoreChecksums: true }) : null;
    this.analysis = sequenceAnalysis ? new SeqAnalysis() : null;
  }

  /** A's address (a view made per call: not for per-packet use). */
  get addrA(): Uint8Array {
    const len = this.version === 4 ? 4 : 16;
    return this.addrs.subarray(this.off, this.off + len);
  }

  get addrB(): Uint8Array {
    const len = this.version === 4 ? 4 : 16;
    return this.addrs.subarray(this.off + len, this.off + 2 * len);
  }

  /** The endpoint that sent the first packet (A) and the other one (B). */
  get fromA(): Endpoint {
    return this.clientIsA ? this.client : this.server;
  }

  get fromB(): Endpoint {
    return this.clientIsA ? this.server : this.client;
  }

  get fromClient(): Endpoint {
    return this.client;
  }

  get fromServer(): Endpoint {
    return this.server;
  }

  private names: [string, string] | null = null;

  /** "10.0.0.1:40000" / "[2001:db8::1]:443" of the client or server. */
  address(role: 'client' | 'server'): string {
    if (this.names === null) {
      const a = formatEndpoint(this.version, this.addrA, this.portA);
      const b = formatEndpoint(this.version, this.addrB, this.portB);
      this.names = this.clientIsA ? [a, b] : [b, a];
    }
    return role === 'client' ? this.names[0] : this.names[1];
  }

  /** Zeek's verdict, final: worked out on the offload thread, or this thread's at retirement. */
  settleZeek(connState: string, history: string): void {
    this.finalConnState = connState;
    this.finalHistory = history;
  }

  /** Zeek's conn_state (S0, SF, REJ, ...) as conn.log would show it. */
  get connState(): string {
    return this.zeek !== null ? this.zeek.connState : this.finalConnState;
  }

  /** Zeek's history letters. */
  get history(): string {
    return this.zeek !== null ? this.zeek.history : this.finalHistory;
  }

  /**
   * The connection is over and no later segment can belong to it: keep the summary
   * (states, transitions, counters, Zeek's verdict) and drop the per-segment state,
   * so memory grows with live connections, not with the capture.
   */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    // Let the earlier connection go: only its id is reported.
    this.previous = null;
    if (this.zeek !== null) {
      this.settleZeek(this.zeek.connState, this.zeek.history);
      this.zeek = null;
    }
    // A carried-over analysis still serves a later connection on the tuple.
    if (!this.analysisHandedOn) this.analysis?.release();
    for (const e of this.both) e.clearUnansweredTimes();
  }

  /** tcp.analysis counters of what the client / server sent. */
  analysisOf(role: 'client' | 'server'): SeqCounters {
    const a = this.analysis;
    if (a === null) throw new Error('internal error: the sequence analysis was off for this analysis');
    return ((role === 'client') === this.clientIsA) !== this.analysisFlipped ? a.fromA : a.fromB;
  }

  /**
   * Go on with `old`'s sequence analysis (tshark sees one stream where we see two
   * connections). `flipped`: this connection's A is `old`'s B.
   */
  continueAnalysis(old: Connection, flipped: boolean): void {
    old.analysisHandedOn = true;
    this.analysis = old.analysis;
    this.analysisFlipped = old.analysisFlipped !== flipped;
  }

  /** The client's or the server's endpoint. */
  endpoint(role: 'client' | 'server'): Endpoint {
    return role === 'client' ? this.client : this.server;
  }

  peer(e: Endpoint): Endpoint {
    return e === this.client ? this.server : this.client;
  }

  get icmp(): readonly IcmpEvent[] {
    return this.icmpEvents ?? NO_ICMP;
  }

  addIcmp(ev: IcmpEvent): void {
    const list = (this.icmpEvents ??= []);
    if (list.length < MAX_ICMP) list.push(ev);
    else this.icmpDropped++;
  }

  /** Neither side holds the connection open any more (TIME-WAIT counts as done). */
  get ended(): boolean {
    return isOver(this.client.state) && isOver(this.server.state);
  }
}

defineBitFlags(Connection.prototype, 'flagBits', CONNECTION_FLAGS);
