import type { CaptureSink, Frame, InterfaceInfo } from './frame.js';
import { CaptureReader, type ReadResult } from './read-capture.js';
import { CHUNK_BYTES } from './window.js';
import { isEarlier } from '../util/time.js';

/** Read buffers of all open files together stay about this size (each has two: the window and the read ahead). */
const MERGE_BUFFER_BUDGET = 64 * 1024 * 1024;
const MIN_CHUNK = 64 * 1024;

/**
 * Several captures read as one stream in timestamp order, as mergecap does: a
 * connection that spans the files of a `tcpdump -C`/`-G` rotation set, or that two
 * interfaces saw, is one connection. Frames of equal time go in input order; a
 * frame without a timestamp (pcapng SPB) keeps its place after its file's previous one.
 *
 * Files are opened only when the merged clock reaches their first packet, so a
 * rotation set of hundreds of files holds one or two open at a time; files that
 * overlap in time are all open, each reading in smaller chunks.
 */
export async function readMerged(
  inputs: readonly string[],
  sinkFor: (index: number) => CaptureSink,
  onDone: (index: number, result: ReadResult) => void,
  /** Standard input as a stream; undefined: the process's own (see stdinSource). */
  stdin?: NodeJS.ReadableStream,
): Promise<void> {
  const heap = new CursorHeap();
  // Files that overlap in time are all open at once: their buffers share a budget.
  const chunk = Math.max(MIN_CHUNK, Math.min(CHUNK_BYTES, Math.floor(MERGE_BUFFER_BUDGET / Math.max(1, inputs.length))));
  // Standard input cannot be read twice: it is opened once, for real, up front.
  const pending: { index: number; first: Time | null; cursor: Cursor | null }[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    if (input === '-') {
      const cursor = new Cursor(i, input, sinkFor(i), stdin, chunk);
      await cursor.start();
      pending.push({ index: i, first: cursor.ready ? { sec: cursor.sec, nsec: cursor.nsec } : null, cursor });
    } else {
      pending.push({ index: i, first: await firstTime(input), cursor: null });
    }
  }
  // Files without a timed frame first (read whole: they only add their summary), then by first time.
  pending.sort((a, b) => (a.first === null ? (b.first === null ? a.index - b.index : -1) : b.first === null ? 1 : a.first.sec - b.first.sec || a.first.nsec - b.first.nsec || a.index - b.index));

  let next = 0;
  while (next < pending.length || heap.size > 0) {
    // Open every file whose first packet is due before the earliest head.
    while (next < pending.length) {
      const p = pending[next]!;
      const head = heap.peek();
      if (head !== null && p.first !== null && before(head, p.first)) break;
      next++;
      const cursor = p.cursor ?? new Cursor(p.index, inputs[p.index]!, sinkFor(p.index), stdin, chunk);
      if (p.cursor === null) await cursor.start();
      if (cursor.ready) heap.push(cursor);
      else onDone(cursor.index, await cursor.reader.close());
    }
    const c = heap.pop();
    if (c === null) continue;
    c.sink.onFrame(c.frame!);
    // Its frames before every other input's next (the others' heads, the next file's
    // first) go straight to the sink, not one step and two heap moves each: all of a
    // rotation set's current file, runs of those that interleave. (A file still pending
    // has a first time: those without one were opened first.)
    const head = heap.peek();
    const due = next < pending.length ? pending[next]!.first : null;
    c.streamUntil(head !== null && (due === null || before(head, due)) ? head : due);
    if (c.nextInWindow() || (await c.advance())) heap.push(c);
    else onDone(c.index, await c.reader.close());
  }
}

interface Time {
  sec: number;
  nsec: number;
}

function before(a: Time, b: Time): boolean {
  return isEarlier(a.sec, a.nsec, b.sec, b.nsec);
}

/** Reads far enough into a file for its first timestamp, delivering nothing. */
async function firstTime(input: string): Promise<Time | null> {
  let first: Time | null = null;
  const sink: CaptureSink = {
    onInterface: () => undefined,
    onWarning: () => undefined,
    onFrame: (f) => {
      if (first === null && f.hasTime) first = { sec: f.sec, nsec: f.nsec };
    },
  };
  const reader = new CaptureReader(input, sink, undefined, true, 64 * 1024);
  await reader.open();
  while (first === null && (await reader.step()));
  await reader.close();
  return first;
}

/** One input of the merge: its reader, one frame at a time, and the frame it holds (at sec, nsec). */
class Cursor implements CaptureSink, Time {
  readonly reader: CaptureReader;
  /** The frame waiting to be delivered (the parser's reused Frame, valid until the next step). */
  frame: Frame | null = null;
  ready = false;
  sec = 0;
  nsec = 0;

  constructor(
    readonly index: number,
    input: string,
    readonly sink: CaptureSink,
    stdin: NodeJS.ReadableStream | undefined,
    chunk: number,
  ) {
    this.reader = new CaptureReader(input, this, stdin, true, chunk);
  }

  /** Streaming: frames before `until` (null: every frame) go to the sink as they are parsed. */
  private streaming = false;
  private until: Time | null = null;

  async start(): Promise<void> {
    await this.reader.open();
    await this.advance();
  }

  /** Until the next advance() ends, deliver the frames before `until` (null: all) straight to the sink. */
  streamUntil(until: Time | null): void {
    this.streaming = true;
    this.until = until;
    this.reader.stopAfterFrame = false;
  }

  /** The next frame to hold (streaming ones first), if the bytes already read have it: no promise. */
  nextInWindow(): boolean {
    this.ready = false;
    this.reader.parseWindow();
    if (this.ready) this.endStreaming();
    return this.ready;
  }

  /** Read the next frame to hold (streaming ones first); false at the end of the input. */
  async advance(): Promise<boolean> {
    this.ready = false;
    while (!this.ready && (await this.reader.step()));
    this.endStreaming();
    return this.ready;
  }

  private endStreaming(): void {
    if (!this.streaming) return;
    this.streaming = false;
    this.reader.stopAfterFrame = true;
  }

  onInterface(info: InterfaceInfo): void {
    this.sink.onInterface(info);
  }

  onWarning(message: string, fileOffset: number, packet: number): void {
    this.sink.onWarning(message, fileOffset, packet);
  }

  onCaptureEnd(sec: number, nsec: number): void {
    this.sink.onCaptureEnd?.(sec, nsec);
  }

  onFrame(frame: Frame): void {
    // A frame without a time keeps the time of the one before.
    if (frame.hasTime) {
      this.sec = frame.sec;
      this.nsec = frame.nsec;
    }
    if (this.streaming && (this.until === null || before(this, this.until))) {
      this.sink.onFrame(frame);
      return;
    }
    this.frame = frame;
    this.ready = true;
    // Held until its turn: the parser stops after it, so it stays valid.
    this.reader.stopAfterFrame = true;
  }
}

/** Binary min-heap of cursors by head time, then input order. */
class CursorHeap {
  private readonly a: Cursor[] = [];

  get size(): number {
    return this.a.length;
  }

  peek(): Cursor | null {
    return this.a[0] ?? null;
  }

  push(c: Cursor): void {
    const a = this.a;
    let i = a.push(c) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): Cursor | null {
    const a = this.a;
    const top = a[0];
    if (top === undefined) return null;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      while (true) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Cursor, b: Cursor): boolean {
  return a.sec < b.sec || (a.sec === b.sec && (a.nsec < b.nsec || (a.nsec === b.nsec && a.index < b.index)));
}
