// pcapng on-disk layout (draft-ietf-opsawg-pcapng), defined once. Each struct is a block's
// fixed part including the §3.1 common header, so offsetOf() gives offsets from block start.
import { blob, struct, u16, u32 } from 'buffer-layout';
import type { HeaderLayout } from '../wire/index.js';
import { fieldOffset } from './layout-offset.js';

/** §10.1 Block type codes. SHB's code is a palindrome, readable before the byte order is known. */
export const BlockType = {
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  /** Appendix A: obsolete Packet Block, still read for old files. */
  PACKET: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  ENHANCED_PACKET: 0x00000006,
} as const;

/** §4.1 Byte-Order Magic: reads as 0x1A2B3C4D in the section's own byte order. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const PCAPNG_VERSION_MAJOR = 1;
export const PCAPNG_VERSION_MINOR = 0;

/** §3.1 General Block Structure: type and total length lead every block... */
export const blockHeader: HeaderLayout = struct([u32('blockType'), u32('blockTotalLength')]);
/** ...and the total length is repeated as the last 32-bit word, to allow walking backwards. */
export const blockTrailer: HeaderLayout = struct([u32('blockTotalLength')]);

export const BLOCK = {
  HEADER_SIZE: blockHeader.span,
  TYPE: fieldOffset(blockHeader, 'blockType'),
  TOTAL_LENGTH: fieldOffset(blockHeader, 'blockTotalLength'),
  TRAILER_SIZE: blockTrailer.span,
  /** Smallest legal block: header + trailer, empty body. */
  MIN_SIZE: blockHeader.span + blockTrailer.span,
} as const;

/** §4.1 Section Header Block fixed part. Section Length -1 = "not specified" (we stream). */
export const sectionHeaderBlock: HeaderLayout = struct([
  u32('blockType'),
  u32('blockTotalLength'),
  u32('byteOrderMagic'),
  u16('majorVersion'),
  u16('minorVersion'),
  blob(8, 'sectionLength'), // signed 64-bit; only ever written as -1
]);

export const SHB = {
  FIXED_SIZE: sectionHeaderBlock.span,
  BYTE_ORDER_MAGIC: fieldOffset(sectionHeaderBlock, 'byteOrderMagic'),
  MAJOR_VERSION: fieldOffset(sectionHeaderBlock, 'majorVersion'),
  MINOR_VERSION: fieldOffset(sectionHeaderBlock, 'minorVersion'),
} as const;

/** §4.2 Interface Description Block fixed part. */
export const interfaceDescriptionBlock: HeaderLayout = struct([
  u32('blockType'),
  u32('blockTotalLength'),
  u16('linkType'),
  u16('reserved'),
  u32('snapLen'),
]);

export const IDB = {
  FIXED_SIZE: interfaceDescriptionBlock.span,
  LINK_TYPE: fieldOffset(interfaceDescriptionBlock, 'linkType'),
  SNAPLEN: fieldOffset(interfaceDescriptionBlock, 'snapLen'),
} as const;

/** §4.3 Enhanced Packet Block fixed part; packet data (padded to 32 bits) and options follow. */
export const enhancedPacketBlock: HeaderLayout = struct([
  u32('blockType'),
  u32('blockTotalLength'),
  u32('interfaceId'),
  u32('timestampHigh'),
  u32('timestampLow'),
  u32('capturedLength'),
  u32('originalLength'),
]);

export const EPB = {
  FIXED_SIZE: enhancedPacketBlock.span,
  INTERFACE_ID: fieldOffset(enhancedPacketBlock, 'interfaceId'),
  TS_HIGH: fieldOffset(enhancedPacketBlock, 'timestampHigh'),
  TS_LOW: fieldOffset(enhancedPacketBlock, 'timestampLow'),
  CAPTURED_LENGTH: fieldOffset(enhancedPacketBlock, 'capturedLength'),
  ORIGINAL_LENGTH: fieldOffset(enhancedPacketBlock, 'originalLength'),
} as const;

/** §4.4 Simple Packet Block fixed part: no interface id (always 0), no timestamp, no options. */
export const simplePacketBlock: HeaderLayout = struct([u32('blockType'), u32('blockTotalLength'), u32('originalLength')]);

export const SPB = {
  FIXED_SIZE: simplePacketBlock.span,
  ORIGINAL_LENGTH: fieldOffset(simplePacketBlock, 'originalLength'),
} as const;

/** Appendix A obsolete Packet Block fixed part: a 16-bit interface id and a drops counter. */
export const packetBlock: HeaderLayout = struct([
  u32('blockType'),
  u32('blockTotalLength'),
  u16('interfaceId'),
  u16('dropsCount'),
  u32('timestampHigh'),
  u32('timestampLow'),
  u32('capturedLength'),
  u32('originalLength'),
]);

export const PB = {
  FIXED_SIZE: packetBlock.span,
  INTERFACE_ID: fieldOffset(packetBlock, 'interfaceId'),
  TS_HIGH: fieldOffset(packetBlock, 'timestampHigh'),
  TS_LOW: fieldOffset(packetBlock, 'timestampLow'),
  CAPTURED_LENGTH: fieldOffset(packetBlock, 'capturedLength'),
  ORIGINAL_LENGTH: fieldOffset(packetBlock, 'originalLength'),
} as const;

/** §3.5 Options: code and value length (excluding padding to 32 bits), then the value. */
export const optionHeader: HeaderLayout = struct([u16('code'), u16('length')]);

export const OPTION = {
  HEADER_SIZE: optionHeader.span,
  CODE: fieldOffset(optionHeader, 'code'),
  LENGTH: fieldOffset(optionHeader, 'length'),
  MAX_VALUE_LENGTH: 0xffff,
} as const;

/** §3.5 option codes valid in every block. */
export const OptionCode = {
  END_OF_OPT: 0,
  COMMENT: 1,
} as const;

/** §4.1.1 SHB options. */
export const ShbOption = { HARDWARE: 2, OS: 3, USER_APPL: 4 } as const;

/** §4.2.1 IDB options (only those we read or write). */
export const IdbOption = { NAME: 2, DESCRIPTION: 3, TSRESOL: 9, FCSLEN: 13, TSOFFSET: 14 } as const;

/** §4.3.1 EPB options; Appendix A gives pack_flags the same code and meaning. */
export const EpbOption = { FLAGS: 2 } as const;

/** §4.3.1 epb_flags bits 0-1: inbound/outbound direction (00 = not available). */
export const EPB_FLAGS_DIRECTION_MASK = 0x3;
export const EPB_FLAGS_INBOUND = 0x1;
export const EPB_FLAGS_OUTBOUND = 0x2;

/** §4.2.1 if_tsresol: MSB clear = 10^-n seconds, set = 2^-n; absent = 10^-6. */
export const TSRESOL_BASE2 = 0x80;
export const TSRESOL_DEFAULT = 6;
export const TSRESOL_NANOSECONDS = 9;

/** Round up to the next multiple of 4: §3.1 pads block bodies, §3.5 option values. */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}
