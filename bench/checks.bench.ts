// Two properties the numbers rest on, measured rather than assumed:
//  allocation: the full path allocates nothing per packet, one at a time or in bursts (heap
//    growth and scavenges over millions of packets; the ring is restored from a copy between
//    runs, so the generator allocates nothing while it is measured);
//  churn: the table does not degrade as port-reuse churn accumulates: the cycle rate and the
//    probe statistics after 10^7 delete+insert cycles against a fresh table's.
import { PerformanceObserver } from 'node:perf_hooks';
import { ConnTable, PZ_TCP } from '../src/conntrack/conn-table.js';
import { BatchVerdicts } from '../src/conntrack/packet-batch.js';
import { FullPathTraffic, setupFullPath, trackRing, trackRingBatched } from './full-path.bench.js';
import { timeInterleaved, type TimingOptions } from './harness.js';
import type { BenchRecord } from './record.js';
import { ctsimPortReuse, PORT_REUSE_DEFINITION, reuseRing } from './table.bench.js';
import { SIDECAR, SIDECAR_PORT, makeFlows } from './traffic.js';

const ALLOCATION_FLOWS = 10_000;

async function measureAllocations(run: () => void, rounds: number): Promise<{ growth: number; scavenges: number }> {
  let scavenges = 0;
  const obs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) scavenges++;
  });
  obs.observe({ entryTypes: ['gc'] });
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let r = 0; r < rounds; r++) run();
  const growth = process.memoryUsage().heapUsed - before;
  await new Promise((r) => setTimeout(r, 20));
  obs.disconnect();
  return { growth, scavenges };
}

export async function allocationCheck(packets: number): Promise<BenchRecord[]> {
  const s = setupFullPath(makeFlows(ALLOCATION_FLOWS));
  const traffic = new FullPathTraffic(s, 'uniform', 99);
  traffic.fill(true);
  const template = traffic.ring.slice();
  const out = new BatchVerdicts(traffic.batch.capacity);
  let now = 1e9;
  const ring = traffic.batch.count;
  const rounds = Math.ceil(packets / ring);
  const runs: Array<[string, () => void]> = [
    ['track', () => {
      traffic.ring.set(template); // the same packets again: retransmissions, all ACCEPTed
      if (trackRing(s.ct, traffic, (now += 1e6)) !== ring) throw new Error('allocation check: track did not accept every packet');
    }],
    ['trackBatch', () => {
      traffic.ring.set(template);
      if (trackRingBatched(s.ct, traffic, (now += 1e6), out) !== ring) throw new Error('allocation check: trackBatch did not accept every packet');
    }],
  ];
  const records: BenchRecord[] = [];
  for (const [name, run] of runs) {
    for (let w = 0; w < 50; w++) run(); // JIT warm-up
    const t0 = performance.now();
    const m = await measureAllocations(run, rounds);
    const dt = (performance.now() - t0) / 1000;
    const n = rounds * ring;
    process.stderr.write(`  allocation / ${name}, ${n} packets: heap growth ${(m.growth / 1024).toFixed(0)} KiB, ${m.scavenges} scavenges, ${(n / dt / 1e6).toFixed(2)} M packets/s\n`);
    records.push({
      workload: 'allocation', variant: name, entries: ALLOCATION_FLOWS, unit: 'packets/s',
      definition: {
        operation: `one packet through the full path (${name}), REDIRECTed flows`,
        keys: 'parsed from packet bytes by the engine',
        flows: 'uniform over 10,000 ESTABLISHED flows; one ring of 4,096 packets restored from a copy before every run',
        harness: 'heap growth and scavenge count around the runs (node --expose-gc); the rate includes the 512 KB ring copy',
      },
      opsPerSec: n / dt, results: [{ impl: `ctsim ${name}`, opsPerSec: n / dt, nsPerOp: (dt * 1e9) / n }], bytesPerEntry: null,
      detail: { packets: n, heapGrowthBytes: m.growth, scavenges: m.scavenges, bytesPerPacket: m.growth / n },
    });
  }
  return records;
}

export function churnCheck(entries: number, cycles: number, timing: TimingOptions): BenchRecord {
  const f = makeFlows(entries);
  const table = new ConnTable({ maxEntries: entries, initialCapacity: entries, seed: 42 });
  for (let i = 0; i < entries; i++) {
    const e = table.allocate();
    table.setTuple(e, 0, f.client[i], f.service[i], f.clientPort[i], f.servicePort[i], PZ_TCP);
    table.setTuple(e, 1, SIDECAR, f.client[i], SIDECAR_PORT, f.clientPort[i], PZ_TCP);
    table.link(e);
  }
  const { ring, fill, cyclesPerRing } = reuseRing(f, 0x4000 + entries);
  const run = ctsimPortReuse(table, ring, true);
  const stats = () => ({ meanProbe: table.meanProbeDistance(), maxProbe: table.maxProbeDistance(), homeLineShare: table.homeLineShare() });
  const fresh = stats();
  const rate = () => timeInterleaved([{ name: 'ctsim (batch of 16)', run }], fill, timing)[0];
  const before = rate();
  let done = 0;
  while (done < cycles) {
    fill();
    done += run();
  }
  const after = rate();
  const churned = stats();
  const change = (after.opsPerSec - before.opsPerSec) / before.opsPerSec;
  process.stderr.write(`  churn @ ${entries}: fresh ${(before.opsPerSec / 1e6).toFixed(2)} M cycles/s, after ${done} cycles ${(after.opsPerSec / 1e6).toFixed(2)} M cycles/s (${(change * 100).toFixed(1)} %); mean probe ${fresh.meanProbe.toFixed(3)} -> ${churned.meanProbe.toFixed(3)}, max ${fresh.maxProbe} -> ${churned.maxProbe}, home line ${fresh.homeLineShare.toFixed(3)} -> ${churned.homeLineShare.toFixed(3)}\n`);
  return {
    workload: 'churn', variant: `after ${done} port-reuse cycles`, entries, unit: 'cycles/s',
    definition: { ...PORT_REUSE_DEFINITION, operation: `${PORT_REUSE_DEFINITION.operation}; rate of a fresh table and after ${cycles} cycles (${cyclesPerRing} per ring)` },
    opsPerSec: after.opsPerSec,
    results: [
      { impl: 'ctsim after churn', opsPerSec: after.opsPerSec, nsPerOp: after.nsPerOp, p10NsPerOp: after.p10NsPerOp, p90NsPerOp: after.p90NsPerOp, rounds: after.rounds },
      { impl: 'ctsim fresh', opsPerSec: before.opsPerSec, nsPerOp: before.nsPerOp, p10NsPerOp: before.p10NsPerOp, p90NsPerOp: before.p90NsPerOp, rounds: before.rounds },
    ],
    bytesPerEntry: table.memoryBytes().index / entries,
    detail: { cycles: done, change, fresh, churned },
  };
}
