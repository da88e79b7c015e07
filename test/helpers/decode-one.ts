/** Decoding one synthetic frame with the real decoder. */
import { Frame } from '../../src/capture/frame.js';
import { Decoder } from '../../src/decode/decoder.js';
import type { Packet } from '../../src/decode/packet.js';
import { toBuf, type Bytes } from './bytes.js';

export interface FrameOptions {
  /** Captured length (the data is cut to it); the data length by default. */
  capLen?: number;
  /** Wire length; the full data length by default. */
  origLen?: number;
  fcsLen?: number;
}

/** Filler around a synthetic frame, so that reading past the captured bytes shows. */
const GUARD = 0xee;
const LEAD = 7;

/**
 * A Frame holding `data` (cut to `capLen`) at a non-zero offset of a bigger buffer
 * whose other bytes are 0xEE: a decoder that reads outside the captured bytes, or
 * assumes offset 0, gets garbage instead of plausible values.
 */
export function frameOf(linkType: number, data: Bytes, o: FrameOptions = {}): Frame {
  const d = toBuf(data);
  const capLen = o.capLen ?? d.length;
  const buf = Buffer.alloc(LEAD + capLen + 64, GUARD);
  d.copy(buf, LEAD, 0, capLen);
  const f = new Frame();
  f.index = 1;
  f.sec = 1700000000;
  f.linkType = linkType;
  f.fcsLen = o.fcsLen ?? -1;
  f.buf = buf;
  f.offset = LEAD;
  f.capLen = capLen;
  f.origLen = o.origLen ?? d.length;
  return f;
}

/** Decode one synthetic frame with a fresh Decoder (the packet is the decoder's reused object). */
export function decodeOne(linkType: number, data: Bytes, o: FrameOptions = {}): { packet: Packet; decoder: Decoder } {
  const decoder = new Decoder();
  const packet = decoder.decode(frameOf(linkType, data, o));
  return { packet, decoder };
}
