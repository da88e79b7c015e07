import { formatIso } from '../capture/timestamp.js';
import { SEVERITIES, severityRank, type Confidence, type Finding, type FindingKind, type Severity } from '../detect/finding.js';
import { hostOf } from './view.js';

/**
 * Findings that tell one story: the same kind and severity, the same endpoint at
 * fault (the server's address and port for a server's problem, the client's host for
 * a client's) and the same cause. A busy server's hundred leaked sockets are one
 * group, explained once.
 */
export interface FindingGroup {
  /** 1-based, in the order groups are reported: worst first, then largest, then earliest. */
  id: number;
  kind: FindingKind;
  severity: Severity;
  endpoint: 'client' | 'server';
  /** What the members share: "10.0.0.5:8080" for a server, "10.0.0.7" for a client. */
  where: string;
  /** And the virtual network their connections are in ("VXLAN VNI 42"), "" when none: the same address in two is two hosts. */
  network: string;
  /** The cause the detector named, where it names one (abortive-close's likely cause). */
  cause: string | null;
  /** Members in time order. */
  findings: Finding[];
  /** Their connections' ids, ascending, each once. */
  connections: number[];
  /** Their Wireshark tcp.stream numbers, ascending, each once. */
  streams: number[];
}

/** abortive-close's causes, as a verdict says them. */
const CAUSE_WORDS: Record<string, string> = {
  'unread-data': 'it closed with unread data',
  'so-linger-zero': 'SO_LINGER 0, or a deliberate abort',
  'idle-timeout': 'an idle timeout',
  'protocol-close': 'the protocol ends connections so',
};

