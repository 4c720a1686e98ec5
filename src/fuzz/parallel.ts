// `ctsim fuzz --jobs N`: the cases of one (shard of a) campaign split over N worker threads, each
// running the plain fuzz loop on a sub-shard; their summaries add up with mergeFuzzSummaries()
// exactly as shards from many machines do (`ctsim fuzz merge`).
import { Worker } from 'node:worker_threads';
import type { FuzzOptions, FuzzProgress, FuzzSummary } from './fuzzer.js';
import { INVARIANTS, type InvariantName } from './invariants.js';
import { lcm, subShard, type Shard } from './shard.js';

export class FuzzMergeError extends Error {
  override readonly name = 'FuzzMergeError';
  readonly kind = 'input';
}

/** What a worker needs (no functions cross the thread boundary). */
export type WorkerJob = Omit<FuzzOptions, 'onProgress' | 'clock'>;

export async function runFuzzParallel(o: FuzzOptions, jobs: number): Promise<FuzzSummary> {
  const shard = o.shard ?? { index: 1, count: 1 };
  const subs = Array.from({ length: jobs }, (_, j) => subShard(shard, j, jobs)).filter((s) => s.index - 1 < o.count);
  const progress = subs.map(() => ({ cases: 0, packets: 0, findings: 0 }));
  const start = performance.now();
  const workers: Worker[] = [];
  try {
    const summaries = await Promise.all(subs.map((s, j) => new Promise<FuzzSummary>((resolve, reject) => {
      const { onProgress: _p, clock: _c, ...plain } = o;
      const job: WorkerJob = { ...plain, shard: s };
      const w = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: { job, progress: o.onProgress !== undefined } });
      workers.push(w);
      w.on('message', (m: { progress?: FuzzProgress; summary?: FuzzSummary }) => {
        if (m.progress && o.onProgress) {
          progress[j] = m.progress;
          const cases = progress.reduce((a, p) => a + p.cases, 0);
          const elapsedSec = (performance.now() - start) / 1000;
          o.onProgress({ cases, packets: progress.reduce((a, p) => a + p.packets, 0), findings: progress.reduce((a, p) => a + p.findings, 0), elapsedSec, casesPerSec: elapsedSec > 0 ? cases / elapsedSec : 0 });
        }
        if (m.summary) resolve(m.summary);
      });
      w.on('error', reject);
      w.on('exit', (code) => { if (code !== 0) reject(new Error(`fuzz worker ${j + 1} exited with ${code}`)); });
    })));
    const merged = mergeFuzzSummaries(summaries);
    // Wall time of the whole parallel run, not the sum of the workers' times.
    const elapsedSec = (performance.now() - start) / 1000;
    return { ...merged, elapsedSec, casesPerSec: elapsedSec > 0 ? merged.casesRun / elapsedSec : 0, packetsPerSec: elapsedSec > 0 ? merged.packets / elapsedSec : 0 };
  } finally {
    for (const w of workers) void w.terminate();
  }
}

const sameCampaign = (a: FuzzSummary, b: FuzzSummary): string | null =>
  a.kernel !== b.kernel ? `kernel ${b.kernel} vs ${a.kernel}`
    : a.seed !== b.seed ? `seed ${b.seed} vs ${a.seed}`
    : a.mode !== b.mode ? `mode ${b.mode} vs ${a.mode}`
    : a.count !== b.count ? `count ${b.count} vs ${a.count}`
    : a.sysctls.join(' ') !== b.sysctls.join(' ') ? `sysctls "${b.sysctls.join(' ')}" vs "${a.sysctls.join(' ')}"`
    : a.maxPackets !== b.maxPackets || a.maxPayload !== b.maxPayload ? 'max-packets/max-payload differ'
    : null;

/** Adds shard summaries of one campaign up; refuses other campaigns and overlapping shards. */
export function mergeFuzzSummaries(xs: readonly FuzzSummary[], names: readonly string[] = xs.map((_, i) => `summary ${i + 1}`)): FuzzSummary {
  if (xs.length === 0) throw new FuzzMergeError('nothing to merge');
  const first = xs[0];
  xs.forEach((x, i) => {
    if (!Array.isArray(x.shards) || typeof x.casesRun !== 'number' || !x.byInvariant) throw new FuzzMergeError(`${names[i]}: not a ctsim fuzz summary (write one with ctsim fuzz --json or --report FILE)`);
    const why = sameCampaign(first, x);
    if (why) throw new FuzzMergeError(`${names[i]} is not from the same campaign as ${names[0]}: ${why}`);
  });
  const shards: Shard[] = xs.flatMap((x) => x.shards);
  const stride = shards.reduce((l, s) => lcm(l, s.count), 1);
  const owner = new Map<number, number>();
  xs.forEach((x, i) => {
    for (const s of x.shards) {
      for (let r = s.index - 1; r < stride; r += s.count) {
        const o = owner.get(r);
        if (o !== undefined) throw new FuzzMergeError(`${names[i]} and ${names[o]} overlap (both hold residue ${r} of ${stride}): each shard once`);
        owner.set(r, i);
      }
    }
  });
  const sum = (f: (x: FuzzSummary) => number) => xs.reduce((a, x) => a + f(x), 0);
  const byInvariant = Object.fromEntries(INVARIANTS.map((k) => [k, sum((x) => x.byInvariant[k] ?? 0)])) as Record<InvariantName, number>;
  const elapsedSec = sum((x) => x.elapsedSec);
  const casesRun = sum((x) => x.casesRun);
  const packets = sum((x) => x.packets);
  return {
    ...first, casesRun, packets, elapsedSec, casesPerSec: elapsedSec > 0 ? casesRun / elapsedSec : 0, packetsPerSec: elapsedSec > 0 ? packets / elapsedSec : 0,
    stoppedBy: xs.some((x) => x.stoppedBy === 'time-budget') ? 'time-budget' : 'count',
    typedErrors: sum((x) => x.typedErrors), violations: sum((x) => x.violations), byInvariant,
    findings: xs.flatMap((x) => x.findings).sort((a, b) => a.caseIndex - b.caseIndex),
    corpusWritten: sum((x) => x.corpusWritten),
    shards: shards.sort((a, b) => a.count - b.count || a.index - b.index),
  };
}
