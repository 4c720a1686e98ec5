// IPv4 header (RFC 791 §3.1): a zero-copy view for hot paths and a plain representation
// with parse/emit that are exact inverses (smoltcp's Packet/Repr split).
import { struct, u8, u16be, u32be } from 'buffer-layout';
import type { HeaderLayout } from './header-layout.js';
import { foldCarries, internetChecksum, sumWords } from './checksum.js';
import { ByteView } from './byte-view.js';
import { readU16, writeU16, writeU32 } from './bytes.js';
import { formatIpv4Address } from './ipv4-address.js';
import { WireError } from './wire-error.js';

/** The fixed 20-byte header, declared once; every offset below is derived from it. */
export const IPV4_LAYOUT: HeaderLayout = struct([
  u8('versionIhl'),
  u8('dscpEcn'),
  u16be('totalLength'),
  u16be('identification'),
  u16be('flagsFragment'),
  u8('ttl'),
  u8('protocol'),
  u16be('checksum'),
  u32be('src'),
  u32be('dst'),
]);

function at(field: string): number {
  const o = IPV4_LAYOUT.offsetOf(field);
  if (o === undefined) throw new Error(`IPV4_LAYOUT has no field ${field}`);
  return o;
}

export const IPV4_FIELD = {
  VERSION_IHL: at('versionIhl'),
  DSCP_ECN: at('dscpEcn'),
  TOTAL_LENGTH: at('totalLength'),
  IDENTIFICATION: at('identification'),
  FLAGS_FRAGMENT: at('flagsFragment'),
  TTL: at('ttl'),
  PROTOCOL: at('protocol'),
  CHECKSUM: at('checksum'),
  SRC: at('src'),
  DST: at('dst'),
} as const;

export const IPV4_MIN_HEADER_LEN = IPV4_LAYOUT.span; // 20
export const IPV4_MAX_HEADER_LEN = 60;

export const IpProtocol = { ICMP: 1, TCP: 6, UDP: 17 } as const;

const FLAG_RESERVED = 0x8000;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;

/**
 * Zero-copy view of an IPv4 header at buf[off]. `Ipv4Packet.checked` validates lengths once;
 * after that no accessor can read out of bounds. `reset` re-points a view (allocating only when
 * it moves to another buffer: ByteView).
 */
export class Ipv4Packet extends ByteView {
  // Accessors at literal offsets, those of IPV4_FIELD (ByteView says why).
  constructor(
    buf: Uint8Array,
    public off = 0,
  ) {
    super(buf);
  }

