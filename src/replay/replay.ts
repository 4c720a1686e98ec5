// Replays a capture through one conntrack of a chosen kernel profile: the tool users point at
// their own captures. Every packet gets a row (IPv4/TCP or not); a packet that cannot be parsed
// is reported in its row, never fatal. Captures are read as a stream (constant memory: per-flow
// display state is bounded and expired entries are garbage-collected as the kernel's GC would).
import type { CaptureRecord } from '../pcap/index.js';
import { Conntrack, type ConntrackHook } from '../conntrack/conntrack.js';
import { visibleStatusNames } from '../conntrack/status.js';
import { TcpCtState } from '../conntrack/tcp-states.js';
import { Outcome, type CtInfoName, type OutcomeName, type Verdict } from '../conntrack/verdict.js';
import { describeVerdict, formatVerdict } from '../conntrack/verdict-text.js';
import { trackAndConfirm } from '../conntrack/track-and-confirm.js';
import type { ConntrackEvent } from '../conntrack/events.js';
import {
  EtherType, IpProtocol, LinkLayerView, PacketView, formatIpv4Address, seqSub, tcpFlagsShort, type LinkLayerInfo, type WireError,
} from '../wire/index.js';
import { TupleCache } from './tuple-cache.js';
import { explainVerdict, explanationJson, explanationLines, type Explanation } from './explain.js';

export interface ReplayOptions {
  kernel?: string;
  sysctls?: readonly string[];
  seed?: number;
  /**
   * Which netfilter hook the packets are tracked at: 'prerouting' verifies TCP checksums
   * (nf_conntrack_checksum), 'output' does not; 'auto' uses the capture's direction (outbound ->
   * output, else prerouting).
   */
  hook?: ConntrackHook | 'auto';
  onEvent?: (ev: ConntrackEvent) => void;
  /** Build row.why for INVALID/IGNORE/DROP verdicts (and special RST rules, re-opens). */
  explain?: boolean;
  /** NAT as the kernel's nat hooks would do it around conntrack (conformance NAT cases). */
  nat?: ReplayNat;
  /**
   * Packets arrive from a wire (conformance suites): what ip_rcv_core() drops before PREROUTING
   * (a wrong IPv4 header checksum) is not tracked. Off by default: captures taken on the sending
   * host often hold checksums the NIC fills in later.
   */
  ipRcv?: boolean;
}

/**
 * NAT around the replayed conntrack: `bind` runs for a packet that created an entry, before the
 * entry is confirmed (the nat hooks sit between conntrack and confirm); `rewrite` runs for every
 * packet that leaves with an entry attached. A bind that makes the reply tuple clash with an
 * existing entry makes confirm fail: the packet is dropped (insert_failed), as in the kernel.
 */
export interface ReplayNat {
  /** Returns false when the packet is dropped before confirm (a rule between the hooks). */
  bind(ct: Conntrack, v: Verdict): void | boolean;
  rewrite(ct: Conntrack, v: Verdict, data: Uint8Array, off: number): void;
}

/**
 * What the kernel did with a TCP packet's checksum (nf_ip_checksum(), called by tcp_error() at
 * PREROUTING only, and only for an skb whose ip_summed is CHECKSUM_NONE or _COMPLETE):
 *   local     tracked at OUTPUT: a locally generated packet is never verified;
 *   loopback  received on a loopback device: generated on this host (CHECKSUM_PARTIAL, or
 *             UNNECESSARY), and already tracked when it was sent;
 *   partial   the field holds only the pseudo-header sum (CHECKSUM_PARTIAL: sent by a namespace
 *             on the same machine through a veth, or captured before the NIC's offload): the
 *             receiving kernel trusts it;
 *   off       nf_conntrack_checksum=0;
 *   verified  summed, and right;
 *   wrong     summed, and wrong: INVALID [bad checksum].
 */
export type ChecksumCheck = 'local' | 'loopback' | 'partial' | 'off' | 'verified' | 'wrong';

