// Which captured packets reach the one conntrack of the replayed network namespace.
//
// A capture of `tcpdump -i any` (LINKTYPE_LINUX_SLL2, one ifindex per packet) or a pcapng with
// several interfaces holds a forwarded packet twice: on its input interface (captured before
// PREROUTING) and on its output interface (after POSTROUTING, TTL decremented, maybe NATed); a
// packet over `lo` appears as sent and as received. The kernel tracks such a packet once per
// netns. The rule, in order:
//   1. `--iface NAME` keeps only the packets of one interface (pcapng if_name, or the SLL2
//      ifindex as a number); all others are skipped.
//   2. Otherwise (default, `--no-dedup` turns it off) a TCP/IPv4 packet is a duplicate of an
//      earlier tracked one when IP ID, IP total length, TCP seq, ack and flags are equal, it was
//      seen at most `dedupWindowNs` (10 ms) later, and on another interface or in the other
//      direction of the same interface. Addresses, ports, TTL and checksums are not compared (NAT
//      and forwarding rewrite them). The first copy is tracked (for a forwarded packet: the one
//      on the input interface, as PREROUTING saw it); duplicates are reported, not tracked again.
//   3. A duplicate whose addresses/ports differ from its tracked copy shows a NAT binding. It is
//      learnt in both directions, and later packets carrying the rewritten tuple (the replies
//      arriving on the output side) are tracked with it undone, as the entry's reply tuple would
//      match them in the kernel.
// Memory: constant. Tracked packets are remembered in a fixed 4-way set-associative table of
// 4 << DEDUP_SET_BITS slots (only the last window's worth matters; a collision can only make a
// copy be tracked again), their rows for the last RING tracked packets, NAT bindings up to NAT_CAP.
import type { CaptureInterface, CaptureRecord } from '../pcap/index.js';
import {
  EtherType, IPV4_FIELD, IpProtocol, LinkType, SllPacketType, TCP_FIELD, WireError, checkIpv4, checksumUpdate16, checksumUpdate32, decodeLinkLayer,
  formatIpv4Address, readU16, readU32, writeU16, writeU32, type LinkLayerInfo,
} from '../wire/index.js';

export interface SelectOptions {
  /** Keep only this interface: a pcapng if_name, or an SLL2 ifindex ("3" or "if3"). */
  iface?: string;
  /** De-duplicate the same packet seen on several interfaces (default true). */
  dedup?: boolean;
  /** How long after the first copy a duplicate may appear, in ns (default 10 ms). */
  dedupWindowNs?: number;
}

export const DEFAULT_DEDUP_WINDOW_NS = 10_000_000;
/** NAT bindings learnt from duplicates are kept up to this many (oldest dropped first). */
const NAT_CAP = 65536;
const DEDUP_SET_BITS = 14;
const WAYS = 4;
/** Results (rows) are kept for the last RING tracked packets only: they die young. */
const RING = 4096;

export const Selection = { TRACK: 0, SKIP: 1, DUPLICATE: 2 } as const;
export type Selection = (typeof Selection)[keyof typeof Selection];

interface Tuple4 { src: number; dst: number; sport: number; dport: number }

const tupleKey = (src: number, sport: number, dst: number, dport: number) => `${src}:${sport}>${dst}:${dport}`;

export function formatTuple(src: number, sport: number, dst: number, dport: number): string {
  return `${formatIpv4Address(src)}:${sport} > ${formatIpv4Address(dst)}:${dport}`;
}

/** Classifies records one at a time; the fields below describe the last classify() call. */
export class PacketSelector<R = unknown> {
  /** The decoded link layer of the last record, or null when it could not be decoded. */
  link: LinkLayerInfo | null = null;
  /** The bytes to track: the record's own, or a NAT-undone copy. */
  data: Uint8Array = new Uint8Array(0);
  /** For a NAT-undone packet: its tuple as captured ("a:p > b:q"), else null. */
  captured: string | null = null;
  /** For a duplicate: the packet number of the tracked copy and what remember() attached to it. */
  originalN = 0;
  originalResult: R | null = null;

