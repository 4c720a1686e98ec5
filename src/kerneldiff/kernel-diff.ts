// Differential testing against the running kernel: cases go through R's conntrack in batches
// and through ctsim under the profile of `uname -r` with the same sysctls; disagreements are
// reported per packet and per final entry, and the disagreeing cases are minimised (packets
// dropped while the disagreement persists) against the real kernel again.
import { release } from 'node:os';
import { resolveKernel, type KernelProfile } from '../conntrack/kernel-profile.js';
import { compareBatch, type DiffReport } from './compare.js';
import { INJECT_PPS, runKernelBatch, type KernelBatchOptions } from './kernel-batch.js';
import { LabError, NetnsLab } from './netns-lab.js';
import { prepareCases, type DiffCase } from './prepare-cases.js';

export interface KernelDiffOptions {
  cases: DiffCase[];
  sysctls?: string[];
  /** Cases per injection run (the router's conntrack is flushed between runs). */
  batchSize?: number;
  /** How many disagreeing cases to minimise (each step is a kernel run). */
  minimise?: number;
  onProgress?: (done: number, total: number, report: DiffReport) => void;
  /** Injection rate (packets/s) to start from; lossy runs are retried slower. */
  pps?: number;
  /** Compare with this ctsim profile instead of the one for `uname -r` (e.g. ubuntu-20.04 on a real 5.4). */
  profile?: string;
  /** Keep every run's scratch directory (injection pcap, R's capture) and report it here. */
  onKeptScratch?: KernelBatchOptions['onKeptScratch'];
}

export interface MinimisedCase {
  name: string;
  packets: Uint8Array[];
  report: DiffReport;
}

export interface KernelDiffResult {
  kernel: string;
  profile: KernelProfile;
  report: DiffReport;
  minimised: MinimisedCase[];
}

/** The profile ctsim uses for the kernel it runs on. */
export function runningKernelProfile(): KernelProfile {
  // The lab's own kernel: an upstream build whose local version suffix ("-fc-v1098") says nothing
  // about backports; a distribution's kernel would be recognised (or refused) by its string.
  return resolveKernel(release(), { localSuffix: 'strip' });
}

function merge(a: DiffReport | null, b: DiffReport, offset: number): DiffReport {
  const shift = <T extends { caseIndex: number }>(xs: T[]) => xs.map((x) => ({ ...x, caseIndex: x.caseIndex + offset }));
  if (!a) return { ...b, packetDiffs: shift(b.packetDiffs), entryDiffs: shift(b.entryDiffs), disagreeingCases: b.disagreeingCases.map((i) => i + offset) };
  return {
    kernel: b.kernel, cases: a.cases + b.cases, packets: a.packets + b.packets, skippedPackets: a.skippedPackets + b.skippedPackets,
    packetAgreement: a.packetAgreement + b.packetAgreement, entryChecks: a.entryChecks + b.entryChecks, entryAgreement: a.entryAgreement + b.entryAgreement,
    timeoutChecks: a.timeoutChecks + b.timeoutChecks, timeoutAgreement: a.timeoutAgreement + b.timeoutAgreement, expiredBeforeListing: a.expiredBeforeListing + b.expiredBeforeListing,
    packetDiffs: [...a.packetDiffs, ...shift(b.packetDiffs)], entryDiffs: [...a.entryDiffs, ...shift(b.entryDiffs)],
    disagreeingCases: [...a.disagreeingCases, ...b.disagreeingCases.map((i) => i + offset)],
  };
}

/** Attempts per batch: each lossy run is retried at half the rate. */
const LOSSY_RETRIES = 4;

async function oneRun(lab: NetnsLab, cases: DiffCase[], profile: KernelProfile, sysctls: string[], pps: number, batch: KernelBatchOptions): Promise<DiffReport> {
  const packets = prepareCases(cases);
  let rate = pps;
  for (let attempt = 1; ; attempt++) {
    const k = await runKernelBatch(lab, packets, rate, batch);
    if (k.lost === 0) return compareBatch(cases, packets, k, profile, sysctls);
    if (attempt === LOSSY_RETRIES) throw new LabError(`the lab lost ${k.lost} of ${packets.length} packets outside conntrack even at ${rate} packets/s (veth backlog or capture overrun: is the machine overloaded?)`);
    rate = Math.max(100, Math.floor(rate / 2));
  }
}

export async function runKernelDiff(o: KernelDiffOptions): Promise<KernelDiffResult> {
  const profile = o.profile ? resolveKernel(o.profile) : runningKernelProfile();
  const sysctls = o.sysctls ?? [];
  const batch: KernelBatchOptions = { onKeptScratch: o.onKeptScratch };
  const lab = new NetnsLab('kd');
  lab.create();
  try {
    lab.sysctl(sysctls);
    const size = o.batchSize ?? 500;
    let report: DiffReport | null = null;
    for (let i = 0; i < o.cases.length; i += size) {
      const r = await oneRun(lab, o.cases.slice(i, i + size), profile, sysctls, o.pps ?? INJECT_PPS, batch);
      report = merge(report, r, i);
      o.onProgress?.(Math.min(i + size, o.cases.length), o.cases.length, report);
    }
    report ??= { kernel: profile.name, cases: 0, packets: 0, skippedPackets: 0, packetAgreement: 0, entryChecks: 0, entryAgreement: 0, timeoutChecks: 0, timeoutAgreement: 0, expiredBeforeListing: 0, packetDiffs: [], entryDiffs: [], disagreeingCases: [] };
    const minimised: MinimisedCase[] = [];
    for (const ci of report.disagreeingCases.slice(0, o.minimise ?? 3)) {
      let packets = o.cases[ci].packets;
      const disagrees = async (ps: Uint8Array[]) => {
        const r = await oneRun(lab, [{ name: o.cases[ci].name, packets: ps }], profile, sysctls, o.pps ?? INJECT_PPS, batch);
        return r.disagreeingCases.length > 0 ? r : null;
      };
      let last = await disagrees(packets);
      if (!last) continue; // not reproducible alone (it depended on another case: report as is)
      // ddmin-style: try removing chunks, then single packets, keeping the disagreement.
      for (let chunk = Math.max(1, Math.floor(packets.length / 2)); chunk >= 1; chunk = Math.floor(chunk / 2)) {
        for (let start = 0; start < packets.length && packets.length > 1;) {
          const trial = [...packets.slice(0, start), ...packets.slice(start + chunk)];
          const r = trial.length ? await disagrees(trial) : null;
          if (r) {
            packets = trial;
            last = r;
          } else start += chunk;
        }
        if (chunk === 1) break;
      }
      minimised.push({ name: `${o.cases[ci].name}-min`, packets, report: last });
    }
    return { kernel: release(), profile, report, minimised };
  } finally {
    lab.destroy();
  }
}
