import { Worker } from 'node:worker_threads';
import { parsePacketFilter } from '../decode/packet-filter.js';
import { analyzeShard, type AnalysisResult, type Shard } from '../analyze.js';
import { severityRank, type Finding } from '../detect/finding.js';
import { DETECTORS, detectorOf } from '../detect/registry.js';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_LISTED_CONNECTIONS, type DetectOptions } from '../detect/options.js';
import { connectionLine, writeJsonDocument } from '../report/json.js';
import { findingsByConnection, tableRow, writeTableDocument, type TableOptions, type TableRow } from '../report/table.js';
import { keepConnection, viewFindings, windowOf, withKinds, type ViewOptions, type Window } from '../report/view.js';
import type { Connection } from '../track/connection.js';

/**
 * The analysis split by connection over threads. Each thread reads and decodes the
 * whole input (reading is cheap next to tracking: bench/README) and tracks the
 * connections whose 4-tuple hashes to its shard; both directions hash alike and an
 * ICMP error goes with the segment it quotes, so a connection never spans shards.
 *
 * Two phases, because connections are numbered in order of first frame across all
 * shards: (1) every shard analyses and reports the ordinals of the connections it
 * opened and its findings; the main thread numbers all connections; (2) every shard
 * renumbers its own and renders them (JSON lines or table rows), which is what is
 * handed back: strings copy fast, object graphs do not. The document is the one a
 * single thread writes whenever no memory bound was reached (test/parallel.test.ts).
 */

/** What a worker is given. */
export interface ShardJob {
  inputs: string[];
  options: DetectOptions;
  shard: Shard;
  /** Only the JSON shows the sequence analysis' counters. */
  sequenceAnalysis: boolean;
  /** The capture-filter expression, parsed again in the thread. */
  expression: string | null;
}

/** Phase 1's report. */
export interface Analyzed {
  /** Ordinal of every connection the shard opened, listed or not, in order (its ids are index*count+shard+1). */
  openedAt: Float64Array;
  /** Ordinal of each connection that began a Wireshark stream, in order (a connection's provisional stream indexes it). */
  streamOpenedAt: Float64Array;
  findings: Finding[];
  unmatchedIcmp: number;
  evicted: number;
  unlisted: Record<string, number>;
}

/** Phase 2's request: the final id of each connection the shard opened, and what to render. */
export interface RenderRequest {
  ids: Int32Array;
  /** The final tcp.stream of each provisional one. */
  streams: Int32Array;
  format: 'json' | 'table';
  /** --since and --until as epoch seconds. */
  window: Window | null;
  view: ViewOptions;
  end: AnalysisResult['end'];
  multi: boolean;
}

/** Phase 2's answer: the connections the view keeps, in id order. */
export interface Rendered {
  ids: Int32Array;
  /** Each kept connection's tcp.stream, beside ids. */
  streams: Int32Array;
  /** Connections the shard listed, kept or not. */
  listed: number;
  lines: string[];
  rows: TableRow[];
}

export function analyzedOf(result: AnalysisResult, openedAt: number[], streamOpenedAt: number[]): Analyzed {
  return {
    openedAt: Float64Array.from(openedAt),
    streamOpenedAt: Float64Array.from(streamOpenedAt),
    findings: result.findings,
    unmatchedIcmp: result.unmatchedIcmp,
    evicted: result.tracking.evicted,
    unlisted: result.tracking.unlisted,
  };
}

