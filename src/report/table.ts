import Table from 'cli-table3';
import type { AnalysisResult, CaptureSummary } from '../analyze.js';
import { formatIso } from '../capture/timestamp.js';
import { connectionEndpoints, durationSeconds } from './json.js';
import { flagLetters } from './flags.js';

function captureLine(c: CaptureSummary): string {
  const parts = [c.format ?? 'unknown format'];
  if (c.compression) parts.push(c.compression);
  const lts = c.linktypes.map((l) => l.name + (l.decoded ? '' : ' (not decoded)'));
  if (lts.length) parts.push(lts.join('+'));
  parts.push(`${c.packets} packets`);
  if (c.first && c.last) parts.push(`${formatIso(c.first[0], c.first[1])} .. ${formatIso(c.last[0], c.last[1])}`);
  const d = c.decode;
  const extra: string[] = [];
  if (d.truncatedPayloads) extra.push(`${d.truncatedPayloads} TCP segments cut by snaplen`);
  if (d.truncated) extra.push(`${d.truncated} frames cut before the TCP header`);
  const bad = [...d.malformed.values()].reduce((a, b) => a + b, 0);
  if (bad) extra.push(`${bad} malformed`);
  if (d.ipFragments) extra.push(`${d.ipFragments} IP fragments`);
  return `${c.file}: ${parts.join(', ')}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

/** The terminal view: one line per capture, then one row per connection. */
export function renderTable(r: AnalysisResult): string {
  const out: string[] = r.captures.map(captureLine);
  if (r.connections.length === 0) {
    out.push('No TCP connections.');
    return `${out.join('\n')}\n`;
  }
  const multi = r.captures.length > 1;
  const t = new Table({
    head: ['#', 'Client', 'Server', 'Start (UTC)', 'Duration', 'Pkts c>s', 'Bytes c>s', 'Flags c>s', 'Pkts s>c', 'Bytes s>c', 'Flags s>c'],
    style: { head: [], border: [] },
  });
  for (const c of r.connections) {
    const { client, server } = connectionEndpoints(c);
    const fc = c.fromClient;
    const fs = c.fromServer;
    t.push([
      `${c.id}${c.partial ? '*' : ''}`,
      client,
      server,
      (multi ? `[${c.firstCapture + 1}] ` : '') + formatIso(c.firstSec, c.firstNsec).replace('T', ' '),
      `${durationSeconds(c).toFixed(3)}s`,
      fc.packets,
      fc.payloadBytes,
      flagLetters(fc.flags),
      fs.packets,
      fs.payloadBytes,
      flagLetters(fs.flags),
    ]);
  }
  out.push(t.toString());
  if (r.connections.some((c) => c.partial)) out.push('* no SYN seen: the capture began mid-connection; client and server are guessed.');
  return `${out.join('\n')}\n`;
}
