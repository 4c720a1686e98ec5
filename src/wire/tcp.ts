// TCP header (RFC 9293 §3.1) with the ECN bits of RFC 3168 and the AE/NS bit of RFC 3540/
// accurate-ECN: a zero-copy view for hot paths and a plain representation whose parse/emit are
// exact inverses. The checksum covers the IPv4 pseudo-header (RFC 9293 §3.1, "Checksum").
import { struct, u8, u16be, u32be } from 'buffer-layout';
import type { HeaderLayout } from './header-layout.js';
import { foldCarries, internetChecksum, pseudoHeaderSum, sumWords } from './checksum.js';
import { ByteView } from './byte-view.js';
import { writeU16, writeU32 } from './bytes.js';
import { IpProtocol } from './ipv4.js';
import { emitTcpOptions, formatTcpOption, parseTcpOptions, tcpOptionsLength, type TcpOption } from './tcp-options.js';
import { WireError } from './wire-error.js';

export const TCP_LAYOUT: HeaderLayout = struct([
  u16be('srcPort'),
  u16be('dstPort'),
  u32be('seq'),
  u32be('ack'),
  u8('offsetReservedAe'),
  u8('flags'),
  u16be('window'),
  u16be('checksum'),
  u16be('urgentPointer'),
]);

function at(field: string): number {
  const o = TCP_LAYOUT.offsetOf(field);
  if (o === undefined) throw new Error(`TCP_LAYOUT has no field ${field}`);
  return o;
}

export const TCP_FIELD = {
  SRC_PORT: at('srcPort'),
  DST_PORT: at('dstPort'),
  SEQ: at('seq'),
  ACK: at('ack'),
  OFFSET: at('offsetReservedAe'),
  FLAGS: at('flags'),
  WINDOW: at('window'),
  CHECKSUM: at('checksum'),
  URGENT: at('urgentPointer'),
} as const;

export const TCP_MIN_HEADER_LEN = TCP_LAYOUT.span; // 20
export const TCP_MAX_HEADER_LEN = 60;

/** The nine flag bits as one number: bits 0-7 from byte 13, AE (ex-NS) as bit 8. */
export const TcpFlag = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  /** AE (accurate ECN, RFC 9768), formerly NS (RFC 3540). */
  AE: 0x100,
} as const;

const FLAG_LETTERS: Array<[number, string]> = [
  [TcpFlag.FIN, 'F'], [TcpFlag.SYN, 'S'], [TcpFlag.RST, 'R'], [TcpFlag.PSH, 'P'],
  [TcpFlag.URG, 'U'], [TcpFlag.ECE, 'E'], [TcpFlag.CWR, 'W'], [TcpFlag.AE, 'N'],
];

/** tcpdump's notation: S, F, R, P, U, E, W, N, then '.' for ACK (e.g. "S." for SYN-ACK). */
export function tcpFlagsShort(flags: number): string {
  let s = '';
  for (const [bit, ch] of FLAG_LETTERS) if (flags & bit) s += ch;
  if (flags & TcpFlag.ACK) s += '.';
  return s === '' ? 'none' : s;
}

const FLAG_NAMES: Array<[number, string]> = [
  [TcpFlag.SYN, 'SYN'], [TcpFlag.FIN, 'FIN'], [TcpFlag.RST, 'RST'], [TcpFlag.PSH, 'PSH'],
  [TcpFlag.ACK, 'ACK'], [TcpFlag.URG, 'URG'], [TcpFlag.ECE, 'ECE'], [TcpFlag.CWR, 'CWR'], [TcpFlag.AE, 'AE'],
];

/** Long form, e.g. "SYN,ACK". */
export function tcpFlagsLong(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  return names.length ? names.join(',') : 'none';
}

/** Zero-copy view of a TCP segment of `len` bytes at buf[off]. */
export class TcpSegment extends ByteView {
  // Accessors at literal offsets, those of TCP_FIELD (ByteView says why).
  constructor(
    buf: Uint8Array,
    public off = 0,
    public len = buf.length - off,
  ) {
    super(buf);
  }

