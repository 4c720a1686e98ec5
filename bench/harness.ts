// Timing. The workloads use timeInterleaved, on this thread's CPU time (clock.ts): every round
// gives each implementation a fresh ring of packets (prepared outside the timed region: the
// generator's reads and writes are not measured) and times it processing that ring,
// implementations in rotating order (each until it has its rounds and seconds), so that load from other processes and cache state fall on
// all of them alike; a result is the median over rounds, with the 10th/90th percentiles to show
// the spread. The wire micro-benchmarks keep benchmark.js (runSuite).
import Benchmark from 'benchmark';
import { CLOCK_OVERHEAD_NS, now } from './clock.js';

export interface SuiteOptions {
  /** Seconds per case (benchmark.js maxTime) and, for timeInterleaved, timed seconds per implementation. */
  maxTime: number;
}

export interface CaseResult {
  suite: string;
  name: string;
  opsPerSec: number;
  rme: number;
  samples: number;
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

/** One implementation of a workload: processes the ring prepared for it, returns the operations done. */
export interface Contender {
  name: string;
  run: () => number;
}

export interface Timing {
  impl: string;
  opsPerSec: number;
  /** Median, 10th and 90th percentile over rounds, in ns per operation. */
  nsPerOp: number;
  p10NsPerOp: number;
  p90NsPerOp: number;
  rounds: number;
  ops: number;
}

export interface TimingOptions {
  /** Timed seconds per contender (at least minRounds rounds are run). */
  seconds: number;
  minRounds: number;
  /** Untimed rounds first (JIT warm-up). */
  warmup: number;
}

/**
 * Times the contenders round by round: prepare(name) fills the ring for the next run (untimed),
 * then the contender's run() is timed. Returns one Timing per contender, in the given order.
 */
export function timeInterleaved(contenders: Contender[], prepare: (name: string) => void, opts: TimingOptions): Timing[] {
  const samples = contenders.map(() => [] as number[]);
  const spent = contenders.map(() => 0);
  const ops = contenders.map(() => 0);
  for (let w = 0; w < opts.warmup; w++) {
    for (const c of contenders) {
      prepare(c.name);
      c.run();
    }
  }
  // A contender stops once it has its rounds and its seconds (the slow baselines need far fewer
  // rounds than ctsim's fast paths); until then all run round by round, in rotating order.
  const done = (i: number) => samples[i].length >= opts.minRounds && spent[i] >= opts.seconds;
  for (let round = 0; ; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (k + round) % contenders.length;
      if (done(i)) continue;
      const c = contenders[i];
      prepare(c.name);
      const t0 = now();
      const n = c.run();
      const ns = Math.max(1, now() - t0 - CLOCK_OVERHEAD_NS);
      if (n <= 0) throw new Error(`${c.name}: no operations`);
      samples[i].push(ns / n);
      spent[i] += ns / 1e9;
      ops[i] += n;
    }
    if (contenders.every((_, i) => done(i))) break;
  }
  return contenders.map((c, i) => {
    const s = samples[i].sort((a, b) => a - b);
    const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
    const med = at(0.5);
    return { impl: c.name, opsPerSec: 1e9 / med, nsPerOp: med, p10NsPerOp: at(0.1), p90NsPerOp: at(0.9), rounds: s.length, ops: ops[i] };
  });
}

export function formatOps(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

export function formatCount(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(n);
}

export function printTable(title: string, rows: string[][], header: string[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  process.stdout.write(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}