  /** Validates version, IHL and total length against the `len` bytes available at off. */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): Ipv4Packet {
    const err = checkIpv4(buf, off, len);
    if (err) throw err;
    return new Ipv4Packet(buf, off);
  }

  reset(buf: Uint8Array, off: number): this {
    if (buf !== this.bytes) this.repoint(buf);
    this.off = off;
    return this;
  }

  get version(): number { return this.bytes[this.off] >>> 4; }
  get ihl(): number { return this.bytes[this.off] & 0x0f; }
  get headerLength(): number { return (this.bytes[this.off] & 0x0f) << 2; }
  get dscp(): number { return this.bytes[this.off + 1] >>> 2; }
  get ecn(): number { return this.bytes[this.off + 1] & 0x3; }
  get totalLength(): number { return this.dv.getUint16(this.off + 2); }
  get identification(): number { return this.dv.getUint16(this.off + 4); }
  get flagsFragment(): number { return this.dv.getUint16(this.off + 6); }
  get dontFragment(): boolean { return (this.flagsFragment & FLAG_DF) !== 0; }
  get moreFragments(): boolean { return (this.flagsFragment & FLAG_MF) !== 0; }
  /** Fragment offset in 8-byte units. */
  get fragmentOffset(): number { return this.flagsFragment & FRAG_OFFSET_MASK; }
  /** Any fragment, first or not (conntrack sees only reassembled packets; we report, not reassemble). */
  get isFragment(): boolean { return (this.flagsFragment & (FLAG_MF | FRAG_OFFSET_MASK)) !== 0; }
  get ttl(): number { return this.bytes[this.off + 8]; }
  get protocol(): number { return this.bytes[this.off + 9]; }
  get checksum(): number { return this.dv.getUint16(this.off + 10); }
  get src(): number { return this.dv.getUint32(this.off + 12); }
  get dst(): number { return this.dv.getUint32(this.off + 16); }
  /** The source address as a signed 32-bit number: a small integer in V8 (no heap number), for hot paths and int32 tables. */
  get srcI32(): number { return this.dv.getInt32(this.off + 12); }
  get dstI32(): number { return this.dv.getInt32(this.off + 16); }
  get payloadOffset(): number { return this.off + this.headerLength; }
  get payloadLength(): number { return this.totalLength - this.headerLength; }

  // Setters write the field as given, checksum untouched (fillChecksum() or the incremental
  // rewrites in tuple-rewrite.ts fix it): deliberately wrong packets are built with them too.
  set version(v: number) { this.bytes[this.off] = ((v & 0x0f) << 4) | (this.bytes[this.off] & 0x0f); }
  set ihl(v: number) { this.bytes[this.off] = (this.bytes[this.off] & 0xf0) | (v & 0x0f); }
  /** In bytes (a multiple of 4): sets IHL to v / 4. */
  set headerLength(v: number) { this.ihl = v >>> 2; }
  set dscp(v: number) { this.bytes[this.off + 1] = ((v & 0x3f) << 2) | (this.bytes[this.off + 1] & 0x3); }
  set ecn(v: number) { this.bytes[this.off + 1] = (this.bytes[this.off + 1] & 0xfc) | (v & 0x3); }
  set totalLength(v: number) { this.dv.setUint16(this.off + 2, v); }
  set identification(v: number) { this.dv.setUint16(this.off + 4, v); }
  /** The 16-bit word of flags (reserved, DF, MF) and fragment offset. */
  set flagsFragment(v: number) { this.dv.setUint16(this.off + 6, v); }
  set protocol(v: number) { this.bytes[this.off + 9] = v; }
  set src(v: number) { this.dv.setUint32(this.off + 12, v); }
  set dst(v: number) { this.dv.setUint32(this.off + 16, v); }
  set checksum(v: number) { this.dv.setUint16(this.off + 10, v); }
  set ttl(v: number) { this.bytes[this.off + 8] = v; }

  /** The checksum this header should carry: the sum of every word but the checksum field. */
  computeChecksum(): number {
    const o = this.off;
    const after = IPV4_FIELD.CHECKSUM + 2;
    const s = sumWords(this.bytes, o, IPV4_FIELD.CHECKSUM, sumWords(this.bytes, o + after, this.headerLength - after));
    return ~foldCarries(s) & 0xffff;
  }

  verifyChecksum(): boolean {
    return internetChecksum(this.bytes, this.off, this.headerLength) === 0;
  }

  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.bytes, this.off, this.headerLength);
  }

  override toString(): string {
    return `IPv4 src=${formatIpv4Address(this.src)} dst=${formatIpv4Address(this.dst)} proto=${this.protocol} len=${this.totalLength} id=${this.identification} ttl=${this.ttl}`;
  }
}

/** The structural problems checkIpv4() reports, as numbers (0: none), for allocation-free checks. */
export const Ipv4Problem = {
  NONE: 0,
  TRUNCATED: 1,
  BAD_VERSION: 2,
  BAD_IHL: 3,
  IHL_BEYOND: 4,
  TOTAL_BELOW_HEADER: 5,
  TOTAL_BEYOND: 6,
} as const;
export type Ipv4Problem = (typeof Ipv4Problem)[keyof typeof Ipv4Problem];

/** The first structural problem of the IPv4 header at buf[off] with `len` bytes available. Allocates nothing. */
export function ipv4Problem(buf: Uint8Array, off: number, len: number): Ipv4Problem {
  if (len < IPV4_MIN_HEADER_LEN || off + len > buf.length) return Ipv4Problem.TRUNCATED;
  const vi = buf[off];
  if (vi >>> 4 !== 4) return Ipv4Problem.BAD_VERSION;
  const hl = (vi & 0x0f) << 2;
  if (hl < IPV4_MIN_HEADER_LEN) return Ipv4Problem.BAD_IHL;
  if (hl > len) return Ipv4Problem.IHL_BEYOND;
  const total = readU16(buf, off + IPV4_FIELD.TOTAL_LENGTH);
  if (total < hl) return Ipv4Problem.TOTAL_BELOW_HEADER;
  if (total > len) return Ipv4Problem.TOTAL_BEYOND;
  return Ipv4Problem.NONE;
}