/** Phase 2 in one shard: give its connections their final ids, keep what the view shows, render them. */
export function renderShard(connections: Connection[], findings: readonly Finding[], count: number, req: RenderRequest): Rendered {
  const finalId = (provisional: number): number => (provisional > 0 ? (req.ids[Math.floor((provisional - 1) / count)] ?? 0) : 0);
  // Findings per connection as the view counts them (findings still carry provisional ids here).
  const min = severityRank(req.view.minSeverity);
  const kinds = req.view.kinds?.length ? req.view.kinds : null;
  const shown = findingsByConnection(findings.filter((f) => severityRank(f.severity) >= min && (kinds === null || kinds.includes(f.kind))));
  const flagged = withKinds(findings, req.view);
  const out: Rendered = { ids: new Int32Array(connections.length), streams: new Int32Array(connections.length), listed: connections.length, lines: [], rows: [] };
  let n = 0;
  for (const c of connections) {
    const findingsShown = shown.get(c.id) ?? [];
    const wanted = flagged === null || flagged.has(c.id);
    c.id = finalId(c.id);
    c.previousId = finalId(c.previousId);
    c.stream = req.streams[c.stream] ?? -1;
    if (!wanted || !keepConnection(c, req.view, req.window)) continue;
    out.streams[n] = c.stream;
    out.ids[n++] = c.id;
    if (req.format === 'json') out.lines.push(flat(connectionLine(c, req.end)));
    else out.rows.push(tableRow(c, findingsShown, req.end, req.multi));
  }
  out.ids = out.ids.slice(0, n);
  out.streams = out.streams.slice(0, n);
  return out;
}

/** A worker thread running one shard through both phases. */
class ShardThread {
  private readonly worker: Worker;
  /** Those waiting for the worker's next message, in order. */
  private readonly waiting: { resolve: (m: unknown) => void; reject: (e: Error) => void }[] = [];
  readonly analyzed: Promise<Analyzed>;

