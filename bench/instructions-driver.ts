// The program `npm run bench:instructions` runs under valgrind: sets up the full path's flows at
// one size, then `rounds` times fills the ring (in-window packets of uniformly random flows) and,
// unless the mode is `fill`, tracks it with `track` (packet by packet, both NAT rewrites) or
// `trackBatch`. Runs for two round counts differ only in the extra rounds, so their difference
// is what those rounds cost, set-up and JIT warm-up cancelled out.
// Usage: node dist/bench/instructions-driver.js track|batch|fill ENTRIES ROUNDS
import { BatchVerdicts } from '../src/conntrack/packet-batch.js';
import { FullPathTraffic, setupFullPath, trackRing, trackRingBatched } from './full-path.bench.js';
import { makeFlows } from './traffic.js';

const [mode, entries, rounds] = process.argv.slice(2);
if (!['track', 'batch', 'fill'].includes(mode) || !(Number(entries) > 0) || !(Number(rounds) >= 0)) {
  process.stderr.write('usage: instructions-driver.js track|batch|fill ENTRIES ROUNDS\n');
  process.exit(2);
}
const s = setupFullPath(makeFlows(Number(entries)));
const traffic = new FullPathTraffic(s, 'uniform', 0x3000 + Number(entries));
const out = new BatchVerdicts(traffic.batch.capacity);
let accepted = 0;
for (let r = 0; r < Number(rounds); r++) {
  s.now += 1e6;
  traffic.fill(true);
  if (mode === 'track') accepted += trackRing(s.ct, traffic, s.now);
  else if (mode === 'batch') accepted += trackRingBatched(s.ct, traffic, s.now, out);
}
// Printed so that the work cannot be optimised away, and checked by the runner.
process.stdout.write(`accepted ${accepted}\n`);
