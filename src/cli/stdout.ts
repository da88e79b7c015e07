import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';

/**
 * Standard output, written synchronously. process.stdout on a Linux pipe is
 * non-blocking: what the reader has not taken yet is queued in memory, so
 * `analyze --format json big.pcap | jq` held most of a 600 MB document (peak RSS
 * 560 MB, twice the time) and `packets big.pcap | less` the whole listing. Blocking
 * until the reader takes each chunk bounds memory as tcpdump's stdio does.
 *
 * Everything a command prints goes through here (or everything through
 * process.stdout): mixing the two could reorder the output.
 */

const FD = 1;
/** For sleeping while a non-blocking pipe is full (Atomics.wait is the only synchronous sleep). */
const napCell = new Int32Array(new SharedArrayBuffer(4));
/** Longest nap between tries at a full pipe, ms. */
const MAX_NAP_MS = 4;

/** Is standard output a terminal (without creating process.stdout, which would make a pipe non-blocking). */
export const stdoutIsTty: boolean = isatty(FD);

/** Columns of the terminal on standard output, or `fallback` when it is none. */
export function stdoutColumns(fallback: number): number {
  return stdoutIsTty ? (process.stdout.columns ?? fallback) : fallback;
}

/**
 * Write `s` to standard output before returning. A reader that went away
 * (`| head`) ends the process quietly with status 0, as the pipe's end is no error.
 */
export function writeStdout(s: string): void {
  if (s.length === 0) return;
  const b = Buffer.from(s, 'utf8');
  let off = 0;
  let nap = 0.05;
  while (off < b.length) {
    try {
      off += writeSync(FD, b, off, b.length - off);
      nap = 0.05;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(0);
      if (code !== 'EAGAIN') {
        process.stderr.write(`tcpsleuth: cannot write standard output: ${(e as Error).message}\n`);
        process.exit(1);
      }
      // A pipe someone made non-blocking: wait for the reader, a little longer each time.
      Atomics.wait(napCell, 0, 0, nap);
      nap = Math.min(nap * 2, MAX_NAP_MS);
    }
  }
}
