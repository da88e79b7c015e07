import { readFileSync } from 'node:fs';
import type { Frame, InterfaceInfo } from '../../src/capture/frame.js';
import { readCapture } from '../../src/capture/read-capture.js';
import { ipv4HeaderChecksumOk, tcpChecksumOk } from '../../src/decode/checksum.js';
import { Decoder } from '../../src/decode/decoder.js';
import type { Connection } from '../../src/track/connection.js';
import { direction } from '../../src/track/flow-table.js';
import { ConnectionTracker } from '../../src/track/tracker.js';
import { ZEEK_SEGMENT_ADDED, ZEEK_SEGMENT_TIMED_OUT, ZeekConnState, type ZeekConnOptions, type ZeekSegmentResult } from '../../src/track/zeek-conn.js';
import { formatIp } from '../../src/util/address.js';

/** One row of an expected/<file>.conn.tsv, by column name. */
export type ConnRow = Record<string, string>;

export function readConnTsv(path: string): ConnRow[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const header = lines.shift()!.split('\t');
  return lines.map((l) => {
    const c = l.split('\t');
    const row: ConnRow = {};
    header.forEach((h, i) => (row[h] = c[i] ?? ''));
    return row;
  });
}

/** A connection as our Zeek model logs it. */
export interface ModelConn {
  origH: string;
  origP: number;
  respH: string;
  respP: number;
  connState: string;
  history: string;
  origBytes: number;
  respBytes: number;
  /** Start time, seconds. */
  start: number;
  /** Zeek's duration: last time that counted minus start time, seconds. */
  duration: number;
  /** Tracker connection id it came from. */
  trackerId: number;
}

/** Same key for both orientations of a 4-tuple. */
export function tupleKey(h1: string, p1: number, h2: string, p2: number): string {
  const x = `${h1}|${p1}`;
  const y = `${h2}|${p2}`;
  return x < y ? `${x}|${y}` : `${y}|${x}`;
}

interface Live {
  zs: ZeekConnState;
  /** The Zeek connection's A (first sender) is the tracker connection's A. */
  aIsConnA: boolean;
  conn: Connection;
}

/**
 * Read a capture through readCapture + Decoder, group TCP packets with the
 * ConnectionTracker, and run a ZeekConnState per connection. Zeek may log a
 * tracker connection as several (timers, tuple reuse), and the tracker may
 * split what Zeek keeps as one, so each tracker connection maps to the Zeek
 * state currently fed, and finished states are kept in order. The model's
 * sessionRules end a Zeek connection (timers, tuple reuse) and turn the segment
 * away, which then opens the next one.
 */
