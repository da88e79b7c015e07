import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AnalysisResult } from '../analyze.js';

/**
 * Reporters that need two passes over the captures (findings are only known at
 * the end; the packets are listed or drawn in a second pass) cannot read standard
 * input twice: it is copied to a temporary file first, on disk, not in memory.
 */
export interface ReplayableInputs {
  /** Paths to read, each pass; "-" replaced by the temporary copy. */
  paths: string[];
  /** Give the captures of a result back the names the user gave ("<stdin>"). */
  rename(result: AnalysisResult): void;
  /** Remove the temporary copy. */
  cleanup(): void;
}

export async function replayableInputs(inputs: string[], stdin: NodeJS.ReadableStream = process.stdin): Promise<ReplayableInputs> {
  const i = inputs.indexOf('-');
  if (i < 0) return { paths: inputs, rename: () => undefined, cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-stdin-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const copy = join(dir, 'stdin.capture');
  try {
    await pipeline(stdin as Readable, createWriteStream(copy));
  } catch (e) {
    cleanup();
    throw e;
  }
  const paths = inputs.map((p) => (p === '-' ? copy : p));
  return {
    paths,
    rename(result) {
      for (const [k, c] of result.captures.entries()) {
        if (inputs[k] === '-') {
          c.file = '<stdin>';
          for (const e of [...c.errors, ...c.warnings]) e.message = e.message.split(copy).join('<stdin>');
        }
      }
    },
    cleanup,
  };
}
