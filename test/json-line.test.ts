/**
 * The JSON document's connection lines are written out by hand for speed
 * (src/report/connection-line.ts); they must be, character for character, what
 * JSON.stringify makes of the contract's connection objects, on every capture.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { connectionJson, connectionLine } from '../src/report/json.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, manifest } from './helpers/env.js';

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => join(CAPTURES, f));
const corpus = HAVE_CORPUS ? (await manifest()).map((r) => join(CORPUS, r.file)) : [];

describe('connection lines equal JSON.stringify of the contract objects', () => {
  it.each([...ours, ...corpus])('%s', async (file) => {
    const r = await analyzeCaptures([file]);
    const objects = r.connections.map((c) => connectionJson(c, r.end));
    expect(r.connections.map((c) => connectionLine(c, r.end))).toEqual(objects.map((o) => JSON.stringify(o)));
  });

  it('covers odd values: no handshake RTT, a previous connection, IPv6, an evicted connection', async () => {
    const r = await analyzeCaptures([join(CAPTURES, 'port-reuse.pcap'), join(CAPTURES, 'healthy-ipv6.pcap'), join(CAPTURES, 'syn-timeout.pcap')]);
    r.connections[0]!.evicted = true;
    const lines = r.connections.map((c) => connectionLine(c, r.end));
    expect(lines).toEqual(r.connections.map((c) => JSON.stringify(connectionJson(c, r.end))));
    const parsed = lines.map((l) => JSON.parse(l) as { previousConnection: number | null; handshakeRtt: number | null; client: string; evicted: boolean });
    expect(parsed.some((p) => p.previousConnection !== null)).toBe(true);
    expect(parsed.some((p) => p.handshakeRtt === null)).toBe(true);
    expect(parsed.some((p) => p.client.startsWith('['))).toBe(true);
    expect(parsed[0]!.evicted).toBe(true);
  });
});
