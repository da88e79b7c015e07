import { CaptureError } from './errors.js';
import type { CaptureSink } from './frame.js';
import { PcapParser, pcapVariant } from './pcap.js';
import { BT_SHB, PcapngParser } from './pcapng.js';
import type { RecordParser } from './record-parser.js';
import { FileSource, StreamSource, gunzipSource, type ByteSource } from './source.js';
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
 * Read one capture (a path, or "-" for standard input) to its end or to its first
 * fatal damage, delivering every frame to `sink`. Never throws for bad input: the
 * damage comes back in `error`, after everything before it was delivered.
 */
export async function readCapture(input: string, sink: CaptureSink, stdin: NodeJS.ReadableStream = process.stdin): Promise<ReadResult> {
  const result: ReadResult = { format: null, compression: null, packets: 0, bytes: 0, error: null };
  let src: ByteSource;
  try {
    src = input === '-' ? new StreamSource(stdin as unknown as import('node:stream').Readable) : await FileSource.open(input);
  } catch (e) {
    result.error = new CaptureError(`cannot open: ${errnoMessage(e)}`, 0, 0);
    return result;
  }
  // A small file gets a small window; it grows as far as a record needs (bounded: window.ts).
  const w = new ByteWindow(src instanceof FileSource && src.size >= 0 ? src.size + 1 : CHUNK_BYTES);
  let parser: RecordParser | null = null;
  try {
    // Sniff: enough bytes for a magic number.
    while (w.length < 4) {
      if ((await src.fill(w, CHUNK_BYTES)) === 0) break;
    }
    if (w.length >= 2 && w.buf[w.start] === 0x1f && w.buf[w.start + 1] === 0x8b) {
      result.compression = 'gzip';
      const prefix = Buffer.from(w.buf.subarray(w.start, w.end));
      if (input !== '-') await src.close();
      src = await gunzipSource(prefix, src, input === '-' ? null : input);
      w.reset();
      while (w.length < 4) {
        if ((await src.fill(w, CHUNK_BYTES)) === 0) break;
      }
    }
    if (w.length === 0) throw new CaptureError('empty file: no capture header', 0, 0);
    const magic = w.length >= 4 ? be32(w.buf, w.start) : -1;
    if (magic === BT_SHB) parser = new PcapngParser(sink);
    else if (magic >= 0 && pcapVariant(magic)) parser = new PcapParser(sink);
    else throw new CaptureError(`not a capture file: ${describeMagic(w.buf.subarray(w.start), w.length)}`, 0, 0);

    let eof = false;
    while (true) {
      const pos = parser.parse(w.buf, w.start, w.end, w.base);
      w.consumeTo(pos);
      if (eof) break;
      // Read at least what the pending record needs, in big chunks.
      const want = Math.max(CHUNK_BYTES, parser.needed - w.length);
      if ((await src.fill(w, want)) === 0) eof = true;
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
  } catch (e) {
    if (e instanceof CaptureError) result.error = e;
    else if (isZlibError(e)) result.error = new CaptureError(`gzip data is damaged: ${errnoMessage(e)}`, w.base + w.length, (parser?.packets ?? 0) + 1);
    else if (isFsError(e)) result.error = (e as { code?: string }).code === "EISDIR" ? new CaptureError("cannot open: is a directory", 0, 0) : new CaptureError(`read failed: ${errnoMessage(e)}`, w.base + w.length, (parser?.packets ?? 0) + 1);
    else throw e;
  } finally {
    await src.close().catch(() => undefined);
  }
  result.format = parser?.formatName ?? null;
  result.packets = parser?.packets ?? 0;
  result.bytes = w.base + w.length;
  return result;
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
