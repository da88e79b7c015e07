import type { Connection } from './connection.js';
import type { Endpoint } from './endpoint.js';
import type { Now } from './now.js';
import type { TcpState } from './states.js';

/** What one segment did, for the detectors. Reused for every segment. */
export class SegmentInfo {
  conn: Connection = null as unknown as Connection;
  from: Endpoint = null as unknown as Endpoint;
  to: Endpoint = null as unknown as Endpoint;
  flags = 0;
  seq = 0;
  ack = 0;
  len = 0;
  /** States before the segment. */
  fromBefore: TcpState = 'CLOSED';
  toBefore: TcpState = 'CLOSED';
  /** The segment changed the state of either endpoint. */
  stateChanged = false;
  /** Payload or FIN sent again (below what the sender had already sent). */
  retransmission = false;
  /** A segment at SND.UNA - 1 with 0 or 1 byte: keep-alive, or window probe when the peer's window is 0. */
  keepAlive = false;
  windowProbe = false;
  /** tcp.analysis.* flags of the segment (SEQ_* bits of seq-analysis.ts), as tshark sets them. */
  analysis = 0;
  /** A RST its claimed sender did not send (forged-rst.ts). */
  forged = false;
  /** For a RST: the longer of the connection's silences before it and before the peer's last segment, which it answers; seconds. */
  idleBefore = 0;
  now: Now = null as unknown as Now;
  /** The segment opened a new connection (its first, or the first on a reused tuple). */
  created = false;
}