/** Run the expiry GC when capture time has advanced this much (ns) since the last run. */
const GC_INTERVAL_NS = 1e9;

/** One packet's outcome; `json()` gives the documented machine form. */
export interface ReplayRow {
  n: number;
  /** Seconds since the first packet. */
  time: number;
  timeNs: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: string;
  /** Relative to the first SEQ seen in that direction of the flow (Wireshark's convention). */
  seqRel: number | null;
  ackRel: number | null;
  /** The raw SEQ and ACK (ACK only with the ACK flag): equal numbers stay visibly equal across flows. */
  seqRaw: number | null;
  ackRaw: number | null;
  len: number;
  dir: 'original' | 'reply' | null;
  ctinfo: CtInfoName;
  /** The verdict's outcome, or DUPLICATE for a packet tracked once already (see duplicateRow). */
  outcome: OutcomeName | 'DUPLICATE';
  state: string | null;
  stateBefore: string | null;
  status: string[];
  timeout: number | null;
  reason: string;
  entryId: number | null;
  /** This packet killed a closed entry and started a new one (re-open from TIME_WAIT/CLOSE). */
  reopened: boolean;
  /** Window-check numbers for a failed check (for --explain). */
  explain: Verdict['explain'] | null;
  /** --explain: why the verdict came about, in the kernel's terms (null: nothing to explain). */
  why: Explanation | null;
  /** The same IP packet as packet #duplicateOf, seen on another interface: not tracked again. */
  duplicateOf: number | null;
  /** Tracked with a learnt NAT binding undone: the tuple as captured. */
  captured: string | null;
  /** What the kernel did with the TCP checksum (null: not a whole TCP segment, or not tracked). */
  checksum: ChecksumCheck | null;
}

export function rowJson(r: ReplayRow): Record<string, unknown> {
  const o: Record<string, unknown> = {
    n: r.n, time: r.time, dir: r.dir, ctinfo: r.ctinfo, state: r.state, status: r.status, timeout: r.timeout, reason: r.reason || null,
    outcome: r.outcome, reopened: r.reopened, src: r.src, dst: r.dst, sport: r.sport, dport: r.dport, flags: r.flags, seq: r.seqRel, ack: r.ackRel, len: r.len,
  };
  if (r.duplicateOf !== null) o.duplicateOf = r.duplicateOf;
  if (r.captured !== null) o.captured = r.captured;
  return o;
}

/**
 * rowJson plus, for --explain, `explain` (the explanation's machine form, or null) and `checksum`
 * (what the kernel did with the TCP checksum; rowJson leaves it out so the fuzz corpus's recorded
 * rows stay as they are).
 */
export function rowJsonExplained(r: ReplayRow): Record<string, unknown> {
  return { ...rowJson(r), checksum: r.checksum, explain: r.why ? explanationJson(r.why) : null };
}

/** An empty row for record `rec` at `time` seconds. */
function blankRow(n: number, timeNs: number): ReplayRow {
  return {
    n, time: timeNs / 1e9, timeNs, src: '', dst: '', sport: 0, dport: 0, flags: '', seqRel: null, ackRel: null, seqRaw: null, ackRaw: null, len: 0,
    dir: null, ctinfo: 'UNTRACKED', outcome: 'UNTRACKED', state: null, stateBefore: null, status: [], timeout: null, reason: '', entryId: null, reopened: false,
    explain: null, why: null, duplicateOf: null, captured: null, checksum: null,
  };
}

/** What the caller already decoded (PacketSelector): skip decoding the link layer again. */
export interface Predecoded {
  /** The link layer, or null when it could not be decoded (the row then says why). */
  link: LinkLayerInfo | null;
  /** Why the link layer could not be decoded (when link is null). */
  linkError: WireError | null;
  /** The bytes to track (may be a NAT-undone copy of rec.data). */
  data: Uint8Array;
  /** The hook to track at, overriding the options' (replay --host decides per packet). */
  hook?: ConntrackHook;
  /** Why conntrack never sees this packet (replay --host: the raw table dropped or untracked it): the row says so, UNTRACKED. */
  notTracked?: string;
}

