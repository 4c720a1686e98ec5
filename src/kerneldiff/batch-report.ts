// A kernel-diff batch campaign as a JSON file: what was run (the seeded case source, the shard),
// against which kernel (release and where it came from) and which ctsim profile, and how it
// agreed. Shards of one campaign (`--shard I/N` on many machines, or `--jobs N` here) each write
// one; mergeBatchReports() adds them up and refuses reports that do not belong together.
import type { DiffReport, EntryDiff, PacketDiff } from './compare.js';
import { lcm, shardsCover, type Shard } from '../fuzz/shard.js';

export { parseShard, shardIndices, shardsCover, subShard, type Shard } from '../fuzz/shard.js';

export const BATCH_REPORT_FORMAT = 'ctsim-kernel-diff-batch/1';

export class ReportError extends Error {
  override readonly name = 'ReportError';
  readonly kind = 'input';
}

/** Where the cases came from: case i is the same case on every machine. */
export type CaseSource =
  | { kind: 'fuzz'; seed: number; mode: string; count: number; maxPackets: number }
  | { kind: 'files'; dir: string; count: number }
  | { kind: 'reuse-capture'; count: 1 };

export interface BatchReport {
  format: typeof BATCH_REPORT_FORMAT;
  /** `uname -r` of the kernel whose conntrack judged the packets. */
  kernel: string;
  /** Host kernel, or the UML kernel's provenance (package, or build source + neutralised deviations). */
  kernelSource: string;
  profile: string;
  sysctls: string[];
  source: CaseSource;
  /** The shards this report covers (several after a merge). */
  shards: Shard[];
  cases: number;
  packets: number;
  skippedPackets: number;
  packetAgreement: number;
  entryChecks: number;
  entryAgreement: number;
  timeoutChecks: number;
  timeoutAgreement: number;
  /** Entries that expired between the end of the injection and `conntrack -L` (not checked). */
  expiredBeforeListing: number;
  /** caseIndex fields are global case indices. */
  packetDiffs: PacketDiff[];
  entryDiffs: EntryDiff[];
  disagreeingCases: number[];
  /** Minimised disagreements written (file names). */
  minimised: string[];
  /** Wall time of the kernel runs (summed over shards). */
  wallSeconds: number;
  startedAt: string;
}

/** A runKernelDiff report over `indices` (global case index per local one) as a report file. */
export function toBatchReport(r: DiffReport, meta: Pick<BatchReport, 'kernel' | 'kernelSource' | 'profile' | 'sysctls' | 'source' | 'shards' | 'minimised' | 'wallSeconds' | 'startedAt'>, indices: readonly number[]): BatchReport {
  const g = (i: number) => (i >= 0 && i < indices.length ? indices[i] : i);
  return {
    format: BATCH_REPORT_FORMAT, ...meta,
    cases: r.cases, packets: r.packets, skippedPackets: r.skippedPackets, packetAgreement: r.packetAgreement,
    entryChecks: r.entryChecks, entryAgreement: r.entryAgreement, timeoutChecks: r.timeoutChecks, timeoutAgreement: r.timeoutAgreement,
    expiredBeforeListing: r.expiredBeforeListing,
    packetDiffs: r.packetDiffs.map((d) => ({ ...d, caseIndex: g(d.caseIndex) })),
    entryDiffs: r.entryDiffs.map((d) => ({ ...d, caseIndex: g(d.caseIndex) })),
    disagreeingCases: r.disagreeingCases.map(g),
  };
}

const NUMBERS = ['cases', 'packets', 'skippedPackets', 'packetAgreement', 'entryChecks', 'entryAgreement', 'timeoutChecks', 'timeoutAgreement', 'expiredBeforeListing', 'wallSeconds'] as const;

