// Traffic for the benchmarks, built outside every timed loop:
//  - a set of live flows shaped like an Istio node's outbound traffic: clients behind 256
//    addresses of 198.18.0.0/16 with their source ports in use again and again, talking to
//    services in 198.19.0.0/16, every connection REDIRECTed to the sidecar at 127.0.0.1:15001
//    (so the REPLY tuple is 127.0.0.1:15001 -> client:port);
//  - which flow each packet belongs to: uniformly at random over all live flows, or Zipf-skewed
//    (exponent 1.0 over all live flows, ranks given to flows in a random order so that the hot
//    flows are scattered through the table as they would be);
//  - rings of real IPv4/TCP packets written from them (wire's emitters, checksums filled), which
//    the timed loops parse: a benchmark never hands the code under test a key it did not read
//    from packet bytes.
import { IpProtocol, Ipv4Packet, TcpSegment, emitIpv4, emitTcp, ip, type Ipv4Repr, type TcpOption, type TcpRepr } from '../src/wire/index.js';

export const SIDECAR = ip('127.0.0.1');
export const SIDECAR_PORT = 15001;
/** The Zipf exponent of the skewed workloads. */
export const ZIPF_EXPONENT = 1.0;

export interface FlowSet {
  n: number;
  client: Int32Array;
  service: Int32Array;
  clientPort: Uint16Array;
  servicePort: Uint16Array;
}

/** n distinct flows (n <= 16,384,000: 256 clients x 64,000 ports; their REPLY tuples are distinct too). */
export function makeFlows(n: number): FlowSet {
  const client = new Int32Array(n);
  const service = new Int32Array(n);
  const clientPort = new Uint16Array(n);
  const servicePort = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    client[i] = (0xc6120000 + (i & 255)) | 0; // 256 client addresses
    const j = i >>> 8;
    clientPort[i] = 1024 + (j % 64000); // every source port in use, again and again
    const k = Math.floor(j / 64000);
    service[i] = (0xc6130000 + (k % 16)) | 0; // 16 services
    servicePort[i] = 80 + Math.floor(k / 16);
  }
  return { n, client, service, clientPort, servicePort };
}

/** A small deterministic generator (xorshift32 pairs): the same seed gives the same traffic. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed | 0 || 0x2545f491;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }

  /** Uniform in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() * 2 ** 21 + (this.u32() >>> 11)) * 2 ** -53 * n);
  }

  /** Uniform in [0, 1). */
  unit(): number {
    return (this.u32() * 2 ** 21 + (this.u32() >>> 11)) * 2 ** -53;
  }
}

/** A deterministic permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export type FlowChoice = 'uniform' | 'zipf';

/** Picks the flow of the next packet. */
export interface FlowChooser {
  next(): number;
}

export function flowChooser(kind: FlowChoice, n: number, seed: number): FlowChooser {
  const rng = new Rng(seed);
  if (kind === 'uniform') return { next: () => rng.below(n) };
  const zipf = new ZipfSampler(n, ZIPF_EXPONENT, rng);
  const flowOfRank = permutation(n, rng);
  return { next: () => flowOfRank[zipf.next() - 1] };
}

/**
 * Zipf-distributed ranks 1..n (P(k) proportional to k^-s) by rejection-inversion (Hörmann and
 * Derflinger, "Rejection-inversion to generate variates from monotone discrete distributions",
 * 1996): O(1) per sample, no table, any n.
 */
export class ZipfSampler {
  private readonly hX1: number;
  private readonly hN: number;
  private readonly sq: number;

  constructor(private readonly n: number, private readonly s: number, private readonly rng: Rng) {
    this.hX1 = this.hIntegral(1.5) - 1;
    this.hN = this.hIntegral(n + 0.5);
    this.sq = 2 - this.hIntegralInverse(this.hIntegral(2.5) - this.h(2));
  }

  next(): number {
    for (;;) {
      const u = this.hN + this.rng.unit() * (this.hX1 - this.hN);
      const x = this.hIntegralInverse(u);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > this.n) k = this.n;
      if (k - x <= this.sq || u >= this.hIntegral(k + 0.5) - this.h(k)) return k;
    }
  }

  private h(x: number): number {
    return Math.exp(-this.s * Math.log(x));
  }

  private hIntegral(x: number): number {
    const logX = Math.log(x);
    return helper2((1 - this.s) * logX) * logX;
  }

  private hIntegralInverse(x: number): number {
    let t = x * (1 - this.s);
    if (t < -1) t = -1;
    return Math.exp(helper1(t) * x);
  }
}

