import type { Moment } from './moment.js';

/**
 * The packet being processed: its time and frame. A Moment object is made only
 * when something worth remembering happens, so ordinary packets allocate nothing.
 */
export class Now {
  sec = 0;
  nsec = 0;
  frame = 0;
  capture = 0;
  private cached: Moment | null = null;

  set(sec: number, nsec: number, frame: number, capture: number): void {
    this.sec = sec;
    this.nsec = nsec;
    this.frame = frame;
    this.capture = capture;
    this.cached = null;
  }

  moment(): Moment {
    return (this.cached ??= { sec: this.sec, nsec: this.nsec, frame: this.frame, capture: this.capture });
  }
}
