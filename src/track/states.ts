/** RFC 9293 section 3.3.2 connection states, spelled as the RFC and `ss` users read them. */
export const TCP_STATES = [
  'CLOSED',
  'LISTEN',
  'SYN-SENT',
  'SYN-RECEIVED',
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
] as const;

export type TcpState = (typeof TCP_STATES)[number];

/** States in which the connection is synchronized (RFC 9293 3.5.2 groups). */
export function isSynchronized(s: TcpState): boolean {
  return s !== 'CLOSED' && s !== 'LISTEN' && s !== 'SYN-SENT' && s !== 'SYN-RECEIVED';
}

/** Done with the connection: nothing left to send or receive (TIME-WAIT only waits). */
export function isClosed(s: TcpState): boolean {
  return s === 'CLOSED' || s === 'TIME-WAIT';
}

/** No connection on that side at all: closed, or a listener that never took it. */
export function holdsNothing(s: TcpState): boolean {
  return s === 'CLOSED' || s === 'LISTEN';
}

/** Nothing left of the connection on that side but, at most, TIME-WAIT. */
export function isOver(s: TcpState): boolean {
  return isClosed(s) || s === 'LISTEN';
}

/** How `ss -tan` names each state, for comparing with kernel truth. */
export const SS_NAMES: Record<string, TcpState> = {
  'ESTAB': 'ESTABLISHED',
  'SYN-SENT': 'SYN-SENT',
  'SYN-RECV': 'SYN-RECEIVED',
  'FIN-WAIT-1': 'FIN-WAIT-1',
  'FIN-WAIT-2': 'FIN-WAIT-2',
  'TIME-WAIT': 'TIME-WAIT',
  'CLOSE': 'CLOSED',
  'CLOSE-WAIT': 'CLOSE-WAIT',
  'LAST-ACK': 'LAST-ACK',
  'LISTEN': 'LISTEN',
  'CLOSING': 'CLOSING',
};
