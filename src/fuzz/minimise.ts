// Delta debugging of a failing case (Zeller's ddmin over packets, then shrinking): keep any
// change after which the same invariant still fails.
//   1. drop packets: chunks, then single packets (the result is 1-minimal: no single packet can go);
//   2. shrink time gaps: each gap to 0, else the smallest gap (binary search) that still fails;
//   3. shrink payloads: each TCP payload to empty, else halved, with lengths and checksums
//      re-derived (a checksum that was wrong stays wrong);
// repeated until nothing changes or the run budget is spent. Deterministic.
import { IPV4_FIELD, IpProtocol, TCP_FIELD, checkIpv4, internetChecksum, pseudoHeaderSum, readU16, writeU16 } from '../wire/index.js';
import { withPackets, type FuzzCase, type FuzzPacket } from './case.js';

export interface MinimiseOptions {
  /** Upper bound on predicate evaluations (default 4000). */
  maxRuns?: number;
}

export interface MinimiseResult {
  case: FuzzCase;
  runs: number;
}

class Budget {
  runs = 0;
  constructor(readonly max: number, private readonly pred: (c: FuzzCase) => boolean) {}
  get spent(): boolean {
    return this.runs >= this.max;
  }
  test(c: FuzzCase): boolean {
    if (this.spent) return false;
    this.runs++;
    return this.pred(c);
  }
}

/** Times relative to the first packet (replay sees the same clock either way). */
function normalise(c: FuzzCase): FuzzCase {
  if (!c.packets.length || c.packets[0].timeNs === 0) return c;
  const t0 = c.packets[0].timeNs;
  return withPackets(c, c.packets.map((p) => ({ timeNs: p.timeNs - t0, bytes: p.bytes })));
}

function dropPackets(c: FuzzCase, b: Budget): FuzzCase {
  let packets = c.packets;
  let n = 2;
  while (packets.length >= 2 && !b.spent) {
    const size = Math.ceil(packets.length / n);
    let reduced = false;
    for (let start = 0; start < packets.length && !b.spent; start += size) {
      const rest = [...packets.slice(0, start), ...packets.slice(start + size)];
      if (rest.length && b.test(withPackets(c, rest))) {
        packets = rest;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= packets.length) break;
      n = Math.min(packets.length, n * 2);
    }
  }
  return withPackets(c, packets);
}

function withGap(packets: readonly FuzzPacket[], i: number, gap: number): FuzzPacket[] {
  const delta = gap - (packets[i].timeNs - packets[i - 1].timeNs);
  return packets.map((p, k) => (k < i ? p : { timeNs: p.timeNs + delta, bytes: p.bytes }));
}

function shrinkGaps(c: FuzzCase, b: Budget): FuzzCase {
  let packets = c.packets;
  for (let i = 1; i < packets.length && !b.spent; i++) {
    const gap = packets[i].timeNs - packets[i - 1].timeNs;
    if (gap === 0) continue;
    const zero = withGap(packets, i, 0);
    if (b.test(withPackets(c, zero))) {
      packets = zero;
      continue;
    }
    // Smallest failing gap in (lo, hi]: hi fails, lo does not.
    let lo = 0;
    let hi = gap;
    while (hi - lo > 1 && !b.spent) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (b.test(withPackets(c, withGap(packets, i, mid)))) hi = mid;
      else lo = mid;
    }
    if (hi < gap) packets = withGap(packets, i, hi);
  }
  return withPackets(c, packets);
}

