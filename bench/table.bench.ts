// Table workloads at one size, ctsim's table against the baselines in the same run, keys parsed
// from packet bytes:
//  lookup: a ring of 4,096 packets of live flows (or of flows that are not in the table, for
//    misses), each from the ORIGINAL or the REPLY side at random; one operation = parse the
//    tuple from the packet and look it up.
//  port-reuse: the table's share of a connection that reuses a port whose old entry is still in
//    the table: the SYN's lookup finds the old entry, which is deleted (the re-open, NF_REPEAT),
//    the lookup is repeated (a miss), the new entry is inserted under both tuples, then the
//    SYN-ACK (REPLY side) and the ACK (ORIGINAL side) are looked up; one operation = one such
//    cycle (3 packets parsed, 4 lookups, 2 deletions, 2 insertions).
import { ConnTable, NO_REF, PZ_TCP } from '../src/conntrack/conn-table.js';
import { Ipv4Packet, TcpFlag, TcpSegment } from '../src/wire/index.js';
import { BigintMapTable, PlainTable, StringMapTable, type BaselineEntry, type BaselineRef } from './baselines.js';
import { timeInterleaved, type Contender, type Timing, type TimingOptions } from './harness.js';
import type { BenchRecord, WorkloadDefinition } from './record.js';
import { SIDECAR, SIDECAR_PORT, SegmentStamp, SegmentWriter, ZIPF_EXPONENT, flowChooser, Rng, type FlowChoice, type FlowSet } from './traffic.js';

const RING = 4096;
const SLOT = 64; // bytes per packet in the ring (52-byte headers)
const BATCH = 16;
const CYCLES = 1024; // port-reuse cycles per ring (3 packets each)
/** Port 9 (discard) is never a service port in the flow set: such tuples are not in the table. */
const ABSENT_PORT = 9;

const HARNESS = 'packets written into a ring before each timed run (generator and writes not timed); the timed loop reads them from the ring, as from a NIC ring';

export function lookupDefinition(variant: string): WorkloadDefinition {
  return {
    operation: 'parse the IPv4/TCP tuple from a packet and look it up in the table',
    keys: 'parsed from packet bytes (IHL, addresses, ports): ORIGINAL or REPLY side at random',
    flows: variant.startsWith('zipf')
      ? `Zipf, exponent ${ZIPF_EXPONENT}, over all live flows (ranks given to flows in random order)`
      : variant.includes('miss') ? 'uniform over all live flows, destination port changed to one no flow uses (every lookup misses)' : 'uniform over all live flows',
    harness: HARNESS,
  };
}

export const PORT_REUSE_DEFINITION: WorkloadDefinition = {
  operation: 'one port reuse: SYN lookup finds the old entry, delete it, look up again (miss), insert the new entry under both tuples, SYN-ACK lookup, ACK lookup',
  keys: 'parsed from the SYN, SYN-ACK and ACK packets\' bytes',
  flows: 'uniform over all live flows (the reused port is a random live flow\'s)',
  harness: HARNESS,
};

/** The tuple of the packet at buf[off] through wire's views (IHL finds the TCP header, as tcp_pkt_to_tuple does): what every contender parses. */
class Tuple {
  src = 0;
  dst = 0;
  ports = 0;
  private readonly ip = new Ipv4Packet(new Uint8Array(0));
  private readonly tcp = new TcpSegment(new Uint8Array(0));
  read(buf: Uint8Array, off: number): this {
    const ip = this.ip.reset(buf, off);
    const hl = ip.headerLength;
    this.src = ip.srcI32;
    this.dst = ip.dstI32;
    this.ports = this.tcp.reset(buf, off + hl, ip.totalLength - hl).portsI32;
    return this;
  }
}

interface Tables {
  ctsim: ConnTable;
  plain: PlainTable;
  smap: StringMapTable | null;
  bmap: BigintMapTable | null;
  entries: BaselineEntry[];
}