export class Replayer {
  readonly ct: Conntrack;
  private firstNs: bigint | null = null;
  /** First SEQ per flow direction (Wireshark's relative numbers): a bounded cache. */
  private readonly seqBase = new TupleCache();
  /** visibleStatusNames per status value: rows share these arrays (do not mutate). */
  private readonly statusNames = new Map<number, string[]>();
  private readonly linkView = new LinkLayerView();
  private readonly view = new PacketView();
  private lastNow = 0;
  private lastGc = 0;
  /** The last tracked packet's verdict (the conntrack's shared one: read it before the next push), bytes and IPv4 offset. */
  lastVerdict: Verdict | null = null;
  lastData: Uint8Array = new Uint8Array(0);
  lastOff = 0;

  /** Capture time of the last packet, ns since the first. */
  get nowNs(): number {
    return this.lastNow;
  }

  constructor(private readonly opts: ReplayOptions = {}) {
    this.ct = new Conntrack({ kernel: opts.kernel, sysctls: opts.sysctls, seed: opts.seed, onEvent: opts.onEvent });
  }

  /** Capture time of `rec` in ns since the first tracked packet (clamped, never backwards). */
  private clock(rec: CaptureRecord): number {
    if (this.firstNs === null) this.firstNs = rec.timestampNs;
    // Time never runs backwards for conntrack: an out-of-order capture timestamp is clamped.
    const nowNs = Math.max(this.lastNow, Number(rec.timestampNs - this.firstNs));
    this.lastNow = nowNs;
    return nowNs;
  }

  /** Seconds of `rec` since the first tracked packet, without tracking it (for duplicates). */
  timeOf(rec: CaptureRecord): number {
    return this.firstNs === null ? 0 : Math.max(0, Number(rec.timestampNs - this.firstNs)) / 1e9;
  }

