// Telling the formats apart by their first four bytes: a pcap magic (§4 of
// draft-ietf-opsawg-pcap, in either byte order) or the palindromic pcapng SHB type.
import { PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_MODIFIED, PCAP_MAGIC_NANOSECONDS } from './pcap-format.js';
import { BlockType } from './pcapng-format.js';

export type DetectedFormat =
  | { format: 'pcap'; littleEndian: boolean; nanosecond: boolean }
  | { format: 'pcapng' }
  | { format: 'pcap-modified' }
  | { format: 'unknown'; magic: number };

export const MAGIC_BYTES = 4;

/** Classifies the 4 bytes at view[start...]. */
export function detectFormat(view: DataView, start: number): DetectedFormat {
  const le = view.getUint32(start, true);
  const be = view.getUint32(start, false);
  if (le === BlockType.SECTION_HEADER) return { format: 'pcapng' };
  for (const [magic, littleEndian] of [
    [le, true],
    [be, false],
  ] as const) {
    if (magic === PCAP_MAGIC_MICROSECONDS) return { format: 'pcap', littleEndian, nanosecond: false };
    if (magic === PCAP_MAGIC_NANOSECONDS) return { format: 'pcap', littleEndian, nanosecond: true };
    if (magic === PCAP_MAGIC_MODIFIED) return { format: 'pcap-modified' };
  }
  return { format: 'unknown', magic: be };
}
