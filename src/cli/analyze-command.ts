import { Command, Option } from 'commander';
import { analyzeCaptures } from '../analyze.js';
import { renderJson } from '../report/json.js';
import { renderTable } from '../report/table.js';
import { problemLine } from './problems.js';

export const EXIT_OK = 0;
export const EXIT_INPUT = 2;

interface AnalyzeOptions {
  format: 'table' | 'json';
}

export function analyzeCommand(done: (code: number) => void): Command {
  return new Command('analyze')
    .description('Reconstruct the TCP connections in one or more captures and summarise each')
    .argument('<capture...>', 'pcap or pcapng files, optionally gzip-compressed; "-" reads standard input')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText(
      'after',
      `
Examples:
  $ tcpsleuth analyze captures/healthy-client-close.pcap
  $ tcpsleuth analyze --format json server.pcapng.gz > report.json
  $ tcpdump -i any -w - 'tcp port 8080' | tcpsleuth analyze -
  $ tcpsleuth analyze rotated-00.pcap rotated-01.pcap

Exit status: 0 when every capture was read to its end, 2 on a usage error or
when a capture is missing, damaged or truncated (what was read before the damage
is still reported).`,
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
  const result = await analyzeCaptures(captures);
  process.stdout.write(opts.format === 'json' ? renderJson(result) : renderTable(result));
  let code = EXIT_OK;
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
