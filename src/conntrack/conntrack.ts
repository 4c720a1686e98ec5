// The conntrack engine for one network namespace: nf_conntrack_in() (lookup from either
// direction, expiry, creation, the TCP tracker, SEEN_REPLY), confirmation (the insert into the
// hash table at the last hook), NAT bindings with in-place rewriting, garbage collection, events
// and the `conntrack -L` dump. It knows no clock, socket or file: time comes in as a number (ns).
// The per-packet path (track -> natManip -> confirm) allocates nothing unless an event listener
// is attached.
// Length: one class over the entry records, ids and the table's tuples; split
// into files, each part would reach into the others' typed arrays on the hot path.
import { IpProtocol, Ipv4Packet, Ipv4Problem, TcpProblem, TcpSegment, ipv4Problem, rewriteEndpoint, tcpProblem } from '../wire/index.js';
import { ConnTable, MAX_TABLE_ENTRIES, NO_REF } from './conn-table.js';
import type { BatchVerdicts, PacketBatch } from './packet-batch.js';
import { ConfigError } from './errors.js';
import { formatEntryLine, type ConntrackEvent, type ConntrackEventType, type DestroyReason } from './events.js';
import { resolveKernel, type KernelProfile } from './kernel-profile.js';
import { Reason, formatReason } from './reasons.js';
import { Status } from './status.js';
import { applySysctls, defaultSysctls, timeoutTableNs, type SysctlValues } from './sysctls.js';
import { EntryRecords } from './entry-records.js';
import { Dir, TcpCtState } from './tcp-states.js';
import { PacketResult, TcpTracker } from './tcp-tracker.js';
import type { Tuple } from './tuple.js';
import { CtInfo, Outcome, Verdict } from './verdict.js';

export type ConntrackHook = 'prerouting' | 'output';

export interface ConntrackOptions {
  /** Kernel profile or its name (default: the newest). */
  kernel?: KernelProfile | string;
  /** `name=value` settings as `sysctl -w` takes them. */
  sysctls?: readonly string[];
  /** Hash seed. */
  seed?: number;
  initialCapacity?: number;
  onEvent?: (ev: ConntrackEvent) => void;
}

/** `conntrack -S` style counters. */
export interface ConntrackStats {
  found: number;
  invalid: number;
  ignore: number;
  insert: number;
  insertFailed: number;
  drop: number;
  earlyDrop: number;
  searchRestart: number;
}

const PROTO_ZONE_TCP = IpProtocol.TCP << 16; // zone 0
/** early_drop() looks at 8 buckets (NF_CT_EVICTION_RANGE) from the tuple's own. */
const EVICTION_RANGE = 8;

/**
 * Packets per burst in trackBatch. Each phase's loads are independent, so the more packets a
 * phase covers, the more misses are in flight while the first ones are waited for (full path at
 * 1e6 random flows: 16 -> 64 took 443 -> 370 ns per packet; 128 was no better).
 */
const BURST = 64;

/** trackBatch's per-burst scratch: the parsed tuple, its hash and its lookup result per packet. */
class Burst {
  readonly tcpOff = new Int32Array(BURST);
  readonly tcpLen = new Int32Array(BURST);
  readonly src = new Int32Array(BURST);
  readonly dst = new Int32Array(BURST);
  readonly ports = new Int32Array(BURST);
  readonly hash = new Int32Array(BURST);
  readonly ref = new Int32Array(BURST);
  /** Folded touch reads: kept so the reads are not optimised away. */
  sink = 0;
}


