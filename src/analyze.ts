import type { CaptureSink, Frame, InterfaceInfo } from './capture/frame.js';
import { readCapture } from './capture/read-capture.js';
import { Decoder, type DecodeStats } from './decode/decoder.js';
import { isSupportedLinkType, linkTypeName } from './decode/linktypes.js';
import type { Connection } from './track/connection.js';
import { ConnectionTracker } from './track/tracker.js';

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
}

/** Warnings kept per capture: a damaged file must not turn into unbounded memory. */
const MAX_WARNINGS = 100;

/** Per-capture bookkeeping done for every frame. */
class CaptureAccount implements CaptureSink {
  readonly linkCounts = new Map<number, number>();
  readonly interfaces: InterfaceInfo[] = [];
  readonly warnings: CaptureProblem[] = [];
  warningsDropped = 0;
  firstSec = Infinity;
  firstNsec = 0;
  lastSec = -Infinity;
  lastNsec = 0;

  constructor(
    private readonly decoder: Decoder,
    private readonly tracker: ConnectionTracker,
  ) {}

  onInterface(info: InterfaceInfo): void {
    this.interfaces.push({ ...info });
  }

  onWarning(message: string, offset: number, packet: number): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push({ message, offset, packet });
    else this.warningsDropped++;
  }

  onFrame(frame: Frame): void {
    const lt = frame.linkType;
    this.linkCounts.set(lt, (this.linkCounts.get(lt) ?? 0) + 1);
    if (frame.hasTime) {
      const { sec, nsec } = frame;
      if (sec < this.firstSec || (sec === this.firstSec && nsec < this.firstNsec)) {
        this.firstSec = sec;
        this.firstNsec = nsec;
      }
      if (sec > this.lastSec || (sec === this.lastSec && nsec > this.lastNsec)) {
        this.lastSec = sec;
        this.lastNsec = nsec;
      }
    }
    const p = this.decoder.decode(frame);
    if (p.kind === 'tcp') this.tracker.onTcp(p);
  }
}

/**
 * Read each capture in turn through decode and connection tracking. Damage ends
 * the reading of that file only: everything before it is kept and reported.
 */
export async function analyzeCaptures(inputs: string[], stdin?: NodeJS.ReadableStream): Promise<AnalysisResult> {
  const tracker = new ConnectionTracker();
  const captures: CaptureSummary[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    tracker.captureIndex = i;
    const decoder = new Decoder();
    const acct = new CaptureAccount(decoder, tracker);
    const r = await readCapture(input, acct, stdin);
    captures.push({
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
      packets: r.packets,
      bytes: r.bytes,
      first: acct.firstSec === Infinity ? null : [acct.firstSec, acct.firstNsec],
      last: acct.lastSec === -Infinity ? null : [acct.lastSec, acct.lastNsec],
      errors: r.error ? [{ message: r.error.message, offset: r.error.fileOffset, packet: r.error.packet }] : [],
      warnings: acct.warnings,
      warningsDropped: acct.warningsDropped,
      decode: decoder.stats,
    });
  }
  return { captures, connections: tracker.connections };
}
