import { ZEEK_TCP_CLOSED, ZEEK_TCP_ESTABLISHED, ZEEK_TCP_INACTIVE, ZEEK_TCP_PARTIAL, ZEEK_TCP_RESET, ZEEK_TCP_SYN_ACK_SENT, ZEEK_TCP_SYN_SENT } from './endpoint.js';
import { synThenRst } from './history.js';

export type ZeekConnStateName =
  | 'S0'
  | 'S1'
  | 'SF'
  | 'REJ'
  | 'S2'
  | 'S3'
  | 'RSTO'
  | 'RSTR'
  | 'RSTOS0'
  | 'RSTRH'
  | 'SH'
  | 'SHR'
  | 'OTH';

/**
 * conn.log's conn_state, as base/protocols/conn's conn_state() derives it from
 * the endpoint states of originator (`os`) and responder (`rs`). `noPayload`:
 * neither side sent payload (orig_bytes and resp_bytes are 0); `hist`: the
 * history letters.
 */
export function connStateName(os: number, rs: number, noPayload: boolean, hist: readonly number[]): ZeekConnStateName {
  const oInactive = os === ZEEK_TCP_INACTIVE || os === ZEEK_TCP_PARTIAL;
  const rInactive = rs === ZEEK_TCP_INACTIVE || rs === ZEEK_TCP_PARTIAL;
  if (rs === ZEEK_TCP_RESET) {
    if (os === ZEEK_TCP_SYN_SENT || os === ZEEK_TCP_SYN_ACK_SENT || (os === ZEEK_TCP_RESET && noPayload)) return 'REJ';
    return oInactive ? 'RSTRH' : 'RSTR';
  }
  if (os === ZEEK_TCP_RESET) {
    if (rInactive) return synThenRst(hist) ? 'RSTOS0' : 'OTH';
    return 'RSTO';
  }
  if (rs === ZEEK_TCP_CLOSED && os === ZEEK_TCP_CLOSED) return 'SF';
  if (os === ZEEK_TCP_CLOSED) return rInactive ? 'SH' : 'S2';
  if (rs === ZEEK_TCP_CLOSED) return oInactive ? 'SHR' : 'S3';
  if (os === ZEEK_TCP_SYN_SENT && rs === ZEEK_TCP_INACTIVE) return 'S0';
  if (os === ZEEK_TCP_ESTABLISHED && rs === ZEEK_TCP_ESTABLISHED) return 'S1';
  return 'OTH';
}
