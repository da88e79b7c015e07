import type { CaptureSink, Frame, InterfaceInfo } from './capture/frame.js';
import { readMerged } from './capture/merge.js';
import { readCapture, type ReadResult } from './capture/read-capture.js';
import { Decoder, type DecodeStats } from './decode/decoder.js';
import { decapTableFor } from './decode/decap.js';
import { isSupportedLinkType, linkTypeName } from './decode/linktypes.js';
import type { Packet } from './decode/packet.js';
import type { PacketFilter } from './decode/packet-filter.js';
import { DetectorEngine } from './detect/engine.js';
import type { Detector } from './detect/detector.js';
import { DETECTORS, clockNeedOf } from './detect/registry.js';
import type { Finding, FindingKind } from './detect/finding.js';
import { DEFAULT_DETECT_OPTIONS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_LISTED_CONNECTIONS, type DetectOptions } from './detect/options.js';
import type { Connection } from './track/connection.js';
import { stableFlowHash } from './track/flow-table.js';
import { ConnectionTracker, DEFAULT_TRACK_OPTIONS, type SegmentInfo } from './track/tracker.js';
import { OffloadThread } from './track/offload-thread.js';
import { isEarlier } from './util/time.js';

/** A problem with a capture file, located. */
export interface CaptureProblem {
  message: string;
  /** Byte offset in the (decompressed) file. */
  offset: number;
  /** 1-based packet number being read; 0 for the file header. */
  packet: number;
}

export interface LinkTypeCount {
  linkType: number;
  name: string;
  packets: number;
  /** False for link types tcpsleuth does not decode (their frames are counted, not analysed). */
  decoded: boolean;
}

export interface CaptureSummary {
  file: string;
  format: string | null;
  compression: 'gzip' | null;
  linktypes: LinkTypeCount[];
  interfaces: InterfaceInfo[];
  /** Interfaces beyond the ones listed (a capture of many thousands must not fill the reports); absent: none. */
  interfacesDropped?: number;
  packets: number;
  bytes: number;
  /** Earliest and latest frame time, [sec, nsec]; null without timestamped frames. */
  first: [number, number] | null;
  last: [number, number] | null;
  errors: CaptureProblem[];
  warnings: CaptureProblem[];
  /** Warnings beyond the ones kept. */
  warningsDropped: number;
  decode: DecodeStats;
}

export interface AnalysisResult {
  captures: CaptureSummary[];
  connections: Connection[];
  findings: Finding[];
  /** Time of the last packet: "now" for open connections' time in state. */
  end: { sec: number; nsec: number } | null;
  options: DetectOptions;
  /** ICMP errors that quoted no connection of the capture. */
  unmatchedIcmp: number;
  /** What the memory bounds did: evicted live connections, and finished ones left out of the list (by conn_state). */
  tracking: { maxConnections: number; evicted: number; maxListedConnections: number; unlisted: Record<string, number> };
}

/**
 * One of `count` shards: the connections whose 4-tuple hashes to `index`. Every shard
 * reads and decodes every frame (so clocks, counts and numbering agree) and tracks only its own.
 */
export interface Shard {
  index: number;
  count: number;
}

/** The shard a TCP packet (or the segment an ICMP error quotes) belongs to: both directions alike. */
function shardOf(p: Packet, count: number): number {
  if (p.kind === 'tcp') return stableFlowHash(p.ip.version === 4 ? 4 : 16, p.ip.src, p.tcp.srcPort, p.ip.dst, p.tcp.dstPort) % count;
  if (p.kind === 'icmp-error') {
    const q = p.icmp.quoted;
    return stableFlowHash(q.ip.version === 4 ? 4 : 16, q.ip.src, q.srcPort, q.ip.dst, q.dstPort) % count;
  }
  return -1;
}