  readonly dedup: boolean;
  readonly windowNs: number;
  private readonly ifaceIds = new Map<CaptureInterface, number>();
  private readonly nat = new Map<string, Tuple4>();
  /** First timestamp as a double: 256 ns granularity is plenty for a window of milliseconds. */
  private firstNs = NaN;
  // The dedup table: tracked packets by (IP ID, flags, IP length, seq, ack), 4 ways per set.
  private readonly kIdFlags = new Int32Array(WAYS << DEDUP_SET_BITS);
  private readonly kLen = new Int32Array(WAYS << DEDUP_SET_BITS);
  private readonly kSeq = new Int32Array(WAYS << DEDUP_SET_BITS);
  private readonly kAck = new Int32Array(WAYS << DEDUP_SET_BITS);
  private readonly sTime = new Float64Array(WAYS << DEDUP_SET_BITS).fill(-Infinity);
  private readonly sN = new Float64Array(WAYS << DEDUP_SET_BITS);
  private readonly sIface = new Int32Array(WAYS << DEDUP_SET_BITS);
  private readonly sDir = new Uint8Array(WAYS << DEDUP_SET_BITS);
  private readonly sSrc = new Int32Array(WAYS << DEDUP_SET_BITS);
  private readonly sDst = new Int32Array(WAYS << DEDUP_SET_BITS);
  private readonly sPorts = new Int32Array(WAYS << DEDUP_SET_BITS);
  private readonly sRing = new Int32Array(WAYS << DEDUP_SET_BITS);
  private readonly ring: Array<R | null> = new Array<R | null>(RING).fill(null);
  private readonly ringN = new Float64Array(RING);
  private ringAt = 0;
  /** Whether the last record was tracked and remember() should keep its result. */
  private pending = false;
  /** Reused link-layer result of the fast path. */
  private readonly fast: { networkOffset: number; etherType: number; ifindex?: number; outgoing?: boolean } = { networkOffset: 0, etherType: 0 };
  /** Interface label of the last record: if_name, "ifindex N", or "" when the capture does not say. */
  private lastIfindex: number | undefined;
  private lastIface: CaptureInterface | null = null;
  /** Counters. */
  skipped = 0;
  duplicates = 0;
  natUndone = 0;

  constructor(readonly opts: SelectOptions = {}) {
    this.dedup = opts.dedup ?? true;
    this.windowNs = opts.dedupWindowNs ?? DEFAULT_DEDUP_WINDOW_NS;
  }

  /** NAT bindings learnt so far (both directions count). */
  get natBindings(): number {
    return this.nat.size;
  }

  /** The last record's interface: "ifindex N" (SLL2), the pcapng if_name, or "". */
  get ifaceLabel(): string {
    if (this.lastIfindex !== undefined) return `ifindex ${this.lastIfindex}`;
    return this.lastIface?.name ?? '';
  }