  /** Validates the data offset against the segment length; after this no accessor can fail. */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): TcpSegment {
    const err = checkTcp(buf, off, len);
    if (err) throw err;
    return new TcpSegment(buf, off, len);
  }

  reset(buf: Uint8Array, off: number, len: number): this {
    if (buf !== this.bytes) this.repoint(buf);
    this.off = off;
    this.len = len;
    return this;
  }

  get srcPort(): number { return this.dv.getUint16(this.off); }
  get dstPort(): number { return this.dv.getUint16(this.off + 2); }
  get seq(): number { return this.dv.getUint32(this.off + 4); }
  get ack(): number { return this.dv.getUint32(this.off + 8); }
  /**
   * SEQ as a signed 32-bit number, as the kernel's u32 arithmetic sees it through before()/after():
   * a small integer in V8 (no heap number), for the conntrack hot path. Compare with wire/seq.ts.
   */
  get seqI32(): number { return this.dv.getInt32(this.off + 4); }
  get ackI32(): number { return this.dv.getInt32(this.off + 8); }
  /** Both ports in one signed word, source port in the high half: the conntrack table's key word. */
  get portsI32(): number { return this.dv.getInt32(this.off); }
  get dataOffset(): number { return this.bytes[this.off + 12] >>> 4; }
  get headerLength(): number { return (this.bytes[this.off + 12] >>> 4) << 2; }
  /** The three reserved bits between data offset and AE. */
  get reserved(): number { return (this.bytes[this.off + 12] >>> 1) & 0x7; }
  get flags(): number { return this.bytes[this.off + 13] | ((this.bytes[this.off + 12] & 1) << 8); }
  get window(): number { return this.dv.getUint16(this.off + 14); }
  get checksum(): number { return this.dv.getUint16(this.off + 16); }
  get urgentPointer(): number { return this.dv.getUint16(this.off + 18); }
  get optionsOffset(): number { return this.off + TCP_MIN_HEADER_LEN; }
  get optionsLength(): number { return this.headerLength - TCP_MIN_HEADER_LEN; }
  get payloadOffset(): number { return this.off + this.headerLength; }
  get payloadLength(): number { return this.len - this.headerLength; }

  get fin(): boolean { return (this.bytes[this.off + 13] & TcpFlag.FIN) !== 0; }
  get syn(): boolean { return (this.bytes[this.off + 13] & TcpFlag.SYN) !== 0; }
  get rst(): boolean { return (this.bytes[this.off + 13] & TcpFlag.RST) !== 0; }
  get ackFlag(): boolean { return (this.bytes[this.off + 13] & TcpFlag.ACK) !== 0; }

  // Setters write the field as given, checksum untouched (fillChecksum() fixes it): deliberately
  // wrong segments (fuzzing) are built with them too.
  set srcPort(v: number) { this.dv.setUint16(this.off, v); }
  set dstPort(v: number) { this.dv.setUint16(this.off + 2, v); }
  set seq(v: number) { this.dv.setUint32(this.off + 4, v); }
  set ack(v: number) { this.dv.setUint32(this.off + 8, v); }
  /** The data offset in 32-bit words (the high nibble of byte 12; reserved bits and AE kept). */
  set dataOffset(v: number) { this.bytes[this.off + 12] = (this.bytes[this.off + 12] & 0x0f) | ((v & 0x0f) << 4); }
  /** The three reserved bits (data offset and AE kept). */
  set reserved(v: number) { this.bytes[this.off + 12] = (this.bytes[this.off + 12] & 0xf1) | ((v & 0x7) << 1); }
  /** The nine flag bits (TcpFlag): byte 13 and AE in byte 12. */
  set flags(v: number) {
    this.bytes[this.off + 13] = v & 0xff;
    this.bytes[this.off + 12] = (this.bytes[this.off + 12] & 0xfe) | ((v >>> 8) & 1);
  }
  set window(v: number) { this.dv.setUint16(this.off + 14, v); }
  set checksum(v: number) { this.dv.setUint16(this.off + 16, v); }
  set urgentPointer(v: number) { this.dv.setUint16(this.off + 18, v); }

  /** Checksum the segment should carry for these pseudo-header addresses. */
  computeChecksum(src: number, dst: number): number {
    const o = this.off;
    const after = TCP_FIELD.CHECKSUM + 2;
    let s = pseudoHeaderSum(src, dst, IpProtocol.TCP, this.len);
    s = sumWords(this.bytes, o, TCP_FIELD.CHECKSUM, s);
    s = sumWords(this.bytes, o + after, this.len - after, s);
    return ~foldCarries(s) & 0xffff;
  }

  verifyChecksum(src: number, dst: number): boolean {
    return internetChecksum(this.bytes, this.off, this.len, pseudoHeaderSum(src, dst, IpProtocol.TCP, this.len)) === 0;
  }

  /**
   * The checksum field holds only the folded pseudo-header sum: the sender left the rest to the
   * NIC (CHECKSUM_PARTIAL, tcp_v4_send_check() writing ~tcp_v4_check(len, src, dst, 0)). A
   * capture taken before the offload (on the sending host, or in a namespace a veth joins to
   * it) shows this value; the receiving kernel does not verify such a packet.
   */
  hasPartialChecksum(src: number, dst: number): boolean {
    return this.checksum === foldCarries(pseudoHeaderSum(src, dst, IpProtocol.TCP, this.len));
  }

  fillChecksum(src: number, dst: number): void {
    this.checksum = this.computeChecksum(src, dst);
  }

  override toString(): string {
    return `TCP src=${this.srcPort} dst=${this.dstPort} seq=${this.seq} ack=${this.ack} win=${this.window} len=${this.payloadLength} flags=${tcpFlagsShort(this.flags)}`;
  }
}

