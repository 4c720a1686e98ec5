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
 * Largest captured packet we read: libpcap's MAXIMUM_SNAPLEN (256 KiB), the most tcpdump ever
 * captures per packet and the limit libpcap itself enforces when reading a file of an IP link
 * type. A larger length is a corrupt header; refusing it keeps one bad field from making us
 * buffer hundreds of megabytes.
 */
export const MAX_PACKET_BYTES = 262_144;

/**
 * Largest pcapng block we buffer (SHB, IDB, EPB, PB, SPB; other blocks are skipped as they
 * stream by, whatever their size): libpcap's MAX_BLOCKSIZE_FOR_SNAPLEN(MAXIMUM_SNAPLEN), an EPB
 * with a 256 KiB packet and 128 KiB of options: 8 + 20 + 262144 + 131072 + 4 bytes.
 */
export const MAX_BLOCK_BYTES = 8 + 20 + MAX_PACKET_BYTES + 131_072 + 4;
