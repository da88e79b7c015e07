/**
 * The JSON contract (src/report/json-schema.ts) against the writer: the document of
 * every capture, ours and the corpus's, validates against the schema (closed objects,
 * every field the writer always writes required), with its fields in the order the
 * reference lists them; the rare paths too (errors, gzip, evictions, several files,
 * --threads). The generated docs equal the definition, and the schema rejects what it
 * should.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import type { ShippedKind } from '../src/detect/finding.js';
import { FINDING_KINDS } from '../src/detect/registry.js';
import { DEFAULT_DETECT_OPTIONS, type DetectOptions } from '../src/detect/options.js';
import { renderJson } from '../src/report/json.js';
import { JSON_SCHEMA, SHIPPED_KINDS, STATS_SCHEMA, renderJsonDoc, renderStatsDoc, type JsonSchema } from '../src/report/json-schema.js';
import { FORMAT_VERSION } from '../src/version.js';
import { useTempDir } from './helpers/temp-dir.js';
import { run } from './helpers/cli.js';
import { CAPTURES, CORPUS, HAVE_CORPUS, REPO, manifest } from './helpers/env.js';

const tmp = useTempDir();

const ajv = new Ajv2020.default({ strict: true, allErrors: true });
// The schema documents shipped kinds only: a detector not yet shipped has its kind accepted here and its details unchecked.
ajv.addSchema({ ...JSON_SCHEMA, $defs: { ...JSON_SCHEMA.$defs, findingKind: { ...JSON_SCHEMA.$defs.findingKind, enum: FINDING_KINDS } } }, 'tcpsleuth');
const validate = ajv.getSchema('tcpsleuth')!;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Doc = { [k: string]: Json };

/** Every finding kind seen in a valid document, and how many of each. */
const kindsSeen = new Map<ShippedKind, number>();

function resolve(s: JsonSchema): JsonSchema {
  return s.$ref === undefined ? s : JSON_SCHEMA.$defs[s.$ref.replace('#/$defs/', '') as keyof typeof JSON_SCHEMA.$defs];
}

