// The Internet checksum (RFC 1071) and its incremental update (RFC 1624), used by NAT to
// patch a rewritten address or port without re-summing the packet. All functions work on
// plain numbers and typed arrays and allocate nothing.

/** Adds the 16-bit big-endian words of buf[off, off+len) to acc (an odd final byte is padded with zero). */
export function sumWords(buf: Uint8Array, off: number, len: number, acc = 0): number {
  const end = off + (len & ~1);
  let i = off;
  // Unrolled by 4 words: the checksum sits on every emitted and every NAT-verified packet.
  for (; i + 8 <= end; i += 8) {
    acc += ((buf[i] << 8) | buf[i + 1]) + ((buf[i + 2] << 8) | buf[i + 3]) +
      ((buf[i + 4] << 8) | buf[i + 5]) + ((buf[i + 6] << 8) | buf[i + 7]);
  }
  for (; i < end; i += 2) acc += (buf[i] << 8) | buf[i + 1];
  if (len & 1) acc += buf[off + len - 1] << 8;
  return acc;
}

/** Folds carries back into the low 16 bits (end-around carry of one's-complement addition). */
export function foldCarries(acc: number): number {
  // Division instead of >>> keeps sums above 2^32 (very long buffers) exact.
  while (acc > 0xffff) acc = (acc % 0x10000) + Math.floor(acc / 0x10000);
  return acc;
}

/** RFC 1071 checksum of buf[off, off+len) on top of a partial sum (e.g. a pseudo-header). */
export function internetChecksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return ~foldCarries(sumWords(buf, off, len, initial)) & 0xffff;
}

/** Sum of the TCP/UDP IPv4 pseudo-header (RFC 793 §3.1): src, dst, zero+protocol, L4 length. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, l4Length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + l4Length;
}

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one 16-bit word changing from m to m'.
 * (Eqn. 2 of RFC 1141 gets -0 wrong; eqn. 3 matches a full recomputation.)
 */
export function checksumUpdate16(checksum: number, oldWord: number, newWord: number): number {
  return ~foldSmallSum((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** RFC 1624 update for a 32-bit field (an IPv4 address): both 16-bit halves at once. */
export function checksumUpdate32(checksum: number, oldValue: number, newValue: number): number {
  const sum = (~checksum & 0xffff) +
    (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff) +
    ((newValue >>> 16) & 0xffff) + (newValue & 0xffff);
  return ~foldSmallSum(sum) & 0xffff;
}

/**
 * foldCarries() for a sum of at most 16 words (below 2^20), as NAT's updates are: two
 * end-around folds always suffice, and bit operations keep it in integer registers (the general
 * fold, exact for sums beyond 2^32, divides in floating point).
 */
function foldSmallSum(sum: number): number {
  const once = (sum & 0xffff) + (sum >>> 16);
  return (once & 0xffff) + (once >>> 16);
}
