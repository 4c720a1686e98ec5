// Standard output for commands that print a row per packet: text is gathered into 64 KiB pieces
// (a million rows cost a few thousand writes), and a piece is handed on only when the previous
// ones have drained, so memory stays bounded whatever the reader's speed (`| less`, a slow pipe,
// a full disk). Errors on standard output are the CLI's (see main.ts: EPIPE ends quietly,
// ENOSPC/EIO end with a message).
import type { Writable } from 'node:stream';

const PIECE = 64 * 1024;
/** Rows waiting this long are written even if the piece is not full (a live `tcpdump -w - |` feed). */
const LINGER_MS = 100;
/** Yield to the event loop at least this often (rows), so Ctrl-C and stdout errors are seen. */
const YIELD_EVERY = 4096;

export class TextOutput {
  private parts: string[] = [];
  private size = 0;
  private rowsSinceYield = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: Writable = process.stdout,
    /** Called before a piece is written (e.g. to erase a progress line on the same terminal). */
    private readonly beforeWrite: () => void = () => {},
  ) {}

  /** Buffers `s`; call `await out.ready()` between rows to hand full pieces on. */
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, LINGER_MS);
      this.timer.unref();
    }
  }

  /** Resolves at once unless a piece is full (then: when it has been accepted) or it is time to yield. */
  ready(): Promise<void> | null {
    if (this.size >= PIECE) return this.flush();
    if (++this.rowsSinceYield >= YIELD_EVERY) {
      this.rowsSinceYield = 0;
      return new Promise((resolve) => setImmediate(resolve));
    }
    return null;
  }

  /** Writes everything buffered and waits until the stream has taken it (drained). */
  async flush(): Promise<void> {
    this.rowsSinceYield = 0;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.size === 0) return;
    this.beforeWrite();
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(text)) await drained(this.stream);
    else await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Resolves on 'drain'; never on 'error' or 'close' (the CLI's stdout error handler ends the run). */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) return; // the error handler is about to end the process
    stream.once('drain', resolve);
  });
}
