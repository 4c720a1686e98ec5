// Garbage collection of expired entries: N entries whose timeouts are spread over 300 s of
// virtual time, swept by the GC once per virtual second; ops = entries expired per wall second.
// Baseline: the same sweep over a Map<string, entry>.
import { Conntrack } from '../src/conntrack/conntrack.js';
import { TcpFlag, encodeSegment } from '../src/wire/index.js';
import type { BenchRecord } from './record.js';
import { keyString, makeTuples } from './workload-keys.js';

export function benchExpiry(entries: number): BenchRecord {
  const t = makeTuples(entries);
  const ct = new Conntrack({ kernel: '6.18', sysctls: [`nf_conntrack_max=${entries}`], initialCapacity: entries });
  const map = new Map<string, { timeoutAt: number }>();
  for (let i = 0; i < entries; i++) {
    const now = Math.floor((i * 300e9) / entries); // SYN_SENT: 120 s timeouts, spread over 300 s
    const p = encodeSegment({ src: t.src[i] >>> 0, dst: t.dst[i] >>> 0, srcPort: t.sport[i], dstPort: t.dport[i], seq: i, flags: TcpFlag.SYN });
    const v = ct.track(p, 0, p.length, now, 'output');
    ct.confirm(v.entry, now);
    const e = { timeoutAt: now + 120e9 };
    map.set(keyString(t.src[i], t.dst[i], t.sport[i], t.dport[i]), e);
    map.set(keyString(t.dst[i], t.src[i], t.dport[i], t.sport[i]), e);
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
  return { workload: 'expiry', entries, opsPerSec: ops, baselineOpsPerSec: base, ratio: ops / base, bytesPerEntry: null, detail: { sweeps: 301, wallSeconds: dt } };
}
