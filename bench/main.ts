// `npm run bench [-- --quick] [-- --json file] [-- --readme README.md] [-- --sizes 1e3,1e6]
// [-- --only lookup,full-path] [-- --seconds 1]`: every workload at every size, ctsim against the
// baselines in the same run; progress on stderr, the tables on stdout, one JSON record per
// workload, variant and size (each with its definition), and optionally the README's section
// regenerated. `npm run bench -- --compare old.json new.json` prints new/old ratios and runs
// nothing.
import { readFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform } from 'node:os';
import { allocationCheck, churnCheck } from './checks.bench.js';
import { CLOCK } from './clock.js';
import { benchExpiry } from './expiry.bench.js';
import { benchFullPath, setupFullPath } from './full-path.bench.js';
import type { TimingOptions } from './harness.js';
import { LIFECYCLE_MIN_FLOWS, benchLifecycle } from './lifecycle.bench.js';
import { memoryInUse, memoryRecord } from './memory.bench.js';
import { benchOvs } from './ovs.bench.js';
import { cleanUpOnInterrupt } from '../src/cli/process-guard.js';
import { writeFileAtomic } from '../src/output/atomic-file.js';
import type { BenchFile, BenchMeta, BenchRecord, Workload } from './record.js';
import { README_MARKERS, hasReadmeSection, printComparison, printReport, writeReadmeSection } from './report.js';
import { benchSim } from './sim.bench.js';
import { benchTable } from './table.bench.js';
import { makeFlows } from './traffic.js';
import { benchWire } from './wire.bench.js';

// The OVS comparison starts daemons: stop them at exit and on Ctrl-C, as the CLI does (the library owns no signals).
cleanUpOnInterrupt();

const ALL: Workload[] = ['lookup', 'port-reuse', 'full-path', 'lifecycle', 'memory', 'churn', 'allocation', 'expiry', 'sim', 'wire', 'vs-ovs'];

class UsageError extends Error {}

function parseArgs(argv: string[]) {
  const flags = new Set<string>();
  const values = new Map<string, string[]>();
  const takes = new Set(['--json', '--readme', '--sizes', '--only', '--seconds', '--map-limit', '--compare']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') flags.add(a);
    else if (takes.has(a)) {
      const n = a === '--compare' ? 2 : 1;
      const vs = argv.slice(i + 1, i + 1 + n);
      if (vs.length < n || vs.some((v) => v.startsWith('--'))) throw new UsageError(`${a} needs ${n === 2 ? 'two files' : 'a value'}`);
      values.set(a, vs);
      i += n;
    } else throw new UsageError(`unknown argument ${a}`);
  }
  const num = (s: string) => {
    const v = Number(s);
    if (!Number.isFinite(v) || v <= 0) throw new UsageError(`not a positive number: ${s}`);
    return Math.round(v);
  };
  const quick = flags.has('--quick');
  const only = values.get('--only')?.[0].split(',') ?? ALL;
  for (const w of only) if (!ALL.includes(w as Workload)) throw new UsageError(`--only: unknown workload ${w} (one of ${ALL.join(', ')})`);
  const sizes = values.get('--sizes')?.[0].split(',').map(num) ?? (quick ? [1_000, 10_000] : [1_000, 10_000, 100_000, 1_000_000, 8_000_000]);
  const seconds = values.has('--seconds') ? Number(values.get('--seconds')![0]) : quick ? 0.02 : 0.25;
  if (!(seconds > 0)) throw new UsageError('--seconds must be positive');
  return {
    quick,
    only: new Set(only as Workload[]),
    sizes,
    seconds,
    mapLimit: values.has('--map-limit') ? num(values.get('--map-limit')![0]) : 1_000_000,
    // bench/results.json holds the last full run (committed, the README's source): a partial run
    // (--quick, --only, --sizes, --seconds) goes to bench/results-partial.json unless told otherwise.
    json: values.get('--json')?.[0] ?? (quick || values.has('--only') || values.has('--sizes') || values.has('--seconds') ? 'bench/results-partial.json' : 'bench/results.json'),
    readme: values.get('--readme')?.[0],
    compare: values.get('--compare'),
  };
}

