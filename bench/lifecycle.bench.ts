// Connections ending and starting through the engine, at one size: the flows of a FullPath
// (ESTABLISHED, REDIRECTed to the sidecar) are closed and their ports reused, as an Istio node's
// short-lived outbound connections are. One operation = one connection closed and the next one
// opened from the same source port, 9 real packets:
//   teardown   app FIN, sidecar ACK, sidecar FIN, app ACK           -> TIME_WAIT
//   port reuse app SYN (TIME_WAIT is re-opened: nf_conntrack_tcp_packet kills the old entry and
//              returns NF_REPEAT, the SYN creates a new entry, REDIRECTed again), sidecar SYN-ACK,
//              app ACK, a 64-byte data segment, the sidecar's ACK     -> ESTABLISHED
// The table stays at n live entries. Connections are interleaved 64 at a time, step by step
// (64 FINs, then 64 ACKs, ...), so a burst of trackBatch (64 packets) holds 64 different flows,
// as a busy node's ring does; the flows are chosen uniformly at random from all live flows.
// Contenders: trackBatch, trackAndConfirm() one packet at a time (+ REDIRECT binding, NAT), and the
// naive pipeline (parse to objects, Map<string>: a SYN of a known tuple replaces the entry, emit
// with full checksums; it tracks no state or window).
import type { Conntrack } from '../src/conntrack/conntrack.js';
import { BatchVerdicts, PacketBatch } from '../src/conntrack/packet-batch.js';
import { TcpCtState } from '../src/conntrack/tcp-states.js';
import { trackAndConfirm } from '../src/conntrack/track-and-confirm.js';
import { Outcome, type Verdict } from '../src/conntrack/verdict.js';
import { TcpFlag, emitIpv4Tcp, parseIpv4Tcp } from '../src/wire/index.js';
import { StringMapTable, type BaselineEntry } from './baselines.js';
import type { FullPath } from './full-path.bench.js';
import { timeInterleaved, type Contender, type TimingOptions } from './harness.js';
import type { BenchRecord, WorkloadDefinition } from './record.js';
import { Rng, SIDECAR, SIDECAR_PORT, SegmentWriter } from './traffic.js';

const GROUP = 64; // connections interleaved step by step (trackBatch's burst)
/** The workload picks GROUP distinct live flows at a time: smaller tables cannot run it. */
export const LIFECYCLE_MIN_FLOWS = GROUP;
const STEPS = 9; // packets per connection cycle
const GROUPS = 8; // per ring: 512 connections, 4,608 packets
const SLOT = 128;
const DATA = 64;
const ISN_STEP = 0x10000; // the next connection's ISN: past the old one's sequence space

export const LIFECYCLE_DEFINITION: WorkloadDefinition = {
  operation: 'one connection closed and its source port reused: app FIN, sidecar ACK, sidecar FIN, app ACK (TIME_WAIT); app SYN (the TIME_WAIT entry is re-opened: killed, NF_REPEAT, a new entry REDIRECTed), SYN-ACK, ACK, 64-byte data, ACK (ESTABLISHED): 9 packets, every one parsed, looked up, window-checked, state-updated and NATed',
  keys: 'parsed from packet bytes by the engine',
  flows: `uniform over all live flows, ${GROUP} connections interleaved step by step (a trackBatch burst of ${GROUP} packets is ${GROUP} flows)`,
  harness: `packets written into a ring of ${GROUPS * GROUP} connections (${GROUPS * GROUP * STEPS} packets) before each timed run (generator not timed); rewritten in place by the timed loop`,
};

/** Writes rings of connection cycles for the flows of a FullPath. */
class LifecycleTraffic {
  readonly ring = new Uint8Array(GROUPS * GROUP * STEPS * SLOT);
  readonly batch = new PacketBatch(GROUPS * GROUP * STEPS, this.ring);
  private readonly w = new SegmentWriter();
  private readonly rng: Rng;
  private readonly group = new Int32Array(GROUP);
  private ts = 1e6;

  constructor(private readonly s: FullPath, seed: number) {
    this.rng = new Rng(seed);
  }

