// Writers assemble each record in one reused buffer and hand it to the sink in one write:
// no per-packet allocation, and ByteSink's contract (copy before returning) makes reuse safe.

export class ScratchBuffer {
  private bytes = new Uint8Array(4096);
  private view = new DataView(this.bytes.buffer);

  /** A zero-filled region of at least `size` bytes, valid until the next call. */
  take(size: number): { bytes: Uint8Array; view: DataView } {
    if (size > this.bytes.length) {
      let grown = this.bytes.length;
      while (grown < size) grown *= 2;
      this.bytes = new Uint8Array(grown);
      this.view = new DataView(this.bytes.buffer);
    } else {
      this.bytes.fill(0, 0, size);
    }
    return { bytes: this.bytes, view: this.view };
  }
}