/** The problems checkTcp() reports, as numbers (0: none), for allocation-free checks. */
export const TcpProblem = { NONE: 0, TRUNCATED: 1, DATA_OFFSET_SMALL: 2, DATA_OFFSET_BEYOND: 3 } as const;
export type TcpProblem = (typeof TcpProblem)[keyof typeof TcpProblem];

/** The first structural problem of a `len`-byte TCP segment at buf[off]. Allocates nothing. */
export function tcpProblem(buf: Uint8Array, off: number, len: number): TcpProblem {
  if (len < TCP_MIN_HEADER_LEN || off + len > buf.length) return TcpProblem.TRUNCATED;
  const doff = buf[off + TCP_FIELD.OFFSET] >>> 4;
  if (doff < 5) return TcpProblem.DATA_OFFSET_SMALL;
  if (doff * 4 > len) return TcpProblem.DATA_OFFSET_BEYOND;
  return TcpProblem.NONE;
}

export function checkTcp(buf: Uint8Array, off: number, len: number): WireError | null {
  const problem = tcpProblem(buf, off, len);
  if (problem === TcpProblem.NONE) return null;
  if (problem === TcpProblem.TRUNCATED) {
    return new WireError('truncated', off, `TCP header needs ${TCP_MIN_HEADER_LEN} bytes, have ${Math.max(0, Math.min(len, buf.length - off))}`);
  }
  const doff = buf[off + TCP_FIELD.OFFSET] >>> 4;
  if (problem === TcpProblem.DATA_OFFSET_SMALL) return new WireError('bad-data-offset', off + TCP_FIELD.OFFSET, `data offset ${doff} is below 5`);
  return new WireError('bad-data-offset', off + TCP_FIELD.OFFSET, `data offset ${doff} (${doff * 4} bytes) beyond the ${len}-byte segment`);
}

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TcpFlag bits, 9 of them. */
  flags: number;
  /** The 3 reserved header bits (normally 0), kept for exact round trips. */
  reserved: number;
  window: number;
  urgentPointer: number;
  /** In wire order; their encoded length must be a multiple of 4 (use NOP/EOL to pad). */
  options: TcpOption[];
  payload: Uint8Array;
  /** As found by parse; emit computes it unless told to keep it. */
  checksum: number;
}

export interface TcpParseOptions {
  /** 'verify' (default) needs the pseudo-header addresses; 'ignore' skips the check. */
  checksum?: 'verify' | 'ignore';
  src?: number;
  dst?: number;
}

export function parseTcp(seg: TcpSegment, opts: TcpParseOptions = {}): TcpRepr {
  const err = checkTcp(seg.buf, seg.off, seg.len);
  if (err) throw err;
  if ((opts.checksum ?? 'verify') === 'verify') {
    if (opts.src === undefined || opts.dst === undefined) {
      throw new WireError('bad-field', seg.off, 'TCP checksum verification needs the IPv4 source and destination');
    }
    if (!seg.verifyChecksum(opts.src, opts.dst)) {
      throw new WireError('bad-checksum', seg.off + TCP_FIELD.CHECKSUM,
        `TCP checksum 0x${seg.checksum.toString(16)} should be 0x${seg.computeChecksum(opts.src, opts.dst).toString(16)}`);
    }
  }
  return {
    srcPort: seg.srcPort,
    dstPort: seg.dstPort,
    seq: seg.seq,
    ack: seg.ack,
    flags: seg.flags,
    reserved: seg.reserved,
    window: seg.window,
    urgentPointer: seg.urgentPointer,
    options: parseTcpOptions(seg.buf, seg.optionsOffset, seg.optionsLength, seg.optionsOffset),
    payload: seg.buf.slice(seg.payloadOffset, seg.off + seg.len),
    checksum: seg.checksum,
  };
}

