import { formatEpoch } from '../capture/timestamp.js';
import type { LiveFigures } from './figures.js';

/** One `{"type":"stats",...}` JSON Lines record (docs/live-stats.md; its schema: STATS_SCHEMA). */
export function statsRecord(device: string, f: LiveFigures): string {
  const sec = Math.floor(f.timeMs / 1000);
  return JSON.stringify({
    type: 'stats',
    time: formatEpoch(sec, Math.round((f.timeMs - sec * 1000) * 1000) * 1000),
    interface: device,
    packets: { received: f.received, analysed: f.analysed },
    dropped: { kernel: f.kernelDropped, interface: f.interfaceDropped, queue: f.queueDropped },
    connections: { tracked: f.tracked, opened: f.opened, closed: Object.fromEntries(f.closed) },
    endpoints: f.endpoints,
    findings: f.findings,
    withdrawn: f.withdrawn,
    ports: { labelled: f.ports, max: f.maxPorts, limitReached: f.portLimitReached },
    memory: { rssBytes: f.rssBytes, heapUsedBytes: f.heapUsedBytes },
  });
}