/** Returns a WireError describing the first structural problem, or null. Allocation-free on success. */
export function checkIpv4(buf: Uint8Array, off: number, len: number): WireError | null {
  const problem = ipv4Problem(buf, off, len);
  if (problem === Ipv4Problem.NONE) return null;
  if (problem === Ipv4Problem.TRUNCATED) {
    return new WireError('truncated', off, `IPv4 header needs ${IPV4_MIN_HEADER_LEN} bytes, have ${Math.min(len, buf.length - off)}`);
  }
  const vi = buf[off];
  const hl = (vi & 0x0f) << 2;
  const total = readU16(buf, off + IPV4_FIELD.TOTAL_LENGTH);
  switch (problem) {
    case Ipv4Problem.BAD_VERSION: return new WireError('bad-version', off, `IP version ${vi >>> 4}, expected 4`);
    case Ipv4Problem.BAD_IHL: return new WireError('bad-ihl', off, `IHL ${vi & 0x0f} is below 5`);
    case Ipv4Problem.IHL_BEYOND: return new WireError('truncated', off, `IHL says ${hl} header bytes, have ${len}`);
    case Ipv4Problem.TOTAL_BELOW_HEADER: return new WireError('bad-total-length', off + IPV4_FIELD.TOTAL_LENGTH, `total length ${total} below header length ${hl}`);
    default: return new WireError('truncated', off + IPV4_FIELD.TOTAL_LENGTH, `total length ${total} beyond the ${len} bytes captured`);
  }
}

/**
 * What ip_rcv_core() drops before any netfilter hook sees the packet: the checks of checkIpv4()
 * plus a wrong header checksum (ip_fast_csum() != 0, counted as InCsumErrors).
 */
export function ipv4ReceiveError(buf: Uint8Array, off: number, len: number): WireError | null {
  const e = checkIpv4(buf, off, len);
  if (e) return e;
  const hl = (buf[off] & 0x0f) << 2;
  if (internetChecksum(buf, off, hl) !== 0) return new WireError('bad-checksum', off + IPV4_FIELD.CHECKSUM, 'IPv4 header checksum is wrong');
  return null;
}

/** Plain-object IPv4 header. Addresses are unsigned 32-bit numbers; options are raw bytes. */
export interface Ipv4Repr {
  dscp: number;
  ecn: number;
  identification: number;
  /** The reserved ("evil") bit, kept so parse/emit stay exact inverses. */
  reservedFlag: boolean;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In 8-byte units. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
  /** Option bytes as carried (length a multiple of 4, at most 40). */
  options: Uint8Array;
  payloadLength: number;
  /** Header checksum as found by parse; emit computes it unless told to keep this value. */
  checksum: number;
}

export interface ParseOptions {
  /** 'verify' (default): a wrong checksum is a WireError. 'ignore': accept as is. */
  checksum?: 'verify' | 'ignore';
}

export function parseIpv4(view: Ipv4Packet, opts: ParseOptions = {}): Ipv4Repr {
  const err = checkIpv4(view.buf, view.off, view.buf.length - view.off);
  if (err) throw err;
  if ((opts.checksum ?? 'verify') === 'verify' && !view.verifyChecksum()) {
    throw new WireError('bad-checksum', view.off + IPV4_FIELD.CHECKSUM,
      `IPv4 header checksum 0x${view.checksum.toString(16)} should be 0x${view.computeChecksum().toString(16)}`);
  }
  const ff = view.flagsFragment;
  const hl = view.headerLength;
  return {
    dscp: view.dscp,
    ecn: view.ecn,
    identification: view.identification,
    reservedFlag: (ff & FLAG_RESERVED) !== 0,
    dontFragment: (ff & FLAG_DF) !== 0,
    moreFragments: (ff & FLAG_MF) !== 0,
    fragmentOffset: ff & FRAG_OFFSET_MASK,
    ttl: view.ttl,
    protocol: view.protocol,
    src: view.src,
    dst: view.dst,
    options: view.buf.slice(view.off + IPV4_MIN_HEADER_LEN, view.off + hl),
    payloadLength: view.totalLength - hl,
    checksum: view.checksum,
  };
}

