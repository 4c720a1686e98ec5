// Writing back what the reader read, as pcapng: every interface keeps its link type, name,
// description, snaplen, timestamp resolution and offset and FCS length; every packet keeps its
// bytes (even past snaplen), timestamp, original length and direction, with a comment of the
// caller's. Whatever the reader accepts, this writes: a copy never fails where the replay worked.
import type { ByteSink } from './byte-sink.js';
import type { CaptureInterface, CaptureRecord } from './capture-types.js';
import { PcapngWriter, type PcapngWriterOptions } from './pcapng-writer.js';
import { OPTION } from './pcapng-format.js';

const utf8 = new TextEncoder();

/** `text` cut (on a character boundary) to fit one pcapng option value (65535 bytes of UTF-8). */
export function fitOption(text: string, max: number = OPTION.MAX_VALUE_LENGTH): string {
  if (text.length * 3 <= max) return text; // fits even if every UTF-16 unit took 3 bytes
  const bytes = utf8.encode(text);
  if (bytes.length <= max) return text;
  const marker = ' [cut]';
  let end = max - marker.length;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // not inside a multi-byte character
  return `${new TextDecoder().decode(bytes.subarray(0, end))}${marker}`;
}

export class CaptureCopier {
  readonly writer: PcapngWriter;
  /** Output interface id per input interface (a new pcapng section brings new interface objects). */
  private readonly ids = new Map<CaptureInterface, number>();

  constructor(sink: ByteSink, options: PcapngWriterOptions = {}) {
    this.writer = new PcapngWriter(sink, options);
  }

  get packetsWritten(): number {
    return this.writer.packetsWritten;
  }

  /** Writes `rec` with `comment` (cut to the option's 65535 bytes if longer). */
  write(rec: CaptureRecord, comment?: string): void {
    const w = this.writer;
    let id = this.ids.get(rec.iface);
    if (id === undefined) {
      const i = rec.iface;
      id = w.addInterface({
        linkType: i.linkType, snaplen: i.snaplen, cutToSnaplen: false, tsresol: i.tsresol, tsoffsetSec: i.tsoffsetSec, fcsLength: i.fcsLength,
        name: i.name === undefined ? undefined : fitOption(i.name), description: i.description === undefined ? undefined : fitOption(i.description),
      });
      this.ids.set(rec.iface, id);
    }
    w.writePacket({
      interfaceId: id, timestampNs: rec.timestampNs, data: rec.data, originalLength: rec.originalLength, direction: rec.direction,
      comment: comment === undefined ? undefined : fitOption(comment),
    });
  }

  /** The copy is complete: keep it. */
  close(): void {
    this.writer.close();
  }

  /** The copy is incomplete: drop it. */
  abort(): void {
    this.writer.abort();
  }
}
