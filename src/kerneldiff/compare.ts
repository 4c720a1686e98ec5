// Runs the same injected packets through ctsim (the running kernel's profile, the same sysctls,
// the same packet spacing) and compares, packet by packet, the ctstate R's conntrack gave with
// ctsim's, then each case's final entries (state, [UNREPLIED], [ASSURED], timeout within the
// run's duration).
import { Conntrack } from '../conntrack/conntrack.js';
import { tcpStateName } from '../conntrack/tcp-states.js';
import { Status } from '../conntrack/status.js';
import { verdictCtState } from '../conntrack/verdict.js';
import { trackAndConfirm } from '../conntrack/track-and-confirm.js';
import type { KernelProfile } from '../conntrack/kernel-profile.js';
import { caseAddresses, type DiffCase, type InjectedPacket } from './prepare-cases.js';
import { INJECT_PPS, type KernelBatchResult, type KernelCtState } from './kernel-batch.js';
import { formatIpv4Address, packetSummary } from '../wire/index.js';

export interface PacketDiff {
  caseIndex: number;
  caseName: string;
  index: number;
  summary: string;
  kernel: KernelCtState;
  ctsim: KernelCtState;
  ctsimReason: string;
}

export interface EntryDiff {
  caseIndex: number;
  caseName: string;
  kernel: string;
  ctsim: string;
}

export interface DiffReport {
  kernel: string;
  cases: number;
  packets: number;
  skippedPackets: number;
  packetAgreement: number;
  entryChecks: number;
  entryAgreement: number;
  /** ctsim entries with less time left than the listing delay that the kernel no longer listed (not checkable, not counted). */
  expiredBeforeListing: number;
  /** Entries present on both sides with the same state and flags whose remaining timeouts were compared, and how many agreed. */
  timeoutChecks: number;
  timeoutAgreement: number;
  packetDiffs: PacketDiff[];
  entryDiffs: EntryDiff[];
  /** Cases with at least one disagreement. */
  disagreeingCases: number[];
}

export function ctsimStates(packets: InjectedPacket[], profile: KernelProfile, sysctls: readonly string[], pps: number = INJECT_PPS): { states: KernelCtState[]; reasons: string[]; ct: Conntrack; endNs: number } {
  const ct = new Conntrack({ kernel: profile, sysctls, initialCapacity: 1024 });
  const states: KernelCtState[] = [];
  const reasons: string[] = [];
  const gap = 1e9 / pps;
  let i = 0;
  for (const p of packets) {
    if (p.skipped) {
      states.push('dropped');
      reasons.push(p.skipped);
      continue;
    }
    const now = Math.round(i++ * gap);
    // prepareCases() skipped what conntrack would not track (not IPv4, not TCP, fragments).
    const v = trackAndConfirm(ct, p.bytes, 0, p.bytes.length, now, 'prerouting');
    reasons.push(ct.reasonText(v));
    states.push(verdictCtState(v) ?? 'dropped');
  }
  return { states, reasons, ct, endNs: Math.round(i * gap) };
}

/** An entry as `conntrack -L` shows its state and flags: "ESTABLISHED [ASSURED]". */
export function entryStateText(ct: Conntrack, e: number): string {
  const st = ct.records.status(e);
  return `${tcpStateName(ct.records.state(e))}${st & Status.SEEN_REPLY ? '' : ' [UNREPLIED]'}${st & Status.ASSURED ? ' [ASSURED]' : ''}`;
}

/** Live, confirmed entries at `now` (what `conntrack -L` would list). */
export function liveEntries(ct: Conntrack, now: number): number[] {
  const out: number[] = [];
  for (let e = 0; e < ct.table.capacity; e++) {
    if (ct.table.live[e] && ct.records.status(e) & Status.CONFIRMED && ct.records.timeoutAt(e) > now) out.push(e);
  }
  return out;
}

