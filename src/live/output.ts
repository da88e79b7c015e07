import { formatEpoch } from '../capture/timestamp.js';
import type { Finding } from '../detect/finding.js';
import { findingJson } from '../report/json.js';
import type { LiveCounters, LiveEnd } from './session.js';

/** Time of day in UTC with microseconds, as the packets listing prints it. */
export function timeOfDay(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  return `${d.toISOString().slice(11, 19)}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
}

/** One line per finding, the moment it is raised: time, severity, kind, connection, summary. */
export function findingLine(f: Finding): string {
  return `${timeOfDay(f.sec, f.nsec)} ${f.severity} ${f.kind} #${f.connection}: ${f.summary}`;
}

/** A finding printed earlier and now taken back: a later packet showed it to be something else. */
export function withdrawnLine(f: Finding): string {
  return `${timeOfDay(f.sec, f.nsec)} withdrawn ${f.kind} #${f.connection}: a later packet showed otherwise (see the findings after it)`;
}

/** The same as a JSON Lines record: which finding, by kind, connection and time. */
export function withdrawnRecord(f: Finding): string {
  return JSON.stringify({ type: 'withdrawn', kind: f.kind, connection: f.connection, time: formatEpoch(f.sec, f.nsec) });
}

/** The same finding as a JSON Lines record. */
export function findingRecord(f: Finding): string {
  return JSON.stringify({ type: 'finding', ...findingJson(f) });
}

/** Dropped packets, when they can be known: the kernel's and the analysis queue's. */
export function dropsOf(c: LiveCounters): number | null {
  return c.kernel === null ? null : c.kernel.dropped + c.queueDropped;
}

/** The status line: packets, drops, active connections, connections per state. */
export function statusLine(device: string, c: LiveCounters, width: number): string {
  const drops = dropsOf(c);
  const states = c.states.map(([s, n]) => `${s} ${n}`).join(', ');
  const line =
    `${device}: ${c.received} packets, ${drops === null ? 'drops unknown' : `${drops} dropped`}, ` +
    `${c.activeConnections} active connection${c.activeConnections === 1 ? '' : 's'}${states ? `: ${states}` : ''}`;
  return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
}

export interface LiveInfo {
  device: string;
  filter: string;
  backend: string;
  kernelTimestamps: boolean;
}

/** The "live" member of the final JSON report. */
export function liveJson(info: LiveInfo, e: LiveEnd): Record<string, unknown> {
  const c = e.counters;
  return {
    interface: info.device,
    filter: info.filter || null,
    backend: info.backend,
    timestamps: info.kernelTimestamps ? 'kernel' : 'receipt',
    start: formatEpoch(e.start.sec, e.start.nsec),
    end: formatEpoch(e.end.sec, e.end.nsec),
    stoppedBy: e.reason,
    packets: c.received,
    analysed: c.analysed,
    // null when the binding cannot read libpcap's counters (cap): unknown, not zero.
    dropped: dropsOf(c),
    kernelDropped: c.kernel?.dropped ?? null,
    interfaceDropped: c.kernel?.interfaceDropped ?? null,
    filterAccepted: c.kernel?.received ?? null,
    queueDropped: c.queueDropped,
    // Past --max-listed, finished connections with findings leave the report (their findings were printed).
    releasedConnections: e.released.connections,
    releasedFindings: Object.fromEntries(e.released.findings),
  };
}

/** The lines the table report ends with: the capture, its drop count, and a warning when packets were lost. */
export function liveSummary(info: LiveInfo, e: LiveEnd): string[] {
  const c = e.counters;
  const seconds = e.end.sec - e.start.sec + (e.end.nsec - e.start.nsec) / 1e9;
  const drops = dropsOf(c);
  const out = [
    '',
    `Live capture on ${info.device}${info.filter ? ` with filter "${info.filter}"` : ''}: ${seconds.toFixed(1)} s, stopped by ${e.reason}; ` +
      `${c.received} packets (${info.kernelTimestamps ? 'kernel timestamps' : 'timestamps taken on receipt: the cap binding gives none'}, ${info.backend} binding).`,
  ];
  if (drops === null) {
    out.push('Dropped packets: unknown: the cap binding cannot read libpcap\'s counters (install the pcap package for them).');
  } else {
    const parts = [`${c.kernel!.dropped} by the kernel (its ring buffer was full)`];
    if (c.queueDropped) parts.push(`${c.queueDropped} by tcpsleuth (its analysis fell behind; they are in the -w file)`);
    out.push(`Dropped packets: ${drops}${drops ? `: ${parts.join(', ')}` : ''}.`);
    if (c.kernel!.interfaceDropped) out.push(`The interface itself dropped ${c.kernel!.interfaceDropped} packets (all traffic, not only the filter's).`);
  }
  const rel = e.released;
  if (rel.connections) {
    const n = rel.findings.reduce((a, [, k]) => a + k, 0);
    out.push(
      `Left out of this report to bound memory (--max-listed): ${rel.connections} finished connection${rel.connections === 1 ? '' : 's'} with ${n} finding${n === 1 ? '' : 's'}, ` +
        `printed above as they were raised (${rel.findings.map(([k, m]) => `${k} ${m}`).join(', ')}).`,
    );
  }
  const w = dropWarning(c);
  if (w) out.push(`WARNING: ${w}`);
  return out;
}

/** Non-null when packets were lost: what that means for the findings. */
export function dropWarning(c: LiveCounters): string | null {
  const drops = dropsOf(c);
  if (!drops) return null;
  return (
    `${drops} packet${drops === 1 ? ' was' : 's were'} dropped: a connection that lost its FIN, ACK or RST looks stuck, ` +
    `half-open or reset when it was not, so findings may be wrong. A narrower filter or a larger --buffer-size helps.`
  );
}
