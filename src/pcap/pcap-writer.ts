// Classic pcap writer (draft-ietf-opsawg-pcap), little-endian, streaming: each packet
// goes to the sink as soon as it is written and nothing about it is kept.
import type { ByteSink } from './byte-sink.js';
import { CaptureError } from './capture-error.js';
import {
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_RECORD,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
  pcapFileHeader,
} from './pcap-format.js';
import { ScratchBuffer } from './scratch-buffer.js';
import { U16_MAX, U32_MAX, checkTimestamp, checkUint } from './writer-checks.js';

export interface PcapWriterOptions {
  /** LINKTYPE_ value (src/wire/link-type.ts); 16 bits (§4). */
  linkType: number;
  /** Captured bytes per packet are cut to this; default 262144 like tcpdump. */
  snaplen?: number;
  /** true: magic 0xa1b23c4d, ns fractions; false: 0xa1b2c3d4, µs (truncated). */
  nanosecond?: boolean;
}

const NS_PER_SECOND = 1_000_000_000n;
/** §5: Timestamp (Seconds) is an unsigned 32-bit count, so the file ends in 2106. */
const MAX_TIMESTAMP_NS = (BigInt(U32_MAX) + 1n) * NS_PER_SECOND - 1n;

export class PcapWriter {
  readonly linkType: number;
  readonly snaplen: number;
  readonly nanosecond: boolean;
  private readonly scratch = new ScratchBuffer();
  private written = 0;
  private packets = 0;
  private closed = false;

  constructor(
    private readonly sink: ByteSink,
    options: PcapWriterOptions,
  ) {
    this.linkType = options.linkType;
    this.snaplen = options.snaplen ?? 262144;
    this.nanosecond = options.nanosecond ?? true;
    try {
      checkUint('linkType', this.linkType, U16_MAX, 0);
      checkUint('snaplen', this.snaplen, U32_MAX, 0);

      const header = Buffer.alloc(pcapFileHeader.span);
      pcapFileHeader.encode(
        {
          magic: this.nanosecond ? PCAP_MAGIC_NANOSECONDS : PCAP_MAGIC_MICROSECONDS,
          versionMajor: PCAP_VERSION_MAJOR,
          versionMinor: PCAP_VERSION_MINOR,
          reserved1: 0,
          reserved2: 0,
          snapLen: this.snaplen,
          linkTypeAndFcs: this.linkType, // no FCS information (f bit clear)
        },
        header,
      );
      this.emit(header);
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

  /** Appends one record; data beyond snaplen is cut, originalLength keeps the wire length. */
  writePacket(timestampNs: bigint, data: Uint8Array, originalLength: number = data.length): void {
    if (this.closed) throw new CaptureError('closed', this.written, 'writePacket after close');
    checkTimestamp(timestampNs, MAX_TIMESTAMP_NS, this.written);
    // Any 32-bit original length is written as given (captures in the wild carry ones below the captured length).
    checkUint('originalLength', originalLength, U32_MAX, this.written);
    const captured = this.snaplen > 0 ? Math.min(data.length, this.snaplen) : data.length;

    const seconds = timestampNs / NS_PER_SECOND;
    const fractionNs = timestampNs % NS_PER_SECOND;
    const fraction = this.nanosecond ? fractionNs : fractionNs / 1000n;

    const size = PCAP_RECORD.SIZE + captured;
    const { bytes, view } = this.scratch.take(size);
    view.setUint32(PCAP_RECORD.TS_SECONDS, Number(seconds), true);
    view.setUint32(PCAP_RECORD.TS_FRACTION, Number(fraction), true);
    view.setUint32(PCAP_RECORD.CAPTURED_LENGTH, captured, true);
    view.setUint32(PCAP_RECORD.ORIGINAL_LENGTH, originalLength, true);
    bytes.set(captured === data.length ? data : data.subarray(0, captured), PCAP_RECORD.SIZE);
    this.emit(bytes.subarray(0, size));
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

  private emit(bytes: Uint8Array): void {
    this.sink.write(bytes);
    this.written += bytes.length;
  }
}
