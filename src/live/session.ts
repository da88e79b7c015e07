import { decapTableFor } from '../decode/decap.js';
import { release, type as osType } from 'node:os';
import type { AnalysisResult, CaptureProblem, CaptureSummary } from '../analyze.js';
import { Pipeline } from '../analyze.js';
import { Frame } from '../capture/frame.js';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import { Decoder } from '../decode/decoder.js';
import { isSupportedLinkType, linkTypeName } from '../decode/linktypes.js';
import type { Finding, FindingKind } from '../detect/finding.js';
import type { DetectOptions } from '../detect/options.js';
import { TCP_STATES, type TcpState } from '../track/states.js';
import type { Loaded } from './bindings.js';
import { FigureCounts, PortLabels, takeFigures, type LiveFigures } from './figures.js';
import { BT_ISB, isbBody } from './isb.js';
import { PacketQueue, QueuedPacket } from './queue.js';
import { monotonicWallMs, openSource, type CaptureStats, type LiveSource } from './source.js';
import { isEarlier } from '../util/time.js';

export interface LiveOptions {
  device: string;
  /** BPF filter expression, "" for none. */
  filter: string;
  /** libpcap's buffer, bytes. */
  bufferBytes: number;
  snapLen: number;
  /** -w: the pcapng file to write, or null. */
  writePath: string | null;
  detect: DetectOptions;
  /** Stop after this many packets (null: no limit). */
  count: number | null;
  /** Each finding the moment it is raised. */
  onFinding: (f: Finding) => void;
  /** Each finding taken back (a later packet showed it to be something else). */
  onWithdraw?: (f: Finding) => void;
  /** Server ports the figures (--metrics, --stats-interval) label one by one; the rest are "other". */
  maxPorts?: number;
}

/** Server ports labelled one by one in the figures by default. */
export const DEFAULT_MAX_PORTS = 100;

/**
 * The analysis queue holds packets received while the analysis is behind: up to twice
 * libpcap's buffer. Past its limit less the buffer (what one read of the ring can bring),
 * the ring is not read, so packets wait there and its overflow is the kernel's drop count.
 */
export const QUEUE_FACTOR = 2;
/** libpcap's ring block timeout (pcap backend): packets reach us at most this late. */
export const RING_TIMEOUT_MS = 50;
/**
 * The clock runs about once a second, this long after each second ends: by then every
 * packet of the second has left the ring (RING_TIMEOUT_MS) and been analysed.
 */
const TICK_AFTER_MS = 200;
/** One slice of analysis between turns of the event loop. */
const SLICE_MS = 20;
const MAX_WARNINGS = 100;

/** What the status line and the final report show about the capture itself. */
export interface LiveCounters extends CaptureTotals {
  /** Active connections with an endpoint in each state (a connection counts once per distinct state). */
  states: [TcpState, number][];
}

/** The counts of LiveCounters that need no walk over the connections. */
export interface CaptureTotals {
  /** Packets delivered by libpcap. */
  received: number;
  /** Packets analysed so far. */
  analysed: number;
  /** libpcap's counters (null: the binding cannot read them). */
  kernel: CaptureStats | null;
  /** Packets the analysis queue had no room for (they are still in the -w file). */
  queueDropped: number;
  activeConnections: number;
}

export interface LiveEnd {
  result: AnalysisResult;
  counters: LiveCounters;
  start: { sec: number; nsec: number };
  end: { sec: number; nsec: number };
  /** Why it stopped. */
  reason: string;
  /** Finished connections with findings let go to bound memory (--max-listed), and their findings by kind. */
  released: { connections: number; findings: [FindingKind, number][] };
}

function split(ms: number): { sec: number; nsec: number } {
  const sec = Math.floor(ms / 1000);
  let usec = Math.round((ms - sec * 1000) * 1000);
  if (usec > 999_999) usec = 999_999;
  return { sec, nsec: usec * 1000 };
}

function later(a: { sec: number; nsec: number }, b: { sec: number; nsec: number }): { sec: number; nsec: number } {
  return a.sec > b.sec || (a.sec === b.sec && a.nsec >= b.nsec) ? a : b;
}

/**
 * A live capture driving the same Pipeline as file analysis.
 *
 * Packets go through the Pipeline in arrival order with their capture timestamps, so
 * the packet-driven clock runs exactly as when the -w file is read back. Between
 * packets the clock is also run by the wall clock, about once a second, so findings
 * that become true with no packet (a CLOSE-WAIT turning stuck) are raised without
 * waiting for traffic. Those extra ticks fall at the very end of a second in which no
 * packet ran the clock, once every packet of that second has been analysed: the state
 * they see is the one file analysis has at its next tick.
 */