/** Checks that parsed JSON is a batch report (names the file in errors). */
export function parseBatchReport(text: string, name: string): BatchReport {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ReportError(`${name}: not JSON (${(e as Error).message})`);
  }
  const r = v as Partial<BatchReport>;
  if (!r || typeof r !== 'object' || r.format !== BATCH_REPORT_FORMAT) throw new ReportError(`${name}: not a kernel-diff batch report (format ${JSON.stringify(r?.format)}, expected ${BATCH_REPORT_FORMAT}; write one with kernel-diff --report FILE)`);
  for (const k of NUMBERS) if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) throw new ReportError(`${name}: field ${k} is not a number`);
  for (const k of ['packetDiffs', 'entryDiffs', 'disagreeingCases', 'shards', 'sysctls', 'minimised'] as const) if (!Array.isArray(r[k])) throw new ReportError(`${name}: field ${k} is not a list`);
  if (typeof r.kernel !== 'string' || typeof r.profile !== 'string' || !r.source || typeof r.source !== 'object') throw new ReportError(`${name}: kernel, profile or source missing`);
  return r as BatchReport;
}

const sameSource = (a: CaseSource, b: CaseSource) => JSON.stringify(a) === JSON.stringify(b);

/** Adds shards of one campaign up; refuses mixed kernels, profiles, sysctls, case sources or overlapping shards. */
export function mergeBatchReports(reports: readonly BatchReport[], names: readonly string[] = reports.map((_, i) => `report ${i + 1}`)): BatchReport {
  if (reports.length === 0) throw new ReportError('nothing to merge');
  const first = reports[0];
  reports.forEach((r, i) => {
    const why = r.kernel !== first.kernel ? `kernel ${r.kernel} vs ${first.kernel}`
      : r.profile !== first.profile ? `profile ${r.profile} vs ${first.profile}`
      : r.sysctls.join(' ') !== first.sysctls.join(' ') ? `sysctls "${r.sysctls.join(' ')}" vs "${first.sysctls.join(' ')}"`
      : !sameSource(r.source, first.source) ? `case source ${JSON.stringify(r.source)} vs ${JSON.stringify(first.source)}`
      : null;
    if (why) throw new ReportError(`${names[i]} is not from the same campaign as ${names[0]}: ${why}`);
  });
  const shards = reports.flatMap((r) => r.shards);
  const stride = shards.reduce((l, p) => lcm(l, p.count), 1);
  const owner = new Map<number, number>();
  reports.forEach((r, i) => {
    for (const s of r.shards) {
      for (let x = s.index - 1; x < stride; x += s.count) {
        const o = owner.get(x);
        if (o !== undefined) throw new ReportError(`${names[i]} and ${names[o]} overlap (both hold shard residue ${x} of ${stride}): each shard once`);
        owner.set(x, i);
      }
    }
  });
  const sum = (k: (typeof NUMBERS)[number]) => reports.reduce((a, r) => a + r[k], 0);
  const byIndex = <T extends { caseIndex: number }>(xs: T[]) => xs.sort((a, b) => a.caseIndex - b.caseIndex);
  return {
    format: BATCH_REPORT_FORMAT, kernel: first.kernel, kernelSource: first.kernelSource, profile: first.profile, sysctls: first.sysctls, source: first.source,
    shards: shards.sort((a, b) => a.count - b.count || a.index - b.index),
    cases: sum('cases'), packets: sum('packets'), skippedPackets: sum('skippedPackets'), packetAgreement: sum('packetAgreement'),
    entryChecks: sum('entryChecks'), entryAgreement: sum('entryAgreement'), timeoutChecks: sum('timeoutChecks'), timeoutAgreement: sum('timeoutAgreement'),
    expiredBeforeListing: sum('expiredBeforeListing'),
    packetDiffs: byIndex(reports.flatMap((r) => r.packetDiffs)), entryDiffs: byIndex(reports.flatMap((r) => r.entryDiffs)),
    disagreeingCases: [...new Set(reports.flatMap((r) => r.disagreeingCases))].sort((a, b) => a - b),
    minimised: reports.flatMap((r) => r.minimised),
    wallSeconds: sum('wallSeconds'),
    startedAt: reports.map((r) => r.startedAt).sort()[0],
  };
}

/** Is the merged set the whole campaign (every shard present)? */
export function isComplete(r: BatchReport): boolean {
  return shardsCover(r.shards, { index: 1, count: 1 });
}
