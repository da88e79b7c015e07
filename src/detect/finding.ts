/**
 * Findings: the connection-lifecycle problems of docs/findings.md, one kind per section.
 * The kinds and their order (the output's) are the registry's detectors'
 * (registry.ts FINDING_KINDS); each kind's details type is declared here once it is
 * shipped (documented and in the JSON schema), or by its detector's own file before
 * that (declaration merging into FindingDetails).
 */

export const SEVERITIES = ['error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse. */
export function severityRank(s: Severity): number {
  return s === 'error' ? 3 : s === 'warning' ? 2 : 1;
}

/**
 * How far the packets go: certain (they alone prove it), likely (the usual cause;
 * the alternatives fit too), possible (one reading among several).
 */
export const CONFIDENCES = ['certain', 'likely', 'possible'] as const;
export type Confidence = (typeof CONFIDENCES)[number];

/**
 * One fact a finding rests on: what a captured packet shows, or (frame null) what the
 * capture's clock shows, such as "no packet from the server for 12.0 s".
 */
export interface Evidence {
  capture: number;
  frame: number | null;
  fact: string;
}

/** A packet: its capture (index of the file) and frame number in it. */
export interface PacketRef {
  capture: number;
  frame: number;
}

interface FindingBase<K extends FindingKind, D> {
  kind: K;
  severity: Severity;
  /** Connection id. */
  connection: number;
  /** Its connection's Wireshark tcp.stream. */
  stream: number;
  /** Which side the finding is about (docs/findings.md names it for each kind). */
  endpoint: 'client' | 'server';
  /** That side's address:port. */
  endpointAddress: string;
  /** Capture (index) and 1-based frame numbers, as Wireshark numbers them, that show it. */
  capture: number;
  packets: number[];
  /** Its packets in other captures than `capture` (several files merged: a connection can span them); empty for one file. */
  otherPackets: PacketRef[];
  /** When it became true: epoch seconds and nanoseconds. */
  sec: number;
  nsec: number;
  confidence: Confidence;
  /** Other causes that fit the same packets, each a short clause. */
  alternatives: string[];
  /** The facts it rests on, in the order they happened. */
  evidence: Evidence[];
  summary: string;
  explanation: string;
  details: D;
  /** What its text is rendered from (FindingProse); not part of the output. */
  prose?: ProseOf<K>;
  /** What the end-of-connection review (review.ts) added to the explanation, kept for a text rendered again; not part of the output. */
  caveats?: string;
  /** The virtual networks its connection is in ("VXLAN VNI 42"), when tunnelled: groups keep them apart; not a field of its own in the output. */
  network?: string;
}

/** The details of each shipped kind: the JSON contract (report/json-schema.ts documents each field). */
export interface ShippedDetails {
  'close-wait-stuck': { secondsInCloseWait: number; closedLater: boolean; peerFinFrame: number; /** When it entered CLOSE-WAIT, epoch seconds as a decimal string. */ enteredAt: string };
  'write-after-fin': { bytesWrittenAfterFin: number; finFrame: number; rstFrame: number; /** The writer sent its own FIN before the RST: a last message on its way out. */ writerClosed: boolean; /** Its data left before it acknowledged the peer's FIN. */ crossed: boolean };
  'abortive-close': { likelyCause: 'unread-data' | 'so-linger-zero' | 'idle-timeout' | 'protocol-close'; peerUnreadBytesLikely: boolean };
  'peer-reset': { rstFrame: number; answeredFrame: number };
  'half-open': {
    retransmissions: number;
    backoffSeconds: number[];
    silentSeconds: number;
    gaveUpWithRst: boolean;
    icmpUnreachable: boolean;
    /** The silent side answered again this long after the run's first retransmission; null: it never did. */
    answeredAfterSeconds: number | null;
  };
  'connection-refused': { refusalsOfThisPort: number; /** SYNs of this one connect() (one ISN) refused: a stack that retries after a RST. */ synsRefused: number };
  'syn-timeout': {
    /** SYNs the client sent (a copy the capture saw twice, within 5 ms, counts once). */
    synCount: number;
    intervalsSeconds: number[];
    icmpUnreachable: boolean;
    /** The server answered (SYN-ACK or RST) this long after the first SYN; null: it never did. */
    answeredAfterSeconds: number | null;
  };
  'handshake-abort': { secondsAfterHandshake: number };
  'zero-window': { seconds: number; ongoingAtEnd: boolean; probes: number; episodes: number };
  'half-close': { bytesAfterHalfClose: number };
  'port-reuse': { previousConnection: number; gapSeconds: number; timeWaitHolder: 'client' | 'server' | null; inTimeWait: boolean };
  'icmp-unreachable': { type: number; code: number; meaning: string; reporter: string; duringHandshake: boolean };
  'simultaneous-close': Record<string, never>;
  'listen-overflow': {
    /** SYN-ACKs the listener sent after its first (a copy the capture saw twice counts). */
    synAcksResent: number;
    /** The frame of the first of them: the one that showed the ACK was not taken. */
    resentFrame: number;
    /** From the peer's ACK of the SYN-ACK until the listener showed it took the connection; null: it never did in the capture. */
    takenAfterSeconds: number | null;
  };
  'middlebox-reset': {
    rstFrame: number;
    /** The RST's TTL (hop limit), and the range of every other packet of the side it claims to come from. */
    rstTtl: number;
    endpointTtl: [number, number];
    /** Hops from the capture point to whoever sent the RST, and to the endpoint, from the nearest initial TTL (64, 128, 255). */
    rstHops: number;
    endpointHops: number;
    /** Seconds the connection was silent before the segment the RST answered (or before the RST). */
    idleSeconds: number;
    /** The connection went on after it: the side it was sent to did not take it. */
    ignored: boolean;
  };
  'stray-rst': {
    /** RSTs on the tuple with no connection the capture knows open, and the seconds between the first and the last. */
    rsts: number;
    spanSeconds: number;
    /** Mean seconds between them (the span over the gaps); null for one. */
    periodSeconds: number | null;
    firstFrame: number;
    lastFrame: number;
    /** Connections on the tuple they were seen as (each a lone RST). */
    connections: number;
  };
}

/**
 * Every kind's details: the shipped ones, and those a detector not yet shipped
 * declares in its own file (`declare module './finding.js' { interface FindingDetails { ... } }`).
 */
export interface FindingDetails extends ShippedDetails {}

export type FindingKind = keyof FindingDetails & string;
/** Kinds documented in docs/findings.md, the README and the JSON schema. */
export type ShippedKind = keyof ShippedDetails;

/**
 * What a kind's text is made from beyond its details, for kinds whose text is
 * rendered again after it was raised (a renumbering, a revision); kept on the finding
 * (it crosses threads with it) and never written out.
 */
export interface FindingProse {}

type ProseOf<K extends FindingKind> = K extends keyof FindingProse ? FindingProse[K] : undefined;

/** Each kind's finding. */
export type FindingMap = { [K in FindingKind]: FindingBase<K, FindingDetails[K]> };
export type Finding = FindingMap[FindingKind];

export type FindingOf<K extends FindingKind> = FindingMap[K];
