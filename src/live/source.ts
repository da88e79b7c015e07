import { endianness } from 'node:os';
import type { BackendName, CapHandle, Loaded, NodePcapSession } from './bindings.js';
import { linkTypeOf } from './bindings.js';

/** libpcap's counters (pcap_stats). */
export interface CaptureStats {
  /** Packets that passed the filter, including those dropped (ps_recv). */
  received: number;
  /** Packets the kernel dropped because the ring buffer was full (ps_drop). */
  dropped: number;
  /** Packets the interface or its driver dropped, for all traffic (ps_ifdrop). */
  interfaceDropped: number;
}

/** A packet handed on: `buf[0 .. capLen)` is valid during the call only. */
export type PacketSink = (buf: Buffer, capLen: number, origLen: number, sec: number, nsec: number) => void;

export interface SourceOptions {
  device: string;
  /** BPF filter expression ("" for none). */
  filter: string;
  /** libpcap's buffer (the kernel ring), bytes. */
  bufferBytes: number;
  snapLen: number;
  /** pcap backend: the ring's block timeout; packets reach us at most this late. */
  timeoutMs: number;
  onPacket: PacketSink;
  /**
   * pcap backend: false while the analysis is too far behind to take more; the packets then
   * wait in the kernel ring (whose overflow libpcap counts) instead of being read and lost.
   */
  canRead?: () => boolean;
}

export interface LiveSource {
  readonly backend: BackendName;
  readonly linkType: number;
  readonly snapLen: number;
  /** True: the kernel's capture timestamps (microseconds). False: a wall clock read at receipt. */
  readonly kernelTimestamps: boolean;
  /** libpcap's counters, or null when the binding cannot read them (cap). */
  stats(): CaptureStats | null;
  /** Stop capturing; the sink hears nothing after this. */
  close(): void;
}

export type OpenErrorKind = 'permission' | 'no-device' | 'filter' | 'other';

export class OpenError extends Error {
  constructor(
    readonly kind: OpenErrorKind,
    message: string,
  ) {
    super(message);
  }
}

