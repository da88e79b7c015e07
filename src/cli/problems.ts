import type { CaptureProblem, CaptureSummary } from '../analyze.js';

/** One line naming the file, the byte offset and the packet: what a user needs to look at the damage. */
export function problemLine(file: string, p: CaptureProblem, kind: 'error' | 'warning', compressed = false): string {
  const offset = `byte offset ${p.offset}${compressed ? ' of the decompressed data' : ''}`;
  const where = p.message.startsWith('cannot open') ? '' : p.packet === 0 ? ` (${offset}, in the file header)` : ` (${offset}, packet ${p.packet})`;
  return `tcpsleuth: ${kind === 'warning' ? 'warning: ' : ''}${file}: ${p.message}${where}`;
}

/** Write a capture's warnings and errors to stderr, one line each; true when it had errors. */
export function writeCaptureProblems(c: CaptureSummary): boolean {
  for (const w of c.warnings) process.stderr.write(`${problemLine(c.file, w, 'warning', c.compression !== null)}\n`);
  if (c.warningsDropped) process.stderr.write(`tcpsleuth: warning: ${c.file}: ${c.warningsDropped} more warnings not shown\n`);
  for (const e of c.errors) process.stderr.write(`${problemLine(c.file, e, 'error', c.compression !== null)}\n`);
  return c.errors.length > 0;
}