export class Conntrack {
  readonly profile: KernelProfile;
  readonly sysctls: SysctlValues;
  readonly table: ConnTable;
  /** Per-entry status, timeout and TCP state: one cache line per entry. */
  readonly records: EntryRecords;
  readonly tracker: TcpTracker;
  ids: Uint32Array;
  readonly stats: ConntrackStats = { found: 0, invalid: 0, ignore: 0, insert: 0, insertFailed: 0, drop: 0, earlyDrop: 0, searchRestart: 0 };
  onEvent?: (ev: ConntrackEvent) => void;
  private nextId = 1;
  private readonly ip = new Ipv4Packet(new Uint8Array(0));
  private readonly seg = new TcpSegment(new Uint8Array(0));
  private readonly verdict = new Verdict();
  private readonly nearRefs = new Int32Array(4); // one bucket's slots
  private readonly burst = new Burst();

  constructor(opts: ConntrackOptions = {}) {
    this.profile = typeof opts.kernel === 'object' ? opts.kernel : resolveKernel(opts.kernel);
    const b = this.profile.behaviour;
    this.sysctls = applySysctls(defaultSysctls(b), opts.sysctls ?? [], b, this.profile.name);
    const max = this.sysctls.nf_conntrack_max;
    if (max > MAX_TABLE_ENTRIES) {
      // The kernel takes any u32 here; ctsim's index addresses 2^26 entries (refs are 27 bits of a slot word).
      throw new ConfigError(`net.netfilter.nf_conntrack_max=${max}: ctsim's conntrack table holds at most ${MAX_TABLE_ENTRIES} entries`);
    }
    const initial = Math.min(max, opts.initialCapacity ?? 1024);
    this.records = new EntryRecords(initial);
    this.ids = new Uint32Array(initial);
    this.table = new ConnTable({ maxEntries: max, initialCapacity: initial, seed: opts.seed, onGrow: (n) => this.grow(n) });
    this.tracker = new TcpTracker(this.records, b, {
      loose: this.sysctls.nf_conntrack_tcp_loose === 1,
      beLiberal: this.sysctls.nf_conntrack_tcp_be_liberal === 1,
      maxRetrans: this.sysctls.nf_conntrack_tcp_max_retrans,
      ignoreInvalidRst: this.sysctls.nf_conntrack_tcp_ignore_invalid_rst === 1,
      checksum: this.sysctls.nf_conntrack_checksum === 1,
      timeouts: timeoutTableNs(this.sysctls),
    });
    this.onEvent = opts.onEvent;
  }

  private grow(n: number): void {
    this.records.resize(n);
    const ids = new Uint32Array(n);
    ids.set(this.ids);
    this.ids = ids;
  }

  get count(): number {
    return this.table.count;
  }

  /**
   * nf_conntrack_in() for the IPv4 packet at buf[off, off+len) at time `now` (ns). `hook` matters
   * for the checksum check (PREROUTING only); `checksumTrusted` says the skb arrived with
   * ip_summed CHECKSUM_PARTIAL or CHECKSUM_UNNECESSARY (loopback, a veth from a namespace on the
   * same machine, a NIC that verified it): nf_ip_checksum() then does not sum it. Returns the shared Verdict: a created entry is
   * unconfirmed until confirm(); a DROP verdict means conntrack dropped the packet itself.
   */
  track(buf: Uint8Array, off: number, len: number, now: number, hook: ConntrackHook = 'prerouting', checksumTrusted = false): Verdict {
    const v = this.verdict;
    v.reset();
    const tcpOff = this.tcpOffset(buf, off, len);
    if (tcpOff < 0) {
      const reason = -tcpOff;
      if (reason === Reason.TRUNCATED) return this.invalid(v, reason);
      v.outcome = Outcome.UNTRACKED;
      v.ctinfo = CtInfo.UNTRACKED;
      v.setReason(reason);
      return v;
    }
    // int32 addresses and both ports in one word: no heap numbers on the hot path (the table
    // stores int32 too). The hash is computed once and carried through lookup, re-lookup and insert.
    const ip = this.ip; // left on the packet by tcpOffset
    const src = ip.srcI32;
    const dst = ip.dstI32;
    const tcpLen = ip.totalLength - (tcpOff - off);
    const ports = this.seg.reset(buf, tcpOff, tcpLen).portsI32;
    const h = this.table.hash(src, dst, ports, PROTO_ZONE_TCP);
    return this.trackTuple(buf, tcpOff, tcpLen, src, dst, ports, h, this.table.lookupHashed(h, src, dst, ports, PROTO_ZONE_TCP), now, hook, checksumTrusted);
  }

