/**
 * A short, fixed-seed fuzz run inside the test suite (the long runs are `npm run fuzz`):
 * mutants of captures/ and the corpus go through the reader, the whole analysis and
 * both reports in this process; any exception, run over its budget, heap growth over
 * the bound or broken report fails the test with the recipe that makes it again.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyEdits, parseEdits, type Edit } from '../src/fuzz/edits.js';
import { CaseGenerator, findSources, loadSource, materialize, parseRecipe, recipeOf, type Source } from '../src/fuzz/engine.js';
import { Rng } from '../src/fuzz/rng.js';
import { DEFAULT_LIMITS, runInput } from '../src/fuzz/run-one.js';
import { CAPTURES, HAVE_CORPUS, REPO } from './helpers/env.js';

const SEED = 20261123;
/** Mutants per test run: about ten seconds. */
const INPUTS = 3000;

const dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-fuzz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sources: Source[] = findSources().map(loadSource);

describe('fuzz harness', () => {
  it('finds the sources: every capture in captures/ and captures/tunnel/, and the corpus when it is there', () => {
    // captures/tunnel/ too: the tunnel decoders are fuzzed from real encapsulations.
    const own = [...readdirSync(CAPTURES), ...readdirSync(join(CAPTURES, 'tunnel')).map((f) => `tunnel/${f}`)].filter((f) => f.endsWith('.pcap'));
    expect(sources.filter((s) => s.ref.root === 'captures').map((s) => s.ref.file).sort()).toEqual(own.sort());
    if (HAVE_CORPUS) expect(sources.filter((s) => s.ref.root === 'corpus').length).toBeGreaterThan(300);
    // The layouts found the structure the mutators lie about.
    const cw = sources.find((s) => s.ref.file === 'close-wait-stuck.pcap')!;
    expect(cw.layout.format).toBe('pcap');
    expect(cw.layout.units.filter((u) => u.kind === 'record')).toHaveLength(15);
    expect(cw.layout.frames.every((f) => f.l4Kind === 'tcp')).toBe(true);
  });

  it('is deterministic for a seed: the same cases, edit for edit', () => {
    const a = new CaseGenerator(7, sources);
    const b = new CaseGenerator(7, sources);
    const c = new CaseGenerator(8, sources);
    const take = (g: CaseGenerator): string[] => Array.from({ length: 300 }, () => JSON.stringify(recipeOf(g.generate())));
    const fromA = take(a);
    expect(take(b)).toEqual(fromA);
    expect(take(c)).not.toEqual(fromA);
  });

  it('the seeded PRNG is the same everywhere (sfc32 seeded by splitmix32), and uniform enough', () => {
    const r = new Rng(1);
    expect([r.u32(), r.u32(), r.u32()]).toEqual([1828152527, 3394835397, 2967886022]);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 10000; i++) counts[r.int(10)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(850);
  });

  it('edits apply to any buffer (positions are clamped), and recipes are checked when read', () => {
    const edits: Edit[] = [
      { op: 'set', at: 1000, hex: 'ff' },
      { op: 'xor', at: -1, mask: 1 },
      { op: 'insert', at: 99, hex: '0102' },
      { op: 'remove', at: 0, length: 999 },
      { op: 'copy', from: 5, length: 100, to: 50 },
      { op: 'truncate', length: 10 },
      { op: 'append', hex: 'aa' },
    ];
    expect(applyEdits(Buffer.from([1, 2, 3]), edits)).toEqual(Buffer.from([0xaa]));
    expect(applyEdits(Buffer.alloc(0), edits)).toEqual(Buffer.from([0xaa]));
    expect(applyEdits(Buffer.from('abcdef'), [{ op: 'copy', from: 1, length: 2, to: 4 }]).toString()).toBe('abcdbcef');
    expect(() => parseEdits([{ op: 'set', at: 1, hex: 'xyz' }])).toThrow(/hex/);
    expect(() => parseEdits([{ op: 'launch' }])).toThrow(/unknown op/);
    expect(() => parseRecipe({ source: { root: 'corpus', file: '../../etc/passwd' }, edits: [] })).toThrow(/source/);
  });

  it('flags a run over its time budget and heap growth over its bound', async () => {
    const cw = sources.find((s) => s.ref.file === 'close-wait-stuck.pcap')!;
    const slow = await runInput(cw.bytes, join(dir, 'slow'), 'file', { timeMs: 0, heapBytes: DEFAULT_LIMITS.heapBytes });
    expect(slow.failure?.kind).toBe('timeout');
    const big = await runInput(cw.bytes, join(dir, 'big'), 'file', { timeMs: 60_000, heapBytes: -1e12 });
    expect(big.failure?.kind).toBe('heap');
    const ok = await runInput(cw.bytes, join(dir, 'ok'), { stdinChunk: 7 });
    expect(ok.failure).toBeNull();
    expect(ok.summary).toMatchObject({ format: 'pcap-us', packets: 15, error: null, connections: 1, findings: 1 });
  });

  it(`${INPUTS} mutants (seed ${SEED}): no exception, hang, balloon or broken report`, async () => {
    const gen = new CaseGenerator(SEED, sources);
    const failures: string[] = [];
    const byName = new Map(sources.map((s) => [`${s.ref.root}:${s.ref.file}`, s]));
    let errors = 0;
    let slowest = 0;
    const started = performance.now();
    for (let i = 0; i < INPUTS; i++) {
      const c = gen.generate();
      const input = materialize(byName.get(`${c.source.root}:${c.source.file}`)!.bytes, c.edits);
      // Generous budget: other suites share the machine; a hang or a quadratic path still shows.
      const o = await runInput(input, join(dir, 'input'), c.via, { timeMs: 5000, heapBytes: DEFAULT_LIMITS.heapBytes });
      if (o.ms > slowest) slowest = o.ms;
      if (o.summary?.error) errors++;
      if (o.failure) failures.push(`${o.failure.kind}: ${o.failure.message}\n  recipe: ${JSON.stringify(recipeOf(c))}\n  ${o.failure.stack ?? ''}`);
    }
    const secs = (performance.now() - started) / 1000;
    console.log(`fuzz test: ${INPUTS} inputs in ${secs.toFixed(1)} s (${(INPUTS / secs).toFixed(0)}/s), ${errors} ended by a capture error, slowest ${slowest.toFixed(0)} ms`);
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
    // The mutants are hostile, not all broken: both outcomes occur.
    expect(errors).toBeGreaterThan(INPUTS / 10);
    expect(errors).toBeLessThan(INPUTS * 0.9);
  }, 180_000);

  const main = join(REPO, 'dist', 'fuzz', 'main.js');
  it.skipIf(!existsSync(main))('npm run fuzz: the worker-thread harness runs, prints its figures, exits 0, leaves no scratch file', async () => {
    const out = join(dir, 'cli-out');
    const tmp = mkdtempSync(join(dir, 'tmpdir-'));
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--expose-gc', main, '--seconds', '3', '--seed', '5', '--out', out], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp } }, (err, stdout) => {
        resolve({ code: err && typeof err.code === 'number' ? err.code : 0, stdout });
      });
    });
    expect(r.stdout).toMatch(/^fuzz: seed 5: \d+ inputs in [\d.]+ s, [\d.]+ inputs\/s, .* 0 failures \(0 distinct\)$/m);
    expect(r.stdout).toMatch(/read to the end \d+, ended by a capture error \d+; slowest input \d+ ms/);
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);

  it.skipIf(!existsSync(main))('npm run fuzz -- --self-test: a worker that hangs, balloons or throws is caught and replaced, and no scratch file is left', async () => {
    // Its own temporary directory: the killed workers' scratch must not stay behind in it.
    const tmp = mkdtempSync(join(dir, 'tmpdir-'));
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--expose-gc', main, '--self-test'], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp } }, (err, stdout) => {
        resolve({ code: err && typeof err.code === 'number' ? err.code : 0, stdout });
      });
    });
    expect(readdirSync(tmp)).toEqual([]);
    expect(r.stdout).toMatch(/^self-test: hang: caught \(timeout: /m);
    expect(r.stdout).toMatch(/^self-test: balloon: caught \(crash: worker died: ERR_WORKER_OUT_OF_MEMORY/m);
    expect(r.stdout).toMatch(/^self-test: throw: caught \(crash: /m);
    expect(r.stdout).toMatch(/^self-test: a fresh worker then runs a case: ok; 3 worker restarts$/m);
    expect(r.code).toBe(0);
  }, 60_000);

  it('the regression recipes are all valid recipes', () => {
    const fx = join(REPO, 'test', 'fixtures', 'fuzz');
    for (const f of readdirSync(fx).filter((n) => n.endsWith('.json'))) {
      expect(() => parseRecipe(JSON.parse(readFileSync(join(fx, f), 'utf8'))), f).not.toThrow();
    }
  });
});
