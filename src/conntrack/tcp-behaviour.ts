// The per-kernel differences in TCP tracking, as named switches. Each switch is one upstream
// change (see kernel-changes.ts for titles, commits and the releases that carry them); a kernel
// profile is the set of switches its release has. The tracker reads only these switches, never a
// version number.

export interface TcpBehaviour {
  /** nf_conntrack_tcp_ignore_invalid_rst exists (1da4cd82dd18, v5.14). */
  ignoreInvalidRstSysctl: boolean;
  /**
   * "improve RST handling when tuple is re-used" (c4edc3ccbc63, v5.14): the "invalid rst"
   * max-ack test is skipped when the last packet was a SYN, and an RST with seq 0 on a
   * not-established entry goes to the window check.
   */
  rstReuseChecks: boolean;
  /**
   * "only close if RST matches exact sequence" (be0502a3f2e9, v5.9): an in-window RST whose seq
   * is not exact keeps the old state so the peer's RFC 5961 challenge ACK can pass.
   */
  rstExactToClose: boolean;
  /** "do not renew entry stuck in tcp SYN_SENT state" (e15d4cdf27cb, v5.14). */
  synRetransNoRenew: boolean;
  /**
   * "re-init state for retransmitted syn-ack" (82b72cb94666, v5.17): a REPLY SYN/ACK while the
   * entry is still SYN_SENT re-initialises the reply sender (tcp_init_sender) whatever its
   * sequence number. Merged into reinitSynOnly's condition by c7aab4f17021.
   */
  synackReinit: boolean;
  /** "re-init for syn packets only" (c7aab4f17021, v5.18): only SYN/SYNACK packets re-initialise a sender in SYN_SENT/SYN_RECV. */
  reinitSynOnly: boolean;
  /** "handle tcp challenge acks during connection reuse" (c410cb974f2b, v6.2): remember the challenge ACK, accept the RST that answers it. */
  challengeAckReuse: boolean;
  /** "do not force CLOSE on invalid-seq RST without direction check" (bed6e04be8e6, 2026). */
  rstLastDirCheck: boolean;
  /** tcp_in_window returns ACCEPT/IGNORE/INVALID (v6.0/6.1 rework): II and IV failures IGNORE; checks in order I, III, II, IV; nf_tcp_handle_invalid. */
  ternaryWindow: boolean;
  /** "work around exceeded receive window": an over-window segment that fits the receiver's max window updates td_end. */
  overWindowWorkaround: boolean;
  /** "accept RST in closing states without validation" (tcp_can_early_drop skip). */
  rstClosingNoChecks: boolean;
  /** Keepalive reply (sack == receiver.td_end + 1) bumps receiver.td_end on a picked-up connection. */
  keepaliveReplyBump: boolean;
  /** tcp_options keeps the BE_LIBERAL flag when it re-parses a sender's options. */
  preserveLiberalFlag: boolean;
  /** A picked-up (mid-stream) ESTABLISHED entry without reply gets at most the unacknowledged timeout. */
  pickupTimeoutCap: boolean;
  /** "correct window scaling with retransmitted SYN" (fb366fc7541a, v6.8): the both-sides-or-no-scaling reset runs only for the REPLY direction. */
  scaleResetReplyOnly: boolean;
  /** Last tracked window 0 selects the max_retrans timeout. */
  zeroWindowRetransTimeout: boolean;
  /**
   * "don't increment invalid counter on NF_REPEAT" (830af2eba403, v5.17): a SYN re-opening a
   * closed entry no longer counts in `conntrack -S` invalid (before, nf_conntrack_in counted every
   * negative verdict, -NF_REPEAT included, before going back to create the new entry).
   */
  repeatNotCountedInvalid: boolean;
  /**
   * An RST that keeps an ESTABLISHED entry (inexact seq, be0502a3f2e9) refreshes it with the
   * unacknowledged timeout (300 s) instead of the CLOSE timeout (10 s); an RST to CLOSE keeps 10 s.
   * Seen in 6.12.117's source and against it for real; commit not determined.
   */
  rstKeptEstablishedUnack: boolean;
}

/** The behaviour of the oldest kernel modelled (4.19): every switch off. */
export const BASELINE_BEHAVIOUR: TcpBehaviour = {
  ignoreInvalidRstSysctl: false,
  rstReuseChecks: false,
  rstExactToClose: false,
  synRetransNoRenew: false,
  synackReinit: false,
  reinitSynOnly: false,
  challengeAckReuse: false,
  rstLastDirCheck: false,
  ternaryWindow: false,
  overWindowWorkaround: false,
  rstClosingNoChecks: false,
  keepaliveReplyBump: false,
  preserveLiberalFlag: false,
  pickupTimeoutCap: false,
  zeroWindowRetransTimeout: false,
  scaleResetReplyOnly: false,
  repeatNotCountedInvalid: false,
  rstKeptEstablishedUnack: false,
};
