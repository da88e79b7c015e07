import { Command, InvalidArgumentError, Option } from 'commander';
import { severityRank, type Finding, type Severity } from '../detect/finding.js';
import { BACKENDS, BindingError, deviceList, loadBinding, type BackendName, type Loaded } from '../live/bindings.js';
import { dropWarning, findingLine, findingRecord, liveJson, liveSummary, statusLine, withdrawnLine, withdrawnRecord, type LiveInfo } from '../live/output.js';
import { MetricsServer, parseMetricsAddress, type MetricsAddress } from '../live/metrics.js';
import { DEFAULT_MAX_PORTS, LiveSession, type LiveEnd } from '../live/session.js';
import { statsRecord } from '../live/stats-line.js';
import { OpenError } from '../live/source.js';
import { writeJson } from '../report/json.js';
import { writeTable } from '../report/table.js';
import type { ViewOptions } from '../report/view.js';
import { linkTypeName } from '../decode/linktypes.js';
import { addThresholdOptions, bytes, count, detectOptionsFrom, minSeverityOption, seconds, type ThresholdFlags } from './detect-options.js';
import { StdoutBuffer, writeStdout, outputWidth, useColor } from './stdout.js';

const EXIT_OK = 0;
const EXIT_INPUT = 2;

interface LiveFlags extends ThresholdFlags {
  interface: string;
  duration?: number;
  count?: number;
  write?: string;
  format: 'table' | 'json';
  minSeverity: Severity;
  bufferSize: number;
  snaplen: number;
  backend: BackendName | 'auto';
  metrics?: MetricsAddress;
  metricsMaxPorts: number;
  statsInterval?: number;
}

const MIB = 1024 * 1024;

/** How the bindings' C++ glue words a bad argument ("info[2] must be a Number"). */
const BINDING_ARGUMENT = /\binfo\[\d+\]|must be an? (Number|String|Buffer|Function|Boolean|Integer)/;

/** libpcap takes the buffer size as a C int: 2047 MiB at most. */
function bufferSize(v: string): number {
  const b = bytes(v, MIB);
  if (b < MIB || b > 2047 * MIB) throw new InvalidArgumentError('expected a size from 1M to 2047M (libpcap takes at most 2 GiB)');
  return b;
}

/** A snaplen below 96 bytes cuts TCP headers behind IPv6 and options; libpcap's maximum is 262144. */
function snapLen(v: string): number {
  const b = bytes(v);
  if (b < 96 || b > 262144) throw new InvalidArgumentError('expected a size from 96 to 262144 bytes (256K)');
  return b;
}

function duration(v: string): number {
  const s = seconds(v);
  if (s <= 0) throw new InvalidArgumentError('expected a duration above zero, such as 60s, 500ms or 5m');
  return s;
}

function metricsAddress(v: string): MetricsAddress {
  const a = parseMetricsAddress(v);
  if (a === null) throw new InvalidArgumentError('expected [ADDRESS:]PORT, such as 9464, 127.0.0.1:9464 or [::1]:9464 (port 0 to 65535)');
  return a;
}

/** Stats lines at most once a second: each one walks the tracked connections. */
function statsInterval(v: string): number {
  const s = seconds(v);
  if (s < 1) throw new InvalidArgumentError('expected a duration of at least 1s, such as 10s or 1m');
  return s;
}

function maxPorts(v: string): number {
  const n = count(v);
  if (n > 10_000) throw new InvalidArgumentError('expected a number from 1 to 10000');
  return n;
}