function readInput(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function readBench(path: string): BenchFile {
  let f: BenchFile;
  try {
    f = JSON.parse(readInput(path)) as BenchFile;
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!f || !Array.isArray(f.records)) throw new UsageError(`${path}: not a bench JSON file (no records)`);
  return f;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.compare) {
    printComparison(readBench(o.compare[0]), readBench(o.compare[1]));
    return;
  }
  // A README without the section's markers fails now, not after minutes of benchmarks.
  const readmeText = o.readme ? readInput(o.readme) : null;
  if (readmeText !== null && !hasReadmeSection(readmeText)) throw new UsageError(`${o.readme}: no ${README_MARKERS.start} ... ${README_MARKERS.end} section to regenerate`);
  const meta: BenchMeta = {
    date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? '?', cores: cpus().length, platform: `${platform()} ${arch()}`,
    mode: o.quick ? 'quick' : 'full', loadAverageStart: loadavg(), loadAverageEnd: [], sizes: o.sizes, clock: CLOCK,
  };
  process.stderr.write(`ctsim benchmarks (${meta.mode}), node ${meta.node}, ${meta.cpu}, load average ${meta.loadAverageStart.map((x) => x.toFixed(1)).join(' ')}\n`);
  const timing: TimingOptions = { seconds: o.seconds, minRounds: o.quick ? 3 : 9, warmup: 2 };
  const records: BenchRecord[] = [];
  const on = (w: Workload) => o.only.has(w);
  if (on('wire')) {
    for (const r of benchWire({ maxTime: o.quick ? 0.05 : 1 })) {
      records.push({
        workload: 'wire', variant: `${r.suite}: ${r.name}`, entries: 0, unit: 'ops/s', opsPerSec: r.opsPerSec, bytesPerEntry: null,
        definition: { operation: r.suite, keys: '-', flows: 'one 152-byte segment', harness: 'benchmark.js' },
        results: [{ impl: r.name, opsPerSec: r.opsPerSec, nsPerOp: 1e9 / r.opsPerSec }],
      });
    }
  }
  for (const n of o.sizes) {
    const flows = makeFlows(n);
    if (on('lookup') || on('port-reuse')) {
      records.push(...benchTable(flows, { timing, mapLimit: o.mapLimit }).filter((r) => on(r.workload)));
    }
    if (on('full-path') || on('lifecycle') || on('memory')) {
      const before = memoryInUse();
      const s = setupFullPath(flows);
      const measured = memoryInUse() - before;
      if (on('full-path')) for (const choice of ['uniform', 'zipf'] as const) records.push(benchFullPath(s, choice, { timing, mapLimit: o.mapLimit }));
      if (on('lifecycle')) {
        if (n >= LIFECYCLE_MIN_FLOWS) records.push(benchLifecycle(s, timing, n <= o.mapLimit));
        else process.stderr.write(`  lifecycle @ ${n}: skipped (it interleaves ${LIFECYCLE_MIN_FLOWS} distinct live flows)\n`);
      }
      if (on('memory')) records.push(memoryRecord(s.ct, flows, measured, n <= o.mapLimit));
    }
  }
  if (on('churn')) records.push(churnCheck(o.quick ? 10_000 : 1_000_000, o.quick ? 200_000 : 10_000_000, timing));
  if (on('allocation')) records.push(...(await allocationCheck(o.quick ? 1_000_000 : 10_000_000)));
  if (on('expiry')) for (const n of o.sizes.filter((x) => x <= o.mapLimit)) records.push(benchExpiry(n));
  if (on('sim')) records.push(...benchSim(o.quick));
  if (on('vs-ovs')) records.push(...(await benchOvs(o.quick)));
  meta.loadAverageEnd = loadavg();
  const file: BenchFile = { meta, records };
  printReport(file);
  if (o.json) writeFileAtomic(o.json, `${JSON.stringify(file, null, 2)}\n`);
  if (o.readme) writeFileAtomic(o.readme, writeReadmeSection(readFileSync(o.readme, 'utf8'), file));
}

main().catch((e) => {
  process.stderr.write(`ctsim bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
