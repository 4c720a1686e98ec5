// Memory per live entry: ctsim's engine counted exactly (index, tuples and hashes, TCP tracking
// columns, status/timeout/id) and measured as heap + ArrayBuffer growth after forced GC (node
// --expose-gc) around the engine's setup; the baselines measured the same way.
import type { Conntrack } from '../src/conntrack/conntrack.js';
import { BigintMapTable, PlainTable, StringMapTable } from './baselines.js';
import type { BenchRecord } from './record.js';
import { SIDECAR, SIDECAR_PORT, type FlowSet } from './traffic.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap plus off-heap buffers in use, after two forced collections when --expose-gc is on. */
export function memoryInUse(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external; // external: ArrayBuffers and WebAssembly memories (the index), which arrayBuffers omits
}

/** The engine's bytes per entry, by construction. */
export function countedBytes(ct: Conntrack): { index: number; total: number } {
  const mem = ct.table.memoryBytes();
  const entryBytes = ct.records.memoryBytes() + ct.ids.byteLength;
  return { index: mem.index, total: mem.index + mem.tuples + entryBytes };
}

export const MEMORY_DEFINITION = {
  operation: 'bytes per live entry: index; everything ctsim allocates per entry (counted); heap + ArrayBuffer growth (measured)',
  keys: '-',
  flows: 'every flow ESTABLISHED through the engine (REDIRECTed)',
  harness: 'measured after two forced GCs (node --expose-gc) before and after the setup',
};

export function memoryRecord(ct: Conntrack, f: FlowSet, measuredBytes: number, withMaps: boolean): BenchRecord {
  const n = f.n;
  const c = countedBytes(ct);
  const detail: Record<string, number | boolean> = { ctsimIndexBytes: c.index / n, ctsimTotalCountedBytes: c.total / n, ctsimMeasuredBytes: measuredBytes / n, gcForced: !!gc };
  const plain = new PlainTable(2 * n);
  detail.plainTableBytes = plain.bytes / n;
  if (withMaps) {
    let before = memoryInUse();
    const s = new StringMapTable();
    for (let i = 0; i < n; i++) s.insert({ id: i, state: 3, timeoutAt: 0, src: f.client[i], dst: f.service[i], sport: f.clientPort[i], dport: f.servicePort[i], rsrc: SIDECAR, rsport: SIDECAR_PORT });
    detail.stringMapBytes = (memoryInUse() - before) / n;
    before = memoryInUse();
    const b = new BigintMapTable();
    for (let i = 0; i < n; i++) b.insert({ id: i, state: 3, timeoutAt: 0, src: f.client[i], dst: f.service[i], sport: f.clientPort[i], dport: f.servicePort[i], rsrc: SIDECAR, rsport: SIDECAR_PORT });
    detail.bigintMapBytes = (memoryInUse() - before) / n;
    if (s.map.size !== 2 * n || b.map.size !== 2 * n) throw new Error('memory: baseline setup');
  }
  const fmt = (k: string) => (typeof detail[k] === 'number' ? `${(detail[k] as number).toFixed(1)} B` : 'not run');
  process.stderr.write(`  memory @ ${n}: ctsim index ${fmt('ctsimIndexBytes')}, counted ${fmt('ctsimTotalCountedBytes')}, measured ${fmt('ctsimMeasuredBytes')}; plain table ${fmt('plainTableBytes')}; Map<string> ${fmt('stringMapBytes')}; Map<bigint> ${fmt('bigintMapBytes')}${gc ? '' : ' (no --expose-gc: measurements approximate)'}\n`);
  return {
    workload: 'memory', variant: 'engine', entries: n, unit: 'bytes/entry', definition: MEMORY_DEFINITION, opsPerSec: 0,
    results: [], bytesPerEntry: c.index / n, detail,
  };
}