function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + (x / 3) * (1 + 0.25 * x));
}

/**
 * Writes Linux-like IPv4/TCP segments into a buffer: DF, TTL 64, and the timestamps option on
 * every segment after the handshake (NOP NOP TS: a 32-byte TCP header), MSS/SACK_PERM/TS/WS 7 on
 * SYNs, checksums filled. Reuses its representation objects.
 */
export class SegmentWriter {
  private readonly ip: Ipv4Repr = {
    dscp: 0, ecn: 0, identification: 0, reservedFlag: false, dontFragment: true, moreFragments: false, fragmentOffset: 0,
    ttl: 64, protocol: IpProtocol.TCP, src: 0, dst: 0, options: new Uint8Array(0), payloadLength: 0, checksum: 0,
  };
  private readonly ts = { kind: 'timestamp' as const, tsval: 0, tsecr: 0 };
  private readonly dataOptions: TcpOption[] = [{ kind: 'nop' }, { kind: 'nop' }, this.ts];
  private readonly synOptions: TcpOption[] = [{ kind: 'mss', value: 1460 }, { kind: 'sack-permitted' }, this.ts, { kind: 'nop' }, { kind: 'wscale', shift: 7 }];
  private readonly tcp: TcpRepr = {
    srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, reserved: 0, window: 0, urgentPointer: 0, options: [], payload: new Uint8Array(0), checksum: 0,
  };
  private readonly payloads: Uint8Array[] = [];

  /** Writes the segment at buf[off]; returns its length. `syn` selects the SYN options. */
  write(buf: Uint8Array, off: number, src: number, dst: number, sport: number, dport: number, seq: number, ack: number, flags: number, window: number, payloadLen: number, tsval: number, syn = false): number {
    const t = this.tcp;
    t.srcPort = sport;
    t.dstPort = dport;
    t.seq = seq >>> 0;
    t.ack = ack >>> 0;
    t.flags = flags;
    t.window = window;
    t.options = syn ? this.synOptions : this.dataOptions;
    this.ts.tsval = tsval >>> 0;
    this.ts.tsecr = (tsval - 1) >>> 0;
    t.payload = this.payloads[payloadLen] ??= new Uint8Array(payloadLen).fill(0x61);
    const ipr = this.ip;
    ipr.src = src >>> 0;
    ipr.dst = dst >>> 0;
    ipr.payloadLength = 20 + (syn ? 20 : 12) + payloadLen;
    const hl = emitIpv4(ipr, buf, off);
    return hl + emitTcp(t, buf, off + hl, { src: ipr.src, dst: ipr.dst });
  }
}

/**
 * Copies of one segment with other addresses and ports (checksums filled again through wire's
 * views): what the lookup and port-reuse rings need, several times cheaper than writing each
 * segment from its representation, so that preparing a ring costs less wall time than
 * measuring it.
 */
export class SegmentStamp {
  private readonly template: Uint8Array;
  private readonly ip = new Ipv4Packet(new Uint8Array(0));
  private readonly tcp = new TcpSegment(new Uint8Array(0));

  /** The template: a segment as SegmentWriter.write writes it (its addresses and ports are replaced). */
  constructor(write: (buf: Uint8Array) => number) {
    const buf = new Uint8Array(256);
    this.template = buf.slice(0, write(buf));
  }

  get length(): number {
    return this.template.length;
  }

  /** Writes the template at buf[off] with these addresses and ports; returns its length. */
  stamp(buf: Uint8Array, off: number, src: number, dst: number, sport: number, dport: number): number {
    const t = this.template;
    buf.set(t, off);
    const ipv = this.ip.reset(buf, off);
    ipv.src = src >>> 0;
    ipv.dst = dst >>> 0;
    ipv.fillChecksum();
    const hl = ipv.headerLength;
    const seg = this.tcp.reset(buf, off + hl, t.length - hl);
    seg.srcPort = sport;
    seg.dstPort = dport;
    seg.fillChecksum(src >>> 0, dst >>> 0);
    return t.length;
  }
}
