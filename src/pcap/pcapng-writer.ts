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
import { encodeOptions, encodedOptionsLength, i64Option, stringOption, u32Option, u8Option } from './pcapng-options.js';
import { ScratchBuffer } from './scratch-buffer.js';
import { scaleFromTsresol, type TimestampScale } from './timestamp-scale.js';
import { U16_MAX, U32_MAX, checkUint } from './writer-checks.js';

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
  /**
   * false: write every captured byte even past snaplen (copying a capture that has such packets,
   * as some writers produce). Default true.
   */
  cutToSnaplen?: boolean;
  /**
   * if_tsresol (§4.2.1): 10^-n s, or 2^-n s with the MSB set. Default 9 (ns). Copying a capture,
   * its own resolution keeps every timestamp representable and exact.
   */
  tsresol?: number;
  /** if_tsoffset (§4.2.1): seconds added to every timestamp of the interface (signed 64-bit). Default 0. */
  tsoffsetSec?: bigint;
  /** if_fcslen (§4.2.1): bytes of frame check sequence at the end of each packet. */
  fcsLength?: number;
}

export interface PcapngPacket {
  /** Index returned by addInterface(). */
  interfaceId: number;
  /** Absolute ns since the epoch; stored in the interface's if_tsresol units (as-is for the default ns). */
  timestampNs: bigint;
  data: Uint8Array;
  originalLength?: number;
  /** opt_comment (§3.5), UTF-8. */
  comment?: string;
  /** epb_flags direction bits (§4.3.1). */
  direction?: PacketDirection;
}

/** §4.3: the timestamp is one unsigned 64-bit count of if_tsresol units. */
const MAX_TIMESTAMP_UNITS = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** How an interface's ns timestamps become if_tsresol units (the reader's conversion, inverted). */
interface UnitConversion {
  scale: TimestampScale;
  /** Exactly ns (if_tsresol 9, no offset): the common case skips bigint arithmetic. */
  identity: boolean;
  cut: boolean;
}
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
  private readonly units: UnitConversion[] = [];
  private written = 0;
  private packets = 0;
  private closed = false;

  constructor(
    private readonly sink: ByteSink,
    options: PcapngWriterOptions = {},
  ) {
    const opts: OptionValue[] = [];
    if (options.application !== undefined) opts.push(stringOption(ShbOption.USER_APPL, options.application));
    try {
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
    } catch (e) {
      sink.abort(); // nobody gets a writer to abort
      throw e;
    }
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

  /** Writes an IDB (by default if_tsresol = 9: ns timestamps) and returns its interfaceId. */
  addInterface(options: PcapngInterfaceOptions): number {
    if (this.closed) throw new CaptureError('closed', this.written, 'addInterface after close');
    const snaplen = options.snaplen ?? 262144;
    const tsresol = options.tsresol ?? TSRESOL_NANOSECONDS;
    const tsoffset = options.tsoffsetSec ?? 0n;
    checkUint('linkType', options.linkType, U16_MAX, this.written);
    checkUint('snaplen', snaplen, U32_MAX, this.written);
    checkUint('tsresol', tsresol, 0xff, this.written);
    if (tsoffset < INT64_MIN || tsoffset > INT64_MAX) throw new CaptureError('bad-argument', this.written, `tsoffsetSec ${tsoffset} is not a signed 64-bit number`);
    if (options.fcsLength !== undefined) checkUint('fcsLength', options.fcsLength, 0xff, this.written);
    const opts: OptionValue[] = [];
    if (options.name !== undefined) opts.push(stringOption(IdbOption.NAME, options.name));
    if (options.description !== undefined) opts.push(stringOption(IdbOption.DESCRIPTION, options.description));
    opts.push(u8Option(IdbOption.TSRESOL, tsresol));
    if (tsoffset !== 0n) opts.push(i64Option(IdbOption.TSOFFSET, tsoffset));
    if (options.fcsLength !== undefined) opts.push(u8Option(IdbOption.FCSLEN, options.fcsLength));
    this.writeFixedBlock(interfaceDescriptionBlock.span, opts, (block) =>
      interfaceDescriptionBlock.encode(
        { blockType: BlockType.INTERFACE_DESCRIPTION, linkType: options.linkType, reserved: 0, snapLen: snaplen },
        block,
      ),
    );
    const scale = scaleFromTsresol(tsresol, tsoffset);
    const iface: CaptureInterface = { linkType: options.linkType, snaplen, tsresol, tsresolNs: scale.nsPerUnit };
    if (options.name !== undefined) iface.name = options.name;
    if (options.description !== undefined) iface.description = options.description;
    if (tsoffset !== 0n) iface.tsoffsetSec = tsoffset;
    if (options.fcsLength !== undefined) iface.fcsLength = options.fcsLength;
    this.units.push({ scale, identity: tsresol === TSRESOL_NANOSECONDS && tsoffset === 0n, cut: options.cutToSnaplen ?? true });
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
    const conversion = this.units[packet.interfaceId];
    const units = conversion.identity ? timestampNs : nsToUnits(timestampNs, conversion.scale);
    if (units < 0n || units > MAX_TIMESTAMP_UNITS) {
      throw new CaptureError('timestamp-range', this.written, `timestamp ${timestampNs} ns cannot be written on interface ${packet.interfaceId} (if_tsresol ${iface.tsresol}${iface.tsoffsetSec ? `, if_tsoffset ${iface.tsoffsetSec} s` : ''}: 0 to 2^64-1 units)`);
    }
    // Any 32-bit original length is written as given: captures in the wild carry ones below the
    // captured length, and a copy must keep them.
    checkUint('originalLength', originalLength, U32_MAX, this.written);
    const captured = conversion.cut && iface.snaplen > 0 ? Math.min(data.length, iface.snaplen) : data.length;

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
    view.setUint32(EPB.TS_HIGH, Number(units >> 32n), true);
    view.setUint32(EPB.TS_LOW, Number(units & 0xffffffffn), true);
    view.setUint32(EPB.CAPTURED_LENGTH, captured, true);
    view.setUint32(EPB.ORIGINAL_LENGTH, originalLength, true);
    bytes.set(captured === data.length ? data : data.subarray(0, captured), EPB.FIXED_SIZE);
    const end = encodeOptions(opts, bytes, view, optionsAt, this.written);
    view.setUint32(end, total, true);
    this.emit(bytes.subarray(0, total));
    this.packets++;
  }

  /** The capture is complete: closes the sink (a FileSink gets its final name). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.close();
  }

  /** The capture is incomplete (error, interruption): the sink drops it. Idempotent; no-op after close(). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.abort();
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

/**
 * The units the reader turns back into `ns` (ns = floor(units * mul / div) + offset): the
 * smallest such count, so a copy reads back the same nanoseconds (and the same units when the
 * resolution is not finer than 1 ns).
 */
function nsToUnits(ns: bigint, scale: TimestampScale): bigint {
  const x = (ns - scale.offsetNs) * scale.div;
  const q = x / scale.mul;
  return q * scale.mul < x ? q + 1n : q;
}
