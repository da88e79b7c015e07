/** A binary min-heap: the least item by `before` first. Push and pop are O(log n). */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(item, a[parent]!)) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = item;
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    // Sift the last item down from the root.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const child = r < a.length && this.before(a[r]!, a[l]!) ? r : l;
      if (!this.before(a[child]!, last)) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }
}

/**
 * A min-queue for items that mostly come in order (timers started at packet
 * times): those no earlier than the last queued wait in a plain FIFO, the rest in a
 * MinHeap, and the least of the two heads comes first. In-order pushes and pops
 * cost O(1), and the heap holds only what came out of order.
 */
export class MostlyOrderedQueue<T> {
  /** Popped slots are emptied: a timer's connection must not outlive its turn here. */
  private fifo: (T | undefined)[] = [];
  private head = 0;
  private readonly heap: MinHeap<T>;

  constructor(private readonly before: (a: T, b: T) => boolean) {
    this.heap = new MinHeap(before);
  }

  push(item: T): void {
    const f = this.fifo;
    if (f.length > this.head && this.before(item, f[f.length - 1]!)) this.heap.push(item);
    else f.push(item);
  }

  peek(): T | undefined {
    const a = this.head < this.fifo.length ? this.fifo[this.head] : undefined;
    const b = this.heap.peek();
    if (a === undefined) return b;
    return b !== undefined && this.before(b, a) ? b : a;
  }

  pop(): T | undefined {
    const a = this.head < this.fifo.length ? this.fifo[this.head] : undefined;
    const b = this.heap.peek();
    if (a === undefined || (b !== undefined && this.before(b, a))) return this.heap.pop();
    this.fifo[this.head++] = undefined;
    // Let the popped half go once it is the larger part.
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.head);
      this.head = 0;
    }
    return a;
  }
}
