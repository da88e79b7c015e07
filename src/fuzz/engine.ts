import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyEdits, parseEdits, type Edit } from './edits.js';
import { layoutOf, plainBytes, type Layout } from './layout.js';
import { mutate } from './mutators.js';
import { Rng } from './rng.js';
import type { Via } from './run-one.js';

/**
 * Sources, cases and recipes. A case is a source capture (named relative to
 * captures/ or the shared corpus, never copied), the edits that mutate it, and how
 * it reaches the reader. Cases come from a seeded generator, so a run is the same
 * for the same seed; a failing case is written down as a recipe that makes it again.
 */

/** The checkout: this file is src/fuzz/engine.ts or dist/fuzz/engine.js. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CAPTURES_DIR = join(REPO, 'captures');
export const CORPUS_DIR = process.env.TCPSLEUTH_CORPUS ?? resolve(REPO, '..', 'shared', 'corpus');

export type SourceRoot = 'captures' | 'corpus';

export interface SourceRef {
  root: SourceRoot;
  /** Path below the root, with forward slashes. */
  file: string;
}

export interface Source {
  ref: SourceRef;
  /** The bytes mutations apply to (a gzip source decompressed). */
  bytes: Buffer;
  layout: Layout;
}

export interface FuzzCase {
  id: number;
  source: SourceRef;
  /** Mutator names, for the statistics and the recipe. */
  names: string[];
  edits: Edit[];
  via: Via;
}

/** A regression recipe as stored in test/fixtures/fuzz/*.json. */
export interface Recipe {
  source: SourceRef;
  edits: Edit[];
  via?: Via;
  /** Free text: what the fuzzer found, what was fixed. */
  note?: string;
  mutators?: string[];
}

export function rootDir(root: SourceRoot): string {
  return root === 'captures' ? CAPTURES_DIR : CORPUS_DIR;
}

export function sourcePath(ref: SourceRef): string {
  return join(rootDir(ref.root), ...ref.file.split('/'));
}

const CAPTURE_NAME = /\.(pcap|pcapng|cap|pcap\.gz|pcapng\.gz)$/i;

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && CAPTURE_NAME.test(e.name)) out.push(p);
  }
}

/** Every capture under captures/ and the corpus (when present), up to `maxBytes` each. */
export function findSources(maxBytes = 4 * 1024 * 1024): SourceRef[] {
  const refs: SourceRef[] = [];
  for (const root of ['captures', 'corpus'] as const) {
    const dir = rootDir(root);
    if (!existsSync(dir)) continue;
    const files: string[] = [];
    walk(dir, files);
    files.sort();
    for (const f of files) {
      if (statSync(f).size > maxBytes) continue;
      refs.push({ root, file: relative(dir, f).split(/[\\/]/).join('/') });
    }
  }
  return refs;
}

export function loadSource(ref: SourceRef): Source {
  const { bytes, gzip } = plainBytes(readFileSync(sourcePath(ref)));
  return { ref, bytes, layout: layoutOf(bytes, gzip) };
}

/** The input a recipe or case stands for. */
export function materialize(source: Buffer, edits: readonly Edit[]): Buffer {
  return applyEdits(source, edits);
}

/** Seeded cases over the given sources. */
export class CaseGenerator {
  private readonly rng: Rng;
  private next = 0;

  constructor(
    seed: number,
    private readonly sources: readonly Source[],
  ) {
    if (sources.length === 0) throw new Error('no source captures to mutate');
    this.rng = new Rng(seed);
  }

  generate(): FuzzCase {
    const rng = this.rng;
    const src = rng.pick(this.sources);
    const m = mutate({ src: src.bytes, layout: src.layout, rng });
    let via: Via = 'file';
    if (rng.chance(0.12)) via = { stdinChunk: src.bytes.length < 16384 ? rng.pick([1, 7, 64, 4096]) : rng.pick([4096, 65536]) };
    return { id: this.next++, source: src.ref, names: m.names, edits: m.edits, via };
  }
}

export function recipeOf(c: FuzzCase, note?: string): Recipe {
  const r: Recipe = { source: c.source, edits: c.edits, mutators: c.names };
  if (c.via !== 'file') r.via = c.via;
  if (note !== undefined) r.note = note;
  return r;
}

/** Parse a recipe (data from a file: checked, never trusted). */
export function parseRecipe(v: unknown): Recipe {
  if (typeof v !== 'object' || v === null) throw new Error('recipe: expected an object');
  const o = v as Record<string, unknown>;
  const s = o.source as Record<string, unknown> | undefined;
  if (typeof s !== 'object' || s === null || (s.root !== 'captures' && s.root !== 'corpus') || typeof s.file !== 'string' || s.file.includes('..')) {
    throw new Error('recipe: source must be {root: "captures" | "corpus", file}');
  }
  const r: Recipe = { source: { root: s.root, file: s.file }, edits: parseEdits(o.edits) };
  const via = o.via as Record<string, unknown> | undefined;
  if (via !== undefined) {
    if (typeof via !== 'object' || via === null || typeof via.stdinChunk !== 'number') throw new Error('recipe: via must be {stdinChunk}');
    r.via = { stdinChunk: via.stdinChunk };
  }
  if (typeof o.note === 'string') r.note = o.note;
  if (Array.isArray(o.mutators)) r.mutators = o.mutators.filter((x): x is string => typeof x === 'string');
  return r;
}

/** A failure's identity, so a bug found a thousand times is listed once. */
export function signature(kind: string, message: string, stack: string | null): string {
  const msg = message.replace(/\d+(\.\d+)?/g, '#').slice(0, 160);
  const frame = (stack ?? '')
    .split('\n')
    .slice(1)
    .find((l) => /[\\/](src|dist)[\\/]/.test(l));
  const where = frame ? frame.trim().replace(/^at /, '').replace(/:\d+\)?$/, '').replace(/.*[\\/](src|dist)[\\/]/, '') : '';
  return `${kind}: ${msg}${where ? ` @ ${where}` : ''}`;
}
