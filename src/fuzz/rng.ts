// The fuzzer's only source of randomness: src/sim/prng.ts (xoshiro128**) with the helpers
// generators need. Never Math.random: a case must be the same bytes on every run.
import { Prng } from '../sim/prng.js';

export class FuzzRng {
  private readonly prng: Prng;

  constructor(seed: number) {
    this.prng = new Prng(seed);
  }

  u32(): number {
    return this.prng.nextU32();
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return this.prng.int(lo, hi);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.prng.nextFloat() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.prng.int(0, items.length - 1)];
  }

  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    let total = 0;
    for (const [w] of items) total += w;
    let r = this.prng.nextFloat() * total;
    for (const [w, v] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return items[items.length - 1][1];
  }

  /** Mostly small, sometimes large: a geometric-ish count in [lo, hi]. */
  small(lo: number, hi: number): number {
    let n = lo;
    while (n < hi && this.chance(0.5)) n++;
    return n;
  }
}
