// One line of a conformance verdict file (JSON Lines): what one implementation did with one
// packet of one case. The expected file (ctsim's Linux profile) fills every field; another
// implementation must give case, n and verdict, and may leave out what it cannot observe (a
// field left out is not compared). The JSON Schema in verdict-schema.ts is the normative form.
import type { ReplayRow } from '../replay/replay.js';

/** Bumped on any incompatible change of the suite layout or the verdict line. */
export const SUITE_FORMAT = 'ctsim-conformance/1';

/**
 * What conntrack made of the packet, as an iptables `-m conntrack --ctstate` match or OVS's
 * ct_state would see it: new, established, related, invalid; untracked when conntrack never
 * tracked it (not TCP, a packet the IPv4 layer drops before conntrack); dropped when conntrack
 * itself dropped it (table full, insert clash).
 */
export const VERDICTS = ['new', 'established', 'related', 'invalid', 'untracked', 'dropped'] as const;
export type VerdictName = (typeof VERDICTS)[number];

export interface NatResult {
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

export interface VerdictLine {
  /** Case id (the file name of its pcap without .pcap). */
  case: string;
  /** Packet number in the case's pcap, from 1. */
  n: number;
  verdict: VerdictName;
  /** Direction of the entry the packet belongs to (null: no entry attached). */
  dir?: 'original' | 'reply' | null;
  /** The entry's state after the packet, in Linux's names (null: no entry). */
  state?: string | null;
  /** Seconds until the entry expires, after the packet (null: no entry). */
  timeout?: number | null;
  /** NAT cases: the packet's addresses and ports after NAT (null: not NATed / no entry). */
  nat?: NatResult | null;
  /** Free text: why (the kernel's log words on the expected side). Never compared. */
  reason?: string;
  /** Implementation-specific facts (e.g. OVS's ct_state bits). Never compared. */
  detail?: Record<string, unknown>;
}

/** The fields compared when both sides give them, in report order. */
export const COMPARED_FIELDS = ['verdict', 'dir', 'state', 'timeout', 'nat'] as const;
export type ComparedField = (typeof COMPARED_FIELDS)[number];

/** The verdict of a replayed row. */
export function verdictOfRow(r: ReplayRow): VerdictName {
  if (r.outcome === 'DROP') return 'dropped';
  switch (r.ctinfo) {
    case 'NEW': return 'new';
    case 'ESTABLISHED': case 'ESTABLISHED_REPLY': return 'established';
    case 'RELATED': case 'RELATED_REPLY': return 'related';
    case 'INVALID': return 'invalid';
    default: return 'untracked';
  }
}

/** The expected line of a replayed row (nat: the rewritten tuple of a NAT case, else undefined). */
export function lineOfRow(caseId: string, r: ReplayRow, nat?: NatResult | null): VerdictLine {
  const attached = r.dir !== null && r.outcome !== 'DROP';
  const line: VerdictLine = {
    case: caseId, n: r.n, verdict: verdictOfRow(r), dir: attached ? r.dir : null, state: attached ? r.state : null,
    timeout: attached ? r.timeout : null,
  };
  if (nat !== undefined) line.nat = nat;
  if (r.reason) line.reason = r.reason;
  return line;
}

/** One JSON line, keys in a fixed order (stable files, readable diffs). */
export function formatVerdictLine(l: VerdictLine): string {
  const o: Record<string, unknown> = { case: l.case, n: l.n, verdict: l.verdict };
  for (const k of ['dir', 'state', 'timeout', 'nat', 'reason', 'detail'] as const) if (l[k] !== undefined) o[k] = l[k];
  return JSON.stringify(o);
}

export function sameNat(a: NatResult | null, b: NatResult | null): boolean {
  if (a === null || b === null) return a === b;
  return a.src === b.src && a.sport === b.sport && a.dst === b.dst && a.dport === b.dport;
}

export function natText(n: NatResult | null | undefined): string {
  return n ? `${n.src}:${n.sport} > ${n.dst}:${n.dport}` : 'none';
}
