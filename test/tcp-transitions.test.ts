import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TcpHeader } from '../src/decode/packet.js';
import { Endpoint } from '../src/track/endpoint.js';
import type { Moment } from '../src/track/moment.js';
import { Now } from '../src/track/now.js';
import { noteSent } from '../src/track/segment-facts.js';
import { onSegment } from '../src/track/state-machine.js';
import { TCP_STATES, type TcpState } from '../src/track/states.js';
import { TcpEvent, step } from '../src/track/tcp-transitions.js';

/**
 * The state machine without a pcap: bare endpoints, driven first event by event
 * (every arm of tcp-transitions.ts against the table below, and nothing else moves a
 * state), then segment by segment through the front end (state-machine.ts), each arm
 * reached as the RFC says, on the client and on the server where either can take it.
 */

type EventName = keyof typeof TcpEvent;
const EVENT_NAMES = Object.keys(TcpEvent) as EventName[];

interface Arm {
  event: EventName;
  /** The state the arm acts in; '*' for an inference that holds in any state. */
  from: TcpState | '*';
  to: TcpState;
  /** RFC 9293 section (or the layer) that says so. */
  rfc: string;
  /** The arm needs the endpoint's own FIN acknowledged (true) or not (false); absent: either. */
  finAcked?: boolean;
}

const OPEN_STATES = TCP_STATES.filter((s) => s !== 'CLOSED');

const ARMS: readonly Arm[] = [
  { event: 'SentSyn', from: 'CLOSED', to: 'SYN-SENT', rfc: '3.10.1 OPEN call' },
  { event: 'SentSyn', from: 'LISTEN', to: 'SYN-SENT', rfc: '3.10.2 SEND call in LISTEN' },
  { event: 'SentSynAck', from: 'LISTEN', to: 'SYN-RECEIVED', rfc: '3.10.7.2 LISTEN, SYN arrives' },
  { event: 'SentSynAck', from: 'SYN-SENT', to: 'SYN-RECEIVED', rfc: '3.10.7.3 SYN-SENT, simultaneous open' },
  { event: 'SentSynAck', from: 'CLOSED', to: 'SYN-RECEIVED', rfc: 'capture: LISTEN not seen' },
  { event: 'GotSynAck', from: 'SYN-SENT', to: 'ESTABLISHED', rfc: '3.10.7.3 SYN-SENT, SYN and ACK' },
  { event: 'SynAckAcked', from: 'SYN-RECEIVED', to: 'ESTABLISHED', rfc: '3.10.7.4 SYN-RECEIVED, acceptable ACK' },
  { event: 'SentFin', from: 'SYN-RECEIVED', to: 'FIN-WAIT-1', rfc: '3.10.4 CLOSE in SYN-RECEIVED' },
  { event: 'SentFin', from: 'ESTABLISHED', to: 'FIN-WAIT-1', rfc: '3.10.4 CLOSE in ESTABLISHED' },
  { event: 'SentFin', from: 'CLOSE-WAIT', to: 'LAST-ACK', rfc: '3.10.4 CLOSE in CLOSE-WAIT' },
  { event: 'FinAcked', from: 'FIN-WAIT-1', to: 'FIN-WAIT-2', rfc: '3.10.7.4 ACK, FIN-WAIT-1' },
  { event: 'FinAcked', from: 'CLOSING', to: 'TIME-WAIT', rfc: '3.10.7.4 ACK, CLOSING' },
  { event: 'FinAcked', from: 'LAST-ACK', to: 'CLOSED', rfc: '3.10.7.4 ACK, LAST-ACK' },
  { event: 'GotFin', from: 'SYN-RECEIVED', to: 'CLOSE-WAIT', rfc: '3.10.7.4 FIN, SYN-RECEIVED' },
  { event: 'GotFin', from: 'ESTABLISHED', to: 'CLOSE-WAIT', rfc: '3.10.7.4 FIN, ESTABLISHED' },
  { event: 'GotFin', from: 'FIN-WAIT-1', to: 'CLOSING', rfc: '3.10.7.4 FIN, FIN-WAIT-1 (FINs crossed)', finAcked: false },
  { event: 'GotFin', from: 'FIN-WAIT-1', to: 'TIME-WAIT', rfc: '3.10.7.4 FIN, FIN-WAIT-1, own FIN acknowledged', finAcked: true },
  { event: 'GotFin', from: 'FIN-WAIT-2', to: 'TIME-WAIT', rfc: '3.10.7.4 FIN, FIN-WAIT-2' },
  ...OPEN_STATES.map((from): Arm => ({ event: 'SentRst', from, to: 'CLOSED', rfc: '3.10.5 ABORT' })),
  ...OPEN_STATES.filter((s) => s !== 'LISTEN').map((from): Arm => ({ event: 'GotRst', from, to: 'CLOSED', rfc: from === 'SYN-SENT' ? '3.10.7.3 RST' : '3.10.7.4 RST' })),
  { event: 'TimeWaitTimeout', from: 'TIME-WAIT', to: 'CLOSED', rfc: '3.10.8 Time-Wait Timeout' },
  { event: 'UnseenSynAckAcked', from: 'LISTEN', to: 'ESTABLISHED', rfc: 'capture: SYN-ACK not seen, 3.10.7.2 + 3.10.7.4' },
  { event: 'UnseenFinAfterPeer', from: '*', to: 'LAST-ACK', rfc: 'capture: FIN not seen, 3.10.4 in CLOSE-WAIT' },
  { event: 'UnseenFin', from: '*', to: 'FIN-WAIT-1', rfc: 'capture: FIN not seen, 3.10.4 in ESTABLISHED' },
  { event: 'ResetUndone', from: 'CLOSED', to: 'ESTABLISHED', rfc: 'capture: the RST did not end it (back to its state before)' },
  { event: 'SynAckResent', from: 'ESTABLISHED', to: 'SYN-RECEIVED', rfc: 'Linux accept queue: 3.10.8 retransmission in SYN-RECEIVED' },
  { event: 'TookConnection', from: 'SYN-RECEIVED', to: 'ESTABLISHED', rfc: 'Linux accept queue: 3.10.7.4 acceptable ACK' },
];

