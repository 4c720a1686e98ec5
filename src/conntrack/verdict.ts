// What conntrack decided for one packet. One Verdict object is reused for every packet (the hot
// path allocates nothing); copy what you need before the next packet.
import { Reason, type ReasonArgs } from './reasons.js';

/** enum ip_conntrack_info, plus INVALID (no entry attached) as ctsim's own value. */
export const CtInfo = {
  ESTABLISHED: 0,
  RELATED: 1,
  NEW: 2,
  ESTABLISHED_REPLY: 3,
  RELATED_REPLY: 4,
  UNTRACKED: 7,
  INVALID: 8,
} as const;
export type CtInfo = (typeof CtInfo)[keyof typeof CtInfo];

export type CtInfoName = 'ESTABLISHED' | 'RELATED' | 'NEW' | 'ESTABLISHED_REPLY' | 'RELATED_REPLY' | 'UNTRACKED' | 'INVALID';

export function ctinfoName(c: CtInfo): CtInfoName {
  switch (c) {
    case CtInfo.ESTABLISHED: return 'ESTABLISHED';
    case CtInfo.RELATED: return 'RELATED';
    case CtInfo.NEW: return 'NEW';
    case CtInfo.ESTABLISHED_REPLY: return 'ESTABLISHED_REPLY';
    case CtInfo.RELATED_REPLY: return 'RELATED_REPLY';
    case CtInfo.UNTRACKED: return 'UNTRACKED';
    default: return 'INVALID';
  }
}

/** What `-m conntrack --ctstate` (and `-m state --state`) match on. */
export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';

