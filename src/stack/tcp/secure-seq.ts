// Initial sequence numbers and timestamp offsets as Linux derives them (net/core/secure_seq.c):
// a SipHash-2-4 of the 4-tuple under a secret boot key, plus the wall clock in 64 ns units
// (seq_scale(): ktime_get_real_ns() >> 6, a period of 2^38 ns = 274.9 s). So two connections of
// the same 4-tuple get ISNs (t2 - t1) / 64 ns apart: a reconnect within 2^31 x 64 ns = 137.4 s
// starts after the old connection's sequence space, one 137.4-274.9 s later before it.
// The timestamp offset (tp->tsoffset) is the other half of the same hash on kernels with "tcp:
// secure_seq: add back ports to TS offset" (per 4-tuple; Debian's 6.12.117 and the running
// 6.18.44 have it); before, secure_tcp_ts_off() hashed the address pair only under its own key
// (28ee1b746f49 "secure_seq: downgrade to per-host timestamp offsets", v4.12). With
// net.ipv4.tcp_timestamps != 1 the offset is 0. The key comes from the run's seed (the kernel's is
// random per boot), so only the clock part of an ISN difference is meaningful, as on a real host.

const M64 = (1n << 64n) - 1n;

const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M64;

/** SipHash-2-4 (Aumasson, Bernstein 2012) of little-endian 64-bit message words, the last one carrying the length byte. */
export function sipHash24(k0: bigint, k1: bigint, words: readonly bigint[]): bigint {
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = () => {
    v0 = (v0 + v1) & M64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  for (const m of words) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  return (v0 ^ v1 ^ v2 ^ v3) & M64;
}

const u32 = (x: number) => BigInt(x >>> 0);

/** siphash_3u32(a, b, c): 12 bytes, a and b as one word, c in the final block. */
export function siphash3u32(k0: bigint, k1: bigint, a: number, b: number, c: number): bigint {
  return sipHash24(k0, k1, [(u32(b) << 32n) | u32(a), (12n << 56n) | u32(c)]);
}

/** siphash_2u32(a, b) = siphash_1u64(b << 32 | a): 8 bytes, then a block holding only the length. */
export function siphash2u32(k0: bigint, k1: bigint, a: number, b: number): bigint {
  return sipHash24(k0, k1, [(u32(b) << 32n) | u32(a), 8n << 56n]);
}

export interface SeqAndTsOff {
  seq: number;
  tsOff: number;
}

export class SecureSeq {
  private readonly key: [bigint, bigint];
  private readonly tsKey: [bigint, bigint];

  /** Keys from eight random 32-bit words: four for net_secret, four for ts_secret. */
  constructor(secrets: readonly number[], private readonly tsOffsetPerTuple: boolean) {
    const word = (i: number) => (u32(secrets[i]) << 32n) | u32(secrets[i + 1]);
    this.key = [word(0), word(2)];
    this.tsKey = [word(4), word(6)];
  }

  /**
   * secure_tcp_seq_and_ts_off(saddr, daddr, sport, dport) at ISN clock `isnClock` (the kernel's
   * (real ns >> 6) mod 2^32); `timestamps` is net.ipv4.tcp_timestamps.
   */
  seqAndTsOff(saddr: number, daddr: number, sport: number, dport: number, isnClock: number, timestamps: number): SeqAndTsOff {
    const h = siphash3u32(this.key[0], this.key[1], saddr, daddr, ((sport << 16) | dport) >>> 0);
    const lo = Number(h & 0xffffffffn);
    const hi = Number(h >> 32n);
    let tsOff = 0;
    if (timestamps === 1) tsOff = this.tsOffsetPerTuple ? hi : Number(siphash2u32(this.tsKey[0], this.tsKey[1], saddr, daddr) & 0xffffffffn);
    return { seq: (lo + isnClock) >>> 0, tsOff: tsOff >>> 0 };
  }
}
