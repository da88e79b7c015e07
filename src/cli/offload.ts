import { statSync } from 'node:fs';

/**
 * Inputs smaller than this are analysed on one thread: starting the offload thread
 * costs more than it saves on a small capture (docs/performance.md). (The tests lower it
 * with TCPSLEUTH_OFFLOAD_MIN_BYTES to exercise the thread on small files.)
 */
const OFFLOAD_MIN_BYTES = 16 * 1024 * 1024;

/** Work out Zeek's verdicts on the offload thread: standard input, a pipe, or regular files big enough together. */
export function offloadFor(captures: string[]): boolean {
  const env = process.env['TCPSLEUTH_OFFLOAD_MIN_BYTES'];
  const min = env !== undefined && /^\d+$/.test(env) ? Number(env) : OFFLOAD_MIN_BYTES;
  let total = 0;
  for (const c of captures) {
    if (c === '-') return true;
    try {
      const st = statSync(c);
      if (!st.isFile()) return true;
      total += st.size;
    } catch {
      // Missing or unreadable: reported by the analysis.
    }
  }
  return total >= min;
}
