// The full packet path at one size: raw IPv4/TCP bytes -> parse -> lookup -> tcp_in_window ->
// state update -> REDIRECT rewrite with RFC 1624 incremental checksums, over connections that
// went through a real handshake in the engine (app -> service REDIRECTed to 127.0.0.1:15001,
// window scaling and SACK negotiated, timestamps on every segment, as Linux sends them). Every
// packet belongs to a flow chosen uniformly at random (or Zipf) from all live flows and goes
// either way: the app's 64-byte data segments, the sidecar's ACKs; sequence numbers advance as
// the connections' would, so every packet is in window and each is tracked exactly once.
// Contenders: trackBatch, track() one packet at a time, and the naive pipeline (parse to
// objects, Map<string>, re-emit with full checksums).
import { Conntrack } from '../src/conntrack/conntrack.js';
import { BatchVerdicts, PacketBatch } from '../src/conntrack/packet-batch.js';
import { Outcome, type Verdict } from '../src/conntrack/verdict.js';
import { TcpFlag, emitIpv4Tcp, parseIpv4Tcp } from '../src/wire/index.js';
import { StringMapTable, type BaselineEntry } from './baselines.js';
import { timeInterleaved, type Contender, type Timing, type TimingOptions } from './harness.js';
import type { BenchRecord, WorkloadDefinition } from './record.js';
import { Rng, SIDECAR, SIDECAR_PORT, SegmentWriter, ZIPF_EXPONENT, flowChooser, type FlowChoice, type FlowChooser, type FlowSet } from './traffic.js';

/** Packets per ring (one round of the full path). */
export const FULL_PATH_RING = 4096;
const RING = FULL_PATH_RING;
const SLOT = 128; // bytes per packet in the ring: 52-byte headers + 64 bytes of data
const DATA = 64;
const SETUP_CHUNK = 4096;
const CLIENT_WINDOW = 502; // x 2^7 (window scale 7): 64,256 bytes
const SIDECAR_WINDOW = 512;

export function fullPathDefinition(choice: FlowChoice): WorkloadDefinition {
  return {
    operation: 'one packet: parse, lookup, tcp_in_window, state and timeout update, REDIRECT rewrite with incremental checksums (DNAT of the app\'s segments, the source of the sidecar\'s restored)',
    keys: 'parsed from packet bytes by the engine',
    flows: `${choice === 'zipf' ? `Zipf, exponent ${ZIPF_EXPONENT}, over` : 'uniform over'} all live ESTABLISHED flows; app -> service 64-byte data or sidecar -> app ACK at random; timestamps option on every segment`,
    harness: 'packets written into a ring of 4,096 before each timed run (generator not timed); rewritten in place by the timed loop',
  };
}

export interface FullPath {
  ct: Conntrack;
  flows: FlowSet;
  /** Per flow: the next sequence number of the app and of the sidecar (int32). */
  appSeq: Int32Array;
  sideSeq: Int32Array;
  /** The virtual clock (ns) every workload on these flows moves on: never back (timeouts are real). */
  now: number;
}

