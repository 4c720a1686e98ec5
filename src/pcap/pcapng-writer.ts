// pcapng writer (draft-ietf-opsawg-pcapng): one little-endian section, IDBs with
// nanosecond timestamps, EPBs streamed straight to the sink (nothing kept per packet).
import type { ByteSink } from './byte-sink.js';
import { CaptureError } from './capture-error.js';
import type { CaptureInterface, PacketDirection } from './capture-types.js';
import {
  BLOCK,
  BYTE_ORDER_MAGIC,
  BlockType,
  EPB,
  EPB_FLAGS_INBOUND,
  EPB_FLAGS_OUTBOUND,
  EpbOption,
  IdbOption,
  OptionCode,
  PCAPNG_VERSION_MAJOR,
  PCAPNG_VERSION_MINOR,
  ShbOption,
  TSRESOL_NANOSECONDS,
  interfaceDescriptionBlock,
  pad4,
  sectionHeaderBlock,
} from './pcapng-format.js';
import type { OptionValue } from './pcapng-options.js';
import { encodeOptions, encodedOptionsLength, stringOption, u32Option, u8Option } from './pcapng-options.js';
import { ScratchBuffer } from './scratch-buffer.js';
import { U16_MAX, U32_MAX, checkOriginalLength, checkTimestamp, checkUint } from './writer-checks.js';

export interface PcapngWriterOptions {
  /** shb_userappl (§4.1.1), e.g. "ctsim 0.1.0". */
  application?: string;
}

export interface PcapngInterfaceOptions {
  /** LINKTYPE_ value (src/wire/link-type.ts); 16 bits in the IDB (§4.2). */
  linkType: number;
  /** if_name (§4.2.1), e.g. "pod/eth0". */
  name?: string;
  /** if_description (§4.2.1). */
  description?: string;
  /** Captured bytes per packet are cut to this; 0 = no limit. Default 262144. */
  snaplen?: number;
}

export interface PcapngPacket {
  /** Index returned by addInterface(). */
  interfaceId: number;
  /** Absolute ns since the epoch; stored as-is since every IDB says if_tsresol = 9. */
  timestampNs: bigint;
  data: Uint8Array;
  originalLength?: number;
  /** opt_comment (§3.5), UTF-8. */
  comment?: string;
  /** epb_flags direction bits (§4.3.1). */
  direction?: PacketDirection;
}

/** §4.3: the timestamp is one unsigned 64-bit count of if_tsresol units. */
const MAX_TIMESTAMP_NS = (1n << 64n) - 1n;
const SECTION_LENGTH_UNSPECIFIED = Buffer.alloc(8, 0xff); // -1 (§4.1): we never seek back
// Built once: most packets carry a direction, and encodeOptions only reads them.
const DIRECTION_FLAGS: Record<PacketDirection, OptionValue> = {
  inbound: u32Option(EpbOption.FLAGS, EPB_FLAGS_INBOUND),
  outbound: u32Option(EpbOption.FLAGS, EPB_FLAGS_OUTBOUND),
};
const NO_OPTIONS: readonly OptionValue[] = [];

export class PcapngWriter {
  private readonly scratch = new ScratchBuffer();
  private readonly ifaces: CaptureInterface[] = [];
  private written = 0;
  private packets = 0;
  private closed = false;

  constructor(
    private readonly sink: ByteSink,
    options: PcapngWriterOptions = {},
  ) {
    const opts: OptionValue[] = [];
    if (options.application !== undefined) opts.push(stringOption(ShbOption.USER_APPL, options.application));
    this.writeFixedBlock(sectionHeaderBlock.span, opts, (block) =>
      sectionHeaderBlock.encode(
        {
          blockType: BlockType.SECTION_HEADER,
          byteOrderMagic: BYTE_ORDER_MAGIC,
          majorVersion: PCAPNG_VERSION_MAJOR,
          minorVersion: PCAPNG_VERSION_MINOR,
          sectionLength: SECTION_LENGTH_UNSPECIFIED,
        },
        block,
      ),
    );
  }

  /** File bytes produced so far. */
  get bytesWritten(): number {
    return this.written;
  }

  get packetsWritten(): number {
    return this.packets;
  }

  /** Interfaces declared so far, in interfaceId order. */
  get interfaces(): readonly CaptureInterface[] {
    return this.ifaces;
  }

