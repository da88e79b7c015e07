import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';

/**
 * Standard output, written synchronously. process.stdout on a Linux pipe is
 * non-blocking: what the reader has not taken yet is queued in memory, so
 * `analyze --format json big.pcap | jq` held most of the document in memory,
 * and `packets big.pcap | less` the whole listing. Blocking
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

/**
 * Write `s` to standard output before returning. A reader that went away
 * (`| head`) ends the process quietly with status 0, as the pipe's end is no error.
 */
export function writeStdout(s: string): void {
  if (s.length === 0) return;
  const b = Buffer.from(s, 'utf8');
  writeBytes(b, b.length);
}

/** Write b[0, end) before returning (see writeStdout). */
function writeBytes(b: Buffer, end: number): void {
  let off = 0;
  let nap = 0.05;
  while (off < end) {
    try {
      off += writeSync(FD, b, off, end - off);
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

/** Bytes StdoutBuffer gathers before it writes them. */
const BUFFER_BYTES = 64 * 1024;

/**
 * Standard output for a document made of many small pieces (the JSON report's
 * lines): each piece is encoded into one buffer as it comes, while its parts are
 * still in the cache, and the buffer is written (as writeStdout writes) when full.
 * Joining the pieces into one string first would make V8 walk a tree of tens of
 * thousands of fragments to flatten it.
 * Call flush() at the end; nothing else may write to standard output in between.
 */
export class StdoutBuffer {
  private readonly buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;

  /** Add `s` (a function of its own, to be passed as a writer). */
  readonly write = (s: string): void => {
    // A UTF-16 code unit takes at most three bytes in UTF-8.
    const most = s.length * 3;
    if (this.used + most > BUFFER_BYTES) this.flush();
    if (most > BUFFER_BYTES) writeStdout(s);
    else this.used += this.buf.write(s, this.used);
  };

  flush(): void {
    if (this.used === 0) return;
    writeBytes(this.buf, this.used);
    this.used = 0;
  }
}

/**
 * The width output should fit: the terminal's columns, else COLUMNS (as ls and ps
 * honour it), else null (no terminal: nothing to fit).
 */
export function outputWidth(): number | null {
  if (stdoutIsTty && process.stdout.columns) return process.stdout.columns;
  const env = Number(process.env['COLUMNS']);
  return Number.isInteger(env) && env > 0 ? env : null;
}

export type ColorWhen = 'auto' | 'always' | 'never';

/** --color: auto colours a terminal unless NO_COLOR is set (no-color.org); an explicit choice wins over it. */
export function useColor(when: ColorWhen): boolean {
  if (when === 'always') return true;
  if (when === 'never') return false;
  return stdoutIsTty && !process.env['NO_COLOR'];
}
