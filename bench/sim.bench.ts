// Simulation speed: the one-hour half-close incident and the 127 s connect timeout of the port
// collision, in wall time and simulated seconds per wall second (idle time should cost nothing).
import { runIncident } from '../src/scenarios/incidents.js';
import { DEFAULT_OPTIONS } from '../src/scenarios/scenario-types.js';
import type { BenchRecord } from './record.js';

function timeIt(f: () => { endNs: number }, reps: number): { ms: number; simSec: number } {
  f(); // warm-up
  const t0 = performance.now();
  let sim = 0;
  for (let i = 0; i < reps; i++) sim = f().endNs / 1e9;
  return { ms: (performance.now() - t0) / reps, simSec: sim };
}

export function benchSim(quick: boolean): BenchRecord[] {
  const reps = quick ? 3 : 20;
  const leak = timeIt(() => runIncident('half-close-leak', { ...DEFAULT_OPTIONS, kernel: 'sles-15-sp4' }), reps);
  const collide = timeIt(() => runIncident('port-collision', { ...DEFAULT_OPTIONS, kernel: 'sles-15-sp4', idleTimeoutSec: 300 }), reps);
  const out: BenchRecord[] = [];
  for (const [variant, r] of [['half-close-leak, 1 h idle timeout', leak], ['port-collision, 127 s connect timeout', collide]] as const) {
    process.stderr.write(`  sim / ${variant}: ${r.ms.toFixed(2)} ms wall for ${r.simSec.toFixed(0)} simulated s (${(r.simSec / (r.ms / 1000)).toFixed(0)} sim-s per wall-s)\n`);
    const rate = r.simSec / (r.ms / 1000);
    out.push({
      workload: 'sim', variant, entries: 0, unit: 'simulated s/s', opsPerSec: rate,
      definition: { operation: 'one simulated second of the incident scenario', keys: '-', flows: 'the incident\'s connections', harness: `mean of ${reps} runs after one warm-up run` },
      results: [{ impl: 'ctsim', opsPerSec: rate, nsPerOp: 1e9 / rate }], bytesPerEntry: null, detail: { wallMs: r.ms, simulatedSeconds: r.simSec },
    });
  }
  return out;
}
