/** Reading a capture back through the real reader, every frame copied out. */
import type { Readable } from 'node:stream';
import type { CaptureSink, InterfaceInfo } from '../../src/capture/frame.js';
import { readCapture, type ReadResult } from '../../src/capture/read-capture.js';
import { formatEpoch } from '../../src/capture/timestamp.js';

/** A frame copied out of the reader's reused Frame. */
export interface ReadFrame {
  index: number;
  sec: number;
  nsec: number;
  /** formatEpoch(sec, nsec). */
  time: string;
  hasTime: boolean;
  linkType: number;
  interfaceId: number;
  fcsLen: number;
  capLen: number;
  origLen: number;
  fileOffset: number;
  comments: string[] | null;
  data: Buffer;
}

export interface Warning {
  message: string;
  fileOffset: number;
  packet: number;
}

export interface ReadBack {
  result: ReadResult;
  frames: ReadFrame[];
  interfaces: InterfaceInfo[];
  warnings: Warning[];
}

/** A sink that copies everything it is given. */
export function collectingSink(): CaptureSink & Omit<ReadBack, 'result'> {
  const frames: ReadFrame[] = [];
  const interfaces: InterfaceInfo[] = [];
  const warnings: Warning[] = [];
  return {
    frames,
    interfaces,
    warnings,
    onInterface(info) {
      interfaces.push({ ...info });
    },
    onFrame(f) {
      frames.push({
        index: f.index,
        sec: f.sec,
        nsec: f.nsec,
        time: formatEpoch(f.sec, f.nsec),
        hasTime: f.hasTime,
        linkType: f.linkType,
        interfaceId: f.interfaceId,
        fcsLen: f.fcsLen,
        capLen: f.capLen,
        origLen: f.origLen,
        fileOffset: f.fileOffset,
        comments: f.comments === null ? null : [...f.comments],
        data: Buffer.from(f.buf.subarray(f.offset, f.offset + f.capLen)),
      });
    },
    onWarning(message, fileOffset, packet) {
      warnings.push({ message, fileOffset, packet });
    },
  };
}

/** readCapture into a collecting sink. `stdin` is used when `input` is '-'. */
export async function readAll(input: string, stdin?: Readable): Promise<ReadBack> {
  const sink = collectingSink();
  const result = stdin === undefined ? await readCapture(input, sink) : await readCapture(input, sink, stdin);
  return { result, frames: sink.frames, interfaces: sink.interfaces, warnings: sink.warnings };
}