  /**
   * The IPv4 checks of checkIpv4() (ip_rcv_core() has done them before any hook) and what
   * nf_conntrack_in() needs to get a tuple: returns the offset of the TCP header, or minus the
   * Reason why the packet has no tuple (BAD_IP, NOT_TCP, FRAGMENT: untracked; TRUNCATED: fewer than
   * the 8 bytes of ports that tcp_pkt_to_tuple reads, INVALID). Leaves this.ip on the packet.
   */
  private tcpOffset(buf: Uint8Array, off: number, len: number): number {
    if (ipv4Problem(buf, off, len) !== Ipv4Problem.NONE) return -Reason.BAD_IP;
    const ip = this.ip.reset(buf, off);
    if (ip.isFragment) return -Reason.FRAGMENT;
    if (ip.protocol !== IpProtocol.TCP) return -Reason.NOT_TCP;
    const hl = ip.headerLength;
    if (ip.totalLength - hl < 8) return -Reason.TRUNCATED;
    return off + hl;
  }

  /**
   * A burst of packets through one host's conntrack and NAT, each exactly as if alone, in order:
   * nf_conntrack_in() at `hook`, for a new entry `onNew` (the NAT binding the nat table decides,
   * e.g. REDIRECT via bindNat), the DNAT and then the SNAT rewrite (nf_nat_manip_pkt for the
   * first hook and the last), and the confirmation of a new entry (an insert clash drops the
   * packet). What it adds over a loop of track() calls is memory-level parallelism: with
   * millions of flows every packet's index line and entry state are cache misses, so the tuples
   * of up to 16 packets are parsed and hashed first, their index lines requested together
   * (touchHome), then their lookups done and their entries' state requested together, and only
   * then is each packet tracked. A lookup result is used only while the index is unchanged since
   * it was taken (an earlier packet of the burst may have inserted or deleted): otherwise the
   * lookup is repeated, so results are identical to the one-by-one path. Results go to `out`;
   * packets are rewritten in place. Allocates nothing (unless onNew or an event listener does).
   */
  trackBatch(batch: PacketBatch, now: number, hook: ConntrackHook, onNew: ((v: Verdict) => void) | null, out: BatchVerdicts): void {
    if (out.capacity < batch.count) throw new RangeError(`BatchVerdicts holds ${out.capacity} packets, the batch has ${batch.count}`);
    const buf = batch.buf;
    const b = this.burst;
    const table = this.table;
    let sink = 0;
    for (let first = 0; first < batch.count; first += BURST) {
      const n = Math.min(BURST, batch.count - first);
      // 1. Parse and hash (the packets are in cache; the index is not).
      for (let j = 0; j < n; j++) {
        const off = batch.off[first + j];
        const tcpOff = this.tcpOffset(buf, off, batch.len[first + j]);
        b.tcpOff[j] = tcpOff;
        if (tcpOff < 0) continue;
        const ip = this.ip;
        const src = ip.srcI32;
        const dst = ip.dstI32;
        const tcpLen = ip.totalLength - (tcpOff - off);
        const ports = this.seg.reset(buf, tcpOff, tcpLen).portsI32;
        b.tcpLen[j] = tcpLen;
        b.src[j] = src;
        b.dst[j] = dst;
        b.ports[j] = ports;
        b.hash[j] = table.hash(src, dst, ports, PROTO_ZONE_TCP);
      }
      // 2. Request every home line at once (independent loads: their misses overlap).
      for (let j = 0; j < n; j++) if (b.tcpOff[j] >= 0) sink ^= table.touchHome(b.hash[j]);
      // 3. Look up every packet, then request each found entry's lines. Two loops: the lookups'
      // branches wait on the index lines and often mispredict, and entry reads interleaved with
      // them were issued later and fewer at a time (8 % slower at 1e6 entries).
      const version = table.version;
      for (let j = 0; j < n; j++) b.ref[j] = b.tcpOff[j] < 0 ? NO_REF : table.lookupHashed(b.hash[j], b.src[j], b.dst[j], b.ports[j], PROTO_ZONE_TCP);
      for (let j = 0; j < n; j++) {
        const ref = b.ref[j];
        if (ref !== NO_REF) sink ^= this.touchEntry(ref);
      }
      // 4. Track, NAT and confirm each packet in turn.
      for (let j = 0; j < n; j++) {
        const i = first + j;
        const off = batch.off[i];
        const tcpOff = b.tcpOff[j];
        let v: Verdict;
        if (tcpOff < 0) {
          v = this.track(buf, off, batch.len[i], now, hook);
        } else {
          v = this.verdict;
          v.reset();
          const h = b.hash[j];
          const src = b.src[j];
          const dst = b.dst[j];
          const ports = b.ports[j];
          const ref = table.version === version ? b.ref[j] : table.lookupHashed(h, src, dst, ports, PROTO_ZONE_TCP);
          v = this.trackTuple(buf, tcpOff, b.tcpLen[j], src, dst, ports, h, ref, now, hook);
        }
        let rewritten = false;
        const e = v.entry;
        if (e >= 0) {
          const created = v.created && v.outcome !== Outcome.INVALID && v.outcome !== Outcome.DROP;
          if (created && onNew !== null) onNew(v);
          rewritten = this.natManip(buf, off, e, v.dir, 'dst');
          rewritten = this.natManip(buf, off, e, v.dir, 'src') || rewritten;
          if (created && !this.confirm(e, now)) {
            v.outcome = Outcome.DROP;
            v.entry = -1;
            v.created = false;
            v.setReason(Reason.INSERT_CLASH);
          }
        }
        out.outcome[i] = v.outcome;
        out.ctinfo[i] = v.ctinfo;
        out.entry[i] = v.entry;
        out.dir[i] = v.dir;
        out.state[i] = v.stateAfter;
        out.reason[i] = v.reason.code;
        out.rewritten[i] = rewritten ? 1 : 0;
      }
    }
    this.burst.sink ^= sink;
  }