function buildTables(f: FlowSet, withMaps: boolean): Tables {
  const n = f.n;
  const ctsim = new ConnTable({ maxEntries: n, initialCapacity: n, seed: 42 });
  const plain = new PlainTable(2 * n);
  const smap = withMaps ? new StringMapTable() : null;
  const bmap = withMaps ? new BigintMapTable() : null;
  const entries: BaselineEntry[] = [];
  for (let i = 0; i < n; i++) {
    const e = ctsim.allocate();
    ctsim.setTuple(e, 0, f.client[i], f.service[i], f.clientPort[i], f.servicePort[i], PZ_TCP);
    ctsim.setTuple(e, 1, SIDECAR, f.client[i], SIDECAR_PORT, f.clientPort[i], PZ_TCP);
    if (!ctsim.link(e) || e !== i) throw new Error('table setup: duplicate tuple');
    plain.set(f.client[i], f.service[i], (f.clientPort[i] << 16) | f.servicePort[i], i * 2);
    plain.set(SIDECAR, f.client[i], (SIDECAR_PORT << 16) | f.clientPort[i], i * 2 + 1);
    if (withMaps) {
      const be: BaselineEntry = { id: i, state: 3, timeoutAt: 0, src: f.client[i], dst: f.service[i], sport: f.clientPort[i], dport: f.servicePort[i], rsrc: SIDECAR, rsport: SIDECAR_PORT };
      entries.push(be);
      smap!.insert(be);
      bmap!.insert(be);
    }
  }
  return { ctsim, plain, smap, bmap, entries };
}

function record(workload: 'lookup' | 'port-reuse', variant: string, entries: number, unit: string, definition: WorkloadDefinition, timings: Timing[], indexBytes: number, detail: Record<string, unknown>): BenchRecord {
  const ctsimBest = timings.filter((t) => t.impl.startsWith('ctsim')).reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a));
  return {
    workload, variant, entries, unit, definition, opsPerSec: ctsimBest.opsPerSec,
    results: timings.map((t) => ({ impl: t.impl, opsPerSec: t.opsPerSec, nsPerOp: t.nsPerOp, p10NsPerOp: t.p10NsPerOp, p90NsPerOp: t.p90NsPerOp, rounds: t.rounds })),
    bytesPerEntry: indexBytes / entries, detail,
  };
}

export interface TableBenchOptions {
  timing: TimingOptions;
  /** Map baselines run up to this many entries (their memory grows past a few GB beyond). */
  mapLimit: number;
}

export function benchTable(f: FlowSet, opts: TableBenchOptions): BenchRecord[] {
  const n = f.n;
  const withMaps = n <= opts.mapLimit;
  const t = buildTables(f, withMaps);
  const out: BenchRecord[] = [];
  const indexBytes = t.ctsim.memoryBytes().index;
  const health = { meanProbe: t.ctsim.meanProbeDistance(), maxProbe: t.ctsim.maxProbeDistance(), homeLineShare: t.ctsim.homeLineShare(), plainTableBytesPerEntry: t.plain.bytes / n };
  for (const variant of ['uniform hits', 'zipf hits', 'uniform misses']) {
    const timings = benchLookups(f, t, variant, opts.timing);
    out.push(record('lookup', variant, n, 'lookups/s', lookupDefinition(variant), timings, indexBytes, { ...health, mapsSkipped: !withMaps }));
    report(`lookup ${variant}`, n, timings, 'lookups/s');
  }
  const timings = benchPortReuse(f, t, opts.timing);
  out.push(record('port-reuse', 'uniform', n, 'cycles/s', PORT_REUSE_DEFINITION, timings, t.ctsim.memoryBytes().index, {
    meanProbeAfter: t.ctsim.meanProbeDistance(), homeLineShareAfter: t.ctsim.homeLineShare(), mapsSkipped: !withMaps,
  }));
  report('port-reuse', n, timings, 'cycles/s');
  return out;
}

function report(name: string, n: number, ts: Timing[], unit: string): void {
  process.stderr.write(`  ${name} @ ${n}: ${ts.map((x) => `${x.impl} ${(x.opsPerSec / 1e6).toFixed(2)} M ${unit} (${x.nsPerOp.toFixed(0)} ns)`).join('; ')}\n`);
}

/** A ring of packets, one per RING slot, each for a chosen flow from a random side. */
function lookupRing(f: FlowSet, choice: FlowChoice, miss: boolean, seed: number): { ring: Uint8Array; fill: () => void } {
  const ring = new Uint8Array(RING * SLOT);
  const w = new SegmentWriter();
  const app = new SegmentStamp((b) => w.write(b, 0, 0, 0, 0, 0, 1, 1, TcpFlag.ACK, 502, 0, 1));
  const side = new SegmentStamp((b) => w.write(b, 0, 0, 0, 0, 0, 1, 1, TcpFlag.ACK, 512, 0, 1));
  const pick = flowChooser(choice, f.n, seed);
  const rng = new Rng(seed ^ 0x51ed);
  return {
    ring,
    fill: () => {
      for (let k = 0; k < RING; k++) {
        const i = pick.next();
        if (rng.u32() & 1) app.stamp(ring, k * SLOT, f.client[i], f.service[i], f.clientPort[i], miss ? ABSENT_PORT : f.servicePort[i]);
        else side.stamp(ring, k * SLOT, SIDECAR, f.client[i], SIDECAR_PORT, miss ? ABSENT_PORT : f.clientPort[i]);
      }
    },
  };
}