  /** Tracks one captured packet and describes the outcome. */
  push(rec: CaptureRecord, pre?: Predecoded): ReplayRow {
    const nowNs = this.clock(rec);
    if (nowNs - this.lastGc >= GC_INTERVAL_NS) {
      // The kernel's GC worker: expired entries go even if no packet of theirs comes back.
      this.ct.expire(nowNs);
      this.lastGc = nowNs;
    }
    const row = blankRow(rec.index + 1, nowNs);
    this.lastVerdict = null;
    let link: LinkLayerInfo | null;
    let linkError: WireError | null;
    if (pre !== undefined) {
      link = pre.link;
      linkError = pre.linkError;
    } else {
      linkError = this.linkView.decode(rec.iface.linkType, rec.data);
      link = linkError ? null : this.linkView;
    }
    if (link === null) {
      row.reason = linkError ? `unparsable: ${linkError.message}` : 'unparsable';
      return row;
    }
    if (link.etherType !== EtherType.IPV4) {
      row.reason = `not IPv4 (EtherType 0x${link.etherType.toString(16).padStart(4, '0')})`;
      return row;
    }
    const off = link.networkOffset;
    const outgoing = link.outgoing === true;
    const data = pre?.data ?? rec.data;
    const view = this.view.decodeIpv4(data, off);
    if (!view.ipv4) {
      row.reason = `unparsable: ${view.ipv4Error()!.message}${rec.originalLength > data.length ? ' (capture truncated by snaplen)' : ''}`;
      return row;
    }
    const ipv = view.ip;
    row.src = formatIpv4Address(ipv.src);
    row.dst = formatIpv4Address(ipv.dst);
    if (this.opts.ipRcv && !ipv.verifyChecksum()) {
      // ip_rcv_core() drops it (InCsumErrors) before PREROUTING: conntrack never sees it.
      row.reason = 'dropped by ip_rcv before conntrack: IPv4 header checksum is wrong';
      return row;
    }
    let tcpFlags = 0;
    let syn = false;
    if (view.tcpValid) {
      const seg = view.tcp;
      row.sport = seg.srcPort;
      row.dport = seg.dstPort;
      tcpFlags = seg.flags;
      syn = seg.syn;
      row.flags = tcpFlagsShort(tcpFlags);
      row.len = seg.payloadLength;
      const src = ipv.src;
      const dst = ipv.dst;
      const seq = seg.seq;
      let base = seg.syn ? -1 : this.seqBase.get(src, row.sport, dst, row.dport);
      if (base < 0) {
        this.seqBase.set(src, row.sport, dst, row.dport, seq);
        base = seq;
      }
      row.seqRel = seqSub(seq, base);
      row.seqRaw = seq;
      if (seg.ackFlag) {
        row.ackRaw = seg.ack;
        const rbase = this.seqBase.get(dst, row.dport, src, row.sport);
        row.ackRel = rbase < 0 ? seg.ack : seqSub(seg.ack, rbase);
      }
    }
    if (pre?.notTracked !== undefined) {
      row.reason = pre.notTracked;
      return row;
    }
    const hookOpt = pre?.hook ?? this.opts.hook ?? 'auto';
    const hook: ConntrackHook = hookOpt === 'auto' ? (rec.direction === 'outbound' || outgoing ? 'output' : 'prerouting') : hookOpt;
    const checksum = view.tcpValid ? this.checksumCheck(hook, link.loopback === true) : null;
    row.checksum = checksum;
    // For --explain: the state of the entry a SYN hits, in case the SYN re-opens it (the verdict
    // of a re-open describes the new entry only).
    let reopenedFrom = -1;
    if (this.opts.explain && syn) {
      const hit = this.ct.find({ src: ipv.src, dst: ipv.dst, sport: row.sport, dport: row.dport, proto: IpProtocol.TCP }, nowNs);
      if (hit) reopenedFrom = this.ct.records.state(hit.entry);
    }
    // The nat hooks sit between conntrack and confirm: a binding that makes the reply tuple clash
    // with an existing entry makes the confirmation fail and the packet is dropped (insert_failed).
    const nat = this.opts.nat;
    const trusted = checksum === 'loopback' || checksum === 'partial';
    this.lastData = data;
    this.lastOff = off;
    const v = trackAndConfirm(this.ct, data, off, ipv.totalLength, nowNs, hook, nat ? (created) => nat.bind(this.ct, created) : undefined, trusted);
    this.lastVerdict = v;
    const f = describeVerdict(this.ct, v);
    row.ctinfo = f.ctinfo;
    row.outcome = f.outcome;
    row.reason = f.reason;
    if (nat && v.entry >= 0 && (v.outcome === Outcome.ACCEPT || v.outcome === Outcome.IGNORE)) nat.rewrite(this.ct, v, data, off);
    row.reopened = f.reopened;
    if (f.dir !== null) {
      row.dir = f.dir;
      row.state = f.state;
      row.stateBefore = f.stateBefore;
      let names = this.statusNames.get(v.status);
      if (names === undefined) {
        names = visibleStatusNames(v.status);
        this.statusNames.set(v.status, names);
      }
      row.status = names;
      row.timeout = v.timeoutNs >= 0 ? Math.floor(v.timeoutNs / 1e9) : null;
      row.entryId = v.entryId;
    }
    if (v.hasExplain) row.explain = Object.assign(Object.create(Object.getPrototypeOf(v.explain)), v.explain);
    if (this.opts.explain && v.outcome !== Outcome.UNTRACKED) {
      row.why = explainVerdict(v, {
        profile: this.ct.profile, sysctls: this.ct.sysctls, hook, tcpFlags,
        reopenedFrom: reopenedFrom === TcpCtState.TIME_WAIT || reopenedFrom === TcpCtState.CLOSE ? reopenedFrom : -1,
      });
    }
    return row;
  }

