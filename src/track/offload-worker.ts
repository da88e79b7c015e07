/**
 * The offload thread (see offload-thread.ts): replays the ring's records into one
 * ZeekConnState per connection, in the order the tracker wrote them, so its
 * verdicts are the ones the tracker's thread would have reached.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ZeekConnState } from './zeek-conn.js';
import {
  CAPTURED_BIT,
  CTRL_DONE,
  CTRL_MAIN_SLEEPS,
  CTRL_READ,
  CTRL_WRITTEN,
  F64_TIME,
  FLAGS_SHIFT,
  FROM_A_BIT,
  OP_END,
  OP_OPEN,
  OP_RETIRE,
  OP_SEGMENT,
  OP_UNLIST,
  POLL_MS,
  READY,
  RECORD_INTS,
  RING_RECORDS,
  type OffloadData,
  type OffloadResults,
} from './offload-thread.js';

const { ring, ctrl: ctrlBuffer, port } = workerData as OffloadData;
const i32 = new Int32Array(ring);
const f64 = new Float64Array(ring);
const ctrl = new Int32Array(ctrlBuffer);

/** Zeek's view of each live connection; retired ones' conn_state and history. */
const zeek = new Map<number, ZeekConnState>();
const final = new Map<number, [string, string]>();
const unlisted = new Map<string, number>();

function results(): OffloadResults {
  const n = zeek.size + final.size;
  const out: OffloadResults = { ids: new Int32Array(n), connStates: [], histories: [], unlisted: [...unlisted] };
  let i = 0;
  for (const [id, [state, history]] of final) {
    out.ids[i++] = id;
    out.connStates.push(state);
    out.histories.push(history);
  }
  for (const [id, z] of zeek) {
    out.ids[i++] = id;
    out.connStates.push(z.connState);
    out.histories.push(z.history);
  }
  return out;
}

/** Replay records up to `to`; `ended` once OP_END was reached. */
function drain(from: number, to: number): { read: number; ended: boolean } {
  let r = from;
  // Most segments are of the connection of the one before: it is looked up once per run.
  let lastId = 0;
  let last: ZeekConnState | undefined;
  while (r !== to) {
    const s = (r & (RING_RECORDS - 1)) * RECORD_INTS;
    r = (r + 1) | 0;
    const head = i32[s]!;
    const id = i32[s + 1]!;
    switch (head & 0xff) {
      case OP_SEGMENT:
        if (id !== lastId || last === undefined) {
          last = zeek.get(id);
          lastId = id;
        }
        last!.segment((head & FROM_A_BIT) !== 0, (head >>> FLAGS_SHIFT) & 0xfff, i32[s + 2]!, i32[s + 3]!, i32[s + 4]!, i32[s + 5]!, null, f64[(s >> 1) + F64_TIME]!, (head & CAPTURED_BIT) !== 0);
        break;
      case OP_OPEN:
        zeek.set(id, new ZeekConnState(i32[s + 2]!, i32[s + 3]!, { ignoreChecksums: true }));
        break;
      case OP_RETIRE: {
        if (id === lastId) last = undefined;
        const z = zeek.get(id);
        if (z !== undefined) {
          final.set(id, [z.connState, z.history]);
          zeek.delete(id);
        }
        break;
      }
      case OP_UNLIST: {
        const v = final.get(id);
        if (v !== undefined) {
          unlisted.set(v[0], (unlisted.get(v[0]) ?? 0) + 1);
          final.delete(id);
        }
        break;
      }
      case OP_END:
        return { read: r, ended: true };
      default:
        throw new Error(`bad ring record kind ${head & 0xff}`);
    }
  }
  return { read: r, ended: false };
}

function run(): void {
  let read = 0;
  try {
    for (;;) {
      const written = Atomics.load(ctrl, CTRL_WRITTEN);
      if (written === read) {
        Atomics.wait(ctrl, CTRL_WRITTEN, written, POLL_MS);
        continue;
      }
      const step = drain(read, written);
      read = step.read;
      Atomics.store(ctrl, CTRL_READ, read);
      if (Atomics.load(ctrl, CTRL_MAIN_SLEEPS) !== 0) Atomics.notify(ctrl, CTRL_READ);
      if (step.ended) {
        port.postMessage(results());
        break;
      }
    }
  } catch (e) {
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    port.postMessage({ ids: new Int32Array(0), connStates: [], histories: [], unlisted: [], error } satisfies OffloadResults);
  }
  // The port stays open: the main thread takes the message off it and closes it.
  Atomics.store(ctrl, CTRL_DONE, 1);
  Atomics.notify(ctrl, CTRL_DONE);
  Atomics.notify(ctrl, CTRL_READ);
}

parentPort!.postMessage(READY);
run();
