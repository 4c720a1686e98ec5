// The conntrack hash table: every entry is indexed twice, under its ORIGINAL and its REPLY
// tuple, so one lookup finds the entry from either direction and says which (the kernel's
// tuplehash[2] in one global table). Built for heavy port reuse at millions of random flows,
// where every lookup is a cache miss and the cost is the number of cache lines touched:
//  - the index is one Int32Array of 16-byte slots holding the key itself (src, dst, ports) and a
//    meta word (ref = entry*2+dir, and the slot's probe distance): a lookup reads the index only,
//    never the entry;
//  - four slots make one 64-byte line, and a key's probing starts at the slot its hash names (its
//    home slot): the first slot probed is then usually the key's own (mean probe distance 0.75
//    at load 0.6; 1.4 when probing started at the line's first slot, where the key's place in
//    the line was random and the compare branches mispredicted: 38 ns against 24 ns per lookup
//    at 1e3 entries). With the index aligned on cache lines (a WebAssembly.Memory, the one
//    page-aligned buffer JavaScript can allocate) a hit is in its home line about 4 times in 5,
//    and that line is known from the hash alone, so a batch of lookups can request all its lines
//    at once (touchHome) before comparing keys;
//  - open addressing with Robin Hood probing and backward-shift deletion, so deleting leaves no
//    tombstones and a table churned by millions of insert/delete cycles probes as a fresh one
//    (two-choice cuckoo buckets were tried: deletions drift keys to their second bucket, and the
//    share of hits in one line fell from 90 % to 70 % after churn);
//  - a bucket count that is not a power of two (multiply-shift range reduction) keeps the load
//    at 0.6 and the index at 53 bytes per entry;
//  - per-entry tuples and per-key hashes (struct-of-arrays) for the slow paths: the hash a lookup
//    computed is stored with the tuple and reused by deletion, so a key is hashed once per
//    connection; a seeded hash; entry slots recycled through a free list; growth by doubling up
//    to nf_conntrack_max.
// Lookup, insert and remove allocate nothing (growth allocates, rarely and amortised).
// Length: one class over one index layout (slots, buckets, probe distances, the batch touches);
// split, its parts would share the slot encoding and the typed arrays on the hot path.
import { alignedBuffer } from './aligned-buffer.js';
import { hashTuple } from './tuple-hash.js';

/** A reference names one direction of one entry: ref = entry * 2 + dir. */
export const NO_REF = -1;

