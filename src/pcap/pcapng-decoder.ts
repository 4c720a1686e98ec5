// pcapng reader (draft-ietf-opsawg-pcapng): a sequence of blocks, grouped in sections that
// each start with an SHB fixing the byte order and resetting the interface list.
import type { ByteQueue } from './byte-queue.js';
import { CaptureError } from './capture-error.js';
import type { CaptureInterface, CaptureRecord, CaptureSection, PacketDirection } from './capture-types.js';
import type { FormatDecoder } from './format-decoder.js';
import { copyBytes } from './format-decoder.js';
import { MAX_BLOCK_BYTES, MAX_PACKET_BYTES } from './pcap-format.js';
import {
  BLOCK,
  BYTE_ORDER_MAGIC,
  BlockType,
  EPB,
  EPB_FLAGS_DIRECTION_MASK,
  EPB_FLAGS_INBOUND,
  EPB_FLAGS_OUTBOUND,
  EpbOption,
  IDB,
  IdbOption,
  OPTION,
  OptionCode,
  PB,
  PCAPNG_VERSION_MAJOR,
  SHB,
  SPB,
  ShbOption,
  TSRESOL_DEFAULT,
  pad4,
} from './pcapng-format.js';
import type { OptionVisitor } from './pcapng-options.js';
import { decodeUtf8, forEachOption } from './pcapng-options.js';
import type { TimestampScale } from './timestamp-scale.js';
import { scaleFromTsresol, unitsToNs } from './timestamp-scale.js';

/** A block we do not interpret, being dropped as its bytes arrive (no buffering). */
interface Skipping {
  blockOffset: number;
  totalLength: number;
  bodyLeft: number;
}

/** A whole block in the input: view[start, start + total) holds it; `end` is where its trailer starts. */
interface Block {
  bytes: Uint8Array;
  view: DataView;
  start: number;
  end: number;
  total: number;
  /** File offset of the block's first byte. */
  offset: number;
}

/** Where a packet block keeps its fields: EPB and the obsolete PB differ only in offsets. */
interface PacketLayout {
  name: string;
  fixedSize: number;
  interfaceId: (view: DataView, at: number, le: boolean) => number;
  tsHigh: number;
  tsLow: number;
  capturedLength: number;
  originalLength: number;
}

const EPB_FIELDS: PacketLayout = {
  name: 'EPB',
  fixedSize: EPB.FIXED_SIZE,
  interfaceId: (view, at, le) => view.getUint32(at + EPB.INTERFACE_ID, le),
  tsHigh: EPB.TS_HIGH,
  tsLow: EPB.TS_LOW,
  capturedLength: EPB.CAPTURED_LENGTH,
  originalLength: EPB.ORIGINAL_LENGTH,
};

const PB_FIELDS: PacketLayout = {
  name: 'PB',
  fixedSize: PB.FIXED_SIZE,
  interfaceId: (view, at, le) => view.getUint16(at + PB.INTERFACE_ID, le),
  tsHigh: PB.TS_HIGH,
  tsLow: PB.TS_LOW,
  capturedLength: PB.CAPTURED_LENGTH,
  originalLength: PB.ORIGINAL_LENGTH,
};

export class PcapngDecoder implements FormatDecoder {
  readonly format = 'pcapng';
  private littleEndian = true;
  private header: CaptureSection | undefined;
  private ifaces: CaptureInterface[] = [];
  private scales: TimestampScale[] = [];
  private skipping: Skipping | null = null;

  get interfaces(): readonly CaptureInterface[] {
    return this.ifaces;
  }

  get section(): CaptureSection | undefined {
    return this.header;
  }