export class LiveSession {
  readonly pipeline: Pipeline;
  private readonly decoder: Decoder;
  private readonly frame = new Frame();
  private readonly queue: PacketQueue;
  private readonly qp = new QueuedPacket();
  private source: LiveSource | null = null;
  private writer: PcapngWriter | null = null;
  private readonly clock: () => number;
  readonly start: { sec: number; nsec: number };

  received = 0;
  analysed = 0;
  queueDropped = 0;
  bytes = 0;
  private firstTime: [number, number] | null = null;
  private lastTime: [number, number] | null = null;
  private readonly warnings: CaptureProblem[] = [];
  private warningsDropped = 0;
  /** Pipeline's packet-driven clock rule, mirrored: the second of its last tick. */
  private lastTickSec = -Infinity;
  /** No packet later than this is accepted (set when stopping). */
  private stopAt: { sec: number; nsec: number } | null = null;
  private accepting = true;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  /** The kernel's received count at the wall clock's last look (-1 before the first). */
  private kernelSeen = -1;
  private countReached: (() => void) | null = null;
  /** An error while writing the -w file ends the capture. */
  writeError: Error | null = null;
  onWriteError: (() => void) | null = null;
  /** Called after each clock run (about once a second). */
  onSecond: (() => void) | null = null;
  /** What no snapshot can give: findings raised and withdrawn, connections by how they ended. */
  private readonly counts = new FigureCounts();
  readonly ports: PortLabels;

  constructor(
    private readonly loaded: Loaded,
    private readonly o: LiveOptions,
  ) {
    this.queue = new PacketQueue(QUEUE_FACTOR * o.bufferBytes, o.bufferBytes);
    this.decoder = new Decoder(decapTableFor(o.detect.decap));
    const counts = this.counts;
    this.pipeline = new Pipeline(o.detect, { onForget: (c) => counts.closed(c) });
    // Findings were printed as raised: past --max-listed, finished connections go, findings and all.
    this.pipeline.releaseFlagged = true;
    this.pipeline.engine.onFinding = (f) => {
      counts.finding(f);
      o.onFinding(f);
    };
    this.pipeline.engine.onWithdraw = (f) => {
      counts.withdrawn(f);
      o.onWithdraw?.(f);
    };
    // A finding revised after it was printed: the figures count it at its severity now.
    this.pipeline.engine.onRevise = (f, severityBefore) => counts.revised(f, severityBefore);
    this.ports = new PortLabels(o.maxPorts ?? DEFAULT_MAX_PORTS);
    this.decoder.onDamage = (frame, detail) => {
      if (this.warnings.length < MAX_WARNINGS) this.warnings.push({ message: detail, offset: 0, packet: frame.index });
      else this.warningsDropped++;
    };
    // pcap: kernel timestamps are the realtime clock; cap: our stand-in clock stamps the packets.
    this.clock = loaded.name === 'pcap' ? Date.now : monotonicWallMs;
    this.start = split(this.clock());
  }

  get backend(): Loaded['name'] {
    return this.loaded.name;
  }

  get kernelTimestamps(): boolean {
    return this.source?.kernelTimestamps ?? false;
  }

  get linkType(): number {
    return this.source?.linkType ?? -1;
  }

  /** Open the capture (throws OpenError) and the -w file (throws with the file's error). */
  open(): void {
    const o = this.o;
    this.source = openSource(this.loaded, {
      device: o.device,
      filter: o.filter,
      bufferBytes: o.bufferBytes,
      snapLen: o.snapLen,
      timeoutMs: RING_TIMEOUT_MS,
      onPacket: (buf, capLen, origLen, sec, nsec) => this.onPacket(buf, capLen, origLen, sec, nsec),
      canRead: () => !this.queue.nearlyFull,
    });
    const f = this.frame;
    f.linkType = this.source.linkType;
    f.interfaceId = 0;
    f.hasTime = true;
    f.fcsLen = -1;
    if (o.writePath !== null) {
      try {
        const w = PcapngWriter.open(o.writePath);
        w.writeSectionHeader({ os: `${osType()} ${release()}` });
        const filter = o.filter ? [{ code: 11, value: Buffer.concat([Buffer.of(0), Buffer.from(o.filter, 'utf8')]) }] : [];
        w.addInterface({ linkType: this.source.linkType, snapLen: this.source.snapLen, name: o.device, tsresol: 6, options: filter });
        w.flush().catch(() => undefined);
        this.writer = w;
      } catch (e) {
        this.source.close();
        throw e;
      }
    }
    this.scheduleSecond();
  }

  /** Resolves when --count packets have been received. */
  countDone(): Promise<void> {
    return new Promise((resolve) => {
      this.countReached = resolve;
    });
  }