function benchLookups(f: FlowSet, t: Tables, variant: string, timing: TimingOptions): Timing[] {
  const miss = variant.includes('miss');
  const { ring, fill } = lookupRing(f, variant.startsWith('zipf') ? 'zipf' : 'uniform', miss, 0x1000 + f.n);
  const want = miss ? 0 : RING;
  const tp = new Tuple();
  const table = t.ctsim;
  // Two batches' worth: the one being compared and the next one.
  const hs = new Int32Array(2 * BATCH);
  const srcs = new Int32Array(2 * BATCH);
  const dsts = new Int32Array(2 * BATCH);
  const ports = new Int32Array(2 * BATCH);
  let sink = 0;
  const check = (found: number, who: string) => {
    if (found !== want) throw new Error(`lookup ${variant}: ${who} found ${found} of ${RING}, expected ${want}`);
    return RING;
  };
  const contenders: Contender[] = [
    {
      // Software pipelining: the next batch is parsed, hashed and its home lines requested
      // before this batch's keys are compared, so its misses are in flight while this batch's
      // compares run (the lines this batch needs were requested one batch earlier).
      name: `ctsim (batch of ${BATCH}, pipelined)`,
      run: () => {
        let found = 0;
        let cur = 0; // which half of the scratch arrays holds the batch being compared
        const prepare = (first: number, half: number) => {
          const base = half * BATCH;
          for (let j = 0; j < BATCH; j++) {
            tp.read(ring, (first + j) * SLOT);
            srcs[base + j] = tp.src;
            dsts[base + j] = tp.dst;
            ports[base + j] = tp.ports;
            hs[base + j] = table.hash(tp.src, tp.dst, tp.ports, PZ_TCP);
          }
          let lines = 0; // a local: folding into the closure's `sink` stored to memory on every read
          for (let j = 0; j < BATCH; j++) lines ^= table.touchHome(hs[base + j]);
          sink ^= lines;
        };
        prepare(0, 0);
        for (let first = 0; first < RING; first += BATCH) {
          if (first + BATCH < RING) prepare(first + BATCH, cur ^ 1);
          const base = cur * BATCH;
          for (let j = base; j < base + BATCH; j++) if (table.lookupHashed(hs[j], srcs[j], dsts[j], ports[j], PZ_TCP) !== NO_REF) found++;
          cur ^= 1;
        }
        return check(found, 'ctsim batch');
      },
    },
    {
      name: 'ctsim',
      run: () => {
        let found = 0;
        for (let k = 0; k < RING; k++) {
          tp.read(ring, k * SLOT);
          if (table.lookup(tp.src, tp.dst, tp.ports >>> 16, tp.ports & 0xffff, PZ_TCP) !== NO_REF) found++;
        }
        return check(found, 'ctsim');
      },
    },
    {
      name: 'plain typed-array table',
      run: () => {
        let found = 0;
        for (let k = 0; k < RING; k++) {
          tp.read(ring, k * SLOT);
          if (t.plain.get(tp.src, tp.dst, tp.ports) >= 0) found++;
        }
        return check(found, 'plain table');
      },
    },
  ];
  if (t.smap && t.bmap) {
    const smap = t.smap;
    const bmap = t.bmap;
    contenders.push({
      name: 'Map<bigint>',
      run: () => {
        let found = 0;
        for (let k = 0; k < RING; k++) {
          tp.read(ring, k * SLOT);
          if (bmap.lookup(tp.src, tp.dst, tp.ports >>> 16, tp.ports & 0xffff)) found++;
        }
        return check(found, 'Map<bigint>');
      },
    }, {
      name: 'Map<string>',
      run: () => {
        let found = 0;
        for (let k = 0; k < RING; k++) {
          tp.read(ring, k * SLOT);
          if (smap.lookup(tp.src, tp.dst, tp.ports >>> 16, tp.ports & 0xffff)) found++;
        }
        return check(found, 'Map<string>');
      },
    });
  }
  const res = timeInterleaved(contenders, fill, timing);
  if (sink === 0x7fffffff) process.stderr.write('');
  return res;
}

