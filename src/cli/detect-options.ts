import { type Command, InvalidArgumentError, Option } from 'commander';
import { SEVERITIES, type Severity } from '../detect/finding.js';
import { DEFAULT_DETECT_OPTIONS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_LISTED_CONNECTIONS, type DetectOptions } from '../detect/options.js';

/** Options shared by the commands that run the detectors (analyze, annotate). */

/** "2", "2s", "500ms", "1m" in seconds. */
export function seconds(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 2, 2s, 500ms or 1m');
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
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

/** What commander gives for the threshold options. */
export interface ThresholdFlags {
  closeWait: number;
  halfOpenRetransmissions: number;
  synRetransmissions: number;
  zeroWindow: number;
  timeWait: number;
  maxConnections: number;
  maxListed: number;
}

/** Add the detection thresholds (README "Commands and options") to a command. */
export function addThresholdOptions(cmd: Command): Command {
  const d = DEFAULT_DETECT_OPTIONS;
  return cmd
    .option('--close-wait <duration>', 'CLOSE-WAIT with neither FIN nor data for this long is stuck', seconds, d.closeWaitSeconds)
    .option('--half-open-retransmissions <n>', 'unanswered retransmissions or probes in a row that make a peer half-open (a burst of segments resent in one go counts once)', count, d.halfOpenRetransmissions)
    .option('--syn-retransmissions <n>', 'unanswered SYN retransmissions that make a syn-timeout', count, d.synRetransmissions)
    .option('--zero-window <duration>', 'a zero window lasting this long is reported', seconds, d.zeroWindowSeconds)
    .option('--time-wait <duration>', 'TIME-WAIT length of the hosts (Linux: 60s)', seconds, d.timeWaitSeconds)
    .option('--max-connections <n>', 'live connections tracked at most; beyond, the least recently active are finished early and counted (about 5 KB each)', count, DEFAULT_MAX_CONNECTIONS)
    .option('--max-listed <n>', 'connections kept for the report at most; beyond, finished ones without findings are only counted', count, DEFAULT_MAX_LISTED_CONNECTIONS);
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
  };
}

/** --min-severity, with the help text of the command using it. */
export function minSeverityOption(description = 'show findings of this severity or worse'): Option {
  return new Option('--min-severity <severity>', description).choices([...SEVERITIES]).default('info' satisfies Severity);
}
