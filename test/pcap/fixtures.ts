// Test-only helpers: golden packets and a tiny independent pcap/pcapng encoder (literal field
// offsets, either byte order) for inputs our writers never produce (big-endian, SPB, PB,
// corrupt blocks). Deliberately imports nothing from src/pcap except the reader entry points.
import { CaptureError, readCaptureBytes } from '../../src/pcap/index.js';
import type { CaptureRecord } from '../../src/pcap/index.js';

/** Hex with whitespace and `// comments` allowed, for annotated golden bytes. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\/\/[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex: ${digits}`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

export function ascii(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'utf8'));
}

/** RFC 1071 one's-complement sum; 0 over a block that includes its own correct checksum. */
export function internetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** True when both the IPv4 header checksum and the TCP checksum (with pseudo-header) verify. */
export function ipv4TcpChecksumsOk(packet: Uint8Array): boolean {
  const ihl = (packet[0] & 0x0f) * 4;
  const total = (packet[2] << 8) | packet[3];
  const tcp = packet.subarray(ihl, total);
  const pseudo = concat(packet.subarray(12, 20), Uint8Array.of(0, 6, tcp.length >> 8, tcp.length & 0xff));
  return internetChecksum(packet.subarray(0, ihl)) === 0 && internetChecksum(concat(pseudo, tcp)) === 0;
}

// Hand-written IPv4/TCP packets (10.0.0.1:40000 <-> 10.0.0.2:80), checksums computed once and
// checked by ipv4TcpChecksumsOk() in golden.test.ts and by tshark in tshark.test.ts.
export const SYN = hex(`
  45 00 0028 1234 4000 40 06 149a 0a000001 0a000002   // IPv4, 40 bytes, DF, TTL 64, TCP
  9c40 0050 01020304 00000000 50 02 faf0 0059 0000    // 40000 -> 80 SYN seq 0x01020304
`);
export const SYN_ACK = hex(`
  45 00 0028 1234 4000 40 06 149a 0a000002 0a000001
  0050 9c40 0a0b0c0d 01020305 50 12 faf0 ea2f 0000    // 80 -> 40000 SYN+ACK
`);
export const DATA = hex(`
  45 00 002e 1234 4000 40 06 1494 0a000001 0a000002
  9c40 0050 01020305 0a0b0c0e 50 18 faf0 a646 0000    // PSH+ACK
  68656c6c6f0a                                        // "hello\\n"
`);

/** Wraps an IPv4 packet in Ethernet II (02:..:01 -> 02:..:02, type 0x0800). */
export function ethernet(ipPacket: Uint8Array): Uint8Array {
  return concat(hex('020000000002 020000000001 0800'), ipPacket);
}

// ---- independent encoders -------------------------------------------------------------

function u16(value: number, le: boolean): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, value, le);
  return b;
}

export function u32(value: number, le: boolean): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value, le);
  return b;
}

function pad(bytes: Uint8Array): Uint8Array {
  return concat(bytes, new Uint8Array((4 - (bytes.length % 4)) % 4));
}

export interface PcapRecordSpec {
  seconds: number;
  fraction: number;
  data: Uint8Array;
  originalLength?: number;
  capturedLength?: number;
}

export function pcapFile(spec: {
  le: boolean;
  nano: boolean;
  linkTypeField: number;
  snaplen?: number;
  major?: number;
  records: PcapRecordSpec[];
}): Uint8Array {
  const { le } = spec;
  const parts = [
    u32(spec.nano ? 0xa1b23c4d : 0xa1b2c3d4, le),
    u16(spec.major ?? 2, le),
    u16(4, le),
    u32(0, le),
    u32(0, le),
    u32(spec.snaplen ?? 65535, le),
    u32(spec.linkTypeField, le),
  ];
  for (const r of spec.records) {
    parts.push(
      u32(r.seconds, le),
      u32(r.fraction, le),
      u32(r.capturedLength ?? r.data.length, le),
      u32(r.originalLength ?? r.data.length, le),
      r.data,
    );
  }
  return concat(...parts);
}

export function ngOption(code: number, value: Uint8Array, le: boolean): Uint8Array {
  return concat(u16(code, le), u16(value.length, le), pad(value));
}

export function ngOptions(options: Array<[number, Uint8Array]>, le: boolean): Uint8Array {
  if (options.length === 0) return new Uint8Array(0);
  return concat(...options.map(([c, v]) => ngOption(c, v, le)), u32(0, le));
}

/** A block: type, total length, body (padded), total length; lengths overridable to corrupt. */
export function ngBlock(
  type: number,
  body: Uint8Array,
  le: boolean,
  corrupt: { total?: number; trailer?: number } = {},
): Uint8Array {
  const padded = pad(body);
  const total = 12 + padded.length;
  return concat(u32(type, le), u32(corrupt.total ?? total, le), padded, u32(corrupt.trailer ?? total, le));
}

export function ngShb(le: boolean, options: Array<[number, Uint8Array]> = [], major = 1): Uint8Array {
  const body = concat(u32(0x1a2b3c4d, le), u16(major, le), u16(0, le), new Uint8Array(8).fill(0xff), ngOptions(options, le));
  return ngBlock(0x0a0d0d0a, body, le);
}

export function ngIdb(le: boolean, linkType: number, snaplen: number, options: Array<[number, Uint8Array]> = []): Uint8Array {
  return ngBlock(1, concat(u16(linkType, le), u16(0, le), u32(snaplen, le), ngOptions(options, le)), le);
}

export function ngEpb(
  le: boolean,
  spec: { interfaceId: number; units: bigint; data: Uint8Array; originalLength?: number; options?: Array<[number, Uint8Array]> },
): Uint8Array {
  const body = concat(
    u32(spec.interfaceId, le),
    u32(Number(spec.units >> 32n), le),
    u32(Number(spec.units & 0xffffffffn), le),
    u32(spec.data.length, le),
    u32(spec.originalLength ?? spec.data.length, le),
    pad(spec.data),
    ngOptions(spec.options ?? [], le),
  );
  return ngBlock(6, body, le);
}

export function ngSpb(le: boolean, originalLength: number, data: Uint8Array): Uint8Array {
  return ngBlock(3, concat(u32(originalLength, le), data), le);
}

/** Appendix A obsolete Packet Block: 16-bit interface id, drops count. */
export function ngPb(
  le: boolean,
  spec: { interfaceId: number; units: bigint; data: Uint8Array; options?: Array<[number, Uint8Array]> },
): Uint8Array {
  const body = concat(
    u16(spec.interfaceId, le),
    u16(0, le),
    u32(Number(spec.units >> 32n), le),
    u32(Number(spec.units & 0xffffffffn), le),
    u32(spec.data.length, le),
    u32(spec.data.length, le),
    pad(spec.data),
    ngOptions(spec.options ?? [], le),
  );
  return ngBlock(2, body, le);
}

export function u8(value: number): Uint8Array {
  return Uint8Array.of(value);
}

export function i64(value: bigint, le: boolean): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, value, le);
  return b;
}

// ---- decoding shortcuts ---------------------------------------------------------------

export function decodeAll(bytes: Uint8Array): CaptureRecord[] {
  return [...readCaptureBytes(bytes)];
}

/** The CaptureError decoding `bytes` throws; fails the test if it throws something else or nothing. */
export function decodeError(bytes: Uint8Array): CaptureError {
  try {
    decodeAll(bytes);
  } catch (err) {
    if (err instanceof CaptureError) return err;
    throw err;
  }
  throw new Error('expected a CaptureError, decoding succeeded');
}