  /** Writes an IDB (if_tsresol = 9: ns timestamps) and returns its interfaceId. */
  addInterface(options: PcapngInterfaceOptions): number {
    if (this.closed) throw new CaptureError('closed', this.written, 'addInterface after close');
    const snaplen = options.snaplen ?? 262144;
    checkUint('linkType', options.linkType, U16_MAX, this.written);
    checkUint('snaplen', snaplen, U32_MAX, this.written);
    const opts: OptionValue[] = [];
    if (options.name !== undefined) opts.push(stringOption(IdbOption.NAME, options.name));
    if (options.description !== undefined) opts.push(stringOption(IdbOption.DESCRIPTION, options.description));
    opts.push(u8Option(IdbOption.TSRESOL, TSRESOL_NANOSECONDS));
    this.writeFixedBlock(interfaceDescriptionBlock.span, opts, (block) =>
      interfaceDescriptionBlock.encode(
        { blockType: BlockType.INTERFACE_DESCRIPTION, linkType: options.linkType, reserved: 0, snapLen: snaplen },
        block,
      ),
    );
    const iface: CaptureInterface = { linkType: options.linkType, snaplen, tsresolNs: 1 };
    if (options.name !== undefined) iface.name = options.name;
    if (options.description !== undefined) iface.description = options.description;
    return this.ifaces.push(iface) - 1;
  }

  /** Appends one EPB; data beyond the interface's snaplen is cut. */
  writePacket(packet: PcapngPacket): void {
    if (this.closed) throw new CaptureError('closed', this.written, 'writePacket after close');
    const iface = this.ifaces[packet.interfaceId];
    if (iface === undefined) {
      throw new CaptureError(
        'unknown-interface',
        this.written,
        `interfaceId ${packet.interfaceId} was not added (${this.ifaces.length} interfaces)`,
      );
    }
    const { data, timestampNs } = packet;
    const originalLength = packet.originalLength ?? data.length;
    checkTimestamp(timestampNs, MAX_TIMESTAMP_NS, this.written);
    checkOriginalLength(originalLength, data.length, this.written);
    const captured = iface.snaplen > 0 ? Math.min(data.length, iface.snaplen) : data.length;

    let opts = NO_OPTIONS;
    if (packet.comment !== undefined || packet.direction !== undefined) {
      const list: OptionValue[] = [];
      if (packet.comment !== undefined) list.push(stringOption(OptionCode.COMMENT, packet.comment));
      if (packet.direction !== undefined) list.push(DIRECTION_FLAGS[packet.direction]);
      opts = list;
    }

    const optionsAt = EPB.FIXED_SIZE + pad4(captured);
    const total = optionsAt + encodedOptionsLength(opts) + BLOCK.TRAILER_SIZE;
    const { bytes, view } = this.scratch.take(total);
    view.setUint32(BLOCK.TYPE, BlockType.ENHANCED_PACKET, true);
    view.setUint32(BLOCK.TOTAL_LENGTH, total, true);
    view.setUint32(EPB.INTERFACE_ID, packet.interfaceId, true);
    view.setUint32(EPB.TS_HIGH, Number(timestampNs >> 32n), true);
    view.setUint32(EPB.TS_LOW, Number(timestampNs & 0xffffffffn), true);
    view.setUint32(EPB.CAPTURED_LENGTH, captured, true);
    view.setUint32(EPB.ORIGINAL_LENGTH, originalLength, true);
    bytes.set(captured === data.length ? data : data.subarray(0, captured), EPB.FIXED_SIZE);
    const end = encodeOptions(opts, bytes, view, optionsAt, this.written);
    view.setUint32(end, total, true);
    this.emit(bytes.subarray(0, total));
    this.packets++;
  }

  /** Closes the sink (flushing a FileSink). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.close();
  }

  /** A block whose fixed part is encoded by buffer-layout, then options, then the trailer. */
  private writeFixedBlock(fixedSize: number, opts: readonly OptionValue[], encodeFixed: (block: Buffer) => void): void {
    const total = fixedSize + encodedOptionsLength(opts) + BLOCK.TRAILER_SIZE;
    const block = Buffer.alloc(total);
    encodeFixed(block);
    block.writeUInt32LE(total, BLOCK.TOTAL_LENGTH);
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
    const end = encodeOptions(opts, block, view, fixedSize, this.written);
    block.writeUInt32LE(total, end);
    this.emit(block);
  }

  private emit(bytes: Uint8Array): void {
    this.sink.write(bytes);
    this.written += bytes.length;
  }
}
