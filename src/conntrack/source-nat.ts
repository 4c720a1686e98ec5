// Source NAT tuple selection as nf_nat_setup_info(..., NF_NAT_MANIP_SRC) does it in Linux 6.12
// (net/netfilter/nf_nat_core.c: get_unique_tuple, find_appropriate_src, nf_nat_used_tuple,
// nf_nat_l4proto_unique_tuple, nf_nat_used_tuple_harder), for TCP:
//  1. unless --random/--random-fully: if the original source is already in the range and its tuple
//     is free, keep it; else reuse the mapping of an existing entry with the same original source
//     (address, port) when it is in range and free (the kernel's bysource hash, newest first);
//  2. pick the address (one address: it; a range: jhash of src/dst, not modelled here — refused);
//  3. keep the source port if it is in range and free (not with --random/--random-fully);
//  4. otherwise search: ports 1..511 / 600..1023 / 1024..65535 by the original port's class, or
//     the --to-ports range, from a random offset (get_random_u16), at most 128 attempts, then
//     halving windows from new random offsets; in the last 32 attempts of a SYN_SENT entry a
//     colliding SNATed entry in TIME_WAIT or later whose sequence space the new SYN has passed is
//     evicted (nf_nat_used_tuple_harder). A tuple that is still taken at the end is returned
//     anyway: confirm() then fails (insert_failed) and the packet is dropped, as in the kernel.
// "Free" means no live entry holds the would-be reply tuple in either direction (expired ones are
// reaped on the way), except an entry whose original tuple is ours (nf_conntrack_tuple_taken).
import { NO_REF } from './conn-table.js';
import type { Conntrack } from './conntrack.js';
import { Status } from './status.js';
import { TcpCtState } from './tcp-states.js';

/** NF_NAT_MAX_ATTEMPTS and NF_NAT_HARDER_THRESH. */
const MAX_ATTEMPTS = 128;
const HARDER_THRESH = MAX_ATTEMPTS / 4;
const PZ_TCP = 6 << 16;

export interface SourceNatRange {
  /** Address to map to (MASQUERADE: the output interface's; SNAT: --to-source). */
  addr: number;
  /** --to-ports / --to-source :ports (NF_NAT_RANGE_PROTO_SPECIFIED). */
  portMin?: number;
  portMax?: number;
  /** --random (NF_NAT_RANGE_PROTO_RANDOM) and --random-fully (NF_NAT_RANGE_PROTO_RANDOM_FULLY). */
  random: boolean;
  randomFully: boolean;
}

export interface SourceNatChoice {
  addr: number;
  port: number;
  /** Entries evicted by nf_nat_used_tuple_harder on the way (their ids). */
  evicted: number[];
}

/**
 * The source (address, port) for unconfirmed entry e, whose reply tuple already reflects any
 * destination NAT. `randomU16` is get_random_u16(), deterministic per run. Does not bind.
 */
export function chooseSourceNat(ct: Conntrack, e: number, range: SourceNatRange, now: number, randomU16: () => number): SourceNatChoice {
  const t = ct.table.tuples;
  const rw = (e * 2 + 1) * 4;
  // curr_tuple = invert(reply tuple): what the packet looks like after any DNAT.
  const src = t[rw + 1] >>> 0;
  const dst = t[rw] >>> 0;
  const sport = t[rw + 2] & 0xffff;
  const dport = t[rw + 2] >>> 16;
  const evicted: number[] = [];
  const specified = range.portMin !== undefined;
  const pmin = range.portMin ?? 0;
  const pmax = range.portMax ?? pmin;
  const randomAll = range.random || range.randomFully;
  const addr = range.addr >>> 0;
  const inRange = (a: number, p: number) => a === addr && (!specified || (p >= pmin && p <= pmax));

  // 1) keep the original tuple, or reuse an existing mapping of the same original source.
  if (!randomAll) {
    if (inRange(src, sport)) {
      if (!taken(ct, e, src, sport, dst, dport, now)) return { addr: src, port: sport, evicted };
    } else {
      const mapped = appropriateSource(ct, e, src, sport, inRange);
      if (mapped !== null && !taken(ct, e, mapped.addr, mapped.port, dst, dport, now)) {
        return { addr: mapped.addr, port: mapped.port, evicted };
      }
    }
  }
  // 2) one address (find_best_ips_proto's fast path); 3) keep the port if it is in range and free.
  if (!randomAll) {
    if (specified) {
      if (sport >= pmin && sport <= pmax && (pmin === pmax || !taken(ct, e, addr, sport, dst, dport, now))) return { addr, port: sport, evicted };
    } else if (!taken(ct, e, addr, sport, dst, dport, now)) {
      return { addr, port: sport, evicted };
    }
  }
  // 4) nf_nat_l4proto_unique_tuple.
  let min: number;
  let size: number;
  if (!specified) {
    if (sport < 1024) {
      // "Loose convention: >> 512 is credential passing"
      [min, size] = sport < 512 ? [1, 511] : [600, 1023 - 600 + 1];
    } else {
      [min, size] = [1024, 65535 - 1024 + 1];
    }
  } else {
    min = Math.min(pmin, pmax);
    size = Math.max(pmin, pmax) - min + 1;
  }
  let off = randomU16() & 0xffff; // source manip: always a random offset in 6.12
  let attempts = Math.min(size, MAX_ATTEMPTS);
  let port = sport;
  for (;;) {
    for (let i = 0; i < attempts; i++, off = (off + 1) & 0xffff) {
      port = min + (off % size);
      if (!takenHarder(ct, e, addr, port, dst, dport, attempts - i, now, evicted)) return { addr, port, evicted };
    }
    if (attempts >= size || attempts < 16) return { addr, port, evicted };
    attempts = Math.floor(attempts / 2);
    off = randomU16() & 0xffff;
  }
}

