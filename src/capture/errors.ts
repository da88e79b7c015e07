/**
 * A capture that cannot be read on: damaged, truncated or not a capture at all.
 * Carries where it happened so the one-line message can name it.
 */
export class CaptureError extends Error {
  constructor(
    message: string,
    /** Byte offset in the (decompressed) stream where the bad record or field starts. */
    readonly fileOffset: number,
    /** Number of the packet being read when it happened (1-based), 0 for the file header. */
    readonly packet: number,
  ) {
    super(message);
    this.name = 'CaptureError';
  }
}

/** Largest record we accept; a bigger length field is damage, never an allocation. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
