import { type Command, InvalidArgumentError, Option } from 'commander';
import { SEVERITIES, type Severity } from '../detect/finding.js';
import { DEFAULT_DETECT_OPTIONS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_LISTED_CONNECTIONS, type DetectOptions } from '../detect/options.js';
import { defaultDecapConfig, parseDecapSpec, UDP_TUNNEL_NAMES, type DecapConfig, type UdpTunnelName } from '../decode/tunnel.js';

/** Options shared by the commands that run the detectors (analyze, annotate). */

const SECONDS_PER: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** "2" (seconds), "2s", "500ms", "1m", "2h" in seconds. */
export function seconds(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 2, 2s, 500ms, 1m or 2h');
  return Number(m[1]) * SECONDS_PER[m[2] ?? 's']!;
}

/** A duration as the help shows defaults: "2s", "500ms", "1m". */
export function durationText(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600}h`;
  if (s >= 600 && s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

const BYTES_PER: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * A size: "65536", "64K", "64M", "1G" (binary units, a B after them allowed), as
 * bytes; `unit` is what a bare number counts (1 for bytes, 1024 ** 2 for MiB).
 */
export function bytes(v: string, unit = 1): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(i?b)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a size such as 65536, 64K, 64M or 1G');
  const per = m[2] === '' && m[3] === undefined ? unit : BYTES_PER[m[2]!.toLowerCase()]!;
  return Math.round(Number(m[1]) * per);
}

/** A whole number in [min, max], with the reason for the bounds in the error. */
export function inRange(min: number, max: number, why: string): (v: string) => number {
  return (v: string): number => {
    if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max} (${why})`);
    return Number(v);
  };
}

/** A whole number of at least 1. */
export function count(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(v);
}

/** A whole number, 0 included. */
export function whole(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number');
  return Number(v);
}

/** --decap: one udp:PORT=KIND more. */
function decapSpec(v: string, prev: DecapFlags['decap']): Array<[number, UdpTunnelName]> {
  const r = parseDecapSpec(v);
  if (typeof r === 'string') throw new InvalidArgumentError(r);
  return [...(prev || []), [r.port, r.kind]];
}

/** --vxlan-port: one port more. */
function vxlanPort(v: string, prev: DecapFlags['vxlanPort']): Array<[number, UdpTunnelName]> {
  if (!/^\d{1,5}$/.test(v.trim()) || Number(v) < 1 || Number(v) > 65535) throw new InvalidArgumentError('expected a UDP port from 1 to 65535');
  return [...(prev ?? []), [Number(v), 'vxlan']];
}

/** What commander gives for the decapsulation options: --decap's pairs (false: --no-decap), --vxlan-port's. */
export interface DecapFlags {
  decap?: Array<[number, UdpTunnelName]> | false;
  vxlanPort?: Array<[number, UdpTunnelName]>;
}

/** Add --decap, --vxlan-port and --no-decap. */
export function addDecapOptions(cmd: Command): Command {
  const kinds = Object.keys(UDP_TUNNEL_NAMES).join(', ');
  return cmd
    .addOption(new Option('--decap <udp:PORT=KIND>', `also decapsulate this UDP port as KIND (${kinds}); repeatable`).argParser(decapSpec))
    .addOption(new Option('--vxlan-port <port>', 'also decapsulate VXLAN on this UDP port (besides 4789 and 8472); repeatable').argParser(vxlanPort))
    .addOption(new Option('--no-decap', 'look into no tunnel: VXLAN, Geneve, GRE, ERSPAN, IP-in-IP, GTP-U, Teredo and AYIYA stay undecoded'));
}

/** The decapsulation the flags ask for; undefined for the default (every encapsulation, on its standard ports). */
export function decapConfigFrom(f: DecapFlags): DecapConfig | undefined {
  if (f.decap === false) return { enabled: false, udpPorts: [] };
  const extra = [...(f.decap ?? []), ...(f.vxlanPort ?? [])];
  if (extra.length === 0) return undefined;
  const base = defaultDecapConfig();
  return { enabled: true, udpPorts: [...base.udpPorts, ...extra] };
}

