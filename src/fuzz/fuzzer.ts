// The fuzz loop: generate case n, run every check, minimise and save what fails, optionally save
// every passing case as corpus; stop after `count` cases or the time budget. Synchronous and
// deterministic apart from the wall clock (which only decides where a time budget stops).
import type { FuzzMode } from './case.js';
import { writeCaseFiles, type CaseFiles } from './case-files.js';
import { makeFault, type FaultName } from './faults.js';
import { CaseGenerator } from './generator.js';
import { runCase } from './harness.js';
import { INVARIANTS, type InvariantName, type Violation } from './invariants.js';
import { minimise } from './minimise.js';
import type { Shard } from './shard.js';

export interface FuzzOptions {
  kernel: string;
  sysctls: readonly string[];
  seed: number;
  count: number;
  mode: FuzzMode;
  /** Where minimised failing cases go. */
  outDir: string;
  /** Stop after this many seconds of wall time (checked between cases). */
  timeBudgetSec?: number;
  /** Also write every passing case here (the committed corpus is made this way). */
  corpusDir?: string;
  maxPackets?: number;
  maxPayload?: number;
  /** Minimise findings before saving them (default true). */
  minimise?: boolean;
  /** Findings minimised and saved per invariant; later ones are only counted (default 10). */
  savePerInvariant?: number;
  /** Testing the fuzzer: break the engine on purpose (see faults.ts). */
  fault?: FaultName;
  /** Called about every `progressMs` (default 250 ms) of wall time. */
  onProgress?: (p: FuzzProgress) => void;
  progressMs?: number;
  /** Wall clock in ms (tests replace it). */
  clock?: () => number;
  /** Run only this shard of the `count` cases (cases n with n % N == I - 1). */
  shard?: Shard;
}

export interface FuzzProgress {
  cases: number;
  packets: number;
  findings: number;
  elapsedSec: number;
  casesPerSec: number;
}

export interface Finding extends Violation {
  caseIndex: number;
  /** Packets before and after minimising. */
  packetsBefore: number;
  packetsAfter: number;
  minimiserRuns: number;
  files: CaseFiles | null;
}

export interface FuzzSummary {
  kernel: string;
  sysctls: string[];
  seed: number;
  mode: FuzzMode;
  count: number;
  casesRun: number;
  packets: number;
  elapsedSec: number;
  casesPerSec: number;
  packetsPerSec: number;
  stoppedBy: 'count' | 'time-budget';
  /** Cases a typed error stopped (WireError etc.: allowed, counted). */
  typedErrors: number;
  violations: number;
  byInvariant: Record<InvariantName, number>;
  findings: Finding[];
  outDir: string;
  corpusDir: string | null;
  corpusWritten: number;
  maxPackets: number;
  maxPayload: number;
  /** The shards this summary covers (several after a merge). */
  shards: Shard[];
}

/** Findings beyond the saved ones are listed up to this many (the counts are always complete). */
const MAX_FINDINGS_LISTED = 1000;

/** File-name-safe kernel name ("6.1.8", "sles-15-sp4"). */
function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function runFuzz(o: FuzzOptions): FuzzSummary {
  const clock = o.clock ?? (() => performance.now());
  const gen = new CaseGenerator({ kernel: o.kernel, sysctls: o.sysctls, seed: o.seed, mode: o.mode, maxPackets: o.maxPackets, maxPayload: o.maxPayload });
  const fault = o.fault ? makeFault(o.fault) : undefined;
  const byInvariant = Object.fromEntries(INVARIANTS.map((k) => [k, 0])) as Record<InvariantName, number>;
  const findings: Finding[] = [];
  const savePer = o.savePerInvariant ?? 10;
  const progressMs = o.progressMs ?? 250;
  const start = clock();
  let lastProgress = start;
  let packets = 0;
  let typedErrors = 0;
  let violations = 0;
  let corpusWritten = 0;
  let cases = 0;
  let stoppedBy: FuzzSummary['stoppedBy'] = 'count';
  const progress = (): FuzzProgress => {
    const elapsedSec = (clock() - start) / 1000;
    return { cases, packets, findings: violations, elapsedSec, casesPerSec: elapsedSec > 0 ? cases / elapsedSec : 0 };
  };

  const shard = o.shard ?? { index: 1, count: 1 };
  for (let n = shard.index - 1; n < o.count; n += shard.count) {
    if (o.timeBudgetSec !== undefined && (clock() - start) / 1000 >= o.timeBudgetSec) {
      stoppedBy = 'time-budget';
      break;
    }
    const c = gen.generate(n);
    const r = runCase(c, { fault });
    cases++;
    packets += c.packets.length;
    if (r.typedError) typedErrors++;
    if (r.violation) {
      violations++;
      const inv = r.violation.invariant;
      byInvariant[inv]++;
      if (byInvariant[inv] <= savePer) {
        const stillFails = (x: typeof c) => runCase(x, { fault }).violation?.invariant === inv;
        const m = (o.minimise ?? true) ? minimise(c, stillFails) : { case: c, runs: 0 };
        const v = runCase(m.case, { fault }).violation ?? r.violation;
        const files = writeCaseFiles(m.case, o.outDir, `${inv}-${o.seed}-${n}`, v);
        findings.push({ ...v, caseIndex: n, packetsBefore: c.packets.length, packetsAfter: m.case.packets.length, minimiserRuns: m.runs, files });
      } else if (findings.length < MAX_FINDINGS_LISTED) {
        findings.push({ ...r.violation, caseIndex: n, packetsBefore: c.packets.length, packetsAfter: c.packets.length, minimiserRuns: 0, files: null });
      }
    } else if (o.corpusDir) {
      writeCaseFiles(c, o.corpusDir, `${safe(gen.kernelName)}-${o.seed}-${n}`);
      corpusWritten++;
    }
    if (o.onProgress && (cases & 15) === 0) {
      const t = clock();
      if (t - lastProgress >= progressMs) {
        lastProgress = t;
        o.onProgress(progress());
      }
    }
  }
  const elapsedSec = (clock() - start) / 1000;
  return {
    kernel: gen.kernelName, sysctls: o.sysctls.slice(), seed: o.seed, mode: o.mode, count: o.count, casesRun: cases, packets,
    elapsedSec, casesPerSec: elapsedSec > 0 ? cases / elapsedSec : 0, packetsPerSec: elapsedSec > 0 ? packets / elapsedSec : 0,
    stoppedBy, typedErrors, violations, byInvariant, findings, outDir: o.outDir, corpusDir: o.corpusDir ?? null, corpusWritten,
    maxPackets: o.maxPackets ?? 64, maxPayload: o.maxPayload ?? 1460, shards: [shard],
  };
}
