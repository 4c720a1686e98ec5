// Two properties the numbers rest on: the full path allocates nothing per packet (heap growth and
// scavenges over many packets), and the table does not slow down as port-reuse churn accumulates.
import { PerformanceObserver } from 'node:perf_hooks';
import { ConnTable, PZ_TCP } from '../src/conntrack/conn-table.js';
import { fullPathLoop, setupFullPath } from './full-path.bench.js';
import { ctsimPortReuse } from './table-workloads.bench.js';
import type { BenchRecord } from './record.js';
import { makeTuples, permutation } from './workload-keys.js';

export async function allocationCheck(packets: number): Promise<BenchRecord> {
  const s = setupFullPath(1 << 14);
  const loop = fullPathLoop(s);
  for (let i = 0; i < 20; i++) loop(10_000); // warm up
  let scavenges = 0;
  const obs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) scavenges++;
  });
  obs.observe({ entryTypes: ['gc'] });
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let done = 0; done < packets; done += 100_000) loop(100_000);
  const dt = (performance.now() - t0) / 1000;
  const growth = process.memoryUsage().heapUsed - before;
  await new Promise((r) => setTimeout(r, 20));
  obs.disconnect();
  process.stderr.write(`  allocation / ${packets} packets: heap growth ${(growth / 1024).toFixed(0)} KiB, ${scavenges} scavenges, ${(packets / dt / 1e6).toFixed(2)} M packets/s\n`);
  return { workload: 'full-path', variant: 'allocation check', entries: 1 << 14, opsPerSec: packets / dt, baselineOpsPerSec: null, ratio: null, bytesPerEntry: null, detail: { packets, heapGrowthBytes: growth, scavenges, bytesPerPacket: growth / packets } };
}

export function churnCheck(entries: number, cycles: number): BenchRecord {
  const t = makeTuples(entries);
  const table = new ConnTable({ maxEntries: entries, initialCapacity: entries, seed: 42 });
  const entryOf = new Int32Array(entries);
  for (let i = 0; i < entries; i++) {
    const e = table.allocate();
    table.setTuple(e, 0, t.src[i], t.dst[i], t.sport[i], t.dport[i], PZ_TCP);
    table.setTuple(e, 1, t.dst[i], t.src[i], t.dport[i], t.sport[i], PZ_TCP);
    table.link(e);
    entryOf[i] = e;
  }
  const w = ctsimPortReuse(t, table, entryOf, permutation(entries));
  const rate = (seconds: number) => {
    const c0 = w.cycles;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) w.cycle();
    return ((w.cycles - c0) * 8) / ((performance.now() - t0) / 1000);
  };
  rate(0.3);
  const fresh = rate(1);
  const probeFresh = table.meanProbeDistance();
  while (w.cycles < cycles) w.cycle();
  const after = rate(1);
  const change = (after - fresh) / fresh;
  process.stderr.write(`  churn / ${entries} entries: fresh ${(fresh / 1e6).toFixed(2)} M lookups/s, after ${w.cycles} cycles ${(after / 1e6).toFixed(2)} M lookups/s (${(change * 100).toFixed(1)} %); mean probe ${probeFresh.toFixed(3)} -> ${table.meanProbeDistance().toFixed(3)}\n`);
  return { workload: 'port-reuse', variant: `after ${w.cycles} churn cycles`, entries, opsPerSec: after, baselineOpsPerSec: fresh, ratio: after / fresh, bytesPerEntry: table.memoryBytes().index / entries, detail: { freshOpsPerSec: fresh, change, cycles: w.cycles, meanProbeFresh: probeFresh, meanProbeAfter: table.meanProbeDistance() } };
}