  classify(rec: CaptureRecord): Selection {
    this.captured = null;
    this.originalResult = null;
    this.pending = false;
    this.data = rec.data;
    const link = this.decodeLink(rec);
    this.link = link;
    const ifindex = link?.ifindex;
    this.lastIfindex = ifindex;
    this.lastIface = rec.iface;
    if (this.opts.iface !== undefined && !this.ifaceMatches(rec, ifindex)) {
      this.skipped++;
      return Selection.SKIP;
    }
    if (!this.dedup || link === null || link.etherType !== EtherType.IPV4) return Selection.TRACK;
    const data = rec.data;
    const off = link.networkOffset;
    if (checkIpv4(data, off, data.length - off) !== null) return Selection.TRACK;
    const ff = readU16(data, off + IPV4_FIELD.FLAGS_FRAGMENT);
    if (data[off + IPV4_FIELD.PROTOCOL] !== IpProtocol.TCP || (ff & 0x3fff) !== 0) return Selection.TRACK;
    const tcp = off + ((data[off] & 0x0f) << 2);
    const totalLength = readU16(data, off + IPV4_FIELD.TOTAL_LENGTH);
    if (tcp + 20 > data.length || tcp + 20 > off + totalLength) return Selection.TRACK;

    const abs = Number(rec.timestampNs);
    if (this.firstNs !== this.firstNs) this.firstNs = abs;
    const t = abs - this.firstNs;
    const ifaceId = ifindex !== undefined ? ifindex + 1 : -this.ifaceId(rec.iface) - 1;
    const dir = link.outgoing !== undefined ? (link.outgoing ? 2 : 1) : rec.direction === 'outbound' ? 2 : rec.direction === 'inbound' ? 1 : 0;
    const idFlags = (readU16(data, off + IPV4_FIELD.IDENTIFICATION) << 8) | data[tcp + TCP_FIELD.FLAGS];
    const seq = readU32(data, tcp + TCP_FIELD.SEQ) | 0;
    const ack = readU32(data, tcp + TCP_FIELD.ACK) | 0;
    let src = readU32(data, off + IPV4_FIELD.SRC);
    let dst = readU32(data, off + IPV4_FIELD.DST);
    let sport = readU16(data, tcp + TCP_FIELD.SRC_PORT);
    let dport = readU16(data, tcp + TCP_FIELD.DST_PORT);

    let h = Math.imul(seq ^ Math.imul(ack, 0x9e3779b1), 0x85ebca6b) ^ idFlags ^ (totalLength << 20);
    h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35);
    const set = ((h ^ (h >>> 13)) & ((1 << DEDUP_SET_BITS) - 1)) * WAYS;
    const oldest = t - this.windowNs;
    let victim = set;
    for (let i = set; i < set + WAYS; i++) {
      const ti = this.sTime[i];
      if (ti < this.sTime[victim]) victim = i;
      if (ti < oldest || this.kSeq[i] !== seq || this.kAck[i] !== ack || this.kIdFlags[i] !== idFlags || this.kLen[i] !== totalLength) continue;
      const pIface = this.sIface[i];
      const pDir = this.sDir[i];
      if (pIface === ifaceId && (pDir === dir || pDir === 0 || dir === 0)) {
        victim = i; // the same packet again on the same interface and direction: a real retransmission
        break;
      }
      this.duplicates++;
      this.originalN = this.sN[i];
      const r = this.sRing[i];
      this.originalResult = this.ringN[r] === this.sN[i] ? this.ring[r] : null;
      if ((this.sSrc[i] >>> 0) !== src || (this.sDst[i] >>> 0) !== dst || this.sPorts[i] !== ((sport << 16) | dport)) {
        this.learnNat(src, sport, dst, dport, { src: this.sSrc[i] >>> 0, dst: this.sDst[i] >>> 0, sport: this.sPorts[i] >>> 16, dport: this.sPorts[i] & 0xffff });
      }
      return Selection.DUPLICATE;
    }