/** What commander gives for the threshold options. */
export interface ThresholdFlags extends DecapFlags {
  closeWait: number;
  halfOpenRetransmissions: number;
  synRetransmissions: number;
  zeroWindow: number;
  timeWait: number;
  maxConnections: number;
  maxListed: number;
}

/** Live capture lists fewer: it runs for days, and its findings were printed as they were raised. */
export const LIVE_MAX_LISTED_CONNECTIONS = 10_000;

/** Add the detection thresholds and the decapsulation options (README "Commands and options") to a command; `live` bounds the list tighter. */
export function addThresholdOptions(cmd: Command, live = false): Command {
  const d = DEFAULT_DETECT_OPTIONS;
  const listed = live ? LIVE_MAX_LISTED_CONNECTIONS : DEFAULT_MAX_LISTED_CONNECTIONS;
  const listedHelp = live
    ? 'connections kept for the report at most; beyond, finished ones are let go, oldest first, and counted (findings included: they were printed as raised)'
    : 'connections kept for the report at most; beyond, finished ones without findings are only counted';
  return addDecapOptions(cmd)
    .addOption(new Option('--close-wait <duration>', 'CLOSE-WAIT with neither FIN nor data for this long is stuck (ms, s, m, h)').argParser(seconds).default(d.closeWaitSeconds, durationText(d.closeWaitSeconds)))
    .addOption(new Option('--half-open-retransmissions <n>', 'unanswered retransmissions or probes in a row that make a peer half-open (a burst of segments resent in one go counts once)').argParser(inRange(1, 100, 'retransmissions')).default(d.halfOpenRetransmissions, `${d.halfOpenRetransmissions} retransmissions`))
    .addOption(new Option('--syn-retransmissions <n>', 'unanswered SYN retransmissions that make a syn-timeout').argParser(inRange(1, 100, 'retransmissions')).default(d.synRetransmissions, `${d.synRetransmissions} retransmissions`))
    .addOption(new Option('--zero-window <duration>', 'a zero window lasting this long is reported (ms, s, m, h)').argParser(seconds).default(d.zeroWindowSeconds, durationText(d.zeroWindowSeconds)))
    .addOption(new Option('--time-wait <duration>', "TIME-WAIT length of the hosts (ms, s, m, h; Linux's is 60s)").argParser(seconds).default(d.timeWaitSeconds, durationText(d.timeWaitSeconds)))
    .addOption(new Option('--max-connections <n>', 'live connections tracked at most; beyond, the least recently active are finished early and counted (about 5 KB each)').argParser(inRange(10, 100_000_000, 'connections')).default(DEFAULT_MAX_CONNECTIONS, `${DEFAULT_MAX_CONNECTIONS} connections`))
    .addOption(new Option('--max-listed <n>', listedHelp).argParser(inRange(10, 100_000_000, 'connections')).default(listed, `${listed} connections`));
}

export function detectOptionsFrom(f: ThresholdFlags): DetectOptions {
  return {
    closeWaitSeconds: f.closeWait,
    halfOpenRetransmissions: f.halfOpenRetransmissions,
    synRetransmissions: f.synRetransmissions,
    zeroWindowSeconds: f.zeroWindow,
    timeWaitSeconds: f.timeWait,
    maxConnections: f.maxConnections,
    maxListedConnections: f.maxListed,
    ...withDecap(decapConfigFrom(f)),
  };
}

/** The decap member only when the flags set one: the JSON's options show it only then. */
function withDecap(decap: DecapConfig | undefined): { decap?: DecapConfig } {
  return decap === undefined ? {} : { decap };
}

/** --min-severity, with the help text of the command using it. */
export function minSeverityOption(description = 'show findings of this severity or worse'): Option {
  return new Option('--min-severity <severity>', description).choices([...SEVERITIES]).default('info' satisfies Severity);
}