  /**
   * Reads one word of each cache line the tracking of entry `ref >> 1` will use (its record, its
   * id, the other direction's tuple that NAT reads), so that a burst's misses overlap (see
   * trackBatch). Returns them folded for the caller's sink.
   */
  private touchEntry(ref: number): number {
    const e = ref >> 1;
    return this.records.touch(e) ^ this.ids[e] ^ this.table.tuples[(ref ^ 1) * 4];
  }

  /**
   * nf_conntrack_in() from the lookup on, for a packet whose IPv4 header passed the checks and
   * whose tuple (hash h) was looked up already: `found` is the ref the table returned.
   */
  private trackTuple(buf: Uint8Array, tcpOff: number, tcpLen: number, src: number, dst: number, ports: number, h: number, found: number, now: number, hook: ConntrackHook, checksumTrusted = false): Verdict {
    const v = this.verdict;
    const seg = this.seg.reset(buf, tcpOff, tcpLen);
    for (let attempt = 0; attempt < 2; attempt++) {
      let ref = attempt === 0 ? found : this.table.lookupHashed(h, src, dst, ports, PROTO_ZONE_TCP);
      if (ref !== NO_REF && this.records.timeoutAt(ref >> 1) <= now) {
        this.destroy(ref >> 1, now, 'timeout');
        ref = NO_REF;
      }
      let e: number;
      let dir: 0 | 1;
      if (ref === NO_REF) {
        // tcp_error before anything is allocated (the kernel allocates first and frees on error:
        // the observable result is the same, INVALID and no entry).
        if (tcpProblem(buf, tcpOff, tcpLen) !== TcpProblem.NONE) return this.invalid(v, Reason.TRUNCATED);
        if (this.tracker.tcpError(seg, src, dst, hook === 'prerouting' && !checksumTrusted, v)) return this.invalid(v, v.reason.code);
        e = this.table.allocate();
        if (e === NO_REF) {
          if (!this.earlyDrop(src, dst, ports, now)) {
            this.stats.drop++;
            v.outcome = Outcome.DROP;
            v.setReason(Reason.TABLE_FULL);
            return v;
          }
          e = this.table.allocate();
        }
        if (!this.tracker.tcpNew(e, seg, v)) {
          this.table.release(e, false);
          return this.invalid(v, v.reason.code);
        }
        this.table.setTupleHashed(e, Dir.ORIGINAL, h, src, dst, ports, PROTO_ZONE_TCP);
        this.table.setTuple(e, Dir.REPLY, dst, src, ports & 0xffff, ports >>> 16, PROTO_ZONE_TCP);
        this.records.setStatus(e, 0);
        this.ids[e] = this.nextId++;
        this.records.setTimeoutAt(e, Infinity);
        v.created = true;
        dir = Dir.ORIGINAL;
        v.ctinfo = CtInfo.NEW;
      } else {
        this.stats.found++;
        e = ref >> 1;
        dir = (ref & 1) as 0 | 1;
        if (tcpProblem(buf, tcpOff, tcpLen) !== TcpProblem.NONE) return this.invalid(v, Reason.TRUNCATED);
        if (this.tracker.tcpError(seg, src, dst, hook === 'prerouting' && !checksumTrusted, v)) return this.invalid(v, v.reason.code);
        v.ctinfo = dir === Dir.REPLY ? CtInfo.ESTABLISHED_REPLY : this.records.status(e) & Status.SEEN_REPLY ? CtInfo.ESTABLISHED : CtInfo.NEW;
      }
      v.entry = e;
      v.entryId = this.ids[e];
      v.dir = dir;
      const stateBefore = this.records.state(e);
      const statusBefore = this.records.status(e);
      const res = this.tracker.tcpPacket(e, dir, seg, v);
      if (res === PacketResult.REPEAT) {
        // Re-open: kill the old entry and look the packet up again (-NF_REPEAT). Before
        // 830af2eba403 nf_conntrack_in counted it as invalid first.
        if (!this.profile.behaviour.repeatNotCountedInvalid) this.stats.invalid++;
        this.destroy(e, now, 'reopen');
        this.stats.searchRestart++;
        v.reset();
        v.reopened = true;
        continue;
      }
      if (res === PacketResult.INVALID) {
        if (v.lowerTimeoutTo >= 0 && this.records.timeoutAt(e) - now >= 120e9 && this.records.timeoutAt(e) - now > v.lowerTimeoutTo) {
          this.records.setTimeoutAt(e, now + v.lowerTimeoutTo);
        }
        if (v.created) this.table.release(e, false);
        const code = v.reason.code;
        return this.invalid(v, code);
      }
      if (res === PacketResult.IGNORE) {
        this.stats.ignore++;
        v.outcome = Outcome.IGNORE;
      } else {
        v.outcome = Outcome.ACCEPT;
        // An RST on an entry that never saw a reply is killed before the refresh and before
        // nf_conntrack_in marks SEEN_REPLY: its DESTROY event still says [UNREPLIED].
        if (!v.destroyed && v.timeoutNs >= 0 && !(this.records.status(e) & Status.FIXED_TIMEOUT)) this.records.setTimeoutAt(e, now + v.timeoutNs);
      }
      if (v.destroyed) {
        v.stateAfter = this.records.state(e);
        v.status = this.records.status(e);
        this.destroy(e, now, 'rst-unreplied');
        return v;
      }
      // nf_conntrack_in: any accepted reply (ignored ones too) marks the entry SEEN_REPLY.
      if (dir === Dir.REPLY) this.records.setStatus(e, this.records.status(e) | Status.SEEN_REPLY);
      v.stateAfter = this.records.state(e);
      v.status = this.records.status(e);
      if (!v.created && this.onEvent && (v.stateAfter !== stateBefore || v.status !== statusBefore)) {
        this.emit('UPDATE', e, now, undefined, v.stateAfter !== stateBefore);
      }
      return v;
    }
    return this.invalid(v, Reason.INVALID_STATE);
  }