  next(queue: ByteQueue, index: number): CaptureRecord | null {
    for (;;) {
      if (this.skipping !== null && !this.skipUnknown(queue)) return null;
      const head = queue.peek(BLOCK.HEADER_SIZE);
      if (head === null) return null;
      const blockOffset = queue.offset;
      // The SHB type reads the same in both byte orders (§4.1), so this works before we know.
      const type = head.view.getUint32(head.start + BLOCK.TYPE, this.littleEndian);
      if (type === BlockType.SECTION_HEADER) {
        const shbHead = queue.peek(SHB.BYTE_ORDER_MAGIC + 4);
        if (shbHead === null) return null;
        this.littleEndian = this.byteOrderOf(shbHead.view, shbHead.start, blockOffset);
      } else if (this.header === undefined) {
        throw new CaptureError('bad-magic', blockOffset, 'pcapng input does not start with a Section Header Block');
      }
      const le = this.littleEndian;
      const total = head.view.getUint32(head.start + BLOCK.TOTAL_LENGTH, le);
      // §3.1: the total length counts header and trailer and is a multiple of 4.
      if (total < BLOCK.MIN_SIZE || total % 4 !== 0) {
        throw new CaptureError('bad-block-length', blockOffset, `block type 0x${hex(type)} has Block Total Length ${total}`);
      }
      if (!isInterpreted(type)) {
        queue.skip(BLOCK.HEADER_SIZE);
        this.skipping = { blockOffset, totalLength: total, bodyLeft: total - BLOCK.MIN_SIZE };
        continue;
      }
      if (total > MAX_BLOCK_BYTES) {
        throw new CaptureError('record-too-large', blockOffset, `block type 0x${hex(type)} claims ${total} bytes; blocks are at most ${MAX_BLOCK_BYTES} bytes (libpcap's limit: a ${MAX_PACKET_BYTES}-byte packet and 128 KiB of options)`);
      }
      const window = queue.peek(total);
      if (window === null) return null;
      // Fields spelled out: spreading `window` here made pcapng decoding ~8x slower in V8.
      const block: Block = {
        bytes: window.bytes,
        view: window.view,
        start: window.start,
        end: window.start + total - BLOCK.TRAILER_SIZE,
        total,
        offset: blockOffset,
      };
      const trailer = block.view.getUint32(block.end, le);
      if (trailer !== total) {
        throw new CaptureError(
          'bad-block-length',
          blockOffset,
          `block type 0x${hex(type)}: Block Total Length ${total} at the start but ${trailer} at the end`,
        );
      }
      let record: CaptureRecord | null = null;
      switch (type) {
        case BlockType.SECTION_HEADER:
          this.readSectionHeader(block);
          break;
        case BlockType.INTERFACE_DESCRIPTION:
          this.readInterface(block);
          break;
        case BlockType.ENHANCED_PACKET:
          record = this.readPacket(EPB_FIELDS, block, index);
          break;
        case BlockType.PACKET:
          record = this.readPacket(PB_FIELDS, block, index);
          break;
        case BlockType.SIMPLE_PACKET:
          record = this.readSimplePacket(block, index);
          break;
      }
      queue.skip(total);
      if (record !== null) return record;
    }
  }

  finish(queue: ByteQueue): void {
    if (this.header === undefined) {
      throw new CaptureError('truncated-header', 0, `input ends inside the first Section Header Block (${queue.length} bytes)`);
    }
    if (this.skipping !== null) {
      const s = this.skipping;
      throw new CaptureError(
        'truncated-record',
        s.blockOffset,
        `input ends inside a ${s.totalLength}-byte block (${s.bodyLeft} body bytes and the trailer missing)`,
      );
    }
    if (queue.length === 0) return;
    const head = queue.peek(BLOCK.HEADER_SIZE);
    const wanted =
      head === null
        ? `${BLOCK.HEADER_SIZE}-byte block header`
        : `${head.view.getUint32(head.start + BLOCK.TOTAL_LENGTH, this.littleEndian)}-byte block`;
    throw new CaptureError('truncated-record', queue.offset, `input ends inside a pcapng block: ${queue.length} bytes of a ${wanted}`);
  }

  /** Drops the body of an uninterpreted block, then checks its trailer; false = need more input. */
  private skipUnknown(queue: ByteQueue): boolean {
    const s = this.skipping!;
    s.bodyLeft -= queue.skip(s.bodyLeft);
    if (s.bodyLeft > 0) return false;
    const trailer = queue.peek(BLOCK.TRAILER_SIZE);
    if (trailer === null) return false;
    const length = trailer.view.getUint32(trailer.start, this.littleEndian);
    if (length !== s.totalLength) {
      throw new CaptureError(
        'bad-block-length',
        s.blockOffset,
        `Block Total Length ${s.totalLength} at the start but ${length} at the end`,
      );
    }
    queue.skip(BLOCK.TRAILER_SIZE);
    this.skipping = null;
    return true;
  }