export function ipv4HeaderLength(repr: Pick<Ipv4Repr, 'options'>): number {
  return IPV4_MIN_HEADER_LEN + repr.options.length;
}

export interface EmitOptions {
  /** 'compute' (default) fills the right checksum; 'keep' writes repr.checksum (for deliberately bad packets). */
  checksum?: 'compute' | 'keep';
}

function checkRange(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new WireError('bad-field', 0, `IPv4 ${name}=${v} outside 0..${max}`);
}

/** Writes the header into buf at off; returns the header length. The payload is the caller's. */
export function emitIpv4(repr: Ipv4Repr, buf: Uint8Array, off = 0, opts: EmitOptions = {}): number {
  const optLen = repr.options.length;
  if (optLen % 4 !== 0 || optLen > IPV4_MAX_HEADER_LEN - IPV4_MIN_HEADER_LEN) {
    throw new WireError('bad-field', 0, `IPv4 options length ${optLen} must be a multiple of 4 and at most 40`);
  }
  checkRange('dscp', repr.dscp, 63);
  checkRange('ecn', repr.ecn, 3);
  checkRange('identification', repr.identification, 0xffff);
  checkRange('fragmentOffset', repr.fragmentOffset, FRAG_OFFSET_MASK);
  checkRange('ttl', repr.ttl, 255);
  checkRange('protocol', repr.protocol, 255);
  const hl = IPV4_MIN_HEADER_LEN + optLen;
  checkRange('total length', hl + repr.payloadLength, 0xffff);
  if (off + hl > buf.length) throw new WireError('truncated', off, `need ${hl} bytes to emit the IPv4 header`);
  buf[off] = 0x40 | (hl >>> 2);
  buf[off + IPV4_FIELD.DSCP_ECN] = (repr.dscp << 2) | repr.ecn;
  writeU16(buf, off + IPV4_FIELD.TOTAL_LENGTH, hl + repr.payloadLength);
  writeU16(buf, off + IPV4_FIELD.IDENTIFICATION, repr.identification);
  writeU16(buf, off + IPV4_FIELD.FLAGS_FRAGMENT,
    (repr.reservedFlag ? FLAG_RESERVED : 0) | (repr.dontFragment ? FLAG_DF : 0) |
    (repr.moreFragments ? FLAG_MF : 0) | repr.fragmentOffset);
  buf[off + IPV4_FIELD.TTL] = repr.ttl;
  buf[off + IPV4_FIELD.PROTOCOL] = repr.protocol;
  writeU32(buf, off + IPV4_FIELD.SRC, repr.src >>> 0);
  writeU32(buf, off + IPV4_FIELD.DST, repr.dst >>> 0);
  buf.set(repr.options, off + IPV4_MIN_HEADER_LEN);
  if ((opts.checksum ?? 'compute') === 'compute') {
    writeU16(buf, off + IPV4_FIELD.CHECKSUM, 0);
    writeU16(buf, off + IPV4_FIELD.CHECKSUM, internetChecksum(buf, off, hl));
  } else {
    writeU16(buf, off + IPV4_FIELD.CHECKSUM, repr.checksum);
  }
  return hl;
}

export function formatIpv4(repr: Ipv4Repr): string {
  const frag = repr.moreFragments || repr.fragmentOffset ? ` frag(off=${repr.fragmentOffset * 8}${repr.moreFragments ? ',MF' : ''})` : '';
  return `IPv4 src=${formatIpv4Address(repr.src)} dst=${formatIpv4Address(repr.dst)} proto=${repr.protocol} len=${IPV4_MIN_HEADER_LEN + repr.options.length + repr.payloadLength} id=${repr.identification} ttl=${repr.ttl}${frag}`;
}