function tcpChecksumOk(b: Uint8Array, hl: number, total: number): boolean {
  const src = ((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0;
  const dst = ((b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19]) >>> 0;
  return internetChecksum(b, hl, total - hl, pseudoHeaderSum(src, dst, IpProtocol.TCP, total - hl)) === 0;
}

/** The packet with its TCP payload cut to `len` bytes, or null when it has no clean structure to cut. */
export function withPayload(bytes: Uint8Array, len: number): Uint8Array | null {
  if (checkIpv4(bytes, 0, bytes.length) !== null || bytes[IPV4_FIELD.PROTOCOL] !== IpProtocol.TCP) return null;
  const hl = (bytes[0] & 0x0f) * 4;
  const total = readU16(bytes, IPV4_FIELD.TOTAL_LENGTH);
  if (total !== bytes.length || total - hl < 20) return null;
  const doff = (bytes[hl + TCP_FIELD.OFFSET] >>> 4) * 4;
  if (doff < 20 || hl + doff > total) return null;
  const have = total - hl - doff;
  if (len >= have) return null;
  const ipOk = internetChecksum(bytes, 0, hl) === 0;
  const tcpOk = tcpChecksumOk(bytes, hl, total);
  const out = bytes.slice(0, hl + doff + len);
  const newTotal = out.length;
  writeU16(out, IPV4_FIELD.TOTAL_LENGTH, newTotal);
  writeU16(out, IPV4_FIELD.CHECKSUM, 0);
  writeU16(out, IPV4_FIELD.CHECKSUM, internetChecksum(out, 0, hl) ^ (ipOk ? 0 : 0x0001));
  const at = hl + TCP_FIELD.CHECKSUM;
  writeU16(out, at, 0);
  const src = ((out[12] << 24) | (out[13] << 16) | (out[14] << 8) | out[15]) >>> 0;
  const dst = ((out[16] << 24) | (out[17] << 16) | (out[18] << 8) | out[19]) >>> 0;
  writeU16(out, at, internetChecksum(out, hl, newTotal - hl, pseudoHeaderSum(src, dst, IpProtocol.TCP, newTotal - hl)) ^ (tcpOk ? 0 : 0x0001));
  return out;
}

function payloadLength(bytes: Uint8Array): number {
  if (bytes.length < 20) return 0;
  const hl = (bytes[0] & 0x0f) * 4;
  if (hl + 13 >= bytes.length) return 0;
  return Math.max(0, bytes.length - hl - (bytes[hl + TCP_FIELD.OFFSET] >>> 4) * 4);
}

function shrinkPayloads(c: FuzzCase, b: Budget): FuzzCase {
  let packets = c.packets;
  const tryCut = (i: number, len: number): boolean => {
    const cut = withPayload(packets[i].bytes, len);
    if (cut === null) return false;
    const next = packets.map((p, k) => (k === i ? { timeNs: p.timeNs, bytes: cut } : p));
    if (!b.test(withPackets(c, next))) return false;
    packets = next;
    return true;
  };
  for (let i = 0; i < packets.length && !b.spent; i++) {
    let len = payloadLength(packets[i].bytes);
    if (len === 0 || tryCut(i, 0)) continue;
    while (len > 1 && !b.spent && tryCut(i, len >> 1)) len >>= 1;
  }
  return withPackets(c, packets);
}

function size(c: FuzzCase): string {
  let bytes = 0;
  let time = 0;
  for (const p of c.packets) bytes += p.bytes.length;
  if (c.packets.length) time = c.packets[c.packets.length - 1].timeNs - c.packets[0].timeNs;
  return `${c.packets.length}/${bytes}/${time}`;
}

/**
 * Shrinks `c` while `stillFails` holds. `stillFails(c)` must be true for the input (else the
 * input is returned as is). The result always satisfies `stillFails`.
 */
export function minimise(c: FuzzCase, stillFails: (c: FuzzCase) => boolean, opts: MinimiseOptions = {}): MinimiseResult {
  const b = new Budget(opts.maxRuns ?? 4000, stillFails);
  let cur = c;
  for (let round = 0; round < 8 && !b.spent; round++) {
    const before = size(cur);
    cur = dropPackets(cur, b);
    cur = shrinkGaps(cur, b);
    cur = shrinkPayloads(cur, b);
    if (size(cur) === before) break;
  }
  const out = normalise(cur);
  // Normalising only shifts the clock; confirm (the predicate decides, not this code).
  if (out !== cur && !stillFails(out)) return { case: cur, runs: b.runs + 1 };
  return { case: out, runs: b.runs + (out !== cur ? 1 : 0) };
}
