import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { analyzeCaptures, type AnalysisResult } from '../analyze.js';
import { FilterSyntaxError, parsePacketFilter, type PacketFilter } from '../decode/packet-filter.js';
import { SEVERITIES, severityRank, type Finding, type FindingKind, type Severity } from '../detect/finding.js';
import { FINDING_KINDS } from '../detect/registry.js';
import { analyzeShardedTo } from '../parallel/sharded.js';
import type { DetectOptions } from '../detect/options.js';
import { DEFAULT_REPORT_LIMITS } from '../report/incident.js';
import { renderIncidentReport } from '../report/incident-report.js';
import { writeJson } from '../report/json.js';
import { replayableInputs } from '../report/replay.js';
import { writeTable, type TableOptions } from '../report/table.js';
import { makeView, type TimeBound, type ViewOptions } from '../report/view.js';
import type { TcpState } from '../track/states.js';
import { addThresholdOptions, detectOptionsFrom, inRange, minSeverityOption, whole, type ThresholdFlags } from './detect-options.js';
import { offloadFor } from './offload.js';
import { problemLine, writeCaptureProblems } from './problems.js';
import { StdoutBuffer, writeStdout, outputWidth, useColor, type ColorWhen } from './stdout.js';
import { findingKind, host, port, resolveHosts, state, timeBound, repeatable } from './view-options.js';

/** A usage error: one line, exit 2, nothing on standard output. */
function usage(message: string): number {
  process.stderr.write(`tcpsleuth: ${message}\n`);
  return EXIT_INPUT;
}

export const EXIT_OK = 0;
/** --fail-on matched a finding. */
export const EXIT_FINDINGS = 1;
export const EXIT_INPUT = 2;

