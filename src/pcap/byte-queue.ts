// The decoder's input buffer: the chunks pushed so far, minus what has been consumed.
// Holding chunk references (not one growing array) keeps memory at "the incomplete
// record plus one chunk" however large the file is.

/** bytes[start, start + n) of a chunk, with a DataView over the same chunk (view index = bytes index). */
export interface ByteWindow {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly start: number;
}

interface Chunk {
  bytes: Uint8Array;
  /** One DataView per chunk: creating one per record costs more than decoding the record. */
  view: DataView;
}

function chunkOf(bytes: Uint8Array): Chunk {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

export class ByteQueue {
  private chunks: Chunk[] = [];
  /** Read position inside chunks[0]. */
  private head = 0;
  private buffered = 0;
  private consumed = 0;

  /** Bytes available to peek. */
  get length(): number {
    return this.buffered;
  }

  /** Absolute input offset of the first unconsumed byte. */
  get offset(): number {
    return this.consumed;
  }

  /** Keeps a reference to `chunk` until it is consumed: the caller must not reuse it. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    // Node Buffers (files, stdin) are Uint8Array subclasses whose subarray() costs several
    // times more; view the same memory as a plain Uint8Array.
    if (chunk.constructor !== Uint8Array) chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.chunks.push(chunkOf(chunk));
    this.buffered += chunk.length;
  }

  /**
   * The first `n` (> 0) bytes as one contiguous window, or null if fewer are buffered. A window
   * that straddles chunks is merged once and the merged chunk kept, so re-peeking is free.
   */
  peek(n: number): ByteWindow | null {
    if (n > this.buffered || n <= 0) return null;
    const first = this.chunks[0];
    if (first.bytes.length - this.head >= n) return { bytes: first.bytes, view: first.view, start: this.head };
    const merged = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    let start = this.head;
    while (filled < n) {
      const chunk = this.chunks[i].bytes;
      const take = Math.min(chunk.length - start, n - filled);
      merged.set(chunk.subarray(start, start + take), filled);
      filled += take;
      if (start + take === chunk.length) {
        i++;
        start = 0;
      } else {
        start += take;
      }
    }
    // Replace the merged chunks (and the merged prefix of a partly used one) by `merged`.
    const rest = start > 0 ? [chunkOf(this.chunks[i].bytes.subarray(start))] : [];
    const mergedChunk = chunkOf(merged);
    this.chunks = [mergedChunk, ...rest, ...this.chunks.slice(start > 0 ? i + 1 : i)];
    this.head = 0;
    return { bytes: merged, view: mergedChunk.view, start: 0 };
  }

  /** Drops up to `n` bytes from the front; returns how many were dropped. */
  skip(n: number): number {
    const todo = Math.min(n, this.buffered);
    let left = todo;
    while (left > 0) {
      const available = this.chunks[0].bytes.length - this.head;
      if (available > left) {
        this.head += left;
        break;
      }
      left -= available;
      this.chunks.shift();
      this.head = 0;
    }
    this.buffered -= todo;
    this.consumed += todo;
    return todo;
  }
}