/** What a group's members suffered, said of `side` (the endpoint at fault). */
function phrase(g: FindingGroup): string {
  const side = `the ${g.endpoint}`;
  switch (g.kind) {
    case 'close-wait-stuck':
      return `stuck in CLOSE-WAIT: ${side}'s application does not close them after the peer's FIN`;
    case 'write-after-fin':
      return `${side} wrote after the peer had closed and was answered with a RST (EPIPE, ECONNRESET)`;
    case 'abortive-close':
      return `closed by a RST from ${side}${g.cause ? ` (${CAUSE_WORDS[g.cause] ?? g.cause})` : ''}`;
    case 'peer-reset':
      return `reset by ${side}, which no longer had the connection (ECONNRESET on the other side)`;
    case 'half-open':
      return `${side} went silent while the peer still sent: half-open`;
    case 'connection-refused':
      return `refused by ${side}: nothing listened on the port (ECONNREFUSED)`;
    case 'syn-timeout':
      return `never answered by ${side}: the SYNs timed out (ETIMEDOUT)`;
    case 'handshake-abort':
      return `reset by ${side} right after the handshake`;
    case 'zero-window':
      return `${side} stopped reading: its receive window stayed at zero`;
    case 'half-close':
      return `half-closed by ${side}, with data flowing on afterwards`;
    case 'port-reuse':
      return `a 4-tuple reused while ${side}'s earlier connection on it was recent`;
    case 'icmp-unreachable':
      return `ICMP said ${side} cannot be reached`;
    case 'simultaneous-close':
      return 'closed by both sides at once';
    case 'listen-overflow':
      return `${side} did not take the connection from its accept queue in time`;
    case 'middlebox-reset':
      return `reset by something on the path, not by ${side} (the RST's TTL differs)`;
    case 'stray-rst':
      return `RSTs for no connection the capture knows open, in ${side}'s name`;
    default:
      // A detector not yet shipped: its kind's name says it until it gets words here.
      return `${g.kind} at ${side}`;
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The verdict of one group: its count, where and what. */
export function headline(g: FindingGroup): string {
  return `${plural(g.connections.length, 'connection')} ${g.endpoint === 'server' ? 'to' : 'from'} ${placeOf(g)}: ${phrase(g)}`;
}

/** Where a group's members are, in words: its `where`, in its virtual network if any ("10.0.0.5:8080 in VXLAN VNI 42"). */
export function placeOf(g: FindingGroup): string {
  return g.network === '' ? g.where : `${g.where} in ${g.network}`;
}

/** The endpoint at fault as groups share it: a server's address:port, a client's host. */
function whereOf(f: Finding): string {
  return f.endpoint === 'server' ? f.endpointAddress : hostOf(f.endpointAddress);
}

function causeOf(f: Finding): string | null {
  return f.kind === 'abortive-close' ? f.details.likelyCause : null;
}

function groupKey(f: Finding): string {
  return `${f.kind}|${f.severity}|${f.endpoint}|${whereOf(f)}|${f.network ?? ''}|${causeOf(f) ?? ''}`;
}

function earlier(a: Finding, b: Finding): number {
  return a.sec - b.sec || a.nsec - b.nsec || a.connection - b.connection;
}

/** Group `findings` (any order); every finding is in exactly one group. */
export function groupFindings(findings: readonly Finding[]): FindingGroup[] {
  const byKey = new Map<string, FindingGroup>();
  for (const f of findings) {
    const key = groupKey(f);
    let g = byKey.get(key);
    if (g === undefined) {
      g = {
        id: 0,
        kind: f.kind,
        severity: f.severity,
        endpoint: f.endpoint,
        where: whereOf(f),
        network: f.network ?? '',
        cause: causeOf(f),
        findings: [],
        connections: [],
        streams: [],
      };
      byKey.set(key, g);
    }
    g.findings.push(f);
  }
  const groups = [...byKey.values()];
  for (const g of groups) {
    g.findings.sort(earlier);
    g.connections = [...new Set(g.findings.map((f) => f.connection))].sort((a, b) => a - b);
    g.streams = [...new Set(g.findings.map((f) => f.stream).filter((s) => s >= 0))].sort((a, b) => a - b);
  }
  groups.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || b.connections.length - a.connections.length || earlier(a.findings[0]!, b.findings[0]!));
  groups.forEach((g, i) => (g.id = i + 1));
  return groups;
}

/** The group's first and last finding times. */
export function groupSpan(g: FindingGroup): { first: Finding; last: Finding } {
  return { first: g.findings[0]!, last: g.findings[g.findings.length - 1]! };
}

/** How sure the members are: "likely", or "likely (12), possible (3)" when they differ. */
export function groupConfidence(g: FindingGroup): string {
  const n = new Map<Confidence, number>();
  for (const f of g.findings) n.set(f.confidence, (n.get(f.confidence) ?? 0) + 1);
  if (n.size === 1) return g.findings[0]!.confidence;
  return [...n].map(([c, k]) => `${c} (${k})`).join(', ');
}

/** The most cautious of the members' confidences: what the group as a whole can claim. */
export function cautious(g: FindingGroup): Confidence {
  const c = confidenceCounts(g);
  return c.possible ? 'possible' : c.likely ? 'likely' : 'certain';
}

export function confidenceCounts(g: FindingGroup): Record<Confidence, number> {
  const n: Record<Confidence, number> = { certain: 0, likely: 0, possible: 0 };
  for (const f of g.findings) n[f.confidence]++;
  return n;
}

/** A Wireshark display filter showing the packets of `f`: its stream, narrowed to its frames. */
export function findingFilter(f: Finding, multi: boolean): string {
  const frames = [...f.packets];
  // Frames of other captures are numbered there: one file's frame numbers cannot name them.
  if (multi || f.otherPackets.length > 0 || frames.length === 0) return f.stream >= 0 ? `tcp.stream eq ${f.stream}` : '';
  const set = `frame.number in {${frames.join(', ')}}`;
  return f.stream >= 0 && !spansStreams(f) ? `tcp.stream eq ${f.stream} && ${set}` : set;
}

/** Findings whose packets include another connection's (so another stream's, as Wireshark may count it). */
function spansStreams(f: Finding): boolean {
  return f.kind === 'port-reuse' || (f.kind === 'stray-rst' && f.details.connections > 1);
}

/** A display filter showing every stream of the group. */
export function groupFilter(g: FindingGroup): string {
  if (g.streams.length === 0) return '';
  return g.streams.length === 1 ? `tcp.stream eq ${g.streams[0]}` : `tcp.stream in {${g.streams.join(', ')}}`;
}

/**
 * Groups of the same kind, severity, cause and side whose hosts are one, told in one
 * verdict line: "134 connections to 10.0.0.5:8080 (60) and :9090 (74): ...".
 */
export interface Verdict {
  severity: Severity;
  text: string;
  groups: FindingGroup[];
}

export function verdicts(groups: readonly FindingGroup[]): Verdict[] {
  const out = new Map<string, FindingGroup[]>();
  for (const g of groups) {
    const host = g.endpoint === 'server' ? hostOf(g.where) : g.where;
    const key = `${g.kind}|${g.severity}|${g.endpoint}|${host}|${g.network}|${g.cause ?? ''}`;
    const list = out.get(key);
    if (list) list.push(g);
    else out.set(key, [g]);
  }
  const list: Verdict[] = [];
  for (const gs of out.values()) {
    const first = gs[0]!;
    if (gs.length === 1) {
      list.push({ severity: first.severity, text: headline(first), groups: gs });
      continue;
    }
    const total = gs.reduce((n, g) => n + g.connections.length, 0);
    const ports = gs.map((g, i) => `${i === 0 ? g.where : `:${g.where.slice(g.where.lastIndexOf(':') + 1)}`} (${g.connections.length})`);
    const places = ports.length === 2 ? ports.join(' and ') : `${ports.slice(0, -1).join(', ')} and ${ports[ports.length - 1]}`;
    const network = first.network === '' ? '' : ` in ${first.network}`;
    list.push({ severity: first.severity, text: `${plural(total, 'connection')} to ${places}${network}: ${phrase(first)}`, groups: gs });
  }
  const size = (v: Verdict): number => v.groups.reduce((n, g) => n + g.connections.length, 0);
  return list.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || size(b) - size(a) || a.groups[0]!.id - b.groups[0]!.id);
}

/** "3 errors, 158 warnings, 2 info" of what the filter hides, or null when it hides nothing. */
export function hiddenBySeverity(all: readonly Finding[], shown: readonly Finding[]): string | null {
  if (all.length === shown.length) return null;
  const parts: string[] = [];
  for (const s of SEVERITIES) {
    const n = all.filter((f) => f.severity === s).length - shown.filter((f) => f.severity === s).length;
    if (n > 0) parts.push(s === 'info' ? `${n} info` : plural(n, s));
  }
  return parts.length ? parts.join(', ') : null;
}

/** When a group's members happened: "2026-12-07 10:00:01Z to 10:00:14Z". */
export function groupTimes(g: FindingGroup): string {
  const { first, last } = groupSpan(g);
  const a = formatIso(first.sec, first.nsec).replace('T', ' ');
  if (first === last) return a;
  const b = formatIso(last.sec, last.nsec).replace('T', ' ');
  return `${a} to ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b}`;
}