    if (this.nat.size > 0) {
      const m = this.nat.get(tupleKey(src, sport, dst, dport));
      if (m !== undefined) {
        this.captured = formatTuple(src, sport, dst, dport);
        this.data = rewriteTuple(data, off, tcp, m);
        this.natUndone++;
        ({ src, dst, sport, dport } = m);
      }
    }
    const i = victim;
    this.kIdFlags[i] = idFlags;
    this.kLen[i] = totalLength;
    this.kSeq[i] = seq;
    this.kAck[i] = ack;
    this.sTime[i] = t;
    this.sN[i] = rec.index + 1;
    this.sIface[i] = ifaceId;
    this.sDir[i] = dir;
    this.sSrc[i] = src;
    this.sDst[i] = dst;
    this.sPorts[i] = (sport << 16) | dport;
    this.sRing[i] = this.ringAt;
    this.pending = true;
    return Selection.TRACK;
  }

  /** Attaches the tracking result of the last TRACK record, for its duplicates. */
  remember(result: R, n: number): void {
    if (!this.pending) return;
    this.ring[this.ringAt] = result;
    this.ringN[this.ringAt] = n;
    this.ringAt = (this.ringAt + 1) % RING;
    this.pending = false;
  }

  /** The link layer; RAW, SLL and SLL2 without allocating, the rest via decodeLinkLayer. */
  private decodeLink(rec: CaptureRecord): LinkLayerInfo | null {
    const d = rec.data;
    const f = this.fast;
    switch (rec.iface.linkType) {
      case LinkType.RAW:
        if (d.length < 1) break;
        f.networkOffset = 0;
        f.etherType = d[0] >>> 4 === 4 ? EtherType.IPV4 : d[0] >>> 4 === 6 ? EtherType.IPV6 : 0;
        f.ifindex = undefined;
        f.outgoing = undefined;
        return f;
      case LinkType.LINUX_SLL2:
        if (d.length < 20) break;
        f.networkOffset = 20;
        f.etherType = readU16(d, 0);
        f.ifindex = readU32(d, 4);
        f.outgoing = d[10] === SllPacketType.OUTGOING;
        return f;
      case LinkType.LINUX_SLL:
        if (d.length < 16) break;
        f.networkOffset = 16;
        f.etherType = readU16(d, 14);
        f.ifindex = undefined;
        f.outgoing = readU16(d, 0) === SllPacketType.OUTGOING;
        return f;
    }
    try {
      return decodeLinkLayer(rec.iface.linkType, d);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      return null;
    }
  }

  private ifaceMatches(rec: CaptureRecord, ifindex: number | undefined): boolean {
    const want = this.opts.iface!;
    if (rec.iface.name === want) return true;
    if (ifindex === undefined) return false;
    return want === String(ifindex) || want === `if${ifindex}` || want === `ifindex ${ifindex}`;
  }

  private ifaceId(iface: CaptureInterface): number {
    let id = this.ifaceIds.get(iface);
    if (id === undefined) {
      id = this.ifaceIds.size;
      this.ifaceIds.set(iface, id);
    }
    return id;
  }

  /** The copy (src:sport > dst:dport) is `orig` rewritten: remember it both ways. */
  private learnNat(src: number, sport: number, dst: number, dport: number, orig: Tuple4): void {
    this.setNat(tupleKey(src, sport, dst, dport), orig);
    this.setNat(tupleKey(dst, dport, src, sport), { src: orig.dst, dst: orig.src, sport: orig.dport, dport: orig.sport });
  }

  private setNat(key: string, t: Tuple4): void {
    this.nat.delete(key);
    this.nat.set(key, t);
    if (this.nat.size > NAT_CAP) this.nat.delete(this.nat.keys().next().value as string);
  }
}

/** A copy of the frame with the IPv4/TCP tuple replaced, checksums patched (RFC 1624). */
function rewriteTuple(data: Uint8Array, off: number, tcp: number, t: Tuple4): Uint8Array {
  const buf = data.slice();
  const ipSum = off + IPV4_FIELD.CHECKSUM;
  const tcpSum = tcp + TCP_FIELD.CHECKSUM;
  const hasTcpSum = tcpSum + 2 <= buf.length;
  let ts = hasTcpSum ? readU16(buf, tcpSum) : 0;
  let is = readU16(buf, ipSum);
  const addr = (at: number, v: number) => {
    const old = readU32(buf, at);
    is = checksumUpdate32(is, old, v);
    ts = checksumUpdate32(ts, old, v);
    writeU32(buf, at, v);
  };
  const port = (at: number, v: number) => {
    ts = checksumUpdate16(ts, readU16(buf, at), v);
    writeU16(buf, at, v);
  };
  addr(off + IPV4_FIELD.SRC, t.src);
  addr(off + IPV4_FIELD.DST, t.dst);
  port(tcp + TCP_FIELD.SRC_PORT, t.sport);
  port(tcp + TCP_FIELD.DST_PORT, t.dport);
  writeU16(buf, ipSum, is);
  if (hasTcpSum) writeU16(buf, tcpSum, ts);
  return buf;
}
