// A thin layer over benchmark.js: run a suite, collect ops/s, print a table. Each case is
// measured in the same process and run, so ratios compare like with like.
import Benchmark from 'benchmark';

export interface CaseResult {
  suite: string;
  name: string;
  opsPerSec: number;
  rme: number;
  samples: number;
}

export interface SuiteOptions {
  /** Seconds per case (benchmark.js maxTime). --quick uses a fraction of a second. */
  maxTime: number;
}

export function runSuite(suiteName: string, cases: Record<string, () => void>, opts: SuiteOptions): CaseResult[] {
  const suite = new Benchmark.Suite(suiteName);
  for (const [name, fn] of Object.entries(cases)) suite.add(name, fn, { maxTime: opts.maxTime, minSamples: 5 });
  const results: CaseResult[] = [];
  suite.on('cycle', (ev: Benchmark.Event) => {
    const b = ev.target as unknown as Benchmark;
    if (b.error) throw b.error;
    results.push({ suite: suiteName, name: String(b.name), opsPerSec: b.hz ?? 0, rme: b.stats?.rme ?? 0, samples: b.stats?.sample.length ?? 0 });
    process.stderr.write(`  ${suiteName} / ${b.name}: ${formatOps(b.hz ?? 0)} ops/s ±${(b.stats?.rme ?? 0).toFixed(1)}%\n`);
  });
  suite.run({ async: false });
  return results;
}

export function formatOps(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

export function printTable(title: string, rows: string[][], header: string[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  process.stdout.write(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}
