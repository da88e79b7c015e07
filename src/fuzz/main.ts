import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  CaseGenerator,
  findSources,
  loadSource,
  materialize,
  parseRecipe,
  recipeOf,
  signature,
  sourcePath,
  type FuzzCase,
  type Source,
} from './engine.js';
import { DEFAULT_LIMITS, runInput, type RunLimits, type RunOutcome } from './run-one.js';
import type { WorkerData, WorkerRequest, WorkerResponse } from './worker.js';

/**
 * npm run fuzz [-- --seconds N] [--seed S] [--max-inputs N] [--budget-ms MS] [--heap-mib N]
 *              [--out DIR] [--match TEXT] [--incident-reports] [--in-process]
 * npm run fuzz -- --replay recipe.json... [--write-expect]   (run recipes; store their outcome as "expect")
 * npm run fuzz -- --self-test   (a hanging, a ballooning and a throwing worker are caught)
 *
 * Mutates the captures in captures/ and ../shared/corpus and runs each mutant through
 * the reader, the whole analysis and both reports, in a worker thread that is killed
 * when an input hangs. Fails on an uncaught exception, a run over its time budget,
 * heap growth beyond the bound, or a broken report. Prints the figures; failing
 * inputs are written as recipes (source + edits) to the output directory.
 * TCPSLEUTH_CORPUS names another corpus directory than ../shared/corpus.
 */

interface Args {
  seconds: number;
  seed: number;
  maxInputs: number;
  limits: RunLimits;
  out: string | null;
  match: string | null;
  inProcess: boolean;
  replay: string[];
  /** --replay: store each outcome in its recipe as the expectation ("expect"). */
  writeExpect: boolean;
  selfTest: boolean;
}

