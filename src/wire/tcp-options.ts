// TCP options (RFC 9293 §3.2, RFC 7323 window scale/timestamps, RFC 2018 SACK, RFC 6691 MSS).
// Two readers: a strict one producing representations (structure errors are WireErrors), and an
// allocation-free scanner for the conntrack hot path that, like the kernel's tcp_options() and
// tcp_sack() in nf_conntrack_proto_tcp.c, stops quietly at the first malformed option.
import { readI32, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { WireError } from './wire-error.js';

export const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WSCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMP: 8,
} as const;

export type TcpOption =
  /** End of option list; `rest` keeps whatever follows it in the option area (normally zeros). */
  | { kind: 'eol'; rest: Uint8Array }
  | { kind: 'nop' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sack-permitted' }
  | { kind: 'sack'; blocks: Array<[left: number, right: number]> }
  | { kind: 'timestamp'; tsval: number; tsecr: number }
  /** Any other kind, or a known kind with a length it does not define: passed through untouched. */
  | { kind: 'unknown'; type: number; data: Uint8Array };

/** Strictly parses buf[off, off+len); `base` is added to error offsets (position in the packet). */
export function parseTcpOptions(buf: Uint8Array, off: number, len: number, base = off): TcpOption[] {
  const out: TcpOption[] = [];
  const end = off + len;
  let i = off;
  while (i < end) {
    const type = buf[i];
    if (type === TcpOptionKind.EOL) {
      out.push({ kind: 'eol', rest: buf.slice(i + 1, end) });
      return out;
    }
    if (type === TcpOptionKind.NOP) {
      out.push({ kind: 'nop' });
      i++;
      continue;
    }
    if (i + 1 >= end) throw new WireError('malformed-option', base + (i - off), `option kind ${type} has no length byte`);
    const olen = buf[i + 1];
    if (olen < 2) throw new WireError('malformed-option', base + (i - off) + 1, `option kind ${type} has length ${olen} (< 2)`);
    if (i + olen > end) throw new WireError('malformed-option', base + (i - off) + 1, `option kind ${type} length ${olen} runs ${i + olen - end} bytes past the option area`);
    out.push(decodeOne(buf, i, type, olen));
    i += olen;
  }
  return out;
}

function decodeOne(buf: Uint8Array, i: number, type: number, olen: number): TcpOption {
  switch (type) {
    case TcpOptionKind.MSS:
      if (olen === 4) return { kind: 'mss', value: readU16(buf, i + 2) };
      break;
    case TcpOptionKind.WSCALE:
      if (olen === 3) return { kind: 'wscale', shift: buf[i + 2] };
      break;
    case TcpOptionKind.SACK_PERMITTED:
      if (olen === 2) return { kind: 'sack-permitted' };
      break;
    case TcpOptionKind.SACK:
      if (olen >= 10 && (olen - 2) % 8 === 0) {
        const blocks: Array<[number, number]> = [];
        for (let j = i + 2; j < i + olen; j += 8) blocks.push([readU32(buf, j), readU32(buf, j + 4)]);
        return { kind: 'sack', blocks };
      }
      break;
    case TcpOptionKind.TIMESTAMP:
      if (olen === 10) return { kind: 'timestamp', tsval: readU32(buf, i + 2), tsecr: readU32(buf, i + 6) };
      break;
  }
  return { kind: 'unknown', type, data: buf.slice(i + 2, i + olen) };
}

export function tcpOptionLength(o: TcpOption): number {
  switch (o.kind) {
    case 'eol': return 1 + o.rest.length;
    case 'nop': return 1;
    case 'mss': return 4;
    case 'wscale': return 3;
    case 'sack-permitted': return 2;
    case 'sack': return 2 + 8 * o.blocks.length;
    case 'timestamp': return 10;
    case 'unknown': return 2 + o.data.length;
  }
}

export function tcpOptionsLength(opts: readonly TcpOption[]): number {
  let n = 0;
  for (const o of opts) n += tcpOptionLength(o);
  return n;
}

/** Writes the options at buf[off]; returns the bytes written (no padding added here). */
export function emitTcpOptions(opts: readonly TcpOption[], buf: Uint8Array, off: number): number {
  let i = off;
  for (const o of opts) {
    switch (o.kind) {
      case 'eol': buf[i] = 0; buf.set(o.rest, i + 1); break;
      case 'nop': buf[i] = 1; break;
      case 'mss': buf[i] = 2; buf[i + 1] = 4; writeU16(buf, i + 2, o.value); break;
      case 'wscale': buf[i] = 3; buf[i + 1] = 3; buf[i + 2] = o.shift; break;
      case 'sack-permitted': buf[i] = 4; buf[i + 1] = 2; break;
      case 'sack':
        buf[i] = 5; buf[i + 1] = 2 + 8 * o.blocks.length;
        o.blocks.forEach(([l, r], k) => { writeU32(buf, i + 2 + 8 * k, l); writeU32(buf, i + 6 + 8 * k, r); });
        break;
      case 'timestamp': buf[i] = 8; buf[i + 1] = 10; writeU32(buf, i + 2, o.tsval); writeU32(buf, i + 6, o.tsecr); break;
      case 'unknown':
        if (o.type < 2 || o.data.length > 253) throw new WireError('bad-field', 0, `unknown option kind ${o.type} with ${o.data.length} data bytes cannot be encoded`);
        buf[i] = o.type; buf[i + 1] = 2 + o.data.length; buf.set(o.data, i + 2);
        break;
    }
    i += tcpOptionLength(o);
  }
  return i - off;
}

export function formatTcpOption(o: TcpOption): string {
  switch (o.kind) {
    case 'eol': return 'eol';
    case 'nop': return 'nop';
    case 'mss': return `mss ${o.value}`;
    case 'wscale': return `wscale ${o.shift}`;
    case 'sack-permitted': return 'sackOK';
    case 'sack': return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`;
    case 'timestamp': return `TS val ${o.tsval} ecr ${o.tsecr}`;
    case 'unknown': return `opt-${o.type}(${o.data.length})`;
  }
}

/** What the conntrack hot path needs from the options; reused across packets (no allocation). */
export class TcpOptionScan {
  /** Window scale shift as sent (not yet capped), or -1 if absent. */
  wscale = -1;
  sackPermitted = false;
  mss = -1;
  hasTimestamp = false;
  /** TSval/TSecr as int32 (use >>> 0 for the unsigned value). */
  tsval = 0;
  tsecr = 0;
  /**
   * SACK blocks of the first well-formed SACK option (tcp_sack() reads only that one): their
   * count and right edges (int32), in packet order. At most 4 fit in 40 option bytes.
   */
  sackBlocks = 0;
  readonly sackRights = new Int32Array(4);

  clear(): void {
    this.wscale = -1;
    this.sackPermitted = false;
    this.mss = -1;
    this.hasTimestamp = false;
    this.tsval = 0;
    this.tsecr = 0;
    this.sackBlocks = 0;
  }

  /**
   * tcp_sack(): starting from `ack`, each right edge "after" the running value replaces it, in
   * packet order. With edges half the sequence space apart the result depends on that order.
   */
  sackFrom(ack: number): number {
    let sack = ack | 0;
    for (let k = 0; k < this.sackBlocks; k++) {
      const right = this.sackRights[k];
      if (((sack - right) | 0) < 0) sack = right; // after(right, sack) as the kernel computes it
    }
    return sack;
  }
}

/** TCPOLEN_TSTAMP_ALIGNED: NOP, NOP, then the 10-byte timestamp option. */
const TSTAMP_ALIGNED_LEN = 12;
/** The first word of that layout (NOP NOP TIMESTAMP 10), big-endian. */
const TSTAMP_ALIGNED_WORD = 0x0101080a;

/**
 * True when the option area is exactly the aligned timestamp layout Linux puts on every segment
 * of a connection with timestamps (tcp_sack()'s fast path: such an area holds no SACK block).
 */
export function isAlignedTimestampOnly(buf: Uint8Array, off: number, len: number): boolean {
  return len === TSTAMP_ALIGNED_LEN && readI32(buf, off) === TSTAMP_ALIGNED_WORD;
}

/**
 * Tolerant, allocation-free option scan: stops at EOL, at a length below 2 ("silly options") or
 * at an option running past the area ("don't parse partial options"), as the kernel does.
 * Known kinds with a wrong length are skipped. Only the first well-formed SACK option is kept.
 */
export function scanTcpOptions(buf: Uint8Array, off: number, len: number, out: TcpOptionScan): TcpOptionScan {
  out.clear();
  let i = off;
  const end = off + len;
  while (i < end) {
    const type = buf[i];
    if (type === TcpOptionKind.EOL) break;
    if (type === TcpOptionKind.NOP) { i++; continue; }
    if (i + 1 >= end) break;
    const olen = buf[i + 1];
    if (olen < 2 || i + olen > end) break;
    if (type === TcpOptionKind.WSCALE && olen === 3) out.wscale = buf[i + 2];
    else if (type === TcpOptionKind.SACK_PERMITTED && olen === 2) out.sackPermitted = true;
    else if (type === TcpOptionKind.MSS && olen === 4) out.mss = readU16(buf, i + 2);
    else if (type === TcpOptionKind.TIMESTAMP && olen === 10) {
      out.hasTimestamp = true;
      out.tsval = readI32(buf, i + 2);
      out.tsecr = readI32(buf, i + 6);
    } else if (type === TcpOptionKind.SACK && olen >= 10 && (olen - 2) % 8 === 0 && out.sackBlocks === 0) {
      for (let j = i + 2; j < i + olen; j += 8) out.sackRights[out.sackBlocks++] = readI32(buf, j + 4);
    }
    i += olen;
  }
  return out;
}