const T0: Moment = { sec: 1000, nsec: 0, frame: 1, capture: 0 };
const T1: Moment = { sec: 1001, nsec: 0, frame: 2, capture: 0 };

/** What the table says `event` does in `state`: the state it enters, or the same state. */
function expected(event: EventName, state: TcpState, finAcked: boolean): TcpState {
  const arm = ARMS.find((a) => a.event === event && (a.from === state || a.from === '*') && (a.finAcked ?? finAcked) === finAcked);
  return arm?.to ?? state;
}

describe('tcp-transitions: every event in every state, against the table', () => {
  it('the table names every event, and every event has an arm', () => {
    expect(new Set(ARMS.map((a) => a.event))).toEqual(new Set(EVENT_NAMES));
  });
  for (const name of EVENT_NAMES) {
    for (const finAcked of [false, true]) {
      it(`${name}${finAcked ? ' (own FIN acknowledged)' : ''}: the arms of the table, and no other change`, () => {
        for (const state of TCP_STATES) {
          const e = new Endpoint('client', state, T0);
          e.finAcked = finAcked;
          step(e, TcpEvent[name], T1, 'test', 'ESTABLISHED');
          const to = expected(name, state, finAcked);
          expect(`${state} -> ${e.state}`).toBe(`${state} -> ${to}`);
          // A transition is recorded with its time and cause; no transition, no record.
          expect(e.transitionCount).toBe(to === state ? 0 : 1);
          if (to !== state) expect([e.since, e.transitionWhy(0)]).toEqual([T1, 'test']);
        }
      });
    }
  }
});

type Side = 'a' | 'b';