/** Rings of port-reuse cycles: SYN, SYN-ACK, ACK of a random live flow. */
export function reuseRing(f: FlowSet, seed: number): { ring: Uint8Array; flowOf: Int32Array; fill: () => void; cyclesPerRing: number } {
  const ring = new Uint8Array(CYCLES * 3 * SLOT);
  const flowOf = new Int32Array(CYCLES);
  const w = new SegmentWriter();
  const pick = flowChooser('uniform', f.n, seed);
  const { SYN, ACK } = TcpFlag;
  const syn = new SegmentStamp((b) => w.write(b, 0, 0, 0, 0, 0, 1000, 0, SYN, 64240, 0, 1, true));
  const synAck = new SegmentStamp((b) => w.write(b, 0, 0, 0, 0, 0, 5000, 1001, SYN | ACK, 65483, 0, 2, true));
  const ack = new SegmentStamp((b) => w.write(b, 0, 0, 0, 0, 0, 1001, 5001, ACK, 502, 0, 3));
  return {
    ring,
    flowOf,
    cyclesPerRing: CYCLES,
    fill: () => {
      for (let c = 0; c < CYCLES; c++) {
        const i = pick.next();
        flowOf[c] = i;
        const o = c * 3 * SLOT;
        syn.stamp(ring, o, f.client[i], f.service[i], f.clientPort[i], f.servicePort[i]);
        synAck.stamp(ring, o + SLOT, SIDECAR, f.client[i], SIDECAR_PORT, f.clientPort[i]);
        ack.stamp(ring, o + 2 * SLOT, f.client[i], f.service[i], f.clientPort[i], f.servicePort[i]);
      }
    },
  };
}

/** ctsim's port-reuse cycles on the ring (exported for the churn check); `batch` requests a burst's lines first. */
export function ctsimPortReuse(table: ConnTable, ring: Uint8Array, batch: boolean): () => number {
  const tp = new Tuple();
  const hs = new Int32Array(BATCH);
  const srcs = new Int32Array(BATCH);
  const dsts = new Int32Array(BATCH);
  const ports = new Int32Array(BATCH);
  const olds = new Int32Array(BATCH);
  let sink = 0;
  const cycle = (j: number, o: number, h: number, src: number, dst: number, p: number, old: number) => {
    if (old === NO_REF || (old & 1) !== 0) throw new Error('port reuse: the old entry is not found from the SYN');
    table.release(old >> 1, true); // the re-open: the old entry dies (NF_REPEAT)
    if (table.lookupHashed(h, src, dst, p, PZ_TCP) !== NO_REF) throw new Error('port reuse: deleted entry still found');
    const e = table.allocate();
    table.setTupleHashed(e, 0, h, src, dst, p, PZ_TCP);
    table.setTuple(e, 1, SIDECAR, src, SIDECAR_PORT, p >>> 16, PZ_TCP);
    table.link(e);
    tp.read(ring, o + SLOT); // SYN-ACK from the sidecar
    if (table.lookup(tp.src, tp.dst, tp.ports >>> 16, tp.ports & 0xffff, PZ_TCP) !== e * 2 + 1) throw new Error('port reuse: SYN-ACK lookup');
    tp.read(ring, o + 2 * SLOT); // ACK
    if (table.lookup(tp.src, tp.dst, tp.ports >>> 16, tp.ports & 0xffff, PZ_TCP) !== e * 2) throw new Error('port reuse: ACK lookup');
    return j;
  };
  if (!batch) {
    return () => {
      for (let c = 0; c < CYCLES; c++) {
        const o = c * 3 * SLOT;
        tp.read(ring, o);
        const h = table.hash(tp.src, tp.dst, tp.ports, PZ_TCP);
        cycle(c, o, h, tp.src, tp.dst, tp.ports, table.lookupHashed(h, tp.src, tp.dst, tp.ports, PZ_TCP));
      }
      return CYCLES;
    };
  }
  return () => {
    for (let first = 0; first < CYCLES; first += BATCH) {
      for (let j = 0; j < BATCH; j++) {
        tp.read(ring, (first + j) * 3 * SLOT);
        srcs[j] = tp.src;
        dsts[j] = tp.dst;
        ports[j] = tp.ports;
        hs[j] = table.hash(tp.src, tp.dst, tp.ports, PZ_TCP);
      }
      let lines = 0; // a local, as in benchLookups
      for (let j = 0; j < BATCH; j++) lines ^= table.touchHome(hs[j]);
      // The SYNs' lookups, then the old entries' REPLY keys (their hashes are stored) and tuples.
      const version = table.version;
      for (let j = 0; j < BATCH; j++) {
        const old = table.lookupHashed(hs[j], srcs[j], dsts[j], ports[j], PZ_TCP);
        olds[j] = old;
        if (old !== NO_REF) lines ^= table.touchHome(table.hashes[old | 1]) ^ table.tuples[(old | 1) * 4];
      }
      sink ^= lines;
      for (let j = 0; j < BATCH; j++) {
        const old = table.version === version ? olds[j] : table.lookupHashed(hs[j], srcs[j], dsts[j], ports[j], PZ_TCP);
        cycle(j, (first + j) * 3 * SLOT, hs[j], srcs[j], dsts[j], ports[j], old);
      }
    }
    if (sink === 0x7fffffff) process.stderr.write('');
    return CYCLES;
  };
}

