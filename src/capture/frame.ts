/**
 * One captured frame as the readers hand it on. A reader owns a single Frame and
 * refills it for every record (no per-packet allocation): whoever needs a field
 * after the sink returns must copy it.
 */
export class Frame {
  /** 1-based frame number within the capture, as Wireshark numbers them. */
  index = 0;
  /** Whole seconds since the epoch; with `nsec`, exact to the nanosecond. */
  sec = 0;
  nsec = 0;
  /** False for pcapng Simple Packet Blocks, which carry no timestamp. */
  hasTime = true;
  /** LINKTYPE_ value (lower 16 bits of the pcap header field, or the IDB's). */
  linkType = 0;
  /** Interface number across the whole file (pcapng sections are numbered on). */
  interfaceId = 0;
  /** Length of a trailing frame check sequence in bytes; -1 when unknown. */
  fcsLen = -1;
  /** The bytes: `buf[offset .. offset + capLen)`. A view into the reader's buffer. */
  buf: Buffer = Buffer.alloc(0);
  offset = 0;
  capLen = 0;
  /** Length of the frame on the wire (>= capLen unless the file lies). */
  origLen = 0;
  /** Byte offset of the record in the (decompressed) capture stream. */
  fileOffset = 0;
  /** pcapng opt_comment values of the packet block, or null when none. */
  comments: string[] | null = null;
}

/** Description of an interface, as a pcapng IDB (or the pcap file header) gives it. */
export interface InterfaceInfo {
  /** Number across the whole file, matching Frame.interfaceId. */
  id: number;
  linkType: number;
  snapLen: number;
  name: string | null;
  description: string | null;
  /** Timestamp units per second (10^6 for microseconds). */
  tsUnitsPerSecond: number;
  /** Seconds added to every timestamp of this interface (pcapng if_tsoffset). */
  tsOffsetSeconds: number;
  fcsLen: number;
}

/** Where a reader delivers what it reads. */
export interface CaptureSink {
  onInterface(info: InterfaceInfo): void;
  /** Called once per record, synchronously; `frame` is reused afterwards. */
  onFrame(frame: Frame): void;
  /** Problems that do not stop reading (damaged options, odd lengths). */
  onWarning(message: string, fileOffset: number, packet: number): void;
  /** Optional, pcapng only: an interface statistics block says the capture ran until `sec.nsec`. */
  onCaptureEnd?(sec: number, nsec: number): void;
  /**
   * Optional, pcapng only, for rewriters: every block whose framing is sound, as read
   * and before the interface or frame it gives is delivered: its type, its section's
   * byte order and the whole block `buf[pos .. pos + len)` (a view valid during the call only).
   */
  onBlock?(type: number, buf: Buffer, pos: number, len: number, littleEndian: boolean): void;
}
