import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { seqAdd, seqAfter, seqBetween, seqDiff, seqGeq, seqLeq, seqLt, seqSub } from '../../src/wire/index.js';

describe('sequence-number arithmetic (mod 2^32)', () => {
  it('wraps around', () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqAdd(0xfffffff0, 0x20)).toBe(0x10);
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqAfter(0x10, 0xfffffff0)).toBe(true);
    expect(seqDiff(0x10, 0xfffffff0)).toBe(0x20);
    expect(seqLeq(5, 5) && seqGeq(5, 5) && !seqLt(5, 5) && !seqAfter(5, 5)).toBe(true);
    expect(seqBetween(0x5, 0xfffffffe, 0x10)).toBe(true);
    expect(seqBetween(0x11, 0xfffffffe, 0x10)).toBe(false);
    expect(seqSub(0x10, 0xfffffff0)).toBe(0x20);
    expect(seqSub(0xfffffff0, 0x10)).toBe(0xffffffe0);
    expect(seqAdd(0xfffffff0, seqSub(0x10, 0xfffffff0))).toBe(0x10);
  });

  it('matches the kernel definition before(a,b) = (s32)(a-b) < 0 for all a,b', () => {
    fc.assert(fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), (a, b) => {
      const d = Number(BigInt.asIntN(32, BigInt(a) - BigInt(b)));
      expect(seqLt(a, b)).toBe(d < 0);
      expect(seqAfter(a, b)).toBe(d > 0);
      expect(seqDiff(a, b)).toBe(d);
    }));
  });

  it('a + n is after a for 0 < n < 2^31', () => {
    fc.assert(fc.property(fc.nat(0xffffffff), fc.integer({ min: 1, max: 0x7fffffff }), (a, n) => {
      expect(seqAfter(seqAdd(a, n), a)).toBe(true);
      expect(seqBetween(seqAdd(a, n), a, seqAdd(a, 0x7fffffff))).toBe(true);
    }));
  });
});
