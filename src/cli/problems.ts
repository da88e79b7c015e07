import type { CaptureProblem } from '../analyze.js';

/** One line naming the file, the byte offset and the packet: what a user needs to look at the damage. */
export function problemLine(file: string, p: CaptureProblem, kind: 'error' | 'warning', compressed = false): string {
  const offset = `byte offset ${p.offset}${compressed ? ' of the decompressed data' : ''}`;
  const where = p.message.startsWith('cannot open') ? '' : p.packet === 0 ? ` (${offset}, in the file header)` : ` (${offset}, packet ${p.packet})`;
  return `tcpsleuth: ${kind === 'warning' ? 'warning: ' : ''}${file}: ${p.message}${where}`;
}
