// The baselines ctsim's table is measured against, in the same run and on the same packets:
//  - what a TypeScript engineer writes first: a Map from a tuple string (or a BigInt) to an entry
//    object, with both directions as keys;
//  - what a careful engineer writes in an afternoon: a plain open-addressing table in one
//    typed array (power-of-two size, load at most 1/2, linear probing, key words in the slot,
//    backward-shift deletion so churn leaves no tombstones). No batching, no alignment tricks.

export interface BaselineEntry {
  id: number;
  state: number;
  timeoutAt: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  /** The REPLY tuple's source (REDIRECT: the sidecar), kept so the reply key can be deleted. */
  rsrc: number;
  rsport: number;
}

export interface BaselineRef {
  entry: BaselineEntry;
  dir: 0 | 1;
}

export function keyString(src: number, dst: number, sport: number, dport: number): string {
  return `${src >>> 0}:${sport}>${dst >>> 0}:${dport}`;
}

export function keyBigint(src: number, dst: number, sport: number, dport: number): bigint {
  return (BigInt(src >>> 0) << 64n) | (BigInt(dst >>> 0) << 32n) | BigInt(((sport << 16) | dport) >>> 0);
}

export class StringMapTable {
  readonly map = new Map<string, BaselineRef>();
  insert(e: BaselineEntry): void {
    this.map.set(keyString(e.src, e.dst, e.sport, e.dport), { entry: e, dir: 0 });
    this.map.set(keyString(e.rsrc, e.src, e.rsport, e.sport), { entry: e, dir: 1 });
  }
  remove(e: BaselineEntry): void {
    this.map.delete(keyString(e.src, e.dst, e.sport, e.dport));
    this.map.delete(keyString(e.rsrc, e.src, e.rsport, e.sport));
  }
  lookup(src: number, dst: number, sport: number, dport: number): BaselineRef | undefined {
    return this.map.get(keyString(src, dst, sport, dport));
  }
}

export class BigintMapTable {
  readonly map = new Map<bigint, BaselineRef>();
  insert(e: BaselineEntry): void {
    this.map.set(keyBigint(e.src, e.dst, e.sport, e.dport), { entry: e, dir: 0 });
    this.map.set(keyBigint(e.rsrc, e.src, e.rsport, e.sport), { entry: e, dir: 1 });
  }
  remove(e: BaselineEntry): void {
    this.map.delete(keyBigint(e.src, e.dst, e.sport, e.dport));
    this.map.delete(keyBigint(e.rsrc, e.src, e.rsport, e.sport));
  }
  lookup(src: number, dst: number, sport: number, dport: number): BaselineRef | undefined {
    return this.map.get(keyBigint(src, dst, sport, dport));
  }
}

/** The afternoon table: keys (src, dst, ports) and a value per 16-byte slot, -1 = empty. */
export class PlainTable {
  private readonly mask: number;
  private readonly k: Int32Array;

  constructor(keys: number) {
    let size = 16;
    while (size < keys * 2) size *= 2;
    this.mask = size - 1;
    this.k = new Int32Array(size * 4).fill(-1);
  }

  get bytes(): number {
    return this.k.byteLength;
  }

  private slot(a: number, b: number, c: number): number {
    let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ b, 0xc2b2ae35);
    h = Math.imul(h ^ c, 0x27d4eb2f);
    return (h ^ (h >>> 15)) & this.mask;
  }

  get(a: number, b: number, c: number): number {
    const k = this.k;
    for (let i = this.slot(a, b, c); ; i = (i + 1) & this.mask) {
      const o = i * 4;
      if (k[o + 3] === -1) return -1;
      if (k[o] === a && k[o + 1] === b && k[o + 2] === c) return k[o + 3];
    }
  }

  set(a: number, b: number, c: number, v: number): void {
    const k = this.k;
    let i = this.slot(a, b, c);
    while (k[i * 4 + 3] !== -1 && !(k[i * 4] === a && k[i * 4 + 1] === b && k[i * 4 + 2] === c)) i = (i + 1) & this.mask;
    k[i * 4] = a;
    k[i * 4 + 1] = b;
    k[i * 4 + 2] = c;
    k[i * 4 + 3] = v;
  }

  delete(a: number, b: number, c: number): void {
    const k = this.k;
    let i = this.slot(a, b, c);
    for (; ; i = (i + 1) & this.mask) {
      if (k[i * 4 + 3] === -1) return;
      if (k[i * 4] === a && k[i * 4 + 1] === b && k[i * 4 + 2] === c) break;
    }
    // Backward shift: move later keys of the cluster into the hole when the hole is on their probe path.
    for (let j = (i + 1) & this.mask; k[j * 4 + 3] !== -1; j = (j + 1) & this.mask) {
      const home = this.slot(k[j * 4], k[j * 4 + 1], k[j * 4 + 2]);
      if (((j - home) & this.mask) >= ((j - i) & this.mask)) {
        k.copyWithin(i * 4, j * 4, j * 4 + 4);
        i = j;
      }
    }
    k[i * 4 + 3] = -1;
  }
}