function usage(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\nusage: node dist/fuzz/main.js [--seconds N] [--seed S] [--max-inputs N] [--budget-ms MS] [--heap-mib N] [--out DIR] [--match TEXT] [--incident-reports] [--in-process] | --replay RECIPE.json... [--write-expect] | --self-test\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    seconds: 60,
    seed: (Date.now() ^ (process.pid << 16)) >>> 0,
    maxInputs: Infinity,
    limits: { ...DEFAULT_LIMITS },
    out: null,
    match: null,
    inProcess: false,
    replay: [],
    writeExpect: false,
    selfTest: false,
  };
  const num = (v: string | undefined, name: string): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) usage(`${name} needs a non-negative number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    switch (k) {
      case '--seconds':
        a.seconds = num(argv[++i], k);
        break;
      case '--seed':
        a.seed = num(argv[++i], k) >>> 0;
        break;
      case '--max-inputs':
        a.maxInputs = num(argv[++i], k);
        break;
      case '--budget-ms':
        a.limits.timeMs = num(argv[++i], k);
        break;
      case '--heap-mib':
        a.limits.heapBytes = num(argv[++i], k) * 1024 * 1024;
        break;
      case '--out':
        a.out = argv[++i] ?? usage('--out needs a directory');
        break;
      case '--match':
        a.match = argv[++i] ?? usage('--match needs text');
        break;
      case '--incident-reports':
        a.limits.incidentReports = true;
        break;
      case '--in-process':
        a.inProcess = true;
        break;
      case '--self-test':
        a.selfTest = true;
        break;
      case '--write-expect':
        a.writeExpect = true;
        break;
      case '--replay':
        while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) a.replay.push(argv[++i]!);
        break;
      case '--help':
      case '-h':
        usage('help');
        break;
      default:
        usage(`unknown argument ${k}`);
    }
  }
  return a;
}

interface Ran {
  outcome: RunOutcome;
  bytes: number;
}

/** Runs cases in a worker thread; a case that does not answer in time gets the worker killed. */
class Supervisor {
  private worker: Worker | null = null;
  /** The workers' scratch directory, made and removed here: a worker killed for hanging cleans up nothing. */
  private readonly dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-fuzz-'));
  private settle: ((r: { kind: 'done'; res: WorkerResponse } | { kind: 'gone'; why: string }) => void) | null = null;
  restarts = 0;

  constructor(
    private readonly limits: RunLimits,
    /** The worker's old-generation heap limit: a hard stop for a heap that balloons faster than the per-input check can see. */
    private readonly maxOldMb = 1536,
  ) {
    // Also when the run ends some other way (an exception, process.exit).
    process.once('exit', () => rmSync(this.dir, { recursive: true, force: true }));
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { limits: this.limits, dir: this.dir } satisfies WorkerData,
      resourceLimits: { maxOldGenerationSizeMb: this.maxOldMb },
      stdout: false,
      stderr: false,
    });
    w.on('message', (res: WorkerResponse) => this.settle?.({ kind: 'done', res }));
    w.on('error', (e: Error) => this.settle?.({ kind: 'gone', why: `worker died: ${(e as NodeJS.ErrnoException).code ?? e.name}: ${e.message}` }));
    w.on('exit', (code) => this.settle?.({ kind: 'gone', why: `worker exited with code ${code}` }));
    return w;
  }

  async run(c: FuzzCase, misbehave?: WorkerRequest['misbehave']): Promise<Ran> {
    this.worker ??= this.spawn();
    const w = this.worker;
    // Hard limit: well past the budget the worker checks itself, so only a real hang hits it.
    const hardMs = this.limits.timeMs * 2 + 3000;
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    const r = await new Promise<{ kind: 'done'; res: WorkerResponse } | { kind: 'gone'; why: string } | { kind: 'hang' }>((resolveRun) => {
      this.settle = resolveRun;
      timer = setTimeout(() => resolveRun({ kind: 'hang' }), hardMs);
      const req: WorkerRequest = misbehave ? { case: c, misbehave } : { case: c };
      w.postMessage(req);
    });
    clearTimeout(timer);
    this.settle = null;
    if (r.kind === 'done') return { outcome: r.res.outcome, bytes: r.res.bytes };
    this.worker = null;
    this.restarts++;
    await w.terminate().catch(() => undefined);
    const ms = performance.now() - started;
    if (r.kind === 'hang') {
      return { outcome: { failure: { kind: 'timeout', message: `no answer after ${hardMs} ms: a hang`, stack: null }, ms, heapGrowth: 0, summary: null }, bytes: -1 };
    }
    return { outcome: { failure: { kind: 'crash', message: r.why, stack: null }, ms, heapGrowth: 0, summary: null }, bytes: -1 };
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs cases in this process (no protection against hangs): --in-process. */
class InProcess {
  private readonly dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-fuzz-'));
  private readonly cache = new Map<string, Source>();
  restarts = 0;

  constructor(private readonly limits: RunLimits) {}

  async run(c: FuzzCase): Promise<Ran> {
    const key = `${c.source.root}:${c.source.file}`;
    let src = this.cache.get(key);
    if (src === undefined) {
      src = loadSource(c.source);
      this.cache.set(key, src);
    }
    const input = materialize(src.bytes, c.edits);
    return { outcome: await runInput(input, join(this.dir, 'input'), c.via, this.limits), bytes: input.length };
  }

  async close(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

type Runner = Supervisor | InProcess;

function sigOf(o: RunOutcome): string {
  return o.failure ? signature(o.failure.kind, o.failure.message, o.failure.stack) : '';
}

/** Drop edits (and stdin) while the same failure remains: a smaller recipe to read and keep. */
async function minimize(runner: Runner, c: FuzzCase, sig: string): Promise<FuzzCase> {
  let best = c;
  if (best.via !== 'file') {
    const t: FuzzCase = { ...best, via: 'file' };
    if (sigOf((await runner.run(t)).outcome) === sig) best = t;
  }
  for (let i = best.edits.length - 1; i >= 0 && best.edits.length > 1; i--) {
    const t: FuzzCase = { ...best, edits: best.edits.filter((_, j) => j !== i) };
    if (sigOf((await runner.run(t)).outcome) === sig) best = t;
  }
  return best;
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

async function replay(files: string[], limits: RunLimits, writeExpect: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-fuzz-replay-'));
  let bad = 0;
  try {
    for (const f of files) {
      const raw = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
      const recipe = parseRecipe(raw);
      const src = loadSource(recipe.source);
      const input = materialize(src.bytes, recipe.edits);
      const o = await runInput(input, join(dir, 'input'), recipe.via ?? 'file', limits);
      if (o.failure) bad++;
      else if (writeExpect && o.summary) writeFileSync(f, `${JSON.stringify({ ...raw, expect: o.summary }, null, 2)}\n`);
      process.stdout.write(`${JSON.stringify({ recipe: f, bytes: input.length, ms: Math.round(o.ms), failure: o.failure, summary: o.summary })}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return bad ? 1 : 0;
}

