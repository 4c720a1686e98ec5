// Classic pcap on-disk layout (draft-ietf-opsawg-pcap), defined once; everything else
// derives offsets and sizes from these structures.
import { struct, u16, u32 } from 'buffer-layout';
import type { HeaderLayout } from '../wire/index.js';
import { fieldOffset } from './layout-offset.js';

/** §3 File Header: the magic decides byte order and timestamp fraction unit. */
export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
/** Alexey Kuznetzov's "modified pcap" (extra record fields): recognised only to reject clearly. */
export const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;

/** §4 File Header (24 bytes). Encoded little-endian by our writer; read in either order. */
export const pcapFileHeader: HeaderLayout = struct([
  u32('magic'),
  u16('versionMajor'),
  u16('versionMinor'),
  u32('reserved1'), // was thiszone; SHOULD be 0 (§4)
  u32('reserved2'), // was sigfigs; SHOULD be 0 (§4)
  u32('snapLen'),
  u32('linkTypeAndFcs'),
]);

export const PCAP_FILE_HEADER = {
  SIZE: pcapFileHeader.span,
  MAGIC: fieldOffset(pcapFileHeader, 'magic'),
  VERSION_MAJOR: fieldOffset(pcapFileHeader, 'versionMajor'),
  VERSION_MINOR: fieldOffset(pcapFileHeader, 'versionMinor'),
  SNAPLEN: fieldOffset(pcapFileHeader, 'snapLen'),
  LINK_TYPE: fieldOffset(pcapFileHeader, 'linkTypeAndFcs'),
} as const;

/**
 * §4 LinkType and additional information: LinkType is the low 16 bits; bit 26 ("f") says
 * the FCS length in bits 28-31 (in 16-bit words) is valid. Bits 16-25 are reserved.
 */
export const PCAP_LINKTYPE_MASK = 0x0000ffff;
export const PCAP_FCS_PRESENT = 0x04000000;
export const PCAP_FCS_SHIFT = 28;

/** §5 Packet Record header (16 bytes), followed by capturedLength bytes of packet data. */
export const pcapRecordHeader: HeaderLayout = struct([
  u32('timestampSeconds'),
  u32('timestampFraction'), // µs or ns, by magic
  u32('capturedLength'),
  u32('originalLength'),
]);

export const PCAP_RECORD = {
  SIZE: pcapRecordHeader.span,
  TS_SECONDS: fieldOffset(pcapRecordHeader, 'timestampSeconds'),
  TS_FRACTION: fieldOffset(pcapRecordHeader, 'timestampFraction'),
  CAPTURED_LENGTH: fieldOffset(pcapRecordHeader, 'capturedLength'),
  ORIGINAL_LENGTH: fieldOffset(pcapRecordHeader, 'originalLength'),
} as const;

/**
 * Largest record or block we agree to buffer. libpcap caps snaplen at 256 KiB; 256 MiB leaves
 * room for odd captures while keeping a corrupt length from making us allocate gigabytes.
 */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
