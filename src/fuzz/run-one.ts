import { writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { analyzeCaptures, type AnalysisResult } from '../analyze.js';
import { problemLine } from '../cli/problems.js';
import { DEFAULT_DETECT_OPTIONS } from '../detect/options.js';
import { renderIncidentReport } from '../report/incident-report.js';
import { renderJson } from '../report/json.js';
import { renderTable } from '../report/table.js';
import { DEFAULT_VIEW } from '../report/view.js';

/**
 * One fuzz input through everything a user runs: the reader, decode, tracking,
 * detection, the table and the JSON report, and the one-line problem messages.
 * Fails on an exception, on a run over its time budget, on heap growth beyond a
 * bound, and on output that breaks (JSON that does not parse, a table without its
 * capture line).
 */

export interface RunLimits {
  /** Wall time one input may take. */
  timeMs: number;
  /** Heap (and external memory) one input may grow by, beyond its own size. */
  heapBytes: number;
  /** Also render the Markdown and HTML incident reports (file inputs only). */
  incidentReports?: boolean;
}

export const DEFAULT_LIMITS: RunLimits = { timeMs: 2000, heapBytes: 64 * 1024 * 1024 };

export type FailureKind = 'exception' | 'timeout' | 'heap' | 'report' | 'crash';

export interface Failure {
  kind: FailureKind;
  message: string;
  stack: string | null;
}

/** What the analysis made of an input: the expectation a regression test stores. */
export interface OutcomeSummary {
  format: string | null;
  packets: number;
  error: { message: string; offset: number; packet: number } | null;
  warnings: number;
  tcp: number;
  icmpErrors: number;
  truncated: number;
  malformed: number;
  damagedPackets: number;
  /** What was wrong with the first damaged packet, and the first warning (damage included). */
  firstDamage: string | null;
  firstWarning: string | null;
  connections: number;
  findings: number;
}

export interface RunOutcome {
  failure: Failure | null;
  ms: number;
  /** Largest heap + external memory growth seen during the run, in bytes. */
  heapGrowth: number;
  summary: OutcomeSummary | null;
}

/** How the input reaches the reader: a file, or standard input in chunks of this many bytes. */
export type Via = 'file' | { stdinChunk: number };

function heapNow(): number {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

let gcFn: (() => void) | null | undefined;

/** A full garbage collection when the runtime lets us have one. */
export function collectGarbage(): boolean {
  if (gcFn === undefined) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === 'function') gcFn = g;
    else {
      try {
        setFlagsFromString('--expose-gc');
        const f: unknown = runInNewContext('gc');
        gcFn = typeof f === 'function' ? (f as () => void) : null;
      } catch {
        gcFn = null;
      }
    }
  }
  if (gcFn === null) return false;
  gcFn();
  return true;
}

export function summarize(r: AnalysisResult): OutcomeSummary {
  const c = r.captures[0]!;
  const e = c.errors[0] ?? null;
  const d = c.decode;
  return {
    format: c.format,
    packets: c.packets,
    error: e === null ? null : { message: e.message, offset: e.offset, packet: e.packet },
    warnings: c.warnings.length + c.warningsDropped,
    tcp: d.tcp,
    icmpErrors: d.icmpErrors,
    truncated: d.truncated,
    malformed: [...d.malformed.values()].reduce((a, b) => a + b, 0),
    damagedPackets: d.damagedPackets,
    firstDamage: d.damagedPackets ? `packet ${d.firstDamagedFrame} at ${d.firstDamagedOffset}: ${d.firstDamage}` : null,
    firstWarning: c.warnings[0] ? `packet ${c.warnings[0].packet} at ${c.warnings[0].offset}: ${c.warnings[0].message}` : null,
    connections: r.connections.length,
    findings: r.findings.length,
  };
}

function* chunks(b: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

function failure(kind: FailureKind, e: unknown): Failure {
  if (e instanceof Error) return { kind, message: `${e.name}: ${e.message}`, stack: e.stack ?? null };
  return { kind, message: String(e), stack: null };
}

/**
 * Run one input. `path` is where the input is written for file reads (a scratch file
 * the caller owns). The heap bound is checked on samples taken while the analysis
 * runs and once at its end with the result and both reports still alive; a sample
 * over the bound is confirmed after a full collection when one is available.
 */
export async function runInput(bytes: Buffer, path: string, via: Via = 'file', limits: RunLimits = DEFAULT_LIMITS): Promise<RunOutcome> {
  const before = heapNow();
  let peak = before;
  let n = 0;
  const onPacket = (): void => {
    if ((++n & 2047) === 0) {
      const h = heapNow();
      if (h > peak) peak = h;
    }
  };
  const started = performance.now();
  let result: AnalysisResult;
  let summary: OutcomeSummary | null = null;
  let table = '';
  let json = '';
  try {
    if (via === 'file') {
      writeFileSync(path, bytes);
      result = await analyzeCaptures([path], DEFAULT_DETECT_OPTIONS, undefined, { onPacket });
    } else {
      const stdin = Readable.from(chunks(bytes, Math.max(1, via.stdinChunk)), { objectMode: false });
      result = await analyzeCaptures(['-'], DEFAULT_DETECT_OPTIONS, stdin, { onPacket });
    }
    summary = summarize(result);
    table = renderTable(result);
    json = renderJson(result);
    if (limits.incidentReports && via === 'file') {
      for (const format of ['md', 'html'] as const) await renderIncidentReport(format, [path], DEFAULT_DETECT_OPTIONS, result, DEFAULT_VIEW);
    }
    for (const c of result.captures) {
      for (const w of c.warnings) problemLine(c.file, w, 'warning', c.compression !== null);
      for (const e of c.errors) problemLine(c.file, e, 'error', c.compression !== null);
    }
  } catch (e) {
    return { failure: failure('exception', e), ms: performance.now() - started, heapGrowth: Math.max(0, heapNow() - before), summary };
  }
  const ms = performance.now() - started;
  const atEnd = heapNow();
  if (atEnd > peak) peak = atEnd;
  let heapGrowth = peak - before;
  const bound = limits.heapBytes + bytes.length;
  if (heapGrowth > bound && collectGarbage()) {
    // Confirm: what is still held with the result and the reports alive.
    collectGarbage();
    heapGrowth = Math.min(heapGrowth, heapNow() - before);
  }
  let bad: Failure | null = null;
  try {
    const doc = JSON.parse(json) as { captures?: Array<{ packets?: unknown }> };
    if (!Array.isArray(doc.captures) || doc.captures.length !== 1 || doc.captures[0]!.packets !== result.captures[0]!.packets) {
      bad = { kind: 'report', message: 'JSON report lacks its capture or miscounts its packets', stack: null };
    }
  } catch (e) {
    bad = failure('report', e);
  }
  if (bad === null && !table.includes(`${result.captures[0]!.packets} packets`)) {
    bad = { kind: 'report', message: 'table report lacks its capture line', stack: null };
  }
  if (bad === null && ms > limits.timeMs) bad = { kind: 'timeout', message: `took ${ms.toFixed(0)} ms, over the ${limits.timeMs} ms budget`, stack: null };
  if (bad === null && heapGrowth > bound) {
    bad = { kind: 'heap', message: `heap grew by ${(heapGrowth / 1048576).toFixed(1)} MiB, over the ${(bound / 1048576).toFixed(1)} MiB bound`, stack: null };
  }
  return { failure: bad, ms, heapGrowth: Math.max(0, heapGrowth), summary };
}
