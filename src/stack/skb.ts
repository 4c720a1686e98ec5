// The emulated sk_buff: one IPv4 packet on its way through a host, with what the kernel attaches
// to it (the conntrack entry and ctinfo, the owner of a locally generated packet, the interfaces)
// and the notes ctsim collects for capture comments and timelines.
import type { CtState } from '../conntrack/verdict.js';

export interface Skb {
  /** The whole IPv4 packet; NAT rewrites it in place. */
  bytes: Uint8Array;
  inIface?: string;
  outIface?: string;
  /** Attached conntrack entry (skb->_nfct) or -1 when none (INVALID or not yet tracked). */
  ct: number;
  ctDir: 0 | 1;
  ctstate: CtState;
  /** skb->mark (-m mark, MARK). */
  mark: number;
  /** Socket owner of a locally generated packet (for -m owner). */
  uid?: number;
  gid?: number;
  /** What happened to the packet, in order: conntrack verdicts, rule hits, NAT, socket effects. */
  notes: string[];
}

export function newSkb(bytes: Uint8Array, owner?: { uid: number; gid: number }): Skb {
  // Before conntrack has seen it the packet has no entry and no untracked template: xt_conntrack
  // (in the raw table, say) calls that INVALID.
  return { bytes, ct: -1, ctDir: 0, ctstate: 'INVALID', mark: 0, uid: owner?.uid, gid: owner?.gid, notes: [] };
}

/**
 * skb->_nfct is set: an entry (ct >= 0) or the untracked mark. nf_conntrack_in() ignores such a
 * packet when it meets it again (a loopback packet at PREROUTING: "Previously seen?"); an INVALID
 * packet has none (nf_conntrack_in sets _nfct = 0), so lo's PREROUTING tracks it again.
 */
export function hasConntrackAttachment(skb: Skb): boolean {
  return skb.ct >= 0 || skb.ctstate === 'UNTRACKED';
}