/**
 * Two bare endpoints on a wire, `a` the one whose arm is tested, given the role
 * `role`. Each segment goes through the front end and then the facts it reads
 * (noteSent), as the tracker does. Sequence numbers follow by themselves: a segment
 * acknowledges all its sender has seen unless told to acknowledge less.
 */
class Wire {
  readonly a: Endpoint;
  readonly b: Endpoint;
  private readonly now = new Now();
  private t = 0;
  private readonly nxt = { a: 1000, b: 5000 };
  /** What each side has seen of the other (what it acknowledges by default). */
  private readonly seen = { a: 5000, b: 1000 };

  constructor(role: 'client' | 'server', initialA: TcpState, initialB: TcpState) {
    const peer = role === 'client' ? 'server' : 'client';
    this.a = new Endpoint(role, initialA, T0);
    this.b = new Endpoint(peer, initialB, T0);
  }

  /** Send a segment from `x`; `ack` overrides what it acknowledges; `gap` is the seconds since the last segment. */
  send(x: Side, flags: number, opts: { len?: number; ack?: number; seq?: number; gap?: number } = {}): this {
    const y: Side = x === 'a' ? 'b' : 'a';
    this.t += opts.gap ?? 0.01;
    const sec = 1000 + Math.floor(this.t);
    this.now.set(sec, Math.round((this.t - Math.floor(this.t)) * 1e9), Math.round(this.t * 100) + 1, 0);
    const tcp = new TcpHeader();
    const len = opts.len ?? 0;
    tcp.flags = flags;
    tcp.seq = (opts.seq ?? this.nxt[x]) >>> 0;
    tcp.ack = flags & TCP_ACK ? (opts.ack ?? this.seen[x]) >>> 0 : 0;
    tcp.payloadLength = len;
    tcp.window = 65535;
    const from = this[x];
    const to = this[y];
    onSegment(from, to, tcp, this.now);
    noteSent(from, to, tcp, this.now);
    if (opts.seq === undefined && !(flags & TCP_RST)) this.nxt[x] += len + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
    this.seen[y] = this.nxt[x];
    return this;
  }

  /** The segment's sender's next sequence number. */
  next(x: Side): number {
    return this.nxt[x];
  }

  /** `a` opens to `b` listening, through the three-way handshake. */
  handshake(): this {
    return this.send('a', TCP_SYN).send('b', TCP_SYN | TCP_ACK).send('a', TCP_ACK);
  }

  states(): string {
    return `${this.a.state} / ${this.b.state}`;
  }
}

const SA = TCP_SYN | TCP_ACK;
const FA = TCP_FIN | TCP_ACK;
const RA = TCP_RST | TCP_ACK;

/** A side's role and the other's, for an arm either can take. */
const ROLES = ['client', 'server'] as const;

/**
 * Wires on which `a` has just reached each state by real segments (with `b` in the
 * state those segments put it in). Their own states are checked in the first test.
 */
