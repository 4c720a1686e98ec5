// The conntrack engine for one network namespace: nf_conntrack_in() (lookup from either
// direction, expiry, creation, the TCP tracker, SEEN_REPLY), confirmation (the insert into the
// hash table at the last hook), NAT bindings with in-place rewriting, garbage collection, events
// and the `conntrack -L` dump. It knows no clock, socket or file: time comes in as a number (ns).
// The per-packet path (track -> natManip -> confirm) allocates nothing unless an event listener
// is attached.
// Length: one class over the entry columns (status, timeouts, ids, the table's tuples); split
// into files, each part would reach into the others' typed arrays on the hot path.
import { IpProtocol, Ipv4Packet, Ipv4Problem, TcpProblem, TcpSegment, ipv4Problem, rewriteEndpoint, tcpProblem } from '../wire/index.js';
import { ConnTable, NO_REF } from './conn-table.js';
import { ConfigError } from './errors.js';
import { formatEntryLine, type ConntrackEvent, type ConntrackEventType, type DestroyReason } from './events.js';
import { resolveKernel, type KernelProfile } from './kernel-profile.js';
import { Reason, formatReason } from './reasons.js';
import { Status } from './status.js';
import { applySysctls, defaultSysctls, timeoutTableNs, type SysctlValues } from './sysctls.js';
import { TcpColumns } from './tcp-columns.js';
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
/** early_drop() looks at 8 buckets (NF_CT_EVICTION_RANGE); ctsim looks at the slots around the tuple's home. */
const EVICTION_RANGE = 8;

export class Conntrack {
  readonly profile: KernelProfile;
  readonly sysctls: SysctlValues;
  readonly table: ConnTable;
  readonly tcp: TcpColumns;
  readonly tracker: TcpTracker;
  status: Uint16Array;
  timeoutAt: Float64Array;
  ids: Uint32Array;
  readonly stats: ConntrackStats = { found: 0, invalid: 0, ignore: 0, insert: 0, insertFailed: 0, drop: 0, earlyDrop: 0, searchRestart: 0 };
  onEvent?: (ev: ConntrackEvent) => void;
  private nextId = 1;
  private readonly ip = new Ipv4Packet(new Uint8Array(0));
  private readonly seg = new TcpSegment(new Uint8Array(0));
  private readonly verdict = new Verdict();
  private readonly nearRefs = new Int32Array(EVICTION_RANGE * 4);

