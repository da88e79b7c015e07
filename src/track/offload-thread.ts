import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/**
 * Zeek's conn_state and history, worked out on a second thread. They are only
 * reported, never read while the capture is analysed (no detector looks at them),
 * so the tracker hands each segment's fields over through a ring in shared memory
 * (no message per packet) and collects the verdicts at the end: the emulation is a
 * large share of the single thread's work, and here it runs beside it. Wireshark's
 * sequence analysis stays on the main thread: it would hold more memory here than
 * the tracker saves, and the thread would fall behind.
 *
 * The ring holds fixed-size records of eight int32 slots, the last two a float64:
 * the packet time in seconds, the double ZeekConnState.segment takes.
 */

/** Records in the ring (a power of two; 32 bytes each, 4 MiB): room for the bursts while the other core collects garbage. */
export const RING_RECORDS = 1 << 17;
export const RECORD_INTS = 8;
/** The time's float64 slot, counted from the record's start in float64 units. */
export const F64_TIME = 3;
/** Records written between two publications of the write position. */
const BATCH = 4096;

/**
 * Control words: records written and read (int32 counters that wrap), the end, and
 * whether the main thread sleeps in Atomics.wait. A wake-up is a system call that
 * costs the waker, so the main thread never
 * wakes the other one per batch: that one, once it has caught up, looks again every
 * millisecond; the main thread wakes it only at the end and when the ring is full.
 */
export const CTRL_WRITTEN = 0;
export const CTRL_READ = 1;
export const CTRL_DONE = 2;
export const CTRL_MAIN_SLEEPS = 3;
/** How long the thread sleeps when it has caught up (ms). */
export const POLL_MS = 1;

/** Record kinds (slot 0, low byte). */
export const OP_OPEN = 1;
export const OP_SEGMENT = 2;
export const OP_RETIRE = 3;
export const OP_UNLIST = 4;
export const OP_END = 5;

/** Slot 0 above the kind: the TCP flags (12 bits), then two booleans. */
export const FLAGS_SHIFT = 8;
export const FROM_A_BIT = 1 << 20;
export const CAPTURED_BIT = 1 << 21;

/** The thread's first word, on the Worker's own channel: it runs. */
export const READY = 'ready';

/** What the thread was given at its start. */
export interface OffloadData {
  ring: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
  port: MessagePort;
}

/** The thread's answer at the end: each connection still listed, and the conn_state of the unlisted ones. */
export interface OffloadResults {
  ids: Int32Array;
  connStates: string[];
  histories: string[];
  /** conn_state of every connection unlisted, in order of first occurrence (as Pipeline.unlisted counts them). */
  unlisted: [string, number][];
  /** A bug in the thread (bad input cannot cause one): its message. */
  error?: string;
}

/** Without progress for this long, the thread is taken to be dead. */
const STALL_MS = 60_000;

export class OffloadThread {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly ctrl: Int32Array;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  /** Records written; the thread's read position as last seen. */
  private written = 0;
  private read = 0;

