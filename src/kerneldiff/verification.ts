// Each profile's verification status as data: `kernel-diff --record` (and `kernel-diff merge
// --record`) appends what a run against a real kernel measured to verification-records.json in
// this package; `ctsim kernels` and `ctsim --help` read it back. A profile is "verified" only by
// a record of a complete campaign or scenario run whose comparison used that very profile and
// agreed in full; otherwise it is "modelled", from the kernel-change records it is built from.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KERNEL_CHANGES } from '../conntrack/kernel-changes.js';
import { KNOWN_RELEASES, VENDOR_PROFILES, resolveKernel, type KernelProfile } from '../conntrack/kernel-profile.js';
import { isComplete, type BatchReport } from './batch-report.js';
import type { ScenarioComparison } from './scenario-compare.js';

export const RECORDS_FILE = 'src/kerneldiff/verification-records.json';

export interface BatchRecord {
  kind: 'batch';
  kernel: string;
  kernelSource: string;
  profile: string;
  sysctls: string[];
  source: BatchReport['source'];
  cases: number;
  packets: number;
  packetAgreement: number;
  entryChecks: number;
  entryAgreement: number;
  timeoutChecks: number;
  timeoutAgreement: number;
  disagreeingCases: number;
  wallSeconds: number;
  recordedAt: string;
}

export interface ScenarioRecord {
  kind: 'scenario';
  kernel: string;
  kernelSource: string;
  profile: string;
  /** The variant (scenario-variants.ts id; the two incidents are variants of their own name). */
  scenario: string;
  packetsMatched: number;
  packetsCtsim: number;
  packetsKernel: number;
  eventsMatched: number;
  eventsCtsim: number;
  eventsKernel: number;
  outcomeAgree: boolean;
  agree: boolean;
  recordedAt: string;
}

export type VerificationRecord = BatchRecord | ScenarioRecord;

export interface RecordsFile {
  note: string;
  records: VerificationRecord[];
}

let root: string | undefined;

/** This ctsim package's folder (dist/ does not carry the JSON file). */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ctsim') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`ctsim's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export function recordsPath(): string {
  return join(packageRoot(), RECORDS_FILE);
}

export function loadRecords(path = recordsPath()): VerificationRecord[] {
  if (!existsSync(path)) return [];
  return (JSON.parse(readFileSync(path, 'utf8')) as RecordsFile).records;
}

/** Appends records (written to a temporary name, then renamed: never half-written). */
export function appendRecords(add: readonly VerificationRecord[], path = recordsPath()): void {
  const records = [...loadRecords(path), ...add];
  const file: RecordsFile = {
    note: 'Written by `ctsim kernel-diff --record` / `ctsim kernel-diff merge --record`: what runs against real kernels measured. Read by `ctsim kernels`.',
    records,
  };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`);
  renameSync(tmp, path);
}

export function batchRecord(r: BatchReport, recordedAt = new Date().toISOString()): BatchRecord {
  if (!isComplete(r)) throw new Error(`only a whole campaign is recorded: this report holds shards ${r.shards.map((s) => `${s.index}/${s.count}`).join(', ')} (merge the others in first)`);
  return {
    kind: 'batch', kernel: r.kernel, kernelSource: r.kernelSource, profile: r.profile, sysctls: r.sysctls, source: r.source,
    cases: r.cases, packets: r.packets, packetAgreement: r.packetAgreement, entryChecks: r.entryChecks, entryAgreement: r.entryAgreement,
    timeoutChecks: r.timeoutChecks, timeoutAgreement: r.timeoutAgreement, disagreeingCases: r.disagreeingCases.length, wallSeconds: r.wallSeconds, recordedAt,
  };
}

export function scenarioRecord(c: ScenarioComparison, kernelSource: string, recordedAt = new Date().toISOString()): ScenarioRecord {
  const s = c.summary;
  return {
    kind: 'scenario', kernel: c.kernel, kernelSource, profile: c.profile, scenario: c.variant ?? c.name,
    packetsMatched: s.packets.matched, packetsCtsim: s.packets.ctsim, packetsKernel: s.packets.kernel,
    eventsMatched: s.events.matched, eventsCtsim: s.events.ctsim, eventsKernel: s.events.kernel,
    outcomeAgree: s.outcomeAgree, agree: s.agree, recordedAt,
  };
}

const batchAgrees = (r: BatchRecord) => r.disagreeingCases === 0 && r.packetAgreement === r.packets && r.entryAgreement === r.entryChecks;

export interface ProfileStatus {
  profile: string;
  status: 'verified' | 'modelled';
  /** Full-agreement records for this exact profile (newest first). */
  verifiedBy: VerificationRecord[];
  /** Records for this profile that disagreed (newest first). */
  disagreedBy: VerificationRecord[];
  /** Verified profiles with exactly the same behaviour switches (for a modelled profile). */
  sameSwitchesAs: string[];
  /** The kernel-change records the profile is built from. */
  changes: string[];
  evidence: string;
}

function sameBehaviour(a: KernelProfile, b: KernelProfile): boolean {
  return JSON.stringify(a.behaviour) === JSON.stringify(b.behaviour) && a.wording === b.wording;
}

/** Every profile worth listing: the example releases, the vendor profiles, and every profile a record names. */
export function profileStatuses(records: readonly VerificationRecord[] = loadRecords()): ProfileStatus[] {
  const names = [...new Set([...KNOWN_RELEASES, ...VENDOR_PROFILES, ...records.map((r) => r.profile)])];
  const profiles = names.map((n) => resolveKernel(n));
  // Newest day first; within a day the largest campaigns first, then the scenarios.
  const weight = (r: VerificationRecord) => (r.kind === 'batch' ? r.cases : 0);
  const newestFirst = (xs: VerificationRecord[]) => [...xs].sort((a, b) => b.recordedAt.slice(0, 10).localeCompare(a.recordedAt.slice(0, 10)) || weight(b) - weight(a));
  const verified = new Set(records.filter((r) => (r.kind === 'batch' ? batchAgrees(r) : r.agree)).map((r) => r.profile));
  const order = (p: KernelProfile) => [p.version.major, p.version.minor, p.version.patch];
  profiles.sort((a, b) => {
    const x = order(a);
    const y = order(b);
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || a.name.localeCompare(b.name);
  });
  return profiles.map((p) => {
    const mine = records.filter((r) => r.profile === p.name);
    const ok = newestFirst(mine.filter((r) => (r.kind === 'batch' ? batchAgrees(r) : r.agree)));
    const bad = newestFirst(mine.filter((r) => !(r.kind === 'batch' ? batchAgrees(r) : r.agree)));
    const same = profiles.filter((q) => q.name !== p.name && verified.has(q.name) && sameBehaviour(p, q)).map((q) => q.name);
    const evidence = KERNEL_CHANGES.filter((c) => p.changes.includes(c.id)).map((c) => `${c.id} (${c.commit})`).join(', ');
    return {
      profile: p.name, status: ok.some((r) => r.kind === 'batch') ? 'verified' : 'modelled', verifiedBy: ok, disagreedBy: bad, sameSwitchesAs: same,
      changes: p.changes, evidence: evidence || 'no change records (the 4.19 baseline)',
    };
  });
}
