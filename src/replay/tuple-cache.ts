// A fixed-size, 4-way set-associative cache from a TCP/IPv4 4-tuple to one number, in typed
// arrays: constant memory and no allocation per packet. Replay keeps display state in it (the
// relative-sequence bases); when a set is full the least recently used way is replaced, so a
// flow idle for long enough in a capture of very many flows is forgotten, never the whole run.

const WAYS = 4;

export class TupleCache {
  private readonly src: Int32Array;
  private readonly dst: Int32Array;
  private readonly ports: Int32Array;
  private readonly value: Int32Array;
  /** Last use (a counter); 0 = empty. */
  private readonly used: Float64Array;
  private readonly mask: number;
  private clock = 0;

  /** `setBits`: log2 of the number of sets (capacity = 4 << setBits). */
  constructor(setBits = 14) {
    const n = WAYS << setBits;
    this.src = new Int32Array(n);
    this.dst = new Int32Array(n);
    this.ports = new Int32Array(n);
    this.value = new Int32Array(n);
    this.used = new Float64Array(n);
    this.mask = (1 << setBits) - 1;
  }

  private set0(src: number, dst: number, ports: number): number {
    let h = Math.imul(src ^ Math.imul(dst, 0x9e3779b1), 0x85ebca6b) ^ ports;
    h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35);
    return ((h ^ (h >>> 13)) & this.mask) * WAYS;
  }

  /** The way holding the tuple, or -1. */
  private find(src: number, dst: number, ports: number): number {
    const b = this.set0(src, dst, ports);
    for (let i = b; i < b + WAYS; i++) {
      if (this.used[i] !== 0 && this.src[i] === src && this.dst[i] === dst && this.ports[i] === ports) return i;
    }
    return -1;
  }

  /** The stored value as uint32, or -1 when absent. Counts as a use. */
  get(src: number, sport: number, dst: number, dport: number): number {
    const i = this.find(src | 0, dst | 0, ((sport << 16) | dport) | 0);
    if (i < 0) return -1;
    this.used[i] = ++this.clock;
    return this.value[i] >>> 0;
  }

  set(src: number, sport: number, dst: number, dport: number, value: number): void {
    src |= 0;
    dst |= 0;
    const ports = ((sport << 16) | dport) | 0;
    let i = this.find(src, dst, ports);
    if (i < 0) {
      const b = this.set0(src, dst, ports);
      i = b;
      for (let j = b + 1; j < b + WAYS; j++) if (this.used[j] < this.used[i]) i = j;
      this.src[i] = src;
      this.dst[i] = dst;
      this.ports[i] = ports;
    }
    this.value[i] = value | 0;
    this.used[i] = ++this.clock;
  }
}
