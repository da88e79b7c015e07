import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { loadSource, materialize, type FuzzCase, type Source } from './engine.js';
import { runInput, type RunLimits, type RunOutcome } from './run-one.js';

/**
 * The fuzz worker: runs one case at a time for the supervisor (main.ts), which
 * kills and replaces it when a case hangs or runs out of memory.
 */

export interface WorkerRequest {
  case: FuzzCase;
  /** --self-test only: misbehave on purpose, to show the supervisor catches it. */
  misbehave?: 'hang' | 'balloon' | 'throw';
}

export interface WorkerResponse {
  id: number;
  outcome: RunOutcome;
  bytes: number;
}

/** What the supervisor gives each worker: the limits, and a directory it made and will remove. */
export interface WorkerData {
  limits: RunLimits;
  dir: string;
}

const { limits, dir } = workerData as WorkerData;
const scratch = join(dir, 'input');
const cache = new Map<string, Source>();
const port = parentPort;

if (port !== null) {
  // The supervisor ends it with terminate(): nothing here needs to run at the end.
  port.on('message', (msg: WorkerRequest) => {
    if (msg.misbehave === 'hang') for (;;);
    if (msg.misbehave === 'balloon') {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array<number>(1 << 16).fill(hoard.length));
    }
    if (msg.misbehave === 'throw') throw new Error('self-test: an exception escaping the worker');
    void (async () => {
      const c = msg.case;
      const key = `${c.source.root}:${c.source.file}`;
      let src = cache.get(key);
      if (src === undefined) {
        src = loadSource(c.source);
        cache.set(key, src);
      }
      const input = materialize(src.bytes, c.edits);
      const outcome = await runInput(input, scratch, c.via, limits);
      const res: WorkerResponse = { id: c.id, outcome, bytes: input.length };
      port.postMessage(res);
    })();
  });
}
