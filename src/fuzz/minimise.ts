// Delta debugging of a failing case (Zeller's ddmin over packets, then shrinking): keep any
// change after which the same invariant still fails.
//   1. drop packets: chunks, then single packets (the result is 1-minimal: no single packet can go);
//   2. shrink time gaps: each gap to 0, else the smallest gap (binary search) that still fails;
//   3. shrink payloads: each TCP payload to empty, else halved, with lengths and checksums
//      re-derived (a checksum that was wrong stays wrong);
// repeated until nothing changes or the run budget is spent. Deterministic.
import { IPV4_MIN_HEADER_LEN, IpProtocol, Ipv4Packet, PacketView, TCP_FIELD, TCP_MIN_HEADER_LEN, TcpSegment } from '../wire/index.js';
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

/** The packet with its TCP payload cut to `len` bytes, or null when it has no clean structure to cut. */
export function withPayload(bytes: Uint8Array, len: number): Uint8Array | null {
  const v = new PacketView().decodeIpv4(bytes);
  if (!v.ipv4 || v.ip.protocol !== IpProtocol.TCP) return null;
  const hl = v.ip.headerLength;
  const total = v.ip.totalLength;
  if (total !== bytes.length || total - hl < TCP_MIN_HEADER_LEN) return null;
  const doff = v.tcp.headerLength;
  if (doff < TCP_MIN_HEADER_LEN || hl + doff > total) return null;
  const have = total - hl - doff;
  if (len >= have) return null;
  // A checksum that was wrong stays wrong (by one bit), a right one is recomputed.
  const ipOk = v.ip.verifyChecksum();
  const tcpOk = v.tcp.verifyChecksum(v.ip.src, v.ip.dst);
  const out = bytes.slice(0, hl + doff + len);
  const ip = new Ipv4Packet(out);
  ip.totalLength = out.length;
  ip.fillChecksum();
  if (!ipOk) ip.checksum ^= 0x0001;
  const tcp = new TcpSegment(out, hl, out.length - hl);
  tcp.fillChecksum(ip.src, ip.dst);
  if (!tcpOk) tcp.checksum ^= 0x0001;
  return out;
}

/** TCP payload bytes of a packet (0 when it has no readable TCP header). */
function payloadLength(bytes: Uint8Array): number {
  if (bytes.length < IPV4_MIN_HEADER_LEN) return 0;
  const hl = new Ipv4Packet(bytes).headerLength;
  if (hl + TCP_FIELD.FLAGS >= bytes.length) return 0;
  return Math.max(0, bytes.length - hl - new TcpSegment(bytes, hl).headerLength);
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
