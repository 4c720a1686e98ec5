// A verdict for people: the fields that describe it (what `ctsim replay` prints per packet and
// writes into capture comments) and the one phrase they make, e.g.
// "ESTABLISHED reply SYN_SENT->ESTABLISHED (ignored) [packet (index 2) in dir 1 ignored, state SYN_SENT]".
import type { Conntrack } from './conntrack.js';
import { tcpStateName } from './tcp-states.js';
import { CtInfo, ctinfoName, outcomeName, type CtInfoName, type OutcomeName, type Verdict } from './verdict.js';

export interface VerdictFields {
  ctinfo: CtInfoName;
  outcome: OutcomeName;
  /** Direction of the entry the packet belongs to (null: no entry attached). */
  dir: 'original' | 'reply' | null;
  stateBefore: string | null;
  state: string | null;
  /** The packet killed a closed entry and started a new one (re-open from TIME_WAIT/CLOSE). */
  reopened: boolean;
  /** Why, in the profile's kernel wording ('' when there is nothing to say). */
  reason: string;
}

/** The fields of the verdict `ct` just gave (copy them before the next packet reuses it). */
export function describeVerdict(ct: Conntrack, v: Verdict): VerdictFields {
  const attached = v.ctinfo !== CtInfo.INVALID && v.ctinfo !== CtInfo.UNTRACKED && v.entry >= 0;
  return {
    ctinfo: ctinfoName(v.ctinfo),
    outcome: outcomeName(v.outcome),
    dir: attached ? (v.dir === 0 ? 'original' : 'reply') : null,
    stateBefore: attached ? tcpStateName(v.stateBefore) : null,
    state: attached ? tcpStateName(v.stateAfter) : null,
    reopened: v.reopened,
    reason: ct.reasonText(v),
  };
}

/**
 * "ctinfo dir before->after" (or just the ctinfo without an entry), " (ignored)", then the reason
 * in brackets after `gap` (a table puts a column gap there; a comment one space).
 */
export function formatVerdict(f: Omit<VerdictFields, 'outcome'> & { outcome: string }, gap = ' '): string {
  const verdict = f.state ? `${f.ctinfo} ${f.dir} ${f.stateBefore}->${f.state}${f.reopened ? ' (re-open: old entry destroyed)' : ''}` : f.ctinfo;
  return `${verdict}${f.outcome === 'IGNORE' ? ' (ignored)' : ''}${f.reason ? `${gap}[${f.reason}]` : ''}`;
}
