import { Command, InvalidArgumentError, Option } from 'commander';
import { analyzeCaptures } from '../analyze.js';
import { SEVERITIES, severityRank, type Severity } from '../detect/finding.js';
import { DEFAULT_DETECT_OPTIONS, type DetectOptions } from '../detect/options.js';
import { renderJson } from '../report/json.js';
import { renderTable } from '../report/table.js';
import { makeView, type ViewOptions } from '../report/view.js';
import { problemLine } from './problems.js';

export const EXIT_OK = 0;
/** --fail-on matched a finding. */
export const EXIT_FINDINGS = 1;
export const EXIT_INPUT = 2;

interface AnalyzeOptions {
  format: 'table' | 'json';
  minSeverity: Severity;
  failOn?: Severity;
  host: string[];
  port: number[];
  closeWait: number;
  halfOpenRetransmissions: number;
  synRetransmissions: number;
  zeroWindow: number;
  timeWait: number;
}

function seconds(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 2, 2s, 500ms or 1m');
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

function count(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(v);
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
  const d = DEFAULT_DETECT_OPTIONS;
  return new Command('analyze')
    .description('Reconstruct every TCP connection with both endpoints\' states and report lifecycle problems')
    .argument('<capture...>', 'pcap or pcapng files, optionally gzip-compressed; "-" reads standard input')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .addOption(new Option('--min-severity <severity>', 'show findings of this severity or worse').choices([...SEVERITIES]).default('info'))
    .addOption(new Option('--fail-on <severity>', 'exit with status 1 when a finding of this severity or worse exists (for CI)').choices([...SEVERITIES]))
    .option('--host <address>', 'only connections with an endpoint on this address (repeatable)', collect, [])
    .option('--port <port>', 'only connections with an endpoint on this port (repeatable)', port, [])
    .option('--close-wait <duration>', 'CLOSE-WAIT with neither FIN nor data for this long is stuck', seconds, d.closeWaitSeconds)
    .option('--half-open-retransmissions <n>', 'unanswered retransmissions or probes in a row that make a peer half-open', count, d.halfOpenRetransmissions)
    .option('--syn-retransmissions <n>', 'unanswered SYN retransmissions that make a syn-timeout', count, d.synRetransmissions)
    .option('--zero-window <duration>', 'a zero window lasting this long is reported', seconds, d.zeroWindowSeconds)
    .option('--time-wait <duration>', 'TIME-WAIT length of the hosts (Linux: 60s)', seconds, d.timeWaitSeconds)
    .addHelpText(
      'after',
      `
Examples:
  $ tcpsleuth analyze captures/close-wait-stuck.pcap
  $ tcpsleuth analyze --format json server.pcapng.gz > report.json
  $ tcpdump -i any -w - 'tcp port 8080' | tcpsleuth analyze -
  $ tcpsleuth analyze --port 5432 --min-severity warning db.pcap
  $ tcpsleuth analyze --fail-on error nightly.pcap || echo "connection problems"

Exit status: 0 when every capture was read to its end; 1 when --fail-on matched
a finding; 2 on a usage error or when a capture is missing, damaged or truncated
(what was read before the damage is still analysed and reported).`,
    )
    .action(async (captures: string[], opts: AnalyzeOptions) => {
      done(await runAnalyze(captures, opts));
    });
}

async function runAnalyze(captures: string[], opts: AnalyzeOptions): Promise<number> {
  if (captures.filter((c) => c === '-').length > 1) {
    process.stderr.write('tcpsleuth: standard input ("-") can be read only once\n');
    return EXIT_INPUT;
  }
  const detect: DetectOptions = {
    closeWaitSeconds: opts.closeWait,
    halfOpenRetransmissions: opts.halfOpenRetransmissions,
    synRetransmissions: opts.synRetransmissions,
    zeroWindowSeconds: opts.zeroWindow,
    timeWaitSeconds: opts.timeWait,
  };
  const view: ViewOptions = { minSeverity: opts.minSeverity, hosts: opts.host, ports: opts.port };
  const result = await analyzeCaptures(captures, detect);
  const width = process.stdout.isTTY ? Math.max(60, Math.min(process.stdout.columns ?? 100, 140)) : 100;
  process.stdout.write(opts.format === 'json' ? renderJson(result, view) : renderTable(result, view, width));
  let code = EXIT_OK;
  if (opts.failOn) {
    const min = severityRank(opts.failOn);
    if (makeView(result, view).findings.some((f) => severityRank(f.severity) >= min)) code = EXIT_FINDINGS;
  }
  for (const c of result.captures) {
    for (const w of c.warnings) process.stderr.write(`${problemLine(c.file, w, 'warning', c.compression !== null)}\n`);
    if (c.warningsDropped) process.stderr.write(`tcpsleuth: warning: ${c.file}: ${c.warningsDropped} more warnings not shown\n`);
    for (const e of c.errors) {
      process.stderr.write(`${problemLine(c.file, e, 'error', c.compression !== null)}\n`);
      code = EXIT_INPUT;
    }
  }
  return code;
}
