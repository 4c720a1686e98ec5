// Every problem found in untrusted bytes surfaces as a WireError: a machine-readable kind plus
// the byte offset (relative to the start of the buffer handed to the checked constructor).
// Nothing in src/wire reads out of bounds or throws anything else on bad input.

export type WireErrorKind =
  | 'truncated' // buffer ends before a header or a length field says it should
  | 'bad-version' // IPv4 version nibble is not 4
  | 'bad-ihl' // IPv4 IHL below 5 (a 20-byte header) or beyond the buffer
  | 'bad-total-length' // IPv4 total length below the header length
  | 'bad-checksum' // header (IPv4) or segment (TCP) checksum does not verify
  | 'bad-data-offset' // TCP data offset below 5 or beyond the segment
  | 'malformed-option' // option length 0/1 or running past the option area
  | 'bad-field' // a representation value that cannot be encoded (e.g. port > 65535)
  | 'unsupported-link-type' // capture link type we do not decode
  | 'not-ipv4'; // link layer carries something other than IPv4

export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly kind: WireErrorKind,
    readonly offset: number,
    detail: string,
  ) {
    super(`${kind} at byte ${offset}: ${detail}`);
  }
}