export function liveCommand(done: (code: number) => void): Command {
  const cmd = new Command('live')
    .description('Capture on an interface (libpcap) and report each TCP lifecycle problem the moment it is known')
    .argument('[filter...]', 'BPF filter expression, as for tcpdump (several words are joined)')
    .requiredOption('-i, --interface <name>', 'interface to capture on: a name or a number from `tcpsleuth interfaces`; "any" for all')
    .option('--duration <duration>', 'stop after this long (500ms, 60s, 5m, 2h)', duration)
    .option('-c, --count <n>', 'stop after this many packets', count)
    .option('-w, --write <file>', 'also write the packets to this pcapng file (flushed about once a second)')
    .addOption(new Option('-f, --format <format>', 'table: a line per finding, then the report; json: JSON Lines, a record per finding, then the report').choices(['table', 'json']).default('table'))
    .addOption(minSeverityOption())
    .addOption(new Option('--buffer-size <size>', 'libpcap buffer (the kernel ring): 64M, 1G, 512K; a bare number is MiB; 1 MiB to 2047 MiB').argParser(bufferSize).default(64 * MIB, '64M'))
    .addOption(new Option('-s, --snaplen <size>', 'bytes kept of each packet: 96 to 262144 (or 256K)').argParser(snapLen).default(262144, '262144 bytes'))
    .addOption(new Option('--backend <binding>', 'libpcap binding: pcap (kernel timestamps, drop counts) or cap').choices(['auto', ...BACKENDS]).default('auto'))
    .addOption(new Option('--metrics <[addr:]port>', 'serve Prometheus metrics on http://ADDR:PORT/metrics (a bare port: every address)').argParser(metricsAddress))
    .addOption(new Option('--metrics-max-ports <n>', 'server ports labelled one by one in the metrics and stats; the rest are "other"').argParser(maxPorts).default(DEFAULT_MAX_PORTS, `${DEFAULT_MAX_PORTS} ports`))
    .addOption(new Option('--stats-interval <duration>', 'write a {"type":"stats",...} JSON line of the same figures to standard output this often (at least 1s)').argParser(statsInterval));
  return addThresholdOptions(cmd, true)
    .addHelpText(
      'after',
      `
Needs root or the CAP_NET_RAW capability. Stops on Ctrl-C, SIGTERM, --duration or
--count, then prints the report (as \`tcpsleuth analyze\` does) with the number of
packets the kernel dropped. A status line (packets, drops, connections per state)
is refreshed every second on a terminal.

Output: with --format table, one line per finding on standard output as it is raised
  14:02:07.512311 warning close-wait-stuck #12: server 10.0.0.2:8080 has been in CLOSE-WAIT for 2.00 s: ...
then the report. With --format json, JSON Lines: {"type":"finding",...} per finding
(the fields of the report's findings), then one {"type":"report",...} line holding
the analyze JSON report plus a "live" member (interface, filter, drops). A finding
printed and later taken back (a half-open that turned out to be a full accept queue)
gets a "withdrawn" line, or {"type":"withdrawn",...}.

Monitoring: --metrics 9464 serves the figures (endpoints per state by role and server
port, findings by kind and severity, connections by how they ended, packets and
drops, memory) for Prometheus on /metrics; --stats-interval 10s writes the same as
{"type":"stats",...} lines. Client ephemeral ports never become labels. See
docs/live.md ("Metrics and stats") for the names and example alerting rules.

Examples:
  $ sudo tcpsleuth live -i eth0 tcp port 8080
  $ sudo tcpsleuth live -i any --close-wait 5s -w incident.pcapng
  $ sudo tcpsleuth live -i eth0 --duration 60s --format json 'tcp and host 10.0.0.2' > live.jsonl
  $ sudo tcpsleuth live -i eth0 --metrics 127.0.0.1:9464 --format json 'tcp port 8080'
  $ tcpsleuth interfaces

Exit status: 0 when the capture ran and ended normally; 2 on a usage error, when the
capture cannot start (permissions, interface, filter, libpcap), the -w file cannot
be written or the --metrics address cannot be listened on.`,
    )
    .action(async (filter: string[], flags: LiveFlags) => {
      try {
        done(await runLive(filter.join(' ').trim(), flags));
      } finally {
        // Whatever happened, a binding's handle must not keep the process alive.
        setTimeout(() => process.exit(), 500).unref();
      }
    });
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The interface name for -i: a name libpcap lists, or its number in that list (as tcpdump -i 2). */
function resolveInterface(loaded: Loaded, wanted: string): string | null {
  const devs = deviceList(loaded);
  if (devs.some((d) => d.name === wanted)) return wanted;
  if (/^\d+$/.test(wanted)) {
    const d = devs[Number(wanted) - 1];
    if (d) return d.name;
  }
  return null;
}

/**
 * The final JSON Lines record: the analyze JSON report with "type" first and "live" last,
 * on one line. writeJson streams it in pieces (a report of hundreds of thousands of
 * connections is larger than a string may be); its newlines are only formatting between
 * members (JSON.stringify escapes those in strings), so they are dropped.
 */
function writeReportLine(end: LiveEnd, view: ViewOptions, live: Record<string, unknown>): void {
  let held = '';
  let first = true;
  const out = new StdoutBuffer();
  writeJson(end.result, view, (chunk) => {
    let c = chunk.replace(/\n/g, '');
    if (first) {
      c = `{"type":"report",${c.slice(1)}`;
      first = false;
    }
    if (held) out.write(held);
    held = c;
  });
  // The document ends with "}": the live member goes before it.
  out.write(`${held.slice(0, held.lastIndexOf('}'))},"live":${JSON.stringify(live)}}\n`);
  out.flush();
}

async function runLive(filter: string, flags: LiveFlags): Promise<number> {
  let loaded: Loaded;
  try {
    loaded = loadBinding(flags.backend);
  } catch (e) {
    err(`tcpsleuth: ${e instanceof BindingError ? e.message : String(e)}`);
    return EXIT_INPUT;
  }
  let device: string | null;
  try {
    device = resolveInterface(loaded, flags.interface);
  } catch (e) {
    err(`tcpsleuth: cannot list the interfaces: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_INPUT;
  }
  if (device === null) {
    err(`tcpsleuth: no interface "${flags.interface}"; available: ${deviceList(loaded).map((d) => d.name).join(', ')} (see tcpsleuth interfaces)`);
    return EXIT_INPUT;
  }

  const view: ViewOptions = { minSeverity: flags.minSeverity, hosts: [], ports: [] };
  const min = severityRank(flags.minSeverity);
  const json = flags.format === 'json';
  const statusOn = process.stderr.isTTY === true;
  let statusShown = false;
  const clearStatus = (): void => {
    if (statusShown) process.stderr.write('\r\x1b[K');
    statusShown = false;
  };
  /** The findings printed: only those are worth a line when taken back. */
  const printed = new WeakSet<Finding>();
  const onFinding = (f: Finding): void => {
    if (severityRank(f.severity) < min) return;
    clearStatus();
    printed.add(f);
    writeStdout(`${json ? findingRecord(f) : findingLine(f)}\n`);
  };
  const onWithdraw = (f: Finding): void => {
    if (!printed.has(f)) return;
    clearStatus();
    writeStdout(`${json ? withdrawnRecord(f) : withdrawnLine(f)}\n`);
  };

  const session = new LiveSession(loaded, {
    device,
    filter,
    bufferBytes: flags.bufferSize,
    snapLen: flags.snaplen,
    writePath: flags.write ?? null,
    detect: detectOptionsFrom(flags),
    count: flags.count ?? null,
    onFinding,
    onWithdraw,
    maxPorts: flags.metricsMaxPorts,
  });
  session.ports.onLimit = () => {
    clearStatus();
    err(`tcpsleuth: warning: more than ${flags.metricsMaxPorts} server ports: the rest are counted under port "other" in the metrics and stats (--metrics-max-ports)`);
  };
  let metrics: MetricsServer | null = null;
  if (flags.metrics) {
    const at = flags.metrics;
    try {
      metrics = await MetricsServer.start(at, { device, backend: session.backend }, () => session.figures());
    } catch (e) {
      const where = at.host === null ? `port ${at.port}` : `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
      const code = (e as NodeJS.ErrnoException).code;
      err(`tcpsleuth: --metrics: cannot listen on ${where}: ${code === 'EADDRINUSE' ? 'the address is in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' ? 'no such local address' : e instanceof Error ? e.message : String(e)}${code ? ` (${code})` : ''}`);
      return EXIT_INPUT;
    }
  }
  try {
    session.open();
  } catch (e) {
    if (e instanceof OpenError) {
      if (e.kind === 'permission') {
        err(`tcpsleuth: cannot capture on ${device}: permission denied (${e.message}): live capture needs root or the CAP_NET_RAW capability (run it with sudo)`);
      } else if (e.kind === 'no-device') {
        err(`tcpsleuth: no interface "${device}" (${e.message}); available: ${deviceList(loaded).map((d) => d.name).join(', ')}`);
      } else if (e.kind === 'filter') {
        err(`tcpsleuth: invalid filter "${filter}": ${e.message}`);
      } else if (BINDING_ARGUMENT.test(e.message)) {
        // The binding's own argument check (its C++ words kept in brackets for a bug report).
        err(`tcpsleuth: cannot capture on ${device}: the capture library refused the settings (buffer ${flags.bufferSize / MIB} MiB, snaplen ${flags.snaplen} bytes) [${e.message}]`);
      } else {
        err(`tcpsleuth: cannot capture on ${device}: ${e.message}`);
      }
    } else {
      err(`tcpsleuth: ${flags.write}: cannot write: ${e instanceof Error ? e.message : String(e)}`);
    }
    await metrics?.close();
    return EXIT_INPUT;
  }
  const info: LiveInfo = { device, filter, backend: session.backend, kernelTimestamps: session.kernelTimestamps };
  err(
    `tcpsleuth: listening on ${device}, link type ${linkTypeName(session.linkType)}${filter ? `, filter "${filter}"` : ''}, ` +
      `${flags.bufferSize / MIB} MiB buffer, ${session.backend} binding (${session.kernelTimestamps ? 'kernel timestamps' : 'timestamps taken on receipt'})` +
      `${flags.write ? `, writing ${flags.write}` : ''}; Ctrl-C stops`,
  );
  if (metrics) err(`tcpsleuth: metrics on ${metrics.url}`);
  let stats: NodeJS.Timeout | null = null;
  if (flags.statsInterval !== undefined) {
    stats = setInterval(() => {
      clearStatus();
      writeStdout(`${statsRecord(device, session.figures())}\n`);
    }, flags.statsInterval * 1000);
  }

  const width = (): number => Math.max(40, (process.stderr.columns || 100) - 1);
  if (statusOn) {
    session.onSecond = () => {
      process.stderr.write(`\r\x1b[K${statusLine(device, session.counters(), width())}`);
      statusShown = true;
    };
  }

  // What ends it: a signal, --duration, --count, or a write error.
  const reason = await new Promise<string>((resolve) => {
    const onSignal = (name: string) => () => resolve(name === 'SIGINT' ? 'Ctrl-C (SIGINT)' : name);
    const sigint = onSignal('SIGINT');
    const sigterm = onSignal('SIGTERM');
    process.once('SIGINT', sigint);
    process.once('SIGTERM', sigterm);
    if (flags.duration !== undefined) setTimeout(() => resolve(`--duration ${flags.duration} s`), flags.duration * 1000).unref();
    if (flags.count !== undefined) void session.countDone().then(() => resolve(`--count ${flags.count}`));
    session.onWriteError = () => resolve('a write error');
  });
  // A second signal while the report is being made ends it at once.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));

  if (stats !== null) clearInterval(stats);
  const end: LiveEnd = await session.stop(reason);
  await metrics?.close();
  clearStatus();
  session.onSecond = null;
  if (json) {
    writeReportLine(end, view, liveJson(info, end));
  } else {
    writeTable(end.result, view, { width: outputWidth(), color: useColor('auto'), all: false }, writeStdout);
    writeStdout(`${liveSummary(info, end).join('\n')}\n`);
  }
  const cap = end.result.captures[0]!;
  for (const w of cap.warnings) err(`tcpsleuth: warning: ${device}: packet ${w.packet}: ${w.message}`);
  if (cap.warningsDropped) err(`tcpsleuth: warning: ${device}: ${cap.warningsDropped} more warnings not shown`);
  const dw = dropWarning(end.counters);
  if (dw) err(`tcpsleuth: warning: ${dw}`);
  if (session.writeError) {
    err(`tcpsleuth: ${flags.write}: cannot write: ${session.writeError.message}`);
    return EXIT_INPUT;
  }
  return EXIT_OK;
}