function isObject(v: Json): v is { [k: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Objects whose keys are not in the order the schema (and so the reference) lists them. */
function orderProblems(v: Json, s0: JsonSchema, path: string, out: string[]): void {
  const s = resolve(s0);
  if (s.anyOf) {
    for (const alt of s.anyOf) orderProblems(v, alt, path, out);
    return;
  }
  if (Array.isArray(v)) {
    if (s.items) v.forEach((x, i) => orderProblems(x, s.items as JsonSchema, `${path}[${i}]`, out));
    return;
  }
  if (!isObject(v) || s.properties === undefined) return;
  const want = Object.keys(s.properties).filter((k) => k in v);
  if (Object.keys(v).join() !== want.join()) out.push(`${path}: ${Object.keys(v).join()} (the schema: ${want.join()})`);
  for (const [k, f] of Object.entries(s.properties)) {
    if (!(k in v)) continue;
    const branch = s.allOf?.find((b) => Object.entries(b.if?.properties ?? {}).every(([dk, c]) => v[dk] === c.const));
    orderProblems(v[k]!, branch?.then?.properties?.[k] ?? f, `${path}.${k}`, out);
  }
}

/** The document is valid, its fields in schema order; its findings' kinds are counted. */
function check(label: string, text: string): Doc {
  const doc = JSON.parse(text) as Doc;
  const ok = validate(doc);
  expect(ok ? '' : ajv.errorsText(validate.errors, { separator: '\n' }), `${label}: the document does not fit the schema`).toBe('');
  const order: string[] = [];
  orderProblems(doc, JSON_SCHEMA, '', order);
  expect(order, `${label}: fields out of the schema's order`).toEqual([]);
  for (const f of doc.findings as Doc[]) {
    const kind = f.kind as ShippedKind;
    if (!SHIPPED_KINDS.includes(kind)) continue;
    // Its details alone fit its kind's definition, and not the next kind's: the definitions tell kinds apart.
    const own = ajv.getSchema(`tcpsleuth#/$defs/details-${kind}`)!;
    expect(own(f.details) ? '' : ajv.errorsText(own.errors), `${label}: ${kind} details`).toBe('');
    const next = SHIPPED_KINDS[(SHIPPED_KINDS.indexOf(kind) + 1) % SHIPPED_KINDS.length]!;
    expect(ajv.getSchema(`tcpsleuth#/$defs/details-${next}`)!(f.details), `${label}: ${kind} details fit ${next}'s`).toBe(false);
    kindsSeen.set(kind, (kindsSeen.get(kind) ?? 0) + 1);
  }
  return doc;
}

async function inProcess(files: string[], options: DetectOptions = DEFAULT_DETECT_OPTIONS): Promise<Doc> {
  return check(files.map((f) => relative(REPO, f)).join(' + '), renderJson(await analyzeCaptures(files, options)));
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<Doc> {
  const { stdout, stderr } = await run(['analyze', '--format', 'json', ...args], undefined, { env });
  // Exit status 2 for a damaged input still writes the document; a usage error writes none.
  if (!stdout) throw new Error(`tcpsleuth analyze ${args.join(' ')}: ${stderr}`);
  return check(`tcpsleuth analyze ${args.join(' ')}`, stdout);
}

/** A pcap's header and its records, cut into two files at record `at` (a connection then spans both). */
function splitPcap(file: string, at: number): [string, string] {
  const b = readFileSync(file);
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  const offsets: number[] = [];
  for (let o = 24; o + 16 <= b.length; o += 16 + (le ? b.readUInt32LE(o + 8) : b.readUInt32BE(o + 8))) offsets.push(o);
  const cut = offsets[at]!;
  const name = file.split('/').pop()!.replace(/\.pcap$/, '');
  return [tmp.write(`${name}.0.pcap`, b.subarray(0, cut)), tmp.write(`${name}.1.pcap`, Buffer.concat([b.subarray(0, 24), b.subarray(cut)]))];
}

const ours = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap'))
  .sort()
  .map((f) => join(CAPTURES, f));
const corpus = HAVE_CORPUS ? (await manifest()).map((r) => r.file) : [];

describe('the JSON document of every capture fits the schema', () => {
  it.each(ours.map((f) => [relative(REPO, f), f] as const))('%s', async (_rel, file) => {
    const doc = await inProcess([file]);
    expect(doc.formatVersion).toBe(FORMAT_VERSION);
  });
});

describe.skipIf(!HAVE_CORPUS)(`the JSON document of every corpus capture fits the schema${HAVE_CORPUS ? '' : ' (skipped: no ../shared/corpus)'}`, () => {
  it.each(corpus)('%s', async (file) => {
    await inProcess([join(CORPUS, file)]);
  });
});

describe('the rare paths fit the schema', () => {
  it('two files merged: a connection and its findings span both (otherPackets, firstCapture != lastCapture)', async () => {
    const doc = await inProcess(splitPcap(join(CAPTURES, 'half-open.pcap'), 9));
    const connections = doc.connections as Doc[];
    expect(connections.some((c) => c.firstCapture !== c.lastCapture)).toBe(true);
    expect((doc.findings as Doc[]).some((f) => (f.otherPackets as Json[]).length > 0)).toBe(true);
    await inProcess([join(CAPTURES, 'vantage-client.pcap'), join(CAPTURES, 'vantage-server.pcap')]);
  });

  it('errors: a missing file, a truncated one; gzip; one of each with a readable one', async () => {
    const whole = readFileSync(join(CAPTURES, 'half-open.pcap'));
    const truncated = tmp.write('truncated.pcap', whole.subarray(0, Math.floor(whole.length / 2) + 7));
    const gz = tmp.write('half-open.pcap.gz', gzipSync(whole));
    const missing = join(tmp.path, 'missing.pcap');
    const docs = [await inProcess([missing]), await inProcess([truncated]), await inProcess([gz]), await inProcess([missing, gz])];
    const captures = docs.flatMap((d) => d.captures as Doc[]);
    expect(captures.filter((c) => (c.errors as Json[]).length > 0).length).toBe(3);
    expect(captures.some((c) => c.format === null && c.firstTime === null)).toBe(true);
    expect(captures.some((c) => c.compression === 'gzip')).toBe(true);
  });

  it("the memory bounds: evicted connections, unlisted ones counted by conn_state (here and by the offload thread), both bounds in the options", async () => {
    const file = join(CAPTURES, 'busy-server.pcap');
    const docs = [
      await inProcess([file], { ...DEFAULT_DETECT_OPTIONS, maxConnections: 10, maxListedConnections: 30 }),
      // The offload thread works out Zeek's verdicts (by default only for inputs of 16 MiB or more).
      await cli(['--max-connections', '10', '--max-listed', '30', file], { TCPSLEUTH_OFFLOAD_MIN_BYTES: '0' }),
    ];
    for (const doc of docs) {
      expect((doc.connections as Doc[]).some((c) => c.evicted === true)).toBe(true);
      expect(Object.keys((doc.tracking as Doc).unlisted as Doc).length).toBeGreaterThan(0);
      expect(Object.keys(doc.options as Doc)).toContain('maxConnections');
    }
  });

  it('the command line: one thread, with a view filter', async () => {
    const doc = await cli([join(CAPTURES, 'close-wait-pileup.pcap')]);
    expect((doc.groups as Doc[]).some((g) => g.pileUp !== null)).toBe(true);
    await cli(['--min-severity', 'warning', '--port', '8080', join(CAPTURES, 'busy-server.pcap')]);
  });

  const cores = availableParallelism();
  it.skipIf(cores < 2)(`--threads 2: one capture, and two files merged${cores < 2 ? ' (skipped: one core, the CLI takes no more threads)' : ''}`, async () => {
    const one = await cli(['--threads', '2', join(CAPTURES, 'busy-server.pcap')]);
    expect((one.connections as Json[]).length).toBeGreaterThan(0);
    const two = await cli(['--threads', '2', ...splitPcap(join(CAPTURES, 'close-wait-stuck.pcap'), 8)]);
    expect((two.captures as Json[]).length).toBe(2);
    expect((two.findings as Doc[]).some((f) => (f.otherPackets as Json[]).length > 0)).toBe(true);
  });
});

describe('every finding kind', () => {
  // Runs after the documents above (a file's tests run in order), on what they held: our captures have every kind.
  it.each([...SHIPPED_KINDS])('%s occurs, and its details fit the schema (and only its own kind\'s details)', (kind) => {
    expect(kindsSeen.get(kind) ?? 0, `no ${kind} finding in any document`).toBeGreaterThan(0);
  });
});

describe('the documentation is the definition', () => {
  it('docs/json-schema.json is JSON_SCHEMA (else run `npm run schema`)', () => {
    expect(readFileSync(join(REPO, 'docs', 'json-schema.json'), 'utf8'), 'docs/json-schema.json is stale: run `npm run schema`').toBe(`${JSON.stringify(JSON_SCHEMA, null, 2)}\n`);
  });

  it('docs/json.md is the rendered reference (else run `npm run schema`)', () => {
    expect(readFileSync(join(REPO, 'docs', 'json.md'), 'utf8'), 'docs/json.md is stale: run `npm run schema`').toBe(renderJsonDoc(JSON_SCHEMA));
  });

  it('docs/live-stats-schema.json and docs/live-stats.md are the live stats lines\' schema and reference (else run `npm run schema`)', () => {
    expect(readFileSync(join(REPO, 'docs', 'live-stats-schema.json'), 'utf8'), 'stale: run `npm run schema`').toBe(`${JSON.stringify(STATS_SCHEMA, null, 2)}\n`);
    expect(readFileSync(join(REPO, 'docs', 'live-stats.md'), 'utf8'), 'stale: run `npm run schema`').toBe(renderStatsDoc(STATS_SCHEMA));
  });

  it('every field has a description; every object is closed and requires its fields', () => {
    const problems: string[] = [];
    const visit = (s: JsonSchema, path: string): void => {
      if (s.properties) {
        if (s.additionalProperties !== false) problems.push(`${path}: not closed`);
        for (const [k, f] of Object.entries(s.properties)) {
          if (!f.description) problems.push(`${path}.${k}: no description`);
          visit(f, `${path}.${k}`);
        }
        const optional = Object.keys(s.properties).filter((k) => !(s.required ?? []).includes(k));
        // options: the command line always writes the memory bounds, analyzeCaptures' callers need not give them.
        if (path !== '.options' && optional.length) problems.push(`${path}: ${optional.join(', ')} not required`);
      }
      if (s.items) visit(s.items, `${path}[]`);
      for (const a of s.anyOf ?? []) visit(a, path);
    };
    visit(JSON_SCHEMA, '');
    for (const [name, s] of Object.entries(JSON_SCHEMA.$defs)) {
      if (!s.description) problems.push(`$defs.${name}: no description`);
      visit(s, `$defs.${name}`);
    }
    expect(problems).toEqual([]);
  });
});

describe('the schema is closed: it rejects', () => {
  let base: Doc | null = null;
  const sample = async (): Promise<Doc> => (base ??= JSON.parse(renderJson(await analyzeCaptures([join(CAPTURES, 'close-wait-pileup.pcap')]))) as Doc);
  const variant = async (change: (d: Doc) => void): Promise<boolean> => {
    const d = structuredClone(await sample());
    change(d);
    return validate(d) as boolean;
  };
  const first = (d: Doc, list: string): Doc => (d[list] as Doc[])[0]!;

  it('nothing of the unchanged document', async () => {
    expect(validate(await sample())).toBe(true);
    // The changes below assume its first finding is a CLOSE-WAIT one.
    expect(first(await sample(), 'findings').kind).toBe('close-wait-stuck');
  });

  it.each<[string, (d: Doc) => void]>([
    ['an unknown field at the top', (d) => (d.extra = 1)],
    ['an unknown field in a capture', (d) => (first(d, 'captures').extra = 1)],
    ['an unknown field in a connection\'s view', (d) => ((first(d, 'connections').view as Doc).extra = 1)],
    ['an unknown field in an endpoint\'s transition', (d) => ((((first(d, 'connections').endpoints as Doc).client as Doc).transitions as Doc[])[0]!.extra = 1)],
    ['an unknown field in a finding\'s details', (d) => ((first(d, 'findings').details as Doc).extra = 1)],
    ['an unknown field in a group', (d) => (first(d, 'groups').extra = 1)],
    ['a missing required field (decode.firstDamage)', (d) => delete (first(d, 'captures').decode as Doc).firstDamage],
    ['a missing required field (a finding\'s group)', (d) => delete first(d, 'findings').group],
    ['a missing required field (a detail)', (d) => delete (first(d, 'findings').details as Doc).enteredAt],
    ['a missing required field (tracking.unlisted)', (d) => delete (d.tracking as Doc).unlisted],
    ['a bad finding kind', (d) => (first(d, 'findings').kind = 'bogus')],
    ['another kind than the details are of', (d) => (first(d, 'findings').kind = 'stray-rst')],
    ['a bad severity', (d) => (first(d, 'findings').severity = 'fatal')],
    ['a bad TCP state', (d) => (first(d, 'connections').clientState = 'ESTAB')],
    ['a bad conn_state', (d) => (first(d, 'connections').connState = 'XX')],
    ['a bad flag name', (d) => (first(d, 'connections').fromClient as Doc).flags = ['SYN', 'NS']],
    ['another format version', (d) => (d.formatVersion = '9.9')],
    ['a time as a number', (d) => (first(d, 'connections').firstTime = 1700000000.5)],
    ['a time without its nanoseconds', (d) => (first(d, 'connections').firstTime = '1700000000.5')],
    ['null where the writer never writes it', (d) => (first(d, 'connections').duration = null)],
    ['a fraction where the writer writes an integer', (d) => (first(d, 'connections').id = 1.5)],
  ])('%s', async (_what, change) => {
    expect(await variant(change)).toBe(false);
  });
});