/** What a pipeline is set up with, beside the options. */
export interface PipelineSetup {
  shard?: Shard | null;
  detectors?: readonly Detector[];
  /** The thread that works out Zeek's conn_state, if one started. */
  offload?: OffloadThread | null;
  /** Wireshark's sequence analysis (the JSON's tcp.analysis counters): off when nothing reads it. */
  sequenceAnalysis?: boolean;
  /** Told of each connection as it stops being tracked. */
  onForget?: ((c: Connection) => void) | null;
}

/** How often (capture seconds) the clock runs the time-based checks. */
const TICK_SECONDS = 1;

/**
 * The stages after the reader: decode -> track -> detect. One per analysis; the
 * same object serves files (clock = packet time) and live capture (clock = wall time).
 */
export class Pipeline {
  readonly tracker: ConnectionTracker;
  readonly engine: DetectorEngine;
  private lastTick = -Infinity;
  /**
   * Hears every decoded frame after tracking and detection ran for it: the packet,
   * and for TCP its connection and what the segment did (reused objects: copy what you keep).
   */
  onPacket: ((p: Packet, c: Connection | null, seg: SegmentInfo | null) => void) | null = null;
  /** A capture-filter expression: connections with a packet it matches are marked (Connection.matched). */
  filter: PacketFilter | null = null;
  /** Latest packet time seen. */
  endSec = -Infinity;
  endNsec = 0;

  readonly maxConnections: number;
  readonly maxListed: number;
  evicted = 0;
  readonly unlisted = new Map<string, number>();
  /** Live capture: connections with findings may leave the list too (release). */
  releaseFlagged = false;
  /** Connections with findings let go (release), and their findings by kind. */
  released = 0;
  readonly releasedFindings = new Map<FindingKind, number>();

  readonly shard: Shard | null;

  constructor(
    readonly options: DetectOptions = DEFAULT_DETECT_OPTIONS,
    setup: PipelineSetup = {},
  ) {
    const shard = (this.shard = setup.shard ?? null);
    this.tracker = new ConnectionTracker({
      options: { ...DEFAULT_TRACK_OPTIONS, timeWaitSeconds: options.timeWaitSeconds },
      idFirst: shard === null ? 1 : shard.index + 1,
      idStep: shard?.count ?? 1,
      keepOrdinals: shard !== null,
      offload: setup.offload ?? null,
      sequenceAnalysis: setup.sequenceAnalysis ?? true,
      onForget: setup.onForget ?? null,
      needsClock: clockNeedOf(setup.detectors ?? DETECTORS),
    });
    const n = shard?.count ?? 1;
    // The bounds are shared out: together the shards hold what one pipeline would.
    this.maxConnections = Math.ceil((options.maxConnections ?? DEFAULT_MAX_CONNECTIONS) / n);
    this.maxListed = Math.ceil((options.maxListedConnections ?? DEFAULT_MAX_LISTED_CONNECTIONS) / n);
    this.engine = new DetectorEngine(options, setup.detectors ?? DETECTORS);
  }

  packet(decoder: Decoder, frame: Frame): void {
    if (frame.hasTime) {
      if (frame.sec - this.lastTick >= TICK_SECONDS) this.tick(frame.sec, frame.nsec);
      if (isEarlier(this.endSec, this.endNsec, frame.sec, frame.nsec)) {
        this.endSec = frame.sec;
        this.endNsec = frame.nsec;
      }
    }
    this.tracker.ordinal++;
    const p = decoder.decode(frame);
    if (this.shard !== null && p.kind !== 'other' && shardOf(p, this.shard.count) !== this.shard.index) return;
    let c: Connection | null = null;
    if (p.kind === 'tcp') {
      const seg = this.tracker.onTcp(p);
      c = seg.conn;
      if (seg.created) {
        this.engine.connection(c);
        if (this.tracker.active.size > this.maxConnections) this.evict();
      }
      this.engine.segment(seg);
    } else if (p.kind === 'icmp-error') {
      c = this.tracker.onIcmp(p);
      if (c !== null) this.engine.icmp(c, c.icmp[c.icmp.length - 1]!);
    }
    // A filter expression selects connections by their packets; every packet is still tracked, so states and tcp.stream numbers are the whole capture's.
    if (c !== null && !c.matched && this.filter !== null && this.filter.matches(p)) c.matched = true;
    this.onPacket?.(p, c, p.kind === 'tcp' ? this.tracker.segment : null);
  }