  private invalid(v: Verdict, code: number): Verdict {
    this.stats.invalid++;
    v.entry = -1;
    v.outcome = Outcome.INVALID;
    v.ctinfo = CtInfo.INVALID;
    v.reason.code = code;
    return v;
  }

  /**
   * __nf_conntrack_confirm(): inserts a new entry into the table at the last hook (POSTROUTING or
   * INPUT). Returns false (packet must be dropped, insert_failed) when the tuple is taken.
   */
  confirm(e: number, now: number): boolean {
    if (this.records.status(e) & Status.CONFIRMED) return true;
    if (!this.table.live[e]) return false;
    if (!this.table.link(e)) {
      this.stats.insertFailed++;
      this.table.release(e, false);
      return false;
    }
    this.records.setStatus(e, this.records.status(e) | Status.CONFIRMED);
    this.stats.insert++;
    if (this.records.timeoutAt(e) === Infinity) this.records.setTimeoutAt(e, now + this.tracker.settings.timeouts[this.records.state(e)]);
    if (this.onEvent) this.emit('NEW', e, now);
    return true;
  }

  /** Drops an unconfirmed entry (its packet was dropped before the last hook): no event. */
  abort(e: number): void {
    if (this.table.live[e] && !(this.records.status(e) & Status.CONFIRMED)) this.table.release(e, false);
  }

