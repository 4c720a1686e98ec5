// nf_conntrack_in() and __nf_conntrack_confirm() back to back, for a namespace where nothing
// between the first hook and the last one drops the packet (replaying a capture, kernel-diff's
// ctsim side, the fuzzer, tests): a new entry is confirmed at once, so none is ever left
// unconfirmed. The emulated hosts (src/stack/host.ts) run the hooks in between and confirm at
// POSTROUTING/INPUT themselves.
import type { Conntrack, ConntrackHook } from './conntrack.js';
import { Reason } from './reasons.js';
import { Outcome, type Verdict } from './verdict.js';

/**
 * Tracks the IPv4 packet at buf[off, off+len) at `now` (ns) and confirms the entry it created.
 * `beforeConfirm` runs between the two for a created entry (e.g. the NAT binding the nat table
 * decides, nf_nat_setup_info()); when it returns false a rule between the hooks dropped the
 * packet: the entry is never confirmed (freed without an event, nothing counted). A confirmation that fails (the reply tuple is taken: insert
 * clash) drops the packet, as __nf_conntrack_confirm() does: the verdict becomes DROP, its
 * entry destroyed. Returns the conntrack's shared Verdict.
 */
export function trackAndConfirm(
  ct: Conntrack, buf: Uint8Array, off: number, len: number, now: number, hook: ConntrackHook = 'prerouting',
  beforeConfirm?: (v: Verdict) => void | boolean, checksumTrusted = false,
): Verdict {
  const v = ct.track(buf, off, len, now, hook, checksumTrusted);
  if (v.created && v.outcome !== Outcome.INVALID && v.outcome !== Outcome.DROP) {
    if (beforeConfirm?.(v) === false) {
      ct.abort(v.entry);
      return v;
    }
    if (!ct.confirm(v.entry, now)) {
      // The entry is freed; the verdict still names it (its direction and states, as the skb's
      // unconfirmed ct did) and says it was destroyed.
      v.outcome = Outcome.DROP;
      v.destroyed = true;
      v.setReason(Reason.INSERT_CLASH);
    }
  }
  return v;
}
