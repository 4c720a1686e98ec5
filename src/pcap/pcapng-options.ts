// draft-ietf-opsawg-pcapng §3.5 Options: a list of (code u16, length u16, value padded to
// 32 bits), ended by opt_endofopt or by the end of the block body.
import { CaptureError } from './capture-error.js';
import { OPTION, OptionCode, pad4 } from './pcapng-format.js';

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Called per option; valueOffset is a position in the walked DataView. */
export type OptionVisitor = (code: number, valueOffset: number, valueLength: number) => void;

/**
 * Walks the options in view[start, end). `fileOffset` is the file offset of view position 0,
 * so errors can name the option's absolute offset.
 */
export function forEachOption(
  view: DataView,
  start: number,
  end: number,
  littleEndian: boolean,
  fileOffset: number,
  visit: OptionVisitor,
): void {
  let at = start;
  while (at < end) {
    if (end - at < OPTION.HEADER_SIZE) {
      throw new CaptureError('bad-option', fileOffset + at, `${end - at} stray bytes where an option header was expected`);
    }
    const code = view.getUint16(at + OPTION.CODE, littleEndian);
    const length = view.getUint16(at + OPTION.LENGTH, littleEndian);
    if (code === OptionCode.END_OF_OPT) return;
    const valueOffset = at + OPTION.HEADER_SIZE;
    if (valueOffset + pad4(length) > end) {
      throw new CaptureError('bad-option', fileOffset + at, `option ${code} of ${length} bytes overruns its block`);
    }
    visit(code, valueOffset, length);
    at = valueOffset + pad4(length);
  }
}

export function decodeUtf8(view: DataView, offset: number, length: number): string {
  return utf8.decode(new Uint8Array(view.buffer, view.byteOffset + offset, length));
}

/** One option to write: the value is raw bytes, padding is added by encodeOptions. */
export interface OptionValue {
  code: number;
  value: Uint8Array;
}

export function stringOption(code: number, text: string): OptionValue {
  return { code, value: utf8Encoder.encode(text) };
}

export function u8Option(code: number, value: number): OptionValue {
  return { code, value: Uint8Array.of(value) };
}

export function u32Option(code: number, value: number): OptionValue {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return { code, value: bytes };
}

export function i64Option(code: number, value: bigint): OptionValue {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, value, true);
  return { code, value: bytes };
}

/** Bytes encodeOptions() will produce: empty list = no bytes, else values + opt_endofopt. */
export function encodedOptionsLength(options: readonly OptionValue[]): number {
  if (options.length === 0) return 0;
  let n = OPTION.HEADER_SIZE;
  for (const o of options) n += OPTION.HEADER_SIZE + pad4(o.value.length);
  return n;
}

/**
 * Writes the options little-endian at `at` of target (`view` spans the same bytes), terminated
 * by opt_endofopt (§3.5: a non-empty list ends with it). Padding bytes are zeroed.
 * `fileOffset` is for error messages.
 */
export function encodeOptions(
  options: readonly OptionValue[],
  target: Uint8Array,
  view: DataView,
  at: number,
  fileOffset: number,
): number {
  if (options.length === 0) return at;
  for (const o of options) {
    if (o.value.length > OPTION.MAX_VALUE_LENGTH) {
      throw new CaptureError('bad-option', fileOffset, `option ${o.code} value of ${o.value.length} bytes exceeds 65535`);
    }
    view.setUint16(at + OPTION.CODE, o.code, true);
    view.setUint16(at + OPTION.LENGTH, o.value.length, true);
    target.set(o.value, at + OPTION.HEADER_SIZE);
    const padded = pad4(o.value.length);
    target.fill(0, at + OPTION.HEADER_SIZE + o.value.length, at + OPTION.HEADER_SIZE + padded);
    at += OPTION.HEADER_SIZE + padded;
  }
  view.setUint32(at, 0, true); // opt_endofopt: code 0, length 0
  return at + OPTION.HEADER_SIZE;
}
