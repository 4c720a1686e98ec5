// The end of a replay: what `conntrack -S` would print for the replayed namespace, and what the
// capture's checksums say about where it was taken (a capture full of partial or wrong checksums
// is the first thing a user must know, not something only --explain reveals).
import type { ConntrackStats } from '../conntrack/conntrack.js';
import type { ChecksumCheck } from './replay.js';

export type ChecksumCounts = Partial<Record<ChecksumCheck, number>>;

/** The counters of `conntrack -S` (summed over CPUs) plus the entries left in the table. */
export interface ConntrackCounters extends ConntrackStats {
  /** Entries in the table after the last packet (`conntrack -C`). */
  entries: number;
}

export function conntrackCounters(stats: ConntrackStats, entries: number): ConntrackCounters {
  return { ...stats, entries };
}

/** One line in `conntrack -S`'s own words (field=value), the entries count after it. */
export function formatCounters(c: ConntrackCounters): string {
  return `conntrack -S: found=${c.found} invalid=${c.invalid} ignore=${c.ignore} insert=${c.insert} insert_failed=${c.insertFailed} drop=${c.drop} early_drop=${c.earlyDrop} search_restart=${c.searchRestart}; ${c.entries} entr${c.entries === 1 ? 'y' : 'ies'} left`;
}

const PHRASE: Record<ChecksumCheck, string> = {
  local: 'sent by this host (tracked at OUTPUT: never verified)',
  loopback: 'received on lo (generated on this host: not verified)',
  partial: 'carry a partial checksum (CHECKSUM_PARTIAL: generated on this machine and captured before the offload; the kernel does not verify them)',
  off: 'not verified (nf_conntrack_checksum=0)',
  verified: 'verified and right',
  wrong: 'verified and WRONG (INVALID [bad checksum])',
};

/**
 * What the capture's TCP checksums were, one clause per case seen; null when every packet the
 * kernel summed was right and none was partial (nothing worth saying).
 */
export function checksumSummary(c: ChecksumCounts): string | null {
  const wrong = c.wrong ?? 0;
  if (!wrong && !c.partial) return null;
  const parts = (Object.keys(PHRASE) as ChecksumCheck[]).filter((k) => c[k]).map((k) => `${c[k]} ${PHRASE[k]}`);
  return `TCP checksums: ${parts.join('; ')}`;
}

/**
 * A warning when most of the packets the kernel would sum fail: the capture was almost certainly
 * not taken where the packets were received (checksums filled in by a NIC after the capture
 * point), so the INVALID verdicts say nothing about the incident.
 */
export function checksumWarning(c: ChecksumCounts): string | null {
  const wrong = c.wrong ?? 0;
  const summed = wrong + (c.verified ?? 0);
  if (wrong === 0 || wrong * 2 < summed) return null;
  return `WARNING: ${wrong} of ${summed} packets conntrack would verify at PREROUTING have a wrong TCP checksum and are INVALID [bad checksum]. ` +
    'If the capture was taken on the sending host (checksum offload), the receiving kernel never saw these values: ' +
    'capture on the receiving node, or replay with --sysctl net.netfilter.nf_conntrack_checksum=0.';
}
