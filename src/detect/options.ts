import type { DecapConfig } from '../decode/tunnel.js';

/** Detector thresholds, and what to decapsulate; README "Findings" documents each default. */
export interface DetectOptions {
  /** CLOSE-WAIT with neither FIN nor data from that side for this long is stuck. */
  closeWaitSeconds: number;
  /** Retransmissions or probes in a row, with nothing at all from the peer, that make it half-open. */
  halfOpenRetransmissions: number;
  /** SYN retransmissions with no answer that make a syn-timeout. */
  synRetransmissions: number;
  /** A zero window lasting this long is a stall worth a finding. */
  zeroWindowSeconds: number;
  /** TIME-WAIT length (Linux: 60 s), for port-reuse. */
  timeWaitSeconds: number;
  /**
   * Live connections tracked at most; beyond, the least recently active are
   * finished early (evicted), counted and reported. Bounds memory under a SYN flood.
   */
  maxConnections?: number;
  /** Connections kept for the report at most; beyond, finished ones without findings are only counted. */
  maxListedConnections?: number;
  /** The tunnels to look into, when not the default (every encapsulation, on its standard ports). */
  decap?: DecapConfig;
}

export const DEFAULT_MAX_CONNECTIONS = 100_000;
export const DEFAULT_MAX_LISTED_CONNECTIONS = 200_000;

export const DEFAULT_DETECT_OPTIONS: DetectOptions = {
  closeWaitSeconds: 2,
  halfOpenRetransmissions: 3,
  synRetransmissions: 2,
  zeroWindowSeconds: 1,
  timeWaitSeconds: 60,
};