  /**
   * Too many live connections (a SYN flood, a port scan): finish the least recently
   * active tenth early, as if the capture ended for them, so memory stays bounded.
   */
  private evict(): void {
    const t = this.tracker;
    const byAge = [...t.active].sort((a, b) => a.lastSec - b.lastSec || a.lastNsec - b.lastNsec);
    const victims = byAge.slice(0, Math.max(1, Math.floor(this.maxConnections / 10)));
    for (const c of victims) {
      this.engine.end([c], { sec: c.lastSec, nsec: c.lastNsec });
      t.forget(c);
      c.evicted = true;
    }
    this.evicted += victims.length;
    this.trimList();
  }

  /** Keep the connection list within its bound: finished connections without findings are only counted. */
  private trimList(): void {
    const list = this.tracker.connections;
    if (list.length <= this.maxListed) return;
    let excess = list.length - Math.floor(this.maxListed * 0.9);
    // In place: the kept ones move down over the ones let go.
    let n = 0;
    for (const c of list) {
      if (excess > 0 && c.retired && c.raised === 0) {
        this.tracker.unlist(c, this.unlisted);
        excess--;
      } else list[n++] = c;
    }
    list.length = n;
    if (excess > 0 && this.releaseFlagged) this.release(excess);
  }

  /**
   * Live capture runs for days, and its findings were printed as they were raised: past
   * the bound, finished connections with findings are let go too, oldest first, their
   * findings reviewed (as at the end) and counted. Memory then follows live connections.
   */
  private release(excess: number): void {
    const list = this.tracker.connections;
    const gone = new Set<Connection>();
    let n = 0;
    for (const c of list) {
      if (excess > 0 && c.retired) {
        if (!c.evicted) this.engine.end([c], { sec: c.lastSec, nsec: c.lastNsec });
        gone.add(c);
        excess--;
      } else list[n++] = c;
    }
    list.length = n;
    this.released += gone.size;
    this.engine.release(gone, this.releasedFindings);
  }

  /** Run the clock: kernel timers first, then the time-based detectors. */
  tick(sec: number, nsec: number): void {
    this.lastTick = sec;
    this.tracker.tick(sec, nsec);
    if (this.tracker.connections.length > this.maxListed) this.trimList();
    this.engine.clock(this.tracker.clockWatch(), { sec, nsec });
  }

  /** The input went on, silent, until `sec.nsec` (a pcapng ISB's end time). */
  extendEnd(sec: number, nsec: number): void {
    if (isEarlier(this.endSec, this.endNsec, sec, nsec)) {
      this.endSec = sec;
      this.endNsec = nsec;
    }
  }

  /** End of input at `sec.nsec` (the last packet's time for files). */
  finish(): { sec: number; nsec: number } | null {
    let end: { sec: number; nsec: number } | null = null;
    if (this.endSec !== -Infinity) {
      end = { sec: this.endSec, nsec: this.endNsec };
      this.tick(end.sec, end.nsec);
      // Nothing retires after the last tick: the offload thread can work out its verdicts meanwhile.
      this.tracker.endOffload();
      this.engine.end(this.tracker.connections, end);
      this.tracker.finish();
    }
    this.tracker.settleOffloaded(this.unlisted);
    return end;
  }
}

/** Warnings kept per capture: a damaged file must not turn into unbounded memory. */
const MAX_WARNINGS = 100;
/** Interface descriptions kept per capture for the reports. */
const MAX_INTERFACES = 1000;

