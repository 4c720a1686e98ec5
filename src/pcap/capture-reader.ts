// Reading captures of either format, incrementally: push bytes as they arrive, pull packets
// as soon as they are complete. Only the incomplete record/block is ever buffered, so a
// multi-gigabyte file or an endless stdin pipe reads in constant memory.
import fs from 'node:fs';
import { ByteQueue } from './byte-queue.js';
import { CaptureError } from './capture-error.js';
import type { CaptureFormat, CaptureInterface, CaptureRecord, CaptureSection } from './capture-types.js';
import { MAGIC_BYTES, detectFormat } from './format-detect.js';
import type { FormatDecoder } from './format-decoder.js';
import { PcapDecoder } from './pcap-decoder.js';
import { PcapngDecoder } from './pcapng-decoder.js';

export interface CaptureReadOptions {
  /**
   * Called, instead of throwing, when the input ends inside a record or block after a complete
   * file header: a capture cut off mid-packet, as a killed `tcpdump -w` leaves it. Every complete
   * packet before it has been returned; the error says where the cut is.
   */
  onTruncatedEnd?: (e: CaptureError) => void;
}

export class CaptureDecoder {
  private readonly queue = new ByteQueue();
  private decoder: FormatDecoder | undefined;
  private ended = false;
  private finished = false;
  private failure: CaptureError | undefined;
  private packets = 0;

  constructor(private readonly options: CaptureReadOptions = {}) {}

  /** Known once the first 4 bytes have arrived. */
  get format(): CaptureFormat | undefined {
    return this.decoder?.format;
  }

  /** Interfaces of the current section (the one pcap pseudo-interface for pcap). */
  get interfaces(): readonly CaptureInterface[] {
    return this.decoder?.interfaces ?? [];
  }

  /** The pcap file header / current pcapng SHB, once read. */
  get section(): CaptureSection | undefined {
    return this.decoder?.section;
  }

  /** Adds input. The decoder keeps a reference to `chunk` until consumed: do not reuse it. */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new CaptureError('closed', this.queue.offset + this.queue.length, 'push after end()');
    this.queue.push(chunk);
  }

  /** No more input: next() now reports a trailing partial record instead of waiting. */
  end(): void {
    this.ended = true;
  }

  /**
   * The next complete packet, or null: before end(), "need more input"; after end(),
   * "no more packets". Throws CaptureError on malformed input, and again on every later call.
   */
  next(): CaptureRecord | null {
    if (this.failure) throw this.failure;
    try {
      return this.advance();
    } catch (err) {
      if (err instanceof CaptureError) this.failure = err;
      throw err;
    }
  }

  private advance(): CaptureRecord | null {
    if (this.finished) return null;
    if (this.decoder === undefined && !this.detect()) return null;
    const record = this.decoder!.next(this.queue, this.packets);
    if (record !== null) {
      this.packets++;
      return record;
    }
    if (this.ended) {
      try {
        this.decoder!.finish(this.queue); // throws unless everything was consumed
      } catch (e) {
        const report = this.options.onTruncatedEnd;
        if (!(report && e instanceof CaptureError && e.kind === 'truncated-record')) throw e;
        this.finished = true;
        report(e);
        return null;
      }
      this.finished = true;
    }
    return null;
  }

  private detect(): boolean {
    const first = this.queue.peek(MAGIC_BYTES);
    if (first === null) {
      if (!this.ended) return false;
      throw new CaptureError('truncated-header', 0, `input of ${this.queue.length} bytes is too short for a capture file header`);
    }
    const detected = detectFormat(first.view, first.start);
    switch (detected.format) {
      case 'pcap':
        this.decoder = new PcapDecoder(detected.littleEndian, detected.nanosecond);
        return true;
      case 'pcapng':
        this.decoder = new PcapngDecoder();
        return true;
      case 'pcap-modified':
        throw new CaptureError('unsupported-version', 0, 'modified pcap (magic 0xa1b2cd34) is not supported');
      case 'unknown':
        throw new CaptureError(
          'bad-magic',
          0,
          `magic 0x${detected.magic.toString(16).padStart(8, '0')} is neither pcap nor pcapng`,
        );
    }
  }
}

/** Decodes a whole capture held in memory. */
export function* readCaptureBytes(bytes: Uint8Array, options: CaptureReadOptions = {}): Generator<CaptureRecord> {
  const decoder = new CaptureDecoder(options);
  decoder.push(bytes);
  decoder.end();
  for (let r = decoder.next(); r !== null; r = decoder.next()) yield r;
}

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export interface CaptureFileOptions extends CaptureReadOptions {
  /** Bytes per read (default 1 MiB). */
  chunkSize?: number;
}

/** Streams a capture file with synchronous reads of `chunkSize` bytes: constant memory. */
export function* readCaptureFile(path: string, options: CaptureFileOptions | number = {}): Generator<CaptureRecord> {
  const o = typeof options === 'number' ? { chunkSize: options } : options;
  const chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE;
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (cause) {
    const why = cause instanceof Error && 'code' in cause ? ` (${String((cause as NodeJS.ErrnoException).code)}: ${(cause as Error).message.replace(/^[A-Z]+: /, '').replace(/, open .*$/, '')})` : '';
    throw new CaptureError('io', 0, `cannot open ${path}${why}`, { cause });
  }
  try {
    const decoder = new CaptureDecoder(o);
    let position = 0;
    for (;;) {
      // A fresh buffer per read: the decoder may still hold the previous one's tail.
      const chunk = Buffer.allocUnsafe(chunkSize);
      let n: number;
      try {
        n = fs.readSync(fd, chunk, 0, chunkSize, null);
      } catch (cause) {
        throw new CaptureError('io', position, `cannot read ${path}`, { cause });
      }
      if (n === 0) break;
      position += n;
      decoder.push(chunk.subarray(0, n));
      for (let r = decoder.next(); r !== null; r = decoder.next()) yield r;
    }
    decoder.end();
    for (let r = decoder.next(); r !== null; r = decoder.next()) yield r;
  } finally {
    fs.closeSync(fd);
  }
}

/** Streams a capture from any byte stream, e.g. process.stdin. */
export async function* readCaptureStream(stream: AsyncIterable<Uint8Array>, options: CaptureReadOptions = {}): AsyncGenerator<CaptureRecord> {
  const decoder = new CaptureDecoder(options);
  for await (const chunk of stream) {
    decoder.push(chunk);
    for (let r = decoder.next(); r !== null; r = decoder.next()) yield r;
  }
  decoder.end();
  for (let r = decoder.next(); r !== null; r = decoder.next()) yield r;
}