  /**
   * Fills the ring. With `advance` the flows' sequence numbers move on (the packets must then all
   * be tracked, in order); without, they are left as they are (for the naive contender).
   */
  fill(advance: boolean): void {
    const f = this.s.flows;
    const n = f.n;
    const { appSeq, sideSeq } = this.s;
    const { ACK, FIN, SYN, PSH } = TcpFlag;
    const w = this.w;
    const b = this.batch;
    b.clear();
    let o = 0;
    const put = (len: number) => {
      b.push(o, len);
      o += SLOT;
    };
    for (let g = 0; g < GROUPS; g++) {
      // GROUP distinct flows (a flow twice in one group would see its steps out of order).
      for (let j = 0; j < GROUP; j++) {
        let i: number;
        do i = this.rng.below(n); while (this.group.subarray(0, j).includes(i));
        this.group[j] = i;
      }
      for (let step = 0; step < STEPS; step++) {
        this.ts++;
        for (let j = 0; j < GROUP; j++) {
          const i = this.group[j];
          const a = appSeq[i];
          const sd = sideSeq[i];
          const a2 = (a + ISN_STEP) | 0; // the new connection's ISNs
          const s2 = (sd + ISN_STEP) | 0;
          const c = f.client[i], sv = f.service[i], cp = f.clientPort[i], sp = f.servicePort[i];
          const app = (seq: number, ack: number, flags: number, data: number, syn = false) => w.write(this.ring, o, c, sv, cp, sp, seq, ack, flags, syn ? 64240 : 502, data, this.ts, syn);
          const side = (seq: number, ack: number, flags: number, syn = false) => w.write(this.ring, o, SIDECAR, c, SIDECAR_PORT, cp, seq, ack, flags, syn ? 65483 : 512, 0, this.ts, syn);
          switch (step) {
            case 0: put(app(a, sd, FIN | ACK, 0)); break;
            case 1: put(side(sd, a + 1, ACK)); break;
            case 2: put(side(sd, a + 1, FIN | ACK)); break;
            case 3: put(app(a + 1, sd + 1, ACK, 0)); break;
            case 4: put(app(a2, 0, SYN, 0, true)); break;
            case 5: put(side(s2, a2 + 1, SYN | ACK, true)); break;
            case 6: put(app(a2 + 1, s2 + 1, ACK, 0)); break;
            case 7: put(app(a2 + 1, s2 + 1, PSH | ACK, DATA)); break;
            default:
              put(side(s2 + 1, a2 + 1 + DATA, ACK));
              if (advance) {
                appSeq[i] = (a2 + 1 + DATA) | 0;
                sideSeq[i] = (s2 + 1) | 0;
              }
          }
        }
      }
    }
  }
}

/** The TCP state each step leaves its entry in (checked after every timed run). */
const STATE_AFTER = [TcpCtState.FIN_WAIT, TcpCtState.CLOSE_WAIT, TcpCtState.LAST_ACK, TcpCtState.TIME_WAIT, TcpCtState.SYN_SENT, TcpCtState.SYN_RECV, TcpCtState.ESTABLISHED, TcpCtState.ESTABLISHED, TcpCtState.ESTABLISHED];

function checkStates(out: BatchVerdicts, count: number, who: string): number {
  for (let k = 0; k < count; k++) {
    const step = Math.floor(k / GROUP) % STEPS;
    if (out.outcome[k] !== Outcome.ACCEPT || out.state[k] !== STATE_AFTER[step]) {
      throw new Error(`lifecycle: ${who}: packet ${k} (step ${step}): outcome ${out.outcome[k]}, state ${out.state[k]}, reason ${out.reason[k]}; expected ACCEPT and state ${STATE_AFTER[step]}`);
    }
  }
  return count / STEPS;
}