function benchPortReuse(f: FlowSet, t: Tables, timing: TimingOptions): Timing[] {
  const { ring, fill } = reuseRing(f, 0x2000 + f.n);
  const table = t.ctsim;
  const contenders: Contender[] = [
    { name: `ctsim (batch of ${BATCH})`, run: ctsimPortReuse(table, ring, true) },
    { name: 'ctsim', run: ctsimPortReuse(table, ring, false) },
  ];
  const tp = new Tuple();
  // The afternoon table keeps what an entry needs to delete its REPLY key: the flow it belongs to.
  const plain = t.plain;
  contenders.push({
    name: 'plain typed-array table',
    run: () => {
      for (let c = 0; c < CYCLES; c++) {
        const o = c * 3 * SLOT;
        tp.read(ring, o);
        const old = plain.get(tp.src, tp.dst, tp.ports);
        if (old < 0 || (old & 1) !== 0) throw new Error('plain: old entry not found');
        const client = tp.src;
        const rp = (SIDECAR_PORT << 16) | (tp.ports >>> 16);
        plain.delete(tp.src, tp.dst, tp.ports);
        plain.delete(SIDECAR, client, rp);
        if (plain.get(tp.src, tp.dst, tp.ports) >= 0) throw new Error('plain: deleted entry found');
        plain.set(tp.src, tp.dst, tp.ports, old);
        plain.set(SIDECAR, client, rp, old + 1);
        tp.read(ring, o + SLOT);
        if (plain.get(tp.src, tp.dst, tp.ports) !== old + 1) throw new Error('plain: SYN-ACK lookup');
        tp.read(ring, o + 2 * SLOT);
        if (plain.get(tp.src, tp.dst, tp.ports) !== old) throw new Error('plain: ACK lookup');
      }
      return CYCLES;
    },
  });
  if (t.smap && t.bmap) {
    const mapCycle = (m: StringMapTable | BigintMapTable, name: string): Contender => ({
      name,
      run: () => {
        for (let c = 0; c < CYCLES; c++) {
          const o = c * 3 * SLOT;
          tp.read(ring, o);
          const sport = tp.ports >>> 16;
          const dport = tp.ports & 0xffff;
          const ref: BaselineRef | undefined = m.lookup(tp.src, tp.dst, sport, dport);
          if (!ref || ref.dir !== 0) throw new Error(`${name}: old entry not found`);
          const old = ref.entry;
          m.remove(old);
          if (m.lookup(tp.src, tp.dst, sport, dport)) throw new Error(`${name}: deleted entry found`);
          const e: BaselineEntry = { ...old, id: old.id + 1 };
          m.insert(e);
          tp.read(ring, o + SLOT);
          if (m.lookup(tp.src, tp.dst, tp.ports >>> 16, tp.ports & 0xffff)?.entry !== e) throw new Error(`${name}: SYN-ACK lookup`);
          tp.read(ring, o + 2 * SLOT);
          if (m.lookup(tp.src, tp.dst, tp.ports >>> 16, tp.ports & 0xffff)?.entry !== e) throw new Error(`${name}: ACK lookup`);
        }
        return CYCLES;
      },
    });
    contenders.push(mapCycle(t.bmap, 'Map<bigint>'), mapCycle(t.smap, 'Map<string>'));
  }
  return timeInterleaved(contenders, fill, timing);
}

