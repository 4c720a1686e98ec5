// Why a packet was INVALID or IGNOREd, in the kernel's own log words (nf_ct_l4proto_log_invalid
// texts of nf_conntrack_proto_tcp.c). A verdict carries a code and its numbers; the text is built
// only when someone asks, in the wording of the profile's kernel generation.
import { TCP_CLASS_NAMES, tcpStateName } from './tcp-states.js';

export const Reason = {
  NONE: 0,
  /** tcp_error */
  TRUNCATED: 1,
  BAD_CHECKSUM: 2,
  BAD_FLAGS: 3,
  /** tcp_new refused the first packet (no log in the kernel; pr_debug "invalid new"). */
  INVALID_NEW: 4,
  /** tcp_in_window checks I-IV and the overshoot workaround. */
  SEQ_OVER: 5,
  ACK_OVER: 6,
  SEQ_UNDER: 7,
  ACK_UNDER: 8,
  OVERSHOT: 9,
  INVALID_RST: 10,
  /** Table cell sIG: packet let through unchanged. */
  IGNORED: 11,
  /** Table cell sIV. */
  INVALID_STATE: 12,
  CHALLENGE_ACK_IGNORED: 13,
  /** nf_conntrack_in could not allocate: "table full, dropping packet". */
  TABLE_FULL: 14,
  /** Confirm found the tuple already inserted (insert_failed): packet dropped. */
  INSERT_CLASH: 15,
  /** Not tracked here: not TCP, or a fragment (the kernel tracks reassembled packets only). */
  NOT_TCP: 16,
  FRAGMENT: 17,
  /** The IPv4 header itself is malformed (nf_conntrack_in never sees such a packet). */
  BAD_IP: 18,
  /** RST without any reply seen: entry deleted at once (--RR rule in tcp_packet). */
  RST_UNREPLIED: 19,
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface ReasonArgs {
  code: number;
  /** The bound in window failures, the overshoot in OVERSHOT. */
  value: number;
  index: number;
  dir: number;
  state: number;
}

/**
 * Log wording generations: 'v5.4' (4.19-5.10: combined window message, "invalid packet ignored in
 * state", "invalid state"), 'v5.15' (5.14/5.15: ignore message already per index/dir, the rest as
 * 5.4), 'v6' (6.1+: per-check window messages with their bound).
 */
export type LogWording = 'v5.4' | 'v5.15' | 'v6';

export function formatReason(r: ReasonArgs, wording: LogWording): string {
  const cls = r.index;
  const st = tcpStateName(r.state);
  switch (r.code) {
    case Reason.NONE: return '';
    case Reason.TRUNCATED: return 'truncated packet';
    case Reason.BAD_CHECKSUM: return 'bad checksum';
    case Reason.BAD_FLAGS: return 'invalid tcp flag combination';
    case Reason.INVALID_NEW: return `invalid new: a ${TCP_CLASS_NAMES[cls]} cannot start an entry`;
    case Reason.SEQ_OVER: return wording === 'v6' ? `SEQ is over upper bound ${r.value} (over the window of the receiver)` : 'SEQ is over the upper bound (over the window of the receiver)';
    case Reason.ACK_OVER: return wording === 'v6' ? `ACK is over upper bound ${r.value} (ACKed data not seen yet)` : 'ACK is over the upper bound (ACKed data not seen yet)';
    case Reason.SEQ_UNDER: return wording === 'v6' ? `SEQ is under lower bound ${r.value} (already ACKed data retransmitted)` : 'SEQ is under the lower bound (already ACKed data retransmitted)';
    case Reason.ACK_UNDER: return wording === 'v6' ? `ignored ACK under lower bound ${r.value} (possible overly delayed)` : 'ACK is under the lower bound (possible overly delayed ACK)';
    case Reason.OVERSHOT: return `${r.value} bytes more than expected`;
    case Reason.INVALID_RST: return 'invalid rst';
    case Reason.IGNORED: return wording === 'v5.4' ? `invalid packet ignored in state ${st}` : `packet (index ${cls}) in dir ${r.dir} ignored, state ${st}`;
    case Reason.INVALID_STATE: return wording === 'v6' ? `packet (index ${cls}) in dir ${r.dir} invalid, state ${st}` : 'invalid state';
    case Reason.CHALLENGE_ACK_IGNORED: return 'challenge-ack ignored';
    case Reason.TABLE_FULL: return 'table full, dropping packet';
    case Reason.INSERT_CLASH: return 'insert failed: tuple already in the table, dropping packet';
    case Reason.NOT_TCP: return 'not TCP: not tracked by ctsim';
    case Reason.FRAGMENT: return 'IPv4 fragment: conntrack sees reassembled packets only';
    case Reason.BAD_IP: return 'malformed IPv4 header';
    case Reason.RST_UNREPLIED: return 'RST on an entry that never saw a reply: deleted';
  }
  return `reason ${r.code}`;
}
