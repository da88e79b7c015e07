import { createReadStream, createWriteStream, mkdtempSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import { analyzeCaptures } from '../analyze.js';
import { CaptureRewriter } from '../capture/capture-rewriter.js';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import { readCapture, type ReadResult } from '../capture/read-capture.js';
import type { Severity } from '../detect/finding.js';
import { ANNOTATE_WHAT, packetAnnotations, summaryComment, type AnnotateWhat } from '../report/annotations.js';
import { addThresholdOptions, detectOptionsFrom, minSeverityOption, type ThresholdFlags } from './detect-options.js';
import { offloadFor } from './offload.js';
import { problemLine } from './problems.js';

const EXIT_OK = 0;
const EXIT_INPUT = 2;

export interface AnnotateFlags extends ThresholdFlags {
  output: string;
  annotate: AnnotateWhat;
  minSeverity: Severity;
}

/** Where the command reads and writes; the process's own streams unless a test gives others. */
export interface AnnotateIo {
  stdin: NodeJS.ReadableStream;
  stdout: Writable & { isTTY?: boolean };
  stderr: { write(s: string): unknown };
}

export function annotateCommand(done: (code: number) => void): Command {
  const cmd = new Command('annotate')
    .description('Write a capture as pcapng with packet comments on the packets that show a finding or change an endpoint\'s state')
    .argument('<capture>', 'pcap or pcapng file, optionally gzip-compressed; "-" reads standard input (kept in a temporary file for the second pass)')
    .requiredOption('-o, --output <file>', 'the annotated pcapng to write; "-" writes standard output')
    .addOption(new Option('--annotate <what>', 'what to comment: state changes and findings, or only one of them').choices([...ANNOTATE_WHAT]).default('all'))
    .addOption(minSeverityOption('comment findings of this severity or worse'));
  return addThresholdOptions(cmd)
    .addHelpText(
      'after',
      `
Every packet is written unchanged (same bytes, timestamps to the nanosecond,
interfaces, link types and existing comments); the packets that change an
endpoint's TCP state or show a finding get comments such as
  tcpsleuth: server 10.0.0.2:8080 CLOSE-WAIT -> LAST-ACK (sent FIN)
  tcpsleuth warning close-wait-stuck: server 10.0.0.2:8080 has been in CLOSE-WAIT ...
and the section header a summary of the analysis. In Wireshark, filter on
  frame.comment contains "tcpsleuth"      (or "close-wait-stuck", "LAST-ACK", ...)

The capture is read twice (analysis, then copy): standard input is first saved
to a temporary file (in $TMPDIR), removed afterwards. Simple Packet Blocks and
custom blocks cannot carry comments; they are copied as they are.

Examples:
  $ tcpsleuth annotate captures/close-wait-stuck.pcap -o annotated.pcapng
  $ tshark -r annotated.pcapng -Y 'frame.comment contains "close-wait-stuck"'
  $ tcpsleuth annotate --annotate findings --min-severity warning big.pcap.gz -o big.pcapng
  $ tcpdump -i any -w - 'tcp port 8080' -c 1000 | tcpsleuth annotate - -o - | wireshark -k -i -

Exit status: 0 when the capture was read to its end and written; 2 on a usage
error, an unreadable input or output, or a damaged or truncated capture (the
packets read before the damage are still written, annotated).`,
    )
    .action(async (capture: string, flags: AnnotateFlags) => {
      done(await runAnnotate(capture, flags));
    });
}

function reason(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    const code = (e as { code: string }).code;
    const known: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EISDIR: 'is a directory',
      ENOSPC: 'no space left on device',
      EROFS: 'read-only file system',
    };
    if (known[code]) return known[code]!;
  }
  return e instanceof Error ? e.message : String(e);
}

