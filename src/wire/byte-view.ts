// What a header view (Ipv4Packet, TcpSegment) holds of its packet: the bytes, and a DataView on
// them for the 16- and 32-bit fields (bigEndianView says why), kept in step when the view is
// re-pointed at another buffer. The re-point is out of line so that the views' reset() stays short.
import { bigEndianView } from './bytes.js';

export abstract class ByteView {
  protected bytes: Uint8Array;
  protected dv: DataView;

  protected constructor(buf: Uint8Array) {
    this.bytes = buf;
    this.dv = bigEndianView(buf);
  }

  /** The bytes the view reads (`reset` re-points it and keeps the DataView in step). */
  get buf(): Uint8Array {
    return this.bytes;
  }

  protected repoint(buf: Uint8Array): void {
    this.bytes = buf;
    this.dv = bigEndianView(buf);
  }
}
