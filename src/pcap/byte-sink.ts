// Where writers put their bytes. Writers reuse one scratch buffer per block, so a sink
// must copy (or finish with) the bytes before write() returns and never keep the array.
import { AtomicFile, type AtomicFileOptions } from '../output/index.js';
import { CaptureError } from './capture-error.js';

export interface ByteSink {
  /** Takes the bytes; the caller may overwrite `bytes` as soon as this returns. */
  write(bytes: Uint8Array): void;
  /** The capture is complete: keep it (a file gets its final name). */
  close(): void;
  /** The capture is incomplete (an error, an interruption): drop it. Idempotent; a no-op after close(). */
  abort(): void;
}

const FILE_BUFFER_BYTES = 64 * 1024;

/**
 * Buffered file writer: one write per 64 KiB, so a million small packets cost ~1k syscalls. The
 * file is an AtomicFile: it appears under its name only when close() succeeds, and refuses to be
 * one of `inputs`.
 */
export class FileSink implements ByteSink {
  private file: AtomicFile | null;
  private readonly buffer = new Uint8Array(FILE_BUFFER_BYTES);
  private used = 0;
  private written = 0;

  constructor(readonly path: string, options: AtomicFileOptions = {}) {
    this.file = new AtomicFile(path, options);
  }

  /** Bytes accepted so far (flushed or still buffered). */
  get bytesWritten(): number {
    return this.written + this.used;
  }

  write(bytes: Uint8Array): void {
    if (this.file === null) throw new CaptureError('closed', this.bytesWritten, `write to closed file ${this.path}`);
    if (bytes.length > this.buffer.length - this.used) this.flush();
    if (bytes.length >= this.buffer.length) {
      this.writeFully(bytes); // too big to be worth copying: straight to the file
    } else {
      this.buffer.set(bytes, this.used);
      this.used += bytes.length;
    }
  }

  close(): void {
    if (this.file === null) return;
    const file = this.file;
    try {
      this.flush();
      this.file = null;
      file.commit();
    } catch (e) {
      this.file = null;
      file.abort();
      throw e;
    }
  }

  abort(): void {
    this.file?.abort();
    this.file = null;
    this.used = 0;
  }

  private flush(): void {
    if (this.used === 0) return;
    const pending = this.buffer.subarray(0, this.used);
    this.used = 0;
    this.writeFully(pending);
  }

  private writeFully(bytes: Uint8Array): void {
    const before = this.file!.bytesWritten;
    try {
      this.file!.write(bytes);
    } finally {
      this.written += this.file!.bytesWritten - before;
    }
  }
}

/** Collects everything in memory: for tests and for small captures handed to other code. */
export class MemorySink implements ByteSink {
  private buffer = new Uint8Array(4096);
  private used = 0;
  private closed = false;

  write(bytes: Uint8Array): void {
    if (this.closed) throw new CaptureError('closed', this.used, 'write to closed MemorySink');
    if (this.used + bytes.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.used + bytes.length));
      grown.set(this.buffer.subarray(0, this.used));
      this.buffer = grown;
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  close(): void {
    this.closed = true;
  }

  abort(): void {
    this.closed = true;
  }

  /** A copy of everything written so far. */
  bytes(): Uint8Array {
    return this.buffer.slice(0, this.used);
  }
}
