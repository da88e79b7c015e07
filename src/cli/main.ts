import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { EXIT_INPUT, analyzeCommand } from './analyze-command.js';
import { packetsCommand } from './packets-command.js';
import { annotateCommand } from './annotate-command.js';
import { liveCommand } from './live-command.js';
import { interfacesCommand } from './interfaces-command.js';
import { writeStdout } from './stdout.js';
import { TOOL_VERSION } from '../version.js';

/**
 * The old generation may grow to twice what it held after its last full collection,
 * where V8 lets it reach three or four times. Connections live long enough to be
 * promoted and then die there, so a busy server's capture of short connections
 * peaks far lower this way for a few percent more CPU (docs/performance.md). Set before any thread starts (workers
 * share the flag); a value given to node itself is kept.
 */
function limitHeapGrowth(): void {
  if (!process.execArgv.some((a) => a.includes('heap-growing-percent'))) setFlagsFromString('--heap-growing-percent=100');
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  limitHeapGrowth();
  let code = 0;
  const program = new Command('tcpsleuth')
    .description('TCP connection lifecycle analyzer for packet captures (pcap, pcapng)')
    .version(TOOL_VERSION, '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    // Help and version go through the same synchronous stdout as everything else (cli/stdout.ts).
    .configureOutput({ writeOut: writeStdout, outputError: (s, write) => write(`tcpsleuth: ${s.replace(/^error: /, '')}`) })
    .addCommand(analyzeCommand((c) => (code = c)))
    .addCommand(packetsCommand((c) => (code = c)))
    .addCommand(annotateCommand((c) => (code = c)))
    .addCommand(liveCommand((c) => (code = c)))
    .addCommand(interfacesCommand((c) => (code = c)))
    .addHelpText(
      'after',
      `
Examples:
  $ tcpsleuth analyze capture.pcap
  $ tcpsleuth analyze --format json capture.pcapng.gz
  $ tcpsleuth analyze --help`,
    );
  for (const sub of program.commands) {
    sub.exitOverride().configureOutput(program.configureOutput()).showHelpAfterError('(run with --help for usage)');
  }
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_INPUT;
    throw e;
  }
  return code;
}
