import { CaptureError } from './errors.js';
import type { CaptureSink } from './frame.js';
import { PcapParser, pcapVariant } from './pcap.js';
import { BT_SHB, PcapngParser } from './pcapng.js';
import type { RecordParser } from './record-parser.js';
import { FileSource, gunzipSource, stdinSource, type ByteSource } from './source.js';
import { ByteWindow, CHUNK_BYTES } from './window.js';
import { be32 } from './bytes.js';

export interface ReadResult {
  /** "pcap-us", "pcap-ns" or "pcapng"; null when the format was not recognised. */
  format: string | null;
  /** "gzip" when the file was compressed. */
  compression: 'gzip' | null;
  packets: number;
  /** Bytes of (decompressed) capture read. */
  bytes: number;
  /** The damage that stopped reading, or null when the file was read to its end. */
  error: CaptureError | null;
}

/** What the first bytes say the data is, for a clear message when it is no capture. */
function describeMagic(b: Buffer, n: number): string {
  const hex = b.subarray(0, Math.min(n, 4)).toString('hex').replace(/(..)(?=.)/g, '$1 ');
  if (n >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return 'zstd-compressed data (decompress it first: zstd -d)';
  if (n >= 4 && b[0] === 0x04 && b[1] === 0x22 && b[2] === 0x4d && b[3] === 0x18) return 'lz4-compressed data (decompress it first: lz4 -d)';
  if (n >= 3 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) return 'bzip2-compressed data (decompress it first: bunzip2)';
  if (n >= 4 && b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58) return 'xz-compressed data (decompress it first: xz -d)';
  if (n >= 5 && b.toString('latin1', 0, 5) === 'snoop') return 'a Solaris snoop file (convert it: editcap -F pcapng)';
  return `neither pcap nor pcapng (starts with ${hex || 'nothing'})`;
}

/**
 * One capture read record by record: `open` sniffs the format, each `step` parses
 * what the window holds (everything, or one frame in `oneFrame` mode, which the
 * multi-file merge uses) and reads on when it must. Never throws for bad input: the
 * damage ends the reading and comes back in the result, after everything before it
 * was delivered.
 */
export class CaptureReader {
  private readonly result: ReadResult = { format: null, compression: null, packets: 0, bytes: 0, error: null };
  private src: ByteSource | null = null;
  private w: ByteWindow = new ByteWindow(0);
  private parser: RecordParser | null = null;
  private eof = false;
  private done = false;
  private closed = false;

  constructor(
    readonly input: string,
    private readonly sink: CaptureSink,
    /** Standard input as a stream; undefined: the process's own (read through its descriptor: stdinSource). */
    private readonly stdin: NodeJS.ReadableStream | undefined = undefined,
    /** Stop after each frame (a pull reader); otherwise deliver all the window holds per step. */
    private readonly oneFrame = false,
    /** Bytes per read: big for throughput, small when only the first frame is wanted. */
    private chunk = CHUNK_BYTES,
  ) {}

  /**
   * One-frame mode: whether the parser stops after each frame. A sink that takes a
   * run of frames as they come may switch it off, and on again while a frame is
   * delivered to keep that frame (the parser then stops right after it).
   */
  set stopAfterFrame(stop: boolean) {
    if (this.parser !== null) this.parser.stopAfterFrame = stop;
  }

  /** True once the input is read to its end or its first fatal damage. */
  get ended(): boolean {
    return this.done;
  }

  /** Open the input and recognise its format. */
  async open(): Promise<void> {
    const input = this.input;
    try {
      this.src = input === '-' ? stdinSource(this.stdin) : await FileSource.open(input);
    } catch (e) {
      this.result.error = new CaptureError(`cannot open: ${errnoMessage(e)}`, 0, 0);
      this.done = true;
      return;
    }
    const src = this.src;
    // A small file gets a small window; it grows as far as a record needs (bounded: window.ts).
    // A file or pipe read synchronously is read in small pieces (readSize): its window holds two.
    if (src.readSize !== undefined) this.chunk = Math.min(this.chunk, src.readSize);
    this.w = new ByteWindow(src.size !== undefined && src.size >= 0 ? Math.min(src.size + 1, 2 * this.chunk) : this.chunk);
    await this.guard(async () => {
      const w = this.w;
      // Sniff: enough bytes for a magic number.
      await this.fillTo(4);
      if (w.length >= 2 && w.buf[w.start] === 0x1f && w.buf[w.start + 1] === 0x8b) {
        this.result.compression = 'gzip';
        const prefix = Buffer.from(w.buf.subarray(w.start, w.end));
        if (input !== '-') await src.close();
        this.src = await gunzipSource(prefix, src, input === '-' ? null : input);
        w.reset();
        await this.fillTo(4);
      }
      if (w.length === 0) throw new CaptureError('empty file: no capture header', 0, 0);
      const magic = w.length >= 4 ? be32(w.buf, w.start) : -1;
      if (magic === BT_SHB) this.parser = new PcapngParser(this.sink);
      else if (magic >= 0 && pcapVariant(magic)) this.parser = new PcapParser(this.sink);
      else throw new CaptureError(`not a capture file: ${describeMagic(w.buf.subarray(w.start), w.length)}`, 0, 0);
      this.parser.stopAfterFrame = this.oneFrame;
    });
  }

  private async fillTo(n: number): Promise<void> {
    while (this.w.length < n) {
      if ((await this.src!.fill(this.w, this.chunk)) === 0) break;
    }
  }

  /**
   * Parse on. Returns true while there is more to read. In `oneFrame` mode it returns
   * as soon as one frame was delivered (the frame stays valid until the next step).
   */
  async step(): Promise<boolean> {
    if (this.done) return false;
    await this.guard(async () => {
      const parser = this.parser!;
      const w = this.w;
      while (true) {
        const before = parser.packets;
        w.consumeTo(parser.parse(w.buf, w.start, w.end, w.base));
        if (this.oneFrame && parser.packets !== before) return;
        if (this.eof) break;
        // Read at least what the pending record needs, in big chunks.
        if ((await this.src!.fill(w, Math.max(this.chunk, parser.needed - w.length))) === 0) this.eof = true;
      }
      if (w.length > 0) {
        // Nothing consumed yet: the file header itself is cut (packet 0, as for any file-header damage).
        const inHeader = parser.packets === 0 && w.base === 0;
        throw new CaptureError(
          `file ends in the middle of a ${inHeader ? 'file header' : 'record'}: ${parser.needed} bytes needed, ${w.length} left`,
          w.base,
          inHeader ? 0 : parser.packets + 1,
        );
      }
      this.done = true;
    });
    return !this.done;
  }

  /**
   * One-frame mode: parse on in the bytes already read, with no read and no promise
   * (a merge of inputs that interleave takes a frame at a time). The sink hears what
   * it delivers; when it delivers nothing, the window needs more bytes (step() reads
   * them) or the input has ended.
   */
  parseWindow(): void {
    const parser = this.parser;
    if (this.done || parser === null) return;
    const w = this.w;
    try {
      w.consumeTo(parser.parse(w.buf, w.start, w.end, w.base));
    } catch (e) {
      this.fail(e);
    }
  }

  /** Run `body`; bad input ends the reading with a located error, anything else is a bug and rethrown. */
  private async guard(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Bad input ends the reading with a located error; anything else is a bug, thrown on. */
  private fail(e: unknown): void {
    const w = this.w;
    const packet = (this.parser?.packets ?? 0) + 1;
    if (e instanceof CaptureError) this.result.error = e;
    else if (isZlibError(e)) this.result.error = new CaptureError(`gzip data is damaged: ${errnoMessage(e)}`, w.base + w.length, packet);
    else if (isFsError(e))
      this.result.error =
        (e as { code?: string }).code === 'EISDIR' ? new CaptureError('cannot open: is a directory', 0, 0) : new CaptureError(`read failed: ${errnoMessage(e)}`, w.base + w.length, packet);
    else throw e;
    this.done = true;
  }

  /** Release the input; what was read, and the damage that stopped it if any. */
  async close(): Promise<ReadResult> {
    if (this.closed) return this.result;
    this.closed = true;
    this.done = true;
    await this.src?.close().catch(() => undefined);
    this.src = null;
    const result = this.result;
    result.format = this.parser?.formatName ?? null;
    result.packets = this.parser?.packets ?? 0;
    result.bytes = this.w.base + this.w.length;
    this.w = new ByteWindow(0);
    return result;
  }
}

/**
 * Read one capture (a path, or "-" for standard input) to its end or to its first
 * fatal damage, delivering every frame to `sink`. Never throws for bad input: the
 * damage comes back in `error`, after everything before it was delivered.
 */
export async function readCapture(input: string, sink: CaptureSink, stdin?: NodeJS.ReadableStream): Promise<ReadResult> {
  const reader = new CaptureReader(input, sink, stdin);
  try {
    await reader.open();
    while (await reader.step());
  } finally {
    await reader.close();
  }
  return reader.close();
}

function errnoMessage(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    const code = (e as { code: string }).code;
    const known: Record<string, string> = {
      ENOENT: 'no such file',
      EACCES: 'permission denied',
      EISDIR: 'is a directory',
      Z_BUF_ERROR: 'unexpected end of compressed data',
      Z_DATA_ERROR: 'invalid compressed data',
    };
    return known[code] ?? `${code}: ${(e as unknown as Error).message}`;
  }
  return e instanceof Error ? e.message : String(e);
}

function isZlibError(e: unknown): boolean {
  return !!e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string' && (e as { code: string }).code.startsWith('Z_');
}

function isFsError(e: unknown): boolean {
  return !!e && typeof e === 'object' && 'syscall' in e;
}
