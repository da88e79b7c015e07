/** The clock's timer queues give their items least first, whatever order they came in. */
import { describe, expect, it } from 'vitest';
import { MinHeap, MostlyOrderedQueue } from '../src/util/min-heap.js';

/** A deterministic pseudo-random sequence (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

interface Item {
  key: number;
  n: number;
}
const before = (a: Item, b: Item): boolean => a.key < b.key;

describe.each([
  ['MinHeap', () => new MinHeap<Item>(before)],
  ['MostlyOrderedQueue', () => new MostlyOrderedQueue<Item>(before)],
] as const)('%s', (_name, make) => {
  it.each([
    ['in order', 0],
    ['mostly in order', 0.05],
    ['in any order', 1],
  ] as const)('pops least first with items pushed %s, pops and pushes interleaved', (_order, outOfOrder) => {
    const random = rng(outOfOrder * 1000 + 7);
    const q = make();
    const reference: Item[] = [];
    let clock = 0;
    let n = 0;
    const popped: number[] = [];
    const expected: number[] = [];
    for (let step = 0; step < 20_000; step++) {
      if (random() < 0.6) {
        clock += random() * 10;
        const key = random() < outOfOrder ? clock - random() * 500 : clock;
        const item = { key, n: n++ };
        q.push(item);
        reference.push(item);
      } else {
        reference.sort((a, b) => a.key - b.key);
        const want = reference.shift();
        const got = q.pop();
        expected.push(want?.key ?? -1);
        popped.push(got?.key ?? -1);
      }
      expect(q.peek()?.key).toBe(reference.length ? reference.reduce((m, r) => Math.min(m, r.key), Infinity) : undefined);
    }
    expect(popped).toEqual(expected);
  });
});