  private onPacket(buf: Buffer, capLen: number, origLen: number, sec: number, nsec: number): void {
    if (!this.accepting) return;
    const stop = this.stopAt;
    if (stop !== null && isEarlier(stop.sec, stop.nsec, sec, nsec)) return;
    this.received++;
    const w = this.writer;
    if (w !== null && this.writeError === null) {
      try {
        w.writePacket(0, sec, nsec, buf.subarray(0, capLen), origLen);
      } catch (e) {
        this.failWrite(e);
      }
    }
    if (!this.queue.push(buf, capLen, origLen, sec, nsec)) this.queueDropped++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drainSlice());
    }
    if (this.o.count !== null && this.received >= this.o.count) {
      this.accepting = false;
      this.countReached?.();
    }
  }

  private failWrite(e: unknown): void {
    if (this.writeError !== null) return;
    this.writeError = e instanceof Error ? e : new Error(String(e));
    this.onWriteError?.();
  }

  private drainSlice(): void {
    this.scheduled = false;
    const until = performance.now() + SLICE_MS;
    let n = 0;
    while (this.analyseOne()) {
      if ((++n & 63) === 0 && performance.now() > until) {
        this.scheduled = true;
        setImmediate(() => this.drainSlice());
        return;
      }
    }
  }

  /** Analyse everything queued. */
  private drainAll(): void {
    while (this.analyseOne());
  }

  private analyseOne(): boolean {
    const q = this.qp;
    if (!this.queue.shift(q)) return false;
    const f = this.frame;
    f.index = ++this.analysed;
    f.buf = q.buf;
    f.offset = q.offset;
    f.capLen = q.capLen;
    f.origLen = q.origLen;
    f.sec = q.sec;
    f.nsec = q.nsec;
    f.fileOffset = 0;
    this.bytes += q.capLen;
    if (this.firstTime === null) this.firstTime = [q.sec, q.nsec];
    const last = this.lastTime;
    if (last === null || isEarlier(last[0], last[1], q.sec, q.nsec)) this.lastTime = [q.sec, q.nsec];
    // Pipeline.packet runs the clock when a packet starts a new second: mirrored here.
    if (q.sec - this.lastTickSec >= 1) this.lastTickSec = q.sec;
    this.pipeline.packet(this.decoder, f);
    return true;
  }

  /** About once a second, TICK_AFTER_MS after the second ends. */
  private scheduleSecond(): void {
    const now = this.clock();
    const delay = 1000 - ((((now - TICK_AFTER_MS) % 1000) + 1000) % 1000);
    this.timer = setTimeout(() => {
      this.second();
      this.scheduleSecond();
    }, delay);
  }

  private second(): void {
    this.wallTick(this.clock());
    const w = this.writer;
    if (w !== null && this.writeError === null) {
      // At most about a second of packets is lost if the process is killed.
      w.flush().catch((e: unknown) => this.failWrite(e));
    }
    this.onSecond?.();
  }

  /**
   * Run the clock at the end of the last second that ended at least TICK_AFTER_MS ago,
   * when no packet ran it in that second and every packet received has been analysed.
   */
  private wallTick(nowMs: number): void {
    // Nothing reached the kernel since the last look, a second ago: the ring is empty.
    const st = this.source?.stats() ?? null;
    const quiet = st !== null && st.received === this.kernelSeen;
    if (st !== null) this.kernelSeen = st.received;
    if (this.queue.length > 0) return; // queued packets will run the clock themselves
    const k = Math.floor((nowMs - TICK_AFTER_MS) / 1000) - 1;
    if (k - this.lastTickSec < 1) return;
    if (this.stopAt !== null && k >= this.stopAt.sec) return;
    // Packets still in the kernel ring (libpcap counted them, we have not read them): they
    // will run the clock themselves. With steady traffic the ring is never empty, and the
    // packets run the clock anyway. On loopback and "any" libpcap counts every packet
    // twice (it drops the outgoing copy after counting it), so the counts never meet
    // there: a second with no arrival at all says the same without them.
    if (st !== null && !quiet && st.received - st.dropped > this.received) return;
    this.lastTickSec = k;
    this.pipeline.tick(k, 999_999_999);
  }

  /** The capture's counts, without the walk over the connections that the states need. */
  private totals(): CaptureTotals {
    return {
      received: this.received,
      analysed: this.analysed,
      kernel: this.source?.stats() ?? null,
      queueDropped: this.queueDropped,
      activeConnections: this.pipeline.tracker.active.size,
    };
  }

  counters(): LiveCounters {
    const states = new Map<TcpState, number>();
    for (const c of this.pipeline.tracker.active) {
      const a = c.client.state;
      const b = c.server.state;
      states.set(a, (states.get(a) ?? 0) + 1);
      if (b !== a) states.set(b, (states.get(b) ?? 0) + 1);
    }
    return { ...this.totals(), states: TCP_STATES.filter((s) => states.has(s)).map((s) => [s, states.get(s)!]) };
  }

  /** The figures for --metrics and --stats-interval, now. */
  figures(): LiveFigures {
    const t = this.pipeline.tracker;
    return takeFigures(this.totals(), t.active, t.opened, this.counts, this.ports);
  }

  /**
   * Stop: packets stamped after now (or, after --count, any more packets) are not
   * taken; wait for the ring to hand on the rest, analyse everything, end the analysis
   * at the stop time and close the -w file with the capture's statistics.
   */
  async stop(reason: string): Promise<LiveEnd> {
    const countStop = !this.accepting;
    if (!countStop) {
      this.stopAt = split(this.clock());
      // The ring hands on a block at most RING_TIMEOUT_MS after its packets arrived.
      await new Promise((r) => setTimeout(r, this.source?.kernelTimestamps ? RING_TIMEOUT_MS + 100 : 20));
    }
    this.accepting = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const counters0 = this.source?.stats() ?? null;
    this.source?.close();
    this.drainAll();
    const lastPacket = this.lastTime ? { sec: this.lastTime[0], nsec: this.lastTime[1] } : null;
    let end = this.stopAt ?? lastPacket ?? this.start;
    if (lastPacket !== null) end = later(end, lastPacket);
    // Run the clock for the seconds since the last tick (as the timer would have), then end at the stop time.
    this.wallTickUntil(end);
    const p = this.pipeline;
    p.endSec = end.sec;
    p.endNsec = end.nsec;
    const finished = p.finish();
    const result = this.result(finished);
    const counters = { ...this.counters(), kernel: counters0 };
    await this.closeWriter(end, counters);
    const released = { connections: p.released, findings: [...p.releasedFindings] };
    return { result, counters, start: this.start, end, reason, released };
  }

  /** The end-of-second ticks the timer would have run up to `end`, when no packet ran them. */
  private wallTickUntil(end: { sec: number; nsec: number }): void {
    const k = end.sec - 1;
    if (k - this.lastTickSec >= 1) {
      this.lastTickSec = k;
      this.pipeline.tick(k, 999_999_999);
    }
  }

  private async closeWriter(end: { sec: number; nsec: number }, c: LiveCounters): Promise<void> {
    const w = this.writer;
    if (w === null) return;
    this.writer = null;
    try {
      if (this.writeError === null) {
        const k = c.kernel;
        w.writeBlock(
          BT_ISB,
          isbBody(
            {
              interfaceId: 0,
              unitsPerSecond: 1e6,
              start: this.start,
              end,
              filterAccept: k ? k.received : null,
              osDrop: k ? k.dropped : null,
              ifDrop: k ? k.interfaceDropped : null,
              userDelivered: this.received,
            },
            w.littleEndian,
          ),
        );
      }
      await w.close();
    } catch (e) {
      this.failWrite(e);
    }
  }

  private result(end: { sec: number; nsec: number } | null): AnalysisResult {
    const p = this.pipeline;
    const t = p.tracker;
    const lt = this.linkType;
    const summary: CaptureSummary = {
      file: `${this.o.device} (live)`,
      format: 'live',
      compression: null,
      linktypes: lt >= 0 && this.analysed > 0 ? [{ linkType: lt, name: linkTypeName(lt), packets: this.analysed, decoded: isSupportedLinkType(lt) }] : [],
      interfaces: [
        {
          id: 0,
          linkType: lt,
          snapLen: this.source?.snapLen ?? this.o.snapLen,
          name: this.o.device,
          description: null,
          tsUnitsPerSecond: 1e6,
          tsOffsetSeconds: 0,
          fcsLen: -1,
        },
      ],
      packets: this.analysed,
      bytes: this.bytes,
      first: this.firstTime,
      last: this.lastTime,
      errors: [],
      warnings: this.warnings,
      warningsDropped: this.warningsDropped,
      decode: this.decoder.stats,
    };
    const order = (f: Finding): number => f.sec + f.nsec / 1e9;
    const findings = [...p.engine.findings].sort((a, b) => order(a) - order(b) || a.connection - b.connection);
    return {
      captures: [summary],
      connections: t.connections,
      findings,
      end,
      options: this.o.detect,
      unmatchedIcmp: t.unmatchedIcmp,
      tracking: { maxConnections: p.maxConnections, evicted: p.evicted, maxListedConnections: p.maxListed, unlisted: Object.fromEntries(p.unlisted) },
    };
  }
}