interface AnalyzeOptions extends ThresholdFlags {
  format: 'table' | 'json' | 'md' | 'html';
  diagrams: number;
  diagramPackets: number;
  maxChars: number;
  minSeverity: Severity;
  failOn?: Severity;
  strict?: boolean;
  read: string[];
  host: string[];
  port: number[];
  state: TcpState[];
  finding: FindingKind[];
  since?: TimeBound;
  until?: TimeBound;
  all?: boolean;
  color: ColorWhen;
  threads?: number;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function analyzeCommand(done: (code: number) => void): Command {
  const cmd = new Command('analyze')
    .description('Reconstruct every TCP connection with both endpoints\' states and report lifecycle problems')
    .usage('[options] <capture...> [filter expression]')
    .argument('[args...]', 'pcap or pcapng files, optionally gzip-compressed ("-" reads standard input), then optionally a tcpdump-style filter expression selecting connections')
    .addOption(repeatable('-r, --read <file>', 'read this capture (repeatable); every argument is then the filter expression, as with tcpdump -r', collect, 'none'))
    .addOption(new Option('-f, --format <format>', 'output format; md and html: an incident report with ladder diagrams').choices(['table', 'json', 'md', 'html']).default('table'))
    .addOption(new Option('--diagrams <n>', 'md/html: ladder diagrams drawn at most (flagged connections, worst first)').argParser(inRange(1, 1000, 'diagrams')).default(DEFAULT_REPORT_LIMITS.diagrams, `${DEFAULT_REPORT_LIMITS.diagrams} diagrams`))
    .addOption(new Option('--max-chars <n>', 'md: characters at most, what fits a GitHub comment; the report says what it left out (0: no limit)').argParser(whole).default(DEFAULT_REPORT_LIMITS.maxChars, `${DEFAULT_REPORT_LIMITS.maxChars} characters`))
    .addOption(new Option('--diagram-packets <n>', 'md/html: packets per diagram at most (the middle of long connections is left out)').argParser(inRange(10, 100_000, 'packets')).default(DEFAULT_REPORT_LIMITS.packetsPerDiagram, `${DEFAULT_REPORT_LIMITS.packetsPerDiagram} packets`))
    .addOption(minSeverityOption())
    .addOption(new Option('--fail-on <severity>', 'exit with status 1 when a finding of this severity or worse exists (for CI)').choices([...SEVERITIES]))
    .option('--strict', 'any damage is fatal (exit 2): a malformed or truncated packet, an IP length lie, a reader warning')
    .addOption(repeatable('--host <address>', 'only connections with an endpoint on this address, network (10.0.0.0/24, 2001:db8::/32) or host name (repeatable)', host))
    .addOption(repeatable('--port <port>', 'only connections with an endpoint on this port (repeatable)', port))
    .addOption(repeatable('--state <state>', 'only connections either endpoint of which ended in this state, e.g. CLOSE-WAIT (repeatable)', state))
    .addOption(repeatable('--finding <kind>', `only connections with a finding of this kind, and only those findings (repeatable): ${FINDING_KINDS.join(', ')}`, findingKind))
    .option('--since <time>', 'only connections active at or after this time: "2026-12-07 10:00:05" (UTC unless an offset is given), epoch seconds, or +90s after the first packet', timeBound)
    .option('--until <time>', 'only connections active at or before this time (the same forms as --since)', timeBound)
    .option('--all', 'table: list every connection (by default, above 40 connections, only those with findings or open at the end)')
    .addOption(new Option('--color <when>', 'table: colour severities; auto: on a terminal unless NO_COLOR is set').choices(['auto', 'always', 'never']).default('auto'))
    .option(
      '--threads <n>',
      "1: all on one thread; n > 1: split the connections over n threads (json and table, files only; each reads the whole input, so it pays only with cores to spare). Default: for inputs of 16 MiB or more, Zeek's conn_state and history worked out on a second thread beside the analysis",
      inRange(1, availableParallelism(), 'at most the cores of this machine'),
    );
  return addThresholdOptions(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ tcpsleuth analyze captures/close-wait-stuck.pcap
  $ tcpsleuth analyze server.pcap 'tcp port 8080 and not host 10.0.0.9'
  $ tcpsleuth analyze -r server.pcap port 8080
  $ tcpsleuth analyze --state CLOSE-WAIT --host 10.0.0.0/24 server.pcap
  $ tcpsleuth analyze --since '2026-12-07 10:00' --until +5m server.pcap
  $ tcpsleuth analyze --format json server.pcapng.gz > report.json
  $ tcpsleuth analyze --format html incident.pcap > incident.html
  $ tcpsleuth analyze ring.pcap*          # a tcpdump -C/-G set: merged in time order
  $ tcpsleuth analyze --vxlan-port 4790 mirror.pcap   # a traffic mirror's VXLAN on its own port
  $ tcpdump -i any -w - 'tcp port 8080' | tcpsleuth analyze -
  $ tcpsleuth analyze --fail-on error nightly.pcap || echo "connection problems"

The filter expression takes tcpdump's common primitives (host, net, port,
portrange, src, dst, tcp, udp, icmp, ip, ip6, and, or, not, parentheses) and
selects the connections with a packet it matches; every packet is still
analysed, so states and Wireshark tcp.stream numbers are the whole capture's.

Exit status: 0 when every capture was read to its end; 1 when --fail-on matched
a finding; 2 on a usage error or when a capture is missing, damaged or truncated
(what was read before the damage is still analysed and reported), and with
--strict when any packet is damaged or the reader warned.`,
    )
    .action(async (args: string[], opts: AnalyzeOptions) => {
      done(await runAnalyze(args, opts));
    });
}

/** Exists on disk (or names standard input). */
function isInput(a: string): boolean {
  if (a === '-') return true;
  try {
    statSync(a);
    return true;
  } catch {
    return false;
  }
}

function parses(expression: string): boolean {
  try {
    parsePacketFilter(expression);
    return true;
  } catch {
    return false;
  }
}

/** What the arguments are: the captures, then the filter expression (or a usage error, one line). */
export function splitArguments(args: string[], read: string[]): { captures: string[]; expression: string | null } | { error: string } {
  if (read.length) return { captures: read, expression: args.length ? args.join(' ') : null };
  let n = 0;
  while (n < args.length && isInput(args[n]!)) n++;
  const rest = args.slice(n);
  if (rest.length === 0) return n ? { captures: args, expression: null } : { error: 'no capture given (a file, "-" for standard input, or -r FILE)' };
  const expression = rest.join(' ');
  // Words that are no filter but look like a file name are a missing capture: the reader says so, located.
  if (n === 0 || (/[/\\]|\.(pcap|pcapng|cap|gz|dmp)\d*$/i.test(rest[0]!) && !parses(expression))) return { captures: args, expression: null };
  return { captures: args.slice(0, n), expression };
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

async function runAnalyze(args: string[], opts: AnalyzeOptions): Promise<number> {
  const split = splitArguments(args, opts.read);
  if ('error' in split) return usage(split.error);
  const { captures, expression } = split;
  if (captures.filter((c) => c === '-').length > 1) return usage('standard input ("-") can be read only once');
  let filter: PacketFilter | null = null;
  try {
    filter = expression === null ? null : parsePacketFilter(expression);
  } catch (e) {
    if (e instanceof FilterSyntaxError) return usage(`invalid filter "${expression}": ${e.message}`);
    throw e;
  }
  let hosts: string[];
  try {
    hosts = await resolveHosts(opts.host);
  } catch (e) {
    return usage(e instanceof Error ? e.message : String(e));
  }
  const detect: DetectOptions = detectOptionsFrom(opts);
  const view: ViewOptions = {
    minSeverity: opts.minSeverity,
    hosts,
    ports: opts.port,
    states: opts.state,
    kinds: opts.finding,
    since: opts.since ?? null,
    until: opts.until ?? null,
    matchedOnly: filter !== null,
  };
  const table: TableOptions = { width: outputWidth(), color: useColor(opts.color), all: opts.all === true };
  const report = opts.format === 'md' || opts.format === 'html' ? opts.format : null;
  // The reports read the captures twice (diagrams): standard input is kept in a temporary file.
  const inputs = report ? await replayableInputs(captures) : null;
  let result: AnalysisResult;
  /** The findings the view shows, when the sharded path already worked them out. */
  let shown: Finding[] | null = null;
  const threads = report ? 1 : threadsFor(captures, opts.threads);
  try {
    if (threads > 1) {
      const format = opts.format === 'json' ? 'json' : 'table';
      const out = new StdoutBuffer();
      ({ result, shown } = await analyzeShardedTo(captures, detect, threads, format, view, table, expression, out.write));
      out.flush();
    } else {
      const paths = inputs?.paths ?? captures;
      // Only the JSON report shows the tcp.analysis counters (the reports' diagrams read the captures again).
      result = await analyzeCaptures(paths, detect, undefined, { offload: opts.threads === undefined && offloadFor(paths), sequenceAnalysis: opts.format === 'json', filter });
    }
    inputs?.rename(result);
    if (shown !== null) {
      // Written already, by the sharded analysis.
    } else if (result.captures.every((c) => c.format === null && c.packets === 0 && c.errors.length > 0)) {
      // Not one capture could be read: the errors below say why, and there is nothing to report.
    } else if (report && inputs) {
      const limits = { ...DEFAULT_REPORT_LIMITS, diagrams: opts.diagrams, packetsPerDiagram: opts.diagramPackets, maxChars: opts.maxChars };
      writeStdout(await renderIncidentReport(report, inputs.paths, detect, result, view, limits));
    } else {
      const out = new StdoutBuffer();
      if (opts.format === 'json') writeJson(result, view, out.write);
      else writeTable(result, view, table, out.write);
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
    if (writeCaptureProblems(c)) code = EXIT_INPUT;
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
