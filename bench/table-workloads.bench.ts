// Table workloads at 1e3..1e6 live entries, each against the Map baselines in the same run:
//  port-reuse: take a connection's tuple, delete its entry, insert the same tuple again (a new
//    connection on a recycled port), then look it up 8 times alternating directions (its first
//    packets); ops = lookups, the churn's cost included. The table must not slow down as churn
//    accumulates (checked after 1e7 cycles in full mode).
//  steady: uniformly random lookups: hits from both directions, misses, and a 90/10 mix.
import { ConnTable, NO_REF, PZ_TCP } from '../src/conntrack/conn-table.js';
import { BigintMapTable, StringMapTable, type BaselineEntry } from './baselines.js';
import { runSuite, type SuiteOptions } from './harness.js';
import { makeTuples, permutation, type TupleSet } from './workload-keys.js';
import type { BenchRecord } from './record.js';

const CYCLES = 256; // per benchmark.js call
const LOOKUPS_PER_CYCLE = 8;
const STEADY_BATCH = 2048;

function fillCtsim(t: TupleSet): { table: ConnTable; entryOf: Int32Array } {
  const table = new ConnTable({ maxEntries: t.n, initialCapacity: t.n, seed: 42 });
  const entryOf = new Int32Array(t.n);
  for (let i = 0; i < t.n; i++) {
    const e = table.allocate();
    table.setTuple(e, 0, t.src[i], t.dst[i], t.sport[i], t.dport[i], PZ_TCP);
    table.setTuple(e, 1, t.dst[i], t.src[i], t.dport[i], t.sport[i], PZ_TCP);
    if (!table.link(e)) throw new Error('duplicate tuple');
    entryOf[i] = e;
  }
  return { table, entryOf };
}

function baselineEntries(t: TupleSet): BaselineEntry[] {
  const out: BaselineEntry[] = [];
  for (let i = 0; i < t.n; i++) out.push({ id: i, state: 3, timeoutAt: 0, src: t.src[i], dst: t.dst[i], sport: t.sport[i], dport: t.dport[i] });
  return out;
}

export interface PortReuseState {
  cycle: () => void;
  cycles: number;
}

/** The port-reuse cycle on ctsim's table (exported for the churn-stability check). */
export function ctsimPortReuse(t: TupleSet, table: ConnTable, entryOf: Int32Array, order: Int32Array): PortReuseState {
  let c = 0;
  const s: PortReuseState = {
    cycles: 0,
    cycle: () => {
      for (let r = 0; r < CYCLES; r++) {
        const i = order[c];
        if (++c === t.n) c = 0;
        table.release(entryOf[i], true);
        const e = table.allocate();
        table.setTuple(e, 0, t.src[i], t.dst[i], t.sport[i], t.dport[i], PZ_TCP);
        table.setTuple(e, 1, t.dst[i], t.src[i], t.dport[i], t.sport[i], PZ_TCP);
        table.link(e);
        entryOf[i] = e;
        let found = 0;
        for (let k = 0; k < LOOKUPS_PER_CYCLE; k += 2) {
          if (table.lookup(t.src[i], t.dst[i], t.sport[i], t.dport[i], PZ_TCP) !== NO_REF) found++;
          if (table.lookup(t.dst[i], t.src[i], t.dport[i], t.sport[i], PZ_TCP) !== NO_REF) found++;
        }
        if (found !== LOOKUPS_PER_CYCLE) throw new Error('port-reuse lookup missed');
      }
      s.cycles += CYCLES;
    },
  };
  return s;
}