  isConfirmed(e: number): boolean {
    return (this.records.status(e) & Status.CONFIRMED) !== 0;
  }

  /**
   * Binds NAT to a new (unconfirmed) entry: the REPLY tuple becomes the inverse of the translated
   * original (nf_nat_setup_info). 'dnat' rewrites the destination (DNAT, REDIRECT), 'snat' the source.
   * A reply tuple already in use makes confirm() fail, as for REDIRECT/DNAT to a fixed port.
   */
  bindNat(e: number, kind: 'dnat' | 'snat', addr: number, port: number): void {
    if (this.records.status(e) & Status.CONFIRMED) throw new ConfigError('NAT is decided on the first packet only: the entry is already confirmed');
    const t = this.table.tuples;
    const w = (e * 2 + Dir.REPLY) * 4;
    // nf_nat_setup_info: IPS_SRC_NAT/IPS_DST_NAT only when the tuple actually changes.
    if (kind === 'dnat') {
      // reply src/sport = the new destination
      const changed = t[w] !== (addr | 0) || t[w + 2] >>> 16 !== port;
      this.table.setTuple(e, Dir.REPLY, addr, t[w + 1], port, t[w + 2] & 0xffff, t[w + 3]);
      this.records.setStatus(e, this.records.status(e) | (changed ? Status.DST_NAT : 0) | Status.DST_NAT_DONE);
    } else {
      const changed = t[w + 1] !== (addr | 0) || (t[w + 2] & 0xffff) !== port;
      this.table.setTuple(e, Dir.REPLY, t[w], addr, t[w + 2] >>> 16, port, t[w + 3]);
      this.records.setStatus(e, this.records.status(e) | (changed ? Status.SRC_NAT : 0) | Status.SRC_NAT_DONE);
    }
  }

