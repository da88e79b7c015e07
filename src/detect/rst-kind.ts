import { TCP_RST } from '../decode/packet.js';
import { samePacket } from '../track/moment.js';
import type { SegmentInfo } from '../track/tracker.js';
import type { DetectOptions } from './options.js';

/** What a RST means. The RST detectors share this so that each RST gets one meaning only. */
export type RstMeaning = 'refused' | 'write-after-fin' | 'handshake-abort' | 'peer-reset' | 'abortive' | 'gave-up' | null;

/**
 * Classify a RST from `seg.from`. Linux (like the BSDs) sends RST+ACK when an
 * application aborts a connection it holds (SO_LINGER 0, unread data at close),
 * and a bare RST, sequence number taken from the segment's ACK, when a segment
 * arrives for a connection it does not know (RFC 9293 3.10.7.1).
 */
export function rstMeaning(seg: SegmentInfo, o: DetectOptions): RstMeaning {
  if (!(seg.flags & TCP_RST)) return null;
  const x = seg.from;
  const y = seg.to;
  const c = seg.conn;
  if (seg.toBefore === 'SYN-SENT' && y.state === 'CLOSED' && x === c.server) return 'refused';
  if (seg.fromBefore === 'CLOSED' || seg.fromBefore === 'LISTEN' || seg.fromBefore === 'SYN-SENT') return null;
  const finBefore = x.finAt !== null && !samePacket(x.finAt, seg.now);
  if (finBefore && y.dataAfterPeerFin > 0) return 'write-after-fin';
  if (finBefore) return null;
  // The kernel giving up on a silent peer: after enough retransmissions, or when
  // keep-alive probes went unanswered (Linux resets when keep-alive gives up).
  if (x.unanswered >= o.halfOpenRetransmissions || (x.unansweredProbes > 0 && x.unansweredProbes === x.unanswered)) return 'gave-up';
  if (x === c.client && seg.fromBefore === 'ESTABLISHED' && c.client.payloadBytes === 0 && c.server.payloadBytes === 0 && !c.partial) return 'handshake-abort';
  if (seg.fromBefore !== 'ESTABLISHED' && seg.fromBefore !== 'CLOSE-WAIT') return null;
  return x.rstHadAck ? 'abortive' : 'peer-reset';
}
