/**
 * A push parser over a window of the capture stream. The driver hands it the bytes
 * it has; it delivers every complete record to its sink and says how far it got.
 */
export interface RecordParser {
  /** "pcap-us", "pcap-ns" or "pcapng", once the header is read. */
  readonly formatName: string;
  /** Bytes from the returned offset that the next record needs (known once its header is read). */
  readonly needed: number;
  /** Frames delivered so far. */
  readonly packets: number;
  /** Return right after each delivered frame (the frame stays valid until the next call). */
  stopAfterFrame: boolean;
  /**
   * Consume complete records in `buf[start, end)`; `base` is the stream offset of
   * `buf[start]`. Returns the offset of the first byte not consumed.
   * Throws CaptureError on damage.
   */
  parse(buf: Buffer, start: number, end: number, base: number): number;
}
