/**
 * Zeek's view of one TCP connection (conn.log's conn_state and history). The
 * model lives in ./zeek/, split as Zeek splits its TCP analyzer: endpoint.ts
 * (TCP_Endpoint), sequence.ts and reassembly.ts (TCP.cc's sequence tracking,
 * TCP_Reassembler), history.ts (the history letters), timers.ts (when Zeek logs
 * a connection), conn-state.ts (conn_state()) and session.ts (TCPSessionAdapter,
 * the ZeekConnState class).
 */
export type { ZeekConnStateName } from './zeek/conn-state.js';
export {
  ZEEK_TCP_CLOSED,
  ZEEK_TCP_ESTABLISHED,
  ZEEK_TCP_INACTIVE,
  ZEEK_TCP_PARTIAL,
  ZEEK_TCP_RESET,
  ZEEK_TCP_SYN_ACK_SENT,
  ZEEK_TCP_SYN_SENT,
  type ZeekTcpState,
} from './zeek/endpoint.js';
export {
  ZEEK_BASE_LIKELY_SERVER_PORTS,
  ZEEK_SEGMENT_ADDED,
  ZEEK_SEGMENT_REUSED,
  ZEEK_SEGMENT_TIMED_OUT,
  ZeekConnState,
  type ZeekConnOptions,
  type ZeekSegmentResult,
} from './zeek/session.js';
export { ZEEK_DEFAULT_TIMEOUTS, type ZeekTimeouts } from './zeek/timers.js';