function existsButNotAFile(path: string): boolean {
  try {
    return !statSync(path).isFile();
  } catch {
    return false;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * The spooled file again, as a stream that hands on its next piece only when the
 * writer's output can take more: a slow reader of standard output holds the copy back
 * instead of letting it pile up in memory.
 */
function throttled(path: string, writer: PcapngWriter): Readable {
  async function* pieces(): AsyncGenerator<Buffer> {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      if (writer.needsDrain) await writer.drain();
      yield chunk as Buffer;
    }
  }
  return Readable.from(pieces(), { objectMode: false, highWaterMark: 1 });
}

/** `tcpsleuth annotate`: analyse, then copy the capture with comments. Resolves to the exit status. */
export async function runAnnotate(input: string, flags: AnnotateFlags, io: AnnotateIo = process): Promise<number> {
  const err = (s: string): void => {
    io.stderr.write(`${s}\n`);
  };
  const toStdout = flags.output === '-';
  if (toStdout && io.stdout.isTTY) {
    err('tcpsleuth: refusing to write a binary capture to a terminal: redirect standard output or use -o FILE');
    return EXIT_INPUT;
  }
  if (!toStdout && input !== '-' && sameFile(input, flags.output)) {
    err(`tcpsleuth: ${flags.output}: the output would overwrite the capture being read; choose another file`);
    return EXIT_INPUT;
  }

  let spoolDir: string | null = null;
  let tmpOut: string | null = null;
  try {
    let path = input;
    if (input === '-') {
      spoolDir = mkdtempSync(join(tmpdir(), 'tcpsleuth-annotate-'));
      path = join(spoolDir, 'stdin');
      await pipeline(io.stdin, createWriteStream(path));
    }

    // Pass 1: the analysis. The comments read neither the sequence analysis nor Zeek's verdicts (a big input's go to the second thread).
    const result = await analyzeCaptures([path], detectOptionsFrom(flags), undefined, { offload: offloadFor([path]), sequenceAnalysis: false });
    const summary = result.captures[0]!;
    if (input === '-') summary.file = '<stdin>';
    const problems = (): number => {
      for (const w of summary.warnings) err(problemLine(summary.file, w, 'warning', summary.compression !== null));
      if (summary.warningsDropped) err(`tcpsleuth: warning: ${summary.file}: ${summary.warningsDropped} more warnings not shown`);
      for (const e of summary.errors) err(problemLine(summary.file, e, 'error', summary.compression !== null));
      return summary.errors.length > 0 ? EXIT_INPUT : EXIT_OK;
    };
    if (summary.format === null) {
      // Not a capture at all (or not readable): nothing to write.
      return problems() || EXIT_INPUT;
    }
    const opts = { annotate: flags.annotate, minSeverity: flags.minSeverity };
    const annotations = packetAnnotations(result, opts);

    // Pass 2: the copy, with comments.
    let writer: PcapngWriter;
    const outName = toStdout ? '<stdout>' : flags.output;
    try {
      if (toStdout) {
        // `annotate -o - | head`: the reader going away is not an error.
        io.stdout.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code === 'EPIPE') process.exit(0);
        });
        writer = PcapngWriter.open(io.stdout, { end: false });
      }
      else if (existsButNotAFile(flags.output)) writer = PcapngWriter.open(flags.output); // a device or a FIFO: written in place
      else {
        tmpOut = join(dirname(flags.output), `.${basename(flags.output)}.tcpsleuth-${process.pid}.tmp`);
        writer = PcapngWriter.open(tmpOut);
      }
    } catch (e) {
      err(`tcpsleuth: ${outName}: cannot write: ${reason(e)}`);
      return EXIT_INPUT;
    }
    const rewriter = new CaptureRewriter(writer, {
      commentsFor: (i) => annotations.get(i),
      sectionComments: [summaryComment(result, opts, annotations)],
    });
    let copied: ReadResult;
    try {
      copied = toStdout ? await readCapture('-', rewriter, throttled(path, writer)) : await readCapture(path, rewriter);
      await writer.close();
    } catch (e) {
      await writer.close().catch(() => undefined);
      err(`tcpsleuth: ${outName}: cannot write: ${reason(e)}`);
      return EXIT_INPUT;
    }
    if (tmpOut !== null) {
      try {
        renameSync(tmpOut, flags.output);
      } catch (e) {
        err(`tcpsleuth: ${outName}: cannot write: ${reason(e)}`);
        return EXIT_INPUT;
      }
      tmpOut = null;
    }
    const code = problems();
    if (copied.packets !== summary.packets) {
      err(`tcpsleuth: warning: ${summary.file}: ${summary.packets} packets analysed but ${copied.packets} copied on the second reading`);
    }
    if (rewriter.uncommentable > 0) {
      err(`tcpsleuth: warning: ${rewriter.uncommentable} annotated packets are Simple Packet Blocks, which cannot hold comments; they are copied without`);
    }
    if (summary.errors.length > 0) err(`tcpsleuth: ${outName}: wrote the ${copied.packets} packets read before the damage`);
    return code;
  } catch (e) {
    err(`tcpsleuth: ${input === '-' ? '<stdin>' : input}: ${reason(e)}`);
    return EXIT_INPUT;
  } finally {
    if (tmpOut !== null) {
      try {
        unlinkSync(tmpOut);
      } catch {
        // never created
      }
    }
    if (spoolDir !== null) rmSync(spoolDir, { recursive: true, force: true });
  }
}