export function compareBatch(cases: DiffCase[], packets: InjectedPacket[], kernel: KernelBatchResult, profile: KernelProfile, sysctls: readonly string[]): DiffReport {
  const sim = ctsimStates(packets, profile, sysctls, kernel.pps);
  const packetDiffs: PacketDiff[] = [];
  let agree = 0;
  let compared = 0;
  let skipped = 0;
  packets.forEach((p, k) => {
    if (p.skipped) {
      skipped++;
      return;
    }
    compared++;
    if (kernel.states[k] === sim.states[k]) agree++;
    else packetDiffs.push({ caseIndex: p.caseIndex, caseName: cases[p.caseIndex].name, index: p.index, summary: packetSummary(p.bytes), kernel: kernel.states[k], ctsim: sim.states[k], ctsimReason: sim.reasons[k] });
  });
  // Final entries per case, keyed by their original tuple.
  const key = (src: number, dst: number, sport: number, dport: number) => `${src >>> 0}:${sport}>${dst >>> 0}:${dport}`;
  const kernelEntries = new Map(kernel.entries.map((e) => [key(e.src, e.dst, e.sport, e.dport), e]));
  const now = sim.endNs;
  const entryDiffs: EntryDiff[] = [];
  let entryChecks = 0;
  let entryAgree = 0;
  let timeoutChecks = 0;
  let timeoutAgree = 0;
  let expiredBeforeListing = 0;
  const listingLag = Math.max(0, Math.ceil(kernel.wallSeconds - now / 1e9)) + 1;
  const seen = new Set<string>();
  const slack = Math.ceil(kernel.wallSeconds) + 2;
  const caseOf = (addr: number) => {
    for (let i = 0; i < cases.length; i++) {
      const a = caseAddresses(i);
      if (a.client === addr >>> 0 || a.server === addr >>> 0) return i;
    }
    return -1;
  };
  for (const e of liveEntries(sim.ct, now)) {
    const o = sim.ct.tuple(e, 0);
    const k = key(o.src, o.dst, o.sport, o.dport);
    seen.add(k);
    const ke = kernelEntries.get(k);
    const st = sim.ct.records.status(e);
    const ctsimText = `${entryStateText(sim.ct, e)} ~${sim.ct.timeoutSecs(e, now)}s`;
    const secs = sim.ct.timeoutSecs(e, now);
    // `conntrack -L` runs `listingLag` seconds after ctsim's end of the batch (a slow guest, the
    // capture draining): an entry with less time left than that has expired before it.
    if (!ke && secs <= listingLag) {
      expiredBeforeListing++;
      continue;
    }
    entryChecks++;
    const sameState = !!ke && ke.state === tcpStateName(sim.ct.records.state(e)) && ke.unreplied === !(st & Status.SEEN_REPLY) && ke.assured === !!(st & Status.ASSURED);
    const sameTimeout = !!ke && ke.timeoutSecs <= secs + 1 && ke.timeoutSecs >= secs - slack;
    if (sameState) {
      timeoutChecks++;
      if (sameTimeout) timeoutAgree++;
    }
    const ok = sameState && sameTimeout;
    if (ok) entryAgree++;
    else {
      const ci = caseOf(o.src);
      entryDiffs.push({ caseIndex: ci, caseName: cases[ci]?.name ?? '?', kernel: ke ? `${ke.state}${ke.unreplied ? ' [UNREPLIED]' : ''}${ke.assured ? ' [ASSURED]' : ''} ${ke.timeoutSecs}s` : '(no entry)', ctsim: `${ctsimText} ${formatIpv4Address(o.src)}:${o.sport} > ${formatIpv4Address(o.dst)}:${o.dport}` });
    }
  }
  for (const [k, ke] of kernelEntries) {
    if (seen.has(k)) continue;
    const ci = caseOf(ke.src);
    if (ci < 0) continue;
    entryChecks++;
    entryDiffs.push({ caseIndex: ci, caseName: cases[ci].name, kernel: `${ke.state}${ke.unreplied ? ' [UNREPLIED]' : ''}${ke.assured ? ' [ASSURED]' : ''} ${ke.timeoutSecs}s ${formatIpv4Address(ke.src)}:${ke.sport} > ${formatIpv4Address(ke.dst)}:${ke.dport}`, ctsim: '(no entry)' });
  }
  const disagreeing = [...new Set([...packetDiffs.map((d) => d.caseIndex), ...entryDiffs.map((d) => d.caseIndex)])].filter((i) => i >= 0).sort((a, b) => a - b);
  return {
    kernel: profile.name, cases: cases.length, packets: compared, skippedPackets: skipped, packetAgreement: agree, entryChecks, entryAgreement: entryAgree, timeoutChecks, timeoutAgreement: timeoutAgree, expiredBeforeListing,
    packetDiffs, entryDiffs, disagreeingCases: disagreeing,
  };
}
