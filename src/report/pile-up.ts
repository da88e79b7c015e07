import type { FindingGroup } from './groups.js';

/**
 * How a pile-up grew: the members sitting in the state at evenly spaced instants
 * across the capture, the last of them its end. Only CLOSE-WAIT groups say when each
 * member entered and how long it stayed.
 */
export interface PileUp {
  state: 'CLOSE-WAIT';
  /** Epoch seconds of each instant. */
  at: number[];
  counts: number[];
}

export function pileUp(g: FindingGroup, start: number, end: number, steps = 12): PileUp | null {
  if (g.kind !== 'close-wait-stuck' || !(end > start)) return null;
  const spans: Array<[number, number]> = [];
  for (const f of g.findings) {
    if (f.kind !== 'close-wait-stuck') continue;
    const from = Number(f.details.enteredAt);
    spans.push([from, from + f.details.secondsInCloseWait]);
  }
  const step = (end - start) / steps;
  const at: number[] = [];
  const counts: number[] = [];
  for (let i = 1; i <= steps; i++) {
    const t = i === steps ? end : start + i * step;
    at.push(t);
    // A member still in the state at the end counts at the end instant itself.
    counts.push(spans.filter(([a, b]) => a <= t && (t < b || (i === steps && b >= end - 1e-6))).length);
  }
  return { state: 'CLOSE-WAIT', at, counts };
}