const REACH: Record<Exclude<TcpState, 'CLOSED'>, { wire: (role: 'client' | 'server') => Wire; b: TcpState }> = {
  'LISTEN': { wire: (r) => new Wire(r, 'LISTEN', 'CLOSED'), b: 'CLOSED' },
  'SYN-SENT': { wire: (r) => new Wire(r, 'CLOSED', 'LISTEN').send('a', TCP_SYN), b: 'LISTEN' },
  'SYN-RECEIVED': { wire: (r) => new Wire(r, 'LISTEN', 'CLOSED').send('b', TCP_SYN).send('a', SA), b: 'SYN-SENT' },
  'ESTABLISHED': { wire: (r) => new Wire(r, 'CLOSED', 'LISTEN').handshake(), b: 'ESTABLISHED' },
  'FIN-WAIT-1': { wire: (r) => new Wire(r, 'CLOSED', 'LISTEN').handshake().send('a', FA), b: 'ESTABLISHED' },
  'FIN-WAIT-2': { wire: (r) => new Wire(r, 'CLOSED', 'LISTEN').handshake().send('a', FA).send('b', TCP_ACK), b: 'CLOSE-WAIT' },
  'CLOSE-WAIT': { wire: (r) => new Wire(r, 'CLOSED', 'LISTEN').handshake().send('b', FA).send('a', TCP_ACK), b: 'FIN-WAIT-2' },
  'CLOSING': {
    // The FINs cross: each is sent before the other arrives, then each is acknowledged.
    wire: (r) => {
      const w = new Wire(r, 'CLOSED', 'LISTEN').handshake();
      const before = w.next('a');
      return w.send('a', FA).send('b', FA, { ack: before }).send('a', TCP_ACK);
    },
    b: 'TIME-WAIT',
  },
  'LAST-ACK': { wire: (r) => new Wire(r, 'CLOSED', 'LISTEN').handshake().send('b', FA).send('a', TCP_ACK).send('a', FA), b: 'FIN-WAIT-2' },
  'TIME-WAIT': { wire: (r) => new Wire(r, 'CLOSED', 'LISTEN').handshake().send('a', FA).send('b', TCP_ACK).send('b', FA).send('a', TCP_ACK), b: 'CLOSED' },
};

describe('tcp-transitions: states reached by segments (the starting points below)', () => {
  for (const [state, r] of Object.entries(REACH)) {
    for (const role of ROLES) {
      it(`${role} reaches ${state}`, () => {
        const w = r.wire(role);
        expect(w.states()).toBe(`${state} / ${r.b}`);
        expect(w.a.role).toBe(role);
      });
    }
  }
});

/**
 * Each arm, by segments: the starting wire (a REACH entry or a scenario of its own),
 * what happens next, and the state `a` must be in. Run for the client and the server.
 */
interface ByWire {
  arm: string;
  start: (role: 'client' | 'server') => Wire;
  then: (w: Wire) => void;
  a: TcpState;
  b?: TcpState;
}

const reach = (s: Exclude<TcpState, 'CLOSED'>) => REACH[s].wire;