/** The tracker's outcome (nf_ct_tcp_action plus what nf_conntrack_in made of it). */
export const Outcome = {
  /** Tracked and accepted: state/timeout updated. */
  ACCEPT: 0,
  /** Let through with the entry attached but nothing learnt (sIG, or a tcp_in_window IGNORE). */
  IGNORE: 1,
  /** -NF_ACCEPT: passes, but with no entry attached: no NAT, `--ctstate INVALID`. */
  INVALID: 2,
  /** Conntrack itself drops (table full, insert clash, re-open race). */
  DROP: 3,
  /** Not tracked at all (not TCP, fragment). */
  UNTRACKED: 4,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export const OUTCOME_NAMES = ['ACCEPT', 'IGNORE', 'INVALID', 'DROP', 'UNTRACKED'] as const;
export type OutcomeName = (typeof OUTCOME_NAMES)[number];

export function outcomeName(o: Outcome): OutcomeName {
  return OUTCOME_NAMES[o];
}

/** The numbers behind a failed window check, kept for --explain (filled only on failure). */
export class WindowExplain {
  check: '' | 'I' | 'II' | 'III' | 'IV' | 'OVERSHOOT' = '';
  seq = 0;
  end = 0;
  ack = 0;
  sack = 0;
  win = 0;
  senderEnd = 0;
  senderMaxend = 0;
  senderMaxwin = 0;
  senderScale = 0;
  receiverEnd = 0;
  receiverMaxend = 0;
  receiverMaxwin = 0;
  receiverScale = 0;
}

/**
 * Which branch of the RST validation (the CLOSE cell of nf_conntrack_tcp_packet) decided, for
 * --explain. Recorded only; the verdict itself is the tracker's.
 */
export const RstBranch = {
  NONE: 0,
  /** c4edc3ccbc63: closing states, every field may be stale: accepted without any check. */
  CLOSING_NO_CHECKS: 1,
  /** seq 0 on an entry that is not ESTABLISHED+ASSURED: on to the window check. */
  SEQ_ZERO: 2,
  /** seq before the peer's td_maxack: INVALID "invalid rst". */
  BELOW_MAXACK: 3,
  /** be0502a3f2e9: not ESTABLISHED+ASSURED, or seq == td_maxack exactly: on to the window check. */
  EXACT: 4,
  /** be0502a3f2e9: an RST right after our own data ("RST train"): counts as exact. */
  RST_TRAIN: 5,
  /** be0502a3f2e9: inexact RST on an established entry: state kept (challenge ACK may follow). */
  INEXACT_KEEP_STATE: 6,
  /** The RST answers a SYN or ACK we let through (ack == last_end): no window check. */
  ANSWERS_IGNORED: 7,
  /** c410cb974f2b: the RST answers a challenge ACK let through in SYN_SENT (seq == last_ack). */
  ANSWERS_CHALLENGE_ACK: 8,
  /** No special case applied: on to the window check. */
  WINDOW: 9,
} as const;

/** The numbers the RST validation looked at (filled when it ran, see hasRst). */
export class RstExplain {
  branch: number = RstBranch.NONE;
  seq = 0;
  ack = 0;
  /** The peer's td_maxack (highest ACK it sent) and whether it is set / was used. */
  peerMaxack = 0;
  maxackSet = false;
  maxackUsed = false;
  /** seq is before the peer's td_maxack (tested only when maxackUsed). */
  belowMaxack = false;
  /** nf_conntrack_tcp_established(): ESTABLISHED and ASSURED. */
  established = false;
  ignoreInvalidRst = false;
  lastIndex = 0;
  lastDir = 0;
  lastEnd = 0;
  lastAck = 0;
  seenReply = false;
  assured = false;
}

export class Verdict {
  ctinfo: CtInfo = CtInfo.INVALID;
  outcome: Outcome = Outcome.INVALID;
  /** Entry index in the table, -1 when none is attached. */
  entry = -1;
  entryId = 0;
  dir: 0 | 1 = 0;
  stateBefore = 0;
  stateAfter = 0;
  status = 0;
  /** Timeout set by this packet in ns, or -1 when the timeout was not refreshed. */
  timeoutNs = -1;
  /** The packet created the entry (still unconfirmed until confirm()). */
  created = false;
  /** The entry was deleted while handling this packet (RST with no reply, re-open). */
  destroyed = false;
  /** A re-open killed the old entry and this packet started a new one (-NF_REPEAT). */
  reopened = false;
  packetClass = 0;
  /** v6.1+ nf_tcp_handle_invalid: lower the remaining timeout to this (ns) if larger, else -1. */
  lowerTimeoutTo = -1;
  readonly reason: ReasonArgs = { code: Reason.NONE, value: 0, index: 0, dir: 0, state: 0 };
  readonly explain = new WindowExplain();
  hasExplain = false;
  /** tcp_conntracks[dir][class][old state]: the table's proposal for this packet (-1: not looked up). */
  tableCell = -1;
  /** RST validation details (CLOSE cell), for --explain. */
  readonly rst = new RstExplain();
  hasRst = false;

  reset(): void {
    this.ctinfo = CtInfo.INVALID;
    this.outcome = Outcome.INVALID;
    this.entry = -1;
    this.entryId = 0;
    this.dir = 0;
    this.stateBefore = 0;
    this.stateAfter = 0;
    this.status = 0;
    this.timeoutNs = -1;
    this.created = false;
    this.destroyed = false;
    this.reopened = false;
    this.packetClass = 0;
    this.lowerTimeoutTo = -1;
    this.reason.code = Reason.NONE;
    this.reason.value = 0;
    this.hasExplain = false;
    this.tableCell = -1;
    this.hasRst = false;
  }

  setReason(code: number, value = 0, index = 0, dir = 0, state = 0): void {
    this.reason.code = code;
    this.reason.value = value >>> 0;
    this.reason.index = index;
    this.reason.dir = dir;
    this.reason.state = state;
  }
}

/**
 * The ctstate a verdict gives the packet for the rules after conntrack (xt_conntrack's
 * nf_ct_get(): no entry is INVALID, the untracked template UNTRACKED, IP_CT_NEW is NEW, the
 * RELATED infos RELATED, every other info ESTABLISHED); null when conntrack dropped the packet.
 */
export function verdictCtState(v: Verdict): CtState | null {
  switch (v.outcome) {
    case Outcome.DROP: return null;
    case Outcome.UNTRACKED: return 'UNTRACKED';
    case Outcome.INVALID: return 'INVALID';
  }
  // An accepted or ignored packet has an entry: its ctinfo is NEW, ESTABLISHED(_REPLY) or RELATED(_REPLY).
  switch (v.ctinfo) {
    case CtInfo.NEW: return 'NEW';
    case CtInfo.RELATED:
    case CtInfo.RELATED_REPLY: return 'RELATED';
    default: return 'ESTABLISHED';
  }
}