  /**
   * nf_conntrack_tcp_set_closing (called by nf_send_reset for the rejected packet's entry): a
   * confirmed entry goes to CLOSE with the CLOSE timeout (unless already CLOSE or fixed timeout).
   */
  setClosing(e: number, now: number): void {
    if (!(this.records.status(e) & Status.CONFIRMED) || !this.table.live[e]) return;
    const old = this.records.state(e);
    this.records.setState(e, TcpCtState.CLOSE);
    if (old === TcpCtState.CLOSE || this.records.status(e) & Status.FIXED_TIMEOUT) return;
    this.records.setTimeoutAt(e, now + this.tracker.settings.timeouts[TcpCtState.CLOSE]);
    if (this.onEvent) this.emit('UPDATE', e, now, undefined, true);
  }

  /**
   * nf_nat_manip_pkt(): rewrites the packet in place for entry e seen in direction dir, at a hook
   * doing `manip` ('dst' at PREROUTING/OUTPUT, 'src' at POSTROUTING/INPUT). Checksums are patched
   * incrementally (RFC 1624). Returns true when something was rewritten. Allocation-free.
   */
  natManip(buf: Uint8Array, off: number, e: number, dir: 0 | 1, manip: 'src' | 'dst'): boolean {
    const st = this.records.status(e);
    // The status bit that applies flips for the reply direction (IPS_NAT_MASK xor in nf_nat_packet).
    const bit = (manip === 'dst') === (dir === Dir.ORIGINAL) ? Status.DST_NAT : Status.SRC_NAT;
    if (!(st & bit)) return false;
    // Target = inverse of the other direction's tuple.
    const t = this.table.tuples;
    const ow = (e * 2 + (dir ^ 1)) * 4;
    const targetSrc = t[ow + 1];
    const targetDst = t[ow];
    const targetSport = t[ow + 2] & 0xffff;
    const targetDport = t[ow + 2] >>> 16;
    return rewriteEndpoint(buf, off, manip, manip === 'dst' ? targetDst : targetSrc, manip === 'dst' ? targetDport : targetSport);
  }

  /** getsockopt(SO_ORIGINAL_DST): the pre-NAT destination for a socket's (local -> remote) tuple. */
  originalDst(local: number, localPort: number, remote: number, remotePort: number, now: number): { addr: number; port: number } | null {
    const ref = this.table.lookup(local, remote, localPort, remotePort, PROTO_ZONE_TCP);
    if (ref === NO_REF || this.records.timeoutAt(ref >> 1) <= now) return null;
    const w = (ref & ~1) * 4;
    return { addr: this.table.tuples[w + 1] >>> 0, port: this.table.tuples[w + 2] & 0xffff };
  }

  /** Finds the live entry and direction for a tuple (expired entries are not found). */
  find(t: Tuple, now: number): { entry: number; dir: 0 | 1 } | null {
    const ref = this.table.lookup(t.src, t.dst, t.sport, t.dport, PROTO_ZONE_TCP);
    if (ref === NO_REF || this.records.timeoutAt(ref >> 1) <= now) return null;
    return { entry: ref >> 1, dir: (ref & 1) as 0 | 1 };
  }

  /**
   * early_drop(): when the table is full, walk NF_CT_EVICTION_RANGE buckets from the new tuple's
   * home bucket and, in the first one that has any, evict every entry that is not ASSURED
   * (expired ones are reaped on the way). True when room was made.
   */
  private earlyDrop(src: number, dst: number, ports: number, now: number): boolean {
    for (let i = 0; i < EVICTION_RANGE; i++) {
      const n = this.table.refsInBucket(src, dst, ports >>> 16, ports & 0xffff, PROTO_ZONE_TCP, i, this.nearRefs);
      let dropped = 0;
      for (let k = 0; k < n; k++) {
        const e = this.nearRefs[k] >> 1;
        if (!this.table.live[e] || !(this.records.status(e) & Status.CONFIRMED)) continue;
        if (this.records.timeoutAt(e) <= now) {
          this.destroy(e, now, 'timeout');
          dropped++;
        } else if (!(this.records.status(e) & Status.ASSURED)) {
          this.destroy(e, now, 'early-drop');
          this.stats.earlyDrop++;
          dropped++;
        }
      }
      if (dropped > 0) return true;
    }
    return false;
  }

