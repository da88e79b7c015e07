/**
 * The JSON document's connection lines are joined from their fields' JSON text for
 * speed (src/report/connection-line.ts, whose field list also gives the object form
 * and the schema); they must be, character for character, what JSON.stringify makes
 * of the objects they parse to, on every capture: valid JSON, nothing escaped that
 * should not be, numbers as JSON writes them.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { connectionJson, connectionLine } from '../src/report/json.js';
import { LineObject, jsonNumber, jsonString } from '../src/report/line-object.js';
import { bool, int, numOrNull, str } from '../src/report/schema-build.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, manifest } from './helpers/env.js';

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => join(CAPTURES, f));
const corpus = HAVE_CORPUS ? (await manifest()).map((r) => join(CORPUS, r.file)) : [];

describe('connection lines equal JSON.stringify of the objects they parse to', () => {
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

describe('LineObject: one field list, one writer and one schema', () => {
  const obj = new LineObject<{ n: number; s: string }>('An example.', {
    n: { schema: int('A count.'), json: (x) => x.n },
    s: { schema: str('A plain text.'), text: (x) => x.s },
    q: { schema: str('A text to escape.'), json: (x) => jsonString(`${x.s} "quoted" \\ \n`) },
    b: { schema: bool('A flag.'), json: (x) => x.n > 1 },
    h: { schema: numOrNull('A computed number.'), json: (x) => jsonNumber(x.n / 0) },
  });

  it('writes what JSON.stringify writes', () => {
    const x = { n: 2, s: 'ESTABLISHED' };
    expect(obj.write(x)).toBe(JSON.stringify({ n: 2, s: 'ESTABLISHED', q: 'ESTABLISHED "quoted" \\ \n', b: true, h: null }));
    expect(new LineObject<number>('Empty.', {}).write(0)).toBe('{}');
  });

  it('has a closed schema of the same fields, in the same order', () => {
    expect(Object.keys(obj.schema.properties ?? {})).toEqual(['n', 's', 'q', 'b', 'h']);
    expect(obj.schema.required).toEqual(['n', 's', 'q', 'b', 'h']);
    expect(obj.schema.additionalProperties).toBe(false);
  });
});
