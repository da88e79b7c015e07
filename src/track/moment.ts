/** A point in a capture: time and the frame that shows it. */
export interface Moment {
  sec: number;
  nsec: number;
  /** 1-based frame number within its capture file. */
  frame: number;
  /** Index of the capture file (in the order given). */
  capture: number;
}

/** The same packet: frame numbers restart in each capture file, so both must match. */
export function samePacket(a: Moment, b: Moment): boolean {
  return a.frame === b.frame && a.capture === b.capture;
}

export function momentSeconds(m: Moment): number {
  return m.sec + m.nsec / 1e9;
}

/** Seconds from `a` to `b` (negative when b is earlier). */
export function secondsBetween(a: { sec: number; nsec: number }, b: { sec: number; nsec: number }): number {
  return b.sec - a.sec + (b.nsec - a.nsec) / 1e9;
}
