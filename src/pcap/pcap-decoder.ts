// Classic pcap reader (draft-ietf-opsawg-pcap): a 24-byte file header, then records of a
// 16-byte header plus captured bytes, in the byte order the magic was written in.
import type { ByteQueue } from './byte-queue.js';
import { CaptureError } from './capture-error.js';
import type { CaptureInterface, CaptureRecord, CaptureSection } from './capture-types.js';
import type { FormatDecoder } from './format-decoder.js';
import { copyBytes } from './format-decoder.js';
import {
  MAX_PACKET_BYTES,
  PCAP_FCS_PRESENT,
  PCAP_FCS_SHIFT,
  PCAP_FILE_HEADER,
  PCAP_LINKTYPE_MASK,
  PCAP_RECORD,
  PCAP_VERSION_MAJOR,
} from './pcap-format.js';
import { TSRESOL_DEFAULT, TSRESOL_NANOSECONDS } from './pcapng-format.js';
import type { TimestampScale } from './timestamp-scale.js';
import { MICROSECOND_SCALE, NANOSECOND_SCALE } from './timestamp-scale.js';

const NS_PER_SECOND = 1_000_000_000n;

export class PcapDecoder implements FormatDecoder {
  readonly format = 'pcap';
  private iface: CaptureInterface | undefined;
  private header: CaptureSection | undefined;
  private readonly scale: TimestampScale;

  constructor(
    private readonly littleEndian: boolean,
    nanosecond: boolean,
  ) {
    this.scale = nanosecond ? NANOSECOND_SCALE : MICROSECOND_SCALE;
  }

  get interfaces(): readonly CaptureInterface[] {
    return this.iface ? [this.iface] : [];
  }

  get section(): CaptureSection | undefined {
    return this.header;
  }

  next(queue: ByteQueue, index: number): CaptureRecord | null {
    if (this.iface === undefined) {
      const header = queue.peek(PCAP_FILE_HEADER.SIZE);
      if (header === null) return null;
      this.readFileHeader(header.view, header.start);
      queue.skip(PCAP_FILE_HEADER.SIZE);
    }
    const iface = this.iface!;
    const head = queue.peek(PCAP_RECORD.SIZE);
    if (head === null) return null;
    const fileOffset = queue.offset;
    const le = this.littleEndian;
    const captured = head.view.getUint32(head.start + PCAP_RECORD.CAPTURED_LENGTH, le);
    // §5: caplen > snaplen happens in the wild (snaplen 0, odd writers); only refuse absurd sizes.
    if (captured > MAX_PACKET_BYTES) {
      throw new CaptureError('record-too-large', fileOffset, `pcap record claims ${captured} captured bytes; packets are at most ${MAX_PACKET_BYTES} bytes (libpcap's largest snapshot length)`);
    }
    const size = PCAP_RECORD.SIZE + captured;
    const record = queue.peek(size);
    if (record === null) return null;
    const { bytes, view, start } = record;
    const seconds = BigInt(view.getUint32(start + PCAP_RECORD.TS_SECONDS, le));
    const fraction = BigInt(view.getUint32(start + PCAP_RECORD.TS_FRACTION, le));
    const out: CaptureRecord = {
      index,
      interfaceId: 0,
      iface,
      timestampNs: seconds * NS_PER_SECOND + fraction * this.scale.mul,
      data: copyBytes(bytes, start + PCAP_RECORD.SIZE, start + size),
      originalLength: view.getUint32(start + PCAP_RECORD.ORIGINAL_LENGTH, le),
      fileOffset,
    };
    queue.skip(size);
    return out;
  }

  finish(queue: ByteQueue): void {
    if (queue.length === 0) return;
    if (this.iface === undefined) {
      throw new CaptureError(
        'truncated-header',
        queue.offset,
        `input ends inside the pcap file header (${queue.length} of ${PCAP_FILE_HEADER.SIZE} bytes)`,
      );
    }
    const head = queue.peek(PCAP_RECORD.SIZE);
    const wanted =
      head === null
        ? `${PCAP_RECORD.SIZE}-byte record header`
        : `${PCAP_RECORD.SIZE + head.view.getUint32(head.start + PCAP_RECORD.CAPTURED_LENGTH, this.littleEndian)}-byte record`;
    throw new CaptureError(
      'truncated-record',
      queue.offset,
      `input ends inside a pcap record: ${queue.length} bytes of a ${wanted}`,
    );
  }

  /** The 24-byte header at view[start...]: it sits at file offset 0. */
  private readFileHeader(view: DataView, start: number): void {
    const le = this.littleEndian;
    const major = view.getUint16(start + PCAP_FILE_HEADER.VERSION_MAJOR, le);
    const minor = view.getUint16(start + PCAP_FILE_HEADER.VERSION_MINOR, le);
    // §4: readers should reject other major versions; 2.x minors only differ in ancient history.
    if (major !== PCAP_VERSION_MAJOR) {
      throw new CaptureError('unsupported-version', 0, `pcap version ${major}.${minor}`);
    }
    const linkField = view.getUint32(start + PCAP_FILE_HEADER.LINK_TYPE, le);
    const iface: CaptureInterface = {
      linkType: linkField & PCAP_LINKTYPE_MASK,
      snaplen: view.getUint32(start + PCAP_FILE_HEADER.SNAPLEN, le),
      tsresol: this.scale === NANOSECOND_SCALE ? TSRESOL_NANOSECONDS : TSRESOL_DEFAULT,
      tsresolNs: this.scale.nsPerUnit,
    };
    // §4: with the f bit set, the top 4 bits give the FCS length in 16-bit words.
    if (linkField & PCAP_FCS_PRESENT) iface.fcsLength = (linkField >>> PCAP_FCS_SHIFT) * 2;
    this.iface = iface;
    this.header = { byteOrder: le ? 'little' : 'big', versionMajor: major, versionMinor: minor };
  }
}
