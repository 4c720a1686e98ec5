// The invariants the fuzzer checks, by name (the names are the prefixes of finding files).

export const INVARIANTS = [
  /** Replaying a packet threw something other than a typed error (WireError, CaptureError, ConfigError). */
  'exception',
  /** A state change that is neither a cell of the transition table nor a documented override. */
  'transition',
  /** ctinfo / direction inconsistent with the entry (NEW, ESTABLISHED, ESTABLISHED_REPLY, INVALID). */
  'ctinfo',
  /** Status bits lost, SEEN_REPLY set by an ORIGINAL packet, ASSURED set (or not set) against the kernel's rule. */
  'status',
  /** A live entry not found from both its tuples, a dead one still found, or a leaked slot. */
  'index',
  /** More entries than nf_conntrack_max, memory beyond its bound, or an ASSURED entry evicted. */
  'capacity',
  /** An entry found after its timeout, a DESTROY before expiry, or a timeout not from the table. */
  'timeout',
  /** A NAT rewrite broke an IP or TCP checksum (or did not restore a reply exactly). */
  'nat-checksum',
  /** The same case replayed twice gave different verdicts. */
  'determinism',
] as const;
export type InvariantName = (typeof INVARIANTS)[number];

export interface Violation {
  invariant: InvariantName;
  /** 1-based packet number (as `ctsim replay` numbers them); 0 for checks at the end of the case. */
  packet: number;
  message: string;
}

/** Thrown inside a check to stop the case at the first violation. */
export class ViolationFound extends Error {
  override readonly name = 'ViolationFound';
  constructor(readonly violation: Violation) {
    super(`${violation.invariant} at packet ${violation.packet}: ${violation.message}`);
  }
}

export function violation(invariant: InvariantName, packet: number, message: string): never {
  throw new ViolationFound({ invariant, packet, message });
}
