// What a header view (Ipv4Packet, TcpSegment) holds of its packet: the bytes, and a DataView on
// them for the 16- and 32-bit fields, kept in step when the view is re-pointed at another buffer.
//  - DataView: V8 compiles a big-endian getInt32 to one bounds check, one load and a byte swap,
//    where four byte reads cost four loads and four bounds checks (a ring's tuples read with
//    DataView alone: 3.5 ns per packet, with byte reads 6.4 ns). A view makes one when it is
//    pointed at another buffer, none when it moves within a ring or a batch.
//  - The views' accessors use literal offsets (a test checks every one against IPV4_FIELD and
//    TCP_FIELD): V8 inlines a function of up to 27 bytes of bytecode wherever it is called, and a
//    module constant adds ten, which left the hot getters as real calls once the caller's
//    inlining budget was spent (a quarter of the samples of a batch of lookups).
//  - The re-point is out of line so that the views' reset() stays short.

function dataViewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export abstract class ByteView {
  protected bytes: Uint8Array;
  protected dv: DataView;

  protected constructor(buf: Uint8Array) {
    this.bytes = buf;
    this.dv = dataViewOf(buf);
  }

  /** The bytes the view reads (`reset` re-points it and keeps the DataView in step). */
  get buf(): Uint8Array {
    return this.bytes;
  }

  protected repoint(buf: Uint8Array): void {
    this.bytes = buf;
    this.dv = dataViewOf(buf);
  }
}
