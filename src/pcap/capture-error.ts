// One error type for everything the capture module rejects, so callers (the CLI reading
// stdin, the tests' fuzzers) can tell "this file is bad" from a bug with one instanceof.

/** What went wrong; stable strings for tests and CLI exit messages. */
export type CaptureErrorKind =
  /** The first 4 bytes are neither a pcap magic nor a pcapng SHB. */
  | 'bad-magic'
  /** A known magic with a major version we cannot read (pcap 2.x, pcapng 1.x only). */
  | 'unsupported-version'
  /** The input ends inside the pcap file header or the first pcapng SHB. */
  | 'truncated-header'
  /** The input ends inside a pcap record or a pcapng block. */
  | 'truncated-record'
  /** A pcapng Block Total Length that is < 12, not a multiple of 4, or differs at the trailer. */
  | 'bad-block-length'
  /** A pcapng block whose body contradicts its own fields (too short, caplen past the end). */
  | 'bad-block'
  /** A packet names an interface that no IDB in its section declared. */
  | 'unknown-interface'
  /** A pcapng option that overruns its block or has a value of the wrong size. */
  | 'bad-option'
  /** A packet or block larger than real captures hold (MAX_PACKET_BYTES, MAX_BLOCK_BYTES). */
  | 'record-too-large'
  /** A timestamp a writer cannot represent (negative, or past the format's range). */
  | 'timestamp-range'
  /** A writer argument outside the format's field range (link type, snaplen, ...). */
  | 'bad-argument'
  /** A write or push after close()/end(). */
  | 'closed'
  /** The operating system failed to read or write the file. */
  | 'io';

export class CaptureError extends Error {
  readonly kind: CaptureErrorKind;
  /** File offset of the header, record, block or option at fault (bytes written so far, for writers). */
  readonly offset: number;

  constructor(kind: CaptureErrorKind, offset: number, detail: string, options?: { cause?: unknown }) {
    super(`${detail} (${kind} at byte offset ${offset})`, options);
    this.name = 'CaptureError';
    this.kind = kind;
    this.offset = offset;
  }
}
