// The conntrack hash table: every entry is indexed twice, under its ORIGINAL and its REPLY
// tuple, so one lookup finds the entry from either direction and says which (the kernel's
// tuplehash[2] in one global table). Built for heavy port reuse:
//  - the index is one Int32Array of 16-byte slots holding the key itself (src, dst, ports) and a
//    meta word (ref = entry*2+dir, and the slot's probe distance): a lookup touches one cache
//    line, never the entry;
//  - open addressing with Robin Hood probing and backward-shift deletion, so deleting leaves no
//    tombstones and a table churned by millions of insert/delete cycles probes as a fresh one;
//  - a table size that is not a power of two (multiply-shift range reduction) keeps the load
//    at 0.66 and the index at 48 bytes per entry;
//  - per-entry tuples (struct-of-arrays) for the slow paths, a seeded hash, entry slots recycled
//    through a free list, growth by doubling up to nf_conntrack_max.
// Lookup, insert and remove allocate nothing (growth allocates, rarely and amortised).
import { hashTuple } from './tuple-hash.js';

/** A reference names one direction of one entry: ref = entry * 2 + dir. */
export const NO_REF = -1;

const WORDS = 4; // per entry-direction tuple: src, dst, ports (sport<<16 | dport), proto<<16 | zone
const SLOT = 4; // per index slot: src, dst, ports, meta
const EMPTY = -1;
const TWO_NEG_32 = 2 ** -32;
const REF_BITS = 24;
const REF_MASK = (1 << REF_BITS) - 1;
const MAX_DIST = 254; // 255 with ref 0xffffff would read as EMPTY (-1)
const MAX_LOAD = 0.66; // mean probe distance ~0.8 slots; 3 slots (48 bytes) per entry
/** The protocol/zone word of TCP in zone 0: the only one the engine inserts (the fast path). */
export const PZ_TCP = 6 << 16;
/** Refs fit in 24 bits of the meta word: 2^23 entries. */
export const MAX_TABLE_ENTRIES = 1 << (REF_BITS - 1);

export interface ConnTableOptions {
  /** Hard limit (nf_conntrack_max). */
  maxEntries: number;
  /** Initial entry capacity; grows by doubling up to maxEntries. */
  initialCapacity?: number;
  /** Hash seed (the kernel draws one at boot; we take it from the run's seed). */
  seed?: number;
  /** Called after the entry capacity grows, so per-entry columns elsewhere can follow. */
  onGrow?: (newCapacity: number) => void;
}

export class ConnTable {
  readonly maxEntries: number;
  readonly seed: number;
  capacity: number;
  count = 0;
  /** Tuple words per ref: tuples[ref * 4 + k], as int32 (addresses >= 2^31 stay small integers in V8). */
  tuples: Int32Array;
  live: Uint8Array;
  private freeList: Int32Array;
  private freeTop: number;
  private slots: Int32Array;
  private nSlots: number;
  /** Set once an entry with a protocol/zone other than TCP zone 0 is inserted: lookups then verify it. */
  private mixedPz = false;
  private readonly onGrow?: (n: number) => void;