export function tcpHeaderLength(repr: Pick<TcpRepr, 'options'>): number {
  return TCP_MIN_HEADER_LEN + tcpOptionsLength(repr.options);
}

/** Segment length (header + payload) this repr emits to. */
export function tcpSegmentLength(repr: Pick<TcpRepr, 'options' | 'payload'>): number {
  return tcpHeaderLength(repr) + repr.payload.length;
}

export interface TcpEmitOptions {
  /** 'compute' (default) fills the checksum for src/dst; 'keep' writes repr.checksum. */
  checksum?: 'compute' | 'keep';
  src?: number;
  dst?: number;
}

function checkRange(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new WireError('bad-field', 0, `TCP ${name}=${v} outside 0..${max}`);
}

/** Writes header, options and payload at buf[off]; returns the segment length. */
export function emitTcp(repr: TcpRepr, buf: Uint8Array, off = 0, opts: TcpEmitOptions = {}): number {
  checkRange('srcPort', repr.srcPort, 0xffff);
  checkRange('dstPort', repr.dstPort, 0xffff);
  checkRange('seq', repr.seq, 0xffffffff);
  checkRange('ack', repr.ack, 0xffffffff);
  checkRange('flags', repr.flags, 0x1ff);
  checkRange('reserved', repr.reserved, 7);
  checkRange('window', repr.window, 0xffff);
  checkRange('urgentPointer', repr.urgentPointer, 0xffff);
  const optLen = tcpOptionsLength(repr.options);
  if (optLen % 4 !== 0 || optLen > TCP_MAX_HEADER_LEN - TCP_MIN_HEADER_LEN) {
    throw new WireError('bad-field', 0, `TCP options take ${optLen} bytes: must be a multiple of 4 and at most 40`);
  }
  const hl = TCP_MIN_HEADER_LEN + optLen;
  const len = hl + repr.payload.length;
  if (off + len > buf.length) throw new WireError('truncated', off, `need ${len} bytes to emit the TCP segment`);
  writeU16(buf, off + TCP_FIELD.SRC_PORT, repr.srcPort);
  writeU16(buf, off + TCP_FIELD.DST_PORT, repr.dstPort);
  writeU32(buf, off + TCP_FIELD.SEQ, repr.seq);
  writeU32(buf, off + TCP_FIELD.ACK, repr.ack);
  buf[off + TCP_FIELD.OFFSET] = ((hl >>> 2) << 4) | (repr.reserved << 1) | ((repr.flags >>> 8) & 1);
  buf[off + TCP_FIELD.FLAGS] = repr.flags & 0xff;
  writeU16(buf, off + TCP_FIELD.WINDOW, repr.window);
  writeU16(buf, off + TCP_FIELD.URGENT, repr.urgentPointer);
  emitTcpOptions(repr.options, buf, off + TCP_MIN_HEADER_LEN);
  buf.set(repr.payload, off + hl);
  const seg = new TcpSegment(buf, off, len);
  if ((opts.checksum ?? 'compute') === 'compute') {
    if (opts.src === undefined || opts.dst === undefined) {
      throw new WireError('bad-field', off, 'TCP checksum computation needs the IPv4 source and destination');
    }
    seg.fillChecksum(opts.src, opts.dst);
  } else {
    seg.checksum = repr.checksum;
  }
  return len;
}

export function formatTcp(repr: TcpRepr): string {
  const opts = repr.options.filter((o) => o.kind !== 'nop' && o.kind !== 'eol').map(formatTcpOption);
  return `TCP src=${repr.srcPort} dst=${repr.dstPort} seq=${repr.seq} ack=${repr.ack} win=${repr.window} len=${repr.payload.length} flags=${tcpFlagsShort(repr.flags)}${opts.length ? ` [${opts.join(',')}]` : ''}`;
}