export function benchTableWorkloads(entries: number, opts: SuiteOptions): BenchRecord[] {
  const t = makeTuples(entries);
  const order = permutation(entries);
  const { table, entryOf } = fillCtsim(t);
  const be = baselineEntries(t);
  const smap = new StringMapTable();
  const bmap = new BigintMapTable();
  for (const e of be) {
    smap.insert(e);
    bmap.insert(e);
  }
  const reuse = ctsimPortReuse(t, table, entryOf, order);
  let cs = 0;
  let cb = 0;
  const mapCycle = (m: StringMapTable | BigintMapTable, next: () => number) => () => {
    for (let r = 0; r < CYCLES; r++) {
      const i = next();
      const old = be[i];
      m.remove(old);
      const e = { ...old, id: old.id + 1 };
      be[i] = e;
      m.insert(e);
      let found = 0;
      for (let k = 0; k < LOOKUPS_PER_CYCLE; k += 2) {
        if (m.lookup(e.src, e.dst, e.sport, e.dport)) found++;
        if (m.lookup(e.dst, e.src, e.dport, e.sport)) found++;
      }
      if (found !== LOOKUPS_PER_CYCLE) throw new Error('baseline lookup missed');
    }
  };
  const per = CYCLES * LOOKUPS_PER_CYCLE;
  const reuseRes = runSuite(`port-reuse at ${entries} entries (lookups/s, churn included)`, {
    ctsim: reuse.cycle,
    'Map<string>': mapCycle(smap, () => { const i = order[cs]; if (++cs === entries) cs = 0; return i; }),
    'Map<bigint>': mapCycle(bmap, () => { const i = order[cb]; if (++cb === entries) cb = 0; return i; }),
  }, opts).map((r) => ({ ...r, opsPerSec: r.opsPerSec * per }));

  // steady: uniformly random hits (both directions), misses, 90/10
  let x = 777;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) | 0) >>> 1) % entries;
  const keys = new Int32Array(STEADY_BATCH * 4);
  const fillKeys = (missRate: number) => {
    for (let k = 0; k < STEADY_BATCH; k++) {
      const i = rnd();
      const rev = k & 1;
      const miss = (k % 10) < missRate * 10;
      keys[k * 4] = rev ? t.dst[i] : t.src[i];
      keys[k * 4 + 1] = rev ? t.src[i] : t.dst[i];
      keys[k * 4 + 2] = rev ? t.dport[i] : t.sport[i];
      keys[k * 4 + 3] = miss ? 9 : rev ? t.sport[i] : t.dport[i]; // port 9 (discard) never appears
    }
  };
  const steadyRecords: Array<{ name: string; ctsim: number; smap: number; bmap: number }> = [];
  for (const [name, miss] of [['hits', 0], ['misses', 1], ['mixed 90/10', 0.1]] as const) {
    fillKeys(miss);
    let sink = 0;
    const res = runSuite(`steady ${name} at ${entries} entries (lookups/s)`, {
      ctsim: () => {
        for (let k = 0; k < STEADY_BATCH; k++) if (table.lookup(keys[k * 4], keys[k * 4 + 1], keys[k * 4 + 2], keys[k * 4 + 3], PZ_TCP) !== NO_REF) sink++;
      },
      'Map<string>': () => {
        for (let k = 0; k < STEADY_BATCH; k++) if (smap.lookup(keys[k * 4], keys[k * 4 + 1], keys[k * 4 + 2], keys[k * 4 + 3])) sink++;
      },
      'Map<bigint>': () => {
        for (let k = 0; k < STEADY_BATCH; k++) if (bmap.lookup(keys[k * 4], keys[k * 4 + 1], keys[k * 4 + 2], keys[k * 4 + 3])) sink++;
      },
    }, opts).map((r) => r.opsPerSec * STEADY_BATCH);
    if (sink < 0) throw new Error('unreachable');
    steadyRecords.push({ name, ctsim: res[0], smap: res[1], bmap: res[2] });
  }

  const mem = table.memoryBytes();
  const indexBpe = mem.index / entries;
  const records: BenchRecord[] = [{
    workload: 'port-reuse', entries, opsPerSec: reuseRes[0].opsPerSec, baselineOpsPerSec: reuseRes[1].opsPerSec,
    ratio: reuseRes[0].opsPerSec / reuseRes[1].opsPerSec, bytesPerEntry: indexBpe,
    detail: { bigintMapOpsPerSec: reuseRes[2].opsPerSec, bigintRatio: reuseRes[0].opsPerSec / reuseRes[2].opsPerSec, meanProbe: table.meanProbeDistance(), maxProbe: table.maxProbeDistance() },
  }];
  for (const s of steadyRecords) {
    records.push({
      workload: 'steady', variant: s.name, entries, opsPerSec: s.ctsim, baselineOpsPerSec: s.smap, ratio: s.ctsim / s.smap, bytesPerEntry: indexBpe,
      detail: { bigintMapOpsPerSec: s.bmap, bigintRatio: s.ctsim / s.bmap },
    });
  }
  return records;
}