/** --self-test: a worker that hangs, one that balloons and one that throws are each caught and replaced. */
async function selfTest(limits: RunLimits): Promise<number> {
  const sup = new Supervisor({ ...limits, timeMs: Math.min(limits.timeMs, 1000) }, 256);
  const c: FuzzCase = { id: 0, source: { root: 'captures', file: 'close-wait-stuck.pcap' }, names: [], edits: [], via: 'file' };
  let bad = 0;
  for (const [how, want] of [['hang', 'timeout'], ['balloon', 'crash'], ['throw', 'crash']] as const) {
    const { outcome } = await sup.run(c, how);
    const ok = outcome.failure?.kind === want;
    if (!ok) bad++;
    process.stdout.write(`self-test: ${how}: ${ok ? 'caught' : 'MISSED'} (${outcome.failure?.kind ?? 'no failure'}: ${outcome.failure?.message ?? ''}, ${outcome.ms.toFixed(0)} ms)\n`);
  }
  const after = await sup.run(c);
  if (after.outcome.failure !== null) bad++;
  process.stdout.write(`self-test: a fresh worker then runs a case: ${after.outcome.failure === null ? 'ok' : 'FAILED'}; ${sup.restarts} worker restarts\n`);
  await sup.close();
  return bad ? 1 : 0;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.replay.length) return replay(args.replay, args.limits, args.writeExpect);
  if (args.selfTest) return selfTest(args.limits);

  let refs = findSources();
  if (args.match !== null) refs = refs.filter((r) => `${r.root}/${r.file}`.includes(args.match!));
  const sources: Source[] = [];
  for (const ref of refs) {
    try {
      sources.push(loadSource(ref));
    } catch (e) {
      process.stderr.write(`fuzz: skipping ${sourcePath(ref)}: ${(e as Error).message}\n`);
    }
  }
  if (sources.length === 0) usage('no source captures found (captures/ or ../shared/corpus)');
  const gen = new CaseGenerator(args.seed, sources);
  const out = resolve(args.out ?? join(tmpdir(), `tcpsleuth-fuzz-seed-${args.seed}`));
  const runner: Runner = args.inProcess ? new InProcess(args.limits) : new Supervisor(args.limits);
  process.stdout.write(
    `fuzz: seed ${args.seed}, ${args.seconds} s, ${sources.length} sources (${sources.filter((s) => s.ref.root === 'corpus').length} from the corpus), budget ${args.limits.timeMs} ms and ${mib(args.limits.heapBytes)} per input${args.inProcess ? ', in process' : ''}\n`,
  );

  const started = performance.now();
  const deadline = started + args.seconds * 1000;
  let tried = 0;
  let failures = 0;
  let readFully = 0;
  let errored = 0;
  let slowest = 0;
  let slowestCase = '';
  let maxHeap = 0;
  let bytesTotal = 0;
  const unique = new Map<string, { count: number; file: string }>();
  const mutatorUse = new Map<string, number>();
  let lastReport = started;
  while (performance.now() < deadline && tried < args.maxInputs) {
    const c = gen.generate();
    const { outcome, bytes } = await runner.run(c);
    tried++;
    if (bytes > 0) bytesTotal += bytes;
    for (const n of c.names) mutatorUse.set(n, (mutatorUse.get(n) ?? 0) + 1);
    if (outcome.summary !== null) {
      if (outcome.summary.error === null) readFully++;
      else errored++;
    }
    if (outcome.ms > slowest) {
      slowest = outcome.ms;
      slowestCase = `${c.source.root}/${c.source.file} #${c.id}`;
    }
    if (outcome.heapGrowth > maxHeap) maxHeap = outcome.heapGrowth;
    if (outcome.failure) {
      failures++;
      const sig = sigOf(outcome);
      const seen = unique.get(sig);
      if (seen) seen.count++;
      else {
        const small = await minimize(runner, c, sig);
        mkdirSync(out, { recursive: true });
        const file = join(out, `failure-${unique.size + 1}.json`);
        writeFileSync(file, `${JSON.stringify({ ...recipeOf(small, sig), failure: outcome.failure, seed: args.seed, case: c.id }, null, 2)}\n`);
        unique.set(sig, { count: 1, file });
        process.stdout.write(`FAIL #${c.id} ${sig}\n  source ${c.source.root}/${c.source.file}, mutators ${c.names.join('+')}; recipe: ${file}\n`);
      }
    }
    const now = performance.now();
    if (now - lastReport >= 10_000) {
      lastReport = now;
      process.stdout.write(`  ${((now - started) / 1000).toFixed(0)} s: ${tried} inputs, ${failures} failures, ${(tried / ((now - started) / 1000)).toFixed(1)} inputs/s\n`);
    }
  }
  await runner.close();
  const secs = (performance.now() - started) / 1000;
  const uses = [...mutatorUse].sort((a, b) => b[1] - a[1]).map(([n, k]) => `${n} ${k}`).join(', ');
  process.stdout.write(
    [
      `fuzz: seed ${args.seed}: ${tried} inputs in ${secs.toFixed(1)} s, ${(tried / secs).toFixed(1)} inputs/s, ${mib(bytesTotal)} read; ${failures} failures (${unique.size} distinct)${runner.restarts ? `, ${runner.restarts} worker restarts` : ''}`,
      `  read to the end ${readFully}, ended by a capture error ${errored}; slowest input ${slowest.toFixed(0)} ms (${slowestCase}); largest heap growth ${mib(maxHeap)}`,
      `  mutators: ${uses}`,
      ...[...unique].map(([sig, u]) => `  ${u.count} x ${sig}  (${u.file})`),
    ].join('\n') + '\n',
  );
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(2);
  },
);
