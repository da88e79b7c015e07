import { statSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { analyzeCaptures, type AnalysisResult } from '../analyze.js';
import { SEVERITIES, severityRank, type Finding, type Severity } from '../detect/finding.js';
import { analyzeShardedTo } from '../parallel/sharded.js';
import type { DetectOptions } from '../detect/options.js';
import { DEFAULT_REPORT_LIMITS } from '../report/incident.js';
import { renderIncidentReport } from '../report/incident-report.js';
import { writeJson } from '../report/json.js';
import { replayableInputs } from '../report/replay.js';
import { writeTable } from '../report/table.js';
import { makeView, type ViewOptions } from '../report/view.js';
import { addThresholdOptions, count, detectOptionsFrom, minSeverityOption, type ThresholdFlags } from './detect-options.js';
import { offloadFor } from './offload.js';
import { problemLine } from './problems.js';
import { StdoutBuffer, writeStdout, stdoutIsTty, stdoutColumns } from './stdout.js';

export const EXIT_OK = 0;
/** --fail-on matched a finding. */
export const EXIT_FINDINGS = 1;
export const EXIT_INPUT = 2;

interface AnalyzeOptions extends ThresholdFlags {
  format: 'table' | 'json' | 'md' | 'html';
  diagrams: number;
  diagramPackets: number;
  minSeverity: Severity;
  failOn?: Severity;
  strict?: boolean;
  host: string[];
  port: number[];
  threads?: number;
}

function port(v: string, prev: number[]): number[] {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return [...prev, n];
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v.replace(/^\[|\]$/g, '')];
}