  /** The checksum case of the packet this.view holds (a whole TCP segment), tracked at `hook`. */
  private checksumCheck(hook: ConntrackHook, loopback: boolean): ChecksumCheck {
    if (hook === 'output') return 'local';
    if (loopback) return 'loopback';
    const ip = this.view.ip;
    const off = this.ct.sysctls.nf_conntrack_checksum !== 1;
    // A right checksum can equal the pseudo-header sum by chance (1 in 65536): right wins.
    if (this.view.tcp.verifyChecksum(ip.src, ip.dst)) return off ? 'off' : 'verified';
    if (this.view.tcp.hasPartialChecksum(ip.src, ip.dst)) return 'partial';
    return off ? 'off' : 'wrong';
  }

  /**
   * The row of a duplicate of packet #originalN (the same IP packet on another interface): not
   * tracked. It repeats the original's verdict (the same skb carries the same ct) when that row is
   * still at hand, else it says only which packet it repeats.
   */
  duplicateRow(rec: CaptureRecord, original: ReplayRow | null, originalN: number, ownTuple: { src: string; dst: string; sport: number; dport: number } | null): ReplayRow {
    const timeNs = Math.round(this.timeOf(rec) * 1e9);
    const base = original ?? blankRow(originalN, timeNs);
    return {
      ...base, n: rec.index + 1, time: timeNs / 1e9, timeNs, ...(ownTuple ?? {}), outcome: 'DUPLICATE', explain: null, why: null, captured: null,
      duplicateOf: originalN, reason: `same packet as #${originalN}: tracked once`,
    };
  }
}

/** Replays every record; rows are yielded one at a time (streaming). See ReplaySession for --iface/dedup. */
export function* replayRecords(records: Iterable<CaptureRecord>, opts: ReplayOptions = {}): Generator<ReplayRow> {
  const r = new Replayer(opts);
  for (const rec of records) yield r.push(rec);
}

/**
 * The verdict of a row as one phrase (conntrack's formatVerdict), for capture comments and, with
 * a column gap before the reason, the text table: "ESTABLISHED original SYN_SENT->CLOSE",
 * "INVALID [reason]", or for a duplicate which packet it repeats.
 */
export function verdictText(r: ReplayRow, gap = ' '): string {
  if (r.duplicateOf !== null) return `= #${r.duplicateOf} (the same packet seen again, on another interface or looped back: tracked once)`;
  return formatVerdict(r, gap);
}

/** The packet part of a text row: number, time, tuple, flags, relative seq/ack, length. */
export function formatPacketText(r: ReplayRow): string {
  const t = r.time.toFixed(6).padStart(12);
  const tuple = r.src ? `${r.src}:${r.sport} > ${r.dst}:${r.dport}` : '-';
  const seq = r.seqRel === null ? '' : `seq=${r.seqRel}`;
  const ack = r.ackRel === null ? '' : ` ack=${r.ackRel}`;
  return `${String(r.n).padStart(6)} ${t}  ${tuple.padEnd(44)} ${(r.flags || '-').padEnd(5)} ${`${seq}${ack}`.padEnd(26)} len=${String(r.len).padEnd(5)}`;
}

/** The verdict part of a text row: the verdict, its reason after a column gap, the NAT note. */
export function formatVerdictText(r: ReplayRow): string {
  const nat = r.captured ? `  (captured as ${r.captured}: NAT undone)` : '';
  return `${verdictText(r, '  ')}${nat}`;
}

export function formatRowText(r: ReplayRow): string {
  return `${formatPacketText(r)} ${formatVerdictText(r)}`;
}

/** The --explain lines of a row (empty when there is nothing to explain). */
export function explainLines(r: ReplayRow): string[] {
  return r.why ? explanationLines(r.why) : [];
}
