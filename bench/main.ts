// `npm run bench [-- --quick] [-- --json file] [-- --readme README.md]`: every workload at every
// size, against the baselines in the same run; a human table on stdout (progress on stderr), one
// JSON record per workload and size, and optionally the README's results table regenerated.
import { readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { benchWire } from './wire.bench.js';
import { benchTableWorkloads } from './table-workloads.bench.js';
import { benchFullPath } from './full-path.bench.js';
import { benchExpiry } from './expiry.bench.js';
import { benchSim } from './sim.bench.js';
import { benchMemory } from './memory.bench.js';
import { allocationCheck, churnCheck } from './checks.bench.js';
import { benchOvs } from './ovs.bench.js';
import { cleanUpOnInterrupt } from '../src/cli/process-guard.js';
import { formatOps, printTable } from './harness.js';
import type { BenchRecord } from './record.js';

// The OVS comparison starts daemons: stop them at exit and on Ctrl-C, as the CLI does (the library owns no signals).
cleanUpOnInterrupt();

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name: string, def?: string) => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = args[i + 1];
  if (!v || v.startsWith('--')) {
    process.stderr.write(`ctsim bench: ${name} needs a value\n`);
    process.exit(2);
  }
  return v;
};
const jsonPath = opt('--json', 'bench/results.json');
const readme = opt('--readme');
const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000, 1_000_000];
const suite = { maxTime: quick ? 0.1 : 1.5 };

async function main(): Promise<void> {
  const started = new Date().toISOString();
  process.stderr.write(`ctsim benchmarks (${quick ? 'quick' : 'full'}), node ${process.version}, ${cpus()[0]?.model ?? '?'}\n`);
  const records: BenchRecord[] = [];
  for (const r of benchWire(suite)) records.push({ workload: 'wire', variant: `${r.suite}: ${r.name}`, entries: 0, opsPerSec: r.opsPerSec, baselineOpsPerSec: null, ratio: null, bytesPerEntry: null });
  for (const n of sizes) records.push(...benchTableWorkloads(n, suite));
  for (const n of sizes) records.push(benchFullPath(n, suite));
  for (const n of sizes) records.push(benchExpiry(n));
  records.push(benchMemory(quick ? 10_000 : 1_000_000));
  records.push(await allocationCheck(quick ? 1_000_000 : 10_000_000));
  records.push(churnCheck(quick ? 10_000 : 1_000_000, quick ? 200_000 : 10_000_000));
  records.push(...benchSim(quick));
  records.push(...(await benchOvs(quick)));

  const rows = records.filter((r) => r.workload !== 'wire').map((r) => [
    r.workload + (r.variant ? ` (${r.variant})` : ''), r.entries ? String(r.entries) : '-', formatOps(r.opsPerSec),
    r.baselineOpsPerSec ? formatOps(r.baselineOpsPerSec) : '-', r.ratio ? `${r.ratio.toFixed(2)}x` : '-', r.bytesPerEntry ? r.bytesPerEntry.toFixed(1) : '-',
  ]);
  printTable('ctsim benchmark results (ops/s; baseline = Map<string> unless stated)', rows, ['workload', 'entries', 'ctsim ops/s', 'baseline ops/s', 'ratio', 'B/entry (index)']);
  const meta = { date: started, node: process.version, cpu: cpus()[0]?.model ?? '?', cores: cpus().length, platform: `${platform()} ${arch()}`, mode: quick ? 'quick' : 'full' };
  if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify({ meta, records }, null, 2)}\n`);
  if (readme) writeReadme(readme, meta, records);
}

function writeReadme(path: string, meta: Record<string, unknown>, records: BenchRecord[]): void {
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${path} has no ${start} ... ${end} section`);
  const lines = [
    start,
    `Measured ${String(meta.date).slice(0, 10)} on ${meta.cpu} (${meta.cores} cores), Node ${meta.node}, ${meta.mode} mode (\`npm run bench\`):`,
    '',
    '| workload | entries | ctsim ops/s | baseline ops/s | ratio | bytes/entry (index) |',
    '|---|---|---|---|---|---|',
    ...records.filter((r) => r.workload !== 'wire').map((r) => `| ${r.workload}${r.variant ? ` (${r.variant})` : ''} | ${r.entries || '-'} | ${formatOps(r.opsPerSec)} | ${r.baselineOpsPerSec ? formatOps(r.baselineOpsPerSec) : '-'} | ${r.ratio ? `${r.ratio.toFixed(2)}x` : '-'} | ${r.bytesPerEntry ? r.bytesPerEntry.toFixed(1) : '-'} |`),
    end,
  ];
  writeFileSync(path, text.slice(0, a) + lines.join('\n') + text.slice(b + end.length));
}

main().catch((e) => {
  process.stderr.write(`ctsim bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