export function analyzeCommand(done: (code: number) => void): Command {
  const cmd = new Command('analyze')
    .description('Reconstruct every TCP connection with both endpoints\' states and report lifecycle problems')
    .argument('<capture...>', 'pcap or pcapng files, optionally gzip-compressed; "-" reads standard input')
    .addOption(new Option('-f, --format <format>', 'output format; md and html: an incident report with ladder diagrams').choices(['table', 'json', 'md', 'html']).default('table'))
    .option('--diagrams <n>', 'md/html: ladder diagrams drawn at most (flagged connections, worst first)', count, DEFAULT_REPORT_LIMITS.diagrams)
    .option('--diagram-packets <n>', 'md/html: packets per diagram at most (the middle of long connections is left out)', count, DEFAULT_REPORT_LIMITS.packetsPerDiagram)
    .addOption(minSeverityOption())
    .addOption(new Option('--fail-on <severity>', 'exit with status 1 when a finding of this severity or worse exists (for CI)').choices([...SEVERITIES]))
    .option('--strict', 'any damage is fatal (exit 2): a malformed or truncated packet, an IP length lie, a reader warning')
    .option('--host <address>', 'only connections with an endpoint on this address (repeatable)', collect, [])
    .option('--port <port>', 'only connections with an endpoint on this port (repeatable)', port, [])
    .option(
      '--threads <n>',
      "1: all on one thread; n > 1: split the connections over n threads (json and table, files only; each reads the whole input, so it pays only with cores to spare). Default: for inputs of 16 MiB or more, Zeek's conn_state and history worked out on a second thread beside the analysis",
      count,
    );
  return addThresholdOptions(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ tcpsleuth analyze captures/close-wait-stuck.pcap
  $ tcpsleuth analyze --format json server.pcapng.gz > report.json
  $ tcpsleuth analyze --format html incident.pcap > incident.html
  $ tcpsleuth analyze ring.pcap*          # a tcpdump -C/-G set: merged in time order
  $ tcpdump -i any -w - 'tcp port 8080' | tcpsleuth analyze -
  $ tcpsleuth analyze --port 5432 --min-severity warning db.pcap
  $ tcpsleuth analyze --fail-on error nightly.pcap || echo "connection problems"
  $ tcpsleuth analyze --strict --format json upload.pcapng > report.json

Exit status: 0 when every capture was read to its end; 1 when --fail-on matched
a finding; 2 on a usage error or when a capture is missing, damaged or truncated
(what was read before the damage is still analysed and reported), and with
--strict when any packet is damaged or the reader warned.`,
    )
    .action(async (captures: string[], opts: AnalyzeOptions) => {
      done(await runAnalyze(captures, opts));
    });
}

/**
 * Threads for this run. Every thread reads every input, so only regular files can be
 * shared out: standard input, a pipe (`<(tcpdump ...)`) or a FIFO is read by one thread.
 */
function threadsFor(captures: string[], asked: number | undefined): number {
  const n = Math.max(1, asked ?? 1);
  if (n === 1) return 1;
  for (const c of captures) {
    try {
      if (c === '-' || !statSync(c).isFile()) return 1;
    } catch {
      return 1; // Missing or unreadable: the one-thread path reports it.
    }
  }
  return n;
}

async function runAnalyze(captures: string[], opts: AnalyzeOptions): Promise<number> {
  if (captures.filter((c) => c === '-').length > 1) {
    process.stderr.write('tcpsleuth: standard input ("-") can be read only once\n');
    return EXIT_INPUT;
  }
  const detect: DetectOptions = detectOptionsFrom(opts);
  const view: ViewOptions = { minSeverity: opts.minSeverity, hosts: opts.host, ports: opts.port };
  const report = opts.format === 'md' || opts.format === 'html' ? opts.format : null;
  // The reports read the captures twice (diagrams): standard input is kept in a temporary file.
  const inputs = report ? await replayableInputs(captures) : null;
  let result: AnalysisResult;
  /** The findings the view shows, when the sharded path already worked them out. */
  let shown: Finding[] | null = null;
  const width = stdoutIsTty ? Math.max(60, Math.min(stdoutColumns(100), 140)) : 100;
  const threads = report ? 1 : threadsFor(captures, opts.threads);
  try {
    if (threads > 1) {
      const format = opts.format === 'json' ? 'json' : 'table';
      const out = new StdoutBuffer();
      ({ result, shown } = await analyzeShardedTo(captures, detect, threads, format, view, width, out.write));
      out.flush();
    } else {
      const paths = inputs?.paths ?? captures;
      // Only the JSON report shows the tcp.analysis counters (the reports' diagrams read the captures again).
      result = await analyzeCaptures(paths, detect, undefined, { offload: opts.threads === undefined && offloadFor(paths), sequenceAnalysis: opts.format === 'json' });
    }
    inputs?.rename(result);
    if (shown !== null) {
      // Written already, by the sharded analysis.
    } else if (report && inputs) {
      const limits = { ...DEFAULT_REPORT_LIMITS, diagrams: opts.diagrams, packetsPerDiagram: opts.diagramPackets };
      writeStdout(await renderIncidentReport(report, inputs.paths, detect, result, view, limits));
    } else {
      const out = new StdoutBuffer();
      if (opts.format === 'json') writeJson(result, view, out.write);
      else writeTable(result, view, width, out.write);
      out.flush();
    }
  } finally {
    inputs?.cleanup();
  }
  let code = EXIT_OK;
  if (opts.failOn) {
    const min = severityRank(opts.failOn);
    if ((shown ?? makeView(result, view).findings).some((f) => severityRank(f.severity) >= min)) code = EXIT_FINDINGS;
  }
  for (const c of result.captures) {
    for (const w of c.warnings) process.stderr.write(`${problemLine(c.file, w, 'warning', c.compression !== null)}\n`);
    if (c.warningsDropped) process.stderr.write(`tcpsleuth: warning: ${c.file}: ${c.warningsDropped} more warnings not shown\n`);
    for (const e of c.errors) {
      process.stderr.write(`${problemLine(c.file, e, 'error', c.compression !== null)}\n`);
      code = EXIT_INPUT;
    }
    // --strict: the first damaged packet or reader warning (they are kept in file order) ends it.
    const first = c.warnings[0];
    if (opts.strict && first !== undefined) {
      const total = c.warnings.length + c.warningsDropped;
      const message = `damage is fatal with --strict${total > 1 ? `, the first of ${total} problems` : ''}: ${first.message}`;
      process.stderr.write(`${problemLine(c.file, { ...first, message }, 'error', c.compression !== null)}\n`);
      code = EXIT_INPUT;
    }
  }
  return code;
}
