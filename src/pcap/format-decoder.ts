// The contract between CaptureDecoder (detection, buffering, wrappers) and the two
// format-specific decoders it hands the byte queue to.
import type { ByteQueue } from './byte-queue.js';
import type { CaptureFormat, CaptureInterface, CaptureRecord, CaptureSection } from './capture-types.js';

export interface FormatDecoder {
  readonly format: CaptureFormat;
  /** Interfaces of the current section. */
  readonly interfaces: readonly CaptureInterface[];
  readonly section: CaptureSection | undefined;
  /**
   * Consumes whole records/blocks from the front of `queue` until one yields a packet
   * (returned with this `index`), or returns null when the rest is still incomplete.
   */
  next(queue: ByteQueue, index: number): CaptureRecord | null;
  /** End of input with `queue` still holding bytes (or a block half skipped): throws why. */
  finish(queue: ByteQueue): void;
}

/**
 * A plain Uint8Array copy of bytes[start, end), so a record never pins the (up to 1 MiB)
 * input chunk it came from. (Not `bytes.slice()`: on a Node Buffer that is a view.)
 */
export function copyBytes(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const copy = new Uint8Array(end - start);
  copy.set(bytes.subarray(start, end));
  return copy;
}
