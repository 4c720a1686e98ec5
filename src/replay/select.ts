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
import { EtherType, PacketView, formatIpv4Address, rewriteTuple, type LinkLayerInfo, type WireError } from '../wire/index.js';

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
  /** Why the last record's link layer could not be decoded (null when it was). */
  linkError: WireError | null = null;
  /** The last record decoded (link layer, IPv4, TCP): reused for every record. */
  readonly view = new PacketView();
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
    const view = this.view.decodeFrame(rec.iface.linkType, rec.data);
    this.linkError = view.linkError;
    const link = view.linkError ? null : view.link;
    this.link = link;
    const ifindex = link?.ifindex;
    this.lastIfindex = ifindex;
    this.lastIface = rec.iface;
    if (this.opts.iface !== undefined && !this.ifaceMatches(rec, ifindex)) {
      this.skipped++;
      return Selection.SKIP;
    }
    // Only whole, unfragmented TCP headers take part (IP ID, flags, seq and ack identify a copy).
    if (!this.dedup || link === null || link.etherType !== EtherType.IPV4 || !view.hasTcpHeader) return Selection.TRACK;
    const data = rec.data;
    const ip = view.ip;
    const tcp = view.tcp;
    const totalLength = ip.totalLength;

    const abs = Number(rec.timestampNs);
    if (this.firstNs !== this.firstNs) this.firstNs = abs;
    const t = abs - this.firstNs;
    const ifaceId = ifindex !== undefined ? ifindex + 1 : -this.ifaceId(rec.iface) - 1;
    const dir = link.outgoing !== undefined ? (link.outgoing ? 2 : 1) : rec.direction === 'outbound' ? 2 : rec.direction === 'inbound' ? 1 : 0;
    // The low byte of the flags (without AE): part of the copy's identity, not of its tuple.
    const idFlags = (ip.identification << 8) | (tcp.flags & 0xff);
    const seq = tcp.seqI32;
    const ack = tcp.ackI32;
    let src = ip.src;
    let dst = ip.dst;
    let sport = tcp.srcPort;
    let dport = tcp.dstPort;

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
        this.data = data.slice();
        rewriteTuple(this.data, ip.off, m);
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

  /** The last record's own addresses and ports (a duplicate may carry the NATed tuple), or null without ports. */
  ownTuple(): { src: string; dst: string; sport: number; dport: number } | null {
    const v = this.view;
    if (!v.hasPorts) return null;
    return { src: formatIpv4Address(v.ip.src), dst: formatIpv4Address(v.ip.dst), sport: v.tcp.srcPort, dport: v.tcp.dstPort };
  }

  /** Attaches the tracking result of the last TRACK record, for its duplicates. */
  remember(result: R, n: number): void {
    if (!this.pending) return;
    this.ring[this.ringAt] = result;
    this.ringN[this.ringAt] = n;
    this.ringAt = (this.ringAt + 1) % RING;
    this.pending = false;
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
