/** Detector thresholds; README "Findings" documents each default. */
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
}

export const DEFAULT_DETECT_OPTIONS: DetectOptions = {
  closeWaitSeconds: 2,
  halfOpenRetransmissions: 3,
  synRetransmissions: 2,
  zeroWindowSeconds: 1,
  timeWaitSeconds: 60,
};