  constructor(opts: ConnTableOptions) {
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${opts.maxEntries}`);
    if (opts.maxEntries > MAX_TABLE_ENTRIES) throw new RangeError(`maxEntries ${opts.maxEntries} exceeds ${MAX_TABLE_ENTRIES}`);
    this.maxEntries = opts.maxEntries;
    this.seed = (opts.seed ?? 0x5eed) | 0;
    this.onGrow = opts.onGrow;
    this.capacity = Math.min(opts.maxEntries, Math.max(16, opts.initialCapacity ?? 1024));
    this.tuples = new Int32Array(this.capacity * 2 * WORDS);
    this.live = new Uint8Array(this.capacity);
    this.freeList = new Int32Array(this.capacity);
    this.freeTop = 0;
    for (let i = this.capacity - 1; i >= 0; i--) this.freeList[this.freeTop++] = i;
    this.nSlots = slotCount(this.capacity);
    this.slots = new Int32Array(this.nSlots * SLOT).fill(EMPTY);
  }

  /** Bytes held by the index (slots) and by the per-entry tuple/bookkeeping arrays. */
  memoryBytes(): { index: number; tuples: number } {
    return { index: this.slots.byteLength, tuples: this.tuples.byteLength + this.live.byteLength + this.freeList.byteLength };
  }

  /** Finds the ref whose tuple matches, or NO_REF. Addresses may be given signed or unsigned. */
  lookup(src: number, dst: number, sport: number, dport: number, protoZone: number): number {
    src |= 0;
    dst |= 0;
    const ports = (sport << 16) | dport;
    const n = this.nSlots;
    const slots = this.slots;
    // Multiply-shift range reduction (Lemire's fastrange) of the 32-bit hash onto [0, n).
    let pos = ((hashTuple(this.seed, src, dst, ports, protoZone) >>> 0) * n * TWO_NEG_32) | 0;
    for (let dist = 0; ; dist++) {
      const b = pos * SLOT;
      const meta = slots[b + 3];
      if (meta === EMPTY) return NO_REF;
      if (slots[b] === src && slots[b + 1] === dst && slots[b + 2] === ports) {
        const ref = meta & REF_MASK;
        if (!this.mixedPz || this.tuples[ref * WORDS + 3] === protoZone) return ref;
      }
      // Robin Hood invariant: once we are further from home than the resident, the key is absent.
      if (meta >>> REF_BITS < dist) return NO_REF;
      if (++pos === n) pos = 0;
    }
  }

  /** Takes a free entry slot, growing if needed; NO_REF when nf_conntrack_max is reached. */
  allocate(): number {
    if (this.freeTop === 0) {
      if (this.capacity >= this.maxEntries) return NO_REF;
      this.grow(Math.min(this.maxEntries, this.capacity * 2));
    }
    const e = this.freeList[--this.freeTop];
    this.live[e] = 1;
    this.count++;
    return e;
  }

  /** Writes one direction's tuple of an allocated entry (before `link`). */
  setTuple(entry: number, dir: 0 | 1, src: number, dst: number, sport: number, dport: number, protoZone: number): void {
    const w = (entry * 2 + dir) * WORDS;
    this.tuples[w] = src;
    this.tuples[w + 1] = dst;
    this.tuples[w + 2] = (sport << 16) | dport;
    this.tuples[w + 3] = protoZone;
  }

  /**
   * Inserts both directions of an entry into the index (the kernel's confirm step). Returns
   * false, inserting nothing, when either tuple is already present (an insert clash).
   */
  link(entry: number): boolean {
    const o = entry * 2;
    if (!this.insertRef(o)) return false;
    if (!this.insertRef(o + 1)) {
      this.removeRef(o);
      return false;
    }
    return true;
  }

  /** Removes both directions from the index (if linked) and frees the entry slot. */
  release(entry: number, linked: boolean): void {
    if (linked) {
      this.removeRef(entry * 2);
      this.removeRef(entry * 2 + 1);
    }
    this.live[entry] = 0;
    this.freeList[this.freeTop++] = entry;
    this.count--;
  }

  private home(ref: number): number {
    const w = ref * WORDS;
    const t = this.tuples;
    return ((hashTuple(this.seed, t[w], t[w + 1], t[w + 2], t[w + 3]) >>> 0) * this.nSlots * TWO_NEG_32) | 0;
  }

  /**
   * Robin Hood insertion that also detects a clash: an equal key can only sit before the point
   * where ours would displace a richer resident (the probing invariant), so checking equality on
   * the way there is complete. Returns false, changing nothing, on a clash.
   */
  private insertRef(ref: number): boolean {
    const w = ref * WORDS;
    const t = this.tuples;
    const pz = t[w + 3];
    let k0 = t[w];
    let k1 = t[w + 1];
    let k2 = t[w + 2];
    let cur = ref;
    let dist = 0;
    let pos = this.home(ref);
    const n = this.nSlots;
    const s = this.slots;
    let checking = true;
    for (;;) {
      const b = pos * SLOT;
      const meta = s[b + 3];
      if (meta === EMPTY) {
        s[b] = k0;
        s[b + 1] = k1;
        s[b + 2] = k2;
        s[b + 3] = cur | (dist << REF_BITS);
        if (pz !== PZ_TCP) this.mixedPz = true;
        return true;
      }
      if (checking && s[b] === k0 && s[b + 1] === k1 && s[b + 2] === k2 && (!this.mixedPz || t[(meta & REF_MASK) * WORDS + 3] === pz)) {
        return false; // the tuple is already linked (an insert clash)
      }
      const resident = meta >>> REF_BITS;
      if (resident < dist) {
        checking = false;
        // Take from the rich: the new key settles here, the resident moves on.
        const r0 = s[b];
        const r1 = s[b + 1];
        const r2 = s[b + 2];
        s[b] = k0;
        s[b + 1] = k1;
        s[b + 2] = k2;
        s[b + 3] = cur | (dist << REF_BITS);
        k0 = r0;
        k1 = r1;
        k2 = r2;
        cur = meta & REF_MASK;
        dist = resident;
      }
      if (++pos === n) pos = 0;
      if (++dist > MAX_DIST) {
        // Pathological clustering: rebuild with room (never seen at load <= 0.8 with a good hash).
        this.rehash(this.nSlots * 2);
        this.insertRef(cur);
        if (pz !== PZ_TCP) this.mixedPz = true;
        return true;
      }
    }
  }

  private removeRef(ref: number): void {
    const n = this.nSlots;
    const s = this.slots;
    let pos = this.home(ref);
    for (;;) {
      const meta = s[pos * SLOT + 3];
      if (meta === EMPTY) return; // not linked
      if ((meta & REF_MASK) === ref) break;
      if (++pos === n) pos = 0;
    }
    // Backward-shift deletion: pull each following displaced key one slot closer to home.
    for (;;) {
      let next = pos + 1;
      if (next === n) next = 0;
      const nb = next * SLOT;
      const meta = s[nb + 3];
      const b = pos * SLOT;
      if (meta === EMPTY || meta >>> REF_BITS === 0) {
        s[b + 3] = EMPTY;
        return;
      }
      s[b] = s[nb];
      s[b + 1] = s[nb + 1];
      s[b + 2] = s[nb + 2];
      s[b + 3] = (meta & REF_MASK) | (((meta >>> REF_BITS) - 1) << REF_BITS);
      pos = next;
    }
  }

  private grow(newCap: number): void {
    const old = this.capacity;
    const tuples = new Int32Array(newCap * 2 * WORDS);
    tuples.set(this.tuples);
    this.tuples = tuples;
    const live = new Uint8Array(newCap);
    live.set(this.live);
    this.live = live;
    const free = new Int32Array(newCap);
    free.set(this.freeList.subarray(0, this.freeTop));
    this.freeList = free;
    for (let i = newCap - 1; i >= old; i--) this.freeList[this.freeTop++] = i;
    this.capacity = newCap;
    const want = slotCount(newCap);
    if (want > this.nSlots) this.rehash(want);
    this.onGrow?.(newCap);
  }

  private rehash(nSlots: number): void {
    const old = this.slots;
    this.nSlots = nSlots;
    this.slots = new Int32Array(nSlots * SLOT).fill(EMPTY);
    for (let b = 3; b < old.length; b += SLOT) if (old[b] !== EMPTY) this.insertRef(old[b] & REF_MASK);
  }

  /**
   * Refs in the `n` index slots starting at the tuple's home slot (the neighbourhood early_drop
   * looks at, like the kernel's NF_CT_EVICTION_RANGE buckets). Returns how many were written.
   */
  refsNear(src: number, dst: number, sport: number, dport: number, protoZone: number, n: number, out: Int32Array): number {
    let pos = ((hashTuple(this.seed, src | 0, dst | 0, (sport << 16) | dport, protoZone) >>> 0) * this.nSlots * TWO_NEG_32) | 0;
    let k = 0;
    for (let i = 0; i < n && k < out.length; i++) {
      const meta = this.slots[pos * SLOT + 3];
      if (meta !== EMPTY) out[k++] = meta & REF_MASK;
      if (++pos === this.nSlots) pos = 0;
    }
    return k;
  }

  /** Longest probe distance in the index (a health metric for tests and benchmarks). */
  maxProbeDistance(): number {
    let max = 0;
    for (let b = 3; b < this.slots.length; b += SLOT) {
      const meta = this.slots[b];
      if (meta !== EMPTY && meta >>> REF_BITS > max) max = meta >>> REF_BITS;
    }
    return max;
  }

  /** Mean probe distance of linked keys. */
  meanProbeDistance(): number {
    let sum = 0;
    let n = 0;
    for (let b = 3; b < this.slots.length; b += SLOT) {
      const meta = this.slots[b];
      if (meta !== EMPTY) {
        sum += meta >>> REF_BITS;
        n++;
      }
    }
    return n ? sum / n : 0;
  }
}

/** Index slots for `entries` entries (two keys each) at MAX_LOAD, at least 16. */
function slotCount(entries: number): number {
  return Math.max(16, Math.ceil((entries * 2) / MAX_LOAD));
}