  constructor(opts: ConntrackOptions = {}) {
    this.profile = typeof opts.kernel === 'object' ? opts.kernel : resolveKernel(opts.kernel);
    const b = this.profile.behaviour;
    this.sysctls = applySysctls(defaultSysctls(b), opts.sysctls ?? [], b, this.profile.name);
    const max = this.sysctls.nf_conntrack_max;
    const initial = Math.min(max, opts.initialCapacity ?? 1024);
    this.tcp = new TcpColumns(initial);
    this.status = new Uint16Array(initial);
    this.timeoutAt = new Float64Array(initial);
    this.ids = new Uint32Array(initial);
    this.table = new ConnTable({ maxEntries: max, initialCapacity: initial, seed: opts.seed, onGrow: (n) => this.grow(n) });
    this.tracker = new TcpTracker(this.tcp, b, {
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
    this.tcp.resize(n);
    const st = new Uint16Array(n);
    st.set(this.status);
    this.status = st;
    const to = new Float64Array(n);
    to.set(this.timeoutAt);
    this.timeoutAt = to;
    const ids = new Uint32Array(n);
    ids.set(this.ids);
    this.ids = ids;
  }

  get count(): number {
    return this.table.count;
  }

  /**
   * nf_conntrack_in() for the IPv4 packet at buf[off, off+len) at time `now` (ns). `hook` matters
   * for the checksum check (PREROUTING only). Returns the shared Verdict: a created entry is
   * unconfirmed until confirm(); a DROP verdict means conntrack dropped the packet itself.
   */
  track(buf: Uint8Array, off: number, len: number, now: number, hook: ConntrackHook = 'prerouting'): Verdict {
    const v = this.verdict;
    v.reset();
    // The IPv4 checks of checkIpv4() (ip_rcv_core() has done them before any hook) on a reused view.
    if (ipv4Problem(buf, off, len) !== Ipv4Problem.NONE) {
      v.outcome = Outcome.UNTRACKED;
      v.ctinfo = CtInfo.UNTRACKED;
      v.setReason(Reason.BAD_IP);
      return v;
    }
    const ip = this.ip.reset(buf, off);
    const frag = ip.isFragment;
    if (ip.protocol !== IpProtocol.TCP || frag) {
      v.outcome = Outcome.UNTRACKED;
      v.ctinfo = CtInfo.UNTRACKED;
      v.setReason(frag ? Reason.FRAGMENT : Reason.NOT_TCP);
      return v;
    }
    const hl = ip.headerLength;
    const tcpOff = off + hl;
    const tcpLen = ip.totalLength - hl;
    if (tcpLen < 8) {
      // Not even the ports (tcp_pkt_to_tuple reads 8 bytes): no tuple, INVALID.
      return this.invalid(v, Reason.TRUNCATED);
    }
    const seg = this.seg.reset(buf, tcpOff, tcpLen);
    // int32 addresses: no heap numbers on the hot path (the table stores int32 too).
    const src = ip.srcI32;
    const dst = ip.dstI32;
    const sport = seg.srcPort;
    const dport = seg.dstPort;
    for (let attempt = 0; attempt < 2; attempt++) {
      let ref = this.table.lookup(src, dst, sport, dport, PROTO_ZONE_TCP);
      if (ref !== NO_REF && this.timeoutAt[ref >> 1] <= now) {
        this.destroy(ref >> 1, now, 'timeout');
        ref = NO_REF;
      }
      let e: number;
      let dir: 0 | 1;
      if (ref === NO_REF) {
        // tcp_error before anything is allocated (the kernel allocates first and frees on error:
        // the observable result is the same, INVALID and no entry).
        if (tcpProblem(buf, tcpOff, tcpLen) !== TcpProblem.NONE) return this.invalid(v, Reason.TRUNCATED);
        if (this.tracker.tcpError(seg, src, dst, hook === 'prerouting', v)) return this.invalid(v, v.reason.code);
        e = this.table.allocate();
        if (e === NO_REF) {
          if (!this.earlyDrop(src, dst, sport, dport, now)) {
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
        this.table.setTuple(e, Dir.ORIGINAL, src, dst, sport, dport, PROTO_ZONE_TCP);
        this.table.setTuple(e, Dir.REPLY, dst, src, dport, sport, PROTO_ZONE_TCP);
        this.status[e] = 0;
        this.ids[e] = this.nextId++;
        this.timeoutAt[e] = Infinity;
        v.created = true;
        dir = Dir.ORIGINAL;
        v.ctinfo = CtInfo.NEW;
      } else {
        this.stats.found++;
        e = ref >> 1;
        dir = (ref & 1) as 0 | 1;
        if (tcpProblem(buf, tcpOff, tcpLen) !== TcpProblem.NONE) return this.invalid(v, Reason.TRUNCATED);
        if (this.tracker.tcpError(seg, src, dst, hook === 'prerouting', v)) return this.invalid(v, v.reason.code);
        v.ctinfo = dir === Dir.REPLY ? CtInfo.ESTABLISHED_REPLY : this.status[e] & Status.SEEN_REPLY ? CtInfo.ESTABLISHED : CtInfo.NEW;
      }
      v.entry = e;
      v.entryId = this.ids[e];
      v.dir = dir;
      const stateBefore = this.tcp.state[e];
      const statusBefore = this.status[e];
      const res = this.tracker.tcpPacket(e, dir, seg, this.status, v);
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
        if (v.lowerTimeoutTo >= 0 && this.timeoutAt[e] - now >= 120e9 && this.timeoutAt[e] - now > v.lowerTimeoutTo) {
          this.timeoutAt[e] = now + v.lowerTimeoutTo;
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
        if (!v.destroyed && v.timeoutNs >= 0 && !(this.status[e] & Status.FIXED_TIMEOUT)) this.timeoutAt[e] = now + v.timeoutNs;
      }
      if (v.destroyed) {
        v.stateAfter = this.tcp.state[e];
        v.status = this.status[e];
        this.destroy(e, now, 'rst-unreplied');
        return v;
      }
      // nf_conntrack_in: any accepted reply (ignored ones too) marks the entry SEEN_REPLY.
      if (dir === Dir.REPLY) this.status[e] |= Status.SEEN_REPLY;
      v.stateAfter = this.tcp.state[e];
      v.status = this.status[e];
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
    if (this.status[e] & Status.CONFIRMED) return true;
    if (!this.table.live[e]) return false;
    if (!this.table.link(e)) {
      this.stats.insertFailed++;
      this.table.release(e, false);
      return false;
    }
    this.status[e] |= Status.CONFIRMED;
    this.stats.insert++;
    if (this.timeoutAt[e] === Infinity) this.timeoutAt[e] = now + this.tracker.settings.timeouts[this.tcp.state[e]];
    if (this.onEvent) this.emit('NEW', e, now);
    return true;
  }

  /** Drops an unconfirmed entry (its packet was dropped before the last hook): no event. */
  abort(e: number): void {
    if (this.table.live[e] && !(this.status[e] & Status.CONFIRMED)) this.table.release(e, false);
  }

  isConfirmed(e: number): boolean {
    return (this.status[e] & Status.CONFIRMED) !== 0;
  }

  /**
   * Binds NAT to a new (unconfirmed) entry: the REPLY tuple becomes the inverse of the translated
   * original (nf_nat_setup_info). 'dnat' rewrites the destination (DNAT, REDIRECT), 'snat' the source.
   * A reply tuple already in use makes confirm() fail, as for REDIRECT/DNAT to a fixed port.
   */
  bindNat(e: number, kind: 'dnat' | 'snat', addr: number, port: number): void {
    if (this.status[e] & Status.CONFIRMED) throw new ConfigError('NAT is decided on the first packet only: the entry is already confirmed');
    const t = this.table.tuples;
    const w = (e * 2 + Dir.REPLY) * 4;
    // nf_nat_setup_info: IPS_SRC_NAT/IPS_DST_NAT only when the tuple actually changes.
    if (kind === 'dnat') {
      // reply src/sport = the new destination
      const changed = t[w] !== (addr | 0) || t[w + 2] >>> 16 !== port;
      this.table.setTuple(e, Dir.REPLY, addr, t[w + 1], port, t[w + 2] & 0xffff, t[w + 3]);
      this.status[e] |= (changed ? Status.DST_NAT : 0) | Status.DST_NAT_DONE;
    } else {
      const changed = t[w + 1] !== (addr | 0) || (t[w + 2] & 0xffff) !== port;
      this.table.setTuple(e, Dir.REPLY, t[w], addr, t[w + 2] >>> 16, port, t[w + 3]);
      this.status[e] |= (changed ? Status.SRC_NAT : 0) | Status.SRC_NAT_DONE;
    }
  }

  /**
   * nf_conntrack_tcp_set_closing (called by nf_send_reset for the rejected packet's entry): a
   * confirmed entry goes to CLOSE with the CLOSE timeout (unless already CLOSE or fixed timeout).
   */
  setClosing(e: number, now: number): void {
    if (!(this.status[e] & Status.CONFIRMED) || !this.table.live[e]) return;
    const old = this.tcp.state[e];
    this.tcp.state[e] = TcpCtState.CLOSE;
    if (old === TcpCtState.CLOSE || this.status[e] & Status.FIXED_TIMEOUT) return;
    this.timeoutAt[e] = now + this.tracker.settings.timeouts[TcpCtState.CLOSE];
    if (this.onEvent) this.emit('UPDATE', e, now, undefined, true);
  }

  /**
   * nf_nat_manip_pkt(): rewrites the packet in place for entry e seen in direction dir, at a hook
   * doing `manip` ('dst' at PREROUTING/OUTPUT, 'src' at POSTROUTING/INPUT). Checksums are patched
   * incrementally (RFC 1624). Returns true when something was rewritten. Allocation-free.
   */
  natManip(buf: Uint8Array, off: number, e: number, dir: 0 | 1, manip: 'src' | 'dst'): boolean {
    const st = this.status[e];
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
    if (ref === NO_REF || this.timeoutAt[ref >> 1] <= now) return null;
    const w = (ref & ~1) * 4;
    return { addr: this.table.tuples[w + 1] >>> 0, port: this.table.tuples[w + 2] & 0xffff };
  }

  /** Finds the live entry and direction for a tuple (expired entries are not found). */
  find(t: Tuple, now: number): { entry: number; dir: 0 | 1 } | null {
    const ref = this.table.lookup(t.src, t.dst, t.sport, t.dport, PROTO_ZONE_TCP);
    if (ref === NO_REF || this.timeoutAt[ref >> 1] <= now) return null;
    return { entry: ref >> 1, dir: (ref & 1) as 0 | 1 };
  }

  /**
   * early_drop(): when the table is full, evict entries that are not ASSURED near the new tuple's
   * position (expired ones are reaped on the way). True when room was made.
   */
  private earlyDrop(src: number, dst: number, sport: number, dport: number, now: number): boolean {
    const n = this.table.refsNear(src, dst, sport, dport, PROTO_ZONE_TCP, EVICTION_RANGE, this.nearRefs);
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      const e = this.nearRefs[i] >> 1;
      if (!this.table.live[e] || !(this.status[e] & Status.CONFIRMED)) continue;
      if (this.timeoutAt[e] <= now) {
        this.destroy(e, now, 'timeout');
        dropped++;
      } else if (!(this.status[e] & Status.ASSURED)) {
        this.destroy(e, now, 'early-drop');
        this.stats.earlyDrop++;
        dropped++;
      }
    }
    return dropped > 0;
  }

  /** Deletes an entry (confirmed or not) and emits DESTROY for confirmed ones. */
  destroy(e: number, now: number, reason: DestroyReason): void {
    if (!this.table.live[e]) return;
    const confirmed = (this.status[e] & Status.CONFIRMED) !== 0;
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
      if (live[e] && (this.status[e] & Status.CONFIRMED) && this.timeoutAt[e] <= now) {
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
      if (live[e] && (this.status[e] & Status.CONFIRMED) && this.timeoutAt[e] < min) min = this.timeoutAt[e];
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
    return Math.max(0, Math.floor((this.timeoutAt[e] - now) / 1e9));
  }

  /** A snapshot of one entry for events, dumps and tests. */
  snapshot(e: number, now: number): { id: number; state: number; status: number; orig: Tuple; reply: Tuple; timeoutSecs: number } {
    return { id: this.ids[e], state: this.tcp.state[e], status: this.status[e], orig: this.tuple(e, 0), reply: this.tuple(e, 1), timeoutSecs: this.timeoutSecs(e, now) };
  }

  /** Confirmed, unexpired entries in `conntrack -L` format, oldest id first. */
  dump(now: number): string[] {
    const out: Array<[number, string]> = [];
    for (let e = 0; e < this.table.capacity; e++) {
      if (this.table.live[e] && (this.status[e] & Status.CONFIRMED) && this.timeoutAt[e] > now) out.push([this.ids[e], formatEntryLine(this.snapshot(e, now))]);
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