const WORDS = 4; // per entry-direction tuple: src, dst, ports (sport<<16 | dport), proto<<16 | zone
const SLOT = 4; // per index slot: src, dst, ports, meta
const BUCKET_SLOTS = 4; // 4 x 16 bytes: one cache line
const EMPTY = -1;
const TWO_NEG_32 = 2 ** -32;
const REF_BITS = 27;
const REF_MASK = (1 << REF_BITS) - 1;
/** The 5-bit distance field saturates here: 30 means "30 or more, ask the hash" (31 + all-ones ref would read as EMPTY). */
const DIST_SAT = 30;
/** A probe this long means a broken hash or an attack: rebuild with twice the buckets. */
const REHASH_DIST = 1024;
const MAX_LOAD = 0.6; // keys per slot: mean probe distance 0.75; 53 bytes per entry
/** The protocol/zone word of TCP in zone 0: the only one the engine inserts (the fast path). */
export const PZ_TCP = 6 << 16;
/**
 * Refs use 27 bits of the meta word: 2^26 entries (67,108,864; about 10 GiB with the entry
 * records). nf_conntrack_max above it is refused when the sysctls are read.
 */
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
  /** The seeded hash of each ref's tuple (set with the tuple; deletion finds the key by it). */
  hashes: Int32Array;
  live: Uint8Array;
  /** Bumped by every insert into and removal from the index: a lookup result taken earlier is current while it is unchanged. */
  version = 0;
  private freeList: Int32Array;
  private freeTop: number;
  private slots: Int32Array;
  private nSlots: number;
  private nBuckets: number;
  /** nSlots / 2^32: the hash times this is its home slot. */
  private homeScale: number;
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
    this.hashes = new Int32Array(this.capacity * 2);
    this.live = new Uint8Array(this.capacity);
    this.freeList = new Int32Array(this.capacity);
    this.freeTop = 0;
    for (let i = this.capacity - 1; i >= 0; i--) this.freeList[this.freeTop++] = i;
    this.nBuckets = bucketCount(this.capacity);
    this.nSlots = this.nBuckets * BUCKET_SLOTS;
    this.homeScale = this.nSlots * TWO_NEG_32;
    this.slots = allocateIndex(this.nSlots * SLOT);
  }

  /** Bytes held by the index (slots) and by the per-entry tuple/bookkeeping arrays. */
  memoryBytes(): { index: number; tuples: number } {
    return {
      index: this.slots.buffer.byteLength,
      tuples: this.tuples.byteLength + this.hashes.byteLength + this.live.byteLength + this.freeList.byteLength,
    };
  }

  /** Slots in the index (a test derives a key's home bucket from it and hash()). */
  get indexSlots(): number {
    return this.nSlots;
  }

  /** The seeded hash of a tuple: compute it once per packet and hand it to lookupHashed, setTupleHashed. */
  hash(src: number, dst: number, ports: number, protoZone: number): number {
    return hashTuple(this.seed, src | 0, dst | 0, ports, protoZone);
  }

  /** Finds the ref whose tuple matches, or NO_REF. Addresses may be given signed or unsigned. */
  lookup(src: number, dst: number, sport: number, dport: number, protoZone: number): number {
    const ports = (sport << 16) | dport;
    return this.lookupHashed(hashTuple(this.seed, src | 0, dst | 0, ports, protoZone), src | 0, dst | 0, ports, protoZone);
  }

  /** lookup() for a tuple whose hash (this.hash) the caller has; addresses as int32, ports = sport << 16 | dport. */
  lookupHashed(h: number, src: number, dst: number, ports: number, protoZone: number): number {
    const n = this.nSlots;
    const slots = this.slots;
    let pos = this.homeSlot(h);
    // Up to DIST_SAT the stored distance is exact, so the early exit needs no second look (the
    // saturated case lives in lookupFar: keeping it out of this loop makes lookups a third faster).
    for (let dist = 0; dist <= DIST_SAT; dist++) {
      const b = pos * SLOT;
      const meta = slots[b + 3];
      if (meta === EMPTY) return NO_REF;
      if (slots[b + 2] === ports && slots[b] === src && slots[b + 1] === dst) {
        const ref = meta & REF_MASK;
        if (!this.mixedPz || this.tuples[ref * WORDS + 3] === protoZone) return ref;
      }
      // Robin Hood invariant: once we are further from home than the resident, the key is absent.
      if (meta >>> REF_BITS < dist) return NO_REF;
      if (++pos === n) pos = 0;
    }
    return this.lookupFar(pos, DIST_SAT + 1, src, dst, ports, protoZone);
  }

  /**
   * lookupHashed beyond DIST_SAT probes (a long cluster): distances may be saturated there. The
   * slot check repeats lookupHashed's on purpose: shared as a method it made lookups 60 % slower.
   */
  private lookupFar(pos: number, dist: number, src: number, dst: number, ports: number, protoZone: number): number {
    const n = this.nSlots;
    const slots = this.slots;
    for (; ; dist++) {
      const b = pos * SLOT;
      const meta = slots[b + 3];
      if (meta === EMPTY) return NO_REF;
      if (slots[b + 2] === ports && slots[b] === src && slots[b + 1] === dst) {
        const ref = meta & REF_MASK;
        if (!this.mixedPz || this.tuples[ref * WORDS + 3] === protoZone) return ref;
      }
      const resident = meta >>> REF_BITS;
      if (resident < dist && (resident < DIST_SAT || this.trueDist(pos, meta) < dist)) return NO_REF;
      if (++pos === n) pos = 0;
    }
  }

  /**
   * Reads the first word of the hash's home line and returns it. A batch calls this for every
   * packet before looking any of them up: the reads are independent, so the CPU has all their
   * cache misses in flight at once, and the lookups that follow find their lines in cache.
   */
  touchHome(h: number): number {
    return this.slots[this.homeSlot(h) * SLOT + 3];
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
    const ports = (sport << 16) | dport;
    this.setTupleHashed(entry, dir, hashTuple(this.seed, src | 0, dst | 0, ports, protoZone), src, dst, ports, protoZone);
  }

  /** setTuple() with the tuple's hash already computed (this.hash) and the ports as one word. */
  setTupleHashed(entry: number, dir: 0 | 1, h: number, src: number, dst: number, ports: number, protoZone: number): void {
    const ref = entry * 2 + dir;
    const w = ref * WORDS;
    this.tuples[w] = src;
    this.tuples[w + 1] = dst;
    this.tuples[w + 2] = ports;
    this.tuples[w + 3] = protoZone;
    this.hashes[ref] = h;
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

  /** Multiply-shift range reduction (Lemire's fastrange) of the 32-bit hash onto the slots. */
  private homeSlot(h: number): number {
    return ((h >>> 0) * this.homeScale) | 0;
  }

  /** The probe distance of the key at `pos` when its meta word says DIST_SAT (30 or more). */
  private trueDist(pos: number, meta: number): number {
    const home = this.homeSlot(this.hashes[meta & REF_MASK]);
    return pos >= home ? pos - home : pos + this.nSlots - home;
  }

  /** The exact probe distance of the resident at `pos`. */
  private residentDist(pos: number, meta: number): number {
    const d = meta >>> REF_BITS;
    return d < DIST_SAT ? d : this.trueDist(pos, meta);
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
    let pos = this.homeSlot(this.hashes[ref]);
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
        s[b + 3] = cur | (Math.min(dist, DIST_SAT) << REF_BITS);
        if (pz !== PZ_TCP) this.mixedPz = true;
        this.version++;
        return true;
      }
      if (checking && s[b] === k0 && s[b + 1] === k1 && s[b + 2] === k2 && (!this.mixedPz || t[(meta & REF_MASK) * WORDS + 3] === pz)) {
        return false; // the tuple is already linked (an insert clash)
      }
      const resident = this.residentDist(pos, meta);
      if (resident < dist) {
        checking = false;
        // Take from the rich: the new key settles here, the resident moves on.
        const r0 = s[b];
        const r1 = s[b + 1];
        const r2 = s[b + 2];
        s[b] = k0;
        s[b + 1] = k1;
        s[b + 2] = k2;
        s[b + 3] = cur | (Math.min(dist, DIST_SAT) << REF_BITS);
        k0 = r0;
        k1 = r1;
        k2 = r2;
        cur = meta & REF_MASK;
        dist = resident;
      }
      if (++pos === n) pos = 0;
      if (++dist > REHASH_DIST) {
        // Pathological clustering: rebuild with room (never seen at load 0.6 with a good hash).
        // The key in hand is placed by the rebuild's re-insert of every linked ref plus this one.
        this.rehash(this.nBuckets * 2, cur);
        if (pz !== PZ_TCP) this.mixedPz = true;
        return true;
      }
    }
  }

  private removeRef(ref: number): void {
    const n = this.nSlots;
    const s = this.slots;
    let pos = this.homeSlot(this.hashes[ref]);
    for (;;) {
      const meta = s[pos * SLOT + 3];
      if (meta === EMPTY) return; // not linked
      if ((meta & REF_MASK) === ref) break;
      if (++pos === n) pos = 0;
    }
    this.version++;
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
      s[b + 3] = (meta & REF_MASK) | (Math.min(this.residentDist(next, meta) - 1, DIST_SAT) << REF_BITS);
      pos = next;
    }
  }

  private grow(newCap: number): void {
    const old = this.capacity;
    const tuples = new Int32Array(newCap * 2 * WORDS);
    tuples.set(this.tuples);
    this.tuples = tuples;
    const hashes = new Int32Array(newCap * 2);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const live = new Uint8Array(newCap);
    live.set(this.live);
    this.live = live;
    const free = new Int32Array(newCap);
    free.set(this.freeList.subarray(0, this.freeTop));
    this.freeList = free;
    for (let i = newCap - 1; i >= old; i--) this.freeList[this.freeTop++] = i;
    this.capacity = newCap;
    const want = bucketCount(newCap);
    if (want > this.nBuckets) this.rehash(want, NO_REF);
    this.onGrow?.(newCap);
  }

  /** Rebuilds the index with `nBuckets` buckets from the linked refs (plus `extra`, a ref not in the index). */
  private rehash(nBuckets: number, extra: number): void {
    const old = this.slots;
    this.nBuckets = nBuckets;
    this.nSlots = nBuckets * BUCKET_SLOTS;
    this.homeScale = this.nSlots * TWO_NEG_32;
    this.slots = allocateIndex(this.nSlots * SLOT);
    this.version++;
    for (let b = 3; b < old.length; b += SLOT) if (old[b] !== EMPTY) this.insertRef(old[b] & REF_MASK);
    if (extra !== NO_REF) this.insertRef(extra);
  }

  /**
   * Refs in the `i`-th bucket (4-slot line) after the line holding the tuple's home slot (i = 0:
   * that line itself): early_drop() walks NF_CT_EVICTION_RANGE buckets this way. Returns how
   * many were written.
   */
  refsInBucket(src: number, dst: number, sport: number, dport: number, protoZone: number, i: number, out: Int32Array): number {
    const home = this.homeSlot(hashTuple(this.seed, src | 0, dst | 0, (sport << 16) | dport, protoZone));
    let pos = (home - (home % BUCKET_SLOTS) + i * BUCKET_SLOTS) % this.nSlots;
    let k = 0;
    for (let j = 0; j < BUCKET_SLOTS && k < out.length; j++, pos++) {
      const meta = this.slots[pos * SLOT + 3];
      if (meta !== EMPTY) out[k++] = meta & REF_MASK;
    }
    return k;
  }

  /** Longest probe distance in the index (a health metric for tests and benchmarks). */
  maxProbeDistance(): number {
    let max = 0;
    for (let pos = 0; pos < this.nSlots; pos++) {
      const meta = this.slots[pos * SLOT + 3];
      if (meta !== EMPTY) max = Math.max(max, this.residentDist(pos, meta));
    }
    return max;
  }

  /** Mean probe distance of linked keys. */
  meanProbeDistance(): number {
    let sum = 0;
    let n = 0;
    for (let pos = 0; pos < this.nSlots; pos++) {
      const meta = this.slots[pos * SLOT + 3];
      if (meta !== EMPTY) {
        sum += this.residentDist(pos, meta);
        n++;
      }
    }
    return n ? sum / n : 0;
  }

  /** Share of linked keys that sit in their home bucket (a lookup of them reads one cache line). */
  homeLineShare(): number {
    let home = 0;
    let n = 0;
    for (let pos = 0; pos < this.nSlots; pos++) {
      const meta = this.slots[pos * SLOT + 3];
      if (meta === EMPTY) continue;
      n++;
      if (((pos / BUCKET_SLOTS) | 0) === ((this.homeSlot(this.hashes[meta & REF_MASK]) / BUCKET_SLOTS) | 0)) home++;
    }
    return n ? home / n : 1;
  }
}

/** Buckets for `entries` entries (two keys each) at MAX_LOAD, at least 4. */
function bucketCount(entries: number): number {
  return Math.max(4, Math.ceil((entries * 2) / (MAX_LOAD * BUCKET_SLOTS)));
}

/** An index of `words` int32 words, all EMPTY, cache-line aligned (every 64-byte bucket is one line). */
function allocateIndex(words: number): Int32Array {
  return new Int32Array(alignedBuffer(words * 4), 0, words).fill(EMPTY);
}
