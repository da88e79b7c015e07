/** The clock's timer queues give their items least first, whatever order they came in. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

/** A collector to call in this process: the flag set at run time, the function taken from a fresh context. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('MostlyOrderedQueue keeps nothing it gave back', () => {
  // Its timers hold connections: one popped but still referenced outlives its retirement
  // (on a busy server's capture, tens of thousands of connections, half the heap).
  it('popped items can be collected while the queue holds later ones', async () => {
    const gc = collector();
    const q = new MostlyOrderedQueue<Item>(before);
    const popped: WeakRef<Item>[] = [];
    // Fewer popped than left: the queue's own trimming (when the popped part is the larger) does not kick in.
    for (let i = 0; i < 10_000; i++) q.push({ key: i, n: i });
    for (let i = 0; i < 4_000; i++) popped.push(new WeakRef(q.pop()!));
    // Collected only after the current task: WeakRef targets are kept alive until then.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(popped.filter((r) => r.deref() !== undefined).length).toBe(0);
    expect(q.peek()!.key).toBe(4_000);
  });
});