  constructor(job: ShardJob) {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
    this.worker.on('message', (m: unknown) => this.waiting.shift()?.resolve(m));
    // A worker error is a bug (bad input is reported in the result): it fails the run.
    const fail = (e: Error): void => {
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    this.worker.once('error', fail);
    this.worker.once('exit', (code) => fail(new Error(`analysis thread ${job.shard.index} ended (code ${code}) before its work was done`)));
    this.analyzed = this.next<Analyzed>();
    // Awaited only once the main thread's own shard is done: until then a failure must not count as unhandled.
    this.analyzed.catch(() => undefined);
  }

  private next<T>(): Promise<T> {
    return new Promise<T>((resolve, reject) => this.waiting.push({ resolve: (m) => resolve(m as T), reject }));
  }

  render(req: RenderRequest): Promise<Rendered> {
    const rendered = this.next<Rendered>();
    this.worker.postMessage(req);
    return rendered;
  }

  async stop(): Promise<void> {
    this.waiting.length = 0;
    await this.worker.terminate();
  }
}

export interface ShardedOutput {
  /** The analysis without its connections (they went straight into the document). */
  result: AnalysisResult;
  /** The findings the view shows (for --fail-on). */
  shown: Finding[];
}

/**
 * Analyse `inputs` (regular files: every thread reads them) over `threads` threads
 * and write the document (`format`, filtered by `view`) through `write`.
 */
export async function analyzeShardedTo(
  inputs: string[],
  options: DetectOptions,
  threads: number,
  format: 'json' | 'table',
  view: ViewOptions,
  table: TableOptions,
  expression: string | null,
  write: (chunk: string) => void,
): Promise<ShardedOutput> {
  const count = Math.max(1, Math.floor(threads));
  const others: ShardThread[] = [];
  try {
    const sequenceAnalysis = format === 'json';
    for (let index = 1; index < count; index++) others.push(new ShardThread({ inputs, options, shard: { index, count }, sequenceAnalysis, expression }));
    const own = await analyzeShard(inputs, options, { index: 0, count }, sequenceAnalysis, expression === null ? null : parsePacketFilter(expression));
    const analyzed = [analyzedOf(own.result, own.openedAt, own.streamOpenedAt), ...(await Promise.all(others.map((t) => t.analyzed)))];

    // Number every connection by the rank of its first frame among all that were opened, and every stream likewise.
    const ids = ranks(analyzed.map((a) => a.openedAt)).map((r) => r.map((x) => x + 1));
    const streams = ranks(analyzed.map((a) => a.streamOpenedAt));
    const end = own.result.end;
    const multi = own.result.captures.length > 1;
    const request = (s: number): RenderRequest => ({ ids: Int32Array.from(ids[s]!), streams: streams[s]!, format, view, window: windowOf(own.result, view), end, multi });
    const renders = others.map((t, i) => t.render(request(i + 1)));
    const mine = renderShard(own.result.connections, own.result.findings, count, request(0));
    const rendered = [mine, ...(await Promise.all(renders))];

    // Findings: final ids, the cross-shard count, the single thread's order.
    const findings: Finding[] = [];
    analyzed.forEach((a, s) => {
      const finalId = (p: number): number => (p > 0 ? (ids[s]![Math.floor((p - 1) / count)] ?? 0) : 0);
      for (const f of a.findings) {
        f.connection = finalId(f.connection);
        f.stream = streams[s]![f.stream] ?? -1;
        detectorOf(f.kind).renumber?.(f, finalId);
        findings.push(f);
      }
    });
    const order = (f: Finding): number => f.sec + f.nsec / 1e9;
    findings.sort((a, b) => order(a) - order(b) || a.connection - b.connection);
    for (const d of DETECTORS) d.recount?.(findings);

    const unlisted: Record<string, number> = {};
    for (const a of analyzed) for (const [state, n] of Object.entries(a.unlisted)) unlisted[state] = (unlisted[state] ?? 0) + n;
    const result: AnalysisResult = {
      ...own.result,
      connections: [],
      findings,
      unmatchedIcmp: analyzed.reduce((n, a) => n + a.unmatchedIcmp, 0),
      tracking: {
        maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
        evicted: analyzed.reduce((n, a) => n + a.evicted, 0),
        maxListedConnections: options.maxListedConnections ?? DEFAULT_MAX_LISTED_CONNECTIONS,
        unlisted,
      },
    };
    const order2 = mergeOrder(rendered);
    const kept = new Set<number>();
    for (const r of rendered) for (const id of r.ids) kept.add(id);
    const shown = viewFindings(findings, kept, view);
    if (format === 'json') writeJsonDocument(result, order2.map(([s, i]) => rendered[s]!.lines[i]!), shown, write);
    else {
      const listed = rendered.reduce((n, x) => n + x.listed, 0);
      writeTableDocument(result, order2.map(([s, i]) => rendered[s]!.rows[i]!), shown, findings, listed - kept.size, view, table, write);
    }
    return { result, shown };
  } finally {
    await Promise.all(others.map((t) => t.stop()));
  }
}

/** Each list's ordinals as 0-based ranks among all the lists' ordinals. */
function ranks(lists: Float64Array[]): Int32Array[] {
  const all = new Float64Array(lists.reduce((n, a) => n + a.length, 0));
  let k = 0;
  for (const a of lists) {
    all.set(a, k);
    k += a.length;
  }
  all.sort();
  return lists.map((a) => Int32Array.from(a, (o) => rankOf(all, o) - 1));
}

/** 1-based rank of `ordinal` in the sorted `all`. */
function rankOf(all: Float64Array, ordinal: number): number {
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (all[mid]! < ordinal) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/** [shard, index] of every rendered connection, in id order (each shard's list is already in order). */
function mergeOrder(rendered: Rendered[]): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < rendered.length; s++) for (let i = 0; i < rendered[s]!.ids.length; i++) out.push([s, i]);
  return out.sort((a, b) => rendered[a[0]]!.ids[a[1]]! - rendered[b[0]]!.ids[b[1]]!);
}

/**
 * A string built by many concatenations is a tree of pieces in V8 until something
 * reads it; lines kept until the document is written are made flat first (reading a
 * character does it), or the pieces would take several times the line's size.
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}