  /** §4.1: the Byte-Order Magic reads 0x1A2B3C4D in the section's byte order. */
  private byteOrderOf(view: DataView, start: number, blockOffset: number): boolean {
    const at = start + SHB.BYTE_ORDER_MAGIC;
    if (view.getUint32(at, true) === BYTE_ORDER_MAGIC) return true;
    if (view.getUint32(at, false) === BYTE_ORDER_MAGIC) return false;
    throw new CaptureError('bad-magic', blockOffset, `Section Header Block byte-order magic 0x${hex(view.getUint32(at, false))}`);
  }

  /** Walks the options in block[from, trailer), reporting errors at the option's file offset. */
  private options(block: Block, from: number, visit: OptionVisitor): void {
    forEachOption(block.view, block.start + from, block.end, this.littleEndian, block.offset - block.start, visit);
  }

  private checkFixedSize(block: Block, fixedSize: number, name: string): void {
    if (block.end - block.start < fixedSize) {
      throw new CaptureError('bad-block', block.offset, `${name} of ${block.total} bytes is shorter than its fixed fields`);
    }
  }

  private readSectionHeader(block: Block): void {
    const { view, start } = block;
    const le = this.littleEndian;
    this.checkFixedSize(block, SHB.FIXED_SIZE, 'Section Header Block');
    const major = view.getUint16(start + SHB.MAJOR_VERSION, le);
    const minor = view.getUint16(start + SHB.MINOR_VERSION, le);
    // §4.1: a different major version means a format we cannot parse.
    if (major !== PCAPNG_VERSION_MAJOR) {
      throw new CaptureError('unsupported-version', block.offset, `pcapng version ${major}.${minor}`);
    }
    const section: CaptureSection = { byteOrder: le ? 'little' : 'big', versionMajor: major, versionMinor: minor };
    this.options(block, SHB.FIXED_SIZE, (code, at, length) => {
      if (code === OptionCode.COMMENT) section.comment ??= decodeUtf8(view, at, length);
      else if (code === ShbOption.HARDWARE) section.hardware ??= decodeUtf8(view, at, length);
      else if (code === ShbOption.OS) section.os ??= decodeUtf8(view, at, length);
      else if (code === ShbOption.USER_APPL) section.application ??= decodeUtf8(view, at, length);
    });
    // §4.1: interface ids are per section; a new SHB starts from zero.
    this.header = section;
    this.ifaces = [];
    this.scales = [];
  }

  private readInterface(block: Block): void {
    const { view, start } = block;
    const le = this.littleEndian;
    const fileBase = block.offset - start;
    this.checkFixedSize(block, IDB.FIXED_SIZE, 'Interface Description Block');
    const iface: CaptureInterface = {
      linkType: view.getUint16(start + IDB.LINK_TYPE, le),
      snaplen: view.getUint32(start + IDB.SNAPLEN, le),
      tsresol: TSRESOL_DEFAULT,
      tsresolNs: 0,
    };
    let tsresol = TSRESOL_DEFAULT;
    let tsoffset = 0n;
    this.options(block, IDB.FIXED_SIZE, (code, at, length) => {
      switch (code) {
        case IdbOption.NAME:
          iface.name ??= decodeUtf8(view, at, length);
          break;
        case IdbOption.DESCRIPTION:
          iface.description ??= decodeUtf8(view, at, length);
          break;
        case IdbOption.TSRESOL:
          if (length !== 1) throw badOptionSize('if_tsresol', length, 1, fileBase + at);
          tsresol = view.getUint8(at);
          break;
        case IdbOption.TSOFFSET:
          if (length !== 8) throw badOptionSize('if_tsoffset', length, 8, fileBase + at);
          tsoffset = view.getBigInt64(at, le);
          iface.tsoffsetSec = tsoffset;
          break;
        case IdbOption.FCSLEN:
          // Read only to be copied back; a malformed one is ignored rather than failing the file.
          if (length === 1) iface.fcsLength = view.getUint8(at);
          break;
      }
    });
    const scale = scaleFromTsresol(tsresol, tsoffset);
    iface.tsresol = tsresol;
    iface.tsresolNs = scale.nsPerUnit;
    this.ifaces.push(iface);
    this.scales.push(scale);
  }