const BY_WIRE: readonly ByWire[] = [
  { arm: 'SentSyn CLOSED', start: (r) => new Wire(r, 'CLOSED', 'LISTEN'), then: (w) => w.send('a', TCP_SYN), a: 'SYN-SENT', b: 'LISTEN' },
  { arm: 'SentSyn LISTEN', start: reach('LISTEN'), then: (w) => w.send('a', TCP_SYN), a: 'SYN-SENT' },
  { arm: 'SentSynAck LISTEN', start: reach('LISTEN'), then: (w) => w.send('b', TCP_SYN).send('a', SA), a: 'SYN-RECEIVED', b: 'SYN-SENT' },
  { arm: 'SentSynAck SYN-SENT', start: (r) => new Wire(r, 'CLOSED', 'CLOSED').send('a', TCP_SYN).send('b', TCP_SYN, { gap: 0.001 }), then: (w) => w.send('a', SA), a: 'SYN-RECEIVED' },
  { arm: 'SentSynAck CLOSED', start: (r) => new Wire(r, 'CLOSED', 'CLOSED'), then: (w) => w.send('b', TCP_SYN).send('a', SA), a: 'SYN-RECEIVED' },
  { arm: 'GotSynAck SYN-SENT', start: reach('SYN-SENT'), then: (w) => w.send('b', SA).send('a', TCP_ACK), a: 'ESTABLISHED', b: 'ESTABLISHED' },
  { arm: 'SynAckAcked SYN-RECEIVED', start: reach('SYN-RECEIVED'), then: (w) => w.send('b', TCP_ACK), a: 'ESTABLISHED', b: 'ESTABLISHED' },
  { arm: 'SentFin SYN-RECEIVED', start: reach('SYN-RECEIVED'), then: (w) => w.send('a', FA), a: 'FIN-WAIT-1' },
  { arm: 'SentFin ESTABLISHED', start: reach('ESTABLISHED'), then: (w) => w.send('a', FA), a: 'FIN-WAIT-1', b: 'ESTABLISHED' },
  { arm: 'SentFin CLOSE-WAIT', start: reach('CLOSE-WAIT'), then: (w) => w.send('a', FA), a: 'LAST-ACK', b: 'FIN-WAIT-2' },
  { arm: 'FinAcked FIN-WAIT-1', start: reach('FIN-WAIT-1'), then: (w) => w.send('b', TCP_ACK), a: 'FIN-WAIT-2', b: 'CLOSE-WAIT' },
  { arm: 'FinAcked CLOSING', start: reach('CLOSING'), then: (w) => w.send('b', TCP_ACK), a: 'TIME-WAIT', b: 'TIME-WAIT' },
  { arm: 'FinAcked LAST-ACK', start: reach('LAST-ACK'), then: (w) => w.send('b', TCP_ACK), a: 'CLOSED', b: 'TIME-WAIT' },
  {
    arm: 'GotFin SYN-RECEIVED',
    // The peer's FIN comes before its ACK of our SYN-ACK: the ACK delivers it.
    start: reach('SYN-RECEIVED'),
    then: (w) => w.send('b', TCP_FIN, { seq: w.next('b') }).send('b', TCP_ACK),
    a: 'CLOSE-WAIT',
  },
  { arm: 'GotFin ESTABLISHED', start: reach('ESTABLISHED'), then: (w) => w.send('b', FA).send('a', TCP_ACK), a: 'CLOSE-WAIT', b: 'FIN-WAIT-2' },
  {
    arm: 'GotFin FIN-WAIT-1 (FINs crossed)',
    start: reach('FIN-WAIT-1'),
    then: (w) => w.send('b', FA, { ack: w.next('a') - 1 }).send('a', TCP_ACK),
    a: 'CLOSING',
  },
  { arm: 'GotFin FIN-WAIT-2', start: reach('FIN-WAIT-2'), then: (w) => w.send('b', FA).send('a', TCP_ACK), a: 'TIME-WAIT', b: 'CLOSED' },
  ...(Object.keys(REACH) as Exclude<TcpState, 'CLOSED'>[]).map(
    (s): ByWire => ({ arm: `SentRst ${s}`, start: reach(s), then: (w) => w.send('a', s === 'SYN-SENT' || s === 'LISTEN' ? TCP_RST : RA), a: 'CLOSED' }),
  ),
  ...(Object.keys(REACH) as Exclude<TcpState, 'CLOSED'>[])
    .filter((s) => s !== 'LISTEN' && s !== 'TIME-WAIT')
    .map((s): ByWire => ({ arm: `GotRst ${s}`, start: reach(s), then: (w) => w.send('b', s === 'SYN-SENT' ? RA : TCP_RST, s === 'SYN-SENT' ? { ack: w.next('a'), seq: 0 } : {}), a: 'CLOSED', b: 'CLOSED' })),
  {
    arm: 'GotRst TIME-WAIT',
    // A RST in sequence for the side still in TIME-WAIT (RFC 1337 notes the hazard; RFC 9293 3.10.7.4 closes it).
    start: reach('TIME-WAIT'),
    then: (w) => w.send('b', TCP_RST, { seq: w.next('b') }),
    a: 'CLOSED',
  },
  {
    arm: 'GotRst SYN-SENT, not acknowledging the SYN: ignored',
    start: reach('SYN-SENT'),
    then: (w) => w.send('b', RA, { ack: w.next('a') + 7, seq: 0 }),
    a: 'SYN-SENT',
  },
  {
    arm: 'GotRst ESTABLISHED, out of the window: ignored (RFC 5961)',
    start: reach('ESTABLISHED'),
    then: (w) => w.send('b', TCP_RST, { seq: w.next('b') + 1_000_000 }),
    a: 'ESTABLISHED',
  },
  {
    arm: 'UnseenSynAckAcked LISTEN (only the client seen)',
    start: (r) => new Wire(r, 'LISTEN', 'CLOSED'),
    then: (w) => w.send('b', TCP_SYN).send('b', TCP_ACK, { ack: 77_000 }),
    a: 'ESTABLISHED',
    b: 'ESTABLISHED',
  },
  {
    arm: 'UnseenFin (only the peer seen, it acknowledges one more)',
    start: (r) => new Wire(r, 'ESTABLISHED', 'ESTABLISHED').send('b', TCP_ACK, { len: 10 }),
    then: (w) => w.send('b', FA, { ack: w.next('a') + 1 }),
    // Its FIN entered FIN-WAIT-1, and the same ACK took it on to FIN-WAIT-2; the peer closes too.
    a: 'FIN-WAIT-2',
    b: 'LAST-ACK',
  },
  {
    arm: 'UnseenFinAfterPeer (only the peer seen, its FIN first)',
    start: (r) => new Wire(r, 'ESTABLISHED', 'ESTABLISHED').send('b', TCP_ACK, { len: 10 }).send('b', FA),
    then: (w) => w.send('b', TCP_ACK, { ack: w.next('a') + 1 }),
    // Its FIN entered LAST-ACK, and the same ACK closed it; the peer, its FIN acknowledged and the other's received, waits.
    a: 'CLOSED',
    b: 'TIME-WAIT',
  },
  {
    arm: 'ResetUndone (a RST in its name, then it goes on sending)',
    start: reach('ESTABLISHED'),
    then: (w) => w.send('a', RA).send('a', TCP_ACK, { len: 100 }),
    a: 'ESTABLISHED',
  },
  {
    arm: 'SynAckResent ESTABLISHED (Linux: accept queue full)',
    start: reach('SYN-RECEIVED'),
    then: (w) => w.send('b', TCP_ACK).send('a', SA, { seq: w.next('a') - 1, gap: 1 }),
    a: 'SYN-RECEIVED',
    b: 'ESTABLISHED',
  },
  {
    arm: 'TookConnection SYN-RECEIVED (Linux: taken from the queue)',
    start: reach('SYN-RECEIVED'),
    then: (w) => w.send('b', TCP_ACK).send('a', SA, { seq: w.next('a') - 1, gap: 1 }).send('b', TCP_ACK).send('a', TCP_ACK),
    a: 'ESTABLISHED',
  },
];

