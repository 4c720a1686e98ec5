// Tuples for the table workloads: many clients behind a few addresses of 198.18.0.0/16 talking
// to a handful of services in 198.19.0.0/16, source ports recycled: the shape of heavy port reuse.

export interface TupleSet {
  n: number;
  src: Int32Array;
  dst: Int32Array;
  sport: Uint16Array;
  dport: Uint16Array;
}

export function makeTuples(n: number): TupleSet {
  const src = new Int32Array(n);
  const dst = new Int32Array(n);
  const sport = new Uint16Array(n);
  const dport = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    src[i] = (0xc6120000 + (i & 255)) | 0; // 256 client addresses
    const j = i >>> 8;
    sport[i] = 1024 + (j % 64000); // every source port in use, again and again
    const k = Math.floor(j / 64000);
    dst[i] = (0xc6130000 + (k % 16)) | 0; // 16 services
    dport[i] = 80 + Math.floor(k / 16);
  }
  return { n, src, dst, sport, dport };
}

/** A deterministic permutation of 0..n-1 (random visiting order). */
export function permutation(n: number, seed = 12345): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let x = seed | 0;
  for (let i = n - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    const j = (x >>> 1) % (i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export function keyString(src: number, dst: number, sport: number, dport: number): string {
  return `${src >>> 0}:${sport}>${dst >>> 0}:${dport}`;
}

export function keyBigint(src: number, dst: number, sport: number, dport: number): bigint {
  return (BigInt(src >>> 0) << 64n) | (BigInt(dst >>> 0) << 32n) | BigInt(((sport << 16) | dport) >>> 0);
}