export function benchLifecycle(s: FullPath, timing: TimingOptions, withMaps: boolean): BenchRecord {
  const n = s.flows.n;
  const ct = s.ct;
  const traffic = new LifecycleTraffic(s, 0x5000 + n);
  const out = new BatchVerdicts(traffic.batch.capacity);
  const redirect = (v: Verdict) => ct.bindNat(v.entry, 'dnat', SIDECAR, SIDECAR_PORT);
  const contenders: Contender[] = [
    {
      name: 'ctsim trackBatch',
      run: () => {
        ct.trackBatch(traffic.batch, s.now, 'output', redirect, out);
        return checkStates(out, traffic.batch.count, 'trackBatch');
      },
    },
    {
      name: 'ctsim track',
      run: () => {
        const b = traffic.batch;
        for (let k = 0; k < b.count; k++) trackOne(ct, traffic.ring, b.off[k], b.len[k], s.now, redirect, out, k);
        return checkStates(out, b.count, 'track');
      },
    },
  ];
  if (withMaps) contenders.push(naiveLifecycle(s, traffic));
  const timings = timeInterleaved(contenders, (name) => {
    s.now += 1e6;
    traffic.fill(name.startsWith('ctsim'));
  }, timing);
  if (ct.count !== n) throw new Error(`lifecycle: ${ct.count} entries after the runs, expected ${n}`);
  process.stderr.write(`  lifecycle @ ${n}: ${timings.map((x) => `${x.impl} ${(x.opsPerSec / 1e6).toFixed(3)} M connections/s (${x.nsPerOp.toFixed(0)} ns)`).join('; ')}\n`);
  const best = timings.filter((x) => x.impl.startsWith('ctsim')).reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a));
  return {
    workload: 'lifecycle', variant: 'teardown + port reuse', entries: n, unit: 'connections/s', definition: LIFECYCLE_DEFINITION, opsPerSec: best.opsPerSec,
    results: timings.map((x) => ({ impl: x.impl, opsPerSec: x.opsPerSec, nsPerOp: x.nsPerOp, p10NsPerOp: x.p10NsPerOp, p90NsPerOp: x.p90NsPerOp, rounds: x.rounds })),
    bytesPerEntry: ct.table.memoryBytes().index / n, detail: { packetsPerConnection: STEPS, stats: { ...ct.stats } },
  };
}

/** One packet the way a host's hooks treat it: track, REDIRECT a new entry, confirm (trackAndConfirm), NAT both ways. */
function trackOne(ct: Conntrack, buf: Uint8Array, off: number, len: number, now: number, redirect: (v: Verdict) => void, out: BatchVerdicts, k: number): void {
  const v = trackAndConfirm(ct, buf, off, len, now, 'output', redirect);
  if (v.entry >= 0 && !v.destroyed) {
    ct.natManip(buf, off, v.entry, v.dir, 'dst');
    ct.natManip(buf, off, v.entry, v.dir, 'src');
  }
  out.outcome[k] = v.outcome;
  out.state[k] = v.stateAfter;
  out.reason[k] = v.reason.code;
}

/** The naive pipeline on the same packets: repr objects, Map<string>, a known tuple's SYN replaces its entry. */
function naiveLifecycle(s: FullPath, traffic: LifecycleTraffic): Contender {
  const f = s.flows;
  const smap = new StringMapTable();
  for (let i = 0; i < f.n; i++) {
    smap.insert({ id: i, state: 3, timeoutAt: 0, src: f.client[i] >>> 0, dst: f.service[i] >>> 0, sport: f.clientPort[i], dport: f.servicePort[i], rsrc: SIDECAR >>> 0, rsport: SIDECAR_PORT });
  }
  return {
    name: 'naive (repr + Map<string> + full checksums)',
    run: () => {
      const b = traffic.batch;
      for (let k = 0; k < b.count; k++) {
        const r = parseIpv4Tcp(traffic.ring, b.off[k]);
        let ref = smap.lookup(r.ip.src, r.ip.dst, r.tcp.srcPort, r.tcp.dstPort);
        if (!ref) throw new Error('naive lifecycle: lookup missed');
        if (r.tcp.flags & TcpFlag.SYN && ref.dir === 0) {
          const e: BaselineEntry = { ...ref.entry, id: ref.entry.id + 1, state: 1 };
          smap.remove(ref.entry);
          smap.insert(e);
          ref = smap.lookup(r.ip.src, r.ip.dst, r.tcp.srcPort, r.tcp.dstPort)!;
        }
        ref.entry.state = r.tcp.flags & TcpFlag.FIN ? 4 : 3;
        ref.entry.timeoutAt = Date.now() + 120e3;
        if (ref.dir === 0) {
          r.ip.dst = SIDECAR >>> 0;
          r.tcp.dstPort = SIDECAR_PORT;
        } else {
          r.ip.src = ref.entry.dst;
          r.tcp.srcPort = ref.entry.dport;
        }
        emitIpv4Tcp(r);
      }
      return b.count / STEPS;
    },
  };
}
