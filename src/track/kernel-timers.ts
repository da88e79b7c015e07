import type { Connection } from './connection.js';
import type { Endpoint } from './endpoint.js';
import { secondsBetween, type Moment } from './moment.js';
import type { SegmentInfo } from './segment-info.js';
import { TcpEvent, step } from './tcp-transitions.js';
import { holdsNothing } from './states.js';
import { MostlyOrderedQueue } from '../util/min-heap.js';
import { isEarlier } from '../util/time.js';

/** A timer on the capture's clock, keyed by when it started: a closed connection's wait to be forgotten. */
interface Timer {
  sec: number;
  nsec: number;
  c: Connection;
}

/** A TIME-WAIT timer: its endpoint, and the moment it entered TIME-WAIT (a later entry makes the timer stale). */
interface TimeWaitTimer extends Timer {
  e: Endpoint;
  since: Moment;
}

const startedFirst = (a: Timer, b: Timer): boolean => isEarlier(a.sec, a.nsec, b.sec, b.nsec);


/** What the timers need of the tracker: to stop tracking a connection whose wait ran out. */
export interface Forgetting {
  forget(c: Connection): void;
}

/**
 * The kernel's timers the capture cannot show, run on the capture's clock: TIME-WAIT's
 * end, and how long a connection closed on both sides is kept before a segment on its
 * tuple starts a new one. And the clock's watch: the connections whose findings the
 * passing of time alone can make true. Only the timers due are looked at.
 */
export class KernelTimers {
  /** Endpoints in TIME-WAIT, by when they entered it: their timers run out in that order. */
  private readonly timeWaits = new MostlyOrderedQueue<TimeWaitTimer>(startedFirst);
  /** Connections closed on both sides, by their last packet: forgotten in that order, closedLingerSeconds later. */
  private readonly lingering = new MostlyOrderedQueue<Timer>(startedFirst);
  /**
   * The connections the clock's detectors may act on (needsClock), each once
   * (Connection.watched): added when a segment makes them need it, dropped at the
   * next tick when they no longer do, so a tick looks at these alone and not at every
   * connection waiting out TIME-WAIT.
   */
  private watched: Connection[] = [];

  constructor(
    private readonly timeWaitSeconds: number,
    private readonly closedLingerSeconds: number,
    /** The clock's detectors act on the connection (declared by the detectors). */
    private readonly needsClock: (c: Connection) => boolean,
    private readonly owner: Forgetting,
  ) {}

  /** Start the timers the segment's state changes call for, and keep the clock's watch. */
  onSegment(c: Connection, seg: SegmentInfo, backwards: boolean): void {
    const { from, to } = seg;
    const changed = seg.stateChanged;
    if (changed) {
      if (from.state === 'TIME-WAIT' && seg.fromBefore !== 'TIME-WAIT') this.startTimeWait(c, from);
      if (to.state === 'TIME-WAIT' && seg.toBefore !== 'TIME-WAIT') this.startTimeWait(c, to);
    }
    if ((changed || backwards) && holdsNothing(from.state) && holdsNothing(to.state) && (backwards || !(holdsNothing(seg.fromBefore) && holdsNothing(seg.toBefore)))) this.startLinger(c);
    // Only a state change (into CLOSE-WAIT) or the sender's window closing can make a connection need the clock.
    if (changed || from.zeroWindowSince !== null) this.watch(c);
  }

  private startTimeWait(c: Connection, e: Endpoint): void {
    this.timeWaits.push({ sec: e.since.sec, nsec: e.since.nsec, c, e, since: e.since });
  }

  /** Closed on both sides: forgotten closedLingerSeconds after its last packet (tick). */
  private startLinger(c: Connection): void {
    this.lingering.push({ sec: c.lastSec, nsec: c.lastNsec, c });
  }

  private watch(c: Connection): void {
    if (c.watched || !this.needsClock(c)) return;
    c.watched = true;
    this.watched.push(c);
  }

  /** The connections the clock's detectors act on, in the order they were opened (valid until the next call). */
  clockWatch(): readonly Connection[] {
    const w = this.watched;
    let n = 0;
    for (const c of w) {
      if (!c.retired && this.needsClock(c)) w[n++] = c;
      else c.watched = false;
    }
    w.length = n;
    if (n > 1) w.sort((a, b) => a.id - b.id);
    return w;
  }

  /**
   * Run the clock to `sec.nsec` (packet time for files, wall time live): end the
   * TIME-WAITs that ran out, and forget the connections closed on both sides for
   * longer than closedLingerSeconds.
   */
  tick(sec: number, nsec: number): void {
    const tw = this.timeWaitSeconds;
    const at = { sec, nsec };
    // TIME-WAIT timers that ran out, first started first; a stale one (its endpoint
    // left TIME-WAIT, or its connection was retired) is dropped.
    for (let t = this.timeWaits.peek(); t !== undefined; t = this.timeWaits.peek()) {
      const e = t.e;
      if (t.c.retired || e.state !== 'TIME-WAIT' || e.since !== t.since) {
        this.timeWaits.pop();
        continue;
      }
      if (secondsBetween(e.since, at) < tw) break;
      this.timeWaits.pop();
      // The kernel frees the socket (TCP_TIMEWAIT_LEN on Linux).
      step(e, TcpEvent.TimeWaitTimeout, { sec: e.since.sec + tw, nsec: e.since.nsec, frame: 0, capture: e.since.capture }, `TIME-WAIT ended (${tw} s)`);
      if (holdsNothing(t.c.client.state) && holdsNothing(t.c.server.state)) this.startLinger(t.c);
    }
    // Over, and past the time a late segment could still belong to it: summarise it.
    const linger = this.closedLingerSeconds;
    for (let t = this.lingering.peek(); t !== undefined; t = this.lingering.peek()) {
      const c = t.c;
      if (c.retired || !holdsNothing(c.client.state) || !holdsNothing(c.server.state)) {
        this.lingering.pop();
        continue;
      }
      if (secondsBetween({ sec: c.lastSec, nsec: c.lastNsec }, at) > linger) {
        this.lingering.pop();
        this.owner.forget(c);
        continue;
      }
      // Not yet, and none after it is due either, unless a later packet moved it on: then it waits from that one.
      if (t.sec === c.lastSec && t.nsec === c.lastNsec) break;
      this.lingering.pop();
      this.startLinger(c);
    }
  }
}
