// Garbage collection of expired entries: N entries whose timeouts are spread over 300 s of
// virtual time, swept by the GC once per virtual second; ops = entries expired per wall second.
// Baseline: the same sweep over a Map<string, entry>.
import { Conntrack } from '../src/conntrack/conntrack.js';
import { TcpFlag, encodeSegment } from '../src/wire/index.js';
import type { BenchRecord } from './record.js';
import { keyString } from './baselines.js';
import { makeFlows } from './traffic.js';

export function benchExpiry(entries: number): BenchRecord {
  const f = makeFlows(entries);
  const ct = new Conntrack({ kernel: '6.18', sysctls: [`nf_conntrack_max=${entries}`], initialCapacity: entries });
  const map = new Map<string, { timeoutAt: number }>();
  for (let i = 0; i < entries; i++) {
    const now = Math.floor((i * 300e9) / entries); // SYN_SENT: 120 s timeouts, spread over 300 s
    const p = encodeSegment({ src: f.client[i] >>> 0, dst: f.service[i] >>> 0, srcPort: f.clientPort[i], dstPort: f.servicePort[i], seq: i, flags: TcpFlag.SYN });
    const v = ct.track(p, 0, p.length, now, 'output');
    ct.confirm(v.entry, now);
    const e = { timeoutAt: now + 120e9 };
    map.set(keyString(f.client[i], f.service[i], f.clientPort[i], f.servicePort[i]), e);
    map.set(keyString(f.service[i], f.client[i], f.servicePort[i], f.clientPort[i]), e);
  }
  let expired = 0;
  const t0 = performance.now();
  for (let s = 121; s <= 421; s++) expired += ct.expire(s * 1e9);
  const dt = (performance.now() - t0) / 1000;
  let mapExpired = 0;
  const t1 = performance.now();
  for (let s = 121; s <= 421; s++) {
    const now = s * 1e9;
    for (const [k, e] of map) {
      if (e.timeoutAt <= now) {
        map.delete(k);
        mapExpired++;
      }
    }
  }
  const dtMap = (performance.now() - t1) / 1000;
  if (expired !== entries || mapExpired !== entries * 2) throw new Error(`expiry: ${expired}/${entries} ${mapExpired}/${entries * 2}`);
  const ops = expired / dt;
  const base = entries / dtMap;
  process.stderr.write(`  expiry / ${entries} entries: ctsim ${ops.toFixed(0)} entries/s, Map<string> ${base.toFixed(0)} entries/s\n`);
  return {
    workload: 'expiry', variant: 'GC sweep', entries, unit: 'entries expired/s', opsPerSec: ops,
    definition: {
      operation: 'one expired entry deleted by the GC (conntrack.expire), sweeping once per virtual second',
      keys: '-',
      flows: 'N SYN_SENT entries whose 120 s timeouts are spread over 300 s',
      harness: 'the 301 sweeps timed as a whole; setup not timed',
    },
    results: [{ impl: 'ctsim', opsPerSec: ops, nsPerOp: 1e9 / ops }, { impl: 'Map<string>', opsPerSec: base, nsPerOp: 1e9 / base }],
    bytesPerEntry: null, detail: { sweeps: 301, wallSeconds: dt },
  };
}