describe('tcp-transitions: each arm reached by segments, on either endpoint', () => {
  for (const c of BY_WIRE) {
    for (const role of ROLES) {
      it(`${c.arm}, taken by the ${role}`, () => {
        const w = c.start(role);
        c.then(w);
        expect(w.a.state).toBe(c.a);
        if (c.b !== undefined) expect(w.b.state).toBe(c.b);
      });
    }
  }

  it('every arm of the table is reached by segments, but the TIME-WAIT timer (the tracker runs it) and a FIN-WAIT-1 whose FIN is already acknowledged', () => {
    const reached = new Set<string>();
    for (const c of BY_WIRE) for (const role of ROLES) {
      const w = c.start(role);
      const record = (e: Endpoint, from: number): void => {
        for (let i = from; i < e.transitionCount; i++) reached.add(`${e.transitionFrom(i)} -> ${e.transitionTo(i)}`);
      };
      const [na, nb] = [w.a.transitionCount, w.b.transitionCount];
      c.then(w);
      record(w.a, na);
      record(w.b, nb);
    }
    const missing = ARMS.filter((a) => a.from !== '*' && a.event !== 'TimeWaitTimeout' && !a.finAcked && !reached.has(`${a.from} -> ${a.event === 'ResetUndone' ? 'ESTABLISHED' : a.to}`));
    expect(missing.map((a) => `${a.event} ${a.from}`)).toEqual([]);
  });
});