/** Establishes every flow of `f` through the engine (SYN, SYN-ACK, ACK; REDIRECT on the SYN). */
export function setupFullPath(f: FlowSet): FullPath {
  const n = f.n;
  const ct = new Conntrack({ kernel: '6.18', sysctls: [`nf_conntrack_max=${n}`], initialCapacity: n, seed: 7 });
  const appSeq = new Int32Array(n);
  const sideSeq = new Int32Array(n);
  const buf = new Uint8Array(SETUP_CHUNK * SLOT);
  const batch = new PacketBatch(SETUP_CHUNK, buf);
  const out = new BatchVerdicts(SETUP_CHUNK);
  const w = new SegmentWriter();
  const redirect = (v: Verdict) => ct.bindNat(v.entry, 'dnat', SIDECAR, SIDECAR_PORT);
  const { SYN, ACK } = TcpFlag;
  for (let first = 0; first < n; first += SETUP_CHUNK) {
    const m = Math.min(SETUP_CHUNK, n - first);
    for (let step = 0; step < 3; step++) {
      batch.clear();
      for (let j = 0; j < m; j++) {
        const i = first + j;
        const cs = Math.imul(i, 0x9e3779b1);
        const ss = Math.imul(i, 0x85ebca6b);
        const o = j * SLOT;
        let len: number;
        if (step === 0) len = w.write(buf, o, f.client[i], f.service[i], f.clientPort[i], f.servicePort[i], cs, 0, SYN, 64240, 0, 1, true);
        else if (step === 1) len = w.write(buf, o, SIDECAR, f.client[i], SIDECAR_PORT, f.clientPort[i], ss, cs + 1, SYN | ACK, 65483, 0, 2, true);
        else len = w.write(buf, o, f.client[i], f.service[i], f.clientPort[i], f.servicePort[i], cs + 1, ss + 1, ACK, CLIENT_WINDOW, 0, 3);
        batch.push(o, len);
        appSeq[i] = cs + 1;
        sideSeq[i] = ss + 1;
      }
      ct.trackBatch(batch, 0, 'output', redirect, out);
      for (let j = 0; j < m; j++) if (out.outcome[j] !== Outcome.ACCEPT) throw new Error(`full path setup: flow ${first + j} step ${step}: outcome ${out.outcome[j]} reason ${out.reason[j]}`);
    }
  }
  if (ct.count !== n) throw new Error(`full path setup: ${ct.count} entries for ${n} flows`);
  return { ct, flows: f, appSeq, sideSeq, now: 0 };
}

/** Fills rings of in-window packets for the flows of a FullPath. */
export class FullPathTraffic {
  readonly ring = new Uint8Array(RING * SLOT);
  readonly batch = new PacketBatch(RING, this.ring);
  private readonly w = new SegmentWriter();
  private readonly pick: FlowChooser;
  private readonly rng: Rng;
  private ts = 10;

  constructor(private readonly s: FullPath, choice: FlowChoice, seed: number) {
    this.pick = flowChooser(choice, s.flows.n, seed);
    this.rng = new Rng(seed ^ 0x7e57);
  }

  /**
   * Writes RING packets. With `advance` the flows' sequence numbers move on (the packets must
   * then all be tracked, in order); without, the packets repeat current numbers (for contenders
   * that do not track windows).
   */
  fill(advance: boolean): void {
    const f = this.s.flows;
    const { appSeq, sideSeq } = this.s;
    const b = this.batch;
    b.clear();
    for (let k = 0; k < RING; k++) {
      const i = this.pick.next();
      const o = k * SLOT;
      let len: number;
      this.ts++;
      if (this.rng.u32() & 1) {
        len = this.w.write(this.ring, o, f.client[i], f.service[i], f.clientPort[i], f.servicePort[i], appSeq[i], sideSeq[i], TcpFlag.ACK | TcpFlag.PSH, CLIENT_WINDOW, DATA, this.ts);
        if (advance) appSeq[i] += DATA;
      } else {
        len = this.w.write(this.ring, o, SIDECAR, f.client[i], SIDECAR_PORT, f.clientPort[i], sideSeq[i], appSeq[i], TcpFlag.ACK, SIDECAR_WINDOW, 0, this.ts);
      }
      b.push(o, len);
    }
  }
}

/** The one-packet-at-a-time path over a filled ring: track, then both NAT manipulations. Returns ACCEPTed packets. */
export function trackRing(ct: Conntrack, t: FullPathTraffic, now: number): number {
  const b = t.batch;
  const buf = t.ring;
  let accepted = 0;
  for (let k = 0; k < b.count; k++) {
    const off = b.off[k];
    const v = ct.track(buf, off, b.len[k], now, 'output');
    if (v.entry >= 0) {
      ct.natManip(buf, off, v.entry, v.dir, 'dst');
      ct.natManip(buf, off, v.entry, v.dir, 'src');
    }
    if (v.outcome === Outcome.ACCEPT) accepted++;
  }
  return accepted;
}