export async function runZeekModel(path: string, options: ZeekConnOptions): Promise<ModelConn[]> {
  const decoder = new Decoder();
  const tracker = new ConnectionTracker();
  const current = new Map<Connection, Live>();
  /** Last live state per 4-tuple, to carry a Zeek connection across a tracker split. */
  const byTuple = new Map<string, Live>();
  const all: Live[] = [];
  let lastTime = 0;
  const zeekOptions: ZeekConnOptions = { ...options, sessionRules: true };

  const newLive = (conn: Connection, fromConnA: boolean, srcPort: number, dstPort: number): Live => {
    const l: Live = { zs: new ZeekConnState(srcPort, dstPort, zeekOptions), aIsConnA: fromConnA, conn };
    all.push(l);
    return l;
  };

  const sink = {
    onInterface(_info: InterfaceInfo): void {},
    onWarning(): void {},
    onFrame(frame: Frame): void {
      const t = frame.hasTime ? frame.sec + frame.nsec / 1e9 : lastTime;
      lastTime = t;
      const p = decoder.decode(frame);
      if (p.kind !== 'tcp') return;
      const { ip, tcp } = p;
      if (!options.ignoreChecksums && !ipv4HeaderChecksumOk(frame.buf, ip)) return; // Zeek drops it at the IP layer
      // An IP length past the frame's wire length: Zeek drops the packet ("truncated_IPv6" weird).
      if (!ip.lengthFromFrame && ip.offset - frame.offset + ip.totalLength > Math.max(frame.origLen, frame.capLen)) return;
      const conn = tracker.onTcp(p).conn;
      const fromConnA = direction(conn, ip.version, ip.src, tcp.srcPort, ip.dst, tcp.dstPort) === 1;
      const key = tupleKey(formatIp(conn.version, conn.addrA), conn.portA, formatIp(conn.version, conn.addrB), conn.portB);
      let l = current.get(conn);
      /** The tuple's previous Zeek state, carried over to this tracker connection. */
      let carried: Live | undefined;
      if (l === undefined) {
        // A tracker connection we have not seen: Zeek may still be on the tuple's previous one.
        const prev = byTuple.get(key);
        if (prev !== undefined && !prev.zs.removed) {
          // Same Zeek state, re-expressed against the new tracker connection's A.
          l = { zs: prev.zs, aIsConnA: prev.aIsConnA === (direction(conn, prev.conn.version, prev.conn.addrA, prev.conn.portA, prev.conn.addrB, prev.conn.portB) === 1), conn };
          carried = prev;
        }
      }
      const capEnd = frame.offset + frame.capLen;
      // Zeek drops a segment whose header options were not captured, after opening the connection.
      const headerCaptured = tcp.payloadOffset <= capEnd;
      // Zeek takes the payload length from the IP header whenever the frame holds that many
      // bytes, even where a shorter link-layer length (PPPoE) made the decoder cut it.
      let len = tcp.payloadLength;
      if (!ip.lengthFromFrame && !ip.jumbo) {
        const claimed = ip.totalLength - ip.headerLength - tcp.headerLength;
        if (claimed > len && ip.offset + ip.totalLength <= capEnd) len = claimed;
      }
      const ok = headerCaptured ? (len === tcp.payloadLength ? tcpChecksumOk(frame.buf, ip, tcp) : tcpChecksumOk(frame.buf, ip, tcp, len, capEnd)) : null;
      const payloadCaptured = tcp.payloadOffset + len <= capEnd;
      let result: ZeekSegmentResult = ZEEK_SEGMENT_TIMED_OUT;
      if (l !== undefined) {
        result = l.zs.segment(fromConnA === l.aIsConnA, tcp.flags, tcp.seq, tcp.ack, len, tcp.window, ok, t, payloadCaptured, headerCaptured);
        // A carried state stands for this tracker connection unless its timers had ended it.
        if (carried !== undefined && result !== ZEEK_SEGMENT_TIMED_OUT) all[all.findIndex((x) => x.zs === carried.zs)] = l;
      }
      if (l === undefined || result !== ZEEK_SEGMENT_ADDED) {
        l = newLive(conn, fromConnA, tcp.srcPort, tcp.dstPort);
        l.zs.segment(fromConnA === l.aIsConnA, tcp.flags, tcp.seq, tcp.ack, len, tcp.window, ok, t, payloadCaptured, headerCaptured);
      }
      current.set(conn, l);
      byTuple.set(key, l);
    },
  };
  const r = await readCapture(path, sink);
  void r;
  return all.map((l) => {
    const c = l.conn;
    const aH = formatIp(c.version, l.aIsConnA ? c.addrA : c.addrB);
    const aP = l.aIsConnA ? c.portA : c.portB;
    const bH = formatIp(c.version, l.aIsConnA ? c.addrB : c.addrA);
    const bP = l.aIsConnA ? c.portB : c.portA;
    const o = l.zs.origIsA;
    return {
      origH: o ? aH : bH,
      origP: o ? aP : bP,
      respH: o ? bH : aH,
      respP: o ? bP : aP,
      connState: l.zs.connState,
      history: l.zs.history,
      origBytes: l.zs.origBytes,
      respBytes: l.zs.respBytes,
      start: l.zs.startTime,
      duration: l.zs.lastTime - l.zs.startTime,
      trackerId: c.id,
    };
  });
}