/** Per-capture bookkeeping done for every frame. */
class CaptureAccount implements CaptureSink {
  private readonly counts = new Map<number, number>();
  readonly interfaces: InterfaceInfo[] = [];
  interfacesDropped = 0;
  readonly warnings: CaptureProblem[] = [];
  warningsDropped = 0;
  firstSec = Infinity;
  firstNsec = 0;
  lastSec = -Infinity;
  lastNsec = 0;

  constructor(
    readonly decoder: Decoder,
    private readonly pipeline: Pipeline,
    /** Which input this is: packets are numbered per capture. */
    private readonly captureIndex: number,
  ) {
    // Damaged packets are located warnings too: one line each (file, offset, packet), bounded like the rest.
    decoder.onDamage = (frame, detail) => this.onWarning(detail, frame.fileOffset, frame.index);
  }

  onInterface(info: InterfaceInfo): void {
    if (this.interfaces.length < MAX_INTERFACES) this.interfaces.push({ ...info });
    else this.interfacesDropped++;
  }

  /** The capture ran on after its last packet (pcapng ISB): the analysis ends there, not at the last packet. */
  onCaptureEnd(sec: number, nsec: number): void {
    this.pipeline.extendEnd(sec, nsec);
  }

  onWarning(message: string, offset: number, packet: number): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push({ message, offset, packet });
    else this.warningsDropped++;
  }

  /** Frames of the current run of one link type, added to linkCounts when it changes (a Map update per frame costs). */
  private runLinkType = NaN;
  private run = 0;

  /** Frames per link type, complete. */
  get linkCounts(): Map<number, number> {
    this.flushRun();
    return this.counts;
  }

  private flushRun(): void {
    if (this.run > 0) this.counts.set(this.runLinkType, (this.counts.get(this.runLinkType) ?? 0) + this.run);
    this.run = 0;
  }

  onFrame(frame: Frame): void {
    const lt = frame.linkType;
    if (lt !== this.runLinkType) {
      this.flushRun();
      this.runLinkType = lt;
    }
    this.run++;
    if (frame.hasTime) {
      const { sec, nsec } = frame;
      if (sec < this.firstSec || (sec === this.firstSec && nsec < this.firstNsec)) {
        this.firstSec = sec;
        this.firstNsec = nsec;
      }
      if (isEarlier(this.lastSec, this.lastNsec, sec, nsec)) {
        this.lastSec = sec;
        this.lastNsec = nsec;
      }
    }
    this.pipeline.tracker.captureIndex = this.captureIndex;
    this.pipeline.packet(this.decoder, frame);
  }
}

export interface AnalyzeHooks {
  /** Every decoded frame, after tracking and detection (see Pipeline.onPacket). */
  onPacket?: Pipeline['onPacket'];
  /** Each finding the moment it is raised (it may still be refined until the end). */
  onFinding?: (f: Finding) => void;
  /** Each finding taken back, when a later packet showed it to be something else (DetectorEngine.withdraw). */
  onWithdraw?: (f: Finding) => void;
  /**
   * Work out Zeek's conn_state and history on a second thread (OffloadThread), or
   * here if it cannot start. Only for analyses that read them after the end, never
   * from onPacket or onFinding.
   */
  offload?: boolean;
  /**
   * Run Wireshark's sequence analysis (on unless false): the JSON report's
   * per-direction tcp.analysis counters and onPacket's SegmentInfo.analysis read it,
   * the table and the detectors do not.
   */
  sequenceAnalysis?: boolean;
  /** The detectors to run: the registry's unless given (tests give variants of them). */
  detectors?: readonly Detector[];
  /** Mark the connections with a packet this matches (Connection.matched). */
  filter?: PacketFilter | null;
}

/**
 * Read the captures (several merged in timestamp order) through decode and connection
 * tracking. Damage ends the reading of that file only: everything before it is kept and reported.
 */
export async function analyzeCaptures(
  inputs: string[],
  options: DetectOptions = DEFAULT_DETECT_OPTIONS,
  stdin?: NodeJS.ReadableStream,
  hooks: AnalyzeHooks = {},
): Promise<AnalysisResult> {
  return (await analyzeWith(options, { detectors: hooks.detectors }, inputs, stdin, hooks)).result;
}