  /** Deletes an entry (confirmed or not) and emits DESTROY for confirmed ones. */
  destroy(e: number, now: number, reason: DestroyReason): void {
    if (!this.table.live[e]) return;
    const confirmed = (this.records.status(e) & Status.CONFIRMED) !== 0;
    if (confirmed && this.onEvent) this.emit('DESTROY', e, now, reason);
    // The status bits stay until the slot is reused: a packet still holding the entry (an RST
    // that deleted it, say) is NATed by them, as the kernel's reference keeps the ct alive.
    this.table.release(e, confirmed);
  }

  /** The GC worker: deletes every expired entry. Returns how many were deleted. */
  expire(now: number): number {
    let n = 0;
    const live = this.table.live;
    for (let e = 0; e < this.table.capacity; e++) {
      if (live[e] && (this.records.status(e) & Status.CONFIRMED) && this.records.timeoutAt(e) <= now) {
        this.destroy(e, now, 'timeout');
        n++;
      }
    }
    return n;
  }

  /** Earliest expiry among confirmed entries (Infinity when none): when the GC has work next. */
  nextExpiry(): number {
    let min = Infinity;
    const live = this.table.live;
    for (let e = 0; e < this.table.capacity; e++) {
      if (live[e] && (this.records.status(e) & Status.CONFIRMED) && this.records.timeoutAt(e) < min) min = this.records.timeoutAt(e);
    }
    return min;
  }

  flush(now: number): void {
    for (let e = 0; e < this.table.capacity; e++) if (this.table.live[e]) this.destroy(e, now, 'flush');
  }

  tuple(e: number, dir: 0 | 1): Tuple {
    const w = (e * 2 + dir) * 4;
    const t = this.table.tuples;
    return { src: t[w] >>> 0, dst: t[w + 1] >>> 0, sport: t[w + 2] >>> 16, dport: t[w + 2] & 0xffff, proto: t[w + 3] >>> 16 };
  }

  timeoutSecs(e: number, now: number): number {
    return Math.max(0, Math.floor((this.records.timeoutAt(e) - now) / 1e9));
  }

  /** A snapshot of one entry for events, dumps and tests. */
  snapshot(e: number, now: number): { id: number; state: number; status: number; orig: Tuple; reply: Tuple; timeoutSecs: number } {
    return { id: this.ids[e], state: this.records.state(e), status: this.records.status(e), orig: this.tuple(e, 0), reply: this.tuple(e, 1), timeoutSecs: this.timeoutSecs(e, now) };
  }

  /** Confirmed, unexpired entries in `conntrack -L` format, oldest id first. */
  dump(now: number): string[] {
    const out: Array<[number, string]> = [];
    for (let e = 0; e < this.table.capacity; e++) {
      if (this.table.live[e] && (this.records.status(e) & Status.CONFIRMED) && this.records.timeoutAt(e) > now) out.push([this.ids[e], formatEntryLine(this.snapshot(e, now))]);
    }
    return out.sort((a, b) => a[0] - b[0]).map(([, l]) => l);
  }

  /** The verdict's reason in the profile's kernel wording ('' when none). */
  reasonText(v: Verdict): string {
    return formatReason(v.reason, this.profile.wording);
  }

  private emit(type: ConntrackEventType, e: number, now: number, destroyReason?: DestroyReason, stateChanged?: boolean): void {
    const snap = this.snapshot(e, now);
    this.onEvent?.({ type, timeNs: now, ...snap, ...(destroyReason ? { destroyReason } : {}), ...(stateChanged !== undefined ? { stateChanged } : {}) });
  }
}

export { TcpCtState };
