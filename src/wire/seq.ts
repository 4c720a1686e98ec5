// TCP sequence-number arithmetic modulo 2^32 (RFC 793 §3.3, RFC 1982 serial numbers).
// Like the kernel's before()/after(): compare by the sign of the 32-bit difference, never with a
// raw < on sequence numbers. Values are unsigned 32-bit numbers (0 .. 2^32-1).

/** (a - b) as a signed 32-bit number. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a + n modulo 2^32, as an unsigned number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** a strictly before b (kernel `before(a, b)`). */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a before or equal to b. */
export function seqLeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** a strictly after b (kernel `after(a, b)`). */
export function seqAfter(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/** a after or equal to b. */
export function seqGeq(a: number, b: number): boolean {
  return ((b - a) | 0) <= 0;
}

/** b <= a <= c in sequence space (RFC 793 §3.3 "a <= b <= c" tests). */
export function seqBetween(a: number, lo: number, hi: number): boolean {
  return ((hi - lo) >>> 0) >= ((a - lo) >>> 0);
}

/** a - b modulo 2^32, as an unsigned number: how far a lies after b (relative sequence numbers). */
export function seqSub(a: number, b: number): number {
  return (a - b) >>> 0;
}
