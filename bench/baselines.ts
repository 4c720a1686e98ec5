// What a TypeScript engineer writes first: a Map from a tuple string (or a BigInt) to an entry
// object, with both directions as keys. Used as the baseline in the same run as ctsim's table.
import { keyBigint, keyString } from './workload-keys.js';

export interface BaselineEntry {
  id: number;
  state: number;
  timeoutAt: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
}

export interface BaselineRef {
  entry: BaselineEntry;
  dir: 0 | 1;
}

export class StringMapTable {
  readonly map = new Map<string, BaselineRef>();
  insert(e: BaselineEntry): void {
    this.map.set(keyString(e.src, e.dst, e.sport, e.dport), { entry: e, dir: 0 });
    this.map.set(keyString(e.dst, e.src, e.dport, e.sport), { entry: e, dir: 1 });
  }
  remove(e: BaselineEntry): void {
    this.map.delete(keyString(e.src, e.dst, e.sport, e.dport));
    this.map.delete(keyString(e.dst, e.src, e.dport, e.sport));
  }
  lookup(src: number, dst: number, sport: number, dport: number): BaselineRef | undefined {
    return this.map.get(keyString(src, dst, sport, dport));
  }
}

export class BigintMapTable {
  readonly map = new Map<bigint, BaselineRef>();
  insert(e: BaselineEntry): void {
    this.map.set(keyBigint(e.src, e.dst, e.sport, e.dport), { entry: e, dir: 0 });
    this.map.set(keyBigint(e.dst, e.src, e.dport, e.sport), { entry: e, dir: 1 });
  }
  remove(e: BaselineEntry): void {
    this.map.delete(keyBigint(e.src, e.dst, e.sport, e.dport));
    this.map.delete(keyBigint(e.dst, e.src, e.dport, e.sport));
  }
  lookup(src: number, dst: number, sport: number, dport: number): BaselineRef | undefined {
    return this.map.get(keyBigint(src, dst, sport, dport));
  }
}
