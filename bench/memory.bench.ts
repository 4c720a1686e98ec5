// Memory per live entry at N entries: ctsim's typed arrays (index, tuples, TCP tracking columns,
// status/timeout/id) counted exactly, and both the ctsim engine and the Map baselines measured as
// heap + ArrayBuffer growth after forced GC (node --expose-gc).
import { Conntrack } from '../src/conntrack/conntrack.js';
import { PZ_TCP } from '../src/conntrack/conn-table.js';
import { BigintMapTable, StringMapTable } from './baselines.js';
import type { BenchRecord } from './record.js';
import { makeTuples } from './workload-keys.js';

const gc = (globalThis as { gc?: () => void }).gc;

function used(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export function benchMemory(entries: number): BenchRecord {
  const t = makeTuples(entries);
  let before = used();
  const ct = new Conntrack({ kernel: '6.18', sysctls: [`nf_conntrack_max=${entries}`], initialCapacity: entries });
  for (let i = 0; i < entries; i++) {
    const e = ct.table.allocate();
    ct.table.setTuple(e, 0, t.src[i], t.dst[i], t.sport[i], t.dport[i], PZ_TCP);
    ct.table.setTuple(e, 1, t.dst[i], t.src[i], t.dport[i], t.sport[i], PZ_TCP);
    ct.table.link(e);
  }
  const ctsimMeasured = (used() - before) / entries;
  const mem = ct.table.memoryBytes();
  const index = mem.index / entries;
  const counted = (mem.index + mem.tuples) / entries + ct.tcp.bytesPerEntry() + 2 + 8 + 4;
  before = used();
  const s = new StringMapTable();
  for (let i = 0; i < entries; i++) s.insert({ id: i, state: 3, timeoutAt: 0, src: t.src[i], dst: t.dst[i], sport: t.sport[i], dport: t.dport[i] });
  const stringMap = (used() - before) / entries;
  before = used();
  const b = new BigintMapTable();
  for (let i = 0; i < entries; i++) b.insert({ id: i, state: 3, timeoutAt: 0, src: t.src[i], dst: t.dst[i], sport: t.sport[i], dport: t.dport[i] });
  const bigintMap = (used() - before) / entries;
  if (ct.count !== entries || s.map.size !== 2 * entries || b.map.size !== 2 * entries) throw new Error('memory setup');
  process.stderr.write(`  memory / ${entries} entries: ctsim index ${index.toFixed(1)} B, total counted ${counted.toFixed(1)} B, measured ${ctsimMeasured.toFixed(1)} B; Map<string> ${stringMap.toFixed(1)} B; Map<bigint> ${bigintMap.toFixed(1)} B${gc ? '' : ' (no --expose-gc: measurements approximate)'}\n`);
  return {
    workload: 'memory', entries, opsPerSec: 0, baselineOpsPerSec: null, ratio: stringMap / counted, bytesPerEntry: index,
    detail: { ctsimIndexBytes: index, ctsimTotalCountedBytes: counted, ctsimMeasuredBytes: ctsimMeasured, stringMapBytes: stringMap, bigintMapBytes: bigintMap, gcForced: !!gc },
  };
}
