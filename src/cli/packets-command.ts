import { Command, Option } from 'commander';
import { analyzeCaptures, type AnalysisResult } from '../analyze.js';
import { type FindingKind, type Severity } from '../detect/finding.js';
import { PacketListing } from '../report/listing.js';
import { replayableInputs } from '../report/replay.js';
import { makeView } from '../report/view.js';
import { addThresholdOptions, count, detectOptionsFrom, minSeverityOption, type ThresholdFlags } from './detect-options.js';
import { offloadFor } from './offload.js';
import { writeCaptureProblems } from './problems.js';
import { writeStdout, useColor, type ColorWhen } from './stdout.js';
import { findingKind, host, port, resolveHosts, repeatable } from './view-options.js';

const EXIT_OK = 0;
const EXIT_INPUT = 2;

interface PacketsOptions extends ThresholdFlags {
  format: 'text' | 'json';
  connection: number[];
  finding: FindingKind[];
  minSeverity: Severity;
  host: string[];
  port: number[];
  color: ColorWhen;
}

function connectionId(v: string, prev: number[]): number[] {
  return [...prev, count(v)];
}

export function packetsCommand(done: (code: number) => void): Command {
  const cmd = new Command('packets')
    .description('List every TCP packet like tcpdump -nn, with both endpoints\' states after it, its analysis flags and its findings')
    .argument('<capture...>', 'pcap or pcapng files, optionally gzip-compressed; "-" reads standard input')
    .addOption(new Option('-f, --format <format>', 'text lines, or one JSON object per line').choices(['text', 'json']).default('text'))
    .addOption(repeatable('--connection <n>', 'only this connection (its number in `analyze`; repeatable)', connectionId))
    .addOption(repeatable('--finding <kind>', 'only connections with a finding of this kind (repeatable)', findingKind))
    .addOption(minSeverityOption('annotate findings of this severity or worse'))
    .addOption(repeatable('--host <address>', 'only connections with an endpoint on this address, network (10.0.0.0/24) or host name (repeatable)', host))
    .addOption(repeatable('--port <port>', 'only connections with an endpoint on this port (repeatable)', port))
    .addOption(new Option('--color <when>', 'text: colour flags and states; auto: on a terminal unless NO_COLOR is set').choices(['auto', 'always', 'never']).default('auto'));
  return addThresholdOptions(cmd)
    .addHelpText(
      'after',
      `
Each line: frame number, time (UTC), the segment as tcpdump -nn prints it (relative
seq/ack, no options), then "#N client STATE server STATE" (a state the packet
changed is written OLD->NEW), Wireshark's analysis flags ([TCP Retransmission]...)
and the findings whose packets include it. ICMP errors quoting a connection are
listed too.

Examples:
  $ tcpsleuth packets captures/close-wait-stuck.pcap
  $ tcpsleuth packets --finding peer-reset server.pcapng
  $ tcpsleuth packets --connection 3 --format json big.pcap | jq .
  $ tcpdump -i any -w - 'tcp port 8080' | tcpsleuth packets -

Exit status: 0 when every capture was read to its end; 2 on a usage error or when
a capture is missing, damaged or truncated.`,
    )
    .action(async (captures: string[], opts: PacketsOptions) => {
      done(await runPackets(captures, opts));
    });
}

function reportProblems(result: AnalysisResult): number {
  let code = EXIT_OK;
  for (const c of result.captures) if (writeCaptureProblems(c)) code = EXIT_INPUT;
  return code;
}

async function runPackets(captures: string[], opts: PacketsOptions): Promise<number> {
  if (captures.filter((c) => c === '-').length > 1) {
    process.stderr.write('tcpsleuth: standard input ("-") can be read only once\n');
    return EXIT_INPUT;
  }
  let hosts: string[];
  try {
    hosts = await resolveHosts(opts.host);
  } catch (e) {
    process.stderr.write(`tcpsleuth: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_INPUT;
  }
  const detect = detectOptionsFrom(opts);
  const inputs = await replayableInputs(captures);
  try {
    // Nothing here reads Zeek's verdicts: on a big input they go to the second thread.
    const offload = offloadFor(inputs.paths);
    // Pass 1: connections and findings (only known at the end of the input); no detector reads the sequence analysis.
    const result = await analyzeCaptures(inputs.paths, detect, undefined, { offload, sequenceAnalysis: false });
    inputs.rename(result);
    const view = makeView(result, { minSeverity: opts.minSeverity, hosts, ports: opts.port });
    let ids = new Set(view.connections.map((c) => c.id));
    const held = result.connections.length;
    // Pass 2 needs only ids and findings: the connections go before it builds its own (peak memory of one analysis, not two).
    view.connections = [];
    result.connections = [];
    if (opts.connection.length) ids = new Set(opts.connection.filter((id) => ids.has(id)));
    if (opts.finding.length) {
      const flagged = new Set(view.findings.filter((f) => opts.finding.includes(f.kind)).map((f) => f.connection));
      ids = new Set([...ids].filter((id) => flagged.has(id)));
    }
    // Unfiltered, every packet is listed (connections left out of the report's list included).
    const everything = !opts.connection.length && !opts.finding.length && !opts.host.length && !opts.port.length;
    if (ids.size === 0 && held > 0) {
      process.stderr.write(`tcpsleuth: no connection matches (the captures hold ${held}; see tcpsleuth analyze)\n`);
    }
    // Pass 2: replay, writing each line as it is made.
    const listing = new PacketListing({
      format: opts.format,
      connections: everything ? null : ids,
      findings: view.findings,
      multiCapture: captures.length > 1,
      color: opts.format === 'text' && useColor(opts.color),
      write: writeStdout,
    });
    // Pass 2 lists the sequence analysis' flags, so it runs it.
    if (ids.size > 0) await analyzeCaptures(inputs.paths, detect, undefined, { onPacket: listing.onPacket, offload });
    listing.flush();
    return reportProblems(result);
  } finally {
    inputs.cleanup();
  }
}
