/** gzip members built by hand, so a test knows where each deflate block lies. */
import { toBuf, type Bytes } from './bytes.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Bytes): number {
  const b = toBuf(data);
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A gzip member whose deflate stream is made of stored (uncompressed) blocks of
 * `blockSize` bytes, so a test knows where each block starts and can damage one:
 * `blockHeaderOffsets[i]` is the offset of block i's header byte in the result.
 */
export function gzipStored(data: Bytes, blockSize = 4096): { gz: Buffer; blockHeaderOffsets: number[] } {
  const d = toBuf(data);
  if (blockSize < 1 || blockSize > 65535) throw new Error('stored blocks hold 1..65535 bytes');
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])];
  const blockHeaderOffsets: number[] = [];
  let at = 10;
  for (let i = 0; i === 0 || i < d.length; i += blockSize) {
    const chunk = d.subarray(i, i + blockSize);
    const final = i + blockSize >= d.length;
    const h = Buffer.alloc(5);
    h[0] = final ? 1 : 0; // BFINAL, BTYPE 00 (stored)
    h.writeUInt16LE(chunk.length, 1);
    h.writeUInt16LE(~chunk.length & 0xffff, 3);
    blockHeaderOffsets.push(at);
    parts.push(h, chunk);
    at += 5 + chunk.length;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(d), 0);
  trailer.writeUInt32LE(d.length >>> 0, 4);
  parts.push(trailer);
  return { gz: Buffer.concat(parts), blockHeaderOffsets };
}