function classify(message: string): OpenErrorKind {
  if (/not permitted|permission denied|CAP_NET_RAW|EPERM|EACCES/i.test(message)) return 'permission';
  if (/no such device|doesn't exist|does not exist/i.test(message)) return 'no-device';
  return 'other';
}

/**
 * Wall-clock time that never goes backwards: the wall clock at process start plus a
 * monotonic clock since. Stands in for capture timestamps when the binding gives none.
 */
export function monotonicWallMs(): number {
  return performance.timeOrigin + performance.now();
}

// The bindings' handles must outlive every callback: cap frees its poll handle's memory with
// the JS object while libuv still lists the handle, so they are kept until the process ends.
const keep: unknown[] = [];

function openPcapSession(loaded: Extract<Loaded, { name: 'pcap' }>, o: SourceOptions, filter: string, onPacket: () => void): { session: NodePcapSession; linkType: string } {
  const session = new loaded.pcap.PcapSession();
  keep.push(session);
  // Promiscuous as tcpdump; the "any" device has no such mode.
  const promiscuous = o.device !== 'any';
  // A timeout > 0 makes libpcap use a TPACKET_V3 ring: packets packed in blocks, one wake-up per block.
  const linkType = session.open_live(o.device, filter, o.bufferBytes, o.snapLen, '', onPacket, false, o.timeoutMs, () => undefined, promiscuous);
  return { session, linkType };
}

function openPcap(loaded: Extract<Loaded, { name: 'pcap' }>, o: SourceOptions): LiveSource {
  const data = Buffer.alloc(o.snapLen);
  const header = Buffer.alloc(16);
  const le = endianness() === 'LE';
  let open = true;
  // node_pcap copies the low 32 bits of tv_sec and tv_usec, caplen and len, in host byte order.
  const ready = (): void => {
    if (!open) return;
    const sec = le ? header.readUInt32LE(0) : header.readUInt32BE(0);
    const usec = le ? header.readUInt32LE(4) : header.readUInt32BE(4);
    const capLen = le ? header.readUInt32LE(8) : header.readUInt32BE(8);
    const origLen = le ? header.readUInt32LE(12) : header.readUInt32BE(12);
    o.onPacket(data, capLen < data.length ? capLen : data.length, origLen, sec, usec * 1000);
  };
  let s: { session: NodePcapSession; linkType: string };
  try {
    s = openPcapSession(loaded, o, o.filter, ready);
  } catch (e) {
    throw openError(e, o, () => {
      const t = openPcapSession(loaded, o, '', () => undefined);
      t.session.close();
    });
  }
  const { session } = s;
  // Also after close(): the read that follows pcap_breakloop is the one that closes the handle
  // and stops polling its descriptor (a descriptor left readable would spin the event loop).
  let finalized = false;
  session.read_callback = () => {
    // Not reading leaves the descriptor readable: the next turn of the event loop asks again.
    if (open && o.canRead && !o.canRead()) return;
    if (!finalized && session.dispatch(data, header) === -2) finalized = true;
  };
  session.start_polling();
  // Packets may be waiting already.
  setImmediate(() => session.read_callback?.());
  let last: CaptureStats = { received: 0, dropped: 0, interfaceDropped: 0 };
  return {
    backend: 'pcap',
    linkType: linkTypeOf(s.linkType),
    snapLen: o.snapLen,
    kernelTimestamps: true,
    stats() {
      if (open) {
        const st = session.stats();
        last = { received: st.ps_recv, dropped: st.ps_drop, interfaceDropped: st.ps_ifdrop };
      }
      return last;
    },
    close() {
      if (!open) return;
      this.stats();
      open = false;
      // pcap_breakloop: node_pcap closes the handle on its next read, done at once.
      session.close();
      session.read_callback?.();
    },
  };
}

function openCap(loaded: Extract<Loaded, { name: 'cap' }>, o: SourceOptions): LiveSource {
  // cap sets the snaplen to 65535 itself; the buffer bounds what it copies.
  const snapLen = Math.min(o.snapLen, 65535);
  const buf = Buffer.alloc(snapLen);
  let open = true;
  const openHandle = (filter: string): { c: CapHandle; linkType: string } => {
    const c = new loaded.cap.Cap();
    keep.push(c);
    return { c, linkType: c.open(o.device, filter, o.bufferBytes, buf) };
  };
  let h: { c: CapHandle; linkType: string };
  try {
    h = openHandle(o.filter);
  } catch (e) {
    throw openError(e, o, () => openHandle('').c.close());
  }
  h.c.on('packet', (bytes: number) => {
    if (!open) return;
    // cap gives no timestamp and no original length.
    const ms = monotonicWallMs();
    const sec = Math.floor(ms / 1000);
    const usec = Math.floor((ms - sec * 1000) * 1000);
    o.onPacket(buf, bytes, bytes, sec, (usec > 999_999 ? 999_999 : usec) * 1000);
  });
  return {
    backend: 'cap',
    linkType: linkTypeOf(h.linkType),
    snapLen,
    kernelTimestamps: false,
    stats: () => null,
    close() {
      if (!open) return;
      open = false;
      h.c.close();
    },
  };
}

/**
 * An open failed: say which kind of failure it was. libpcap compiles the filter after
 * activating the device, so an unrecognised message with a filter is checked by opening
 * once more without it: if that works, the filter was the problem.
 */
function openError(e: unknown, o: SourceOptions, withoutFilter: () => void): OpenError {
  const message = e instanceof Error ? e.message : String(e);
  const kind = classify(message);
  if (kind !== 'other' || o.filter === '') return new OpenError(kind, message);
  try {
    withoutFilter();
  } catch (e2) {
    const m2 = e2 instanceof Error ? e2.message : String(e2);
    return new OpenError(classify(m2), m2);
  }
  return new OpenError('filter', message);
}

/** Open a live capture; throws OpenError. */
export function openSource(loaded: Loaded, o: SourceOptions): LiveSource {
  return loaded.name === 'pcap' ? openPcap(loaded, o) : openCap(loaded, o);
}
