// Where writers put their bytes. Writers reuse one scratch buffer per block, so a sink
// must copy (or finish with) the bytes before write() returns and never keep the array.
import fs from 'node:fs';
import { CaptureError } from './capture-error.js';

export interface ByteSink {
  /** Takes the bytes; the caller may overwrite `bytes` as soon as this returns. */
  write(bytes: Uint8Array): void;
  close(): void;
}

const FILE_BUFFER_BYTES = 64 * 1024;

/** Buffered file writer: one fs.writeSync per 64 KiB, so a million small packets cost ~1k syscalls. */
export class FileSink implements ByteSink {
  private fd: number | null;
  private readonly buffer = new Uint8Array(FILE_BUFFER_BYTES);
  private used = 0;
  private written = 0;

  constructor(readonly path: string) {
    try {
      this.fd = fs.openSync(path, 'w');
    } catch (cause) {
      throw new CaptureError('io', 0, `cannot open ${path} for writing`, { cause });
    }
  }

  /** Bytes accepted so far (flushed or still buffered). */
  get bytesWritten(): number {
    return this.written + this.used;
  }

  write(bytes: Uint8Array): void {
    if (this.fd === null) throw new CaptureError('closed', this.bytesWritten, `write to closed file ${this.path}`);
    if (bytes.length > this.buffer.length - this.used) this.flush();
    if (bytes.length >= this.buffer.length) {
      this.writeFully(bytes); // too big to be worth copying: straight to the file
    } else {
      this.buffer.set(bytes, this.used);
      this.used += bytes.length;
    }
  }

  close(): void {
    if (this.fd === null) return;
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  private flush(): void {
    if (this.used === 0) return;
    const pending = this.buffer.subarray(0, this.used);
    this.used = 0;
    this.writeFully(pending);
  }

  // fs.writeSync may write less than asked (pipes, full disks): loop until done.
  private writeFully(bytes: Uint8Array): void {
    let done = 0;
    try {
      while (done < bytes.length) done += fs.writeSync(this.fd!, bytes, done, bytes.length - done);
    } catch (cause) {
      throw new CaptureError('io', this.written + done, `cannot write ${this.path}`, { cause });
    } finally {
      this.written += done;
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

  /** A copy of everything written so far. */
  bytes(): Uint8Array {
    return this.buffer.slice(0, this.used);
  }
}
