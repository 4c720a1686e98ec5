// Seeded hash of a tuple's four 32-bit words (src, dst, sport<<16|dport, proto<<16|zone). The
// kernel uses siphash (>= 5.16) or jhash2 with a random boot seed; ctsim needs a good spread on
// very regular keys (consecutive ports, a few addresses), a seed (reproducible runs; fuzzers can
// vary bucket layouts) and speed: each word is folded in with a multiply-xorshift round and the
// result goes through MurmurHash3's 32-bit finaliser (full avalanche). Pure integer math; the
// result is an int32 (it stays a small integer in V8).

export function hashTuple(seed: number, src: number, dst: number, ports: number, protoZone: number): number {
  let h = Math.imul(seed ^ src, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ ports, 0xc2b2ae35);
  h ^= protoZone;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
