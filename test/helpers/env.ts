import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The shared corpus of real captures from other projects, used in place (never copied). */
export const CORPUS = resolve(REPO, '..', 'shared', 'corpus');
export const CAPTURES = join(REPO, 'captures');

function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** tshark is the oracle for the differential tests: they skip, saying so, where it is missing. */
export const HAVE_TSHARK = has('tshark', ['--version']);
export const HAVE_TCPDUMP = has('tcpdump', ['--version']);
export const HAVE_CORPUS = existsSync(join(CORPUS, 'MANIFEST.tsv'));
export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

export interface ManifestRow {
  file: string;
  format: string;
  byteOrder: string;
  linktypes: string;
  packets: number;
  tcpConversations: number;
  notes: string;
  expected: string;
}

/** MANIFEST.tsv rows (two comment lines, then a header). */
export async function manifest(): Promise<ManifestRow[]> {
  const { readFileSync } = await import('node:fs');
  const lines = readFileSync(join(CORPUS, 'MANIFEST.tsv'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const header = lines.shift()!.split('\t');
  const col = (name: string): number => header.indexOf(name);
  return lines.map((l) => {
    const c = l.split('\t');
    return {
      file: c[col('file')]!,
      format: c[col('format')]!,
      byteOrder: c[col('byte_order')]!,
      linktypes: c[col('linktypes')]!,
      packets: Number(c[col('packets')]),
      tcpConversations: Number(c[col('tcp_conversations')]),
      notes: c[col('notes')] ?? '',
      expected: c[col('expected')] ?? '',
    };
  });
}