/** One shard's analysis, and the ordinals of every connection it opened (for the merge to number them). */
export async function analyzeShard(
  inputs: string[],
  options: DetectOptions,
  shard: Shard,
  sequenceAnalysis: boolean,
  filter: PacketFilter | null = null,
): Promise<{ result: AnalysisResult; openedAt: number[]; streamOpenedAt: number[] }> {
  const { result, pipeline } = await analyzeWith(options, { shard }, inputs, undefined, { sequenceAnalysis, filter });
  return { result, openedAt: pipeline.tracker.openedAt ?? [], streamOpenedAt: pipeline.tracker.streams.openedAt ?? [] };
}

async function analyzeWith(
  options: DetectOptions,
  setup: PipelineSetup,
  inputs: string[],
  stdin: NodeJS.ReadableStream | undefined,
  hooks: AnalyzeHooks,
): Promise<{ result: AnalysisResult; pipeline: Pipeline }> {
  let offload: OffloadThread | null = null;
  if (hooks.offload) {
    const thread = new OffloadThread();
    // A thread that cannot start costs nothing but the try: the verdicts are worked out here.
    if (await thread.started()) offload = thread;
  }
  const pipeline = new Pipeline(options, { ...setup, offload, sequenceAnalysis: hooks.sequenceAnalysis ?? true });
  pipeline.onPacket = hooks.onPacket ?? null;
  pipeline.filter = hooks.filter ?? null;
  pipeline.engine.onFinding = hooks.onFinding ?? null;
  pipeline.engine.onWithdraw = hooks.onWithdraw ?? null;
  const tracker = pipeline.tracker;
  const captures: CaptureSummary[] = [];
  // One port table for every file's decoder.
  const decap = decapTableFor(options.decap);
  const accounts = inputs.map((_, i) => new CaptureAccount(new Decoder(decap), pipeline, i));
  const summarize = (i: number, r: ReadResult): void => {
    const input = inputs[i]!;
    const acct = accounts[i]!;
    captures[i] = {
      file: input === '-' ? '<stdin>' : input,
      format: r.format,
      compression: r.compression,
      linktypes: [...acct.linkCounts].map(([linkType, packets]) => ({
        linkType,
        name: linkTypeName(linkType),
        packets,
        decoded: isSupportedLinkType(linkType),
      })),
      interfaces: acct.interfaces,
      interfacesDropped: acct.interfacesDropped,
      packets: r.packets,
      bytes: r.bytes,
      first: acct.firstSec === Infinity ? null : [acct.firstSec, acct.firstNsec],
      last: acct.lastSec === -Infinity ? null : [acct.lastSec, acct.lastNsec],
      errors: r.error ? [{ message: r.error.message, offset: r.error.fileOffset, packet: r.error.packet }] : [],
      warnings: acct.warnings,
      warningsDropped: acct.warningsDropped,
      decode: acct.decoder.stats,
    };
  };
  // One file streams straight through; several are merged in timestamp order.
  if (inputs.length === 1) summarize(0, await readCapture(inputs[0]!, accounts[0]!, stdin));
  else await readMerged(inputs, (i) => accounts[i]!, summarize, stdin);
  const end = pipeline.finish();
  const order = (f: Finding): number => f.sec + f.nsec / 1e9;
  const findings = [...pipeline.engine.findings].sort((a, b) => order(a) - order(b) || a.connection - b.connection);
  const result: AnalysisResult = {
    captures,
    connections: tracker.connections,
    findings,
    end,
    options,
    unmatchedIcmp: tracker.unmatchedIcmp,
    tracking: { maxConnections: pipeline.maxConnections, evicted: pipeline.evicted, maxListedConnections: pipeline.maxListed, unlisted: Object.fromEntries(pipeline.unlisted) },
  };
  return { result, pipeline };
}