/** trackBatch over a filled ring. Returns ACCEPTed packets. */
export function trackRingBatched(ct: Conntrack, t: FullPathTraffic, now: number, out: BatchVerdicts): number {
  ct.trackBatch(t.batch, now, 'output', null, out);
  let accepted = 0;
  for (let k = 0; k < t.batch.count; k++) if (out.outcome[k] === Outcome.ACCEPT) accepted++;
  return accepted;
}

export interface FullPathOptions {
  timing: TimingOptions;
  mapLimit: number;
}

export function benchFullPath(s: FullPath, choice: FlowChoice, opts: FullPathOptions): BenchRecord {
  const n = s.flows.n;
  const traffic = new FullPathTraffic(s, choice, 0x3000 + n);
  const out = new BatchVerdicts(RING);
  const expectAll = (accepted: number, who: string) => {
    if (accepted !== RING) throw new Error(`full path ${choice} @ ${n}: ${who} accepted ${accepted} of ${RING} packets`);
    return RING;
  };
  const contenders: Contender[] = [
    { name: 'ctsim trackBatch', run: () => expectAll(trackRingBatched(s.ct, traffic, s.now, out), 'trackBatch') },
    { name: 'ctsim track', run: () => expectAll(trackRing(s.ct, traffic, s.now), 'track') },
  ];
  if (n <= opts.mapLimit) contenders.push(naivePipeline(s, traffic));
  const timings = timeInterleaved(contenders, (name) => {
    s.now += 1e6;
    traffic.fill(name.startsWith('ctsim'));
  }, opts.timing);
  process.stderr.write(`  full path ${choice} @ ${n}: ${timings.map((x) => `${x.impl} ${(x.opsPerSec / 1e6).toFixed(2)} M packets/s (${x.nsPerOp.toFixed(0)} ns)`).join('; ')}\n`);
  const best = timings.filter((x) => x.impl.startsWith('ctsim')).reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a));
  return {
    workload: 'full-path', variant: choice, entries: n, unit: 'packets/s', definition: fullPathDefinition(choice), opsPerSec: best.opsPerSec,
    results: timings.map((x: Timing) => ({ impl: x.impl, opsPerSec: x.opsPerSec, nsPerOp: x.nsPerOp, p10NsPerOp: x.p10NsPerOp, p90NsPerOp: x.p90NsPerOp, rounds: x.rounds })),
    bytesPerEntry: s.ct.table.memoryBytes().index / n,
  };
}

/** The naive pipeline: parse to representation objects, Map<string> lookup, rewrite, emit with full checksums. */
function naivePipeline(s: FullPath, traffic: FullPathTraffic): Contender {
  const f = s.flows;
  const smap = new StringMapTable();
  for (let i = 0; i < f.n; i++) {
    const e: BaselineEntry = { id: i, state: 3, timeoutAt: 0, src: f.client[i] >>> 0, dst: f.service[i] >>> 0, sport: f.clientPort[i], dport: f.servicePort[i], rsrc: SIDECAR >>> 0, rsport: SIDECAR_PORT };
    smap.insert(e);
  }
  return {
    name: 'naive (repr + Map<string> + full checksums)',
    run: () => {
      const b = traffic.batch;
      for (let k = 0; k < b.count; k++) {
        const r = parseIpv4Tcp(traffic.ring, b.off[k]);
        const ref = smap.lookup(r.ip.src, r.ip.dst, r.tcp.srcPort, r.tcp.dstPort);
        if (!ref) throw new Error('naive: lookup missed');
        ref.entry.state = 3;
        ref.entry.timeoutAt = Date.now() + 432000e3;
        if (ref.dir === 0) {
          r.ip.dst = SIDECAR >>> 0;
          r.tcp.dstPort = SIDECAR_PORT;
        } else {
          r.ip.src = ref.entry.dst;
          r.tcp.srcPort = ref.entry.dport;
        }
        emitIpv4Tcp(r);
      }
      return b.count;
    },
  };
}