/** nf_nat_used_tuple: is the reply tuple (dst:dport -> addr:port) held by another live entry? */
function taken(ct: Conntrack, e: number, addr: number, port: number, dst: number, dport: number, now: number): boolean {
  return holder(ct, e, addr, port, dst, dport, now) !== NO_REF;
}

/** The ref holding the would-be reply tuple, or NO_REF (nf_conntrack_tuple_taken's rules). */
function holder(ct: Conntrack, e: number, addr: number, port: number, dst: number, dport: number, now: number): number {
  const ref = ct.table.lookup(dst | 0, addr | 0, dport, port, PZ_TCP);
  if (ref === NO_REF) return NO_REF;
  const other = ref >> 1;
  if (other === e) return NO_REF;
  if (ct.records.timeoutAt(other) <= now) {
    ct.destroy(other, now, 'timeout'); // nf_ct_gc_expired
    return NO_REF;
  }
  // Same original tuple: the same flow, left to clash resolution at confirm time.
  const t = ct.table.tuples;
  const a = e * 8;
  const b = other * 8;
  if (t[a] === t[b] && t[a + 1] === t[b + 1] && t[a + 2] === t[b + 2] && t[a + 3] === t[b + 3]) return NO_REF;
  return ref;
}

/**
 * nf_nat_used_tuple_harder: in the last HARDER_THRESH attempts for a SYN_SENT entry, a colliding
 * entry seen from its REPLY side that is SNATed, in TIME_WAIT or later, not FIXED_TIMEOUT/DYING,
 * and whose original-direction td_end the new entry has passed, is killed and its tuple reused.
 */
function takenHarder(ct: Conntrack, e: number, addr: number, port: number, dst: number, dport: number, left: number, now: number, evicted: number[]): boolean {
  const ref = holder(ct, e, addr, port, dst, dport, now);
  if (ref === NO_REF) return false;
  if (left > HARDER_THRESH || ct.records.state(e) !== TcpCtState.SYN_SENT) return true;
  if ((ref & 1) === 0) return true; // found by its ORIGINAL tuple
  const other = ref >> 1;
  const st = ct.records.status(other);
  if (ct.records.state(other) < TcpCtState.TIME_WAIT) return true;
  if (st & (Status.FIXED_TIMEOUT | Status.DYING)) return true;
  if (!(st & Status.SRC_NAT)) return true;
  if (((ct.records.tdEnd(e * 2) - ct.records.tdEnd(other * 2)) | 0) <= 0) return true; // nf_seq_has_advanced
  evicted.push(ct.ids[other]);
  ct.destroy(other, now, 'nat-evict');
  return false;
}

/**
 * find_appropriate_src: walking the entries that went through source NAT setup newest first (the
 * bysource chain adds at its head), the first whose original source (address, port) is ours and
 * whose mapping, its reply tuple inverted, lies in the range. A linear scan: only NEW connections
 * that reach a source NAT rule come here.
 */
function appropriateSource(
  ct: Conntrack, e: number, src: number, sport: number, inRange: (a: number, p: number) => boolean,
): { addr: number; port: number } | null {
  const t = ct.table.tuples;
  const found: number[] = [];
  for (let o = 0; o < ct.table.capacity; o++) {
    if (o === e || !ct.table.live[o] || !(ct.records.status(o) & Status.SRC_NAT_DONE)) continue;
    const w = o * 8;
    if (t[w] >>> 0 === src && t[w + 2] >>> 16 === sport && t[w + 3] >>> 16 === 6) found.push(o);
  }
  found.sort((a, b) => ct.ids[b] - ct.ids[a]);
  for (const o of found) {
    const rw = (o * 2 + 1) * 4;
    const m = { addr: t[rw + 1] >>> 0, port: t[rw + 2] & 0xffff };
    if (inRange(m.addr, m.port)) return m;
  }
  return null;
}