  private readPacket(fields: PacketLayout, block: Block, index: number): CaptureRecord {
    const { bytes, view, start } = block;
    const le = this.littleEndian;
    this.checkFixedSize(block, fields.fixedSize, fields.name);
    const interfaceId = fields.interfaceId(view, start, le);
    const iface = this.ifaces[interfaceId];
    if (iface === undefined) {
      throw new CaptureError(
        'unknown-interface',
        block.offset,
        `${fields.name} for interface ${interfaceId}, but the section declares ${this.ifaces.length}`,
      );
    }
    const captured = view.getUint32(start + fields.capturedLength, le);
    if (captured > MAX_PACKET_BYTES) {
      throw new CaptureError('record-too-large', block.offset, `${fields.name} captured length ${captured}; packets are at most ${MAX_PACKET_BYTES} bytes (libpcap's largest snapshot length)`);
    }
    const dataAt = start + fields.fixedSize;
    if (captured > block.end - dataAt) {
      throw new CaptureError('bad-block', block.offset, `${fields.name} captured length ${captured} overruns its ${block.total}-byte block`);
    }
    const units = (BigInt(view.getUint32(start + fields.tsHigh, le)) << 32n) | BigInt(view.getUint32(start + fields.tsLow, le));
    const record: CaptureRecord = {
      index,
      interfaceId,
      iface,
      timestampNs: unitsToNs(units, this.scales[interfaceId]),
      data: copyBytes(bytes, dataAt, dataAt + captured),
      originalLength: view.getUint32(start + fields.originalLength, le),
      fileOffset: block.offset,
    };
    const optionsAt = fields.fixedSize + pad4(captured);
    if (start + optionsAt < block.end) {
      const fileBase = block.offset - start;
      this.options(block, optionsAt, (code, at, length) => {
        if (code === OptionCode.COMMENT) {
          record.comment ??= decodeUtf8(view, at, length);
        } else if (code === EpbOption.FLAGS) {
          if (length !== 4) throw badOptionSize('epb_flags', length, 4, fileBase + at);
          const direction = directionOf(view.getUint32(at, le));
          if (direction !== undefined) record.direction = direction;
        }
      });
    }
    return record;
  }

  /**
   * §4.4: SPBs belong to interface 0 and carry min(original length, snaplen) bytes and no
   * timestamp: they get the interface's time origin (0 units plus if_tsoffset, 0 without one).
   */
  private readSimplePacket(block: Block, index: number): CaptureRecord {
    const { bytes, view, start } = block;
    this.checkFixedSize(block, SPB.FIXED_SIZE, 'Simple Packet Block');
    const iface = this.ifaces[0];
    if (iface === undefined) {
      throw new CaptureError('unknown-interface', block.offset, 'Simple Packet Block in a section without interfaces');
    }
    const originalLength = view.getUint32(start + SPB.ORIGINAL_LENGTH, this.littleEndian);
    const dataAt = start + SPB.FIXED_SIZE;
    let captured = Math.min(originalLength, block.end - dataAt);
    if (iface.snaplen > 0) captured = Math.min(captured, iface.snaplen);
    return {
      index,
      interfaceId: 0,
      iface,
      timestampNs: this.scales[0].offsetNs,
      data: copyBytes(bytes, dataAt, dataAt + captured),
      originalLength,
      fileOffset: block.offset,
    };
  }
}

function isInterpreted(type: number): boolean {
  return (
    type === BlockType.SECTION_HEADER ||
    type === BlockType.INTERFACE_DESCRIPTION ||
    type === BlockType.ENHANCED_PACKET ||
    type === BlockType.SIMPLE_PACKET ||
    type === BlockType.PACKET
  );
}

/** §4.3.1: direction bits 00 = unknown, 11 is not assigned; both read as "no direction". */
function directionOf(flags: number): PacketDirection | undefined {
  const bits = flags & EPB_FLAGS_DIRECTION_MASK;
  if (bits === EPB_FLAGS_INBOUND) return 'inbound';
  if (bits === EPB_FLAGS_OUTBOUND) return 'outbound';
  return undefined;
}

/** `valueOffset` is the value's file offset; the error names the option's own offset. */
function badOptionSize(name: string, length: number, expected: number, valueOffset: number): CaptureError {
  return new CaptureError('bad-option', valueOffset - OPTION.HEADER_SIZE, `${name} of ${length} bytes (expected ${expected})`);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