  constructor() {
    const ring = new SharedArrayBuffer(RING_RECORDS * RECORD_INTS * 4);
    const ctrl = new SharedArrayBuffer(32);
    this.i32 = new Int32Array(ring);
    this.f64 = new Float64Array(ring);
    this.ctrl = new Int32Array(ctrl);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: OffloadData = { ring, ctrl, port: port2 };
    // A small young generation: what the thread makes lives as long as its connection,
    // and V8's default semi-spaces would add tens of MB of resident memory for nothing.
    this.worker = new Worker(new URL('./offload-worker.js', import.meta.url), {
      workerData: data,
      // Not the parent's: a program run as `node -e SCRIPT` would run SCRIPT again in the thread.
      execArgv: [],
      transferList: [port2],
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    // An error of its own must not end the run unreported; once it runs, it must never keep the process alive
    // (until then it must: a promise alone does not, and the process would end before the analysis began).
    this.worker.on('error', () => undefined);
    this.running = new Promise((resolve) => {
      // Said by the thread's module itself ('online' comes before its module is even found).
      this.worker.once('message', (m: unknown) => {
        this.worker.unref();
        resolve(m === READY);
      });
      this.worker.once('error', () => resolve(false));
      this.worker.once('exit', () => resolve(false));
    });
  }

  private readonly running: Promise<boolean>;

  /**
   * True once the thread runs; false if it could not start (no thread, or its module
   * missing, as when the sources run uncompiled): then the caller works out the
   * verdicts itself. Asked before the first record: once the tracker writes, this
   * thread does not return to its event loop, where a failed start would be heard.
   */
  started(): Promise<boolean> {
    return this.running;
  }

  /** The index of the next free record; waits while the ring is full. */
  private slot(): number {
    if (((this.written - this.read) | 0) >= RING_RECORDS) this.waitForRoom();
    return (this.written & (RING_RECORDS - 1)) * RECORD_INTS;
  }

  /** The record at `slot()` is complete. */
  private commit(): void {
    this.written = (this.written + 1) | 0;
    if ((this.written & (BATCH - 1)) === 0) this.publish();
  }

  private publish(): void {
    Atomics.store(this.ctrl, CTRL_WRITTEN, this.written);
  }

  /** Publish, and wake the thread now. */
  private hurry(): void {
    this.publish();
    Atomics.notify(this.ctrl, CTRL_WRITTEN);
  }

  /** Sleep until the control word `at` is no longer `value` (or a second passed). */
  private sleep(at: number, value: number): void {
    Atomics.store(this.ctrl, CTRL_MAIN_SLEEPS, 1);
    Atomics.wait(this.ctrl, at, value, 1000);
    Atomics.store(this.ctrl, CTRL_MAIN_SLEEPS, 0);
  }

  private waitForRoom(): void {
    this.hurry();
    const room = (): boolean => ((this.written - Atomics.load(this.ctrl, CTRL_READ)) | 0) < RING_RECORDS;
    this.waitFor(() => room() || Atomics.load(this.ctrl, CTRL_DONE) !== 0, CTRL_READ);
    if (!room()) {
      // Ended with the ring still full: its error, if it said one.
      this.answer();
      throw new Error('internal error: the offload thread ended early');
    }
    this.read = Atomics.load(this.ctrl, CTRL_READ);
  }

  /** Sleep on the control word `word` until `ready`; a thread that makes no progress for STALL_MS is dead. */
  private waitFor(ready: () => boolean, word: number): void {
    let seen = Atomics.load(this.ctrl, CTRL_READ);
    let since = Date.now();
    while (!ready()) {
      this.sleep(word, Atomics.load(this.ctrl, word));
      const now = Atomics.load(this.ctrl, CTRL_READ);
      if (now !== seen) {
        seen = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) throw new Error('internal error: the offload thread stopped');
    }
  }

  /** The thread's answer, once it is done: its verdicts, or the error that ended it (thrown). */
  private answer(): OffloadResults {
    const got = receiveMessageOnPort(this.port);
    this.port.close();
    const results = got?.message as OffloadResults | undefined;
    if (results === undefined) throw new Error('internal error: the offload thread gave no answer');
    if (results.error !== undefined) throw new Error(`internal error in the offload thread: ${results.error}`);
    return results;
  }

  /** A new connection, its ports as A (the first packet's sender) and B. */
  open(id: number, portA: number, portB: number): void {
    const s = this.slot();
    this.i32[s] = OP_OPEN;
    this.i32[s + 1] = id;
    this.i32[s + 2] = portA;
    this.i32[s + 3] = portB;
    this.commit();
  }

  /**
   * ZeekConnState.segment's arguments (checksum unknown); `seq`, `ack` as int32 or
   * uint32, the time as whole seconds and nanoseconds (integers cross the call unboxed).
   */
  segment(id: number, fromA: boolean, flags: number, seq: number, ack: number, len: number, window: number, sec: number, nsec: number, captured: boolean): void {
    const s = this.slot();
    const i32 = this.i32;
    i32[s] = OP_SEGMENT | (flags << FLAGS_SHIFT) | (fromA ? FROM_A_BIT : 0) | (captured ? CAPTURED_BIT : 0);
    i32[s + 1] = id;
    i32[s + 2] = seq;
    i32[s + 3] = ack;
    i32[s + 4] = len;
    i32[s + 5] = window;
    this.f64[(s >> 1) + F64_TIME] = sec + nsec / 1e9;
    this.commit();
  }

  /** The connection is over: its verdict is final. */
  retire(id: number): void {
    this.simple(OP_RETIRE, id);
  }

  /** A retired connection left out of the list: only its conn_state is counted. */
  unlist(id: number): void {
    this.simple(OP_UNLIST, id);
  }

  private simple(op: number, id: number): void {
    const s = this.slot();
    this.i32[s] = op;
    this.i32[s + 1] = id;
    this.commit();
  }

  private ended = false;

  /** End of input: the thread works out every verdict while this one goes on (collect() takes them). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.simple(OP_END, 0);
    this.hurry();
  }

  /** Every verdict. Blocks until the thread has worked through the ring. */
  collect(): OffloadResults {
    this.end();
    this.waitFor(() => Atomics.load(this.ctrl, CTRL_DONE) !== 0, CTRL_DONE);
    return this.answer();
  }
}
